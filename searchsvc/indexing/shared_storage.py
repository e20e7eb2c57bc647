"""A read-only Whoosh storage whose files many threads can read at once.

    index file --opened once per storage, read with pread (MAP_FILES: mmap)--> shared,
        immutable bytes
    open_file(name) --> SharedFile: a read position per thread (threading.local) over them;
        read, readline, seek and tell move the calling thread's position only, get() slices
    compound segment (.seg) --Whoosh's CompoundStorage, told there is no mmap, calls
        file.subset(offset, length)--> a SharedFile over that part of the same bytes

Whoosh's FileStorage gives each open file one position: its postings matchers seek, then
read a block header (a pickle) and take ``tell()`` as the data's start, and its compound
segments share one BytesIO position (mmap) or one ``SubFile._pos``. Two threads reading
one searcher then read each other's blocks: wrong posting lists, ``EOFError``, "Block tag
error". Here each thread sees exactly what it would see alone, so one searcher serves a
process's threads together. Index files never change once written (a commit writes new
ones), so the bytes are safe to share; the indexer keeps Whoosh's own storage.

Read with pread, not mapped: a mapped file's pages count in the RSS of every process that
touched them (about 1 GiB of a serve worker's 1.3 GiB at 10x), though they are the page
cache's and shared. Read, they stay in the page cache, and a worker's RSS is its own.

Whoosh's per-document reader builds its column readers lazily in unlocked dicts: two
threads may each build one and one is dropped, unclosed. Harmless here (a file holds no
descriptor of its own), so it is left alone.

Whoosh's internals this relies on are listed in PRIVATE_NAMES; tests/test_threads.py
fails, naming the one that is gone, if the pinned Whoosh changes them.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import pickle
import threading
from array import array
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import _SIZEMAP, StructFile
from whoosh.index import FileIndex
from whoosh.system import IS_LITTLE

# (object, name): what this module assumes of Whoosh beyond its documented API.
PRIVATE_NAMES = (
    # A compound segment is opened as CompoundStorage(file, use_mmap=storage.supports_mmap)...
    ("whoosh.codec.base.Segment", "open_compound_file"),
    ("whoosh.filedb.filestore.FileStorage", "supports_mmap"),
    # ...whose open_file, without an mmap, calls file.subset(offset, length, name=name).
    ("whoosh.filedb.compound.CompoundStorage", "open_file"),
    ("whoosh.filedb.compound.CompoundStorage", "_source"),
    ("whoosh.filedb.structfile.StructFile", "subset"),
    # StructFile's helpers call these, so overriding them covers every read...
    ("whoosh.filedb.structfile.StructFile", "read"),
    ("whoosh.filedb.structfile.StructFile", "get"),
    ("whoosh.filedb.structfile.StructFile", "get_array"),
    ("whoosh.filedb.structfile.StructFile", "read_pickle"),
    # ...except read_array on a real file (is_real: array.fromfile), which is never ours.
    ("whoosh.filedb.structfile.StructFile", "is_real"),
    ("whoosh.filedb.structfile.StructFile", "_name"),
    ("whoosh.filedb.structfile", "_SIZEMAP"),
)


# Whether index files are memory-mapped (True) or read with pread (False).
MAP_FILES = False
# Bytes of a file sliced to unpickle a block's header from; bytes searched at a time by find.
PICKLE_CHUNK = 512
FIND_BLOCK = 4096
# Bytes a pread reads at least (see PreadBytes).
READ_AHEAD = 16 * 1024


class SharedFile(StructFile):
    """A read-only Whoosh file over shared bytes, with one read position per thread."""

    def __init__(self, data, start: int, length: int, name: str | None = None):
        # Deliberately not StructFile.__init__: there is no file object to wrap.
        self._data = data  # an mmap (or bytes): slicing copies out, and needs no position
        self._start, self._length = start, length
        self._local = threading.local()
        self._name = name
        self.file = None
        self.onclose = None
        self.is_real = False  # read_array goes through read(), not array.fromfile
        self.is_closed = False

    def __iter__(self):
        while line := self.readline():
            yield line

    def raw_file(self):
        """Whoosh's hook for the underlying file: there is none, this is it."""
        return self

    def tell(self) -> int:
        """The calling thread's position."""
        return getattr(self._local, "pos", 0)

    def seek(self, where: int, whence: int = 0) -> int:
        """Move the calling thread's position (whence as for io: 0 start, 1 here, 2 end)."""
        if whence == 1:
            where += self.tell()
        elif whence == 2:
            where += self._length
        elif whence != 0:
            raise ValueError(f"invalid whence ({whence})")
        if where < 0:
            raise ValueError(f"negative seek position {where}")
        self._local.pos = where
        return where

    def read(self, size: int | None = -1) -> bytes:
        """Up to size bytes (all if None or negative) from the calling thread's position."""
        local = self._local
        pos = getattr(local, "pos", 0)
        end = self._length if size is None or size < 0 else min(pos + size, self._length)
        if end <= pos:
            return b""
        local.pos = end
        return self._data[self._start + pos : self._start + end]

    def readline(self, size: int | None = -1) -> bytes:
        """The rest of the line at the calling thread's position (pickle needs it)."""
        local = self._local
        pos = getattr(local, "pos", 0)
        if pos >= self._length:
            return b""
        stop = self._start + self._length
        at = self._data.find(b"\n", self._start + pos, stop)
        end = self._length if at < 0 else at + 1 - self._start
        if size is not None and size >= 0:
            end = min(end, pos + size)
        local.pos = end
        return self._data[self._start + pos : self._start + end]

    def get(self, position: int, length: int) -> bytes:
        """length bytes at position, leaving every thread's position alone."""
        lo = self._start + position
        return self._data[lo : min(lo + length, self._start + self._length)]

    def get_array(self, position: int, typecode: str, length: int) -> array:
        """An array of length items (big-endian on disk) at position."""
        a = array(typecode)
        a.frombytes(self.get(position, length * _SIZEMAP[typecode]))
        if IS_LITTLE:
            a.byteswap()
        return a

    def read_pickle(self):
        """The pickled object at the calling thread's position (which moves past it).

        Unpickled from one slice of PICKLE_CHUNK bytes, not through read(): pickle asks a
        file for a few bytes per opcode, each a call here (and, read with pread, a system
        call). A pickle longer than the slice is read the slow way.
        """
        pos = self.tell()
        chunk = io.BytesIO(self.get(pos, PICKLE_CHUNK))
        try:
            found = pickle.load(chunk)
        except Exception:  # noqa: BLE001 - cut short by the slice: any error; read it whole
            return pickle.load(self)
        self.seek(pos + chunk.tell())
        return found

    def subset(self, offset: int, length: int, name: str | None = None) -> SharedFile:
        """A file over part of this one (a compound segment's member), positions its own."""
        length = max(min(length, self._length - offset), 0)
        return SharedFile(self._data, self._start + offset, length, name or self._name)

    def write(self, *args, **kwargs):
        raise OSError(f"{self._name} is open for reading only")

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Mark the file closed; the bytes belong to the storage, which unmaps them."""
        if not self.is_closed and self.onclose:
            self.onclose(self)
        self.is_closed = True


class SharedStorage(FileStorage):
    """A directory's Whoosh files for searching: each mapped once, read by any thread."""

    def __init__(self, path: str | Path):
        # No mmap as far as Whoosh knows: its compound reader then asks our files for
        # subset() views instead of wrapping its own mmap in one BytesIO.
        super().__init__(str(path), supports_mmap=False, readonly=True)
        self._maps: dict[str, mmap.mmap | bytes] = {}
        self._lock = threading.Lock()
        self._closed = False

    def open_file(self, name: str, **kwargs) -> SharedFile:
        """The named file, over bytes shared with every other open of it."""
        data = self._bytes(name)
        f = SharedFile(data, 0, len(data), name=name)
        f.onclose = kwargs.get("onclose")
        return f

    def _bytes(self, name: str):
        with self._lock:
            if self._closed:
                raise OSError(f"{self.folder} was closed")
            data = self._maps.get(name)
            if data is None:
                data = self._maps[name] = _map(Path(self.folder) / name)
            return data

    def close(self) -> None:
        """Unmap every file (a searcher of this storage must be closed first)."""
        with self._lock:
            self._closed = True
            maps, self._maps = self._maps, {}
        for data in maps.values():
            if isinstance(data, PreadBytes):
                _release(data)
            elif isinstance(data, mmap.mmap):
                with contextlib.suppress(BufferError):  # still exported: the GC unmaps it
                    data.close()


def _map(path: Path):
    if not MAP_FILES:
        return _open_shared(path)
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""  # an empty file cannot be mapped
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


# Each file open for pread in this process, once, however many storages read it (the
# snapshots a server keeps open share their segments): a descriptor each, with its users.
_OPEN: dict[tuple[int, int], list] = {}
_OPEN_LOCK = threading.Lock()


def open_pread(path: Path) -> PreadBytes:
    """The file at path for pread, its descriptor shared within the process (release_pread)."""
    return _open_shared(path)


def release_pread(data: PreadBytes) -> None:
    """Done with a file open_pread gave: its descriptor is closed with its last user."""
    _release(data)


def _open_shared(path: Path) -> PreadBytes:
    """The file at path for pread, shared with every other open of the same file."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino)  # never reused while held: the open descriptor keeps it
    with _OPEN_LOCK:
        entry = _OPEN.get(key)
        if entry is None:
            entry = _OPEN[key] = [PreadBytes(path), 0]
        entry[1] += 1
        return entry[0]


def _release(data: PreadBytes) -> None:
    """One user fewer; the descriptor is closed with the last."""
    with _OPEN_LOCK:
        entry = _OPEN.get(data.key)
        if entry is None or entry[0] is not data:
            data.close()
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _OPEN[data.key]
            data.close()


class PreadBytes:
    """A file's bytes as SharedFile slices them, each slice one pread (no position to share).

    The pages read stay in the kernel's page cache, shared by every process, as a mapped
    file's do, but they are not mapped into the process: its resident memory is its own.
    """

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        st = os.fstat(self._fd)
        self._size, self.key = st.st_size, (st.st_dev, st.st_ino)
        # Each thread's last read, READ_AHEAD bytes or more: a posting block's length, its
        # header and its data, and the next blocks', come from one system call.
        self._local = threading.local()

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, where: slice) -> bytes:
        start, stop, _ = where.indices(self._size)
        if stop <= start:
            return b""
        local = self._local
        at, chunk = getattr(local, "at", 0), getattr(local, "chunk", b"")
        if at <= start and stop <= at + len(chunk):
            return chunk[start - at : stop - at]
        chunk = os.pread(self._fd, max(stop - start, READ_AHEAD), start)
        local.at, local.chunk = start, chunk
        return chunk[: stop - start]

    def pread(self, size: int, offset: int) -> bytes:
        """size bytes at offset (fewer at the end of the file), in one system call, not
        kept for the next read (a posting file's arrays are read where they lie)."""
        return os.pread(self._fd, size, offset)

    def find(self, sub: bytes, start: int, stop: int) -> int:
        """The offset of sub in [start, stop), or -1 (read a block at a time)."""
        while start < stop:
            block = self[start : min(start + FIND_BLOCK, stop)]
            at = block.find(sub)
            if at >= 0:
                return start + at
            if len(block) < len(sub):
                return -1
            start += len(block) - len(sub) + 1
        return -1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def open_shared_index(path: str | Path) -> FileIndex:
    """Open the Whoosh index in a directory for searching by many threads at once."""
    return FileIndex(SharedStorage(path))
