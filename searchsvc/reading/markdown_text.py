"""Markdown to the plain text a reader sees, for indexing.

markdown-it-py parses the source into block tokens (paragraphs, headings, list items, HTML
blocks); each paragraph or heading holds an ``inline`` token whose children are text, links,
emphasis and so on. We keep the words: text and code, link text, image alt text, the text
inside HTML blocks. We drop the markup: URLs, emphasis, heading and bullet markers, tags.
Each block becomes one paragraph, and paragraphs are separated by a blank line.

The text is what markdown-it-py's whole parse gives, sooner: paragraphs at the top level
(most of a release) are found without the block parser, its block rules are gated by a
line's first character, and the inline parser reads only the lines of a paragraph that hold
inline markup (with those that a construct may span) (see below; tests/test_build_speed.py
checks all of it against the whole parse).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.common import utils as markdown_it_utils
from markdown_it.rules_block.html_block import HTML_SEQUENCES
from markdown_it.token import Token

# -- the same parse, sooner -------------------------------------------------------------------
#
# markdown-it-py tries every block rule at the start of every block, and again on every line
# of a paragraph (to see whether the line ends it): ~1,500 rule calls a release, each with a
# logging.debug call, most answered by the line's first character. A gate answers those from
# the first character before the rule is called: a rule below can only succeed on a line
# whose first character (after its indentation and container markers) is one of its own,
# and each returns False, having changed nothing, at that very check. The setext heading
# rule scans a paragraph's following lines for an underline of "=" or "-"; its gate looks
# for such a line in the text up to the next blank line (where its scan stops) and, where
# there is none, does what the rule does before it fails (it leaves the parent type set to
# "paragraph", which the list rule reads). The tokens are the same: tests/test_documents.py
# parses random Markdown and the White House corpus both ways.
_FIRST_CHARACTERS = {
    "fence": "`~",
    "blockquote": ">",
    "hr": "*-_",
    "list": "*-+0123456789",
    "reference": "[",
    "html_block": "<",
    "heading": "#",
}
_BLANK_LINE = re.compile(r"\n[ \t]*(?:\n|\Z)")
_UNDERLINE = re.compile(r"\n[ \t>]*[=-]")


def _gated(rule, first: str):
    firsts = frozenset(first)

    def gated(state, line: int, end: int, silent: bool) -> bool:
        pos = state.bMarks[line] + state.tShift[line]
        if pos < state.eMarks[line] and state.src[pos] not in firsts:
            return False
        return rule(state, line, end, silent)

    return gated


def _gated_setext(rule):
    def gated(state, line: int, end: int, silent: bool) -> bool:
        src, start = state.src, state.eMarks[line]
        blank = _BLANK_LINE.search(src, start)
        if _UNDERLINE.search(src, start, blank.start() if blank else len(src)) is None:
            if state.is_code_block(line):
                return False
            state.parentType = "paragraph"  # as the rule leaves it when it finds no underline
            return False
        return rule(state, line, end, silent)

    return gated


def _gate(md: MarkdownIt) -> MarkdownIt:
    ruler = md.block.ruler
    for rule in list(ruler.__rules__):  # Ruler.at replaces a rule, its chains given again
        if rule.name in _FIRST_CHARACTERS:
            ruler.at(rule.name, _gated(rule.fn, _FIRST_CHARACTERS[rule.name]), {"alt": rule.alt})
        elif rule.name == "lheading":
            ruler.at(rule.name, _gated_setext(rule.fn), {"alt": rule.alt})
    return md


# One parser for the process: building one compiles its rule chains. Indented code is off
# because the White House releases indent wrapped list text by four spaces: that is prose,
# and parsed as code it would keep its link URLs and emphasis markers. Fences still work.
# It parses blocks only: markdown_to_text runs its inline parser where it is needed, and
# joins adjacent text as markdown-it's text_join rule does.
_BLOCKS = _gate(MarkdownIt("commonmark").disable(["code", "inline", "text_join"]))

# -- paragraphs, without the block parser ---------------------------------------------------
#
# Most of a release is paragraphs: blocks of lines between blank lines (blank: spaces and
# tabs only, as markdown-it has it) with no line whose start (after spaces and tabs) can
# open a block: a fence, quote, rule, list item (a bullet or digits then "." or ")", then a
# space or the line's end), reference (a "[" in a block holding "]:"), HTML (a "<" where
# one of the html_block rule's openings fits), heading, or the underline of a setext
# heading. At the top level such a block is a paragraph, whatever its indentation
# (indented code is off), and its words are _inline_words of its lines, trimmed as the
# paragraph rule trims them. markdown_to_text finds those itself and gives markdown-it
# the rest, region by region. A region starts at a block that is not a paragraph and ends
# before the next paragraph, which no quote or paragraph can continue after a blank line;
# where the region may hold a list item (a line opening with a bullet or an ordered
# marker), before the next paragraph that starts at the left margin, which no list item
# can hold either.
# A fence or an HTML block that ends only at its own closing line (<script, <pre, <style,
# <textarea, <!-- without --> on its line, <?, <!X) may run on past blank lines: from a
# region holding an opening that might be one, markdown-it reads the rest of the source.
# Regions are parsed separately with one env (reference definitions, in order) and their
# inline content read after every region's blocks. tests/test_build_speed.py checks this
# against markdown-it-py's whole parse (random and adversarial documents, the White House
# corpus).
_NEWLINES = re.compile(r"\r\n?")
_BLOCK = re.compile(r"(?:[ \t]*[^ \t\n][^\n]*(?:\n|\Z))+")  # non-blank lines, each with its \n
_OPENS_BLOCK = re.compile(
    r"(?:^|\n)[ \t]*(?:```|~~~|[>=#]"  # a fence, a quote, a "=" underline, a heading
    r"|(?:[*+-]|[0-9]+[.)])(?:[ \t\n]|\Z)"  # a list item: its marker, then a space or the end
    r"|[*_-][*_ \t-]*(?:\n|\Z))"  # a rule, or a "-" underline: a line of those only
)
_REFERENCE = re.compile(r"(?:^|\n)[ \t]*\[")  # a reference definition, where "]:" follows
_TAG = re.compile(r"(?:^|\n)[ \t]*(<[^\n]*)")  # HTML, where an HTML block's opening fits
# The html_block rule's openings, tried on the line from its "<" as the rule tries them.
_HTML_OPENINGS = tuple(opening for opening, _, _ in HTML_SEQUENCES)
_LIST_ITEM = re.compile(r"(?:^|\n)[ \t>]*(?:[*+-]|[0-9]+[.)])")
_OPEN_ENDED = re.compile(r"```|~~~|<(?:!(?!--[^\n]*-->)|\?|(?i:script|pre|style|textarea))")
# The paragraph rule's trim: CommonMark's whitespace in markdown-it-py 4, str.strip in 3.
_trim: Callable[[str], str] = getattr(markdown_it_utils, "mdTrim", str.strip)

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


def _opens_block(text: str) -> bool:
    """Whether a line of text can open a block (see above): if not, text is a paragraph."""
    if _OPENS_BLOCK.search(text) is not None:
        return True
    if "]:" in text and _REFERENCE.search(text) is not None:
        return True
    if "<" in text:
        for tag in _TAG.finditer(text):
            line = tag.group(1)
            if any(opening.search(line) for opening in _HTML_OPENINGS):
                return True
    return False


def markdown_to_text(source: str) -> MarkdownText:
    """Strip Markdown markup from source, keeping its words and paragraph breaks."""
    if "\r" in source or "\0" in source:  # as markdown-it's normalize core rule does
        source = _NEWLINES.sub("\n", source).replace("\0", "\ufffd")
    env: dict = {}
    pieces: list[str | list[Token]] = []  # a paragraph's lines, or a parsed region's tokens
    start = end = -1  # the region markdown-it parses, while one is open
    listed = False  # whether the region may hold a list item
    for block in _BLOCK.finditer(source):
        text = block.group()
        plain = not _opens_block(text)  # a paragraph, at the top level
        if start >= 0 and plain and not (listed and text[0] in " \t"):  # the region ended
            pieces.append(_BLOCKS.parse(source[start:end], env))
            start = -1
        if start < 0:
            if plain:
                pieces.append(text)
                continue
            start, listed = block.start(), False
        end = block.end()  # a block markdown-it reads, or a plain one maybe within its list
        listed = listed or _LIST_ITEM.search(text) is not None
        if _OPEN_ENDED.search(text) is not None:
            end = len(source)  # a fence or an HTML block may run on: markdown-it reads the rest
            break
    if start >= 0:
        pieces.append(_BLOCKS.parse(source[start:end], env))
    # Blocks first, then inline content: a link may use a reference defined further down.
    blocks: list[str] = []
    heading = ""
    for piece in pieces:
        if isinstance(piece, str):
            text = _tidy(_inline_words(_trim(piece), env))
            if text:
                blocks.append(text)
            continue
        for i, token in enumerate(piece):
            if token.type == "inline":
                text = _inline_words(token.content, env)
                if not heading and piece[i - 1].type == "heading_open":
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


def _inline_words(content: str, env: dict) -> str:
    """The words of a paragraph's or heading's inline content, as inline_text gives them
    from markdown-it's inline tokens (after its text_join)."""
    if _INLINE_MARKUP.search(content) is None:
        return _plain_words(content)
    if "\n" not in content:
        return _parsed_words(content, env)
    # Cut at line breaks: around the lines that hold markup, at breaks that no inline
    # construct can span; each piece read on its own (the parser only for the marked ones),
    # each break made as the newline rule makes it. A construct opened on a line may span
    # the breaks up to the last line holding a character that may continue or close it: an
    # emphasis delimiter (* or _), a backtick, a "]" or ")" after a "[", a ">" after a "<".
    # (An escaped character opens nothing: outside code spans, the only place a backslash
    # before one is not an escape, or where it is inside an autolink or a tag, which "<"
    # opened.) A backslash before a break, or before the spaces that end its line, escapes
    # the break or one space (a token that takes it along): no cut there either.
    lines = content.split("\n")
    last = len(lines) - 1
    marked: set[int] = set()  # the lines holding markup
    line = position = 0
    for match in _INLINE_MARKUP.finditer(content):
        line += content.count("\n", position, match.start())
        position = match.start()
        marked.add(line)
    spanned: set[int] = set()  # the breaks (after line k) that a construct may span
    openers = _ESCAPE.sub("  ", content) if "\\" in content and "`" not in content else content
    for opener, closers in _SPANS:
        start = openers.find(opener)
        if start >= 0:
            end = max(_line_of(content, content.rfind(c)) for c in closers)
            spanned.update(range(_line_of(content, start), end))
    for match in _ESCAPED_BREAK.finditer(content):
        spanned.add(_line_of(content, match.start()))
    parts: list[str] = []
    first = 0  # the piece's first line
    for k in range(last):
        if k in spanned or not (k in marked or k + 1 in marked):
            continue
        text = lines[k]
        kept = lines[k] = text.rstrip(" ")
        parts += (_piece_words(lines, first, k, env), "\n" if len(text) - len(kept) > 1 else " ")
        first = k + 1
    parts.append(_piece_words(lines, first, last, env))
    return "".join(parts)


def _line_of(content: str, position: int) -> int:
    """The number of the line holding position in content (-1 for position -1)."""
    return content.count("\n", 0, position) if position >= 0 else -1


def _piece_words(lines: list[str], first: int, last: int, env: dict) -> str:
    """The words of lines[first:last + 1], a piece of content cut at line breaks."""
    piece = "\n".join(lines[first : last + 1])
    if first:
        piece = piece.lstrip(" \t")  # the newline rule skips the next line's indentation
    if _INLINE_MARKUP.search(piece) is None:
        return _plain_words(piece)
    return _parsed_words(piece, env)


def _parsed_words(content: str, env: dict) -> str:
    children: list[Token] = []
    _BLOCKS.inline.parse(content, _BLOCKS, env, children)
    return inline_text(children)


_SPANS = (("*", "*_"), ("_", "*_"), ("`", "`"), ("[", "])"), ("<", ">"))
_ESCAPED_BREAK = re.compile(r"\\ *\n")
_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")  # a backslash and the ASCII punctuation it escapes


# Characters at which one of the inline rules of the commonmark preset can match: escapes,
# code spans, emphasis, links and images ("!" only before "["), autolinks and inline HTML,
# entities. Most paragraphs of a release hold none: their only markup is the line breaks.
_INLINE_MARKUP = re.compile(r"[\\`*_\[<&]")
_SOFT_BREAK = re.compile(r" ?\n[ \t]*")  # one trailing space dropped, indentation skipped


def _plain_words(content: str) -> str:
    """What markdown-it's inline parser gives for content without _INLINE_MARKUP: its lines,
    each break soft (a space; one trailing space dropped) or hard (a newline, after two or
    more trailing spaces, all dropped), the next line's leading spaces and tabs skipped
    (rules_inline/newline.py)."""
    if "\n" not in content:
        return content
    if "  \n" not in content:  # soft breaks only
        return _SOFT_BREAK.sub(" ", content)
    lines = content.split("\n")
    parts = []
    last = len(lines) - 1
    for n, line in enumerate(lines):
        if n:
            line = line.lstrip(" \t")
        if n == last:
            parts.append(line)
        elif line.endswith("  "):
            parts += (line.rstrip(" "), "\n")
        else:
            parts += (line[:-1] if line.endswith(" ") else line, " ")
    return "".join(parts)


def _tidy(text: str) -> str:
    # Web-exported Markdown is full of non-breaking spaces, and of lines holding only one
    # after a hard break: plain spaces read and index the same, empty lines are noise.
    if "\xa0" in text:
        text = text.replace("\xa0", " ")
    if "\n" not in text:
        return text.strip()
    return "\n".join(line for line in map(str.strip, text.split("\n")) if line)


def inline_text(children: list[Token], depth: int = 0) -> str:
    """The words of an inline token's children, without their markup.

    Adjacent text (and text_special: escapes, entities) children are one text, as
    markdown-it's text_join core rule makes them: among the children and the children's
    children (an image's alt text), not deeper, where a text_special is left out."""
    joined = depth < 2
    parts: list[str] = []
    run: list[str] = []
    for child in children:
        kind = child.type
        if kind == "text" or (joined and kind == "text_special"):
            run.append(child.content)
            if joined:
                continue
        if run:
            parts.append(_text(run))
            run = []
        if kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind == "image":
            parts.append(inline_text(child.children or [], depth + 1))  # the alt text
        # link, emphasis and inline HTML tokens are markup only: their text is a sibling.
    if run:
        parts.append(_text(run))
    return "".join(parts)


def _text(run: list[str]) -> str:
    content = "".join(run)
    # An emphasis run the parser could not pair (the corpus has "**HEAD: **Text") stays as
    # literal text; it is still markup to a reader.
    return content.replace("**", "") if "**" in content else content


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
