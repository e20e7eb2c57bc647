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


def _key(d: datetime) -> float:
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
            [np.nan if d is None else _key(d) for d in self.dates],
            dtype=np.float64,
        )

    def _column(self, reader, name: str) -> list[str]:
        if self.size == 0 or not reader.has_column(name):
            return [""] * self.size
        col = reader.column_reader(name)
        return [v or "" for v in (col[n] for n in range(self.size))]

    def _dates(self, reader) -> list[datetime | None]:
        # A document without a date has no year; the date column holds a filler there.
        years = self.values["year"]
        if self.size == 0 or not reader.has_column("date"):
            return [None] * self.size
        col = reader.column_reader("date")
        return [col[n] if years[n] else None for n in range(self.size)]

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
                    mask &= keys >= _key(start)
                if end is not None:
                    mask &= keys <= _key(end)
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


def _encode(values: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct values and each document's index into them."""
    labels, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
    return [str(v) for v in labels], codes.astype(np.int64).reshape(-1)
