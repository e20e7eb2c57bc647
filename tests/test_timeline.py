"""The timeline: which unit a span of dates is drawn in, and how many matches each bar holds."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from searchsvc.searching.facets import date_key
from searchsvc.searching.timeline import MAX_BARS, choose_unit, timeline


@pytest.mark.parametrize(
    ("first", "last", "unit"),
    [
        (date(2023, 5, 4), date(2023, 5, 4), "day"),
        (date(2023, 5, 1), date(2023, 5, 31), "day"),  # a month shows days
        (date(2023, 5, 1), date(2023, 6, 9), "day"),  # 40 days
        (date(2023, 5, 1), date(2023, 6, 10), "week"),  # 41 days
        (date(2023, 3, 1), date(2023, 8, 1), "week"),
        (date(2023, 1, 3), date(2023, 12, 28), "month"),  # a year shows months
        (date(2020, 1, 1), date(2023, 4, 30), "month"),  # 40 months
        (date(2020, 1, 1), date(2023, 5, 1), "year"),  # 41 months
        (date(2021, 1, 15), date(2026, 8, 21), "year"),  # the White House corpus
        (date(1900, 1, 1), date(1960, 1, 1), "decade"),
        (date(1, 1, 1), date(9999, 12, 31), "millennium"),
    ],
)
def test_the_finest_unit_that_fits(first, last, unit):
    assert choose_unit(first, last) == unit


def _keys(dates: list[datetime | None]) -> np.ndarray:
    return np.array([np.nan if d is None else date_key(d) for d in dates], dtype=np.float64)


@pytest.mark.parametrize("seed", range(20))
def test_bucket_counts_are_those_of_counting_each_match(seed):
    rng = random.Random(seed)
    origin = datetime(rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28))
    span = rng.choice([0, 5, 30, 45, 200, 400, 1500, 20000])
    dates = [
        None if rng.random() < 0.1 else origin + timedelta(minutes=rng.randint(0, span * 1440))
        for _ in range(rng.randint(1, 400))
    ]
    match = np.array([rng.random() < 0.7 for _ in dates])
    drawn = timeline(_keys(dates), match)
    matched = [d for d, m in zip(dates, match, strict=True) if m and d is not None]
    if not matched:
        assert drawn is None or not drawn.buckets
        return
    assert drawn is not None and 1 <= len(drawn.buckets) <= MAX_BARS
    assert drawn.unit == choose_unit(min(matched).date(), max(matched).date())
    for bucket in drawn.buckets:
        assert bucket.count == sum(bucket.start <= d.date() <= bucket.end for d in matched)
    # Contiguous, oldest first, from the first match to the last.
    starts_ends = [(b.start, b.end) for b in drawn.buckets]
    pairs = zip(starts_ends, starts_ends[1:], strict=False)
    assert all(e + timedelta(days=1) == s for (_, e), (s, _) in pairs)
    assert drawn.buckets[0].start <= min(matched).date() <= drawn.buckets[0].end
    assert drawn.buckets[-1].start <= max(matched).date() <= drawn.buckets[-1].end
    undated = sum(1 for d, m in zip(dates, match, strict=True) if m and d is None)
    assert drawn.undated == undated


def test_calendar_edges_and_a_time_of_day():
    # Sunday 28 May at 23:59 is in the week before Monday 29 May at midnight.
    dates = [datetime(2023, 5, 1), datetime(2023, 5, 28, 23, 59), datetime(2023, 5, 29)]
    dates.append(datetime(2023, 6, 15))  # 1 May to 15 June: 46 days, weeks
    drawn = timeline(_keys(dates), np.ones(4, bool))
    assert drawn is not None and drawn.unit == "week"
    counts = {(b.start, b.end): b.count for b in drawn.buckets}
    assert counts[date(2023, 5, 1), date(2023, 5, 7)] == 1
    assert counts[date(2023, 5, 22), date(2023, 5, 28)] == 1
    assert counts[date(2023, 5, 29), date(2023, 6, 4)] == 1
    assert counts[date(2023, 6, 12), date(2023, 6, 18)] == 1
    assert len(counts) == 7


def test_buckets_cut_to_the_date_filter():
    dates = [datetime(2023, 3, 17), datetime(2023, 11, 3)]
    drawn = timeline(_keys(dates), np.ones(2, bool), date(2023, 3, 15), date(2023, 11, 4))
    assert drawn is not None and drawn.unit == "week"
    first, last = drawn.buckets[0], drawn.buckets[-1]
    assert (first.start, first.end) == (date(2023, 3, 15), date(2023, 3, 19))
    assert (last.start, last.end) == (date(2023, 10, 30), date(2023, 11, 4))


def test_nothing_dated_draws_nothing():
    assert timeline(_keys([None, None]), np.ones(2, bool)) is None
    assert timeline(_keys([datetime(2023, 1, 1)]), np.zeros(1, bool)) is None


def test_the_ends_of_the_calendar():
    dates = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59)]
    drawn = timeline(_keys(dates), np.ones(2, bool))
    assert drawn is not None and drawn.unit == "millennium" and len(drawn.buckets) == 10
    assert drawn.buckets[-1].end == date(9999, 12, 31) and sum(b.count for b in drawn.buckets) == 2
