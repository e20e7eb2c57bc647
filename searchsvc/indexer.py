"""Building and updating the index from source files.

One run, under the index directory's writer lock:

    discover files --stat against the manifest--> unchanged files are not read at all
    changed files --read (in several processes when many)--> Documents
    compare each Document's hash with the index --> add / update / unchanged
    ids whose file vanished from an indexed folder --> delete
    one Whoosh commit, then the manifest; a rebuild swaps its new generation in last

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

from searchsvc import storage
from searchsvc.documents import Document, Skipped, SourceFile, discover, read_source
from searchsvc.schema import to_fields

# Below this many files to read, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400

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
        with ix.reader() as reader:
            if reader.doc_count() == 0:
                return cls()
            ids, hashes, paths = (reader.column_reader(f) for f in ("id", "hash", "path"))
            docs = {
                ids[n]: (hashes[n], paths[n])
                for n in range(reader.doc_count_all())
                if not reader.is_deleted(n)
            }
        return cls(docs)


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
        docs = run.read(stale, procs, progress, done=len(fresh), total=len(sources))
        run.delete_vanished(paths)
        _write(ix, docs, run.to_delete, procs=procs if len(docs) > PARALLEL_THRESHOLD else 1)
        storage.write_manifest(gen, run.new_manifest)
        if gen != live:
            storage.swap_in(index_dir, gen)
        with ix.reader() as reader:
            report.total = reader.doc_count()
        ix.close()
    report.seconds = time.perf_counter() - started
    return report


class _Run:
    """The bookkeeping of one indexing run: what is seen, kept, written and deleted."""

    def __init__(self, existing: _Existing, manifest: dict, report: IndexReport):
        self.existing = existing.docs
        self.manifest = manifest
        self.report = report
        self.new_manifest: dict = {}
        self.seen_ids: set[str] = set()
        self.seen_paths: set[str] = set()
        self.to_delete: list[str] = []
        # Files (or JSONL files with a bad line) that failed to read keep what they had.
        self.keep_paths = {s.path for s in report.skipped}

    def split_by_stat(self, sources: Iterable[SourceFile]) -> tuple[list, list]:
        """Sources whose size and mtime match the manifest (not read), and the rest."""
        fresh, stale = [], []
        for src in sources:
            self.seen_paths.add(src.path)
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
                self.report.undated += entry[3] if len(entry) > 3 else 0
            else:
                stale.append(src)
        return fresh, stale

    def _intact(self, ids: dict[str, str]) -> bool:
        return all(self.existing.get(i, ("",))[0] == h for i, h in ids.items())

    def read(self, sources: list[SourceFile], procs: int, progress, done: int, total: int):
        """Read changed sources; return the Documents to (re)write."""
        to_write: list[Document] = []
        for i, (src, items, st) in enumerate(_read_all(sources, procs), start=1):
            ids: dict[str, str] = {}
            undated = 0
            for item in items:
                if isinstance(item, Skipped):
                    self.report.skipped.append(item)
                    self.keep_paths.add(item.path)
                    continue
                ids[item.id] = item.hash
                undated += item.date is None
                if self._classify(item):
                    to_write.append(item)
            if st is not None and ids and src.path not in self.keep_paths:
                self.new_manifest[src.path] = [st.st_mtime_ns, st.st_size, ids, undated]
            if progress:
                progress(done + i, total)
        return to_write

    def _classify(self, doc: Document) -> bool:
        self.seen_ids.add(doc.id)
        self.report.undated += doc.date is None
        old = self.existing.get(doc.id)
        if old is None:
            self.report.added += 1
        elif old[0] == doc.hash:
            self.report.unchanged += 1
            return False
        else:
            self.report.updated += 1
        return True

    def delete_vanished(self, paths: Sequence[str | Path]) -> None:
        """Mark for deletion documents whose file is gone from an indexed folder."""
        roots = [os.path.abspath(p) for p in paths]
        for doc_id, (_, path) in self.existing.items():
            if doc_id in self.seen_ids or path in self.keep_paths:
                continue
            if any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
                self.to_delete.append(doc_id)
        self.report.deleted = len(self.to_delete)


def _read_one(src: SourceFile):
    try:
        st = os.stat(src.path)
    except OSError:
        st = None
    return src, list(read_source(src)), st


def _read_all(sources: list[SourceFile], procs: int):
    if procs <= 1 or len(sources) < PARALLEL_THRESHOLD:
        yield from map(_read_one, sources)
        return
    with get_context("fork").Pool(procs, initializer=_exit_with_parent) as pool:
        yield from pool.imap(_read_one, sources, chunksize=16)


def _exit_with_parent() -> None:
    # A worker must not outlive a killed indexer: it would hold the writer lock's descriptor.
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _write(ix, docs: list[Document], to_delete: list[str], procs: int) -> None:
    if not docs and not to_delete:
        return
    writer = ix.writer(limitmb=256)
    try:
        for doc_id in to_delete:
            writer.delete_by_term("id", doc_id)
        for doc in docs:
            writer.update_document(**to_fields(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
