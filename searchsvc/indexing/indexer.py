"""Building and updating the index from source files.

One run, under the index directory's writer lock:

    discover files --stat against the manifest--> unchanged files are not read at all
    every file claims its ids (claims) --> one owner per id: the first path wins
    ids whose file vanished from an indexed folder --> deletions, weighed (deletions)
    changed files --read (in several processes when many)--> Documents
    compare each Document's hash with the index --> add / update / unchanged
    each Document written --derived--> its countries, people and organisations
    the entity lists changed since the last run --derived--> every document re-derived
    one Whoosh commit, then the manifest; a rebuild swaps its new generation in last

The index's state (id, hash and path of each document) is read from its columns alone;
a run with nothing to read or delete opens no Whoosh reader or writer at all. The live
index's large files are trusted at the open when their stamps match (storage.open_for_update)
and hashed in full only once the run knows it will write.

A file or folder that fails to read is skipped and reported, and whatever the index
already holds from it stays: bad input never deletes good data. A run that would delete
a large part of the index stops before writing anything (DeleteRefusedError) unless
allow_delete. A run that fails for any reason cancels its writer: the index and its
manifest stay exactly as they were.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import TimeoutError as PoolTimeout
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from searchsvc.entities import Recognizer
from searchsvc.indexing import bulk, derived, storage, writing
from searchsvc.indexing.bookkeeping import Existing, IndexReport, Run, read_and_add
from searchsvc.indexing.deletions import MAX_DELETE_SHARE, DeleteGuard, DeleteRefusedError
from searchsvc.reading import Document, SourceFile, discover
from searchsvc.schema import schema_changes

# Below this many files to read, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400

# Runs that read PARALLEL_THRESHOLD files or more write their new documents with the bulk
# segment writer (bulk.py); False writes them through Whoosh's SegmentWriter, as before
# (for measuring the two in one run: bench/build.py). Smaller runs always use the latter.
BULK = True

WHOOSH_LOCK_TIMEOUT = 5.0

Progress = Callable[[int, int], None]


# Seconds a file modified just before a run must keep its size and mtime to be read: as
# the watcher's settle check, but one wait per run, and only when such a file is found.
SETTLE = 1.0


def index_paths(
    index_dir: str | Path,
    paths: Sequence[str | Path],
    *,
    rebuild: bool = False,
    procs: int | None = None,
    wait: float = 0.0,
    progress: Progress | None = None,
    allow_delete: bool = False,
    max_delete_share: float = MAX_DELETE_SHARE,
    recognizer: Recognizer | None = None,
    settle: float | None = None,
    hold_deletes: bool = False,
) -> IndexReport:
    """Bring the index at index_dir up to date with the files under paths.

    A file modified in the last settle seconds (None: SETTLE) may still be being written
    (a cron job copying it in): the run looks at it again once, and leaves it for the next
    run if it changed (see Run.set_aside_unsettled).

    recognizer (by default, the lists shipped in searchsvc/data) finds each document's
    countries, people and organisations; when its fingerprint differs from the one the
    index was written with, every document's are re-derived from its stored text.

    Raises deletions.DeleteRefusedError, writing nothing, if the run would delete more than
    max_delete_share of the index or empty a folder (see deletions), unless allow_delete.
    With hold_deletes (an update, not a rebuild), the run writes the rest instead and keeps
    those documents; the report's held and held_because say so.
    """
    started = time.perf_counter()
    procs = procs or os.cpu_count() or 1
    guard = None if allow_delete else DeleteGuard(paths, max_delete_share)
    recognizer = recognizer or Recognizer()
    if recognizer.cache_dir is None:
        recognizer.cache_dir = Path(index_dir)  # keeps the built gazetteer beside the index
    mark = recognizer.fingerprint  # before the lock: an unreadable list changes nothing
    with storage.writer_lock(index_dir, wait=wait):
        live = storage.current_generation(index_dir)
        if live is None and not rebuild:
            _refuse_unlinked(index_dir)
        kept = _kept_generations(index_dir, live)
        storage.remove_orphans(index_dir, keep=kept)
        ix, trusted = _open_live(index_dir, live, rebuild)
        gen = live
        try:
            fresh_build = rebuild or live is None
            # A rebuild replaces the live index: its documents are what the guard weighs.
            previous = _previous(ix, rebuild) if ix else Existing()
            existing = Existing() if fresh_build else previous
            manifest = {} if fresh_build or live is None else storage.read_manifest(live)
            report = IndexReport()
            sources, report.skipped = discover(paths, leave_out=[index_dir])
            run = Run(existing, manifest, report)
            fresh, stale = run.split_by_stat(sources)
            stale = run.set_aside_unsettled(stale, SETTLE if settle is None else settle)
            run.delete_vanished(paths, seen=run.owners.keys())  # an estimate: nothing read yet
            check = _DeleteCheck(
                guard, previous.docs, [s.path for s in sources], rebuild, hold_deletes
            )
            check(run, run.owners.keys())  # before anything is written
            if fresh_build:
                gen, ix = storage.new_generation(index_dir)
            assert gen is not None  # live, or the new generation of a fresh build
            rederive = not fresh_build and storage.read_mark(gen, derived.MARK) != mark
            if stale or run.to_delete or gen != live or rederive:
                if trusted:  # hashed before anything is written (see storage.open_for_update)
                    storage.confirm_trusted(gen, trusted)
                meter = _Meter.of(progress, run, fresh, stale)
                plan = _Plan(procs, meter, len(stale))
                plan.recognizer, plan.rederive = recognizer, rederive
                _write(ix, run, paths, stale, plan, always_commit=gen != live, check=check)
            # else nothing changed: no Whoosh writer (its cancel leaves stray segment files)
            if run.new_manifest != manifest:
                storage.write_manifest(gen, run.new_manifest)
            if storage.read_mark(gen, derived.MARK) != mark:
                storage.write_mark(gen, derived.MARK, mark)
            storage.write_checksums(gen)  # after the commit: a kill before it leaves unverified
            report.total = storage.doc_count(ix)
            if rebuild:  # what the index held and the new one does not
                report.deleted = len(previous.docs.keys() - set(run.seen_ids))
            # A first run that found nothing builds no index: an empty one left behind would
            # be served, without a word, by the next `serve` (which builds only when none).
            if gen != live and (live is not None or report.total):
                storage.swap_in(index_dir, gen)
                live = gen
        except BaseException:
            if gen != live:  # a new generation, half-built and never swapped in
                storage.remove_orphans(index_dir, keep=kept)
            raise
        finally:
            if ix is not None:
                ix.close()
        if gen != live:  # the empty first build
            storage.remove_orphans(index_dir, keep=kept)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _DeleteCheck:
    """The guard, with what it weighs: the index before the run, and the files found."""

    guard: DeleteGuard | None
    previous: dict[str, tuple[str, str]]
    found: list[str]
    rebuild: bool
    hold: bool = False  # a refusal keeps the documents instead (not for a rebuild)

    def __call__(self, run: Run, seen: Iterable[str]) -> None:
        """Raise DeleteRefusedError if the run's deletions need confirmation."""
        if self.guard is None:
            return
        # A rebuild keeps only what it writes.
        seen = set(seen)
        doomed = self.previous.keys() - seen if self.rebuild else run.to_delete
        if self.rebuild:  # an update keeps what it could not read; a rebuild would drop it
            self.guard.check_unread(self.previous, doomed, run.report.skipped)
        try:
            self.guard.check(self.previous, doomed, self.found, gives=len(seen))
        except DeleteRefusedError as exc:
            if not self.hold or self.rebuild:
                raise
            run.hold_deletions(str(exc))


class _Meter:
    """Progress in bytes: of the files unchanged by stat (done at once) and those read."""

    def __init__(self, progress: Progress | None, done: int, total: int) -> None:
        self.progress, self.done, self.total = progress, done, max(total, 1)
        self.shown = -1
        self.step = max(self.total // 500, 1)  # redraw at most 500 times

    @classmethod
    def of(cls, progress: Progress | None, run: Run, fresh: list, stale: list) -> _Meter:
        """A meter over a run's files: the fresh ones' sizes from the manifest."""
        done = sum(run.new_manifest[src.path][1] for src in fresh)
        return cls(progress, done, done + sum(_size(src.path) for src in stale))

    def advance(self, n: int) -> None:
        """n more bytes read."""
        self.show(self.done + n)

    def show(self, done: int) -> None:
        """Tell the progress callback, if there is one and the bar would move."""
        self.done = done
        if self.progress is not None and (done - self.shown >= self.step or done >= self.total):
            self.shown = done
            self.progress(min(done, self.total), self.total)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


@dataclass
class _Plan:
    """How to read the stale sources: in how many processes, and whom to tell."""

    procs: int
    meter: _Meter
    stale: int  # sources to read
    recognizer: Recognizer = field(default_factory=Recognizer)
    rederive: bool = False  # the entity lists changed: re-derive every document's entities

    @property
    def few(self) -> bool:
        """Whether so few files are to be read that worker processes cost more than they save."""
        return self.stale < PARALLEL_THRESHOLD

    @property
    def parallel(self) -> bool:
        """Whether to read the stale sources in worker processes."""
        return self.procs > 1 and not self.few


def _write(
    ix,
    run: Run,
    paths: Sequence[str | Path],
    stale: list,
    plan: _Plan,
    always_commit: bool,
    check: Callable[[Run, Iterable[str]], None],
) -> None:
    """Read the stale sources, add and delete documents, and commit if anything changed."""
    codec = writing.SMALL_SEGMENT_CODEC if plan.few else None
    writer = _LazyWriter(ix, codec)
    try:
        segments = _build(writer, ix, run, stale, plan)
        run.delete_vanished(paths, seen=run.seen_ids)
        check(run, run.seen_ids)  # what was read may differ from what was claimed
        rederived = _rederive(writer, ix, run, plan) if plan.rederive else []
        changed = always_commit or segments or run.to_delete or run.to_replace or rederived
        if changed or writer.added:
            for doc_id_ in run.to_delete + run.to_replace + rederived:
                writer.get().delete_by_term("id", doc_id_)
    except BaseException:
        writer.cancel()
        writing.remove_unreferenced(ix)  # the workers' segments, a half-written one
        raise
    if changed or writer.added:
        try:
            writing.commit(writer.get(), segments)
        except BaseException:  # a full disk, say: the last table of contents stays live
            writing.abandon(writer.get())
            writing.remove_unreferenced(ix)
            raise
    elif writer.writer is None:  # the workers' temporary folder, which a writer's end removes
        shutil.rmtree(Path(ix.storage.folder) / f"{ix.indexname}.tmp", ignore_errors=True)
    else:
        writer.cancel()  # nothing changed: no new generation for searchers to reopen


class _LazyWriter:
    """A Whoosh writer opened when first needed: a run that only finds collisions or bad
    files opens none (a cancelled writer leaves stray segment files)."""

    def __init__(self, ix, codec) -> None:
        self.ix, self.codec = ix, codec
        self.writer = None

    def get(self):
        """The writer, opened now if it was not yet."""
        if self.writer is None:
            # Whoosh's own lock may still be held for a moment by the workers of a killed run.
            self.writer = writing.open_writer(self.ix, self.codec, WHOOSH_LOCK_TIMEOUT)
        return self.writer

    @property
    def added(self) -> bool:
        """Whether documents were added to it."""
        return self.writer is not None and writing.has_added(self.writer)

    def cancel(self) -> None:
        """Cancel the writer if one was opened, and remove its unfinished segment's files."""
        if self.writer is None:
            return
        self.writer.cancel()
        writing.remove_segment_files(self.ix, self.writer.newsegment)


class SchemaChangedError(storage.IndexDamagedError):
    """An update of an index written with other fields (facets declared since): rebuild it."""


def _added(names: list[str]) -> set[str]:
    return {f"new field {name}" for name in names}  # as schema_changes says it


def _open_live(index_dir, live: Path | None, rebuild: bool) -> tuple[Any, list[str]]:
    """The live generation to update, or to weigh a rebuild against (None if there is none),
    and the files its open trusted by their stamps (hashed before the run writes).

    An update refuses a damaged generation (open_index says what to do: --rebuild). A
    rebuild is that remedy, so it goes ahead, weighing against whatever can still be read.
    """
    if live is None:
        return None, []
    if not rebuild:
        ix, trusted = storage.open_for_update(index_dir)
        # Entity fields come from the stored text (derived), so an index without them gets
        # them added, and filled by the re-derivation; any other new field needs --rebuild.
        missing = [name for name in derived.FIELDS if name not in ix.schema]
        changes = [c for c in schema_changes(ix.schema) if c not in _added(missing)]
        if changes:
            ix.close()
            raise SchemaChangedError(
                f"The index at {index_dir} was built with other fields ({'; '.join(changes)}): "
                f"its releases need reading again. Run: searchsvc index PATH --rebuild"
            )
        if missing:
            try:  # a write (a new table of contents): hash first what the open trusted
                storage.confirm_trusted(live, trusted)
            except storage.IndexDamagedError:
                ix.close()
                raise
            writing.add_fields(ix, missing)
            storage.write_mark(live, derived.MARK, "")  # whatever it says, derive them all
            trusted = []
        return ix, trusted
    try:
        return storage.open_index_at(live), []
    except Exception as exc:  # noqa: BLE001 - damaged beyond opening: nothing left to weigh
        storage.drop_half_open(exc)
        return None, []


def _previous(ix, rebuild: bool) -> Existing:
    try:
        return Existing.load(ix)
    except Exception as exc:  # noqa: BLE001 - a damaged column: weigh what can be read
        if not rebuild:
            raise
        storage.drop_half_open(exc)
        return Existing()


def _refuse_unlinked(index_dir: str | Path) -> None:
    """Raise IndexDamagedError if index_dir holds committed generations but none is live:
    a run would take it for no index, build one from paths and remove them all."""
    committed = storage.committed_generations(index_dir)
    if committed:
        newest, link = committed[0].name, Path(index_dir) / storage.CURRENT
        raise storage.IndexDamagedError(
            f"{index_dir} holds a committed index ({newest}) but no live one: its "
            f"'{storage.CURRENT}' link is missing or points nowhere. Nothing was written. "
            f"Run: ln -sfn {newest} {link} && searchsvc check --index-dir {index_dir} "
            "(or searchsvc index PATH --rebuild to build it anew)"
        )


def _kept_generations(index_dir, live: Path | None) -> set[str | None]:
    # The live generation, and the one before it (a server may still be reading it).
    if live is None:
        return set()
    older = sorted(p.name for p in Path(index_dir).glob("gen-*") if p.name < live.name)
    return {live.name, older[-1] if older else None}


def _rederive(writer, ix, run: Run, plan: _Plan) -> list[str]:
    """Add each document whose entities the lists now see otherwise; return their ids."""
    skip = set(run.to_delete) | set(run.to_replace)  # gone, or written anew from source
    ids = []
    for doc in derived.outdated(ix, plan.recognizer, skip):
        writing.add_document(writer.get(), doc)
        ids.append(doc.id)
    run.report.rederived = len(ids)
    return ids


def _build(writer, ix, run: Run, stale, plan: _Plan) -> list:
    """Read stale sources and write their new documents; return segments built elsewhere."""
    if plan.parallel:
        return _build_parallel(ix, run, stale, plan)
    segment_writer = None if plan.few else _segment_writer(ix)
    if segment_writer is not None:
        writer = segment_writer  # many files in one process: a segment of their own
    add = _adder(writer, plan.recognizer)
    try:
        for src in stale:
            run.record(read_and_add(src, run.existing, run.owners, add, plan.meter.advance))
    except BaseException:
        if segment_writer is not None:
            segment_writer.cancel()
        raise
    return [] if segment_writer is None else segment_writer.finish()


def _segment_writer(ix):
    """The bulk writer of a new segment, if it can write this index's schema."""
    if BULK and bulk.supports(ix.schema):
        return bulk.BulkSegmentWriter(ix)
    return None


def _adder(writer, recognizer: Recognizer):
    """add(doc) for a Whoosh writer, or a _LazyWriter (opened by the first document)."""

    def add(doc: Document) -> None:
        target = writer.get() if isinstance(writer, _LazyWriter) else writer
        writing.add_document(target, derived.with_entities(doc, recognizer))

    return add


# -- several processes --------------------------------------------------------------------
#
# Each worker reads its share of the files and writes the new documents into a segment of
# its own, in the same index directory; the parent adds the finished segments to its
# commit. This is what Whoosh's MpWriter does with multisegment=True. We do it ourselves
# because MpWriter's workers block forever on their queue if the indexer is killed, still
# holding its locks; ours watch their parent and exit with it.

_worker_state: dict = {}


def _build_parallel(ix, run: Run, stale, plan: _Plan) -> list:
    procs, meter = plan.procs, plan.meter
    ctx = get_context("fork")
    read = ctx.Value("q", 0)  # bytes the workers have read, for the progress bar
    # Inherited by fork, not pickled.
    plan.recognizer.prepare()  # once, inherited by the workers
    _worker_state.update(
        ix=ix, existing=run.existing, owners=run.owners, read=read, rec=plan.recognizer
    )
    chunks = [stale[i::procs] for i in range(procs)]
    segments = []
    start = meter.done
    with ctx.Pool(procs, initializer=_exit_with_parent) as pool:
        results = pool.imap_unordered(_build_segment, chunks)
        while True:
            try:
                built, outcomes = results.next(timeout=PROGRESS_INTERVAL)
            except PoolTimeout:
                meter.show(start + read.value)
                continue
            except StopIteration:
                break
            for outcome in outcomes:
                run.record(outcome)
            segments.extend(built)
    meter.show(start + read.value)
    _worker_state.clear()
    return segments


PROGRESS_INTERVAL = 0.25  # seconds between the parent's looks at the workers' progress


def _build_segment(sources: list[SourceFile]):
    ix, existing, owners, read, rec = (
        _worker_state[k] for k in ("ix", "existing", "owners", "read", "rec")
    )
    segment_writer = _segment_writer(ix)
    writer = segment_writer or writing.worker_writer(ix)
    pending = 0

    def advance(n: int) -> None:
        nonlocal pending
        pending += n
        if pending >= 1 << 20:  # a shared counter's lock per megabyte, not per record
            flush()

    def flush() -> None:
        nonlocal pending
        with read.get_lock():
            read.value += pending
        pending = 0

    outcomes = []
    for src in sources:
        outcomes.append(read_and_add(src, existing, owners, _adder(writer, rec), advance))
        flush()
    if segment_writer is not None:
        return segment_writer.finish(), outcomes
    segment = writing.finish_worker_segment(ix, writer)
    return ([] if segment is None else [segment]), outcomes


def _exit_with_parent() -> None:
    # A worker must not outlive a killed indexer, nor keep its lock alive.
    storage.release_inherited_locks()
    # Ctrl-C reaches the whole process group: the parent alone handles it (its pool then
    # terminates the workers), rather than each worker printing a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
