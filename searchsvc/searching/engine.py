"""An open index: a reused searcher that follows the index as it changes.

Opening a searcher and reading the facet columns costs far more than a query, so an Engine
keeps one of each and reuses it. At most every ``check_interval`` seconds it looks whether
the live generation was swapped (a rebuild) or committed to (an incremental run), and
if so opens a new searcher beside the old one. The old one is closed only after a grace
period, because a request in flight may still be using it. A searcher reads its files
through threadsafe_storage (a read position per thread), so a process's request threads
share one.

A new state is swapped in only once it is trusted:

    verify its files against their checksums --> open a searcher and the facets
    --> answer a probe (a one-hit listing, through search()) --> serve it

If any step fails, the last good snapshot keeps serving, the error becomes the engine's
warning (``freshness()``), and the same state is tried again only after ``retry_interval``
seconds. With no good snapshot yet, an intact earlier generation is served instead (with
a warning); with none, IndexDamagedError says which file is damaged and what to do.

Opening costs far more than a query on a large index (verifying the checksums, reading the
facet columns, grouping the near-duplicates: 10 to 20 s at 10x the White House corpus), so
it runs in a thread of its own, one at a time, and a request never pays it inside its
deadline:

    a request finds the index changed --> the opening thread starts (or is already running)
    --> it waits at most REFRESH_WAIT seconds (its deadline permitting) and is answered
        from the new state if it opened by then, else from the state it had
    nothing opened yet --> it waits until its deadline; past it, BackendUnavailableError
        ("still being opened", a 503 with Retry-After) rather than "the search took too long"

A caller without a deadline waits for the opening, as if it ran in its own thread. A server
starts the first opening as a worker boots (``prepare``), before any request comes.

Verifying hashes only the small files and those whose stamp moved (integrity.py): a large
file whose stamp still matches was hashed by the writer and not written since. Once the
state is served, the same thread hashes those files in full, at the lowest priority; damage
found then retires the state as a failed opening would have (an intact earlier generation
with a warning, or IndexDamagedError for every request):

    open: small files hashed, large ones by stamp --> serve --> confirm: hash the large ones
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from searchsvc import indexing
from searchsvc.caching import LruCache
from searchsvc.dates import is_relative, today_in
from searchsvc.deadline import NEVER, Deadline
from searchsvc.entities import Recognizer
from searchsvc.reading import Document, shown_title
from searchsvc.schema import stored_values
from searchsvc.scoring import Ranker
from searchsvc.searching import export as export_module
from searchsvc.searching import search as search_module
from searchsvc.searching.backend import (
    Backend,
    BackendUnavailableError,
    Freshness,
    IndexStats,
    Verification,
)
from searchsvc.searching.duplicates import Copy, DuplicateTable
from searchsvc.searching.facets import FacetTable
from searchsvc.searching.search import (
    FacetValues,
    SearchRequest,
    SearchResult,
    facet_values,
    highlight_terms,
    search,
)
from searchsvc.searching.similar import COUNT, MoreLikeThis, SimilarResult
from searchsvc.searching.spelling import Speller
from searchsvc.searching.transliteration import Transliterations
from searchsvc.searching.variants import BUILTIN, VariantTable
from searchsvc.snippets import QueryTerms


class _Snapshot:
    """A searcher of one state of the index, with its ranker, facets and result cache."""

    # Documents up to which the speller's words are read before the first request.
    PRELOAD_NOW = 50_000

    def __init__(self, gen: Path, cache_size: int):
        self.gen = gen
        self.ix = indexing.open_for_search(gen)
        self.searcher: Any = None  # a Whoosh searcher, once opened
        # Files verified by their stamps only, still to hash in full (Engine._confirm).
        self.unconfirmed: list[str] = []
        try:
            self.searcher = self.ix.searcher()
            indexing.inflate_stored_fields_by_isal(self.searcher.reader())
            self.toc = _toc_identity(gen, self.toc_generation())
            self.size = self.searcher.reader().doc_count_all()
            self.ranker = Ranker(self.searcher)
            # The openings proximity and feedback read (a segment without its file: stored text).
            self.forward = indexing.forward_index(gen, self.searcher.reader())
            self.facets = FacetTable(self.searcher.reader())
            self.duplicates = DuplicateTable(
                self.searcher.reader(), self.facets.live_mask, self.facets.date_keys
            )
            # Its words, from the posting files' vocabularies: 0.12 s at 1x the White House
            # corpus (0.6 s from Whoosh's terms file), read now. Past PRELOAD_NOW documents
            # (0.3 s at 10x; 5.5 s from Whoosh's) a first letter at a time, as a word to
            # correct or a name to respell needs them (6.5 ms a letter at 10x; 160 ms from
            # Whoosh's, 8% of a new 10x worker's time under load). A thread reading them all
            # behind the first requests held the GIL they wanted between their reads: a
            # one-hit probe took 1.9 s beside it, 10 ms without.
            self.speller = Speller(self.searcher.reader(), files=self.ranker.postings.files)
            if self.size <= self.PRELOAD_NOW:
                self.speller.preload()
            self.transliterations = Transliterations(self.speller)  # built as asked
            # Cheap to make: it looks up each word's document frequency once, when needed.
            self.more_like = MoreLikeThis(self.searcher, self.ranker, self.facets, self.duplicates)
        except BaseException:
            self.close()
            raise
        # Lives and dies with the snapshot: a changed index never serves an old answer.
        # Keyed by the request, the day a relative date counts from (else None), and the
        # version of the name variants (an edited list gives new answers).
        self.results: LruCache[tuple[SearchRequest, date | None, int], SearchResult] = LruCache(
            cache_size
        )
        self.similar: LruCache[tuple[str, int], SimilarResult] = LruCache(cache_size)
        # Exports still reading rows from it: a retired snapshot stays open while any is.
        self._readers = 0
        self._readers_lock = threading.Lock()

    def hold(self) -> None:
        with self._readers_lock:
            self._readers += 1

    def release(self) -> None:
        with self._readers_lock:
            self._readers -= 1

    @property
    def busy(self) -> bool:
        return self._readers > 0

    @property
    def written(self) -> float:
        """When the table of contents it opened was written (even if since removed)."""
        return self.toc[1] / 1e9 if self.toc else 0.0

    def current(self, gen: Path | None) -> bool:
        # The same table of contents file, not just the same numbers: an index removed and
        # built again at the same path starts again at gen-000001 and _MAIN_1.toc.
        return (
            gen == self.gen
            and self.searcher.up_to_date()
            and _toc_identity(gen, self.toc_generation()) == self.toc
        )

    def toc_generation(self) -> int | None:
        return self.searcher.reader().generation()

    def probe(self) -> None:
        """Answer a one-hit listing through search(), as a request would; raise if it fails."""
        # Through the module, not this one's name for it: tests count the requests it serves.
        search_module.search(
            self.searcher,
            self.ranker,
            self.facets,
            SearchRequest(size=1),
            duplicates=self.duplicates,
        )

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
        self.ix.close()
        self.ix.storage.close()  # unmaps the files: after the searcher, never before


_ANY = object()  # Engine._swap: whatever state is served


def _serving_earlier(error: Exception, earlier: _Snapshot) -> str:
    return f"{error}. Meanwhile serving the earlier {_state(earlier)}."


def _idle_priority() -> None:
    """Run the calling thread at the lowest priority (Linux: a thread has its own nice)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class _Opening:
    """A state of the index being opened by a thread: which, since when, and how it ended."""

    def __init__(self, state: tuple):
        self.state = state
        self.started = time.monotonic()
        self.done = threading.Event()
        self.error: BaseException | None = None  # what it raised, if it opened nothing


class Engine:
    """Searches the index at index_dir, refreshing when it changes."""

    # Seconds a replaced searcher stays open for the requests still using it (and longer
    # while an export reads rows from it).
    GRACE = 30.0
    # Seconds a request with a deadline waits for a newer state being opened before it is
    # answered from the state it has (one without a deadline waits for it).
    REFRESH_WAIT = 1.0
    # The full hash of files opened on trust (_confirm) sleeps this many times as long as
    # each chunk took: at most a quarter of the disk's time. At full speed, a fresh engine
    # on the 10x index, its files not in the page cache, read 4.5 GB while its first 300
    # queries ran: their p95 220 ms, against 114 ms with no check and 120-131 ms paced so
    # (bench/README.md, "The check after an open, paced").
    CONFIRM_REST = 3.0

    def __init__(
        self,
        index_dir: str | Path,
        check_interval: float = 1.0,
        cache_size: int = 1024,
        retry_interval: float = 5.0,
        variants: Sequence[str | Path] = (BUILTIN,),
    ):
        self.index_dir = Path(index_dir)
        # Name variants: files read again when they change, no reindex (variants.py).
        self.variants = VariantTable(variants, check_interval)
        self.check_interval = check_interval
        self.cache_size = cache_size
        self.retry_interval = retry_interval
        self._snapshot: _Snapshot | None = None
        self._retired: list[tuple[float, _Snapshot]] = []
        self._checked = 0.0
        self._lock = threading.Lock()
        self._warning: str | None = None
        # The state that failed to open, and when it may be tried again.
        self._failed: tuple | None = None
        self._retry_at = 0.0
        self._error: indexing.IndexDamagedError | None = None
        self._opening: _Opening | None = None  # the last opening started (done or not)
        self._closed = False

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every searcher this engine opened."""
        with self._lock:
            self._closed = True  # an opening still running closes what it opens
            for _, snap in self._retired:
                snap.close()
            if self._snapshot is not None:
                self._snapshot.close()
            self._snapshot, self._retired = None, []

    def prepare(self) -> None:
        """Start opening the index in a thread now, so that a first request finds it open.

        Nothing to do if it is open, missing (a request will say so) or being opened.
        """
        with self._lock:
            if self._snapshot is None and not self._closed:
                with contextlib.suppress(indexing.IndexNotFoundError, indexing.IndexDamagedError):
                    self._refresh()

    def snapshot(self, deadline: Deadline | None = None) -> _Snapshot:
        """The current searcher and facets, reopened if the index changed and the change opens.

        A newer state is opened by a thread (see the module's docstring): with a deadline,
        a request waits for it at most REFRESH_WAIT seconds, and for a first state as many
        seconds as its deadline gives. Raises IndexNotFoundError if there is no index,
        IndexDamagedError if neither the live generation nor an earlier one can be verified
        and opened, and BackendUnavailableError if the first state is still being opened at
        the deadline.
        """
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.check_interval:
            return snap
        # While one request looks for a change, the others keep the snapshot they have.
        if snap is not None and not self._lock.acquire(blocking=False):
            return snap
        if snap is None:
            self._lock.acquire()  # held only to look for a change, never while opening
        try:
            opening = None
            if self._snapshot is None or time.monotonic() - self._checked >= self.check_interval:
                opening = self._refresh()
                self._close_retired()
                self._checked = time.monotonic()
        finally:
            self._lock.release()
        if opening is not None:
            self._await(opening, deadline or NEVER)
        snap = self._snapshot
        if snap is None:  # closed meanwhile, or nothing opened yet: the thread's error
            if opening is not None and opening.error is not None:
                raise opening.error
            raise indexing.IndexNotFoundError(f"No index open at {self.index_dir}")
        return snap

    def _await(self, opening: _Opening, deadline: Deadline) -> None:
        """Wait for an opening as long as the request may (see snapshot): its deadline's
        seconds, from now (they have hardly begun), at most REFRESH_WAIT if it has a state."""
        wait = deadline.seconds
        if self._snapshot is not None:
            wait = min(wait or self.REFRESH_WAIT, self.REFRESH_WAIT)
        opening.done.wait(wait)
        if self._snapshot is None and not opening.done.is_set():
            since = time.monotonic() - opening.started
            raise BackendUnavailableError(
                f"The index at {self.index_dir} is still being opened ({since:.0f} s so far); "
                "try again in a few seconds."
            )

    def _refresh(self) -> _Opening | None:
        """Under the lock: look for a change; the opening that brings it in, if any."""
        gen = indexing.current_generation(self.index_dir)
        snap = self._snapshot
        if gen is None:
            if snap is None:
                raise indexing.not_found_error(self.index_dir)
            self._warning = f"No index at {self.index_dir} any more; serving {_state(snap)}."
            return None
        if snap is not None and snap.current(gen):
            self._warning = None
            return None
        opening = self._opening
        if opening is not None and not opening.done.is_set():
            return opening  # one at a time; a state newer than it opens after it
        state = (gen, indexing.latest_toc(gen))
        if state == self._failed and time.monotonic() < self._retry_at:
            if snap is None and self._error is not None:  # nothing to serve: the same error
                raise self._error
            return None  # it failed a moment ago: no retry on every request
        self._opening = opening = _Opening(state)
        thread = threading.Thread(
            target=self._open_in_thread, args=(opening, gen), name="searchsvc-open", daemon=True
        )
        thread.start()
        return opening

    def _open_in_thread(self, opening: _Opening, gen: Path) -> None:
        """Open gen and swap it in; if it is damaged, keep (or fall back to) an intact state.
        Then, the requests waiting for it answered, confirm what was trusted by stamp."""
        try:
            self._open_and_swap(opening, gen)
        finally:
            opening.done.set()
        self._confirm(opening)

    def _open_and_swap(self, opening: _Opening, gen: Path) -> None:
        try:
            try:
                fresh = self._open(gen)
            except indexing.IndexDamagedError as exc:
                with self._lock:
                    self._failing(opening, exc)
                    snap = self._snapshot
                    if snap is not None:
                        last = _state(snap)
                        self._warning = f"{exc}. Meanwhile serving the last good state, {last}."
                        return
                earlier = self._fall_back(exc)  # raises exc if no earlier state opens
                self._swap(earlier, _serving_earlier(exc, earlier))
                return
            self._swap(fresh, None)
        except BaseException as exc:  # noqa: BLE001 - handed to the requests waiting for it
            opening.error = exc

    def _confirm(self, opening: _Opening) -> None:
        """Hash in full, at the lowest priority and paced (CONFIRM_REST), the files the served
        state was trusted with by their stamps; if one is damaged, retire that state as a
        failed opening would."""
        _idle_priority()
        while (snap := self._snapshot) is not None and snap.unconfirmed and not self._closed:
            names, snap.unconfirmed = snap.unconfirmed, []
            verdict = indexing.verify_trusted(
                snap.gen,
                names,
                stop=lambda snap=snap: self._closed or self._snapshot is not snap,
                rest=self.CONFIRM_REST,
            )
            if verdict.ok:
                continue
            error = indexing.damaged_error(verdict)
            with self._lock:
                if self._snapshot is not snap:
                    return
                self._failing(opening, error)
            try:
                earlier = self._fall_back(error)
            except indexing.IndexDamagedError:
                self._swap(None, None, replacing=snap)
                return
            self._swap(earlier, _serving_earlier(error, earlier), replacing=snap)

    def _failing(self, opening: _Opening, error: indexing.IndexDamagedError) -> None:
        """Under the lock: the opening's state failed; not tried again for retry_interval."""
        self._failed = opening.state
        self._retry_at = time.monotonic() + self.retry_interval
        self._error = error

    def _swap(self, fresh: _Snapshot | None, warning: str | None, replacing: Any = _ANY) -> None:
        """Serve fresh (None: nothing), retiring the state served, unless the engine closed
        or (when replacing is given) the state served is no longer that one."""
        with self._lock:
            if self._closed or (replacing is not _ANY and self._snapshot is not replacing):
                if fresh is not None:
                    fresh.close()
                return
            if self._snapshot is not None:
                self._retired.append((time.monotonic(), self._snapshot))
            self._snapshot, self._warning = fresh, warning
            if fresh is not None and warning is None:
                self._failed = None

    def _open(self, gen: Path) -> _Snapshot:
        """Verify, open and probe a generation; IndexDamagedError if any step fails."""
        try:
            snap = self._open_verified(gen)
            try:
                snap.probe()
            except BaseException:
                snap.close()
                raise
            return snap
        except indexing.IndexDamagedError:
            raise
        except Exception as exc:  # noqa: BLE001 - unverified damaged files raise anything
            message = f"{gen} cannot be opened ({exc!r:.160}). {indexing.REBUILD_HINT}"
            indexing.drop_half_open(exc)
            raise indexing.IndexDamagedError(message) from None

    def _open_verified(self, gen: Path) -> _Snapshot:
        """Open a generation whose files verified, with the table of contents verified."""
        for attempt in range(3):
            verdict = indexing.verify_generation(gen, trust_stamps=True)
            if not verdict.ok:
                raise indexing.damaged_error(verdict)
            snap = _Snapshot(gen, self.cache_size)
            snap.unconfirmed = list(verdict.trusted)
            opened = snap.toc_generation()
            if opened is None or verdict.toc == indexing.toc_name(opened) or attempt == 2:
                return snap
            snap.close()  # a commit came between verifying and opening: verify that one
        raise AssertionError("unreachable")

    def _fall_back(self, error: indexing.IndexDamagedError) -> _Snapshot:
        """The newest intact earlier generation (never the seeds), or raise error."""
        for gen in indexing.earlier_generations(self.index_dir):
            try:
                return self._open(gen)
            except indexing.IndexDamagedError:
                continue
        raise error

    def _close_retired(self) -> None:
        now = time.monotonic()
        keep = []
        for since, snap in self._retired:
            if now - since > self.GRACE and not snap.busy:
                snap.close()
            else:
                keep.append((since, snap))
        self._retired = keep

    def search(
        self, request: SearchRequest, deadline: Deadline | None = None, today: date | None = None
    ) -> SearchResult:
        """Run a search on the current state of the index (or answer it from the cache).

        Past `deadline` (None: no deadline) it raises DeadlineExceededError. An answer
        that finished after its deadline is returned but not cached: the cache keeps only
        answers computed within their deadline. Relative dates count from `today` (None:
        today in UTC); an answer that depends on the day is cached for that day only.
        """
        started = time.perf_counter()
        deadline = deadline or NEVER
        snap = self.snapshot(deadline)
        today = today or today_in()
        moving = any(is_relative(d) for d in (request.date_from, request.date_to) if d)
        variants = self.variants.current()
        key = (request, today if moving else None, variants.version)
        cached = snap.results.get(key)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        result = search(
            snap.searcher,
            snap.ranker,
            snap.facets,
            request,
            deadline=deadline,
            speller=snap.speller,
            today=today,
            variants=variants,
            transliterations=snap.transliterations,
            duplicates=snap.duplicates,
            forward=snap.forward,
        )
        if not deadline.expired():
            snap.results.put(key, result)
        return result

    def export(
        self,
        request: SearchRequest,
        *,
        limit: int,
        deadline: Deadline | None = None,
        today: date | None = None,
    ) -> export_module.Export:
        """Every match of request (paging aside), up to limit, in its order (never cached).

        Past `deadline` while matching and sorting, DeadlineExceededError; the rows are read
        afterwards, one stored document at a time, from the same state of the index, which
        stays open (even if replaced) until they are exhausted or closed.
        """
        snap = self.snapshot(deadline)
        snap.hold()
        try:
            return export_module.export(
                snap.searcher,
                snap.ranker,
                snap.facets,
                request,
                limit=limit,
                deadline=deadline,
                speller=snap.speller,
                release=snap.release,
                today=today,
                variants=self.variants.current(),
                forward=snap.forward,
            )
        except BaseException:
            snap.release()
            raise

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
        """The values of one facet among request's matches (see search.facet_values)."""
        snap = self.snapshot(deadline)
        return facet_values(
            snap.searcher,
            snap.ranker,
            snap.facets,
            request,
            name,
            contains=contains,
            limit=limit,
            deadline=deadline,
            speller=snap.speller,
            today=today or today_in(),
            variants=self.variants.current(),
        )

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
    ) -> indexing.IndexReport:
        """Bring the index up to date with the files under paths (see indexing.index_paths)."""
        return indexing.index_paths(
            self.index_dir,
            paths,
            rebuild=rebuild,
            procs=procs,
            wait=wait,
            progress=progress,
            allow_delete=allow_delete,
            recognizer=Recognizer(people_file or None, organisations_file or None),
            hold_deletes=hold_deletes,
        )

    def exists(self) -> bool:
        """Whether the index directory has a live generation."""
        return indexing.current_generation(self.index_dir) is not None

    def freshness(self) -> Freshness:
        """The generation and commit served, when written, and a warning if not the live one."""
        snap = self.snapshot()
        commit = snap.toc_generation()
        toc = snap.gen / indexing.toc_name(commit) if commit is not None else snap.gen
        try:
            written = toc.stat().st_mtime
        except FileNotFoundError:  # a commit since removed it, or the index was removed
            written = snap.written
        return Freshness(
            generation=snap.gen.name,
            commit=commit,
            updated_at=datetime.fromtimestamp(written),
            warning=self._warning,
        )

    def verify(self) -> Verification:
        """Check every file of the live generation against its checksums, then open it."""
        gen = indexing.current_generation(self.index_dir)
        if gen is None:
            raise indexing.not_found_error(self.index_dir)
        verdict = indexing.verify_generation(gen)
        problems = [f"{gen / d.name}: {d.reason}" for d in verdict.damaged]
        if not problems:  # the checksums agree: does it open and answer, as a server would?
            warning = self.freshness().warning
            if warning:
                problems.append(warning)
        return Verification(
            path=str(gen),
            files=verdict.files,
            bytes=verdict.bytes,
            seconds=verdict.seconds,
            unverified=list(verdict.unverified),
            problems=problems,
        )

    def query_terms(self, text: str) -> QueryTerms:
        """What a query looks for, to mark its words in a document; nothing if it is bad."""
        return highlight_terms(self.snapshot().searcher, text, self.variants.current())

    def similar(
        self, doc_id: str, *, count: int = COUNT, deadline: Deadline | None = None
    ) -> SimilarResult | None:
        """Up to count releases most like doc_id, best first, without it and its copies.

        None if no document has this id. Past `deadline` (None: no deadline) it raises
        DeadlineExceededError; as with searches, only answers within it are cached.
        """
        deadline = deadline or NEVER
        snap = self.snapshot(deadline)
        started = time.perf_counter()
        cached = snap.similar.get((doc_id, count))
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        result = snap.more_like.similar(doc_id, count=count, deadline=deadline)
        if result is not None and not deadline.expired():
            snap.similar.put((doc_id, count), result)
        return result

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        stored = self.snapshot().searcher.document(id=doc_id)
        if stored is None:
            return None
        fields = {k: stored.get(k, "") for k in ("title", "body", "source", "place", "url")}
        fields["title"] = shown_title(fields["title"], fields["body"])
        return Document(
            id=stored["id"],
            date=stored.get("date"),
            category=stored_values(stored, "category"),
            country=stored_values(stored, "country"),
            person=stored_values(stored, "person"),
            organisation=stored_values(stored, "organisation"),
            path=stored.get("path", ""),
            hash=stored.get("hash", ""),
            **fields,
        )

    def duplicates(self, doc_id: str) -> list[Copy]:
        """The other releases of the document's group of near-duplicates, oldest first
        ([] if it has none, or there is no such document)."""
        snap = self.snapshot()
        docnum = snap.searcher.document_number(id=doc_id)
        if docnum is None:
            return []
        stored = snap.searcher.stored_fields
        return list(search_module.copies(stored, snap.duplicates, docnum))

    def stats(self) -> IndexStats:
        """Document count, date range, per-year counts, size and age of the index."""
        snap = self.snapshot()
        facets = snap.facets
        years = Counter(facets.values["year"][n] for n in facets.live)
        undated = years.pop("", 0)
        first, last = facets.date_range()
        size, toc = _files_of(snap.gen)
        return IndexStats(
            documents=len(facets.live),
            undated=undated,
            first_date=first,
            last_date=last,
            per_year=dict(sorted(years.items())),
            size_bytes=size,
            updated_at=datetime.fromtimestamp(toc or snap.written),
            path=str(snap.gen),
        )


def _toc_identity(gen: Path, number: int | None) -> tuple[int, int] | None:
    """The inode and modification time of a generation's table of contents (None if gone)."""
    try:
        st = (gen / indexing.toc_name(number if number is not None else 0)).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _files_of(gen: Path) -> tuple[int, float]:
    """The size of a generation's files, and the mtime of its newest table of contents.

    A commit (a watched folder makes one every few seconds) removes merged segments and
    old tables of contents: a file listed a moment ago may be gone when it is stat()ed.
    """
    size, toc = 0, 0.0
    try:
        paths = list(gen.iterdir())
    except FileNotFoundError:  # the index folder removed under a running server
        return size, toc
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            size += st.st_size
            if path.suffix == ".toc":
                toc = max(toc, st.st_mtime)
    return size, toc


def open_backend(
    index_dir: str | Path,
    *,
    check_interval: float = 1.0,
    cache_size: int = 1024,
    variants: Sequence[str | Path] = (BUILTIN,),
):
    """The default backend: the embedded Whoosh engine over the index at index_dir.

    `variants`: files of name spellings searched together (``builtin``: the shipped lists).
    """
    backend: Backend = Engine(
        index_dir, check_interval=check_interval, cache_size=cache_size, variants=variants
    )
    return backend


def _state(snap: _Snapshot) -> str:
    return f"{snap.gen.name} (commit {snap.toc_generation()})"
