"""Posting lists and field lengths as numpy arrays, read once per searcher and cached.

    (field, word) --each segment's posting file (indexing/postfile.py): one slice of its
        arrays; a segment without one: its posting blocks--> document numbers and term
        frequencies
    field --each segment's length column--> every document's length in that field

Whoosh hands postings out one at a time through matcher objects, a Python call per
posting. A segment's posting file holds the same postings as flat arrays, read with pread
where they lie. A segment without one (written by an older version) is read by the reading
adapter (indexing/segments.py), which walks its W3 codec's blocks of up to 128 whole,
inflating and unpickling each: about a millisecond for a posting list of 14,000 documents.
"""

from __future__ import annotations

import numpy as np

from searchsvc.caching import LruCache
from searchsvc.indexing import (
    PostingFiles,
    length_column,
    length_of_byte,
    numeric_array,
    open_postings,
    posting_arrays,
    posting_blocks,
    posting_files,
)

# Postings kept in memory per searcher (8 bytes each: int32 ids, float32 frequencies, both
# exact): common words repeat across queries, so most of a query's words are read from disk
# once per index state. 4 million held the workload of bench/speed.py at 1x the White
# House corpus but not at 10x, where each common word then was decoded again every query.
# 16 million thrashed at 10x on the HTTP benchmark's distinct queries (800 of them ask 37.7
# million postings; 16 million decoded twice that): 48 million is 384 MB at most, paid for
# by reading the index with pread (a worker's RSS no longer counts its pages).
CACHE_POSTINGS = 48_000_000

# byte -> length, as Whoosh stores field lengths in one byte each.
_LENGTH_OF_BYTE = np.array([length_of_byte(b) for b in range(256)], dtype=np.float64)

# Document numbers (int64 from blocks, int32 from posting files and once cached), frequencies
# (float64 from blocks, float32 from posting files and once cached).
Postings = tuple[np.ndarray, np.ndarray]

_EMPTY: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


class PostingCache:
    """A reader's posting lists as arrays, the most recently used kept in memory."""

    def __init__(self, reader, budget: int = CACHE_POSTINGS, files: bool = True):
        """files: read the segments' posting files where they have them (False: W3's
        blocks only, as an index without them is read)."""
        self.reader = reader
        self.files = posting_files(reader) if files else None
        self._lists: LruCache[tuple[str, str], Postings] = LruCache(budget, cost=_count)

    def get(self, fieldname: str, text: str) -> Postings:
        """The document numbers holding text in fieldname, and how often each holds it."""
        found = self._lists.get((fieldname, text))
        if found is None:
            found = _compact(read_postings(self.reader, fieldname, text, files=self.files))
            self._lists.put((fieldname, text), found)
        return found

    def near(self, fieldname: str, text: str, ids: np.ndarray) -> Postings:
        """The word's postings at least at the sorted document numbers ids: the whole list
        if kept, else only its blocks whose range holds one of ids (read, not kept).

        At many times the corpus a common word's list outgrows the cache; scoring a few
        candidates then costs the blocks that hold them, not the whole list.
        """
        found = self._lists.get((fieldname, text))
        if found is None:
            return read_postings(self.reader, fieldname, text, among=ids, files=self.files)
        return found

    def cached(self, fieldname: str, text: str) -> bool:
        """Whether the word's postings are in memory."""
        return (fieldname, text) in self._lists


def _compact(postings: Postings) -> Postings:
    """The same postings in half the memory, where int32 and float32 hold them exactly.

    Frequencies are whole numbers (float32 is exact below 2**24), so scores do not change.
    """
    ids, tf = postings
    if ids.dtype == np.int32 and tf.dtype == np.float32:  # read so from posting files
        return postings
    if len(ids) and ids[-1] >= 2**31:
        return postings
    narrow = tf.astype(np.float32)
    return ids.astype(np.int32), narrow if np.array_equal(narrow, tf) else tf


def _count(postings: Postings) -> int:
    return len(postings[0])


def read_postings(
    reader,
    fieldname: str,
    text: str,
    among: np.ndarray | None = None,
    files: PostingFiles | None = None,
) -> Postings:
    """The postings of one word in one field, over every segment.

    among (sorted document numbers; None: every posting): only the postings at them are
    kept of a segment's posting file, and of a segment without one only the blocks whose
    range of ids holds one of them are read: every posting at among is there, maybe others.
    files: the segments' posting files (None: every segment's blocks are read).
    """
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for k, (leaf, base) in enumerate(reader.leaf_readers()):
        local = None
        if among is not None:
            lo, hi = np.searchsorted(among, [base, base + leaf.doc_count_all()])
            local = among[lo:hi] - base
            if not len(local):
                continue
        found = None if files is None else files.postings(k, fieldname, text)
        if found is not None:
            leaf_ids, leaf_weights = found
            if local is not None and len(leaf_ids):
                at = np.minimum(np.searchsorted(leaf_ids, local), len(leaf_ids) - 1)
                hit = at[leaf_ids[at] == local]
                leaf_ids, leaf_weights = leaf_ids[hit], leaf_weights[hit]
            # Kept int32 and float32 (exact: frequencies are whole numbers below 2**24).
            top = base + leaf.doc_count_all()
            ids.append(leaf_ids + (np.int32(base) if top < 2**31 else np.int64(base)))
            weights.append(leaf_weights)
            continue
        matcher = open_postings(leaf, fieldname, text)
        if matcher is None:
            continue
        if local is None:
            leaf_ids, leaf_weights = posting_arrays(matcher)
        else:
            leaf_ids, leaf_weights = _blocks_within(matcher, local)
        ids.append(leaf_ids + base)
        weights.append(leaf_weights)
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def _blocks_within(matcher, among: np.ndarray) -> Postings:
    """The postings of the blocks whose range of ids, (last id before, last id], holds one
    of the sorted segment document numbers among."""

    def wanted(last: int, top: int) -> bool:
        i = int(np.searchsorted(among, last, "right"))
        return i < len(among) and among[i] <= top

    ids: list[int] = []
    weights: list[float] = []
    for block in posting_blocks(matcher, weights=True, wanted=wanted):
        ids += block.ids
        weights += block.weights
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def field_lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length in fieldname (in words, as Whoosh stores it)."""
    out = np.zeros(reader.doc_count_all(), dtype=np.float64)
    for leaf, base in reader.leaf_readers():
        count = leaf.doc_count_all()
        out[base : base + count] = _leaf_lengths(leaf, fieldname, count)
    return out


def _leaf_lengths(leaf, fieldname: str, count: int) -> np.ndarray:
    column = length_column(leaf, fieldname)
    if column is not None:  # W3's column of length bytes: read whole, else byte by byte
        codes = numeric_array(column)
        if codes is None:
            codes = np.fromiter(column, dtype=np.uint8, count=count)
        return _LENGTH_OF_BYTE[codes]
    return np.array([leaf.doc_field_length(n, fieldname, 0) or 0 for n in range(count)], float)
