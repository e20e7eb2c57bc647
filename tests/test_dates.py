"""Dates as people type them -> the bounds of a range filter."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.dates import DATE_PATTERN, MAX_DATE_TEXT, DateError, date_bounds, parse_date_range
from searchsvc.searching import SearchRequest

END = {"hour": 23, "minute": 59, "second": 59, "microsecond": 999999}


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2023", datetime(2023, 1, 1), datetime(2023, 12, 31, **END)),
        ("2023-05", datetime(2023, 5, 1), datetime(2023, 5, 31, **END)),
        ("2024-02", datetime(2024, 2, 1), datetime(2024, 2, 29, **END)),
        ("December 2023", datetime(2023, 12, 1), datetime(2023, 12, 31, **END)),
        ("5 May 2023", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
        ("2023-05-05", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
        ("May 5, 2023", datetime(2023, 5, 5), datetime(2023, 5, 5, **END)),
    ],
)
def test_periods(text, first, last):
    assert parse_date_range(text) == (first, last)


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
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_text_the_pattern_admits_is_a_date(text):
    # The OpenAPI document gives this pattern for from and to: what it admits must parse.
    if text.strip():
        start, end = parse_date_range(text)
        assert start <= end


def test_a_range_from_after_to_finds_nothing(seeds_engine):
    assert seeds_engine.search(SearchRequest(date_from="2024", date_to="2023")).total == 0
