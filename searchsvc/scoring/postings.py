"""Posting lists and field lengths as numpy arrays, read once per searcher and cached.

    (field, word) --each segment's posting blocks--> document numbers and term frequencies
    field --each segment's length column--> every document's length in that field

Whoosh hands postings out one at a time through matcher objects, a Python call per
posting. The reading adapter (indexing/segments.py) reads its W3 codec's blocks of up to
128 whole; turning them into arrays makes a posting list of 14,000 documents cost about a
millisecond.
"""

from __future__ import annotations

import numpy as np

from searchsvc.caching import LruCache
from searchsvc.indexing import (
    length_column,
    length_of_byte,
    open_postings,
    posting_arrays,
    posting_blocks,
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

# Document numbers (int64; int32 once cached), frequencies (float64; float32 once cached).
Postings = tuple[np.ndarray, np.ndarray]

_EMPTY: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


class PostingCache:
    """A reader's posting lists as arrays, the most recently used kept in memory."""

    def __init__(self, reader, budget: int = CACHE_POSTINGS):
        self.reader = reader
        self._lists: LruCache[tuple[str, str], Postings] = LruCache(budget, cost=_count)

    def get(self, fieldname: str, text: str) -> Postings:
        """The document numbers holding text in fieldname, and how often each holds it."""
        found = self._lists.get((fieldname, text))
        if found is None:
            found = _compact(read_postings(self.reader, fieldname, text))
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
            return read_postings(self.reader, fieldname, text, among=ids)
        return found

    def cached(self, fieldname: str, text: str) -> bool:
        """Whether the word's postings are in memory."""
        return (fieldname, text) in self._lists


def _compact(postings: Postings) -> Postings:
    """The same postings in half the memory, where int32 and float32 hold them exactly.

    Frequencies are whole numbers (float32 is exact below 2**24), so scores do not change.
    """
    ids, tf = postings
    if len(ids) and ids[-1] >= 2**31:
        return postings
    narrow = tf.astype(np.float32)
    return ids.astype(np.int32), narrow if np.array_equal(narrow, tf) else tf


def _count(postings: Postings) -> int:
    return len(postings[0])


def read_postings(reader, fieldname: str, text: str, among: np.ndarray | None = None) -> Postings:
    """The postings of one word in one field, over every segment.

    among (sorted document numbers; None: every posting): only the blocks whose range of
    ids holds one of them are read, so every posting at among is there, and some others.
    """
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for leaf, base in reader.leaf_readers():
        local = None
        if among is not None:
            lo, hi = np.searchsorted(among, [base, base + leaf.doc_count_all()])
            local = among[lo:hi] - base
            if not len(local):
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
    if column is not None:  # iterating W3's column of bytes is 10x faster than asking each
        return _LENGTH_OF_BYTE[np.fromiter(column, dtype=np.uint8, count=count)]
    return np.array([leaf.doc_field_length(n, fieldname, 0) or 0 for n in range(count)], float)
