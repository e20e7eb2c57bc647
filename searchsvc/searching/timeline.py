"""The timeline: how many matches fall in each day, week, month or year, for a chart.

    matches (a boolean array) & FacetTable.date_keys --nanmin, nanmax--> the span of their dates
    span --choose_unit: the finest unit that draws it in at most MAX_BARS bars--> the unit
    unit --calendar edges (midnights, Mondays, the 1st, 1 January)--> a bincount of each date's
        bucket (np.searchsorted in the edges) --> buckets

So a corpus that covers one year shows months, and a month shows days. Counting is one
histogram over the matches' date keys, never a loop over the matches in Python. A bucket
that the date filter cuts (from=2023-05-10 in a month chart) starts or ends where the filter
does, so its count is that of its own from and to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from searchsvc.searching.facets import date_key

MAX_BARS = 40
# Units by days (a step, aligned to Monday for weeks) or by months (a step of 12 for years,
# 120 for decades...): the finest one that fits in MAX_BARS is used.
_DAY_UNITS = (("day", 1), ("week", 7))
_MONTH_UNITS = (
    ("month", 1),
    ("year", 12),
    ("decade", 120),
    ("century", 1200),
    ("millennium", 12000),
)
UNITS = tuple(name for name, _ in (*_DAY_UNITS, *_MONTH_UNITS))


@dataclass(frozen=True)
class Bucket:
    """One bar: its first and last day (inclusive) and how many matches it holds."""

    start: date
    end: date
    count: int


@dataclass(frozen=True)
class Timeline:
    """The matches' dates drawn as bars of one unit, oldest first; undated ones counted apart."""

    unit: str
    buckets: tuple[Bucket, ...]
    undated: int


def choose_unit(first: date, last: date) -> str:
    """The finest unit that shows first..last in at most MAX_BARS bars."""
    for name, step in _DAY_UNITS:
        if (_floor_days(last, step) - _floor_days(first, step)).days // step < MAX_BARS:
            return name
    for name, step in _MONTH_UNITS:
        if (_months(last) // step) - (_months(first) // step) < MAX_BARS:
            return name
    return _MONTH_UNITS[-1][0]


def timeline(
    keys: np.ndarray, match: np.ndarray, lo: date | None = None, hi: date | None = None
) -> Timeline | None:
    """The timeline of the matched documents (keys: FacetTable.date_keys); None if none is dated.

    lo and hi are the date filter's first and last day, if any: buckets are cut to them.
    """
    found = keys[match]
    dated = found[~np.isnan(found)]
    if not dated.size:
        return None
    first, last = (_day(k) for k in (dated.min(), dated.max()))
    unit = choose_unit(first, last)
    starts = _starts(unit, first, last)
    edges = np.array([_edge(d) for d in [*starts, _next(unit, starts[-1])]], dtype=np.float64)
    # Each date's bucket by a binary search of the edges, then one bincount: np.histogram
    # with given edges sorts every dated match first (the same counts: [edge, next edge)).
    counts = np.bincount(np.searchsorted(edges, dated, side="right") - 1, minlength=len(starts))
    buckets = []
    for i, start in enumerate(starts):
        nxt = _next(unit, start)
        end = (nxt - timedelta(days=1)) if nxt else date.max
        start, end = max(start, lo) if lo else start, min(end, hi) if hi else end
        buckets.append(Bucket(start, end, int(counts[i])))
    return Timeline(unit, tuple(buckets), int(found.size - dated.size))


def _day(key: float) -> date:
    return (datetime(1970, 1, 1) + timedelta(microseconds=float(key))).date()


def _edge(d: date | None) -> float:
    return np.inf if d is None else date_key(datetime(d.year, d.month, d.day))


def _floor_days(d: date, step: int) -> date:
    return d - timedelta(days=d.weekday()) if step == 7 else d


def _months(d: date) -> int:
    return d.year * 12 + d.month - 1


def _from_months(n: int) -> date | None:
    year, month = divmod(n, 12)
    return date(year, month + 1, 1) if 1 <= year <= 9999 else None


def _step(unit: str) -> tuple[bool, int]:
    days = dict(_DAY_UNITS)
    return (True, days[unit]) if unit in days else (False, dict(_MONTH_UNITS)[unit])


def _floor(unit: str, d: date) -> date:
    by_days, step = _step(unit)
    if by_days:
        return _floor_days(d, step)
    return _from_months(_months(d) // step * step) or date.min


def _next(unit: str, d: date) -> date | None:
    """The start of the bucket after the one starting on d (None past year 9999)."""
    by_days, step = _step(unit)
    if by_days:
        return d + timedelta(days=step) if d <= date.max - timedelta(days=step) else None
    return _from_months(_months(d) + step)


def _starts(unit: str, first: date, last: date) -> list[date]:
    starts = [_floor(unit, first)]
    while (nxt := _next(unit, starts[-1])) is not None and nxt <= last:
        starts.append(nxt)
    return starts
