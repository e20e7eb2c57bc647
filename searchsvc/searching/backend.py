"""The backend seam: what the edges (web, API, CLI, benchmarks) need of a search engine.

    edges --Backend--> index(paths), exists(), search(request, deadline, today), document(id),
                       similar(id, count, deadline), duplicates(id),
                       export(request, limit, deadline, today), query_terms(text), stats(),
                       facet_values(request, name, contains, limit, deadline, today),
                       freshness(), verify(), close()
    and its errors: IndexNotFoundError (nothing to search yet), IndexLockedError (another
    indexer), IndexDamagedError, DeleteRefusedError, DeadlineExceededError

The embedded Whoosh Engine (engine.py) is the default and, for now, the only one. The edges
are written against this protocol alone, so another engine behind the same protocol (a
cluster, say) serves the same page, API and CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from searchsvc.deadline import Deadline, DeadlineExceededError
from searchsvc.indexing import (
    DeleteRefusedError,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    IndexReport,
)
from searchsvc.reading import Document
from searchsvc.searching.duplicates import Copy
from searchsvc.searching.export import Export
from searchsvc.searching.request import SearchRequest
from searchsvc.searching.search import FacetValues, SearchResult
from searchsvc.searching.similar import SimilarResult
from searchsvc.snippets import QueryTerms

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "DeadlineExceededError",
    "DeleteRefusedError",
    "Freshness",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexStats",
    "Verification",
]


class BackendUnavailableError(Exception):
    """The engine behind the backend (a cluster) did not answer in time; the message says
    which and what to do. The edges answer 503 with Retry-After."""


@dataclass(frozen=True)
class IndexStats:
    """What an index holds."""

    documents: int
    undated: int
    first_date: datetime | None
    last_date: datetime | None
    per_year: dict[str, int]
    size_bytes: int
    updated_at: datetime
    path: str


@dataclass(frozen=True)
class Freshness:
    """Which state of the index answers now, and since when."""

    generation: str  # the generation served (a rebuild makes a new one)
    commit: int | None  # its commit: with generation, it changes whenever answers may
    updated_at: datetime  # when that state was written (naive local time)
    warning: str | None = None  # set while an older state answers because a newer one failed


@dataclass(frozen=True)
class Verification:
    """What checking the index's files found."""

    path: str
    files: int
    bytes: int
    seconds: float
    unverified: list[str]  # files no checksum lists yet (the next index run lists them)
    problems: list[str]  # damaged files, or why the index does not open; empty: intact


class Backend(Protocol):
    """A search engine as the edges use it."""

    def index(
        self,
        paths: Sequence[str | Path],
        *,
        rebuild: bool = False,
        procs: int | None = None,
        wait: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
        allow_delete: bool = False,
        people_file: str | None = None,
        organisations_file: str | None = None,
        hold_deletes: bool = False,
    ) -> IndexReport:
        """Add, update and delete documents so the index matches the files under paths.

        people_file, organisations_file: the name lists to recognise (None: those shipped).
        hold_deletes: where the delete guard refuses, write the rest and keep those
        documents (the report's held), rather than write nothing (a watch's runs).
        """
        ...

    def exists(self) -> bool:
        """Whether there is an index to search yet."""
        ...

    def prepare(self) -> None:
        """Start opening what searching needs, in the background (a server's worker boots)."""
        ...

    def search(
        self, request: SearchRequest, deadline: Deadline | None = None, today: date | None = None
    ) -> SearchResult:
        """Answer a search request, relative dates counted from today (None: today in UTC).

        Past deadline, raise DeadlineExceededError.
        """
        ...

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        ...

    def similar(
        self, doc_id: str, *, count: int = 10, deadline: Deadline | None = None
    ) -> SimilarResult | None:
        """Up to count releases most like the document doc_id, best first: found by its own
        most distinctive words, ranked as a search ranks, without the document itself and
        its near-duplicates. None if no document has this id.

        Past deadline, raise DeadlineExceededError.
        """
        ...

    def duplicates(self, doc_id: str) -> list[Copy]:
        """The document's near-duplicates (the other releases of its group), oldest first;
        [] if it has none or does not exist."""
        ...

    def export(
        self,
        request: SearchRequest,
        *,
        limit: int,
        deadline: Deadline | None = None,
        today: date | None = None,
    ) -> Export:
        """Every match of request (its page and size aside), up to limit, in its order.

        Relative dates count from `today` (None: today in UTC), as in search().

        The match and the order are computed at once (past deadline, DeadlineExceededError);
        the rows are read one document at a time as they are iterated, and must be
        exhausted or closed (Export.rows.close()) to let go of the index state.
        """
        ...

    def facet_values(
        self,
        request: SearchRequest,
        name: str,
        *,
        contains: str = "",
        limit: int = 100,
        deadline: Deadline | None = None,
        today: date | None = None,
    ) -> FacetValues:
        """The values of facet `name` among request's matches, those containing `contains`,
        most frequent first, at most `limit` (SearchError for an unknown facet)."""
        ...

    def query_terms(self, text: str) -> QueryTerms:
        """What a query looks for, to mark its words in a document."""
        ...

    def stats(self) -> IndexStats:
        """Document count, date range, per-year counts, size and age of the index."""
        ...

    def freshness(self) -> Freshness:
        """Which state of the index answers now."""
        ...

    def verify(self) -> Verification:
        """Check the index's files against their checksums."""
        ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None:
        """Release what the backend holds open."""
        ...
