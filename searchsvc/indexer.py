"""Building and updating the index from source files.

One run, under the index directory's writer lock:

    discover files --stat against the manifest--> unchanged files are not read at all
    changed files --read (in several processes when many)--> Documents
    compare each Document's hash with the index --> add / update / unchanged
    ids whose file vanished from an indexed folder --> delete
    one Whoosh commit, then the manifest; a rebuild swaps its new generation in last

The index's state (id, hash and path of each document) is read from its columns alone;
a run with nothing to read or delete opens no Whoosh reader or writer at all.

A file that fails to read is skipped and reported, and whatever the index already holds
from it stays: bad input never deletes good data.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from whoosh.codec.whoosh3 import W3Codec

from searchsvc import storage
from searchsvc.discovery import Skipped, SourceFile, discover
from searchsvc.documents import Document, read_source
from searchsvc.schema import to_fields

# Below this many files to read, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400

WHOOSH_LOCK_TIMEOUT = 5.0

# Whoosh zlib-compresses each term's block of postings. In a segment of a few documents
# nearly every block holds one or two postings, and setting zlib up for each (~60 us)
# was half the commit of 50 new releases. Blocks record their own compression, so any
# reader reads both kinds. Runs that read many files keep Whoosh's default.
SMALL_SEGMENT_CODEC = W3Codec(compression=0)

Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    undated: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    total: int = 0

    @property
    def processed(self) -> int:
        """Documents looked at: added, updated and unchanged."""
        return self.added + self.updated + self.unchanged

    @property
    def docs_per_second(self) -> float:
        """Documents looked at per second of the run."""
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """The one-line summary the CLI prints."""
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}, "
            f"undated {self.undated}, total {self.total} documents; "
            f"{self.seconds:.2f} s, {self.docs_per_second:,.0f} docs/s"
        )


@dataclass
class _Existing:
    """What the index holds now: id -> (hash, path)."""

    docs: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, ix) -> _Existing:
        """Read ids, hashes and paths from the index's columns."""
        rows = storage.column_rows(ix, ("id", "hash", "path"))
        return cls({doc_id: (doc_hash, path) for doc_id, doc_hash, path in rows})


def index_paths(
    index_dir: str | Path,
    paths: Sequence[str | Path],
    *,
    rebuild: bool = False,
    procs: int | None = None,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the index at index_dir up to date with the files under paths."""
    started = time.perf_counter()
    procs = procs or os.cpu_count() or 1
    with storage.writer_lock(index_dir, wait=wait):
        live = storage.current_generation(index_dir)
        storage.remove_orphans(index_dir, keep=_kept_generations(index_dir, live))
        if rebuild or live is None:
            gen, ix = storage.new_generation(index_dir)
            existing, manifest = _Existing(), {}
        else:
            gen, ix = live, storage.open_index(index_dir)
            existing, manifest = _Existing.load(ix), storage.read_manifest(live)
        report = IndexReport()
        sources, report.skipped = discover(paths)
        run = _Run(existing, manifest, report)
        fresh, stale = run.split_by_stat(sources)
        if not stale:
            run.delete_vanished(paths)  # nothing to read, so every id seen is known already
        if stale or run.to_delete or gen != live:
            plan = _Plan(procs, progress, len(fresh), len(sources), len(stale))
            _write(ix, run, paths, stale, plan, always_commit=gen != live)
        # else nothing changed: no Whoosh writer (its cancel leaves stray segment files)
        if run.new_manifest != manifest:
            storage.write_manifest(gen, run.new_manifest)
        storage.write_checksums(gen)  # after the commit: a kill before it leaves unverified
        if gen != live:
            storage.swap_in(index_dir, gen)
        report.total = storage.doc_count(ix)
        ix.close()
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Plan:
    """How to read the stale sources: in how many processes, and whom to tell."""

    procs: int
    progress: Progress | None
    done: int  # sources already accounted for (unchanged by stat)
    total: int  # all sources
    stale: int  # sources to read

    @property
    def few(self) -> bool:
        """Whether so few files are to be read that worker processes cost more than they save."""
        return self.stale < PARALLEL_THRESHOLD

    @property
    def parallel(self) -> bool:
        """Whether to read the stale sources in worker processes."""
        return self.procs > 1 and not self.few


def _write(
    ix, run: _Run, paths: Sequence[str | Path], stale: list, plan: _Plan, always_commit: bool
) -> None:
    """Read the stale sources, add and delete documents, and commit if anything changed."""
    codec = SMALL_SEGMENT_CODEC if plan.few else None
    # Whoosh's own lock may still be held for a moment by the workers of a killed run.
    writer = ix.writer(limitmb=256, timeout=WHOOSH_LOCK_TIMEOUT, codec=codec)
    try:
        segments = _build(writer, ix, run, stale, plan)
        run.delete_vanished(paths)
        for doc_id in run.to_delete + run.to_replace:
            writer.delete_by_term("id", doc_id)
    except BaseException:
        writer.cancel()
        raise
    if always_commit or segments or writer._added or run.to_delete or run.to_replace:
        _commit(writer, segments)
    else:
        writer.cancel()  # nothing changed: no new generation for searchers to reopen


def _kept_generations(index_dir, live: Path | None) -> set[str | None]:
    # The live generation, and the one before it (a server may still be reading it).
    if live is None:
        return set()
    older = sorted(p.name for p in Path(index_dir).glob("gen-*") if p.name < live.name)
    return {live.name, older[-1] if older else None}


class _Run:
    """The bookkeeping of one indexing run: what is seen, kept, written and deleted."""

    def __init__(self, existing: _Existing, manifest: dict, report: IndexReport):
        self.existing = existing.docs
        self.manifest = manifest
        self.report = report
        self.new_manifest: dict = {}
        self.seen_ids: set[str] = set()
        self.to_delete: list[str] = []
        self.to_replace: list[str] = []  # ids whose new version replaces the old
        # Files (or JSONL files with a bad line) that failed to read keep what they had.
        self.keep_paths = {s.path for s in report.skipped}

    def split_by_stat(self, sources: Iterable[SourceFile]) -> tuple[list, list]:
        """Sources whose size and mtime match the manifest (not read), and the rest."""
        fresh, stale = [], []
        for src in sources:
            entry = self.manifest.get(src.path)
            try:
                st = os.stat(src.path)
            except OSError:
                stale.append(src)  # read_source reports why
                continue
            if entry and entry[:2] == [st.st_mtime_ns, st.st_size] and self._intact(entry[2]):
                fresh.append(src)
                self.new_manifest[src.path] = entry
                self.seen_ids.update(entry[2])
                self.report.unchanged += len(entry[2])
                self.report.undated += entry[3]
            else:
                stale.append(src)
        return fresh, stale

    def _intact(self, ids: dict[str, str]) -> bool:
        return all(self.existing.get(i, ("",))[0] == h for i, h in ids.items())

    def record(self, outcome: _Outcome) -> None:
        """Account for one source file's documents after they were read (and written)."""
        for item in outcome.skipped:
            self.report.skipped.append(item)
            self.keep_paths.add(item.path)
        for doc_id, doc_hash, dated in outcome.docs:
            self.seen_ids.add(doc_id)
            self.report.undated += not dated
            old = self.existing.get(doc_id)
            if old is None:
                self.report.added += 1
            elif old[0] == doc_hash:
                self.report.unchanged += 1
            else:
                self.report.updated += 1
                self.to_replace.append(doc_id)
        path, st = outcome.src.path, outcome.stat
        if st is not None and outcome.docs and path not in self.keep_paths:
            ids = {doc_id: doc_hash for doc_id, doc_hash, _ in outcome.docs}
            undated = sum(not dated for _, _, dated in outcome.docs)
            self.new_manifest[path] = [st.st_mtime_ns, st.st_size, ids, undated]

    def delete_vanished(self, paths: Sequence[str | Path]) -> None:
        """Mark for deletion documents whose file is gone from an indexed folder."""
        roots = [os.path.abspath(p) for p in paths]
        self.to_delete = []  # called before and again after reading: the later call counts
        for doc_id, (_, path) in self.existing.items():
            if doc_id in self.seen_ids or path in self.keep_paths:
                continue
            if any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
                self.to_delete.append(doc_id)
        self.report.deleted = len(self.to_delete)


@dataclass
class _Outcome:
    """What reading one source file gave: (id, hash, dated) per document, and skips."""

    src: SourceFile
    stat: os.stat_result | None
    docs: list[tuple[str, str, bool]]
    skipped: list[Skipped]


def _read_and_add(src: SourceFile, existing: dict, add) -> _Outcome:
    """Read a source and pass each new or changed Document to add()."""
    try:
        st = os.stat(src.path)
    except OSError:
        st = None
    docs, skipped = [], []
    for item in read_source(src):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        docs.append((item.id, item.hash, item.date is not None))
        old = existing.get(item.id)
        if old is None or old[0] != item.hash:
            add(item)
    return _Outcome(src, st, docs, skipped)


def _build(writer, ix, run: _Run, stale, plan: _Plan) -> list:
    """Read stale sources and write their new documents; return segments built elsewhere."""
    if plan.parallel:
        return _build_parallel(ix, run, stale, plan)
    for i, src in enumerate(stale, start=1):
        run.record(_read_and_add(src, run.existing, _adder(writer)))
        if plan.progress:
            plan.progress(plan.done + i, plan.total)
    return []


def _adder(writer):
    def add(doc: Document) -> None:
        writer.add_document(**to_fields(doc))

    return add


# -- several processes --------------------------------------------------------------------
#
# Each worker reads its share of the files and writes the new documents into a segment of
# its own, in the same index directory; the parent adds the finished segments to its
# commit. This is what Whoosh's MpWriter does with multisegment=True. We do it ourselves
# because MpWriter's workers block forever on their queue if the indexer is killed, still
# holding its locks; ours watch their parent and exit with it.

_worker_state: dict = {}


def _build_parallel(ix, run: _Run, stale, plan: _Plan) -> list:
    procs, progress, done, total = plan.procs, plan.progress, plan.done, plan.total
    _worker_state.update(ix=ix, existing=run.existing)  # inherited by fork, not pickled
    chunks = [stale[i::procs] for i in range(procs)]
    segments = []
    ctx = get_context("fork")
    with ctx.Pool(procs, initializer=_exit_with_parent) as pool:
        for segment, outcomes in pool.imap_unordered(_build_segment, chunks):
            for outcome in outcomes:
                run.record(outcome)
            done += len(outcomes)
            if progress:
                progress(done, total)
            if segment is not None:
                segments.append(segment)
    _worker_state.clear()
    return segments


def _build_segment(sources: list[SourceFile]):
    from whoosh.writing import SegmentWriter

    ix, existing = _worker_state["ix"], _worker_state["existing"]
    writer = SegmentWriter(ix, _lk=False, limitmb=256)
    outcomes = [_read_and_add(src, existing, _adder(writer)) for src in sources]
    if not writer._added:
        writer.cancel()
        return None, outcomes
    return writer._finalize_segment(), outcomes


def _exit_with_parent() -> None:
    # A worker must not outlive a killed indexer, nor keep its lock alive.
    storage.release_inherited_locks()
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _commit(writer, segments: list) -> None:
    """Commit the writer, with segments that workers built, in one new table of contents."""
    if not segments:
        writer.commit()
        return
    # SegmentWriter.commit(), with the workers' segments added (as MpWriter does).
    final = writer._merge_segments(None, None, None) + segments
    if writer._added:
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(final)
    writer._finish()
