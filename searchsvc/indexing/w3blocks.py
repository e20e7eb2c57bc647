"""A field's postings, grouped by (term, document), written as W3's postings and terms.

    Table (a field's postings in term order, from indexing/collect.py)
    --> encode_positions: each posting's Positions value, for the whole field at once
    --> blocks of BLOCK postings, their statistics by numpy reductions
    --> write_postings: per block a pickle, deflated or not; per term its bytes
    --> add_terms: each term's W3TermInfo into the terms file, many records a write

Whoosh's reader (W3Codec) and the query path read what this writes exactly as they read
what SegmentWriter writes: the bulk writer's docstring (indexing/bulk.py) says where the
bytes differ and why. tests/test_bulk.py compares the two, posting by posting.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from isal import isal_zlib
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.system import pack_int
from whoosh.util.numeric import byte_to_length, length_to_byte

# (module.class, attribute): what this module reads that Whoosh does not publish; see
# tests/test_whoosh_adapters.py. The file format itself is W3's: the test of old against
# new (tests/test_bulk.py) fails if a Whoosh upgrade changes it.
PRIVATE_NAMES = (
    ("whoosh.codec.whoosh3.W3Codec", "_blocklimit"),
    ("whoosh.codec.whoosh3.W3Codec", "_compression"),
    ("whoosh.codec.whoosh3.W3TermInfo", "_struct"),  # its layout, which _TERM_INFO repeats
    # The terms file's writer, whose records add_terms writes many at a time.
    ("whoosh.filedb.filetables.HashWriter", "dbfile"),
    ("whoosh.filedb.filetables.HashWriter", "hashfn"),
    ("whoosh.filedb.filetables.HashWriter", "buckets"),
    ("whoosh.filedb.filetables.OrderedHashWriter", "index"),
    ("whoosh.filedb.filetables.OrderedHashWriter", "lastkey"),
)

BLOCK = W3Codec()._blocklimit  # postings per block, as W3's postings writer cuts them
COMPRESSION = W3Codec()._compression  # zlib level of a block's pickle, as W3 writes it
# Bytes of pickle below which a block is stored as it is: half the blocks of a segment are
# under 100 bytes (a term in one or two documents), and deflating them saves little.
MIN_COMPRESSED = 256
# The pickle protocol of a block's data. W3 pickles it with protocol 2, where a bytes object
# (each posting's Positions value) is pickled as a call of codecs.encode on its latin-1 text:
# read back, the same (ids, weights, values). Protocol 4 pickles bytes as bytes: on a block of
# 128 postings of a White House release, 7.5 against 60 us, and 1.7 against 3.0 KB deflated.
# A reader unpickles either (pickle.loads reads every protocol).
DATA_PROTOCOL = 4
# ISA-L's level for a block: on the blocks of 2,000 White House releases, 0.32 s against
# 0.94 s for zlib at W3's level 3, and 21.3 MB against 19.9 MB (its level 3: 0.41 s, 21.1 MB).
DEFLATE_LEVEL = 1


class Table:
    """A field's postings ordered by (term, document): what the postings file holds."""

    def __init__(self, keys: list[bytes], starts: np.ndarray, docs: np.ndarray) -> None:
        self.keys = keys  # each term's bytes, ascending
        self.starts = starts  # where each term's postings begin; one more at the end
        self.docs = docs  # document numbers
        self.weights: np.ndarray = np.zeros(0)  # float64, as given
        # The values: None (the format stores none), fixed-size bytes back to back, or
        # variable-size bytes with where each posting's begin (one more at the end).
        self.fixed: bytes | None = None
        self.blob: bytes | None = None
        self.offsets: np.ndarray | None = None
        # Each posting's positions (int32), posting after posting: the posting file's.
        self.positions: np.ndarray | None = None


# -- positions as W3's Positions format encodes them, for a whole field at once ------------
#
# A posting's value is pack_uint(count) + pickle.dumps(gaps, 2): the count (4 bytes,
# big-endian), the pickle's start (PROTO 2, EMPTY_LIST, BINPUT 0), a MARK if it holds more
# than one gap, each gap as BININT1, BININT2 or BININT and its 1, 2 or 4 bytes
# (little-endian), then APPENDS (or APPEND for one gap) and STOP. Every piece fits a row of
# five bytes: the count and PROTO, the rest of the start and the MARK, a row per gap, the
# end. The rows are written column by column with numpy, in the order the bytes come, each
# with its length; the value bytes are the rows' first bytes up to their lengths.
_MARK, _APPENDS, _APPEND, _STOP = ord("("), ord("e"), ord("a"), ord(".")
_BININT1, _BININT2, _BININT = ord("K"), ord("M"), ord("J")
_PICKLE_BATCH = 1000  # the pickler's batch of appends: a longer list falls back to pickle
_ROW_BYTES = 5
_ROW = np.dtype({"names": ["op", "value"], "formats": ["u1", "<u4"], "itemsize": _ROW_BYTES})
_COUNT_ROW = np.dtype(
    {"names": ["count", "proto"], "formats": [">u4", "u1"], "itemsize": _ROW_BYTES}
)
_PROTO = 0x80  # then 2: pickle's protocol, the first byte of the next row
_START = int.from_bytes(bytes([0x5D, 0x71, 0x00, _MARK]), "little")  # ] q 0 (: after the 2
_OPCODE = np.array([0, 0, _BININT1, _BININT2, 0, _BININT], dtype=np.uint8)  # by a row's length
# Each length's row mask (its first `length` bytes), as one 5-byte item to gather.
_KEPT = (
    (np.arange(_ROW_BYTES) < np.arange(_ROW_BYTES + 1)[:, None]).astype(np.uint8).view("V5")[:, 0]
)


def encode_positions(pos: np.ndarray, counts: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Each posting's value as formats.Positions.encode gives it, back to back.

    pos holds every posting's positions (ascending within each), posting after posting;
    counts how many each has. Returns the bytes and the n + 1 offsets of the postings.
    """
    n = len(counts)
    counts = counts.astype(np.int64)
    run = np.cumsum(counts) - counts  # where each posting's positions begin in pos
    posting = np.repeat(np.arange(n), counts)  # the posting of each position
    gaps = pos.copy()
    gaps[1:] -= pos[:-1]
    firsts = run[counts > 0]
    gaps[firsts] = pos[firsts]
    size = (gaps >= 256).view(np.int8) + np.int8(2)  # opcode and bytes: 2, 3 or 5
    wide = gaps >= 65536
    if wide.any():
        size[wide] = 5
    # Posting i's rows: its head in two (from head[i]), a row per gap, its end (tail[i]).
    head = run + 3 * np.arange(n)
    tail = head + counts + 2
    rows = np.zeros(len(pos) + 3 * n, dtype=_ROW)
    lengths = np.empty(len(rows), dtype=np.int8)
    first = rows.view(_COUNT_ROW)
    first["count"][head] = counts
    first["proto"][head] = _PROTO
    lengths[head] = 5
    rows["op"][head + 1] = 2
    rows["value"][head + 1] = _START
    lengths[head + 1] = 4 + (counts > 1)
    at = posting * 3 + 2
    at += np.arange(len(pos))
    rows["op"][at] = _OPCODE[size]
    rows["value"][at] = gaps
    lengths[at] = size
    rows["op"][tail] = np.where(counts > 1, _APPENDS, _APPEND)
    rows["value"][tail] = _STOP
    lengths[tail] = 2
    slow: dict[int, bytes] = {}
    for i in np.flatnonzero(counts > _PICKLE_BATCH).tolist():  # pickled in batches
        lengths[head[i] : tail[i] + 1] = 0
        slow[i] = _encode_slowly(pos[run[i] : run[i] + counts[i]])
    sizes = np.add.reduceat(lengths, head, dtype=np.int64) if n else np.zeros(0, np.int64)
    for i, value in slow.items():
        sizes[i] = len(value)
    kept = _KEPT[lengths].view(np.bool_)
    out = rows.view(np.uint8)[kept]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if not slow:
        return out.tobytes(), offsets
    parts: list[bytes] = []  # out lacks the slow ones: each put in at its offset
    done = shift = 0
    for i, value in slow.items():
        start = int(offsets[i]) - shift
        parts += (out[done:start].tobytes(), value)
        done, shift = start, shift + len(value)
    parts.append(out[done:].tobytes())
    return b"".join(parts), offsets


def encode_in_chunks(
    pos: np.ndarray, counts: np.ndarray, chunk: int = 1 << 21
) -> tuple[bytes, np.ndarray]:
    """encode_positions over about chunk positions at a time: its temporaries stay small."""
    ends = np.cumsum(counts)
    blobs, offsets = [], [np.zeros(1, dtype=np.int64)]
    first, done, size = 0, 0, 0
    while first < len(counts):
        stop = max(first + 1, int(np.searchsorted(ends, done + chunk, side="right")))
        end = int(ends[stop - 1])
        blob, at = encode_positions(pos[done:end].astype(np.int64), counts[first:stop])
        blobs.append(blob)
        offsets.append(at[1:] + size)
        first, done, size = stop, end, size + len(blob)
    return b"".join(blobs), np.concatenate(offsets)


def _encode_slowly(positions: np.ndarray) -> bytes:
    return formats.Positions().encode(positions.tolist())


# -- blocks -------------------------------------------------------------------------------


def _compress(data: bytes) -> tuple[bytes, int]:
    """A block's pickle, deflated (and W3's level, for its header: a reader only asks
    whether it is 0), or as it is if short."""
    if len(data) < MIN_COMPRESSED or not COMPRESSION:
        return data, 0
    return isal_zlib.compress(data, DEFLATE_LEVEL), COMPRESSION


@dataclass
class _Blocks:
    """A field's postings cut into blocks, with each block's statistics (numpy reductions)."""

    bounds: np.ndarray  # block j holds postings bounds[j]:bounds[j + 1]
    first: np.ndarray  # each term's first block; one more at the end
    last_id: np.ndarray
    uniform: np.ndarray  # every weight of the block equal (as float32)
    max_weight: np.ndarray  # as given, at least 0 (as W3's postings writer keeps it)
    min_length: np.ndarray  # length bytes: the least non-zero (0 if none), and the greatest
    max_length: np.ndarray

    @classmethod
    def of(cls, table: Table, w32: np.ndarray, doc_lengths: np.ndarray | None) -> _Blocks:
        """Cut each term's postings every BLOCK, as W3's postings writer does."""
        counts = np.diff(table.starts)
        per_term = (counts + BLOCK - 1) // BLOCK
        first = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(per_term, out=first[1:])
        term = np.repeat(np.arange(len(counts)), per_term)
        starts = table.starts[:-1][term] + (np.arange(len(term)) - first[:-1][term]) * BLOCK
        bounds = np.r_[starts, len(table.docs)]
        uniform = np.minimum.reduceat(w32, starts) == np.maximum.reduceat(w32, starts)
        max_weight = np.maximum(np.maximum.reduceat(table.weights, starts), 0.0)
        if doc_lengths is None:  # a field without lengths: W3 writes 0 for both
            min_length = max_length = np.zeros(len(starts), dtype=np.int64)
        else:
            lb = doc_lengths[table.docs]  # each posting's document's length byte
            max_length = np.maximum.reduceat(lb, starts)
            min_length = np.minimum.reduceat(np.where(lb > 0, lb, 256), starts)
            min_length[min_length == 256] = 0
        last_id = table.docs[bounds[1:] - 1]
        return cls(bounds, first, last_id, uniform, max_weight, min_length, max_length)


# A term's info in the terms file (W3TermInfo.to_bytes of a term whose postings are not
# inlined): flags, total weight, documents, length bytes, greatest weight, first and last
# document, then the offset and size of its postings (pack_long, pack_int).
_TERM_INFO = np.dtype(
    [
        ("flags", "u1"),
        ("weight", ">f4"),
        ("df", ">u4"),
        ("min_length", "u1"),
        ("max_length", "u1"),
        ("max_weight", ">f4"),
        ("min_id", ">u4"),
        ("max_id", ">u4"),
        ("offset", ">i8"),
        ("size", ">i4"),
    ]
)
assert _TERM_INFO.itemsize == W3TermInfo._struct.size + 12  # noqa: S101 - the layout is W3's
# length_to_byte(byte_to_length(b)): what a block's length byte becomes in its term's info.
_LENGTH_BYTE = np.array([length_to_byte(byte_to_length(b)) for b in range(256)], np.int64)


def write_postings(postfile, table: Table, fmt, doc_lengths: np.ndarray | None) -> list[bytes]:
    """Write a field's posting lists to postfile; each term's info (W3TermInfo's bytes)."""
    w32 = table.weights.astype(np.float32)  # W3 keeps weights in an array("f")
    blocks = _Blocks.of(table, w32, doc_lengths)
    data = _block_data(table, fmt, blocks, w32)  # each block's, as it is asked for
    heads = zip(
        np.diff(blocks.bounds).tolist(),
        blocks.last_id.tolist(),
        blocks.max_weight.tolist(),
        blocks.min_length.tolist(),
        blocks.max_length.tolist(),
        strict=True,
    )
    # Each term's bytes: the magic number, then per block its size (negative for the
    # term's last), its header (pickled as W3 does) and its data; written a few thousand
    # terms at a time.
    first = blocks.first.tolist()
    sizes = np.zeros(len(table.keys), dtype=np.int64)
    start = postfile.tell()
    pending: list[bytes] = []
    for t in range(len(table.keys)):
        chunks = [WHOOSH3_HEADER_MAGIC]
        last = first[t + 1] - 1
        for j in range(first[t], last + 1):
            block, comp = next(data)
            count, last_id, top, lo, hi = next(heads)
            head = pickle.dumps((count, last_id, top, comp, lo, hi), 2)
            size = len(head) + len(block)
            chunks += (pack_int(-size if j == last else size), head, block)
        term_bytes = b"".join(chunks)
        sizes[t] = len(term_bytes)
        pending.append(term_bytes)
        if len(pending) >= 4096:
            postfile.write(b"".join(pending))
            pending = []
    postfile.write(b"".join(pending))
    infos = _term_infos(table, blocks, w32, sizes, start)
    size = _TERM_INFO.itemsize
    return [infos[at : at + size] for at in range(0, len(infos), size)]


def _term_infos(
    table: Table, blocks: _Blocks, w32: np.ndarray, sizes: np.ndarray, start: int
) -> bytes:
    """Every term's W3TermInfo bytes, back to back (their statistics from its blocks)."""
    starts = table.starts
    first = blocks.first[:-1]
    out = np.zeros(len(table.keys), dtype=_TERM_INFO)
    out["weight"] = np.add.reduceat(w32.astype(np.float64), starts[:-1])
    out["df"] = np.diff(starts)
    shortest = np.minimum.reduceat(np.where(blocks.min_length > 0, blocks.min_length, 256), first)
    out["min_length"] = np.where(shortest == 256, 0, _LENGTH_BYTE[np.minimum(shortest, 255)])
    out["max_length"] = _LENGTH_BYTE[np.maximum.reduceat(blocks.max_length, first)]
    out["max_weight"] = np.maximum.reduceat(blocks.max_weight, first)
    out["min_id"] = table.docs[starts[:-1]]
    out["max_id"] = table.docs[starts[1:] - 1]
    out["offset"] = start + np.cumsum(sizes) - sizes
    out["size"] = sizes
    return out.tobytes()


# A record of the terms file: the sizes of its key and value (HashWriter's), then both.
_RECORD_HEAD = struct.Struct("!ii")


def add_terms(tindex: OrderedHashWriter, keys: list[bytes], infos: list[bytes]) -> None:
    """tindex.add(key, info) for each key (ascending, after any added before): the same
    records and hash entries, the records written in one call."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    dbfile, hashfn, buckets, index = tindex.dbfile, tindex.hashfn, tindex.buckets, tindex.index
    at = dbfile.tell()
    records: list[bytes] = []
    pack = _RECORD_HEAD.pack
    for key, info in zip(keys, infos, strict=True):
        index.append(at)
        h = hashfn(key)
        buckets[h & 255].append((h, at))
        records += (pack(len(key), len(info)), key, info)
        at += _RECORD_HEAD.size + len(key) + len(info)
    dbfile.write(b"".join(records))
    tindex.lastkey = keys[-1]


def _block_data(table: Table, fmt, blocks: _Blocks, w32: np.ndarray) -> Iterator[tuple[bytes, int]]:
    """Each block's pickle of (ids, weights, values) as W3 writes it, compressed or not,
    and its zlib level (0: stored as it is)."""
    docs = table.docs
    gaps = docs.copy()
    gaps[1:] -= docs[:-1]
    starts = blocks.bounds[:-1]
    gaps[starts] = docs[starts]  # W3 delta-encodes the ids of each block from 0
    gap_list, w_list = gaps.tolist(), w32.tolist()
    values = _block_values(table, fmt)
    bounds = blocks.bounds.tolist()
    for j, uniform in enumerate(blocks.uniform.tolist()):
        a, b = bounds[j], bounds[j + 1]
        # One weight for the block (None: 1.0) where all are equal, as W3's _mini_weights.
        weights = (None if w_list[a] == 1.0 else w_list[a]) if uniform else tuple(w_list[a:b])
        yield _compress(pickle.dumps((tuple(gap_list[a:b]), weights, values(a, b)), DATA_PROTOCOL))


_VALUES_AT_ONCE = 1 << 16  # postings' values cut out of a field's blob at a time


def _block_values(table: Table, fmt) -> Callable[[int, int], object]:
    """values(a, b): what W3 pickles as the values of postings a to b (its _mini_values)."""
    size = fmt.fixed_value_size()
    if size is None or size < 0:  # each posting's bytes (W3's Positions)
        blob = table.blob
        assert blob is not None and table.offsets is not None
        at = table.offsets.tolist()
        window: list = [0, 0, []]  # postings w0 to w1 cut out of the blob, as asked (in order)

        def values(a: int, b: int) -> tuple[bytes, ...]:
            w0, w1, parts = window
            if b > w1:
                w0, w1 = a, min(len(at) - 1, max(b, a + _VALUES_AT_ONCE))
                parts = [blob[s:e] for s, e in zip(at[w0:w1], at[w0 + 1 : w1 + 1], strict=True)]
                window[:] = (w0, w1, parts)
            return tuple(parts[a - w0 : b - w0])

        return values
    if size == 0:
        return lambda a, b: None
    fixed = table.fixed
    assert fixed is not None
    return lambda a, b: fixed[a * size : b * size]  # back to back (W3's Frequency)
