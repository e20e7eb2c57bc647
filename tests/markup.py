"""What in a page or a snippet a browser could run: a helper of the hardening tests.

``Markup(html)`` tokenizes HTML with the standard library's parser, as a browser would, and
records every tag with its attributes and the classes of the elements around it.
``problems()`` lists whatever could run: a tag the templates never write, an event-handler
attribute, a URL attribute with a scheme other than http(s), markup other than ``<mark>``
inside a snippet or a document's text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"meta", "link", "input", "br", "img", "hr"}
# Every tag the templates write, and the <mark> of snippets: nothing else may appear.
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "span", "form", "label",
    "input", "button", "main", "div", "section", "ul", "ol", "li", "h1", "h2", "h3", "p",
    "nav", "time", "aside", "footer", "code", "article", "dl", "dt", "dd", "mark",
    "figure", "figcaption", "svg", "rect", "line", "text",
}  # fmt: skip
# Classes of the elements that hold document text, and the tags allowed inside each.
TEXT_HOLDERS = {
    "snippet": {"mark"},
    "result-title": {"a", "mark"},
    "document-title": {"mark"},
    "document-body": {"p", "mark"},
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "xlink:href"}
# A browser drops ASCII whitespace and control characters anywhere in a scheme.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20]")


class Markup(HTMLParser):
    """Every tag of a page or fragment, its attributes and the classes of its ancestors."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict, list[str]]] = []
        self._stack: list[tuple[str, list[str]]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        around = [c for _, classes in self._stack for c in classes]
        self.tags.append((tag, attrs, around))
        if tag not in VOID:
            self._stack.append((tag, attrs.get("class", "").split()))

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        """All text, entities decoded, whitespace runs as one space."""
        return " ".join("".join(self.text_parts).split())

    def names(self) -> set[str]:
        """The names of all tags."""
        return {tag for tag, _, _ in self.tags}

    def links(self) -> list[str]:
        """Every URL in an attribute that a browser would follow or load."""
        return [v for _, a, _ in self.tags for k, v in a.items() if k in URL_ATTRIBUTES]

    def problems(self, allowed: set[str] = PAGE_TAGS) -> list[str]:
        """Everything here that could run script or that the templates never write."""
        found = [f"<{t}>" for t in sorted(self.names() - allowed)]
        for tag, attrs, around in self.tags:
            found += [f"<{tag} {k}=...>" for k in attrs if k.startswith("on") or k == "style"]
            found += [
                f"<{tag}> inside .{c}" for c in around if tag not in TEXT_HOLDERS.get(c, {tag})
            ]
            if tag == "mark" and attrs:
                found.append(f"<mark> with attributes {sorted(attrs)}")
        found += [f"link to {url!r}" for url in self.links() if not safe_url(url)]
        return found


def safe_url(url: str) -> bool:
    """A relative URL, a fragment, or an absolute http(s) URL: nothing that runs."""
    plain = _IGNORED_IN_SCHEME.sub("", url).lower()
    scheme = plain.split(":", 1)[0] if re.match(r"^[a-z][a-z0-9+.\-]*:", plain) else ""
    return scheme in ("", "http", "https")


def fragment_problems(html: str) -> list[str]:
    """For an HTML fragment such as a JSON snippet: anything but a bare <mark>."""
    return Markup(html).problems(allowed={"mark"})
