"""Snippets: the best passages of a text, with the query's words marked.

    stored text --find_matches (see matching.py)--> matches
    matches --windows of ~200 characters, scored by distinct terms, then by count--> fragments
    fragments --cut to the gaps between chosen ones, one that repeats shown words dropped-->
    fragments --escape everything, wrap every match inside in <mark>--> HTML, best first

Words are matched through the same cached functions the index used, so the query
``meeting`` marks ``Meetings`` and ``"meetings"`` does not mark ``meeting``. Only the text's
first ``SCAN_LIMIT`` characters are scanned, which bounds the cost of a 250,000-character
release; Whoosh's stock highlighter re-analyses every hit with a chain of filters instead,
and is the slow part of a query.
"""

from __future__ import annotations

import re
from html import escape

from searchsvc.snippets.spans import Span, find_matches
from searchsvc.snippets.terms import QueryTerms

FRAGMENT_SIZE = 200
MAX_FRAGMENTS = 3
SEPARATOR = " … "

_SPACES = re.compile(r"\s+")


def snippet(text: str, terms: QueryTerms, size: int = FRAGMENT_SIZE) -> str:
    """Up to three marked fragments of about `size` characters, best first, as HTML.

    No fragment overlaps another or repeats a run of words another shows (a release that
    says the same sentence twice shows it once), and every match inside a fragment is
    marked, not only those its window was chosen for.
    """
    spans = find_matches(text, terms)
    if not spans:
        return lead(text, size)
    fragments: list[tuple[int, int]] = []
    shown: set[tuple[str, ...]] = set()
    said: list[str] = []  # the fragments' words, to catch a short one shown whole already
    remaining = spans
    while remaining and len(fragments) < MAX_FRAGMENTS:
        start, end, inside = _best_window(remaining, size)
        start, end = _word_bounds(text, start, end)
        start, end = _outside(fragments, start, end, inside[0])
        start, end = _whole_spans(spans, start, end)
        remaining = [s for s in remaining if (s[1] <= start or s[0] >= end) and s not in inside]
        words = _WORDS.findall(text[start:end].casefold())
        runs, joined = _shingles(words), f" {' '.join(words)} "
        if runs & shown or any(joined in other for other in said):
            continue  # the same words are shown already, elsewhere in the text
        shown |= runs
        said.append(joined)
        fragments.append((start, end))
    head = "…" if fragments[0][0] > 0 else ""
    tail = "…" if fragments[-1][1] < len(text) else ""
    return head + SEPARATOR.join(_render(text, s, e, spans) for s, e in fragments) + tail


def _outside(fragments: list[tuple[int, int]], start: int, end: int, first: Span) -> tuple:
    """start..end cut to the gap between chosen fragments that holds the span `first`."""
    for s, e in fragments:
        if e <= first[0]:
            start = max(start, e)
        elif s >= first[1]:
            end = min(end, s)
    return start, max(end, start)


def _whole_spans(spans: list[Span], start: int, end: int) -> tuple[int, int]:
    """start..end widened to hold whole any match it cuts (a phrase across its edge)."""
    for s, e, _ in spans:
        if s < start < e:
            start = s
        if s < end < e:
            end = e
    return start, end


# A fragment that shares a run of this many words with one shown repeats it.
REPEAT_WORDS = 6
_WORDS = re.compile(r"\w+")


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    n = REPEAT_WORDS
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 0))}


def _best_window(spans: list[Span], size: int) -> tuple[int, int, list[Span]]:
    # For each first span, the most that fit in `size`; the first best score wins. The
    # window slides, counting its terms as it goes, so a text with hundreds of matches
    # costs one pass, not a set per span.
    best_score, best = (-1, -1), (0, 0)
    counts: dict[str, int] = {}
    j = -1  # the window is spans[i : j + 1]
    for i, first in enumerate(spans):
        if j < i:  # a span longer than `size` still makes a window of its own
            j = i
            counts[first[2]] = 1
        while j + 1 < len(spans) and spans[j + 1][1] - first[0] <= size:
            j += 1
            counts[spans[j][2]] = counts.get(spans[j][2], 0) + 1
        score = (len(counts), j - i + 1)
        if score > best_score:
            best_score, best = score, (i, j)
        counts[first[2]] -= 1
        if not counts[first[2]]:
            del counts[first[2]]
    inside = spans[best[0] : best[1] + 1]
    start, end = inside[0][0], inside[-1][1]
    # Centre the matches in the window, with some context before them.
    slack = max(size - (end - start), 0)
    return max(start - slack // 3, 0), end + slack - slack // 3, inside


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    end = min(end, len(text))
    if start > 0:
        space = text.find(" ", start, start + 30)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", end - 30, end)
        end = space if space > start else end
    return start, end


def _render(text: str, start: int, end: int, spans: list[Span]) -> str:
    inside = [s for s in spans if start <= s[0] and s[1] <= end]
    return _marked(text, start, end, inside, flatten=True).strip()


def _marked(text: str, start: int, end: int, spans: list[Span], flatten: bool = False) -> str:
    """text[start:end] escaped, with each run of adjacent matches in one <mark>."""
    tidy = _flat if flatten else str
    runs: list[list[int]] = []
    for s, e, _ in spans:
        if s < start or e > end:
            continue
        if runs and not text[runs[-1][1] : s].strip():
            runs[-1][1] = e  # "strategic partnership" reads as one mark, not two
        else:
            runs.append([s, e])
    out, pos = [], start
    for s, e in runs:
        out.append(escape(tidy(text[pos:s])))
        out.append(f"<mark>{escape(tidy(text[s:e]))}</mark>")
        pos = e
    out.append(escape(tidy(text[pos:end])))
    return "".join(out)


def _flat(text: str) -> str:
    # Paragraph breaks and runs of spaces read as one space in a snippet.
    return _SPACES.sub(" ", text)


def lead(text: str, size: int = FRAGMENT_SIZE) -> str:
    """The opening of a text, cut at a word boundary, as HTML."""
    text = " ".join(text[: size * 2].split())
    if len(text) <= size:
        return escape(text)
    cut = text.rfind(" ", 0, size)
    return escape(text[: cut if cut > 0 else size]) + "…"


def highlight_all(text: str, terms: QueryTerms) -> str:
    """The whole text as HTML, every match marked (for the document page)."""
    return _marked(text, 0, len(text), find_matches(text, terms, limit=len(text)))
