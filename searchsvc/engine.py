"""An open index: a reused searcher that follows the index as it changes.

Opening a searcher and reading the facet columns costs far more than a query, so an Engine
keeps one of each and reuses it. At most every ``check_interval`` seconds it looks whether
the live generation was swapped (a rebuild) or committed to (an incremental run), and
if so opens a new searcher beside the old one. The old one is closed only after a grace
period, because a request in flight may still be using it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from searchsvc import storage
from searchsvc.deadline import NEVER, Deadline
from searchsvc.documents import Document
from searchsvc.facets import FacetTable
from searchsvc.ranker import Ranker
from searchsvc.search import SearchRequest, SearchResult, search
from searchsvc.spelling import Speller


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


class ResultCache:
    """The last answers of one state of the index, by request (least recently used out)."""

    def __init__(self, size: int):
        self.size = size
        self._results: OrderedDict[SearchRequest, SearchResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, request: SearchRequest) -> SearchResult | None:
        """The cached answer to request, or None."""
        with self._lock:
            found = self._results.get(request)
            if found is not None:
                self._results.move_to_end(request)
            return found

    def put(self, request: SearchRequest, result: SearchResult) -> None:
        """Keep result as the answer to request."""
        with self._lock:
            self._results[request] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)


class _Snapshot:
    """A searcher of one state of the index, with its ranker, facets and result cache."""

    def __init__(self, gen: Path, cache_size: int):
        self.gen = gen
        self.ix = storage.open_index_at(gen)
        self.searcher = self.ix.searcher()
        self.ranker = Ranker(self.searcher)
        self.facets = FacetTable(self.searcher.reader())
        self.speller = Speller(self.searcher.reader()).preload()
        # Lives and dies with the snapshot: a changed index never serves an old answer.
        self.results = ResultCache(cache_size)

    def current(self, gen: Path | None) -> bool:
        return gen == self.gen and self.searcher.up_to_date()

    def close(self) -> None:
        self.searcher.close()
        self.ix.close()


class Engine:
    """Searches the index at index_dir, refreshing when it changes."""

    # Seconds a replaced searcher stays open for the requests still using it.
    GRACE = 30.0

    def __init__(self, index_dir: str | Path, check_interval: float = 1.0, cache_size: int = 1024):
        self.index_dir = Path(index_dir)
        self.check_interval = check_interval
        self.cache_size = cache_size
        self._snapshot: _Snapshot | None = None
        self._retired: list[tuple[float, _Snapshot]] = []
        self._checked = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every searcher this engine opened."""
        with self._lock:
            for _, snap in self._retired:
                snap.close()
            if self._snapshot is not None:
                self._snapshot.close()
            self._snapshot, self._retired = None, []

    def snapshot(self) -> _Snapshot:
        """The current searcher and facets, reopened if the index changed."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.check_interval:
            return snap
        with self._lock:
            gen = storage.current_generation(self.index_dir)
            if gen is None:
                raise storage.IndexNotFoundError(f"No index at {self.index_dir}")
            if self._snapshot is None or not self._snapshot.current(gen):
                if self._snapshot is not None:
                    self._retired.append((time.monotonic(), self._snapshot))
                self._snapshot = _Snapshot(gen, self.cache_size)
            self._close_retired()
            self._checked = time.monotonic()
            return self._snapshot

    def _close_retired(self) -> None:
        now = time.monotonic()
        keep = []
        for since, snap in self._retired:
            if now - since > self.GRACE:
                snap.close()
            else:
                keep.append((since, snap))
        self._retired = keep

    def search(self, request: SearchRequest, deadline: Deadline | None = None) -> SearchResult:
        """Run a search on the current state of the index (or answer it from the cache).

        Past `deadline` (None: no deadline) it raises DeadlineExceededError. An answer
        that finished after its deadline is returned but not cached: the cache keeps only
        answers computed within their deadline.
        """
        started = time.perf_counter()
        deadline = deadline or NEVER
        snap = self.snapshot()
        cached = snap.results.get(request)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        result = search(
            snap.searcher,
            snap.ranker,
            snap.facets,
            request,
            deadline=deadline,
            speller=snap.speller,
        )
        if not deadline.expired():
            snap.results.put(request, result)
        return result

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        stored = self.snapshot().searcher.document(id=doc_id)
        if stored is None:
            return None
        fields = {k: stored.get(k, "") for k in ("title", "body", "source", "place", "url")}
        return Document(
            id=stored["id"],
            date=stored.get("date"),
            category=stored.get("category", ""),
            path=stored.get("path", ""),
            hash=stored.get("hash", ""),
            **fields,
        )

    def stats(self) -> IndexStats:
        """Document count, date range, per-year counts, size and age of the index."""
        snap = self.snapshot()
        facets = snap.facets
        years = Counter(facets.values["year"][n] for n in facets.live)
        undated = years.pop("", 0)
        first, last = facets.date_range()
        files = [p for p in snap.gen.iterdir() if p.is_file()]
        toc = max((p.stat().st_mtime for p in files if p.suffix == ".toc"), default=0.0)
        return IndexStats(
            documents=len(facets.live),
            undated=undated,
            first_date=first,
            last_date=last,
            per_year=dict(sorted(years.items())),
            size_bytes=sum(p.stat().st_size for p in files),
            updated_at=datetime.fromtimestamp(toc or os.path.getmtime(snap.gen)),
            path=str(snap.gen),
        )
