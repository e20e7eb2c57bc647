"""Markdown to the plain text a reader sees, for indexing.

markdown-it-py parses the source into block tokens (paragraphs, headings, list items, HTML
blocks); each paragraph or heading holds an ``inline`` token whose children are text, links,
emphasis and so on. We keep the words: text and code, link text, image alt text, the text
inside HTML blocks. We drop the markup: URLs, emphasis, heading and bullet markers, tags.
Each block becomes one paragraph, and paragraphs are separated by a blank line.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.token import Token

# One parser for the process: building one compiles its rule chains. Indented code is off
# because the White House releases indent wrapped list text by four spaces: that is prose,
# and parsed as code it would keep its link URLs and emphasis markers. Fences still work.
_MD = MarkdownIt("commonmark").disable("code")

# Tags whose start begins a new line of text; table cells only need a space between them.
_LINE_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt"}
    | {"figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"}
    | {"hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead"}
    | {"tfoot", "tr", "ul"}
)
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = frozenset({"script", "style", "template"})


class MarkdownText(NamedTuple):
    text: str  # paragraphs separated by blank lines
    heading: str  # the first heading's text, or ""


def markdown_to_text(source: str) -> MarkdownText:
    """Strip Markdown markup from source, keeping its words and paragraph breaks."""
    tokens = _MD.parse(source)
    blocks: list[str] = []
    heading = ""
    for i, token in enumerate(tokens):
        if token.type == "inline":
            text = inline_text(token.children or [])
            if not heading and tokens[i - 1].type == "heading_open":
                heading = " ".join(text.split())
        elif token.type in ("fence", "code_block"):
            text = token.content
        elif token.type == "html_block":
            text = html_text(token.content)
        else:
            continue  # open/close markers and rules carry no words
        text = _tidy(text)
        if text:
            blocks.append(text)
    return MarkdownText("\n\n".join(blocks), heading)


def _tidy(text: str) -> str:
    # Web-exported Markdown is full of non-breaking spaces, and of lines holding only one
    # after a hard break: plain spaces read and index the same, empty lines are noise.
    if "\xa0" in text:
        text = text.replace("\xa0", " ")
    if "\n" not in text:
        return text.strip()
    return "\n".join(line for line in map(str.strip, text.split("\n")) if line)


def inline_text(children: list[Token]) -> str:
    """The words of an inline token's children, without their markup."""
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind == "text":
            content = child.content
            # An emphasis run the parser could not pair (the corpus has "**HEAD: **Text")
            # stays as literal text; it is still markup to a reader.
            parts.append(content.replace("**", "") if "**" in content else content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind == "image":
            parts.append(inline_text(child.children or []))  # the alt text
        # link, emphasis and inline HTML tokens are markup only: their text is a sibling.
    return "".join(parts)


def html_text(html: str) -> str:
    """The text in a block of HTML (cells, captions, image alt text), a line per HTML block."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:
        # html.parser asserts on a malformed "<![" section instead of raising; keep the text
        # read up to it, the rest of this one block is lost.
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _LINE_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _LINE_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        # In HTML a newline is only a space: lines break at tags (rows, paragraphs), not here.
        if not self.hidden:
            self.parts.append(data.replace("\n", " "))
