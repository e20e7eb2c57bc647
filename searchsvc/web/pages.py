"""The Flask app: the factory, the search and document pages, and the error pages.

    request args --search_request()--> SearchRequest --get_backend().search()--> SearchResult
    SearchResult --view helpers (links, bars, chips)--> templates/search.html

Pages work without JavaScript: every control is a plain GET form or a link, built by
``url_with()`` from the current arguments. Snippets and highlighted text arrive as HTML
that is already escaped except for our ``<mark>`` tags; everything else is autoescaped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.exceptions import NotFound

from searchsvc.dates import DateRange, has_time, is_relative, relative_from_label
from searchsvc.entities import country_label
from searchsvc.reading import reflow
from searchsvc.schema import NONE_VALUE
from searchsvc.searching import (
    FACETS,
    MAX_DEPTH,
    PARAMS,
    DeadlineExceededError,
    SearchError,
    SearchResult,
    SimilarResult,
    plain_quotes,
    value_key,
)
from searchsvc.snippets import highlight_all
from searchsvc.web.chart import chart
from searchsvc.web.context import (
    get_backend,
    request_deadline,
    request_today,
    search_args,
    search_request,
)
from searchsvc.web.errors import retry_after

# The page's labels of the active filters, in the order of their declaration.
FILTER_LABELS = {p.name: p.label for p in PARAMS if p.label}
# The sidebar's facets (the timeline draws year and month), from their one declaration.
FACET_LABELS = {f.name: f.label for f in FACETS if not f.timeline}
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "oldest": "Oldest"}
# The date filter's parameters: setting any one of them through the page clears the others,
# so the chart, the quick ranges and the from/to inputs are one filter (year and month are
# still read, for old links).
DATE_PARAMS: dict[str, None] = {"from": None, "to": None, "year": None, "month": None}
# The date panel's quick ranges: the `from` each sets ("": none), with `to` cleared.
QUICK_RANGES = {
    "": "Any time",
    "past week": "Past week",
    "past month": "Past month",
    "past year": "Past year",
}

bp = Blueprint("web", __name__)


# -- reading requests -----------------------------------------------------------------------


def url_with(**changes: object) -> str:
    """The search page's URL with the current arguments changed (None removes one)."""
    args = search_args()
    if "page" not in changes:
        args.pop("page", None)  # a new filter or sort starts again at page 1
    for name, value in changes.items():
        if value is None or value == "" or value == []:
            args.pop(name, None)
        elif isinstance(value, (list, tuple)):
            args[name] = [str(v) for v in value]  # a facet's values: repeated in the URL
        else:
            args[name] = str(value)
    return url_for("web.search", **args)


# -- the search page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One active filter and the link that removes it."""

    label: str
    value: str
    remove_url: str


@dataclass(frozen=True)
class QuickRange:
    """One of the date panel's quick ranges: its label, link, and whether it is in force."""

    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class FacetRow:
    """One value in a facet's panel, with the links that include and exclude it."""

    value: str
    count: int | None  # None for an excluded value: it has no matches to count
    state: str  # "included", "excluded" or ""
    include_url: str  # adds it to the facet's chosen values (OR), or removes it from them
    exclude_url: str  # excludes it (NOT), or lifts its exclusion


@dataclass(frozen=True)
class FacetPanel:
    """One facet in the sidebar: its top values, or with "show more" many and a filter."""

    name: str
    label: str
    plural: str
    rows: list[FacetRow]
    expanded: bool  # showing up to MORE_VALUES (this facet is the one named by more=)
    contains: str  # the text its values were filtered by ("" for none)
    total: int  # distinct values (containing the text), of which rows shows some
    more_url: str | None  # "Show more": None when every value is shown
    less_url: str  # back to the top values
    searchable: bool  # whether to offer "Filter places…"


@bp.get("/")
def search():
    """The search page: results, facets, the timeline chart and paging, or an error in place."""
    q = request.args.get("q", "")
    q = q if q.strip() else ""  # blank is the listing, as the engine reads it
    page = {
        "q": q,
        "chips": chips(),
        "clear_url": url_with(**dict.fromkeys(FILTER_LABELS)),
        "facet_names": FACET_LABELS,
        "sorts": SORT_LABELS,
        "quick_ranges": quick_ranges(),
    }
    try:
        req = search_request(request.args, int(current_app.config["PAGE_SIZE"]))
        result = get_backend().search(req, request_deadline(), request_today())
    except SearchError as exc:
        return render_template("search.html", error=str(exc), **page), 400
    except DeadlineExceededError as exc:
        html = render_template("search.html", error=str(exc), **page)
        return html, 503, {"Retry-After": retry_after(exc)}
    # Deeper pages than MAX_DEPTH are refused, so the pager stops before them.
    last_page = min(result.pages, max(MAX_DEPTH // result.request.size, 1))
    return render_template(
        "search.html",
        result=result,
        facet_panels=facet_panels(result),
        chart=chart(result.timeline, narrow_dates),
        clear_dates_url=url_with(**DATE_PARAMS) if dated() else None,
        date_hints=date_hints(result.range),
        pages=page_numbers(result.request.page, last_page),
        last_page=last_page,
        # A document link carries the search, so its page can mark the words and link back.
        doc_args=search_args(),
        index=index_state(),
        **page,
    )


@dataclass(frozen=True)
class IndexState:
    """The page's line about the index: when it last changed, and how many it holds."""

    updated: str  # "2026-11-30 07:54 UTC"
    documents: int


def index_state() -> IndexState:
    """When the index served last changed (a watched folder's release shows up here)."""
    stats = get_backend().stats()
    # The engine reports naive local time (a file's mtime); /api/health says it in UTC too.
    utc = time.gmtime(stats.updated_at.timestamp())
    return IndexState(time.strftime("%Y-%m-%d %H:%M UTC", utc), stats.documents)


def chips() -> list[Chip]:
    """The active filters, one a facet value, each with a link that removes it (from and
    to: one, "Dates")."""
    out = []
    args = search_args()
    for name, label in FILTER_LABELS.items():
        if name in ("from", "to"):
            if name == "from" and (dates := date_chip()):
                out.append(dates)
            continue
        given = args.get(name)
        if not given:
            continue
        for value in given if isinstance(given, list) else [given]:
            out.append(_chip(name, label, value, given))
    return out


def named_value(name: str, value: str) -> str:
    """A filter value as the facet names it: a country given by ISO code or alias (TM, -az,
    UK) by its label, so that its row and chip are the label's; any other as given."""
    shown = value.strip()
    if name != "country" or shown in ("", "-"):
        return shown
    return ("-" if shown.startswith("-") else "") + country_label(shown.lstrip("-").strip())


def _chip(name: str, label: str, value: str, given: str | list[str]) -> Chip:
    shown = named_value(name, value)
    if isinstance(given, list):  # a facet's value: removing it keeps the others
        remove = url_with(**{name: [v for v in given if v != value]})
        if shown.startswith("-"):
            shown = f"not {shown[1:].strip()}"
    else:
        remove = url_with(**{name: None})
    if name == "year":
        # Without its year a month filter would still pin the year: drop both together.
        remove = url_with(year=[v for v in given if v != value] or None, month=None)
    if name == "month":
        shown = month_name(shown)
    return Chip(label, shown, remove)


# A facet shows its TOP_VALUES most frequent values; "Show more" up to MORE_VALUES, with a
# filter box that reaches every other value by its text.
TOP_VALUES = 10
MORE_VALUES = 200


def facet_panels(result: SearchResult) -> list[FacetPanel]:
    """The sidebar's facets for a result, each with include and exclude links per value."""
    more = request.args.get("more", "")
    contains = " ".join(request.args.get("contains", "").split())[:100]
    panels = []
    for facet in FACETS:
        if facet.timeline:
            continue
        counts = [(f.value, f.count) for f in result.facets.get(facet.name, [])]
        total = len(counts)
        expanded = more == facet.name
        if expanded:
            found = get_backend().facet_values(
                result.request,
                facet.name,
                contains=contains,
                limit=MORE_VALUES,
                deadline=request_deadline(),
                today=request_today(),
            )
            counts, total = [(f.value, f.count) for f in found.values], found.total
        panel = _panel(facet, counts, total, expanded, contains if expanded else "")
        if panel.contains or any(row.state or row.value != NONE_VALUE for row in panel.rows):
            panels.append(panel)  # not one that lists only "(none)": it narrows nothing
    return panels


def _panel(facet, counts: list[tuple[str, int]], total: int, expanded: bool, contains: str):
    given = [named_value(facet.name, v) for v in request.args.getlist(facet.name)]
    included = {value_key(v.strip()) for v in given if v.strip() and not v.startswith("-")}
    excluded = [v[1:].strip() for v in given if v.startswith("-") and v[1:].strip()]
    keep = {"more": facet.name, "contains": contains or None} if expanded else {}
    shown = counts if expanded else counts[:TOP_VALUES]
    # A chosen value stays in view however rare (even with no match), so that it can be
    # unchosen in place.
    shown += [c for c in counts[len(shown) :] if value_key(c[0]) in included]
    listed = {value_key(value) for value, _ in counts}
    chosen = [v.strip() for v in given if v.strip() and not v.startswith("-")]
    if not contains:
        shown += [(v, 0) for v in dict.fromkeys(chosen) if value_key(v) not in listed]
    rows = [
        _row(facet.name, value, count, given, keep, value_key(value) in included)
        for value, count in shown
    ]
    rows += [_row(facet.name, value, None, given, keep, False) for value in excluded]
    more_url = None
    if not expanded and total > TOP_VALUES:
        more_url = url_with(more=facet.name) + f"#facet-{facet.name}"
    return FacetPanel(
        name=facet.name,
        label=facet.label,
        plural=facet.plural,
        rows=rows,
        expanded=expanded,
        contains=contains,
        total=total,
        more_url=more_url,
        less_url=url_with() + f"#facet-{facet.name}",
        searchable=expanded or total > TOP_VALUES,
    )


def _row(name, value, count, given, keep, included) -> FacetRow:
    """A value's row: include toggles it among the chosen (OR), exclude toggles NOT."""
    folded = value_key(value)
    others = [v for v in given if v.strip() and value_key(_bare(v)) != folded]
    excluded = count is None
    include = others if included else [*others, value]
    exclude = others if excluded else [*others, f"-{value}"]
    state = "included" if included else "excluded" if excluded else ""
    return FacetRow(
        value,
        count,
        state,
        url_with(**{name: include}, **keep),
        url_with(**{name: exclude}, **keep),
    )


def _bare(value: str) -> str:
    value = value.strip()
    return value[1:].strip() if value.startswith("-") else value


def date_chip() -> Chip | None:
    """From and to as one filter: '2023-05', '2023 – 2023-06', 'past week', 'from 2023'."""
    start, end = (" ".join(request.args.get(n, "").split()) for n in ("from", "to"))
    if not (start or end):
        return None
    if start == end:
        value = start
    elif start and end:
        value = f"{start} – {end}"
    elif start:
        # A relative from alone ends today: "past week", "since 2019", "since yesterday".
        value = (
            relative_from_label(start, request_today()) if is_relative(start) else f"from {start}"
        )
    else:
        value = f"to {end}"
    return Chip("Dates", value, url_with(**{"from": None, "to": None}))


def quick_ranges() -> list[QuickRange]:
    """Any time, past week, month, year: links that set from and clear to."""
    typed = " ".join(request.args.get("from", "").split()).lower()
    open_end = not request.args.get("to", "").strip()
    return [
        QuickRange(
            label, url_with(**{**DATE_PARAMS, "from": value or None}), open_end and typed == value
        )
        for value, label in QUICK_RANGES.items()
    ]


def narrow_dates(date_from: str, date_to: str) -> str:
    """The search page's URL with the date filter set to from..to (a timeline bar's link)."""
    return url_with(**{**DATE_PARAMS, "from": date_from, "to": date_to})


def dated() -> bool:
    """Whether the request filters by date, in any of the ways it can."""
    return any(request.args.get(name, "").strip() for name in DATE_PARAMS)


@dataclass(frozen=True)
class DateHints:
    """The index's first and last dates (the panel's hint), and the date inputs' bounds."""

    first: date | None
    last: date | None
    low: date | None = None  # min: first, or earlier to hold the day the From input shows
    high: date | None = None  # max: last, or later (a relative range ends today)


def date_hints(span: DateRange | None = None) -> DateHints:
    """The real date range of the index served (from its facet table), and the inputs'
    bounds: that range widened to the search's own days, or the browser would refuse the
    form it fills in (Past year ends today, which may be past the last release)."""
    stats = get_backend().stats()
    first = stats.first_date.date() if stats.first_date else None
    last = stats.last_date.date() if stats.last_date else None
    if first is None or last is None:
        return DateHints(first, last)
    days = [d for d in (span.start, span.end) if d] if span else []
    return DateHints(first, last, min([first, *days]), max([last, *days]))


def month_name(value: str, fmt: str = "%B %Y") -> str:
    """'2023-05' as 'May 2023' (or as fmt says); anything else as it is."""
    try:
        return datetime.strptime(value, "%Y-%m").strftime(fmt)
    except ValueError:
        return value


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link, with None where a run of pages is left out."""
    wanted = {1, pages, *range(page - around, page + around + 1)}
    shown = sorted(n for n in wanted if 1 <= n <= pages)
    out: list[int | None] = []
    for n in shown:
        last = out[-1] if out else n - 1
        if n - last == 2:
            out.append(n - 1)  # a gap of one page: show the page, not an ellipsis
        elif n - last > 2:
            out.append(None)
        out.append(n)
    return out


def format_date(value: date | None, style: str = "short") -> str:
    """A date as '5 May 2023', or with style 'long' as '5 December 2023'."""
    if value is None:
        return "Undated"
    month = value.strftime("%B" if style == "long" else "%b")
    return f"{value.day} {month} {value.year}"


def format_time(value: datetime | None) -> str:
    """A release's time of day, '14:30 UTC', when its source gave one; else ''."""
    return f"{value:%H:%M} UTC" if value is not None and has_time(value) else ""


def quoted(q: str) -> str:
    """A query between typographic quotes, as headings show it; a query that is one phrase
    ("clean energy", or typed “clean energy”) shows its own quotes as those, “clean energy”,
    not “"clean energy"”."""
    plain = plain_quotes(q)
    inner = plain[1:-1]
    if len(plain) > 2 and plain[0] == plain[-1] == '"' and '"' not in inner:
        return f"\u201c{inner}\u201d"
    return f"\u201c{q}\u201d"


# -- the document page -----------------------------------------------------------------------


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    """One document in full, the query's words marked when reached from a search."""
    doc = get_backend().document(doc_id)
    if doc is None:
        raise NotFound(f"There is no document with the id {doc_id!r}.")
    q = request.args.get("q", "").strip()
    terms = get_backend().query_terms(q)
    paragraphs = [highlight_all(p, terms) for p in reflow(doc.body)]
    link = safe_link(doc.url)
    similar, similar_error = similar_releases(doc.id)
    return render_template(
        "document.html",
        similar=similar,
        similar_error=similar_error,
        doc_args=search_args(),
        doc=doc,
        q=q,
        title=highlight_all(doc.title or doc.id, terms),
        paragraphs=paragraphs,
        link=link,
        host=urlsplit(link).hostname if link else None,
        back_url=url_for("web.search", **search_args()),
        plain_url=url_for("web.document", doc_id=doc.id),
        duplicates=get_backend().duplicates(doc.id),
    )


def similar_releases(doc_id: str) -> tuple[SimilarResult | None, str | None]:
    """The releases most like a document, or why there are none to show (the page still
    shows the document when finding them takes too long)."""
    try:
        return get_backend().similar(doc_id, deadline=request_deadline()), None
    except DeadlineExceededError:
        return None, "Finding similar releases took too long; reload the page to try again."


def safe_link(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (never javascript: and kin)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None
