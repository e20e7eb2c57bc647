"""The bookkeeping of one indexing run: what the index holds, what each file gave.

    the index's columns --Existing--> id -> (hash, path)
    each source read --read_and_add()--> Outcome: (id, hash, dated) per document, skips
    Outcomes --Run.record()--> added / updated / unchanged, the new manifest
    ids neither seen nor kept --Run.delete_vanished()--> to delete

A file that failed to read (or lost an id to another file) keeps what the index holds
from it, and so does everything under a folder that could not be read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from searchsvc.indexing import storage
from searchsvc.indexing.claims import (
    Claimants,
    Owners,
    claim,
    collision,
    is_jsonl,
    settle,
    source_ids,
)
from searchsvc.reading import Skipped, SourceFile, read_source, stat_key


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    undated: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # Documents indexed, but read leniently: a date that could not be read, say.
    warnings: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    total: int = 0
    rederived: int = 0  # documents whose entities changed with the lists
    # Documents kept though their files are gone, because the delete guard refused and the
    # run was told to hold deletions back (a watch): how many, and the guard's words.
    held: int = 0
    held_because: str = ""

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
        lists = f", entities re-derived {self.rederived}" if self.rederived else ""
        lists += f", held back {self.held}" if self.held else ""
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}, "
            f"undated {self.undated}{lists}, total {self.total} documents; "
            f"{self.seconds:.2f} s, {self.docs_per_second:,.0f} docs/s"
        )


@dataclass
class Existing:
    """What the index holds now: id -> (hash, path)."""

    docs: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, ix) -> Existing:
        """Read ids, hashes and paths from the index's columns."""
        rows = storage.column_rows(ix, ("id", "hash", "path"))
        return cls({doc_id: (doc_hash, path) for doc_id, doc_hash, path in rows})


class Run:
    """The bookkeeping of one indexing run: what is seen, kept, written and deleted."""

    def __init__(self, existing: Existing, manifest: dict, report: IndexReport):
        self.existing = existing.docs
        self.manifest = manifest
        self.report = report
        self.owners: Owners = {}
        self.new_manifest: dict = {}
        self.seen_ids: set[str] = set()
        self.to_delete: list[str] = []
        self.to_replace: list[str] = []  # ids whose new version replaces the old
        # Files (or JSONL files with a bad line) that failed to read keep what they had,
        # and so does everything under a folder that could not be read.
        self.keep_paths = {s.path for s in report.skipped}
        self.keep_folders = tuple(
            s.path.rstrip(os.sep) + os.sep for s in report.skipped if s.folder
        )

    def split_by_stat(self, sources: Iterable[SourceFile]) -> tuple[list, list]:
        """Sources whose size and mtime match the manifest (not read), and the rest.

        Every source claims its ids first (see claims); an unchanged file that lost a
        claim to a new one is read again, so that it reports the collision.
        """
        fresh, stale = [], []
        for src in sources:
            entry = self.manifest.get(src.path)
            try:
                st = os.stat(src.path)
            except OSError:
                stale.append(src)  # read_source reports why
                continue
            if entry and _same_file(entry, st) and self._intact(entry[2]):
                fresh.append((src, entry if len(entry) > 5 else [*entry[:4], *_identity(st)]))
            else:
                stale.append(src)
        claimants: Claimants = {}
        for src, entry in fresh:
            claim(self.owners, entry[2], src, claimants)
        for src in stale:
            claim(self.owners, source_ids(src), src, claimants)
        settle(self.owners, claimants)
        kept = []
        for src, entry in fresh:
            if any(self.owners[i] != src.path for i in entry[2]):
                stale.append(src)
                continue
            kept.append(src)
            self.new_manifest[src.path] = entry
            self.seen_ids.update(entry[2])
            self.report.unchanged += len(entry[2])
            self.report.undated += entry[3]
        return kept, stale

    def set_aside_unsettled(self, stale: list[SourceFile], settle: float) -> list[SourceFile]:
        """The stale sources, less those still being written: each modified in the last
        settle seconds is looked at again once the youngest is settle seconds old (one wait
        per run, none if no file is that young), and one whose size or mtime changed is
        left for the next run, its indexed version kept, as a skipped file."""
        if settle <= 0:
            return stale
        now, window = time.time_ns(), int(settle * 1e9)
        young: dict[str, tuple[int, int]] = {}
        for src in stale:
            try:
                st = os.stat(src.path)
            except OSError:
                continue  # read_source reports why
            if 0 <= now - st.st_mtime_ns < window:  # a future mtime is a skewed clock
                young[src.path] = (st.st_size, st.st_mtime_ns)
        if not young:
            return stale
        youngest = max(mtime for _, mtime in young.values())
        time.sleep(max(0, youngest + window - time.time_ns()) / 1e9)
        changing = {path for path, key in young.items() if stat_key(path) != key}
        for path in sorted(changing):
            why = f"being written (changed within {settle:g} s); left for the next run"
            self.report.skipped.append(Skipped(path, why))
            self.keep_paths.add(path)
        return [src for src in stale if src.path not in changing]

    def _intact(self, ids: dict[str, str]) -> bool:
        return all(self.existing.get(i, ("",))[0] == h for i, h in ids.items())

    def record(self, outcome: Outcome) -> None:
        """Account for one source file's documents after they were read (and written)."""
        for item in outcome.skipped:
            self.report.skipped.append(item)
            self.keep_paths.add(item.path)
        self.report.warnings.extend(outcome.warnings)
        for doc_id_, doc_hash, dated in outcome.docs:
            self.seen_ids.add(doc_id_)
            self.report.undated += not dated
            old = self.existing.get(doc_id_)
            if old is None:
                self.report.added += 1
            elif old[0] == doc_hash:
                self.report.unchanged += 1
            else:
                self.report.updated += 1
                self.to_replace.append(doc_id_)
        path, st = outcome.src.path, outcome.stat
        if st is not None and outcome.docs and path not in self.keep_paths:
            ids = {doc_id_: doc_hash for doc_id_, doc_hash, _ in outcome.docs}
            undated = sum(not dated for _, _, dated in outcome.docs)
            self.new_manifest[path] = [st.st_mtime_ns, st.st_size, ids, undated, *_identity(st)]

    def hold_deletions(self, because: str) -> None:
        """Keep the documents marked for deletion (the guard refused them): for now."""
        self.report.held, self.report.held_because = len(self.to_delete), because
        self.to_delete = []
        self.report.deleted = 0

    def delete_vanished(self, paths: Sequence[str | Path], seen: Collection[str]) -> None:
        """Mark for deletion documents whose file is gone from an indexed folder.

        seen: the ids the run gives (before reading: every id claimed).
        """
        roots = tuple(os.path.abspath(p).rstrip(os.sep) + os.sep for p in paths)
        exact = {os.path.abspath(p) for p in paths}
        self.to_delete = []  # called before and again after reading: the later call counts
        for doc_id_, (_, path) in self.existing.items():
            if doc_id_ in seen or path in self.keep_paths or path.startswith(self.keep_folders):
                continue
            if path in exact or path.startswith(roots):
                self.to_delete.append(doc_id_)
        self.report.deleted = len(self.to_delete)


@dataclass
class Outcome:
    """What reading one source file gave: (id, hash, dated) per document, and skips."""

    src: SourceFile
    stat: os.stat_result | None
    docs: list[tuple[str, str, bool]]
    skipped: list[Skipped]
    warnings: list[Skipped] = field(default_factory=list)


MAX_COLLISIONS_SHOWN = 5  # per file: a copied JSON Lines corpus must not flood the report


def _identity(st: os.stat_result) -> tuple[int, int]:
    """What changes when a file is replaced or written, even with its size and mtime kept
    (cp -p, tar x, a rename into place): its ctime and inode."""
    return st.st_ctime_ns, st.st_ino


def _same_file(entry: list, st: os.stat_result) -> bool:
    """Whether a manifest entry [mtime, size, ids, undated, ctime, inode] still describes
    the file (an entry written before the last two compares mtime and size alone)."""
    if entry[:2] != [st.st_mtime_ns, st.st_size]:
        return False
    return len(entry) < 6 or tuple(entry[4:6]) == _identity(st)


def read_and_add(src: SourceFile, existing: dict, owners: Owners, add, advance=None) -> Outcome:
    """Read a source and pass each new or changed Document it owns to add().

    advance(n): told of the bytes read as they are read (see reading.read_source)."""
    try:
        st = os.stat(src.path)
    except OSError:
        st = None
    docs: list[tuple[str, str, bool]] = []
    skipped: list[Skipped] = []
    warnings: list[Skipped] = []
    given: set[str] = set()
    # A file that lost its id is read too (collisions are rare): if it gives no document,
    # what is wrong with it is the report, not a collision with the file that was kept.
    collisions = 0
    for item in read_source(src, advance):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        owner = owners.get(item.id, src.path)  # an id not claimed: the file changed since
        if owner != src.path or item.id in given:
            collisions += 1
            if collisions <= MAX_COLLISIONS_SHOWN:
                skipped.append(collision(src.path, item.id, owner))
            continue
        given.add(item.id)
        docs.append((item.id, item.hash, item.date is not None))
        for warning in item.warnings:
            about = f"id {item.id}: {warning}" if is_jsonl(src) else warning
            warnings.append(Skipped(src.path, about))
        old = existing.get(item.id)
        if old is None or old[0] != item.hash:
            add(item)
    if collisions > MAX_COLLISIONS_SHOWN:
        more = collisions - MAX_COLLISIONS_SHOWN
        skipped.append(Skipped(src.path, f"{more} more documents with ids given before; not kept"))
    return Outcome(src, st, docs, skipped, warnings)
