"""Snippets: the best passages of a text, with the query's words marked.

    stored text --words, each through the index's own term functions--> matches
    matches --windows of ~200 characters, scored by distinct terms, then by count--> fragments
    fragments --escape everything, wrap matches in <mark>--> HTML, best first

Words are matched through the same cached functions the index used (``stem_term``,
``exact_term``), so the query ``meeting`` marks ``Meetings`` and ``"meetings"`` does not
mark ``meeting``. Only the text's first ``SCAN_LIMIT`` characters are scanned, which bounds
the cost of a 250,000-character release; Whoosh's stock highlighter re-analyses every hit
with a chain of filters instead, and is the slow part of a query.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from searchsvc.analysis import MARKS, WORD_CHAR, WORD_RE, exact_term, stem_term
from searchsvc.query import QueryTerms

FRAGMENT_SIZE = 200
MAX_FRAGMENTS = 3
SCAN_LIMIT = 100_000
SEPARATOR = " … "

_SPACES = re.compile(r"\s+")

Span = tuple[int, int, str]  # start, end, the term it matched (for counting distinct terms)


def find_matches(text: str, terms: QueryTerms, limit: int = SCAN_LIMIT) -> list[Span]:
    """The spans of text that match the query's terms, in order."""
    if not terms:
        return []
    text = text[:limit]
    spans: list[Span] = []
    # Phrases need every word in order; otherwise only words that start like a query term
    # (or hold accents or inner dots, which fold) are looked at, found by one regex in C.
    words = list(WORD_RE.finditer(text)) if terms.phrases else None
    candidates = words if words is not None else _candidates(_prefixes(terms)).finditer(text)
    for m in candidates:
        word = m.group()
        stem = stem_term(word) if terms.stems else None
        if stem is not None and stem in terms.stems:
            spans.append((m.start(), m.end(), stem))
        elif terms.exact and exact_term(word) in terms.exact:
            spans.append((m.start(), m.end(), exact_term(word)))
    if terms.phrases:
        spans.extend(_phrase_spans(words, terms.phrases))
        spans = _merge(spans)
    return spans


def _prefixes(terms: QueryTerms) -> tuple[str, ...]:
    # Snowball keeps a word's first letters (it changes endings), so three of them do.
    return tuple(sorted({t[:3] for t in (*terms.stems, *terms.exact)}))


@lru_cache(maxsize=1024)
def _candidates(prefixes: tuple[str, ...]) -> re.Pattern:
    starts = "|".join(re.escape(p) for p in prefixes) or "(?!)"
    w = WORD_CHAR
    folds = f"(?:[^\\W\\x00-\\x7f]|[{MARKS}])"  # a letter or mark that folds away
    return re.compile(
        rf"(?<![\w{MARKS}.'’])(?:(?:{starts}){w}*(?:[.'’]{w}+)*"  # starts like a term
        rf"|{w}*{folds}{w}*(?:[.'’]{w}+)*"  # has a letter or mark that folds
        rf"|{w}+(?:[.'’]{w}+)+)",  # U.S., Turkmenistan's
        re.IGNORECASE,
    )


def _phrase_spans(words, phrases) -> list[Span]:
    exact = [exact_term(m.group()) for m in words]
    spans = []
    for phrase in phrases:
        n = len(phrase)
        key = " ".join(phrase)
        for i in range(len(exact) - n + 1):
            if tuple(exact[i : i + n]) == phrase:
                spans.append((words[i].start(), words[i + n - 1].end(), key))
    return spans


def _merge(spans: list[Span]) -> list[Span]:
    # Phrase spans may cover word spans; keep the widest, in order.
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and span[0] < merged[-1][1]:
            continue
        merged.append(span)
    return merged


def snippet(text: str, terms: QueryTerms, size: int = FRAGMENT_SIZE) -> str:
    """Up to three marked fragments of about `size` characters, best first, as HTML."""
    spans = find_matches(text, terms)
    if not spans:
        return lead(text, size)
    fragments = []
    remaining = spans
    while remaining and len(fragments) < MAX_FRAGMENTS:
        start, end, inside = _best_window(remaining, size)
        start, end = _word_bounds(text, start, end)
        fragments.append((start, end, _render(text, start, end, inside)))
        remaining = [s for s in remaining if s[1] <= start or s[0] >= end]
    head = "…" if fragments[0][0] > 0 else ""
    tail = "…" if fragments[-1][1] < len(text) else ""
    return head + SEPARATOR.join(html for _, _, html in fragments) + tail


def _best_window(spans: list[Span], size: int) -> tuple[int, int, list[Span]]:
    best_score, best = (-1, -1), (0, 0, [])
    j = 0
    for i, first in enumerate(spans):
        j = max(j, i)
        while j + 1 < len(spans) and spans[j + 1][1] - first[0] <= size:
            j += 1
        inside = spans[i : j + 1]
        score = (len({s[2] for s in inside}), len(inside))
        if score > best_score:
            best_score, best = score, (first[0], inside[-1][1], inside)
    start, end, inside = best
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
    return _marked(text, start, end, spans, flatten=True).strip()


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
