"""Dates as people type them -> the bounds of a range filter."""

from __future__ import annotations

from datetime import datetime

import pytest

from searchsvc.dates import DateError, date_bounds, parse_date_range

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
        ("May 5", "'May 5' has no year"),
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
    with pytest.raises(DateError, match="is after"):
        date_bounds("2024", "2023")
