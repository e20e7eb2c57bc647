"""Where a quoted phrase occurs, and how often, without Whoosh's span matchers.

Whoosh's Phrase matcher walks the intersection of its words document by document and, in
each, builds a Span object per position of every word: 0.1-1 s for a phrase of common
words over the long White House releases. Here, one segment at a time:

    each word --its posting blocks, rarest word first--> candidate documents
        (a block whose id range holds no candidate left is skipped, not decoded; the
        ranker passes the documents holding every word, from its cached posting lists,
        so even the rarest word's blocks are decoded only where the phrase may be)
    candidates --the values kept from the same blocks--> each word's positions there
    positions --numpy: keys doc << 32 | position, shifted and looked up--> matches
    matches --counted per document--> the phrase's frequency there

Whoosh's W3 codec keeps postings in blocks of up to 128, each a zlib-compressed pickle of
(ids, weights, values): one decoding gives a block's ids and values. A Positions value is a
pickled list of gaps; the lists of all the candidates are spliced into one pickle, decoded
in one call. An adjacent phrase (slop 1) takes its words rarest first and, after each,
drops the documents where the words so far do not line up: a common word's positions are
decoded only where the phrase may still be. A word asked for a second time is decoded whole
and kept (least recently used out first, up to CACHE_BYTES): common words recur.

A match is what Whoosh's SpanNear2 (ordered, mindist=1) accepts: word i+1 occurs 1 to
``slop`` positions after word i. The frequency is the number of distinct (first, last
position) spans, Whoosh's ``len(matcher.spans())``. It is not the matcher's ``weight()``:
that is the sum of the words' own frequencies (an IntersectionMatcher's), phrase or not.

A segment's posting file (indexing/postfile.py) keeps the positions of the fields that have
them as flat arrays: a word's ids are read whole and only its candidates' positions, in
one read (or one per candidate, for a few), with nothing to decode or cache. Segments
without it are read from the blocks as above.

Deleted documents are left in (the caller masks them), unlike in Whoosh's matcher. The
request's deadline is checked per segment and per word read.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from searchsvc.caching import LruCache
from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import (
    PostingFiles,
    TermPositions,
    decode_positions,
    encoded_positions,
    flatten,
    open_postings,
    posting_blocks,
    postings_key,
    read_all,
    reads_blocks,
)

# Decoded words kept per process. The words of the 60 phrases of the benchmark workload on
# the White House corpus take 25 MB; "the" alone, in 14,384 documents, 4.8 MB.
CACHE_BYTES = 64 * 1024 * 1024

_NO_IDS = np.zeros(0, dtype=np.int64)


class PhraseError(ValueError):
    """A phrase asked of a field that keeps no positions (Whoosh raises its QueryError)."""


_NONE = (_NO_IDS, _NO_IDS)


def phrase_frequencies(
    reader,
    fieldname: str,
    words: list[str],
    slop: int = 1,
    deadline: Deadline | None = None,
    candidates: np.ndarray | None = None,
    files: PostingFiles | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The documents whose field holds the phrase (sorted int64), and its frequency in each.

    `candidates` (sorted document numbers, None: every document) holds at least every
    document with all the words: only their blocks are decoded. `files`: the segments'
    posting files, whose positions are read where they keep the field's (None: W3's blocks
    only). Past `deadline` (None: no deadline) it raises DeadlineExceededError.
    """
    schema = reader.schema
    if not words or fieldname not in schema:
        return _NONE  # as Whoosh: no field, no matches
    fmt = schema[fieldname].format
    if not fmt or not fmt.supports("positions"):
        raise PhraseError(f"Phrase search: {fieldname!r} field has no positions")
    docs, freqs = [_NO_IDS], [_NO_IDS]
    for k, (leaf, base) in enumerate(reader.leaf_readers()):
        among = None
        if candidates is not None:
            lo, hi = np.searchsorted(candidates, [base, base + leaf.doc_count_all()])
            among = candidates[lo:hi].astype(np.int64) - base
            if not len(among):
                continue
        source = None if files is None else (files, k)
        leaf_docs, leaf_freqs = _leaf_phrase(
            leaf, fieldname, fmt, words, slop, deadline or NEVER, among, source
        )
        docs.append(leaf_docs + base)
        freqs.append(leaf_freqs)
    return np.concatenate(docs), np.concatenate(freqs)


def clear_cache() -> None:
    """Forget the decoded words (they stay valid: a segment never changes its postings)."""
    _CACHE.clear()


def _leaf_phrase(
    leaf,
    fieldname: str,
    fmt,
    words: list[str],
    slop: int,
    deadline: Deadline,
    among: np.ndarray | None = None,
    source: tuple[PostingFiles, int] | None = None,
):
    """The phrase's documents (segment numbers) and frequencies in one segment.

    among: the segment's documents that may hold it (sorted; None: any). source: the
    posting files and the segment's number among them (None: its blocks are read).
    """
    postings = {}
    for word in dict.fromkeys(words):  # a repeated word is read once
        deadline.check("phrases")
        found = _postings(leaf, fieldname, word, fmt, source)
        if found is None:
            return _NONE
        postings[word] = found
    order = sorted(postings, key=lambda w: leaf.doc_frequency(fieldname, w))
    docs = among
    for word in order:
        deadline.check("phrases")
        ids = postings[word].ids(docs)
        docs = ids if docs is None else docs[_in_sorted(docs, ids)]
        if not len(docs):
            return _NONE
    assert docs is not None  # postings has at least one word
    if slop == 1:
        return _adjacent(docs, words, order, postings)
    positions = {word: postings[word].positions(docs) for word in order}
    return _spans(docs, [positions[w] for w in words], slop)


def _adjacent(docs: np.ndarray, words: list[str], order: list[str], postings: dict):
    """Docs and counts of the words at p, p + 1, ..., read rarest first, pruning docs."""
    starts: np.ndarray | None = None  # doc << 32 | p where the words read so far line up
    for word in order:
        flat, lens = postings[word].positions(docs)
        keys = (np.repeat(docs, lens) << 32) + flat
        for i in (i for i, w in enumerate(words) if w == word):
            shifted = keys[flat >= i] - i
            starts = shifted if starts is None else starts[_in_sorted(starts, shifted)]
        assert starts is not None  # every word of order occurs in words
        docs = _runs(starts >> 32)[0]
        if not len(docs):
            return _NONE
    assert starts is not None
    found, freqs = _runs(starts >> 32)
    return found, freqs.astype(np.int64)


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_counts=True), in one pass where values are sorted (keys of
    ascending documents and positions are): at 10x, np.unique's hashing and sorting of a
    common phrase's keys was a third of its time."""
    if len(values) > 1 and np.any(values[1:] < values[:-1]):
        return np.unique(values, return_counts=True)
    first = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else _NO_IDS
    return values[first], np.diff(np.r_[first, len(values)])


def _spans(docs: np.ndarray, positions: list, slop: int) -> tuple[np.ndarray, np.ndarray]:
    """Docs and counts of Whoosh's spans, extended word by word in phrase order."""
    # One key per position, slop keys of room after each doc's last: a span's end plus a
    # gap never reaches the next doc's keys.
    room = max(slop, 0)
    last = np.max([flat[np.cumsum(lens) - 1] for flat, lens in positions], axis=0)
    offsets = np.concatenate(([0], np.cumsum(last + room + 1)[:-1]))
    keys = [np.repeat(offsets, lens) + flat for flat, lens in positions]
    # A span is the key of its last position, times width, plus its length.
    width = room * (len(positions) - 1) + 1
    spans = keys[0] * width
    for nxt in keys[1:]:
        ends, lengths = np.divmod(spans, width)
        out = [_NO_IDS]
        for gap in range(1, slop + 1):
            hit = _in_sorted(ends + gap, nxt)
            out.append((ends[hit] + gap) * width + lengths[hit] + gap)
        # Different middles may reach the same (first, last) pair: Whoosh keeps one.
        spans = np.unique(np.concatenate(out))
    doc_of = np.searchsorted(offsets, spans // width, "right") - 1
    found, freqs = np.unique(doc_of, return_counts=True)
    return docs[found], freqs.astype(np.int64)


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """A mask of the values found in sorted_keys."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


def _postings(leaf, fieldname: str, word: str, fmt, source=None):
    """A word's postings in a segment: from its posting file, kept whole, read by blocks
    (W3), or None if absent."""
    if source is not None:
        files, k = source
        term = files.with_positions(k, fieldname, word)
        if term is not None:
            return _FilePostings(term) if len(term.ids) else None
    matcher = open_postings(leaf, fieldname, word)
    if matcher is None:
        return None
    # Plain Positions values are pickled lists of gaps, decoded here; others by Whoosh.
    if not reads_blocks(matcher) or not encoded_positions(fmt):
        return _Decoded.read(matcher)
    key = (*postings_key(leaf, matcher), fieldname, word)
    whole = _CACHE.lookup(key, lambda: _Decoded.of(_BlockPostings(matcher)))
    return whole if whole is not None else _BlockPostings(matcher)


class _FilePostings:
    """One word's postings from a segment's posting file: ids whole, positions as asked."""

    def __init__(self, term: TermPositions):
        self.term = term

    def ids(self, among: np.ndarray | None) -> np.ndarray:
        """All the word's documents (one read of the file)."""
        return self.term.ids

    def positions(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each doc's positions, concatenated, and how many each has (docs: among ids)."""
        return self.term.positions(np.searchsorted(self.term.ids, docs))


class _BlockPostings:
    """One word's W3 postings, decoded a block at a time: only blocks that may matter."""

    def __init__(self, matcher):
        self.matcher = matcher
        self.all_ids: np.ndarray = _NO_IDS
        self.values: list[bytes] = []  # the encoded positions of each of all_ids

    def ids(self, among: np.ndarray | None) -> np.ndarray:
        """The word's documents in the blocks that may hold one of among (None: all)."""
        wanted = None if among is None else lambda last, top: _any_within(among, last, top)
        parts = []
        for block in posting_blocks(self.matcher, values=True, wanted=wanted):
            parts.append(block.ids)
            self.values.extend(block.values)
        self.all_ids = np.fromiter(chain.from_iterable(parts), np.int64, len(self.values))
        return self.all_ids

    def positions(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each doc's positions, concatenated, and how many each has (docs: among ids)."""
        values = self.values
        picked = [values[i] for i in np.searchsorted(self.all_ids, docs).tolist()]
        return decode_positions(picked)


class _Decoded:
    """One word's postings decoded whole: ids, where each doc's positions start, positions."""

    def __init__(self, ids: np.ndarray, flat: np.ndarray, lens: np.ndarray):
        self.all_ids, self.starts = ids, np.concatenate(([0], np.cumsum(lens)))
        self.flat = flat.astype(np.int32 if flat.max(initial=0) < 2**31 else np.int64)
        self.nbytes = ids.nbytes + self.starts.nbytes + self.flat.nbytes

    @classmethod
    def of(cls, postings: _BlockPostings) -> _Decoded:
        """Every block of a W3 posting list."""
        ids = postings.ids(None)
        return cls(ids, *postings.positions(ids))

    @classmethod
    def read(cls, matcher) -> _Decoded:
        """Every posting, decoded by Whoosh (other codecs, or formats other than Positions)."""
        block = read_all(matcher, values=True)
        return cls(np.array(block.ids, dtype=np.int64), *flatten(block.values))

    def ids(self, among: np.ndarray | None) -> np.ndarray:
        """All the word's documents."""
        return self.all_ids

    def positions(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each doc's positions, concatenated, and how many each has (docs: among ids)."""
        at = np.searchsorted(self.all_ids, docs)
        lo, lens = self.starts[at], self.starts[at + 1] - self.starts[at]
        # Index of every wanted position: each doc's run lo, lo + 1, ..., back to back.
        idx = np.arange(int(lens.sum())) + np.repeat(lo - (np.cumsum(lens) - lens), lens)
        return self.flat[idx].astype(np.int64), lens


class _Cache:
    """Decoded words by segment and term, least recently used out first, up to budget bytes."""

    def __init__(self, budget: int = CACHE_BYTES):
        self.words: LruCache[tuple, _Decoded] = LruCache(
            budget, cost=lambda word: word.nbytes, largest=budget // 4
        )
        self.seen: LruCache[tuple, bool] = LruCache(100_000)  # words asked for once
        # Words too large to keep (common words in a large segment).
        self.too_large: LruCache[tuple, bool] = LruCache(100_000)

    def lookup(self, key, decode) -> _Decoded | None:
        """The word if kept; decode() and kept if asked for before; else None."""
        found = self.words.get(key)
        if found is not None:
            return found
        if self.seen.get(key) is None:
            self.seen.put(key, True)
            return None  # a word asked for once may never be again: not worth decoding whole
        if key in self.too_large or self.words.held + self.words.largest > self.words.budget:
            # Decoded whole, it would not be kept, or would push out a word kept: once the
            # words asked for again fill the budget (at many times the corpus), a word
            # decoded at every ask costs more than reading the blocks a phrase needs.
            return None
        word = decode()
        if word.nbytes > self.words.largest:
            self.too_large.put(key, True)
        self.words.put(key, word)
        return word

    def clear(self) -> None:
        """Forget every word."""
        self.words.clear()
        self.seen.clear()
        self.too_large.clear()


_CACHE = _Cache()


def _any_within(sorted_ids: np.ndarray, above: int, upto: int) -> bool:
    """Whether some id lies in (above, upto]."""
    i = int(np.searchsorted(sorted_ids, above, "right"))
    return i < len(sorted_ids) and sorted_ids[i] <= upto
