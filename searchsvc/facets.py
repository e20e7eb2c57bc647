"""Facet counts and facet filters, from per-searcher arrays instead of Whoosh's grouping.

When a searcher opens, each facet column (year, month, source, category, place) and the
date column are read once into plain lists indexed by document number. Counting a result's
facets is then a pass over its document numbers, and a filter (a facet value, a date
range) is the set of numbers that pass it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from searchsvc.schema import FACET_FIELDS


class FacetTable:
    """Each document's facet values and date, by document number."""

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        self.live = [n for n in range(self.size) if not reader.is_deleted(n)]
        self.live_set = frozenset(self.live)
        self.values: dict[str, list[str]] = {
            name: self._column(reader, name) for name in FACET_FIELDS
        }
        self.dates: list[datetime | None] = self._dates(reader)

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
    ) -> set[int] | None:
        """Document numbers that pass every filter, or None when nothing filters."""
        if not filters and start is None and end is None:
            return None
        docs = self.live
        for name, wanted in filters.items():
            column = self.values[name]
            folded = wanted.casefold()
            docs = [n for n in docs if column[n].casefold() == folded]
        if start is not None or end is not None:
            lo, hi = start or datetime.min, end or datetime.max
            dates = self.dates
            docs = [n for n in docs if dates[n] is not None and lo <= dates[n] <= hi]
        return set(docs)

    def count(self, docnums: list[int]) -> dict[str, Counter]:
        """Per facet, how many of docnums have each value."""
        return {name: Counter(column[n] for n in docnums) for name, column in self.values.items()}

    def date_range(self) -> tuple[datetime | None, datetime | None]:
        """The earliest and latest document date."""
        dated = [d for n in self.live if (d := self.dates[n]) is not None]
        return (min(dated), max(dated)) if dated else (None, None)
