"""The posting file: a segment's posting lists and positions as flat numpy arrays.

    a segment's postings of each field the query path reads (FIELDS): its terms, sorted,
        each with its document numbers (ascending), weights and (a field that keeps them)
        positions --Builder.add_field--> Builder.write --> MAIN_<segment id>.postings
        beside the segment's other files, before the table of contents names the segment
    a searcher's segments --PostingFiles.postings(segment, field, term)--> ids and weights:
        a binary search of the field's vocabulary (a sample of its terms, then the few
        after), then three preads (the term's two offsets, its ids, its weights); None
        where a segment has no usable file
    --PostingFiles.with_positions--> TermPositions: the ids, and the positions of the
        postings asked (one pread of their span, or one each for a few)

The ranker reads title and body (every word of a query), the exact field (a phrase's
candidates) and the facet text fields (source:trend) as arrays of document numbers and
weights (scoring/postings.py); phrases read the exact field's positions (phrases.py). W3
keeps them in blocks of 128, each a pickle, zlib-deflated: at 10x the White House corpus,
inflating and unpickling them was 43% of a served request's posting lookups, and a phrase
of common words decoded every block of "the" holding a candidate. Here a term's postings
are one slice of two arrays, and a posting's positions a slice of a third, read as they lie.

The file is numpy .npy arrays, one after another (as forward.py's): a header (FORMAT, the
segment's document count, the number of fields), the fields' names (UTF-8, joined by
newlines), then per field, in name order: its vocabulary (the terms' UTF-8 bytes, sorted,
joined by newlines), per-term offsets (int64, terms + 1: term k's postings are offsets[k]
to offsets[k + 1]), ids (int32, segment document numbers, ascending per term), weights
(float32: what W3 stores and segments.posting_arrays returns, the term's frequency times
the field's boost), per-term position offsets (int64, terms + 1) and positions (int32,
posting after posting, ascending within each); both empty for a field without positions.
A posting's positions start at its term's position offset plus the weights of the term's
postings before it: kept only where each weight is the posting's number of positions (a
field boost of 1), which the writer checks. Deleted documents are in, as in W3's
postings: the caller masks them.

Read with pread (indexing/shared_storage.py: one descriptor per file per process), not
memory-mapped: a serving worker's resident memory does not grow by the pages it reads.
Each segment's file is opened when first read; its layout is read then, each field's
vocabulary when the field is first asked of it (a bytes object and the start of each term).

Whoosh names a segment's files ``MAIN_<id>.<ext>``: its clean-up removes this one with its
segment, and the integrity manifest (integrity.py) lists it with the others. Not ``.pst``:
W3 writes its own postings file so in a segment that is not compound. A segment written by
an older version has none; a file of another FORMAT, for another document count, or
unreadable counts as none: those segments are read from W3's blocks, as before, with the
same answers.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from searchsvc.indexing.forward import read_vector_header, write_vectors
from searchsvc.indexing.shared_storage import PreadBytes, open_pread, release_pread
from searchsvc.schema import QUERY_FIELDS

# Not ".pst": W3 names its own postings file so, and writes it beside the others in a
# segment that is not compound.
EXT = ".postings"
FORMAT = 1
# The fields whose posting lists the query path reads as arrays (scoring/postings.py).
FIELDS = tuple(dict.fromkeys(("title", "body", "exact", *QUERY_FIELDS)))

_SEPARATOR = b"\n"
# vocabulary, offsets, ids, weights, position offsets and positions (none: 0 items each)
_ARRAYS_PER_FIELD = 6


class Builder:
    """A segment's posting file, a field at a time (in any order)."""

    def __init__(self, doc_count: int) -> None:
        self.doc_count = doc_count
        self.fields: dict[str, tuple[np.ndarray, ...]] = {}

    def add_field(
        self,
        name: str,
        terms: Sequence[bytes],
        starts: np.ndarray,
        ids: np.ndarray,
        weights: np.ndarray,
        positions: np.ndarray | None = None,
    ) -> None:
        """A field's postings ordered by (term, document): terms (UTF-8, ascending), where
        each term's postings start (terms + 1), their document numbers and weights, and
        (None: the field keeps none) every posting's positions, posting after posting.

        A field whose terms cannot be joined by newlines (one holds a newline) is left out:
        its segment's postings of it are then read from W3's blocks. Positions are kept
        only where each posting's weight is its number of positions (a field boost of 1).
        """
        if any(_SEPARATOR in t for t in terms):
            self.fields.pop(name, None)
            return
        vocab = np.frombuffer(_SEPARATOR.join(terms), dtype=np.uint8)
        offsets = np.asarray(starts, dtype=np.int64)
        if len(offsets) != len(terms) + 1 or (len(terms) and offsets[-1] != len(ids)):
            raise ValueError(f"{name}: {len(terms)} terms, {len(offsets)} offsets")
        w32 = np.asarray(weights, dtype=np.float32)
        pos_offsets, flat = _NO_OFFSETS, _NO_POSITIONS
        if positions is not None and _counts_positions(w32, len(positions)):
            before = np.zeros(len(w32) + 1, dtype=np.int64)  # positions before each posting
            np.cumsum(w32.astype(np.int64), out=before[1:])
            pos_offsets = before[offsets]
            flat = np.asarray(positions, dtype=np.int32)
        self.fields[name] = (
            vocab,
            offsets,
            np.asarray(ids, dtype=np.int32),
            w32,
            pos_offsets,
            flat,
        )

    def add_postings(self, name: str, postings: Iterable[tuple]):
        """A field from each term's (bytes, ids, weights, positions or None), terms
        ascending; positions: the term's postings' positions, concatenated."""
        terms: list[bytes] = []
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        positions: list[np.ndarray] | None = []
        for term, term_ids, term_weights, term_positions in postings:
            terms.append(term)
            ids.append(term_ids)
            weights.append(term_weights)
            if term_positions is None:
                positions = None
            elif positions is not None:
                positions.append(term_positions)
        starts = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in ids], out=starts[1:])
        self.add_field(
            name,
            terms,
            starts,
            np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32),
            np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32),
            None if not positions else np.concatenate(positions),
        )

    def write(self, folder: str | Path, segment_id: str) -> Path:
        """Write the file of segment_id into folder (before a table of contents names it)."""
        names = sorted(self.fields)
        header = np.array([FORMAT, self.doc_count, len(names)], dtype=np.int64)
        listed = np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8)
        arrays: list[np.ndarray] = [header, listed]
        arrays += [a for name in names for a in self.fields[name]]
        return write_vectors(folder, segment_id, EXT, arrays)


_NO_OFFSETS = np.zeros(0, dtype=np.int64)
_NO_POSITIONS = np.zeros(0, dtype=np.int32)


def _counts_positions(weights: np.ndarray, positions: int) -> bool:
    """Whether the weights are whole counts summing to the number of positions."""
    return bool(
        np.all(weights >= 0)
        and np.array_equal(weights, np.floor(weights))
        and int(weights.astype(np.int64).sum()) == positions
    )


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Array:
    """Where one array's items lie in the file."""

    start: int
    dtype: np.dtype
    count: int


@dataclass
class _Field:
    vocab: _Array
    offsets: _Array
    ids: _Array
    weights: _Array
    pos_offsets: _Array
    positions: _Array
    blob: bytes | None = None  # the vocabulary, read when the field is first asked
    starts: np.ndarray | None = None  # where each term begins in blob; one more at the end
    # Every SAMPLE_EVERY-th term, and starts as Python reads it (_term_number's search:
    # a memoryview made each lookup cost 0.45 us of its 2.8).
    samples: list[bytes] = field(default_factory=list)
    marks: memoryview | None = None
    # The numbers of the terms last looked up (at most KEPT_NUMBERS, then forgotten at once).
    numbers: dict[bytes, int] = field(default_factory=dict)


@dataclass
class _Segment:
    name: str
    count: int
    data: PreadBytes | None = None
    fields: dict[str, _Field] = field(default_factory=dict)


class PostingFiles:
    """The posting files of a searcher's segments, each opened when first read."""

    def __init__(self, folder: str | Path, leaves: Sequence[tuple[str, int, int]]) -> None:
        """`leaves`: each segment's (id, first document number, document count)."""
        self.folder = Path(folder)
        self._segs = [_Segment(name, count) for name, _, count in leaves]
        self._opened = [False] * len(leaves)
        self._lock = threading.Lock()
        self._open_files: list[PreadBytes] = []
        # The descriptors are released with this object (the searcher's ranker) or close().
        self._finalizer = weakref.finalize(self, _release_all, self._open_files)

    def postings(self, k: int, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Segment k's document numbers of term in fieldname (int32, ascending) and their
        weights (float32); empty if no document of it has the term; None if the segment
        has no usable file for the field (the caller reads W3's blocks)."""
        seg, found = self._field(k, fieldname)
        if found is None or seg.data is None:
            return None
        try:
            number = _term_number(seg.data, found, term.encode("utf-8"))
            return _read_term(seg.data, found, number, seg.count)
        except (OSError, ValueError):
            return None

    def doc_frequency(self, k: int, fieldname: str, term: str) -> int | None:
        """How many of segment k's documents hold term in fieldname (deleted ones too, as
        W3's term infos count them): its two offsets, one pread; None if the segment has no
        usable file for the field (the caller asks Whoosh's terms)."""
        seg, found = self._field(k, fieldname)
        if found is None or seg.data is None:
            return None
        try:
            number = _term_number(seg.data, found, term.encode("utf-8"))
            lo, hi = _span(seg.data, found, number) if number >= 0 else (0, 0)
        except (OSError, ValueError):
            return None
        return hi - lo

    def with_positions(self, k: int, fieldname: str, term: str) -> TermPositions | None:
        """Segment k's postings of term in fieldname with their positions (empty if no
        document of it has the term), or None if its file keeps no positions of the field."""
        seg, found = self._field(k, fieldname)
        if found is None or seg.data is None or not found.pos_offsets.count:
            return None
        try:
            number = _term_number(seg.data, found, term.encode("utf-8"))
            ids, weights = _read_term(seg.data, found, number, seg.count)
            first = last = 0
            if number >= 0:
                first, last = (
                    int(x) for x in _read(seg.data, found.pos_offsets, number, number + 2)
                )
            if not 0 <= first <= last <= found.positions.count:
                raise ValueError("position offsets out of range")
            if int(weights.astype(np.int64).sum()) != last - first:
                raise ValueError("weights and positions disagree")
        except (OSError, ValueError):
            return None
        return TermPositions(seg.data, found.positions, first, ids, weights)

    def words(self, k: int, fieldname: str, prefix: bytes = b"") -> list[bytes] | None:
        """Segment k's terms of fieldname that start with prefix, in order, from the file's
        vocabulary (split at once, where Whoosh's terms file yields one term a call: at 10x
        the corpus, every word of the exact field in 0.4 s against 5.8); None if the segment
        has no usable file for the field (the caller reads Whoosh's terms)."""
        seg, found = self._field(k, fieldname)
        if found is None or seg.data is None:
            return None
        try:
            blob, starts = _vocabulary(seg.data, found)
        except (OSError, ValueError):
            return None
        n = len(starts) - 1

        def head(i: int) -> bytes:  # term i's first len(prefix) bytes
            return blob[starts[i] : min(starts[i] + len(prefix), starts[i + 1] - 1)]

        lo = bisect.bisect_left(range(n), prefix, key=head) if prefix else 0
        hi = bisect.bisect_right(range(n), prefix, key=head) if prefix else n
        return blob[starts[lo] : starts[hi] - 1].split(_SEPARATOR) if lo < hi else []

    def _field(self, k: int, fieldname: str) -> tuple[_Segment, _Field | None]:
        """Segment k (opened now if it was not) and its file's field, if it has one."""
        if not self._opened[k]:
            self._open(k)
        seg = self._segs[k]
        return seg, seg.fields.get(fieldname)

    def covered(self, fieldname: str) -> int:
        """How many segments have a usable file holding fieldname (opening each)."""
        for k in range(len(self._segs)):
            if not self._opened[k]:
                self._open(k)
        return sum(fieldname in seg.fields and seg.data is not None for seg in self._segs)

    def close(self) -> None:
        """Release the files' descriptors (reading again reopens nothing: None)."""
        with self._lock:
            self._opened = [True] * len(self._segs)
            for seg in self._segs:
                seg.data, seg.fields = None, {}
        self._finalizer()

    def _open(self, k: int) -> None:
        with self._lock:
            if self._opened[k]:
                return
            seg = self._segs[k]
            data = None
            with contextlib.suppress(OSError, ValueError):
                data = open_pread(self.folder / f"{seg.name}{EXT}")
                fields = _layout(data, seg.count)
                seg.data, seg.fields = data, fields
                self._open_files.append(data)
                data = None
            if data is not None:  # opened but unusable
                release_pread(data)
            self._opened[k] = True


def _release_all(files: list[PreadBytes]) -> None:
    while files:
        release_pread(files.pop())


_HEADER_BYTES = 4096  # an .npy header is 128 bytes here; numpy allows up to 64 KiB


def _layout(data: PreadBytes, count: int) -> dict[str, _Field]:
    """Where each field's arrays lie; ValueError if this is not a usable posting file."""
    arrays: list[_Array] = []
    pos = 0

    def next_array() -> _Array:
        nonlocal pos
        head = io.BytesIO(data.pread(_HEADER_BYTES, pos))
        length, dtype = read_vector_header(head, "a posting file")
        found = _Array(pos + head.tell(), dtype, length)
        pos = found.start + found.count * dtype.itemsize
        arrays.append(found)
        return found

    header = next_array()
    if header.count != 3:
        raise ValueError("not a posting file")
    values = _read(data, header, 0, 3).tolist()
    if values[:2] != [FORMAT, count]:
        raise ValueError(f"format {values[0]}, {values[1]} documents")
    listed = next_array()
    names = _read(data, listed, 0, listed.count).tobytes().decode("utf-8")
    names_list = names.split("\n") if names else []
    if len(names_list) != values[2]:
        raise ValueError("fields")
    fields = {}
    for name in names_list:
        vocab, offsets, ids, weights, pos_offsets, positions = (
            next_array() for _ in range(_ARRAYS_PER_FIELD)
        )
        found = _Field(vocab, offsets, ids, weights, pos_offsets, positions)
        if (
            found.vocab.dtype != np.uint8
            or found.offsets.dtype.kind != "i"
            or found.ids.dtype.kind != "i"
            or found.weights.dtype.kind != "f"
            or found.ids.count != found.weights.count
            or not found.offsets.count
            or _last(data, found.offsets) != found.ids.count
            or found.pos_offsets.dtype.kind != "i"
            or found.positions.dtype.kind != "i"
            or found.pos_offsets.count not in (0, found.offsets.count)
            or (found.pos_offsets.count and _last(data, found.pos_offsets) != found.positions.count)
        ):
            raise ValueError(f"{name}: not a posting file's field")
        fields[name] = found
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after the arrays")
    return fields


def _last(data: PreadBytes, array: _Array) -> int:
    return int(_read(data, array, array.count - 1, array.count)[0])


def _read(data: PreadBytes, array: _Array, lo: int, hi: int) -> np.ndarray:
    """Items lo to hi of an array, read with one pread."""
    size = array.dtype.itemsize
    raw = data.pread((hi - lo) * size, array.start + lo * size)
    if len(raw) != (hi - lo) * size:
        raise ValueError("the file is shorter than its arrays")
    return np.frombuffer(raw, dtype=array.dtype)


def _vocabulary(data: PreadBytes, found: _Field) -> tuple[bytes, np.ndarray]:
    """The field's terms (bytes joined by newlines) and where each starts, read once."""
    if found.blob is None or found.starts is None:
        blob = _read(data, found.vocab, 0, found.vocab.count).tobytes()
        cuts = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == _SEPARATOR[0])
        starts = np.concatenate(([0], cuts + 1, [len(blob) + 1])) if blob else np.zeros(1, int)
        if len(starts) != found.offsets.count:
            raise ValueError("the vocabulary and the offsets disagree")
        starts = starts.astype(np.int64)
        ends = starts[1:] - 1
        found.samples = [
            blob[a:b]
            for a, b in zip(
                starts[:-1:SAMPLE_EVERY].tolist(), ends[::SAMPLE_EVERY].tolist(), strict=True
            )
        ]
        found.marks = starts.data  # a memoryview: its items are Python ints
        found.blob, found.starts = blob, starts  # the others first: no lock
    return found.blob, found.starts


# One term in this many is kept as bytes: a term is looked for among the samples (bisect
# in C), then among the few terms after its sample. A binary search of the whole
# vocabulary, term by term through a key function, took 5.2 us (45,330 terms) and was a
# twentieth of a cold query at 10x the corpus.
SAMPLE_EVERY = 32


# Term numbers kept per segment and field: a query's words are looked up in each segment
# by every reader of its lists (the posting cache, the candidates' lookups, the speller's
# frequencies, phrases); at 10x the lookups were 5.5% of a served worker's time.
KEPT_NUMBERS = 1024


def _term_number(data: PreadBytes, found: _Field, term: bytes) -> int:
    """The term's number in the field's vocabulary, or -1 if absent."""
    kept = found.numbers.get(term)
    if kept is None:
        kept = _look_up(data, found, term)
        if len(found.numbers) >= KEPT_NUMBERS:
            found.numbers.clear()
        found.numbers[term] = kept
    return kept


def _look_up(data: PreadBytes, found: _Field, term: bytes) -> int:
    blob, starts = _vocabulary(data, found)
    marks = found.marks
    assert marks is not None
    n = len(starts) - 1
    # The k-th term is blob[marks[k]:marks[k + 1] - 1] (its newline left out).
    lo = max(bisect.bisect_right(found.samples, term) - 1, 0) * SAMPLE_EVERY
    hi = min(lo + SAMPLE_EVERY, n)
    k = bisect.bisect_left(range(lo, hi), term, key=lambda i: blob[marks[i] : marks[i + 1] - 1])
    k += lo
    return k if k < n and blob[marks[k] : marks[k + 1] - 1] == term else -1


def _read_term(data: PreadBytes, found: _Field, k: int, count: int):
    """The ids and weights of the field's term number k (-1: none, empty arrays)."""
    if k < 0:
        return _EMPTY
    lo, hi = _span(data, found, k)
    ids = _read(data, found.ids, lo, hi)
    if len(ids) and (ids[0] < 0 or ids[-1] >= count):
        raise ValueError("document numbers out of range")
    return ids, _read(data, found.weights, lo, hi)


def _span(data: PreadBytes, found: _Field, k: int) -> tuple[int, int]:
    """Where the field's term number k's postings lie in its ids and weights."""
    lo, hi = (int(x) for x in _read(data, found.offsets, k, k + 2))
    if not 0 <= lo <= hi <= found.ids.count:
        raise ValueError("offsets out of range")
    return lo, hi


_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))

# Postings whose positions are read one pread each; more are read in one pread of the span
# from the first to the last (a common word's candidates lie all over its list).
FEW_POSTINGS = 16


class TermPositions:
    """One term's postings in a segment, and their positions as asked."""

    def __init__(self, data: PreadBytes, positions: _Array, first: int, ids, weights) -> None:
        self.ids = ids.astype(np.int64)  # segment document numbers, ascending
        self.lengths = weights.astype(np.int64)  # each posting's number of positions
        self._starts = first + np.cumsum(self.lengths) - self.lengths  # in the field's array
        self._data, self._positions = data, positions

    def positions(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the postings at indices at (ascending), concatenated (int64),
        and how many each has."""
        lens = self.lengths[at]
        starts = self._starts[at]
        total = int(lens.sum())
        if not total:
            return np.zeros(0, dtype=np.int64), lens
        if len(at) <= FEW_POSTINGS:
            parts = [
                _read(self._data, self._positions, int(s), int(s + n))
                for s, n in zip(starts.tolist(), lens.tolist(), strict=True)
                if n
            ]
            return np.concatenate(parts).astype(np.int64), lens
        lo, hi = int(starts[0]), int(starts[-1] + lens[-1])
        span = _read(self._data, self._positions, lo, hi)
        # Index of every wanted position: each posting's run, back to back.
        idx = np.arange(total) + np.repeat(starts - lo - (np.cumsum(lens) - lens), lens)
        return span[idx].astype(np.int64), lens
