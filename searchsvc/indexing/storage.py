"""The index directory: generations, the atomic swap, and the one-writer lock.

Layout of an index directory::

    index/
      .writer.lock        flock()ed by the one process writing; the kernel drops it if it dies
      current -> gen-000003
      gen-000003/         a Whoosh index (each segment with its forward file, forward.py),
                          plus manifest.json: the stat cache of its sources, and
                          marks: what derived fields were made with (the entity lists);
                          and checksums.json: the size and sha256 of each index file, and
                          its stamp (see integrity.py)
      gen-000002/         the generation before, kept so open searchers can finish

An incremental update commits into the current generation (Whoosh writes new segments and
then renames its table of contents into place, so a reader sees the old or the new state).
A rebuild writes a new generation and swaps the ``current`` symlink with one rename, so a
reader never sees a half-built index. A writer killed mid-build leaves only an orphan
generation, removed by the next writer.

After each commit the writer lists the checksums of the files Whoosh's table of contents
needs; ``verify_generation`` checks them, and ``open_index`` refuses a damaged generation
with IndexDamagedError.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from searchsvc.indexing import integrity, shared_storage, writing

# Re-exported: the index as storage hands it out (the reading adapter opens and counts it).
from searchsvc.indexing.segments import FileIndex
from searchsvc.indexing.segments import column_rows as column_rows
from searchsvc.indexing.segments import doc_count as doc_count
from searchsvc.indexing.segments import open_index_at as open_index_at
from searchsvc.schema import build_schema

CURRENT = "current"
LOCK_NAME = ".writer.lock"
MANIFEST = "manifest.json"
# The checksums and stamps of a generation's index files (integrity.py): apart from the
# manifest, whose stat cache of every source (52 MB at 10x the White House corpus, 0.6 s to
# parse) a server opening the index does not need.
CHECKSUMS = "checksums.json"


class IndexNotFoundError(Exception):
    """There is no index at the given directory."""


class IndexLockedError(Exception):
    """Another process is writing to the index."""


class IndexDamagedError(Exception):
    """A generation's files differ from their checksums, or it cannot be opened."""


REBUILD_HINT = "Run: searchsvc index PATH --rebuild"


def current_generation(index_dir: str | Path) -> Path | None:
    """The directory of the live generation, or None if there is no index yet."""
    link = Path(index_dir) / CURRENT
    try:
        target = Path(index_dir) / os.readlink(link)
    except OSError:
        return None
    # A table of contents on disk is enough: whether it is intact is verify_generation's call
    # (a damaged index must be reported, never taken for a missing one and rebuilt from seeds).
    # So is a committed generation's checksums file: one that lost its table of contents is
    # damaged (verify_generation names the file), not absent.
    if integrity.latest_toc(target) is not None or (target / CHECKSUMS).is_file():
        return target
    return None


def not_found_error(index_dir: str | Path) -> IndexNotFoundError:
    """No live generation: "No index at DIR", or, beside committed generations whose
    `current` link is missing or dangling, what mends it."""
    committed = committed_generations(index_dir)
    if not committed:
        return IndexNotFoundError(f"No index at {index_dir}")
    newest, link = committed[0].name, Path(index_dir) / CURRENT
    return IndexNotFoundError(
        f"No live index at {index_dir}: its '{CURRENT}' link is missing or points nowhere, "
        f"beside a committed index ({newest}). Run: ln -sfn {newest} {link} && searchsvc "
        f"check --index-dir {index_dir}"
    )


def committed_generations(index_dir: str | Path) -> list[Path]:
    """The generations that were committed (a table of contents or checksums file), newest
    first: what a directory with no live generation must not lose."""
    found = [
        p
        for p in Path(index_dir).glob("gen-*")
        if p.is_dir() and (integrity.latest_toc(p) is not None or (p / CHECKSUMS).is_file())
    ]
    return sorted(found, reverse=True)


def earlier_generations(index_dir: str | Path) -> list[Path]:
    """The generations older than the live one that hold an index, newest first."""
    live = current_generation(index_dir)
    if live is None:
        return []
    older = [p for p in Path(index_dir).glob("gen-*") if p.name < live.name and p.is_dir()]
    return sorted((p for p in older if integrity.latest_toc(p)), reverse=True)


def verify_generation(gen: Path, *, trust_stamps: bool = False) -> integrity.Verdict:
    """Check each file the generation needs against the checksums listed at its commits.

    trust_stamps: a large file whose stamp matches is trusted, not hashed (the verdict's
    `trusted`: hash them with verify_trusted). For a searcher's open, and an indexing run's
    (open_for_update), which hashes them before it writes; `searchsvc check` hashes every
    file.
    """
    listed, stamps = _read_listing(gen)
    return integrity.verify(
        gen, listed, lambda: read_checksums(gen), stamps if trust_stamps else None
    )


def verify_trusted(gen: Path, names: list[str], stop=None, rest: float = 0.0) -> integrity.Verdict:
    """Hash in full the files verify_generation(trust_stamps=True) trusted (see verify_files)."""
    return integrity.verify_files(gen, read_checksums(gen), names, stop, rest)


def damaged_error(verdict: integrity.Verdict) -> IndexDamagedError:
    """The one-line error for a damaged generation: the file, what is wrong, what to do."""
    return IndexDamagedError(f"{verdict.describe()}. {REBUILD_HINT}")


def open_index(index_dir: str | Path) -> FileIndex:
    """Open the live generation of an index directory, verified against its checksums."""
    return _open_verified(index_dir, trust_stamps=False)[0]


def open_for_update(index_dir: str | Path) -> tuple[FileIndex, list[str]]:
    """open_index for an indexing run: large files whose stamps match are trusted, not hashed.

    Returns the index and the names of the files it trusted. A run that finds nothing to
    write reads no more of them than its columns, and so spares hashing them (9.5 s of the
    10x corpus's no-op run took 3.9); a run that writes must first hash them with
    confirm_trusted, so that no merge folds unnoticed damage into a new segment.
    """
    return _open_verified(index_dir, trust_stamps=True)


def confirm_trusted(gen: Path, names: list[str]) -> None:
    """Hash in full the files open_for_update trusted; raise IndexDamagedError if one differs."""
    verdict = verify_trusted(gen, names)
    if not verdict.ok:
        raise damaged_error(verdict)


def _open_verified(index_dir: str | Path, trust_stamps: bool) -> tuple[FileIndex, list[str]]:
    gen = current_generation(index_dir)
    if gen is None:
        raise not_found_error(index_dir)
    verdict = verify_generation(gen, trust_stamps=trust_stamps)
    if not verdict.ok:
        raise damaged_error(verdict)
    try:
        ix = open_index_at(gen)
        if verdict.unverified:  # no checksum to go by: do its segments' columns read?
            for _ in column_rows(ix, ("id",)):
                pass
        return ix, verdict.trusted
    except Exception as exc:  # noqa: BLE001 - unverified damaged files raise anything
        message = f"{gen} cannot be opened ({exc!r:.160}). {REBUILD_HINT}"
        drop_half_open(exc)
        raise IndexDamagedError(message) from None


def drop_half_open(exc: BaseException) -> None:
    """Close, quietly, the files Whoosh opened before it failed on a damaged file.

    A reader that fails halfway leaves the files it opened to the garbage collector (each a
    ResourceWarning); only the exception's traceback still references them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        exc.__traceback__ = None
        exc.__context__ = exc.__cause__ = None
        gc.collect()


def open_for_search(gen: Path) -> FileIndex:
    """Open one generation directory for searching by many threads at once.

    Its files are read through shared_storage: shared bytes, a read position per thread.
    Close its storage (``ix.storage.close()``) after its searcher.
    """
    return shared_storage.open_shared_index(gen)


def new_generation(index_dir: str | Path) -> tuple[Path, FileIndex]:
    """Create an empty generation beside the live one; it is not live until swapped in."""
    root = Path(index_dir)
    numbers = [int(p.name[4:]) for p in root.glob("gen-*") if p.name[4:].isdigit()]
    gen = root / f"gen-{max(numbers, default=0) + 1:06d}"
    gen.mkdir(parents=True)
    return gen, writing.create_index(gen, build_schema())


def swap_in(index_dir: str | Path, gen: Path) -> None:
    """Make a generation the live one, atomically, and remove all but the one before."""
    root = Path(index_dir)
    previous = current_generation(root)
    tmp = root / f".{CURRENT}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(gen.name, tmp)
    os.replace(tmp, root / CURRENT)
    _fsync_dir(root)
    keep = {gen.name, previous.name if previous else None}
    remove_orphans(root, keep)


def remove_orphans(index_dir: str | Path, keep: set[str | None]) -> None:
    """Delete generation directories not named in keep (left by a killed or older build)."""
    for path in Path(index_dir).glob("gen-*"):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Descriptors of the writer locks this process holds; a forked worker closes its copies
# (see release_inherited_locks) so that only the indexer itself holds the lock.
_held: set[int] = set()


# The manifests this process has read or written while it holds an index directory's
# writer lock, by the directory: no other process writes one then, so a run parses each
# generation's manifest once (a no-op reindex of 14,396 releases parsed it five times, 0.2 s
# of its 0.8). Forgotten when the lock is released. Callers must not mutate what they read.
_locked_manifests: dict[Path, dict[Path, dict]] = {}


def release_inherited_locks() -> None:
    """In a forked child: close the lock descriptors inherited from the parent."""
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()
    _locked_manifests.clear()


@contextlib.contextmanager
def writer_lock(index_dir: str | Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index directory's one-writer lock; raise IndexLockedError after `wait` s."""
    root = Path(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise IndexLockedError(
                        f"Another indexer (pid {holder}) is writing to {root}. "
                        "Wait for it to finish, or pass --wait SECONDS."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held.add(fd)
        _locked_manifests[root.resolve()] = {}
        yield
    finally:
        if fd in _held:
            _locked_manifests.pop(root.resolve(), None)
        _held.discard(fd)
        os.close(fd)  # closing the last descriptor drops the flock


def _manifest_cache(gen: Path) -> tuple[dict[Path, dict] | None, Path]:
    """The cache of gen's index directory if this process holds its lock, and gen's key."""
    key = gen.resolve()
    return _locked_manifests.get(key.parent), key


def _read_manifest_file(gen: Path) -> dict:
    cache, key = _manifest_cache(gen)
    if cache is not None and key in cache:
        return cache[key]
    data = _parse_manifest_file(gen)
    if cache is not None:
        cache[key] = data
    return data


def _parse_manifest_file(gen: Path) -> dict:
    try:
        data = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # A missing or torn manifest only costs a re-read of the sources (and leaves the
        # index files unverified until the next commit lists them again).
        return {"sources": {}, "files": {}}
    if not isinstance(data, dict):
        return {"sources": {}, "files": {}}
    if isinstance(data.get("sources"), dict):  # no source's path is "sources"
        files = data.get("files")
        return {**data, "files": files if isinstance(files, dict) else {}}
    return {"sources": data, "files": {}}  # the flat format written before checksums


def read_manifest(gen: Path) -> dict:
    """The stat cache of a generation's sources: {path: [mtime_ns, size, {id: hash}, undated]}."""
    return _read_manifest_file(gen)["sources"]


def read_checksums(gen: Path) -> dict[str, list]:
    """The checksums of a generation's index files: {name: [size, sha256]} ({} if none)."""
    return _read_listing(gen)[0]


def _read_listing(gen: Path) -> tuple[dict[str, list], dict[str, list]]:
    """The checksums of a generation's index files, and their stamps."""
    path = gen / CHECKSUMS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:  # written before the checksums had a file of their own
        files = _read_manifest_file(gen).get("files")
        return (files if isinstance(files, dict) else {}), {}
    except (OSError, ValueError) as exc:
        # Damage, not an old index: taken for no listing, the next commit would list the
        # damaged files' hashes as right, and nothing could find the damage after it.
        raise IndexDamagedError(
            f"{path} cannot be read ({exc.__class__.__name__}): the checksums of the index's "
            f"files are lost. {REBUILD_HINT}"
        ) from None
    files, stamps = (data.get("files"), data.get("stamps")) if isinstance(data, dict) else (0, 0)
    if not isinstance(files, dict) or not isinstance(stamps, (dict, type(None))):
        raise IndexDamagedError(
            f"{path} cannot be read (not a list of checksums): the checksums of the index's "
            f"files are lost. {REBUILD_HINT}"
        )
    return files, stamps if isinstance(stamps, dict) else {}


def write_manifest(gen: Path, manifest: dict) -> None:
    """Replace a generation's stat cache of its sources atomically, keeping the rest."""
    _write_manifest_file(gen, {**_read_manifest_file(gen), "sources": manifest})


def read_mark(gen: Path, name: str) -> str | None:
    """What the generation's documents were derived with (a fingerprint), or None."""
    marks = _read_manifest_file(gen).get("marks")
    value = marks.get(name) if isinstance(marks, dict) else None
    return value if isinstance(value, str) else None


def write_mark(gen: Path, name: str, value: str) -> None:
    """Record what the generation's documents were derived with (after the commit)."""
    data = _read_manifest_file(gen)
    marks = data.get("marks")
    marks = dict(marks) if isinstance(marks, dict) else {}
    _write_manifest_file(gen, {**data, "marks": {**marks, name: value}})


def write_checksums(gen: Path) -> None:
    """List the checksums of the files the generation's table of contents needs (after a commit).

    Files listed already keep their entry; only files not listed yet are hashed (and those
    whose stamp is racy or stale, for a new stamp: integrity.checksums).
    """
    listed, stamps = _read_listing(gen)
    files, new_stamps = integrity.checksums(gen, listed, stamps)
    if (files, new_stamps) != (listed, stamps) or not (gen / CHECKSUMS).exists():
        _write_json(gen, CHECKSUMS, {"files": files, "stamps": new_stamps})
    data = _read_manifest_file(gen)
    if data.get("files"):  # the manifest of an older version still holds them: moved
        _write_manifest_file(gen, {**data, "files": {}})


def _write_manifest_file(gen: Path, data: dict) -> None:
    # The checksums live in their own file now; an older manifest's are moved there.
    data = {k: v for k, v in data.items() if k != "files" or v}
    _write_json(gen, MANIFEST, data)
    cache, key = _manifest_cache(gen)
    if cache is not None:
        cache[key] = data


def _write_json(gen: Path, name: str, data: dict) -> None:
    """Replace a file of the generation by data as JSON, atomically."""
    tmp = gen / f".{name}.{os.getpid()}"
    # check_circular=False: plain data, and it halves the time (0.06 s for 14,000 files).
    text = json.dumps(data, separators=(",", ":"), check_circular=False)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, gen / name)
    except BaseException:  # a full disk: no half-written copy left beside the file
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
