"""What a search asks for: each search parameter declared once, on SearchRequest's fields.

    SearchRequest field + param(...) --PARAMS--> the CLI's options (cli/commands.py)
                                             --> query-string parsing (request_from_args)
                                             --> the OpenAPI parameters (web/openapi.py)
                                             --> the page's filter chips and links (web/pages.py)

Adding a parameter is one edit here, a field with its ``param(...)``; search() then gives
it a meaning. Limits are checked once, by check_request, whichever edge asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any

from searchsvc.dates import DATE_PATTERN, MAX_DATE_TEXT, DateRange
from searchsvc.entities import country_label
from searchsvc.reading import MAX_FACET_VALUE
from searchsvc.schema import FACET_FIELDS, FACETS, NONE_VALUE, Facet
from searchsvc.searching.facets import FacetFilter
from searchsvc.searching.forgive import plain_quotes
from searchsvc.searching.query import MAX_QUERY_LENGTH

SORTS = ("relevance", "newest", "oldest")
MAX_SIZE = 100
MAX_DEPTH = 10_000  # page x size: a deeper page is answered empty, with a notice


class SearchError(ValueError):
    """A request that cannot be answered as asked; the message says why."""


@dataclass(frozen=True)
class Param:
    """One search parameter as the edges see it."""

    name: str  # the query-string name, and the CLI's --option
    help: str  # one line: the CLI's help and the OpenAPI description
    kind: type = str  # str, int or bool
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None  # a regular expression the whole value must match
    max_length: int | None = None
    label: str = ""  # the page's label for it as an active filter ("" if not a filter)
    multiple: bool = False  # may be given several times (a facet's values): a tuple
    attr: str = ""  # the SearchRequest field (filled in from the declaration)


def param(default: Any, **declaration: Any) -> Any:
    """A SearchRequest field with its Param."""
    return field(default=default, metadata={"param": Param(**declaration)})


_DATE_HELP = (
    "2023, 2023-05, 2023-05-04, 5 May 2023 or December 2023; or relative to today: today, "
    "yesterday, last 7 days, 7d, 2w, past month, this year, last year, since March"
)


MAX_FILTER_VALUES = 50  # values of one facet a request may name
# A value as a document holds it (reading.MAX_FACET_VALUE: longer ones are cut there), and
# its "-" to exclude it: every value listed can be chosen and excluded.
MAX_VALUE_LENGTH = MAX_FACET_VALUE + 1


def facet_param(facet: Facet) -> Any:
    """A facet's filter field: the values asked for, each "-value" to exclude one."""
    thing = facet.label.lower()
    help = facet.help or f"Only releases with this {thing}."
    return param(
        (),
        name=facet.name,
        label=facet.label,
        multiple=True,
        max_length=MAX_VALUE_LENGTH,
        help=f"{help} Repeat for any of several; -value excludes one; (none): without one.",
    )


def with_facet_filters(after: str):
    """A class decorator (under @dataclass) adding each declared facet's filter field
    (schema.FACETS) after the field `after`: one declaration, every edge."""

    def add(cls):
        notes: dict[str, Any] = {}
        for name, note in cls.__dict__.get("__annotations__", {}).items():
            notes[name] = note
            if name == after:
                for facet in FACETS:
                    notes[facet.name] = "tuple[str, ...]"
                    setattr(cls, facet.name, facet_param(facet))
        cls.__annotations__ = notes
        return cls

    return add


@dataclass(frozen=True)
@with_facet_filters(after="date_to")
class SearchRequest:
    """What to search for, filter by, sort by and which page to return."""

    # No length limit here: a longer query is cut at a word, with a notice (forgive.py),
    # as the command line does; with strict it is refused (syntax.check_syntax).
    q: str = param(
        "",
        name="q",
        help='The query: words, "phrases", AND/OR/NOT, field:value, prefix*, fuzzy~. '
        "Empty lists documents newest first. Past "
        f"{MAX_QUERY_LENGTH:,} characters it is cut at a word, with a notice "
        "(strict: refused).",
    )
    date_from: str | None = param(
        None,
        name="from",
        label="From",
        pattern=DATE_PATTERN,
        max_length=MAX_DATE_TEXT,
        help=f"Earliest date: {_DATE_HELP}.",
    )
    date_to: str | None = param(
        None,
        name="to",
        label="To",
        pattern=DATE_PATTERN,
        max_length=MAX_DATE_TEXT,
        help="Latest date, read the same way; a partial date covers its whole year or month, "
        "a relative one its whole period (a relative from with no to ends today).",
    )
    sort: str = param("relevance", name="sort", choices=SORTS, help="Order of results.")
    group: bool = param(
        True,
        name="group",
        kind=bool,
        help="Show each group of near-duplicates (one release under several paths or "
        "outlets) once, at its best member, with the others as also published as; "
        "false lists every release.",
    )
    strict: bool = param(
        False,
        name="strict",
        kind=bool,
        help="Refuse a query that cannot be read as typed (the API: a 400; the command "
        "line: one line, exit 1), instead of searching it mended (an unknown field: as "
        "words, a quote or parenthesis closed) with a notice.",
    )
    verbatim: bool = param(
        False,
        name="verbatim",
        kind=bool,
        help="Search names only as typed: not their other spellings from the variant lists.",
    )
    page: int = param(
        1,
        name="page",
        kind=int,
        minimum=1,
        help=f"Page number; pages past the first {MAX_DEPTH:,} results come back empty.",
    )
    size: int = param(
        10, name="size", kind=int, minimum=1, maximum=MAX_SIZE, help="Results per page."
    )

    # One field per facet of schema.FACETS, added by with_facet_filters after date_to:
    # a tuple of the values asked for (any of them), "-value" excluding one.

    def __post_init__(self) -> None:
        # A facet filter given as one str (year="2023", as before filters took several)
        # is that one value, not its characters.
        for name in FACET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,) if value else ())
            elif value is None:
                object.__setattr__(self, name, ())
            elif not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    def filters(self) -> dict[str, FacetFilter]:
        """The facet filters that are set, each as the values included and excluded."""
        out = {}
        for name in FACET_FIELDS:
            values = getattr(self, name)
            if values:
                include = tuple(v for v in values if not v.startswith("-"))
                exclude = tuple(v[1:].strip() for v in values if v.startswith("-"))
                if name == "country":  # by name or ISO code: TM, Russian Federation
                    include, exclude = (
                        tuple(map(country_label, include)),
                        tuple(map(country_label, exclude)),
                    )
                out[name] = FacetFilter(include, exclude)
        return out

    def to_dict(self) -> dict:
        """The request as plain values, for JSON."""
        return asdict(self)

    def query_args(self) -> dict[str, str | list[str]]:
        """The query-string parameters that ask for this request (those not at their
        default), by their names: what /api/search?... reads back as the same request."""
        out: dict[str, str | list[str]] = {}
        for f in fields(self):
            value, p = getattr(self, f.name), f.metadata["param"]
            if value == f.default or value in (None, "", ()):
                continue
            if isinstance(value, bool):
                out[p.name] = "true" if value else "false"
            else:
                out[p.name] = list(value) if isinstance(value, tuple) else str(value)
        return out


PARAMS: tuple[Param, ...] = tuple(
    replace(f.metadata["param"], attr=f.name) for f in fields(SearchRequest)
)
BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}


def request_from_args(args: Mapping[str, Any], defaults: Mapping[str, Any] | None = None):
    """A SearchRequest from query-string values; raise SearchError for a bad number.

    `args` may be a MultiDict (getlist gives a repeated parameter's every value) or a
    mapping whose values are a str or, for a parameter given several times, a list.
    """
    values: dict[str, Any] = {}
    for p in PARAMS:
        if p.multiple:
            chosen = _values_of(p, _all(args, p.name))
            if chosen:
                values[p.attr] = chosen
            elif defaults and p.name in defaults:
                values[p.attr] = defaults[p.name]
            continue
        given = _all(args, p.name)
        raw = given[0] if given else ""
        # Facet values are trimmed; the query, dates, numbers and choices are read exactly
        # as sent, so that what OpenAPI says they accept is what they accept ("" is absent).
        loose = p.kind is str and not (p.name == "q" or p.pattern or p.choices)
        raw = raw.strip() if loose else raw
        _check_length(p, raw)
        if raw.strip(" "):
            values[p.attr] = _PARSE.get(p.kind, _text)(p.name, raw)
        elif defaults and p.name in defaults:
            values[p.attr] = defaults[p.name]
    return SearchRequest(**values)


def _all(args: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    value = args.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _values_of(p: Param, raws: list[str]) -> tuple[str, ...]:
    """A repeated parameter's values: trimmed, blanks dropped, each once, in order."""
    if len(raws) > MAX_FILTER_VALUES:
        raise SearchError(
            f"{p.name} is given {len(raws)} times; at most {MAX_FILTER_VALUES} values a filter."
        )
    out: list[str] = []
    for raw in raws:
        value = " ".join(raw.split())
        _check_length(p, value)
        if value in ("-", "") or value in out:
            continue  # "-" excludes nothing, as "" includes nothing
        out.append(value)
    return tuple(out)


def _check_length(p: Param, raw: str) -> None:
    if p.max_length is not None and len(raw) > p.max_length:
        raise SearchError(
            f"{p.name} is {len(raw):,} characters long; the limit is {p.max_length:,}."
        )


def _text(name: str, raw: str) -> str:
    return raw


def _bool(name: str, raw: str) -> bool:
    if raw not in ("true", "false"):  # as OpenAPI's boolean query parameters are sent
        raise SearchError(f"{name} must be true or false, not {raw[:40]!r}")
    return raw == "true"


def _int(name: str, raw: str) -> int:
    if not _INT.fullmatch(raw):  # int() would also take " 5", "5_0" and "٥"
        raise SearchError(f"{name} must be a whole number, not {raw[:40]!r}")
    if len(raw) > 30:  # past any limit; Python refuses to convert 4,300 digits or more
        return -(10**30) if raw.startswith("-") else 10**30
    return int(raw)


_INT = re.compile(r"-?[0-9]+")
_PARSE = {int: _int, bool: _bool}


def check_request(req: SearchRequest) -> SearchRequest:
    """Raise SearchError for out-of-range paging or sort; return the request normalised."""
    if req.sort not in SORTS:
        raise SearchError(f"sort must be one of {', '.join(SORTS)}, not {req.sort!r}")
    if not 1 <= req.size <= MAX_SIZE:
        raise SearchError(f"size must be between 1 and {MAX_SIZE}, not {req.size}")
    if req.page < 1:
        raise SearchError(f"page must be 1 or more, not {req.page}")
    # Facet values however the edge gave them (the CLI's options, a library caller's
    # tuple): trimmed, each once, within the limits the query string has.
    values: dict[str, Any] = {
        p.attr: _values_of(p, list(getattr(req, p.attr))) for p in PARAMS if p.multiple
    }
    return replace(req, q=plain_quotes(req.q.strip()), **values)


# What a timeline facet's values look like; another value matches no release.
_TIMELINE_VALUES = {
    "year": (re.compile(r"[0-9]{4}"), "a year such as 2023"),
    "month": (re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"), "a month such as 2023-05"),
}


def notice_of(
    req: SearchRequest, reading: str | None, dates: DateRange | None, listed: int | None = None
) -> str | None:
    """What a search says beside its results, whichever backend answers: how the query was
    read (reading), and what in the request can match nothing or be paged no further
    (listed: the results the pages run over, stories or releases; None if not known)."""
    notes = [reading] if reading else []
    if dates is not None and dates.start and dates.end and dates.start > dates.end:
        notes.append(
            f"The dates run backwards: from {_day(dates.start)} is after to {_day(dates.end)}, "
            "so nothing can match; swap them."
        )
    for name, (pattern, what) in _TIMELINE_VALUES.items():
        for value in getattr(req, name):
            plain = value.removeprefix("-").strip()
            if plain != NONE_VALUE and not pattern.fullmatch(plain):
                notes.append(f"{name} takes {what}: {plain[:40]!r} matches no release.")
    notes += _timeline_outside(req, dates)
    if req.page * req.size > MAX_DEPTH and (listed is None or listed > MAX_DEPTH):
        notes.append(
            f"Only the first {MAX_DEPTH:,} results can be paged through; "
            "narrow the search with dates or facets."
        )
    return " ".join(notes) or None


def _timeline_outside(req: SearchRequest, dates: DateRange | None) -> list[str]:
    """Notes for chosen years or months that the dates, or the chosen years, leave out."""
    chosen = {
        name: [v for v in getattr(req, name) if pattern.fullmatch(v)]
        for name, (pattern, _) in _TIMELINE_VALUES.items()
    }
    notes = []
    if dates is not None and (dates.start or dates.end):
        shown = (
            f"{_day(dates.start) if dates.start else '…'} – {_day(dates.end) if dates.end else '…'}"
        )
        for name, values in chosen.items():
            if values and not any(_meets(_period(v), dates.start, dates.end) for v in values):
                what = " or ".join(values)
                notes.append(f"{name} {what} is outside the dates ({shown}), so nothing can match.")
    years, months = chosen["year"], chosen["month"]
    if years and months and not any(m[:4] in years for m in months):
        notes.append(
            f"month {' or '.join(months)} is in no year chosen ({' or '.join(years)}), "
            "so nothing can match."
        )
    return notes


def _period(value: str) -> tuple[date, date]:
    """The first and last day of a year (2023) or a month (2023-05)."""
    year = int(value[:4])
    if len(value) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(value[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(following.toordinal() - 1)


def _meets(period: tuple[date, date], start: date | None, end: date | None) -> bool:
    return (start is None or period[1] >= start) and (end is None or period[0] <= end)


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
