"""Dates as people type them -> the bounds of a range filter."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.dates import (
    DATE_PATTERN,
    MAX_DATE_TEXT,
    DateError,
    DateRange,
    date_bounds,
    is_relative,
    parse_date_range,
    resolve_range,
    today_in,
)
from searchsvc.searching import SearchRequest

END = {"hour": 23, "minute": 59, "second": 59, "microsecond": 999999}
TODAY = date(2026, 11, 30)  # a Monday; no test here reads the real date
D = date


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2023", datetime(2023, 1, 1), datetime(2023, 12, 31, **END)),
        ("2023-05", datetime(2023, 5, 1), datetime(2023, 5, 31, **END)),
        ("2024-02", datetime(2024, 2, 1), datetime(2024, 2, 29, **END)),
        ("December 2023", datetime(2023, 12, 1), datetime(2023, 12, 31, **END)),
        ("DECEMBER 2023", datetime(2023, 12, 1), datetime(2023, 12, 31, **END)),  # any case
        ("5 May 2023", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
        ("2023-05-05", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
        ("May 5, 2023", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
    ],
)
def test_periods(text, first, last):
    assert parse_date_range(text) == (first, last)


# Each relative form names a period ending today at the latest, counted from TODAY.
@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("today", D(2026, 11, 30), D(2026, 11, 30)),
        ("yesterday", D(2026, 11, 29), D(2026, 11, 29)),
        # last/past N days, weeks, months, years: the N that end today, today included
        ("last 7 days", D(2026, 11, 24), D(2026, 11, 30)),
        ("past 7 days", D(2026, 11, 24), D(2026, 11, 30)),
        ("7d", D(2026, 11, 24), D(2026, 11, 30)),
        ("last 1 day", D(2026, 11, 30), D(2026, 11, 30)),
        ("last 2 weeks", D(2026, 11, 17), D(2026, 11, 30)),
        ("2w", D(2026, 11, 17), D(2026, 11, 30)),
        ("past week", D(2026, 11, 24), D(2026, 11, 30)),
        ("past month", D(2026, 10, 31), D(2026, 11, 30)),
        ("last 3 months", D(2026, 8, 31), D(2026, 11, 30)),
        ("3m", D(2026, 8, 31), D(2026, 11, 30)),
        ("past year", D(2025, 12, 1), D(2026, 11, 30)),
        ("1y", D(2025, 12, 1), D(2026, 11, 30)),
        ("past day", D(2026, 11, 30), D(2026, 11, 30)),
        # this week, month, year: so far; last week, month, year: the whole previous one
        ("this week", D(2026, 11, 30), D(2026, 11, 30)),
        ("this month", D(2026, 11, 1), D(2026, 11, 30)),
        ("this year", D(2026, 1, 1), D(2026, 11, 30)),
        ("last week", D(2026, 11, 23), D(2026, 11, 29)),
        ("last month", D(2026, 10, 1), D(2026, 10, 31)),
        ("last year", D(2025, 1, 1), D(2025, 12, 31)),
        # since X: from the start of X to today; a month alone is the latest one begun
        ("since March", D(2026, 3, 1), D(2026, 11, 30)),
        ("since november", D(2026, 11, 1), D(2026, 11, 30)),
        ("since Dec", D(2025, 12, 1), D(2026, 11, 30)),
        ("since 2024", D(2024, 1, 1), D(2026, 11, 30)),
        ("since 2024-05", D(2024, 5, 1), D(2026, 11, 30)),
        ("since 5 May 2026", D(2026, 5, 5), D(2026, 11, 30)),
        # any case, spaces as in absolute dates
        ("LAST 7 DAYS", D(2026, 11, 24), D(2026, 11, 30)),
        ("  Past   Month ", D(2026, 10, 31), D(2026, 11, 30)),
        ("7D", D(2026, 11, 24), D(2026, 11, 30)),
        ("Since March", D(2026, 3, 1), D(2026, 11, 30)),
        ("SINCE MARCH", D(2026, 3, 1), D(2026, 11, 30)),
        ("since Sept", D(2026, 9, 1), D(2026, 11, 30)),
        ("ToDay", D(2026, 11, 30), D(2026, 11, 30)),
    ],
)
def test_relative_periods(text, first, last):
    start, end = parse_date_range(text, TODAY)
    assert (start, end) == (
        datetime(*first.timetuple()[:3]),
        datetime(*last.timetuple()[:3], **END),
    )
    assert is_relative(text)


@pytest.mark.parametrize(
    ("today", "text", "first", "last"),
    [
        (D(2026, 2, 10), "since March", D(2025, 3, 1), D(2026, 2, 10)),  # March not begun yet
        (D(2026, 3, 31), "past month", D(2026, 3, 1), D(2026, 3, 31)),  # 31 Feb is 28 Feb
        (D(2028, 2, 29), "past year", D(2027, 3, 1), D(2028, 2, 29)),
        (D(2026, 1, 1), "yesterday", D(2025, 12, 31), D(2025, 12, 31)),
        (D(2026, 1, 15), "last month", D(2025, 12, 1), D(2025, 12, 31)),
        (D(2026, 12, 6), "this week", D(2026, 11, 30), D(2026, 12, 6)),  # a Sunday
        (D(2026, 12, 6), "last week", D(2026, 11, 23), D(2026, 11, 29)),
    ],
)
def test_relative_periods_at_the_edges_of_months_and_years(today, text, first, last):
    assert resolve_range(None, text, today) == DateRange(None, last, {"to": text})
    assert parse_date_range(text, today)[0].date() == first


def test_a_range_says_what_it_resolved_to_and_what_was_typed():
    # A relative from with no to ends today: a release dated later is not in the last week.
    assert resolve_range("last 7 days", None, TODAY) == DateRange(
        D(2026, 11, 24), D(2026, 11, 30), {"from": "last 7 days"}
    )
    assert resolve_range("last year", None, TODAY) == DateRange(
        D(2025, 1, 1), D(2026, 11, 30), {"from": "last year"}
    )
    # An absolute from with no to stays open, as it always was.
    assert resolve_range("2023", None, TODAY) == DateRange(D(2023, 1, 1), None, {"from": "2023"})
    # A relative to ends its period; from and to mix freely.
    assert resolve_range("2023-05", "last year", TODAY) == DateRange(
        D(2023, 5, 1), D(2025, 12, 31), {"from": "2023-05", "to": "last year"}
    )
    assert resolve_range(None, "yesterday", TODAY) == DateRange(
        None, D(2026, 11, 29), {"to": "yesterday"}
    )
    assert resolve_range(None, None, TODAY) is None
    assert resolve_range("", "", TODAY) is None
    assert date_bounds("today", None, TODAY) == (
        datetime(2026, 11, 30),
        datetime(2026, 11, 30, **END),
    )
    # A since in the future is no error, as a from after a to is none: nothing lies between.
    found = resolve_range("since 2030", None, TODAY)
    assert found is not None and found.start == D(2030, 1, 1) and found.end == TODAY


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "next week",
        "last 0 days",
        "0d",
        "last 1000 days",
        "1000d",
        "7 days",
        "last day",
        "last 7",
        "7 d",
        "7h",
        "past 7 fortnights",
        "since",
        "since tomorrow",
        "since Marc",
        "since March 2023 2024",
        "lastweek",
        "last\tweek",
        "ſince March",  # Python's IGNORECASE would read this long s as an s; the pattern does not
        "thIs yeaR!",
    ],
)
def test_unknown_relative_forms_name_the_value_and_list_the_forms(text):
    with pytest.raises(DateError) as caught:
        parse_date_range(text, TODAY)
    message = str(caught.value)
    assert message.startswith(f"{text!r} is not a date; try 2023, 2023-05, 5 May 2023, today,")
    assert "last 7 days, 2w, past month, this year, last year or since March" in message
    assert not re.match(DATE_PATTERN, text)
    assert not is_relative(text)


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        ("UTC", datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), D(2026, 11, 30)),
        ("Asia/Tokyo", datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), D(2026, 12, 1)),
        ("America/New_York", datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc), D(2026, 11, 30)),
    ],
)
def test_today_is_the_date_in_the_configured_zone(zone, now, today):
    assert today_in(zone, now) == today


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("notadate", "'notadate' is not a date"),
        ("2023-13-01", "'2023-13-01' is not a date"),
        ("31 February 2023", "'31 February 2023' is not a date"),
        ("May 5", "'May 5' is not a date"),
        ("2023/05/04", "is not a date"),  # only the documented forms
        ("31 April 2023", "is not a date"),
        ("29 February 2023", "is not a date"),
        ("", "is not a date"),
        ("9" * 500, "is not a date"),
    ],
)
def test_not_dates_name_the_value(text, message):
    with pytest.raises(DateError, match=message):
        parse_date_range(text)


def test_bounds_cover_whole_periods_and_check_order():
    assert date_bounds("2023-05", "2023-05") == (
        datetime(2023, 5, 1),
        datetime(2023, 5, 31, **END),
    )
    assert date_bounds(None, None) == (None, None)
    # A start after the end is no error (the API's schema cannot say it is one): it just
    # leaves nothing between them.
    start, end = date_bounds("2024", "2023")
    assert start > end


@given(st.from_regex(DATE_PATTERN, fullmatch=True).filter(lambda t: len(t) <= MAX_DATE_TEXT))
@settings(max_examples=600, deadline=None, derandomize=True)
def test_every_text_the_pattern_admits_is_a_date(text):
    # The OpenAPI document gives this pattern for from and to: what it admits must parse.
    if text.strip():
        start, end = parse_date_range(text, TODAY)
        # Only a since that has not begun yet starts after it ends (and finds nothing).
        assert start <= end or (text.strip().lower().startswith("since") and end.date() == TODAY)


@given(st.from_regex(DATE_PATTERN, fullmatch=False).filter(lambda t: len(t) <= MAX_DATE_TEXT))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_every_text_the_pattern_admits_as_json_schema_reads_it_is_a_date(text):
    # A validator searches with Python's re: its $ also admits one final newline.
    if text.strip() and re.search(DATE_PATTERN, text):
        parse_date_range(text, TODAY)


def test_a_range_from_after_to_finds_nothing(seeds_engine):
    assert seeds_engine.search(SearchRequest(date_from="2024", date_to="2023")).total == 0
