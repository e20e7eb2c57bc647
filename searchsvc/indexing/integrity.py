"""Checksums of a generation's index files: listed at commit, verified before a searcher opens.

    commit --checksums()--> {name: [size, sha256]} and {name: stamp} in its checksums file
    open   --verify()--> Verdict: the files the live table of contents needs, each one
           intact (size and digest as listed), unverified (not listed yet) or damaged
    a searcher's open --verify(stamps=...)--> the same, but a large file whose stamp still
           matches is trusted (size checked, not hashed), and hashed after the searcher
           opens (verify_files: Engine does it in the background)

Only the files Whoosh's latest table of contents (``_MAIN_<n>.toc``) names are looked at:
that file and each of its segments' files. A file Whoosh no longer references (a merged
segment, an older table of contents) is ignored. A needed file that is not listed is
*unverified*, not damaged: a writer killed between Whoosh's commit and the manifest write
leaves exactly that, and the next writer lists it. A listed file whose size or digest
differs, or a needed file that is missing, is damage.

Segment files never change once written, so each process remembers the digest it computed
for a (path, inode, size, mtime_ns) and hashes only files it has not seen: a server
re-verifying after an incremental commit hashes only the new segments.

Stamps. Hashing every file at every open made a fresh server at 10x the White House corpus
(4.4 GB) spend 6.6 s of CPU per worker before its first answer. So when the writer hashes a
file it also records its stamp: inode, size, mtime and ctime (ns), and when it was hashed.
A searcher opening the generation hashes only files under TRUST_OVER bytes (the table of
contents among them) and files whose stamp no longer matches; a large file whose stamp
matches has been hashed already and not written since, since any write moves its mtime and
ctime, and a tool that sets the mtime back still moves the ctime. It is trusted for the
open and hashed in full afterwards. This is how Lucene opens a segment (only the footer of a
large file is read; CheckIndex and merges read it whole) and how git trusts its index.
A stamp whose file was modified within RACY_NS before it was hashed is "racy" (git's word):
a write in the same tick of the file system's clock might not move the times, so such a file
is hashed at every open, and the writer hashes it again at its next commit for a new stamp.
`searchsvc check` verifies every file in full, never by stamp, and so does every indexing
run before it writes (storage.open_for_update, confirm_trusted): a merge must not fold an
undetected damage into a new segment with a fresh checksum. A run that writes nothing
trusts the stamps, as a searcher's open does.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from searchsvc.indexing.segments import toc_segment_ids

INDEX_NAME = "MAIN"  # Whoosh's default index name
TOC_PATTERN = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
ALGORITHM = "sha256"  # ~1.7 GB/s here, against ~0.9 for blake2b
# Read and hashed a chunk at a time, the GIL released for each; every chunk's return to
# Python takes the GIL back from the request threads. The check after a searcher's open
# slowed a fresh 10x engine's cold p95 by 12-15% with 1 MiB chunks, 4-8% with 8 MiB.
_CHUNK = 8 << 20
_ATTEMPTS = 3  # verifications while a writer may be committing (and deleting files)

# (path, inode, size, mtime_ns) -> digest, for every file this process has hashed.
_digests: dict[tuple[str, int, int, int], str] = {}
_digests_lock = threading.Lock()
_MAX_REMEMBERED = 100_000

# Files under this size are hashed at every open (the table of contents among them); the
# larger ones whose stamp matches are trusted until hashed after the open.
TRUST_OVER = 1 << 20
# A stamp taken less than this after its file's last change (mtime or ctime) is racy: far
# above a kernel clock tick (at most 10 ms); a file system keeping whole seconds (mtimes
# with no nanoseconds) needs RACY_COARSE_NS (FAT keeps two).
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


@dataclass(frozen=True)
class Damage:
    """A damaged file of a generation, and how it differs from its listing."""

    name: str
    reason: str


@dataclass
class Verdict:
    """What verifying one generation found."""

    gen: Path
    toc: str | None = None
    files: int = 0
    bytes: int = 0
    hashed_bytes: int = 0
    seconds: float = 0.0
    damaged: list[Damage] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    # Files whose size and stamp matched, not hashed (verify with stamps only): verify_files.
    trusted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no needed file is damaged (unverified files are no damage)."""
        return not self.damaged

    def describe(self) -> str:
        """The damage in one line: the first file, its reason, and how many more."""
        if not self.damaged:
            return f"{self.gen} is intact"
        first = self.damaged[0]
        more = f" (and {len(self.damaged) - 1} more files)" if len(self.damaged) > 1 else ""
        return f"{self.gen / first.name} is damaged: {first.reason}{more}"


def toc_name(number: int) -> str:
    """The file name of the table of contents of a Whoosh generation number."""
    return f"_{INDEX_NAME}_{number}.toc"


def latest_toc(gen: Path) -> tuple[int, str] | None:
    """The generation number and file name of the latest table of contents, or None."""
    found = []
    try:
        names = [p.name for p in gen.iterdir()]
    except OSError:
        return None
    for name in names:
        m = TOC_PATTERN.match(name)
        if m:
            found.append((int(m.group(1)), name))
    return max(found) if found else None


def file_digest(path: Path, rest: float = 0.0) -> str:
    """The hex digest of a file's bytes, remembered by inode, size and mtime (rest: see
    verify_files)."""
    st = path.stat()
    known = _digests.get((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return known if known is not None else _hashed(path, rest)


def _hashed(path: Path, rest: float = 0.0) -> str:
    """The hex digest of a file's bytes, read now (and remembered)."""
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    digest = hashlib.new(ALGORITHM)
    with _chunk_reader(path, past_cache=rest > 0) as read:
        while True:
            started = time.perf_counter()
            if not (chunk := read()):
                break
            digest.update(chunk)
            if rest:
                time.sleep((time.perf_counter() - started) * rest)
    hexdigest = digest.hexdigest()
    with _digests_lock:
        if len(_digests) >= _MAX_REMEMBERED:
            _digests.clear()
        _digests[key] = hexdigest
    return hexdigest


# A check in the background (paced) reads past the page cache. The check after a searcher's
# open streams every large file of the index, in each serve worker: at 1,000,000 releases
# (a 26 GB index, 23 GB of memory) more than the memory went through the cache, for the
# minutes it ran, past the pages the queries read. Read with O_DIRECT, a file's bytes come
# from the disk and leave the cache as it was (the kernel writes a dirty page back before
# such a read, so the bytes are the same). Where O_DIRECT is refused (tmpfs, other systems),
# the file is read plainly.
@contextlib.contextmanager
def _chunk_reader(path: Path, past_cache: bool) -> Iterator[Callable[[], memoryview]]:
    """A function giving the file's next chunk (empty at its end), while the file is open."""
    fd = _open_direct(path) if past_cache else -1
    if fd < 0:
        view = memoryview(bytearray(_CHUNK))
        with open(path, "rb", buffering=0) as f:
            yield lambda: view[: f.readinto(view)]
        return
    # O_DIRECT reads into page-aligned memory (an anonymous map), at offsets and of sizes
    # that are multiples of the block: each chunk's, up to a short read at the file's end.
    # The map is unmapped when the last chunk handed out is dropped.
    try:
        view = memoryview(mmap.mmap(-1, _CHUNK))
        offset = 0

        def read() -> memoryview:
            nonlocal offset
            n = os.preadv(fd, [view], offset)
            offset += n
            return view[:n]

        yield read
    finally:
        os.close(fd)


def _open_direct(path: Path) -> int:
    """A descriptor of path opened with O_DIRECT, or -1 where that is not to be had: the
    file system refuses it at the open, or at a first read of one page (EINVAL: a refusal,
    not damage)."""
    if not hasattr(os, "O_DIRECT"):
        return -1
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return -1
        raise
    try:
        with memoryview(mmap.mmap(-1, mmap.PAGESIZE)) as page:
            os.preadv(fd, [page], 0)
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EINVAL:
            return -1
        raise
    return fd


def _remembered(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns) in _digests


def needed_files(gen: Path) -> tuple[str, dict[str, list[str]]]:
    """The latest table of contents' name, and each of its segments' files on disk.

    Raises OSError if there is no table of contents, and whatever Whoosh raises if it
    cannot be read.
    """
    latest = latest_toc(gen)
    if latest is None:
        raise FileNotFoundError(f"no table of contents (_{INDEX_NAME}_N.toc) in {gen}")
    number, toc_name = latest
    on_disk = sorted(p.name for p in gen.iterdir())
    segments = {}
    for segment_id in toc_segment_ids(gen, INDEX_NAME, number):
        prefix = f"{segment_id}."
        segments[prefix] = [name for name in on_disk if name.startswith(prefix)]
    return toc_name, segments


def verify(
    gen: Path, listed: dict[str, list], read_listed=None, stamps: dict[str, list] | None = None
) -> Verdict:
    """Check every file the generation's latest table of contents needs against listed.

    listed maps a file name to [size, digest]. If damage is found while a writer may have
    committed meanwhile (the latest table of contents changed), verify again, with the
    listing read_listed() gives then (when given), hashing every file.

    With stamps (name -> stamp, see the module's docstring), a file of TRUST_OVER bytes or
    more whose size and stamp match is not hashed but listed in the verdict's `trusted`.
    """
    started = time.perf_counter()
    for _ in range(_ATTEMPTS):
        before = latest_toc(gen)
        verdict = _verify_once(gen, listed, stamps)
        if verdict.ok or latest_toc(gen) == before:
            break
        listed = read_listed() if read_listed is not None else listed
        stamps = None
    verdict.seconds = time.perf_counter() - started
    return verdict


def verify_files(
    gen: Path, listed: dict[str, list], names: list[str], stop=None, rest: float = 0.0
) -> Verdict:
    """Hash each of names (files a verify with stamps trusted) against listed, in full.

    A file removed meanwhile (a later commit merged its segment away) is no damage: it is
    left out, as unverified. stop() (when given) is asked before each file: True ends the
    check early, as it is. rest paces a check in the background: after each chunk it
    sleeps rest times as long as the chunk took to read and hash, so that the check takes
    at most 1 / (1 + rest) of the disk (or the core) that bounds it, and requests' reads
    do not queue behind a whole index's; and it reads past the page cache (_chunk_reader).
    """
    started = time.perf_counter()
    verdict = Verdict(gen)
    for name in names:
        if stop is not None and stop():
            break
        found = len(verdict.damaged)
        _check_file(verdict, gen, name, listed.get(name), None, rest)
        if len(verdict.damaged) > found and not (gen / name).exists():
            del verdict.damaged[found:]
            verdict.unverified.append(name)
    verdict.seconds = time.perf_counter() - started
    return verdict


def _verify_once(gen: Path, listed: dict[str, list], stamps: dict[str, list] | None) -> Verdict:
    verdict = Verdict(gen)
    latest = latest_toc(gen)
    if latest is None:
        verdict.damaged.append(Damage(f"_{INDEX_NAME}_N.toc", "missing: no table of contents"))
        return verdict
    verdict.toc = latest[1]
    # The table of contents first: reading it unpickles it, so only once it is known good.
    _check_file(verdict, gen, verdict.toc, listed.get(verdict.toc), None)
    if not verdict.ok:
        return verdict
    try:
        _, segments = needed_files(gen)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything while unpickled
        verdict.damaged.append(Damage(verdict.toc, f"unreadable ({exc!r:.120})"))
        return verdict
    for prefix, names in segments.items():
        missing = sorted(n for n in listed if n.startswith(prefix) and n not in names)
        for name in missing:
            verdict.damaged.append(Damage(name, "missing"))
        if not names and not missing:
            verdict.damaged.append(Damage(f"{prefix}*", "missing: the segment has no files"))
        for name in names:
            stamp = stamps.get(name) if stamps is not None else None
            _check_file(verdict, gen, name, listed.get(name), stamp)
    return verdict


def _check_file(
    verdict: Verdict,
    gen: Path,
    name: str,
    entry: list | None,
    stamp: list | None,
    rest: float = 0.0,
) -> None:
    path = gen / name
    try:
        st = path.stat()
    except OSError:
        verdict.damaged.append(Damage(name, "missing"))
        return
    size = st.st_size
    verdict.files += 1
    verdict.bytes += size
    if not _is_entry(entry):
        verdict.unverified.append(name)
        return
    want_size, want_digest = entry
    if size != want_size:
        cut = " (truncated)" if size < want_size else ""
        verdict.damaged.append(Damage(name, f"{size:,} bytes, listed as {want_size:,}{cut}"))
        return
    if size >= TRUST_OVER and not _remembered(path) and trusted_stamp(stamp, st):
        verdict.trusted.append(name)
        return
    if not _remembered(path):
        verdict.hashed_bytes += size
    try:
        digest = file_digest(path, rest)
    except OSError as exc:
        verdict.damaged.append(Damage(name, f"unreadable ({exc.strerror or exc})"))
        return
    if digest != want_digest:
        verdict.damaged.append(Damage(name, f"its {ALGORITHM} differs from the listed one"))


def _is_entry(entry) -> TypeGuard[list]:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], int)
        and isinstance(entry[1], str)
    )


def _stat_key(st) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _is_stamp(stamp) -> TypeGuard[list]:
    return isinstance(stamp, list) and len(stamp) == 5 and all(type(v) is int for v in stamp)


def racy(stamp: list) -> bool:
    """Whether a stamp was taken too soon after its file's last change to be trusted."""
    changed = max(stamp[2], stamp[3])
    coarse = stamp[2] % 1_000_000_000 == 0 and stamp[3] % 1_000_000_000 == 0
    return stamp[4] - changed < (RACY_COARSE_NS if coarse else RACY_NS)


def trusted_stamp(stamp, st) -> bool:
    """Whether a file (its os.stat) is as stamped, by a stamp that is not racy."""
    return _is_stamp(stamp) and stamp[:4] == _stat_key(st) and not racy(stamp)


def _stamped(path: Path) -> tuple[str, list[int] | None]:
    """A file's digest, read now, and its stamp (None if it changed while it was read).

    The stamp's time is when the reading began: every write before it is in the digest.
    """
    before = path.stat()
    started = time.time_ns()
    digest = _hashed(path)
    after = path.stat()
    same = _stat_key(after) == _stat_key(before)
    return digest, ([*_stat_key(after), started] if same else None)


def checksums(
    gen: Path, listed: dict[str, list], stamps: dict[str, list] | None = None
) -> tuple[dict[str, list], dict[str, list]]:
    """The listing and stamps for the generation's needed files: kept where listed, hashed
    where new.

    A listed entry is kept as it is, never recomputed, so damage done after it was written
    stays visible. A listed file's stamp is kept while it matches and is not racy; else the
    file is hashed again and stamped anew only if its digest is still the listed one (a
    damaged file gets no stamp, and so is hashed at every open). Entries of files no longer
    needed are dropped.
    """
    stamps = stamps or {}
    toc_name, segments = needed_files(gen)
    out: dict[str, list] = {}
    out_stamps: dict[str, list] = {}
    for name in [toc_name, *(n for names in segments.values() for n in names)]:
        path = gen / name
        st = path.stat()
        entry, stamp = listed.get(name), stamps.get(name)
        if st.st_size < TRUST_OVER:  # hashed at every open: no stamp
            out[name] = entry if _is_entry(entry) else [st.st_size, file_digest(path)]
            continue
        if not _is_entry(entry):
            digest, stamp = _stamped(path)
            entry = [st.st_size, digest]
        elif not trusted_stamp(stamp, st):
            digest, stamp = _stamped(path)
            if digest != entry[1] or st.st_size != entry[0]:
                stamp = None  # damaged since it was listed: hashed at every open
        out[name] = entry
        if stamp is not None:
            out_stamps[name] = stamp
    return out, out_stamps
