"""Readable lines for `searchsvc search` (the terminal's version of the result page)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from searchsvc.searching import SearchResult

_MARK = re.compile(r"</?mark>")


def plain_snippet(snippet: str) -> str:
    """A snippet's HTML as terminal text, with matches in [brackets]."""
    return html.unescape(_MARK.sub(lambda m: "]" if m.group().startswith("</") else "[", snippet))


def format_result(result: SearchResult) -> Iterator[str]:
    """The lines that show a result: a header, then each hit, then facets."""
    req = result.request
    first = (req.page - 1) * req.size + 1 if result.hits else 0
    last = first + len(result.hits) - 1 if result.hits else 0
    yield f"{result.total} results ({first}-{last} shown, {result.took_ms:.0f} ms)"
    if result.range:
        span = result.range
        days = " .. ".join(d.isoformat() if d else "-" for d in (span.start, span.end))
        typed = ", ".join(f"{name} {text.strip()}" for name, text in span.typed.items())
        yield f"dates: {days} ({typed})"
    if result.suggestion:
        yield f"Did you mean: {result.suggestion}"
    for hit in result.hits:
        date = hit.date.date().isoformat() if hit.date else "undated"
        meta = " · ".join(x for x in (date, hit.source, ", ".join(hit.category), hit.place) if x)
        yield ""
        yield f"{hit.title}  [{hit.id}]"
        yield f"  {meta}  score {hit.score:.2f}"
        yield f"  {plain_snippet(hit.snippet)}"
    years = result.facets.get("year", [])
    if years:
        yield ""
        yield "by year: " + ", ".join(f"{f.value}:{f.count}" for f in years)
