"""The forward index: each document's opening as stem ids, written with its segment.

    title, body --opening(): title, a newline, the body; its first SCAN_CHARS characters
        --analysis.WORD_RE, word by word--> stem_term of each word (None: a stop word)
        --a segment's vocabulary (sorted stems, id 1..; 0: no stem)--> int32 ids
    a segment's documents --Builder.write--> MAIN_<segment id>.fwd beside its other files
    a searcher's segments --ForwardIndex--> docnum --> Opening (ids, vocabulary), or None
    their vocabularies --one StemTable a searcher--> a number per stem, the same in every
        segment (the relevance model sums openings of several segments in numbers)

The proximity re-rank and the RM3 relevance model (scoring/) read the openings of the best
few documents of every query. Re-reading their stored text and stemming it again, word by
word, cost about 9 ms a request; the ids are a memory-mapped slice.

The file is four arrays in numpy's .npy format, one after another (``np.load`` reads them
in turn from one open file): a header (FORMAT, SCAN_CHARS, document count), the offsets
of each document's ids (document count + 1, int64), the ids (int32, one per word, stop
words included as 0, so positions are word positions), and the vocabulary (UTF-8, the
stems joined by newlines, id k the k-th). Every document of the segment has its run,
deleted ones too, so a segment's document number is the row.

Whoosh names a segment's files ``MAIN_<id>.<ext>``: its clean-up removes this one with its
segment, and the checksums of the manifest (integrity.py) list it with the others. It is
written before the table of contents that names the segment, so a committed segment has
it; a segment written by an older version has none, and its documents are re-read from
their stored text (ForwardIndex.opening returns None), as are those of a file written with
another SCAN_CHARS or FORMAT.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from searchsvc.analysis import WORD_RE, WordIds, stem_term, words

EXT = ".fwd"
FORMAT = 1
SCAN_CHARS = 3_000  # of a long release: its opening states its subject (as a news lede does)


def opening(title: str, body: str) -> str:
    """The text of a document that proximity and feedback read: its title and body's start."""
    # As the exact field reads it (title, newline, body), so positions agree with the index's.
    return f"{title}\n{body}"[:SCAN_CHARS]


def opening_stems(text: str) -> list[str | None]:
    """Each word of an opening's text, as its stem (None for a stop word)."""
    return [stem_term(w) or None for w in WORD_RE.findall(text)]


class Builder:
    """A segment's forward index as documents are added (in document-number order)."""

    def __init__(self) -> None:
        self.word_ids = WordIds(self._new_word)  # word -> provisional stem id (0: no stem)
        self.stems: list[str] = [""]  # provisional id -> stem
        self.runs: list[np.ndarray] = []

    def add(self, title: str | None, body: str | None) -> None:
        """Add the next document (a missing title or body counts as empty, as stored)."""
        found = words(opening(title or "", body or ""))
        seq = self.word_ids.of(found)
        self.runs.append(np.array(seq, dtype=np.int32))

    def _new_word(self, word: str) -> int:
        # A word new to the segment: a provisional id of its stem (0: none).
        stem = stem_term(word)
        if not stem:
            return 0
        self.stems.append(stem)  # a stem may get several ids: merged in write
        return len(self.stems) - 1

    def write(self, folder: str | Path, segment_id: str) -> Path:
        """Write the file of segment_id into folder (before a table of contents names it)."""
        names = sorted(set(self.stems[1:]))
        rank = {stem: k for k, stem in enumerate(names, start=1)}
        remap = np.array([0, *(rank[s] for s in self.stems[1:])], dtype=np.int32)
        lengths = np.array([len(r) for r in self.runs], dtype=np.int64)
        offsets = np.zeros(len(self.runs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(self.runs) if self.runs else np.zeros(0, dtype=np.int32)
        header = np.array([FORMAT, SCAN_CHARS, len(self.runs)], dtype=np.int64)
        vocab = np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8)
        return write_vectors(folder, segment_id, EXT, (header, offsets, remap[flat], vocab))


def build(folder: str | Path, segment_id: str, rows) -> Path:
    """Write a segment's file from (title, body) of each of its documents, in order."""
    builder = Builder()
    for title, body in rows:
        builder.add(title, body)
    return builder.write(folder, segment_id)


class StemTable:
    """The stems of several vocabularies (a searcher's segments), each numbered once.

    Two segments number their stems apart; a number from the table is the same stem in
    either, so the relevance model sums the openings of several segments in numbers, and
    only the stems it keeps are read as text. Numbers are given as stems are first asked
    for (Vocabulary.numbers), so the table holds the stems of the openings read so far.
    """

    def __init__(self) -> None:
        self.stems: list[str] = []  # number k -> its stem
        self._numbers: dict[str, int] = {}
        self._lock = threading.Lock()

    def numbers(self, stems: Iterable[str]) -> list[int]:
        """Each stem's number, new stems numbered in turn."""
        with self._lock:
            known, out = self._numbers, []
            for stem in stems:
                number = known.get(stem)
                if number is None:
                    number = known[stem] = len(self.stems)
                    self.stems.append(stem)
                out.append(number)
            return out


class Vocabulary:
    """A segment's stems: id -> stem, and stem -> id by binary search (sorted)."""

    def __init__(self, blob: np.ndarray, table: StemTable | None = None) -> None:
        self._blob = blob
        self._stems: list[str] | None = None
        self._lock = threading.Lock()
        self.table = table or StemTable()  # shared by the vocabularies of one searcher
        self._numbers: np.ndarray | None = None  # id -> its table number (-1: not asked yet)

    @property
    def stems(self) -> list[str]:
        """Every stem, id k at index k (index 0: the empty stem of stop words)."""
        if self._stems is None:
            with self._lock:
                if self._stems is None:
                    text = self._blob.tobytes().decode("utf-8")
                    self._stems = ["", *text.split("\n")] if text else [""]
        return self._stems

    def id_of(self, stem: str) -> int:
        """The stem's id, or -1 if no document of the segment has it."""
        stems = self.stems
        k = bisect.bisect_left(stems, stem, 1)
        return k if k < len(stems) and stems[k] == stem else -1

    def numbers(self, ids: np.ndarray) -> np.ndarray:
        """The table's number of each id's stem (int64), numbering those not asked before."""
        numbers = self._numbers
        if numbers is None:
            size = len(self.stems)  # (its own lock: read before taking it)
            with self._lock:
                if self._numbers is None:
                    self._numbers = np.full(size, -1, dtype=np.int32)
                numbers = self._numbers
        found = numbers[ids]
        if (found < 0).any():
            new = np.unique(ids[found < 0])
            # Any thread writes a stem's one number: a race writes the same values twice.
            numbers[new] = self.table.numbers(map(self.stems.__getitem__, new.tolist()))
            found = numbers[ids]
        return found.astype(np.int64)


@dataclass(frozen=True)
class Opening:
    """One document's opening: a stem id per word (0: a stop word) and their vocabulary."""

    ids: np.ndarray
    vocab: Vocabulary


@dataclass
class _Segment:
    base: int
    count: int
    offsets: np.ndarray | None = None
    ids: np.ndarray | None = None
    vocab: Vocabulary | None = None


class ForwardIndex:
    """The forward files of a searcher's segments, memory-mapped as they are first read."""

    def __init__(self, folder: str | Path, leaves: Sequence[tuple[str, int, int]]) -> None:
        """`leaves`: each segment's (id, first document number, document count)."""
        self.folder = Path(folder)
        self.segment_names = [leaf[0] for leaf in leaves]
        self._segs = [_Segment(base, count) for _, base, count in leaves]
        self._bases = np.array([s.base for s in self._segs], dtype=np.int64)
        self._opened = [False] * len(leaves)
        self._lock = threading.Lock()
        self._table = StemTable()  # one numbering of the stems of every segment's vocabulary

    def opening(self, docnum: int) -> Opening | None:
        """The document's opening, or None if its segment has no (usable) forward file."""
        k = int(np.searchsorted(self._bases, docnum, side="right")) - 1
        if k < 0:
            return None
        if not self._opened[k]:
            self._open(k)
        seg = self._segs[k]
        row = docnum - seg.base
        if seg.ids is None or seg.offsets is None or seg.vocab is None or row >= seg.count:
            return None
        start, end = int(seg.offsets[row]), int(seg.offsets[row + 1])
        return Opening(seg.ids[start:end], seg.vocab)

    def _open(self, k: int) -> None:
        with self._lock:
            if self._opened[k]:
                return
            seg = self._segs[k]
            with contextlib.suppress(OSError, ValueError):
                arrays = _read(self.folder / f"{self.segment_names[k]}{EXT}")
                header, offsets, ids, blob = arrays
                usable = header.tolist() == [FORMAT, SCAN_CHARS, seg.count]
                if usable and len(offsets) == seg.count + 1 and offsets[-1] == len(ids):
                    seg.offsets, seg.ids, seg.vocab = offsets, ids, Vocabulary(blob, self._table)
            self._opened[k] = True

    @property
    def covered(self) -> int:
        """How many segments have a usable forward file (opening each)."""
        for k in range(len(self._segs)):
            if not self._opened[k]:
                self._open(k)
        return sum(seg.ids is not None for seg in self._segs)


HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def write_vectors(
    folder: str | Path, segment_id: str, ext: str, arrays: Iterable[np.ndarray]
) -> Path:
    """Write a segment's side file (forward, posting, doc values): its one-dimensional
    arrays in .npy format one after another, replacing MAIN_<segment>.<ext> atomically."""
    path = Path(folder) / f"{segment_id}{ext}"
    tmp = path.with_name(f"{path.name}.tmp")  # Whoosh's clean-up removes it if orphaned
    with open(tmp, "wb") as f:
        for array in arrays:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
    os.replace(tmp, path)
    return path


def read_vector_header(f, what: str) -> tuple[int, np.dtype]:
    """The length and dtype of the one-dimensional .npy array whose header f is at (f
    left at its data); ValueError for another layout. `what`: the file's kind, for errors.
    """
    version = np.lib.format.read_magic(f)
    read_header = HEADER_READERS.get(version)
    if read_header is None:
        raise ValueError(f"{what}: .npy version {version}")
    shape, fortran, dtype = read_header(f)
    if fortran or dtype.hasobject or len(shape) != 1:
        raise ValueError(f"not {what}")
    return shape[0], dtype


def _read(path: Path) -> list[np.ndarray]:
    """The file's four arrays, each memory-mapped (read-only) where it lies in the file."""
    out: list[np.ndarray] = []
    with open(path, "rb") as f:
        for _ in range(4):
            length, dtype = read_vector_header(f, f"{path.name}: a forward index")
            start = f.tell()
            size = length * dtype.itemsize
            if length:
                mapped = np.memmap(path, dtype=dtype, mode="r", offset=start, shape=(length,))
                out.append(np.asarray(mapped))  # a plain view: memmap's wrapping costs per op
            else:
                out.append(np.zeros(0, dtype=dtype))
            f.seek(start + size)
    return out
