"""Posting lists and field lengths as numpy arrays, read once per searcher and cached.

    (field, word) --each segment's posting blocks--> document numbers and term frequencies
    field --each segment's length column--> every document's length in that field

Whoosh hands postings out one at a time through matcher objects, a Python call per
posting. Its W3 codec stores them in blocks of up to 128, each decoded in one go; reading
whole blocks and turning them into arrays makes a posting list of 14,000 documents cost
about a millisecond. Other codecs fall back to the public matcher API.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from threading import Lock

import numpy as np
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

# Postings kept in memory per searcher (about 12 bytes each): common words repeat across
# queries, so most of a query's words are read from disk once per index state.
CACHE_POSTINGS = 4_000_000

# byte -> length, as Whoosh stores field lengths in one byte each.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)

Postings = tuple[np.ndarray, np.ndarray]  # document numbers (int64), frequencies (float64)

_EMPTY: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


class PostingCache:
    """A reader's posting lists as arrays, the most recently used kept in memory."""

    def __init__(self, reader, budget: int = CACHE_POSTINGS):
        self.reader = reader
        self.budget = budget
        self._held = 0
        self._lists: OrderedDict[tuple[str, str], Postings] = OrderedDict()
        self._lock = Lock()  # a threaded server shares one searcher between requests

    def get(self, fieldname: str, text: str) -> Postings:
        """The document numbers holding text in fieldname, and how often each holds it."""
        key = (fieldname, text)
        with self._lock:
            found = self._lists.get(key)
            if found is not None:
                self._lists.move_to_end(key)
                return found
        found = read_postings(self.reader, fieldname, text)  # outside the lock: threads read on
        with self._lock:
            kept = self._lists.get(key)
            if kept is not None:  # another thread read it meanwhile: keep (and count) one
                self._lists.move_to_end(key)
                return kept
            self._lists[key] = found
            self._held += len(found[0])
            while self._held > self.budget and len(self._lists) > 1:
                _, old = self._lists.popitem(last=False)
                self._held -= len(old[0])
        return found


def read_postings(reader, fieldname: str, text: str) -> Postings:
    """The postings of one word in one field, over every segment."""
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for leaf, base in reader.leaf_readers():
        try:
            matcher = leaf.postings(fieldname, text)
        except TermNotFound:
            continue
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child  # deleted documents: the caller masks them out
        for block_ids, block_weights in _blocks(matcher):
            ids.append(np.asarray(block_ids, dtype=np.int64) + base)
            weights.append(np.asarray(block_weights, dtype=np.float64))
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def _blocks(matcher):
    # Whoosh's W3 blocks decode their ids and weights as one tuple or array each.
    if not hasattr(matcher, "_read_ids"):
        pairs = list(matcher.items_as("weight"))
        yield [d for d, _ in pairs], [w for _, w in pairs]
        return
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        if matcher._weights is None:
            matcher._read_weights()
        weights = matcher._weights
        yield matcher._ids, weights if isinstance(weights, array) else list(weights)
        matcher._next_block()


def field_lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length in fieldname (in words, as Whoosh stores it)."""
    out = np.zeros(reader.doc_count_all(), dtype=np.float64)
    for leaf, base in reader.leaf_readers():
        count = leaf.doc_count_all()
        out[base : base + count] = _leaf_lengths(leaf, fieldname, count)
    return out


def _leaf_lengths(leaf, fieldname: str, count: int) -> np.ndarray:
    column = _length_column(leaf, fieldname)
    if column is not None:
        return _LENGTH_OF_BYTE[np.fromiter(column, dtype=np.uint8, count=count)]
    return np.array([leaf.doc_field_length(n, fieldname, 0) or 0 for n in range(count)], float)


def _length_column(leaf, fieldname: str):
    # The W3 codec keeps lengths as a column of bytes; iterating it is 10x faster than
    # asking for each document's length.
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        return leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    except (AttributeError, ImportError):
        return None
