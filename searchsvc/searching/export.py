"""Export: every match of a search, in the search's order, read one document at a time.

    SearchRequest --matches() (search.py), once, as arrays--> which documents match
        --ranking(), up to the limit--> their document numbers, in the search's order
    document numbers --Rows, lazily--> one ExportRow per stored document, read only when
        the caller asks for the next row (an edge writes it out before reading another)

Only arrays of document numbers are held, never a list of rows, so memory stays flat
whatever the size. The deadline covers the arrays (parsing, matching, sorting, the
proximity re-rank of the first few): an edge streams the rows after it has answered 200,
when a 503 can no longer be sent, so reading them is bounded by the limit instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np

from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import ForwardIndex
from searchsvc.scoring import Ranker
from searchsvc.searching.facets import FacetTable
from searchsvc.searching.request import PARAMS, SearchError, SearchRequest, check_request
from searchsvc.searching.search import expansion_for, listed_fields, matches, ranking
from searchsvc.searching.spelling import Speller
from searchsvc.searching.variants import Variants

# The columns of an export, in their default order; the body only when asked for.
EXPORT_FIELDS = (
    *("id", "title", "date", "source", "category", "place", "url"),
    *("country", "person", "organisation", "body"),
)
DEFAULT_FIELDS = tuple(f for f in EXPORT_FIELDS if f != "body")
# An export has every match: paging means nothing to it, nor grouping (every release is a row).
EXPORT_PARAMS = tuple(p for p in PARAMS if p.name not in ("page", "size", "group"))
# What fields= accepts: column names, comma-separated ("" for the default); OpenAPI says so.
_NAME = f"(?:{'|'.join(EXPORT_FIELDS)})"
FIELDS_PATTERN = f"^(?:{_NAME}(?:,{_NAME})*)?$"
_FIELDS_RE = re.compile(FIELDS_PATTERN)


@dataclass(frozen=True)
class ExportRow:
    """One exported document: its stored fields (the body too, whether or not written)."""

    id: str
    title: str
    date: datetime | None  # naive UTC; midnight when the source gave a date alone
    source: str
    category: tuple[str, ...]
    place: str
    url: str
    body: str
    country: tuple[str, ...] = ()
    person: tuple[str, ...] = ()
    organisation: tuple[str, ...] = ()


class Rows(Iterator[ExportRow]):
    """An export's rows, each read from the index when asked for.

    The index state they are read from stays open until they are exhausted or closed, so
    a consumer that stops early must close() them (the edges do, in a finally).
    """

    def __init__(
        self,
        read: Callable[[int], dict],
        docnums: np.ndarray,
        release: Callable[[], None] | None = None,
    ):
        self._read = read
        self._docnums = docnums
        self._next = 0
        self._release = release

    def __len__(self) -> int:
        return len(self._docnums)

    def __next__(self) -> ExportRow:
        if self._next >= len(self._docnums):
            self.close()
            raise StopIteration
        n = int(self._docnums[self._next])
        self._next += 1
        return _row(self._read(n))

    def close(self) -> None:
        """Let go of the index state the rows are read from (once; again does nothing)."""
        release, self._release = self._release, None
        if release is not None:
            release()


@dataclass(frozen=True)
class Export:
    """A search's matches, up to a limit, as rows to read in order."""

    request: SearchRequest
    total: int  # how many documents match
    limit: int  # the most rows an export gives
    order: str  # "relevance", "newest" or "oldest": the order the rows come in
    rows: Rows  # min(total, limit) rows

    @property
    def truncated(self) -> bool:
        """Whether more documents match than the rows give."""
        return self.total > len(self.rows)


def export(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    *,
    limit: int,
    deadline: Deadline | None = None,
    speller: Speller | None = None,
    release: Callable[[], None] | None = None,
    today: date | None = None,
    variants: Variants | None = None,
    forward: ForwardIndex | None = None,
) -> Export:
    """Every match of req (paging aside), up to limit, in its order; rows read lazily.

    Past `deadline` while matching or sorting, DeadlineExceededError; the rows then read
    without one. `release` is called once the rows are exhausted or closed.
    """
    if limit < 1:
        raise SearchError(f"An export's limit must be 1 or more, not {limit}")
    deadline = deadline or NEVER
    req = check_request(req)
    speller = speller if speller is not None else Speller(searcher.reader())
    expansion = expansion_for(variants, searcher, req)
    found = matches(searcher, ranker, facets, req, deadline, speller, today, expansion)
    match, scores, terms, _, _ = found
    stored = lru_cache(maxsize=None)(searcher.stored_fields)  # for the proximity re-rank
    docnums = ranking(stored, ranker, match, scores, facets, req, terms, deadline, limit, forward)
    order = req.sort if req.q or req.sort != "relevance" else "newest"
    rows = Rows(searcher.stored_fields, docnums, release)
    return Export(req, int(np.count_nonzero(match)), limit, order, rows)


def parse_fields(text: str) -> tuple[str, ...]:
    """The columns a comma-separated list names, in its order; '' gives the default ones."""
    if not _FIELDS_RE.search(text):
        raise SearchError(
            f"fields must name columns of {', '.join(EXPORT_FIELDS)}, comma-separated, "
            f"not {text[:60]!r}"
        )
    # The pattern's $, as Python reads it, lets one final newline through: drop it.
    names = text.removesuffix("\n").split(",") if text.strip() else DEFAULT_FIELDS
    return tuple(dict.fromkeys(names))  # each once, in the order first named


def _row(stored: dict) -> ExportRow:
    return ExportRow(**listed_fields(stored), body=stored.get("body", ""))
