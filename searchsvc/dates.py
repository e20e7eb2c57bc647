"""Dates: the one parser of dates in releases and in requests, with one set of defaults.

    a release's date (text, date or datetime) --parse_date--> a naive UTC datetime
    a short line of a release --is_date--> whether it is a date and nothing else
    a request's from/to --parse_date_range--> the first and last instant of its period

``2023`` means the whole year, ``2023-05`` and ``December 2023`` the whole month, and
``5 May 2023`` or ``2023-05-05`` the whole day. dateutil reads the text; parsing it twice
against two different default dates tells which parts the text actually gave.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timezone

from dateutil import parser as dateparser

# The default for parts a text leaves out: fixed, so the same text always gives the same
# date, and a leap year, so "29 February" parses. A range is parsed once more against a
# second default that differs in every part: whatever differs was not given by the text.
DEFAULT = datetime(2000, 1, 1)
_OTHER = datetime(2001, 2, 2)

MAX_DATE_TEXT = 64


def _grammar() -> str:
    """The date forms a request may give, as one regular expression (also in OpenAPI).

    2023, 2023-05, 2023-05-04, 5 May 2023, May 2023, May 5, 2023: months by name or their
    first three letters, capitalised or not; only days that exist (29 February in leap
    years). Spaces around are allowed, nothing else.
    """
    year = r"[1-9][0-9]{3}"
    leap = r"(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"

    def name(full: str) -> str:
        cap, rest = full[0], full[1:]
        short = rest[:2] + ("t?" if full == "September" else "")
        return f"[{cap}{cap.lower()}](?:{rest}|{short})"

    long_months = "|".join(map(name, ["January", "March", "May", "July", "August", "October",
                                      "December"]))  # fmt: skip
    short_months = "|".join(map(name, ["April", "June", "September", "November"]))
    feb = name("February")
    any_month = f"(?:{long_months}|{short_months}|{feb})"
    d31, d30, d28 = (
        "(?:0?[1-9]|[12][0-9]|3[01])",
        "(?:0?[1-9]|[12][0-9]|30)",
        "(?:0?[1-9]|1[0-9]|2[0-8])",
    )
    iso = (
        f"{year}(?:-(?:0[1-9]|1[0-2]))?"
        f"|{year}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        f"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
        f"|{leap}-02-29"
    )
    day_month = f"{d31} +(?:{long_months})|{d30} +(?:{short_months})|{d28} +{feb}"
    month_day = f"(?:{long_months}) +{d31}|(?:{short_months}) +{d30}|{feb} +{d28}"
    text = (
        f"(?:{day_month}) +{year}|{any_month} +{year}|(?:{month_day}), *{year}"
        f"|(?:29 +{feb}|{feb} +29,) *{leap}"
    )
    return f"^ *(?:{iso}|{text})? *$"


# Every from/to a request may give ("" or spaces: none); the OpenAPI document says the same.
DATE_PATTERN = _grammar()
_DATE_RE = re.compile(DATE_PATTERN)


class DateError(ValueError):
    """A text that is not a date."""


def parse_date(value: object) -> datetime | None:
    """A date, datetime or date text as a naive UTC datetime; None for no value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        when = _parse_text(value.strip())
    else:  # a mapping or list from front matter: name its type, never render it whole
        raise DateError(f"unreadable date (a {type(value).__name__}, not a date)")
    if when.tzinfo is not None:
        try:
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
            raise DateError(f"unreadable date {str(value)[:40]!r}") from None
    return when


def _parse_text(text: str) -> datetime:
    try:
        return dateparser.isoparse(text)  # the common case, and much faster than parse()
    except (ValueError, OverflowError):
        pass
    try:
        return dateparser.parse(text, default=DEFAULT)
    except (ValueError, OverflowError):
        raise DateError(f"unreadable date {text[:40]!r}") from None


def is_date(text: str) -> bool:
    """Whether a text is a date and nothing else, as dateutil reads it."""
    # Whole-text (not fuzzy) parsing: "05 December 2023" is a date, "Meeting on 5 May" is not.
    try:
        dateparser.parse(text, default=DEFAULT)
    except (ValueError, OverflowError):
        return False
    return True


def parse_date_range(text: str) -> tuple[datetime, datetime]:
    """The first and last instant (naive UTC) of the period a date text names."""
    if len(text) > MAX_DATE_TEXT or not _DATE_RE.match(text) or not text.strip():
        raise DateError(f"{_show(text)} is not a date; try 2023, 2023-05 or 5 May 2023")
    text = text.strip(" ").replace(",", ", ")  # dateutil reads "May 5,2023" as no year
    try:
        a = dateparser.parse(text, default=DEFAULT)
        b = dateparser.parse(text, default=_OTHER)
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
    return start, end  # a start after the end is no error: nothing lies between them


def _show(text: str) -> str:
    return repr(text if len(text) <= MAX_DATE_TEXT else text[:MAX_DATE_TEXT] + "…")
