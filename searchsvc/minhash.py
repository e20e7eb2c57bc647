"""Near-duplicate signatures: a MinHash of each release's word shingles, made at index time.

    body --words (lower-cased \\w+)--> 5-word shingles --crc32 of words, mixed--> 64-bit hashes
         --one permutation hashing: 128 bins, the minimum of each--> 128 x uint16
         + the number of distinct shingles (uint32): 260 bytes

Two texts agree on each of the 128 values with a probability of (about) the Jaccard
similarity J of their shingle sets, so the share of equal values estimates it. The search
side (searching/duplicates.py) bands the signatures (LSH: BANDS bands of ROWS values) to
find candidate pairs, and same_story() decides each pair: J >= THRESHOLD, or, for a copy
with its own header and footer (which lower J the more the shorter the release), a
J >= FLOOR where the shingles in common cover CONTAINED of the smaller text (estimated
from J and the two shingle counts: |A & B| = J (|A| + |B|) / (1 + J)); and, when both are
dated, at most WINDOW_DAYS apart: copies appear within days, while a yearly notice renewed
in the same words, or a monthly release from one template, is a new release each time. A
text of fewer than MIN_SHINGLES shingles (about 34 words) is never grouped: two short
notes that differ in a date or a link are different releases.

Why our own numpy MinHash rather than datasketch: the signature of one release is a few
numpy operations (about 1 ms for 1,500 words, in the indexer's worker processes), it is
deterministic across processes and runs (crc32, fixed seeds; Python's hash() is salted),
and the banding runs over one array of every signature when a searcher opens, which
datasketch's MinHashLSH (a dict of buckets filled one signature at a time) does not.
One permutation hashing (one hash per shingle, 128 bins, an empty bin filled from the next:
densified) costs a third of 128 separate hash functions. Keeping 16 bits of each minimum
(b-bit MinHash) halves the column; a chance agreement (1 in 65,536) is far below the
estimate's own spread.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

NUM_PERM = 128
ROWS = 4  # values per band
BANDS = NUM_PERM // ROWS
SHINGLE = 5  # words per shingle
THRESHOLD = 0.9  # estimated Jaccard similarity at which two releases are one story
FLOOR = 0.5  # ... or this much, when the smaller text is CONTAINED in the other
CONTAINED = 0.95
WINDOW_DAYS = 31  # and, both dated, at most this far apart
MIN_SHINGLES = 30  # a shorter text is never grouped: too few words to tell a copy
SIGNATURE_BYTES = NUM_PERM * 2 + 4
EMPTY = b""  # the signature of a text without words: never grouped

_WORD = re.compile(r"\w+")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
# Every byte but an ASCII word character ([A-Za-z0-9_], what \w is in ASCII) to a space.
_SPACE_BUT_WORD_BYTES = bytes(
    b if chr(b).isalnum() and b < 128 or b == 95 else 32 for b in range(256)
)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_BIN_BITS = 7  # 2**7 == NUM_PERM bins
_BIN_STARTS = np.arange(NUM_PERM, dtype=np.uint64) << np.uint64(64 - _BIN_BITS)


class _Crc32Cache(dict):
    """crc32 of a word's UTF-8, kept: a release repeats most of its words, and a build
    most of its releases' (a third of a signature's time was crc32 and its call)."""

    LIMIT = 500_000  # words kept (~60 MB at most), then forgotten all at once

    def __missing__(self, word: str | bytes) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[word] = zlib.crc32(word if isinstance(word, bytes) else word.encode())
        return value


_CRC32 = _Crc32Cache()


def shingle_hashes(text: str) -> np.ndarray:
    """The distinct 64-bit hashes of a text's 5-word shingles (one shingle if fewer words)."""
    return _distinct(_shingles(text))


def _distinct(h: np.ndarray) -> np.ndarray:
    """np.unique(h), sorted and distinct, by a sort and a comparison of neighbours: a
    quarter of np.unique's time on a release's 1,500 hashes (numpy 2.4's unique)."""
    h = np.sort(h)
    if len(h) > 1:
        keep = np.empty(len(h), dtype=bool)
        keep[0] = True
        np.not_equal(h[1:], h[:-1], out=keep[1:])
        h = h[keep]
    return h


def _shingles(text: str) -> np.ndarray:
    """The 64-bit hash of each of a text's 5-word shingles, in order, repeats included."""
    words = _words(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    # Each word's crc32 in one C loop (the cache computes a word it lacks).
    w = np.fromiter(map(_CRC32.__getitem__, words), dtype=np.uint64, count=len(words))
    k = min(SHINGLE, len(w))
    h = np.zeros(len(w) - k + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):  # a polynomial in _MIX over the shingle's word hashes, mod 2**64
            h = h * _MIX + w[j : len(w) - k + 1 + j]
    return h


def _words(text: str) -> list[str] | list[bytes]:
    """The text's \\w+ words; where no character outside ASCII is a word character (most
    releases: theirs are quotes, dashes and non-breaking spaces), as ASCII bytes split at
    every other byte by one table (4x sooner than the pattern). crc32 is the same either way."""
    if not text.isascii() and _WORD.search("".join(set(_NOT_ASCII.findall(text)))):
        return _WORD.findall(text)
    return text.encode("ascii", "replace").translate(_SPACE_BUT_WORD_BYTES).split()


def signature(text: str) -> bytes:
    """A text's MinHash signature (SIGNATURE_BYTES bytes), or EMPTY if it has no words."""
    h = _shingles(text)
    if not len(h):
        return EMPTY
    # Sorted and distinct: the first hash of each bin is its minimum. One _distinct after
    # the finaliser is enough: it is a bijection of the 64-bit integers, so the distinct
    # finalised hashes are the finalised distinct ones.
    h = _distinct(_finalise(h))
    # One permutation hashing: the top 7 bits pick one of 128 bins, the next 16 bits are
    # the value; each bin keeps its minimum.
    starts = np.searchsorted(h, _BIN_STARTS)
    filled = np.flatnonzero(starts < np.append(starts[1:], len(h)))
    values = (h[starts[filled]] >> np.uint64(64 - _BIN_BITS - 16)) & np.uint64(0xFFFF)
    # An empty bin borrows the next filled one's value (circularly), changed by the
    # distance: two texts agree on it as often as on a bin of their own (densification).
    nearest = np.searchsorted(filled, np.arange(NUM_PERM)) % len(filled)
    distance = (filled[nearest] - np.arange(NUM_PERM)) % NUM_PERM
    out = (values[nearest] + distance.astype(np.uint64) * np.uint64(0x9E37)) & np.uint64(0xFFFF)
    return out.astype("<u2").tobytes() + np.array([len(h)], dtype="<u4").tobytes()


def _finalise(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every output bit depends on every input bit."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def split(signatures: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of signature bytes (n x SIGNATURE_BYTES uint8) as their values and shingle counts
    (only those of rows, if given: one copy of them rather than two)."""
    if rows is None:
        values = np.ascontiguousarray(signatures[:, : NUM_PERM * 2])
        counts = np.ascontiguousarray(signatures[:, NUM_PERM * 2 :])
    else:  # numpy's gather of rows and columns at once gives a contiguous copy
        values, counts = signatures[rows, : NUM_PERM * 2], signatures[rows, NUM_PERM * 2 :]
    return values.view("<u2"), counts.view("<u4").reshape(-1)


def same_story(values_a, counts_a, values_b, counts_b, days_apart=None) -> np.ndarray:
    """Whether each pair of signatures (row by row) is one release: see the module's rule.

    days_apart: how far apart each pair's dates are (NaN where either is undated).
    """
    j = (values_a == values_b).mean(axis=1)
    common = j * (counts_a + counts_b.astype(np.float64)) / (1 + j)
    contained = common / np.maximum(np.minimum(counts_a, counts_b), 1)
    same = (j >= THRESHOLD) | ((j >= FLOOR) & (contained >= CONTAINED))
    same &= np.minimum(counts_a, counts_b) >= MIN_SHINGLES
    if days_apart is not None:
        same &= within_window(days_apart)
    return same


def within_window(days_apart) -> np.ndarray:
    """same_story's rule on dates alone: at most WINDOW_DAYS apart, or either undated (NaN).
    same_story(..., days_apart) is same_story(..., None) & within_window(days_apart)."""
    return ~(np.abs(days_apart) > WINDOW_DAYS)  # NaN (undated) compares False: kept


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of two signatures' texts (0 if either is EMPTY)."""
    if len(a) != SIGNATURE_BYTES or len(b) != SIGNATURE_BYTES:
        return 0.0
    x, y = np.frombuffer(a[: NUM_PERM * 2], "<u2"), np.frombuffer(b[: NUM_PERM * 2], "<u2")
    return float(np.mean(x == y))
