"""Facet counts and filters, from per-searcher arrays instead of Whoosh's grouping.

When a searcher opens, each facet column (schema.FACETS) and the date column are read
once. A facet becomes a list of its distinct values (labels) and two parallel arrays of
(document number, value code) pairs: one pair per document and value, and one pair with
the code of "" for a document without any value (counted and filtered as "(none)"). A
single-valued facet has exactly one pair per document; a multi-valued one (tags) one per
value, so a document with two values counts once under each.

    counting the matches' values: a value that many documents hold (at least one in
        BITSET_EVERY) has a bitset of its documents, counted as popcount(bits & match's
        bits); the pairs of the other values by np.bincount(codes[match[docs]]). So a
        count costs the same for 10 matches as for every document: no pass over the
        matches, and the rare values' pairs are few (at most BITSET_EVERY per document).
    a filter (any of some values, none of others): np.isin(codes, wanted) --> the pairs'
        documents set in a boolean array over documents; a date range: compared keys

No Python loop ever runs per document or per match; only per distinct value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np

from searchsvc.analysis import fold
from searchsvc.indexing import FacetCodes, date_key, key_date, live_mask, segment_values
from searchsvc.schema import FACETS, NONE_VALUE


def value_key(text: str) -> str:
    """A facet value as values are compared, when chosen and in a filter box: without regard
    to case or accents, and ’ as ' ("cote d’ivoire" is Côte d'Ivoire)."""
    return fold(text).replace("’", "'")


@dataclass(frozen=True)
class FacetFilter:
    """One facet's filter: any of `include` (none: no constraint), and none of `exclude`.

    Values are as the user typed them, matched without regard to case; "(none)" stands
    for documents without a value.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class FacetColumn:
    """One facet's distinct values and its (document, value code) pairs."""

    def __init__(self, labels: list[str], docs: np.ndarray, codes: np.ndarray):
        self.labels = labels  # distinct values, sorted; "" (no value) among them if any
        self.docs = docs  # int64 document numbers, one per pair
        self.codes = codes  # int64 indexes into labels, parallel to docs
        self.one_each = len(docs) == 0 or (docs[-1] == len(docs) - 1 and docs[0] == 0)
        # The values held by at least one document in BITSET_EVERY, each with a bitset of
        # its documents (rows of `bits`); the pairs of the others, counted one by one.
        size = int(docs[-1]) + 1 if len(docs) else 0
        held = np.bincount(codes, minlength=len(labels))
        self.frequent = np.flatnonzero(held * BITSET_EVERY >= max(size, 1))
        row_of = np.full(len(labels), -1, dtype=np.int64)
        row_of[self.frequent] = np.arange(len(self.frequent))
        rows = row_of[codes]
        pair_frequent = rows >= 0
        grid = np.zeros((len(self.frequent), size), dtype=bool)
        grid[rows[pair_frequent], docs[pair_frequent]] = True
        self.bits = packed(grid)
        once = _popcount(self.bits).sum(axis=1, dtype=np.int64)
        if (once != held[self.frequent]).any():
            # A document gives a value twice: it counts twice, as its pairs always did;
            # the second pair is counted with the rare ones.
            _, first = np.unique(docs * len(labels) + codes, return_index=True)
            again = np.ones(len(docs), dtype=bool)
            again[first] = False
            pair_frequent &= ~again
        self.rare_docs, self.rare_codes = docs[~pair_frequent], codes[~pair_frequent]
        self._folded: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            self._folded.setdefault(value_key(label), []).append(i)

    @classmethod
    def single(cls, values: list[str]) -> FacetColumn:
        """One value per document ("" for none)."""
        labels, codes = _encoded(values)
        return cls(labels, np.arange(len(values), dtype=np.int64), codes)

    @classmethod
    def multi(cls, values: list[list[str]]) -> FacetColumn:
        """Any number of values per document (none: one pair with "")."""
        counts = np.fromiter((max(len(v), 1) for v in values), np.int64, len(values))
        docs = np.repeat(np.arange(len(values), dtype=np.int64), counts)
        flat = [x for v in values for x in (v or [""])]
        labels, codes = _encoded(flat)
        return cls(labels, docs, codes)

    def codes_of(self, values: Iterable[str]) -> list[int]:
        """The codes of the labels that the values name (compared by value_key)."""
        out: list[int] = []
        for value in values:
            folded = "" if value_key(value) == NONE_VALUE else value_key(value)
            out.extend(self._folded.get(folded, ()))
        return out

    def having(self, values: Iterable[str], size: int) -> np.ndarray:
        """A boolean array of the documents that have any of the values."""
        mask = np.zeros(size, dtype=bool)
        codes = self.codes_of(values)
        if codes:
            mask[self.docs[np.isin(self.codes, codes)]] = True
        return mask

    def count(self, match: np.ndarray, bits: np.ndarray | None = None) -> np.ndarray:
        """How many of the matched documents (a boolean array) have each label.

        `bits`: packed(match), when the caller has it already.
        """
        counts = np.bincount(
            self.rare_codes[match[self.rare_docs]], minlength=len(self.labels)
        ).astype(np.int64)
        if len(self.frequent):
            bits = packed(match) if bits is None else bits
            counts[self.frequent] += _popcount(self.bits & bits).sum(axis=1, dtype=np.int64)
        return counts

    def ranked(self, match: np.ndarray, bits: np.ndarray | None = None) -> list[tuple[str, int]]:
        """The labels the matched documents have and how many have each, the most
        frequent first, ties in label order (labels are sorted: their codes' order)."""
        counts = self.count(match, bits)
        found = np.flatnonzero(counts)
        order = found[np.argsort(-counts[found], kind="stable")]
        labels = self.labels
        return [(labels[i], n) for i, n in zip(order.tolist(), counts[order].tolist(), strict=True)]


# A value held by at least one document in this many gets a bitset (N/8 bytes: at most
# 8 bytes a document it holds, as its pairs take 16); the others' pairs are gathered.
BITSET_EVERY = 64


def packed(mask: np.ndarray) -> np.ndarray:
    """A boolean array (or rows of them) as bits, 64 documents a word (the last one padded)."""
    width = -(-mask.shape[-1] // 64) * 8
    out = np.zeros((*mask.shape[:-1], width), dtype=np.uint8)
    out[..., : -(-mask.shape[-1] // 8)] = np.packbits(mask, axis=-1, bitorder="little")
    return out.view(np.uint64)


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(words: np.ndarray) -> np.ndarray:
    """The set bits of each word (numpy 2's bitwise_count; a byte table before it)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    return _BYTE_BITS[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1)


def _encoded(values: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct values, sorted, and each value's index among them.

    A dict does it in one pass; np.unique of an object array compares Python strings in
    its sort, seconds for the million values of 10x the White House corpus.
    """
    labels = sorted(set(values))
    index = {label: i for i, label in enumerate(labels)}
    return [str(v) for v in labels], np.fromiter(
        map(index.__getitem__, values), np.int64, len(values)
    )


class FacetTable:
    """Each document's facet values and date, by document number.

    Read from each segment's doc values (indexing/docvalues.py: its file, or its columns
    where it has none; files=False: the columns of every segment), assembled here.
    """

    def __init__(self, reader, files: bool = True):
        self.size = reader.doc_count_all()
        self.live_mask = live_mask(reader)
        parts = segment_values(reader, signatures=False, files=files)
        self.columns: dict[str, FacetColumn] = {
            f.name: FacetColumn(*_assembled([(b, v.facets[f.name]) for b, v in parts]))
            for f in FACETS
        }
        # Microseconds since 1970 (NaN: no date), for range filters and date sorting.
        self.date_keys = np.full(self.size, np.nan, dtype=np.float64)
        for base, values in parts:
            self.date_keys[base : base + values.count] = values.date_keys
        # Each facet's value of a document (a multi-valued one's joined by newlines), and
        # its date: made from the codes and keys when asked, a few documents at a time.
        self.values: dict[str, Sequence[str]] = {
            name: _Values(column, self.size) for name, column in self.columns.items()
        }
        self.dates: Sequence[datetime | None] = _Dates(self.date_keys)

    @cached_property
    def live(self) -> list[int]:
        """The numbers of the documents not deleted, ascending."""
        return np.flatnonzero(self.live_mask).tolist()

    def allowed(
        self,
        filters: Mapping[str, FacetFilter],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> np.ndarray | None:
        """A boolean array of the documents that pass every filter, or None if none is set."""
        if not filters and start is None and end is None:
            return None
        mask = self.live_mask.copy()
        for name, wanted in filters.items():
            mask &= self.passing(name, wanted)
        if start is not None or end is not None:
            keys = self.date_keys
            with np.errstate(invalid="ignore"):  # NaN (no date) compares False: left out
                if start is not None:
                    mask &= keys >= date_key(start)
                if end is not None:
                    mask &= keys <= date_key(end)
        return mask

    def passing(self, name: str, wanted: FacetFilter) -> np.ndarray:
        """A boolean array of the documents that pass one facet's filter."""
        column = self.columns[name]
        mask = column.having(wanted.include, self.size) if wanted.include else None
        if wanted.exclude:
            kept = ~column.having(wanted.exclude, self.size)
            mask = kept if mask is None else mask & kept
        return mask if mask is not None else np.ones(self.size, dtype=bool)

    def count(self, match: np.ndarray, names: Iterable[str] | None = None) -> dict[str, Counter]:
        """Per facet, how many of the matched documents (a boolean array) have each value.

        Documents without a value count under "" (the caller names it).
        """
        out = {}
        for name in self.columns if names is None else names:
            column = self.columns[name]
            counts = column.count(match)
            out[name] = Counter({column.labels[i]: int(counts[i]) for i in np.flatnonzero(counts)})
        return out

    def ranked(self, match: np.ndarray, names: Iterable[str] | None = None):
        """Per facet, its values among the matched documents (a boolean array) and how
        many have each, as (value, count) pairs, the most frequent first, ties by value.

        Documents without a value count under "" (the caller names it).
        """
        columns = self.columns
        bits = packed(match)
        return {name: columns[name].ranked(match, bits) for name in names or columns}

    def date_range(self) -> tuple[datetime | None, datetime | None]:
        """The earliest and latest document date."""
        keys = self.date_keys[self.live_mask]
        keys = keys[~np.isnan(keys)]
        return (key_date(keys.min()), key_date(keys.max())) if len(keys) else (None, None)


def _assembled(parts: list[tuple[int, FacetCodes]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A facet's labels (every segment's, merged) and its (document, code) pairs."""
    labels = sorted(set().union(*(codes.labels for _, codes in parts)))
    index = {label: i for i, label in enumerate(labels)}
    docs, codes = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for base, part in parts:
        remap = np.fromiter(map(index.__getitem__, part.labels), np.int64, len(part.labels))
        docs.append(part.rows() + base)
        codes.append(remap[part.codes])
    return labels, np.concatenate(docs), np.concatenate(codes)


class _Values(Sequence):
    """A facet's value of each document, as its column holds it, made when asked."""

    def __init__(self, column: FacetColumn, size: int) -> None:
        self.column, self.size = column, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[k] for k in range(*n.indices(self.size))]
        if not -self.size <= n < self.size:
            raise IndexError(n)
        n %= self.size
        column = self.column
        if column.one_each:
            return column.labels[column.codes[n]]
        start, end = np.searchsorted(column.docs, [n, n + 1])
        return "\n".join(column.labels[c] for c in column.codes[start:end].tolist())


class _Dates(Sequence):
    """Each document's date (None: undated), made from its date key when asked."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[k] for k in range(*n.indices(len(self.keys)))]
        key = self.keys[n]
        return None if np.isnan(key) else key_date(float(key))
