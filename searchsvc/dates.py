"""Dates as people type them, turned into the bounds of a date-range filter.

``2023`` means the whole year, ``2023-05`` and ``December 2023`` the whole month, and
``5 May 2023`` or ``2023-05-05`` the whole day. dateutil reads the text; parsing it twice
against two different default dates tells which parts the text actually gave.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

from dateutil import parser as dateparser

# Two defaults that differ in every part: whatever differs between the two parses was
# filled in by the default, not given by the text.
_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2)

MAX_DATE_TEXT = 64


class DateError(ValueError):
    """A text that is not a date."""


def parse_date_range(text: str) -> tuple[datetime, datetime]:
    """The first and last instant (naive UTC) of the period a date text names."""
    text = text.strip()
    if not text or len(text) > MAX_DATE_TEXT:
        raise DateError(f"{_show(text)} is not a date; try 2023, 2023-05 or 5 May 2023")
    try:
        a = dateparser.parse(text, default=_DEFAULT_A)
        b = dateparser.parse(text, default=_DEFAULT_B)
    except (ValueError, OverflowError) as exc:
        raise DateError(f"{_show(text)} is not a date; try 2023, 2023-05 or 5 May 2023") from exc
    if a.year != b.year:
        raise DateError(f"{_show(text)} has no year; try {text} 2023")
    if a.tzinfo is not None:
        try:
            a = a.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
            raise DateError(f"{_show(text)} is out of range; try 2023") from None
    year = a.year
    if a.month != b.month:
        return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59, 999999)
    if a.day != b.day:
        last = calendar.monthrange(year, a.month)[1]
        return datetime(year, a.month, 1), datetime(year, a.month, last, 23, 59, 59, 999999)
    day = datetime(year, a.month, a.day)
    return day, day.replace(hour=23, minute=59, second=59, microsecond=999999)


def date_bounds(
    date_from: str | None, date_to: str | None
) -> tuple[datetime | None, datetime | None]:
    """The start of `date_from`'s period and the end of `date_to`'s; either may be absent."""
    start = parse_date_range(date_from)[0] if date_from else None
    end = parse_date_range(date_to)[1] if date_to else None
    if start and end and start > end:
        raise DateError(f"from {date_from!r} is after to {date_to!r}")
    return start, end


def _show(text: str) -> str:
    return repr(text if len(text) <= MAX_DATE_TEXT else text[:MAX_DATE_TEXT] + "…")
