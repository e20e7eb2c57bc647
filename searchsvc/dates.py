"""Dates: the one parser of dates in releases and in requests, with one set of defaults.

    a release's date (text, number, date or datetime) --read_release_date--> a naive UTC
        datetime, and a note if only its year was given; DateError if not a release's date
    a short line of a release --is_date--> whether it is a date and nothing else
    a request's from/to --parse_date_range--> the first and last instant of its period
    a request's from and to, and today --resolve_range--> the DateRange they stand for

``2023`` means the whole year, ``2023-05`` and ``December 2023`` the whole month, and
``5 May 2023`` or ``2023-05-05`` the whole day. dateutil reads the text; parsing it twice
against two different default dates tells which parts the text actually gave.

Relative forms (``today``, ``last 7 days``, ``2w``, ``past month``, ``last year``,
``since March``) name a period that ends today at the latest, counted from the ``today``
the caller passes: the edges take it from the clock in the configured time zone when the
search runs, so a saved ``from=last 7 days`` keeps meaning the last seven days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser
from dateutil.relativedelta import relativedelta

# The default for parts a text leaves out: fixed, so the same text always gives the same
# date, and a leap year, so "29 February" parses. A range is parsed once more against a
# second default that differs in every part: whatever differs was not given by the text.
DEFAULT = datetime(2000, 1, 1)
_OTHER = datetime(2001, 2, 2)

MAX_DATE_TEXT = 64


def _ci(word: str) -> str:
    """A word in any case, as character classes (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


def _relative_grammar(absolute: str, any_month: str) -> str:
    """today, yesterday, last/past N days|weeks|months|years, past day|week|month|year,
    Nd/Nw/Nm/Ny, this/last week|month|year, since <a date or a month>: words in any case."""
    n = "[1-9][0-9]{0,2}"
    unit = f"(?:{_ci('day')}|{_ci('week')}|{_ci('month')}|{_ci('year')})"
    calendar_unit = f"(?:{_ci('week')}|{_ci('month')}|{_ci('year')})"
    return "|".join(
        [
            _ci("today"),
            _ci("yesterday"),
            f"(?:{_ci('last')}|{_ci('past')}) +{n} +{unit}[Ss]?",
            f"{_ci('past')} +{unit}",
            f"(?:{_ci('this')}|{_ci('last')}) +{calendar_unit}",
            f"{n}[DdWwMmYy]",
            f"{_ci('since')} +(?:{absolute}|{any_month})",
        ]
    )


def _grammar() -> str:
    """The date forms a request may give, as one regular expression (also in OpenAPI).

    2023, 2023-05, 2023-05-04, 5 May 2023, May 2023, May 5, 2023: months by name or their
    first three letters, in any case; only days that exist (29 February in leap
    years). Then the relative forms (_relative_grammar). Spaces around are allowed,
    nothing else.
    """
    year = r"[1-9][0-9]{3}"
    leap = r"(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"

    def name(full: str) -> str:
        tail = _ci(full[3:]) + (f"|{_ci('t')}" if full == "September" else "")
        return f"{_ci(full[:3])}(?:{tail})?" if tail else _ci(full)

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
    relative = _relative_grammar(f"(?:{iso}|{text})", any_month)
    return f"^ *(?:{iso}|{text}|{relative})? *$"


# Every from/to a request may give ("" or spaces: none); the OpenAPI document says the same.
DATE_PATTERN = _grammar()
_DATE_RE = re.compile(DATE_PATTERN)


# What an error lists: the forms that work.
FORMS = (
    "2023, 2023-05, 5 May 2023, today, yesterday, last 7 days, 2w, past month, this year, "
    "last year or since March"
)


class DateError(ValueError):
    """A text that is not a date."""


@dataclass(frozen=True)
class DateRange:
    """What a request's from and to resolved to: first and last day (inclusive), as typed."""

    start: date | None
    end: date | None
    typed: dict[str, str] = field(default_factory=dict)  # {"from": "last 7 days"}: as given

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The first and last instant of the range (naive UTC, as releases' dates are)."""
        start = datetime.combine(self.start, time.min) if self.start else None
        end = datetime.combine(self.end, time.max) if self.end else None
        return start, end


def has_time(value: datetime) -> bool:
    """Whether a release's date carries a time of day (dates alone are kept as midnight UTC)."""
    return value.time() != time.min


def today_in(zone: str | tzinfo = "UTC", now: datetime | None = None) -> date:
    """Today's date in a time zone (a name such as Europe/Berlin), at now or the clock's now."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return (now or datetime.now(timezone.utc)).astimezone(tz).date()


def read_release_date(value: object, today: date | None = None) -> tuple[datetime | None, str]:
    """A release's date as a naive UTC datetime (None for no value), and a note ("" if
    none) when only its year was given; DateError when it cannot be a release's date.

    A number is read as its digits (``date: 2023`` as "2023", ``20230115`` as
    2023-01-15). A text must give a year: "May 5" or "12" is no date. A year before 1000
    (``-0001-01-01``, the placeholder ``0001-01-01``) is none either, as is a date more than
    MAX_DAYS_AHEAD days after today (UTC unless given): ``2100-01-01``, ``9999-12-31``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ""
    note = ""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        if len(text) > MAX_FUZZY_DATE:  # a date with words around it, not a paragraph
            raise DateError(f"unreadable date {text[:40]!r}… ({len(text):,} characters)")
        when, only_year = _parse_text(text)
        if only_year:
            note = f"only the year given ({str(value).strip()[:40]!r}); indexed as {when:%Y-%m-%d}"
    else:  # a mapping or list from front matter: name its type, never render it whole
        raise DateError(f"unreadable date (a {type(value).__name__}, not a date)")
    if when.tzinfo is not None:
        try:
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
            raise DateError(f"unreadable date {str(value)[:40]!r}") from None
    _check_plausible(when, str(value).strip(), today)
    return when, note


FIRST_YEAR = 1000  # as the from/to grammar: a release dated earlier could not be filtered to
MAX_DAYS_AHEAD = 366  # an embargoed release is dated days ahead; 2100 is a typo or a placeholder


def _check_plausible(when: datetime, text: str, today: date | None) -> None:
    shown = repr(text[:40])
    if text.startswith("-") or when.year < FIRST_YEAR:  # dateutil reads "-0001" as year 1
        raise DateError(f"implausible date {shown} (before the year {FIRST_YEAR})")
    today = today or today_in()
    if when.date() > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DateError(f"implausible date {shown} (more than a year after today, {today})")


def _parse_text(text: str) -> tuple[datetime, bool]:
    """The date a text gives, and whether it gave only the year."""
    try:
        # The common case, and much faster than parse(); "2023" is the only year alone.
        return dateparser.isoparse(text), len(text) == 4
    except (ValueError, OverflowError):
        pass
    zone = _ZONE_NAME.search(text)
    # "2024-05-05 10:00 Europe/Berlin": dateutil would drop the name, and read UTC.
    if zone is not None and zone.group().split("/")[0] in _ZONE_AREAS:
        try:
            tz = ZoneInfo(zone.group())
        except (ValueError, KeyError, OSError):
            raise DateError(f"unreadable date {text[:40]!r} (unknown time zone)") from None
        try:
            when, only_year = _parse_text(text[: zone.start()] + text[zone.end() :])
        except DateError as exc:  # named with the text as written
            why = " (no year)" if str(exc).endswith("(no year)") else ""
            raise DateError(f"unreadable date {text[:40]!r}{why}") from None
        # A day without a time is that day wherever it is: only a time of day moves.
        if when.tzinfo is None and when.time() != time.min:
            return when.replace(tzinfo=tz), only_year
        return when, only_year
    # Parsed against two defaults: a part that differs was not given by the text.
    for fuzzy in (False, True):
        # Dates as people write them in exports: "Bulletin, March 1966", "Journal March,
        # 1966", "Updated March 3, 2024 at 5:00 PM EST". dateutil's fuzzy mode skips the
        # words around the date; it is trusted only where the text names a year, since
        # fuzzy reading turns any lone number into a day ("Volume 3": the 3rd of a month).
        if fuzzy and not _YEAR.search(text):
            break
        try:
            a = dateparser.parse(text, default=DEFAULT, fuzzy=fuzzy, tzinfos=ZONE_ABBREVIATIONS)
        except (ValueError, OverflowError):
            continue
        try:
            b = dateparser.parse(text, default=_OTHER, fuzzy=fuzzy, tzinfos=ZONE_ABBREVIATIONS)
        except (ValueError, OverflowError):  # "29 February" alone: no year in 2001
            b = None
        if b is None or a.year != b.year:
            raise DateError(f"unreadable date {text[:40]!r} (no year)")
        return a, a.month != b.month
    raise DateError(f"unreadable date {text[:40]!r}")


_YEAR = re.compile(r"(?<!\d)[12]\d{3}(?!\d)")
# The areas of IANA zone names; "March/April, 1966" is no zone and is read as before.
_ZONE_AREAS = {
    *("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"),
    *("Indian", "Pacific", "Etc", "US", "Canada", "Brazil", "Mexico", "Chile"),
}
_ZONE_NAME = re.compile(r"\b[A-Z][A-Za-z]+(?:/[A-Z][A-Za-z_+-]*)+\b")  # Europe/Berlin
MAX_FUZZY_DATE = 80  # characters: a date with words around it, not a paragraph

# The zone abbreviations North American and British releases print after a time. dateutil
# knows only UTC and the machine's own zone by name, and warns about every other.
ZONE_ABBREVIATIONS = {
    name: offset * 3600
    for name, offset in {
        "UTC": 0,
        "GMT": 0,
        "Z": 0,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "MSK": 3,
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "AKST": -9,
        "AKDT": -8,
        "HST": -10,
    }.items()
}


def is_date(text: str) -> bool:
    """Whether a text is a date and nothing else, as dateutil reads it."""
    # Whole-text (not fuzzy) parsing: "05 December 2023" is a date, "Meeting on 5 May" is not.
    try:
        dateparser.parse(text, default=DEFAULT)
    except (ValueError, OverflowError):
        return False
    return True


def parse_date_range(text: str, today: date | None = None) -> tuple[datetime, datetime]:
    """The first and last instant (naive UTC) of the period a date text names.

    A relative form counts from today (None: today in UTC).
    """
    if len(text) > MAX_DATE_TEXT or not _DATE_RE.match(text) or not text.strip():
        raise DateError(f"{_show(text)} is not a date; try {FORMS}")
    found = _relative(_trimmed(text), today or today_in())
    if found is not None:
        return datetime.combine(found[0], time.min), datetime.combine(found[1], time.max)
    return _absolute(text)


def _absolute(text: str) -> tuple[datetime, datetime]:
    text = text.strip(" ").replace(",", ", ")  # dateutil reads "May 5,2023" as no year
    try:
        a = dateparser.parse(text, default=DEFAULT)
        b = dateparser.parse(text, default=_OTHER)
    except (ValueError, OverflowError) as exc:
        raise DateError(f"{_show(text)} is not a date; try {FORMS}") from exc
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


def resolve_range(
    date_from: str | None, date_to: str | None, today: date | None = None
) -> DateRange | None:
    """The days from `date_from`'s period to `date_to`'s; None when neither is given.

    A relative `date_from` with no `date_to` ends today: a release dated later is not in
    the last seven days. An absolute one stays open, as it always was.
    """
    if not date_from and not date_to:
        return None
    today = today or today_in()
    start = parse_date_range(date_from, today)[0].date() if date_from else None
    end = parse_date_range(date_to, today)[1].date() if date_to else None
    if date_from and not date_to and is_relative(date_from):
        end = today
    typed = {k: v for k, v in (("from", date_from), ("to", date_to)) if v}
    return DateRange(start, end, typed)  # a start after the end is no error: nothing between


def date_bounds(
    date_from: str | None, date_to: str | None, today: date | None = None
) -> tuple[datetime | None, datetime | None]:
    """The start of `date_from`'s period and the end of `date_to`'s; either may be absent."""
    found = resolve_range(date_from, date_to, today)
    return found.bounds() if found else (None, None)


def relative_from_label(text: str, today: date | None = None) -> str:
    """A relative from with no to, in words: what it names if that ends today ("last 7
    days", "this month"), else "since" it ("since yesterday", "since last week": its
    period's first day to today, which resolve_range searches)."""
    end = parse_date_range(text, today or today_in())[1].date()
    return text if end >= (today or today_in()) else f"since {text}"


def is_relative(text: str) -> bool:
    """Whether a from/to text is one of the relative forms (its meaning moves with today)."""
    return bool(_DATE_RE.match(text)) and _relative(_trimmed(text), date(2000, 1, 1)) is not None


# The relative forms, read once the published pattern has admitted the text (ASCII only:
# Python's IGNORECASE would also take "ſ" for "s", which the pattern does not).
_FLAGS = re.IGNORECASE | re.ASCII
_ROLLING = re.compile(r"(?:last|past) +([0-9]+) +(day|week|month|year)s?|([0-9]+)([dwmy])", _FLAGS)
_PAST_ONE = re.compile(r"past +(day|week|month|year)", _FLAGS)
_CALENDAR = re.compile(r"(this|last) +(week|month|year)", _FLAGS)
_SINCE = re.compile(r"since +(.+)", _FLAGS)
_UNITS = {"d": "day", "w": "week", "m": "month", "y": "year"}


def _trimmed(text: str) -> str:
    # The pattern's $ also admits one newline at the very end, as Python reads it.
    return (text[:-1] if text.endswith("\n") else text).strip(" ")


def _relative(text: str, today: date) -> tuple[date, date] | None:
    """The first and last day of the period a relative form names, or None if not one."""
    word = text.lower()
    try:
        if word in ("today", "yesterday"):
            day = today - timedelta(days=word == "yesterday")
            return day, day
        if m := _ROLLING.fullmatch(text):
            count = int(m.group(1) or m.group(3))
            unit = m.group(2) or _UNITS[m.group(4).lower()]
            return _rolling(today, count, unit.lower()), today
        if m := _PAST_ONE.fullmatch(text):
            return _rolling(today, 1, m.group(1).lower()), today
        if m := _CALENDAR.fullmatch(text):
            return _calendar(today, m.group(1).lower() == "last", m.group(2).lower())
        if m := _SINCE.fullmatch(text):
            return _since(m.group(1).strip(" "), today), today
    except (ValueError, OverflowError):  # a period before year 1
        raise DateError(f"{_show(text)} reaches too far back; try a shorter period") from None
    return None


def _rolling(today: date, count: int, unit: str) -> date:
    """The first day of the `count` days (weeks, months, years) that end today."""
    return today - relativedelta(**{f"{unit}s": count}) + timedelta(days=1)  # type: ignore[arg-type]


def _calendar(today: date, previous: bool, unit: str) -> tuple[date, date]:
    """This week (from Monday), month or year so far, or the whole previous one."""
    if unit == "week":
        first = today - timedelta(days=today.weekday())
    elif unit == "month":
        first = today.replace(day=1)
    else:
        first = today.replace(month=1, day=1)
    if not previous:
        return first, today
    before = first - relativedelta(**{f"{unit}s": 1})  # type: ignore[arg-type]
    return before, first - timedelta(days=1)


def _since(rest: str, today: date) -> date:
    """The first day of `since`'s date, or of the latest month of that name begun by today."""
    start, _ = _absolute(rest) if any(c.isdigit() for c in rest) else (None, None)
    if start is not None:
        return start.date()
    month = dateparser.parse(rest, default=DEFAULT).month
    return date(today.year - (month > today.month), month, 1)


def _show(text: str) -> str:
    return repr(text if len(text) <= MAX_DATE_TEXT else text[:MAX_DATE_TEXT] + "…")
