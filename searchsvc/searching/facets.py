"""Facet counts and filters, from per-searcher arrays instead of Whoosh's grouping.

When a searcher opens, each facet column (year, month, source, category, place) and the
date column are read once. Each facet's values become small integer codes in a numpy
array indexed by document number, so counting a result's facets is one ``bincount`` over
its matches, and a filter (a facet value, a date range) is a boolean array.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np

from searchsvc.schema import FACET_FIELDS

_EPOCH = datetime(1970, 1, 1)


def date_key(d: datetime) -> float:
    """A date as the key date_keys holds: microseconds since 1970."""
    # Microseconds since 1970: exact for every date a release can carry, and sortable.
    return (d - _EPOCH) / timedelta(microseconds=1)


class FacetTable:
    """Each document's facet values and date, by document number."""

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        self.live_mask = np.array([not reader.is_deleted(n) for n in range(self.size)], bool)
        self.live = np.flatnonzero(self.live_mask).tolist()
        self.values: dict[str, list[str]] = {
            name: self._column(reader, name) for name in FACET_FIELDS
        }
        self._codes = {name: _encode(values) for name, values in self.values.items()}
        self.dates: list[datetime | None] = self._dates(reader)
        # Microseconds since 1970 (NaN: no date), for range filters and date sorting.
        self.date_keys = np.array(
            [np.nan if d is None else date_key(d) for d in self.dates],
            dtype=np.float64,
        )

    def _column(self, reader, name: str) -> list[str]:
        return [v or "" for v in _column_values(reader, name, self.size)]

    def _dates(self, reader) -> list[datetime | None]:
        # A document without a date has no year; the date column holds a filler there.
        return _column_values(reader, "date", self.size, wanted=self.values["year"])

    def allowed(
        self,
        filters: dict[str, str],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> np.ndarray | None:
        """A boolean array of the documents that pass every filter, or None if none is set."""
        if not filters and start is None and end is None:
            return None
        mask = self.live_mask.copy()
        for name, wanted in filters.items():
            labels, codes = self._codes[name]
            folded = wanted.casefold()
            hits = [i for i, label in enumerate(labels) if label.casefold() == folded]
            mask &= np.isin(codes, hits)
        if start is not None or end is not None:
            keys = self.date_keys
            with np.errstate(invalid="ignore"):  # NaN (no date) compares False: left out
                if start is not None:
                    mask &= keys >= date_key(start)
                if end is not None:
                    mask &= keys <= date_key(end)
        return mask

    def count(self, match: np.ndarray) -> dict[str, Counter]:
        """Per facet, how many of the matched documents (a boolean array) have each value."""
        out = {}
        for name, (labels, codes) in self._codes.items():
            counts = np.bincount(codes[match], minlength=len(labels))
            out[name] = Counter({labels[i]: int(counts[i]) for i in np.flatnonzero(counts)})
        return out

    def date_range(self) -> tuple[datetime | None, datetime | None]:
        """The earliest and latest document date."""
        dated = [d for n in self.live if (d := self.dates[n]) is not None]
        return (min(dated), max(dated)) if dated else (None, None)


def _column_values(reader, name: str, size: int, wanted: list | None = None) -> list:
    """A column's value for every document number (None where wanted[n] is false).

    Read segment by segment: a segment written before any document had this field has no
    column file, and its documents get None. (Whoosh's multi-segment column reader skips
    such a segment and so shifts every later document onto the wrong values, or past the
    end of an array.)
    """
    values: list = [None] * size
    for leaf, base in reader.leaf_readers():
        if not leaf.doc_count_all() or not leaf.has_column(name):
            continue
        # Untranslated: an undated document's filler is no date Python can hold.
        convert = leaf.schema[name].from_column_value
        for n, raw in enumerate(leaf.column_reader(name, translate=False), start=base):
            if wanted is None or wanted[n]:
                values[n] = convert(raw)
    return values


def _encode(values: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct values and each document's index into them."""
    labels, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
    return [str(v) for v in labels], codes.astype(np.int64).reshape(-1)
