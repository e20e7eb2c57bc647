"""The Flask app: the factory, the search and document pages, and the error pages.

    request args --search_request()--> SearchRequest --get_engine().search()--> SearchResult
    SearchResult --view helpers (links, bars, chips)--> templates/search.html

Pages work without JavaScript: every control is a plain GET form or a link, built by
``url_with()`` from the current arguments. Snippets and highlighted text arrive as HTML
that is already escaped except for our ``<mark>`` tags; everything else is autoescaped.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from searchsvc import config
from searchsvc.deadline import Deadline, DeadlineExceededError
from searchsvc.engine import Engine
from searchsvc.highlight import highlight_all
from searchsvc.query import QueryError, QueryTerms, parse_query, query_terms
from searchsvc.search import MAX_DEPTH, SearchError, SearchRequest, SearchResult
from searchsvc.storage import IndexDamagedError, IndexNotFoundError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# The page sends no script and no inline style, so the policy can forbid both.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# Query-string name -> SearchRequest field, for the text parameters.
TEXT_PARAMS = {
    "from": "date_from",
    "to": "date_to",
    "source": "source",
    "category": "category",
    "place": "place",
    "year": "year",
    "month": "month",
}
FILTER_LABELS = {
    "from": "From",
    "to": "To",
    "year": "Year",
    "month": "Month",
    "source": "Source",
    "category": "Category",
    "place": "Place",
}
FACET_LABELS = {"source": "Source", "category": "Category", "place": "Place"}
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "oldest": "Oldest"}

bp = Blueprint("web", __name__)
_engine_lock = threading.Lock()


def create_app(explicit: Mapping[str, object] | None = None) -> Flask:
    """Build the app; settings are defaults, then SEARCHSVC_* variables, then explicit."""
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.from_mapping(config.load(explicit))
    app.json.sort_keys = False  # keep the envelope's documented order: ok first
    app.register_blueprint(bp)
    from searchsvc import api

    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(IndexNotFoundError, handle_no_index)
    app.register_error_handler(DeadlineExceededError, handle_deadline)
    app.register_error_handler(IndexDamagedError, handle_damaged_index)
    app.after_request(add_security_headers)
    app.add_template_global(url_with)
    app.add_template_global(search_args)
    app.add_template_filter(format_date, "date")
    return app


def get_engine() -> Engine:
    """The app's one Engine, created on first use (never at import or in create_app)."""
    engine = current_app.extensions.get("searchsvc.engine")
    if engine is None:
        with _engine_lock:
            engine = current_app.extensions.get("searchsvc.engine")
            if engine is None:
                engine = Engine(
                    current_app.config["INDEX_DIR"],
                    check_interval=float(current_app.config["REFRESH_INTERVAL"]),
                    cache_size=int(current_app.config["RESULT_CACHE"]),
                )
                current_app.extensions["searchsvc.engine"] = engine
    return engine


def request_deadline() -> Deadline:
    """The deadline of the current request: REQUEST_TIMEOUT seconds from now."""
    return Deadline(float(current_app.config["REQUEST_TIMEOUT"]))


def add_security_headers(response):
    """Send the strict CSP and nosniff on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# -- reading requests -----------------------------------------------------------------------


def search_request(args: Mapping[str, str], page_size: int) -> SearchRequest:
    """A SearchRequest from query-string arguments; raise SearchError for bad numbers."""
    text = {field: args.get(name, "").strip() or None for name, field in TEXT_PARAMS.items()}
    return SearchRequest(
        q=args.get("q", ""),
        sort=args.get("sort", "").strip() or "relevance",
        page=_int_arg(args, "page", 1),
        size=_int_arg(args, "size", page_size),
        **text,
    )


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SearchError(f"{name} must be a whole number, not {raw[:40]!r}") from None


def search_args() -> dict[str, str]:
    """The current request's search parameters that are set, q first.

    Only these known names are passed on to url_for: it reads some keywords itself
    (_external, _scheme, _anchor), which a query string must not reach.
    """
    names = ("q", *TEXT_PARAMS, "sort", "page", "size")
    return {name: value for name in names if (value := request.args.get(name, ""))}


def url_with(**changes: object) -> str:
    """The search page's URL with the current arguments changed (None removes one)."""
    args = search_args()
    if "page" not in changes:
        args.pop("page", None)  # a new filter or sort starts again at page 1
    for name, value in changes.items():
        if value is None or value == "":
            args.pop(name, None)
        else:
            args[name] = str(value)
    return url_for("web.search", **args)


# -- the search page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar of the timeline: a year or a month, its count, width class and link."""

    label: str
    count: int
    width: int  # percent of the longest bar, in steps of 5 (a CSS class, no inline style)
    url: str
    active: bool


@dataclass(frozen=True)
class Chip:
    """One active filter and the link that removes it."""

    label: str
    value: str
    remove_url: str


@bp.get("/")
def search():
    """The search page: results, facets, timeline and paging, or an error in place."""
    q = request.args.get("q", "")
    page = {
        "q": q,
        "chips": chips(),
        "clear_url": url_with(**dict.fromkeys(FILTER_LABELS)),
        "facet_names": FACET_LABELS,
        "sorts": SORT_LABELS,
    }
    try:
        req = search_request(request.args, int(current_app.config["PAGE_SIZE"]))
        result = get_engine().search(req, request_deadline())
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
        years=year_bars(result),
        months=month_bars(result),
        pages=page_numbers(result.request.page, last_page),
        last_page=last_page,
        # A document link carries the search, so its page can mark the words and link back.
        doc_args=search_args(),
        **page,
    )


def chips() -> list[Chip]:
    """The active filters, each with a link that removes it."""
    out = []
    for name, label in FILTER_LABELS.items():
        value = request.args.get(name, "").strip()
        if not value:
            continue
        # Without its year a month filter would still pin the year: drop both together.
        remove = url_with(year=None, month=None) if name == "year" else url_with(**{name: None})
        out.append(Chip(label, month_name(value) if name == "month" else value, remove))
    return out


def year_bars(result: SearchResult) -> list[Bar]:
    """The timeline's years; a link on each shows that year's months."""
    years = result.facets.get("year", [])
    chosen = request.args.get("year", "")
    top = max((f.count for f in years), default=0)
    return [
        Bar(
            f.value,
            f.count,
            _width(f.count, top),
            url_with(year=f.value, month=None),
            f.value == chosen,
        )
        for f in years
    ]


def month_bars(result: SearchResult) -> list[Bar]:
    """The chosen year's (or range's) months; a link on each filters to that month."""
    months = result.facets.get("month", [])
    chosen = request.args.get("month", "")
    top = max((f.count for f in months), default=0)
    # Within one year "May" says enough; across years each bar needs its year.
    fmt = "%b" if len({f.value[:4] for f in months}) == 1 else "%b %Y"
    return [
        Bar(
            month_name(f.value, fmt),
            f.count,
            _width(f.count, top),
            url_with(month=f.value),
            f.value == chosen,
        )
        for f in months
    ]


def _width(count: int, top: int) -> int:
    # A bar of one hit among thousands must still be visible: at least one step.
    return max(5, round(count * 20 / top) * 5) if top else 0


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


def format_date(value: datetime | None, style: str = "short") -> str:
    """A date as '5 May 2023', or with style 'long' as '5 December 2023'."""
    if value is None:
        return "Undated"
    month = value.strftime("%B" if style == "long" else "%b")
    return f"{value.day} {month} {value.year}"


# -- the document page -----------------------------------------------------------------------


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    """One document in full, the query's words marked when reached from a search."""
    doc = get_engine().document(doc_id)
    if doc is None:
        raise NotFound(f"There is no document with the id {doc_id!r}.")
    q = request.args.get("q", "").strip()
    terms = _terms(q)
    paragraphs = [highlight_all(p, terms) for p in doc.body.split("\n\n") if p.strip()]
    link = safe_link(doc.url)
    return render_template(
        "document.html",
        doc=doc,
        q=q,
        title=highlight_all(doc.title or doc.id, terms),
        paragraphs=paragraphs,
        link=link,
        host=urlsplit(link).hostname if link else None,
        back_url=url_for("web.search", **search_args()),
        plain_url=url_for("web.document", doc_id=doc.id),
    )


def _terms(q: str) -> QueryTerms:
    if not q:
        return QueryTerms()
    searcher = get_engine().snapshot().searcher
    try:
        return query_terms(parse_query(q, searcher.schema), searcher.reader())
    except QueryError:
        return QueryTerms()  # a query that cannot run just highlights nothing here


def safe_link(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (never javascript: and kin)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


# -- errors ------------------------------------------------------------------------------------


def handle_http_error(exc: HTTPException):
    """An error page, or under /api/ the JSON error envelope."""
    from searchsvc import api

    if api.is_api_request():
        return api.http_error(exc)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.code or 500, exc.name)
    page = render_template("error.html", title=title, message=exc.description, q="")
    return page, exc.code or 500


def handle_deadline(exc: DeadlineExceededError):
    """A 503 that says the search took too long and how to narrow it (search page: in place)."""
    from searchsvc import api

    if api.is_api_request():
        response = api.error_response(str(exc), 503)
    else:
        page = render_template("error.html", title="Too slow", message=str(exc), q="")
        response = current_app.make_response((page, 503))
    response.headers["Retry-After"] = retry_after(exc)
    return response


def retry_after(exc: DeadlineExceededError) -> str:
    """Retry-After for a request past its deadline: as many seconds as it was given."""
    return str(max(1, math.ceil(exc.seconds)))


def handle_no_index(exc: IndexNotFoundError):
    """A 503 that says how to build the missing index."""
    from searchsvc import api

    index_dir = current_app.config["INDEX_DIR"]
    message = f"No index at {index_dir}. Run: searchsvc index --index-dir {index_dir}"
    if api.is_api_request():
        return api.error_response(message, 503)
    page = render_template("error.html", title="No index yet", message=message, q="")
    return page, 503


def handle_damaged_index(exc: IndexDamagedError):
    """A 503 that names the damaged file and says how to rebuild (no intact state to serve)."""
    from searchsvc import api

    if api.is_api_request():
        return api.error_response(str(exc), 503)
    page = render_template("error.html", title="Index damaged", message=str(exc), q="")
    return page, 503
