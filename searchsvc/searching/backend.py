"""The backend seam: what the edges (web, API, CLI, benchmarks) need of a search engine.

    edges --Backend--> index(paths), exists(), search(request), document(id),
                       query_terms(text), stats(), freshness(), close()
    and its errors: IndexNotFoundError (nothing to search yet), IndexLockedError

The embedded Whoosh Engine (engine.py) is the default and, for now, the only one. The edges
are written against this protocol alone, so another engine behind the same protocol (a
cluster, say) serves the same page, API and CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from searchsvc.indexing import IndexLockedError, IndexNotFoundError, IndexReport
from searchsvc.reading import Document
from searchsvc.searching.request import SearchRequest
from searchsvc.searching.search import SearchResult
from searchsvc.snippets import QueryTerms

__all__ = ["Backend", "Freshness", "IndexLockedError", "IndexNotFoundError", "IndexStats"]


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

    generation: str  # changes whenever answers may change: for ETags and caches
    updated_at: datetime  # when that state was written (naive local time)
    warning: str | None = None  # set while an older state answers because a newer one failed


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
    ) -> IndexReport:
        """Add, update and delete documents so the index matches the files under paths."""
        ...

    def exists(self) -> bool:
        """Whether there is an index to search yet."""
        ...

    def search(self, request: SearchRequest) -> SearchResult:
        """Answer a search request."""
        ...

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
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

    def close(self) -> None:
        """Release what the backend holds open."""
        ...
