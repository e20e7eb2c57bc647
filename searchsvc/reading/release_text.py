"""Clues in the free text of a press release: headline, dateline place, crediting agency.

The seed ``.txt`` files carry no fields, only text as it was copied from a news site:

    [a date line] [a number] [BAKU, Azerbaijan, December 17] [Headline] Paragraph. Paragraph.

title_and_place() walks the lines above the first paragraph, passing over numbers and dates
(dateutil decides what is a date), taking the place from a dateline and the title from the
first line that reads like a headline; with none, the first sentence makes the title.
find_source() looks for an agency's credit ("..., Trend reports.") or sign-off ("///nCa, 5 May").
"""

from __future__ import annotations

import re

from searchsvc import dates

TITLE_LENGTH = 120  # a title made from a sentence is cut near here, at a word boundary
HEADLINE_LENGTH = 160  # a longer line is a paragraph, not a headline
DATE_LINE_LENGTH = 40  # only short lines are tried as dates: dateutil accepts odd things
DATELINE_LENGTH = 80

# A sentence ends at . ! or ? (maybe closing a quote) before a capital; see first_sentence.
_SENTENCE_END = re.compile(r"[.!?][\"”’)]?\s+(?=[A-Z\"“‘(])")
# News agencies credit themselves mid-sentence: "..., Trend reports." / "..., Report informs."
_CREDIT = re.compile(
    r",\s+((?:[A-Z]|[a-z]+[A-Z])[\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,3})"
    r"\s+(?:reports|reported|informs|informed)\b"
)
# ...or sign off: "///nCa, 5 May 2023"; the part after the comma must read as a date.
_SIGN_OFF = re.compile(r"///\s*([^\s,/][^,\n/]{0,40}?)\s*,\s*([^(\n]{1,40})")


def tidy_paragraphs(text: str) -> str:
    """Text with each line stripped and runs of blank lines folded into one paragraph break."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def reflow(text: str) -> list[str]:
    """A body's paragraphs for reading, hard-wrapped wire text joined into flowing lines.

    Paragraphs are the blank-line separated blocks, kept as they are. Inside one, a line
    break is a hard wrap (joined with a space) when the line runs near the paragraph's
    longest line and the next line does not start a list item; shorter lines (an address,
    a sign-off, a list) keep their breaks.
    """
    out = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        width = max(len(line) for line in lines)
        merged = [lines[0]]
        for before, line in zip(lines, lines[1:], strict=False):
            wrapped = width >= WRAP_WIDTH and len(before) >= WRAP_SHARE * width
            if wrapped and not _LIST_ITEM.match(line):
                merged[-1] += " " + line
            else:
                merged.append(line)
        out.append("\n".join(merged))
    return out


WRAP_WIDTH = 50  # a paragraph whose longest line is shorter is a list or verse, not wrapped
WRAP_SHARE = 0.7  # a line this near the longest one ended only because the column did
_LIST_ITEM = re.compile(r"(?:[-*•·–]|\d{1,2}[.)]|\(?[a-z]\))\s")


def title_and_place(lines: list[str]) -> tuple[str, str]:
    """The title and dateline place ("" if none) of a release's lines."""
    # Above the first paragraph sit numbers, dates, a dateline and maybe the headline. A short
    # line below a paragraph is a list item or a subheading, never the headline.
    place = ""
    for line in filter(None, lines):
        if not any(c.isalpha() for c in line) or is_date(line):
            continue
        dateline = _dateline_place(line)
        if dateline:
            place = place or dateline
        elif _is_headline(line):
            return line, place
        else:
            return shorten(first_sentence(line)), place
    return "", place


def _is_headline(line: str) -> bool:
    if len(line) > HEADLINE_LENGTH or line[-1] in ".,;:":  # a full stop ends prose
        return False
    first_letter = next(c for c in line if c.isalpha())
    return first_letter.isupper()


def is_date(text: str) -> bool:
    """Whether a short text is a date and nothing else."""
    return len(text) <= DATE_LINE_LENGTH and dates.is_date(text)


def _dateline_place(line: str) -> str:
    # "BAKU, Azerbaijan, December 17": a city in capitals, maybe a country, then a date.
    if len(line) > DATELINE_LENGTH or "," not in line:
        return ""
    city, *rest = (part.strip() for part in line.split(","))
    if not city.isupper() or not rest or not is_date(rest[-1]):
        return ""
    while rest and is_date(rest[-1]):
        rest.pop()
    if any(not part or len(part.split()) > 3 for part in rest):
        return ""
    return ", ".join(p.title() if p.isupper() else p for p in [city, *rest])


def first_sentence(text: str) -> str:
    """The text up to the end of its first sentence (all of it if there is no end)."""
    for end in _SENTENCE_END.finditer(text):
        before = text[: end.start()].rsplit(None, 1)
        word = before[-1] if before else ""
        # "Mr. Lavrov", "S. Lavrov", "the U.S. Department": a short or dotted word is an
        # abbreviation, not a sentence's end.
        if text[end.start()] == "." and (len(word) <= 2 or "." in word):
            continue
        return text[: end.end()].strip()
    return text


def shorten(text: str, limit: int = TITLE_LENGTH) -> str:
    """Text on one line, cut at a word boundary near limit with an ellipsis when longer."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(",;:–—- ")
    return cut + "…"


def find_source(text: str) -> str:
    """The news agency a release credits or signs off with, or ""."""
    credit = _CREDIT.search(text)
    if credit:
        return credit.group(1)
    for sign_off in _SIGN_OFF.finditer(text):
        if is_date(sign_off.group(2).strip()):
            return sign_off.group(1)
    return ""
