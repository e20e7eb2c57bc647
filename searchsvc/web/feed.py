"""The Atom feed of any search, for feed readers: GET /search.atom with the page's parameters.

    request args --search_request(size 25, sort newest)--> SearchRequest
        --get_backend().freshness(), then .search()--> state of the index, SearchResult
    state + request --ETag, Last-Modified--> 304 Not Modified to a matching poll
    SearchResult --feedgen--> Atom 1.0, newest first, one entry a release

A feed is always newest first: `sort` is accepted and ignored. Snippets go out as HTML
summaries (type html) exactly as the page shows them: escaped, only our <mark> is markup.
A bad parameter is a plain-text 400, a search past its deadline a plain-text 503 with
Retry-After; no index or a damaged one gets the app's 503 error page.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from flask import Blueprint, Response, current_app, request, url_for

from searchsvc.dates import is_relative, relative_from_label
from searchsvc.searching import (
    PARAMS,
    DeadlineExceededError,
    Freshness,
    Hit,
    SearchError,
    SearchRequest,
    SearchResult,
)
from searchsvc.web.context import (
    get_backend,
    request_deadline,
    request_today,
    search_args,
    search_request,
)
from searchsvc.web.errors import retry_after
from searchsvc.web.pages import month_name, named_value, safe_link

FEED_SIZE = 25
ATOM_TYPE = "application/atom+xml"
ATOM = f"{ATOM_TYPE}; charset=utf-8"
# Bump when the feed's shape changes, so that a reader's cached ETag no longer matches.
FORMAT = "1"
# An undated release still needs <updated>: a fixed instant, so that a reindex does not
# show it to readers as changed (and it sorts last, as it does in the feed).
UNDATED = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Characters XML 1.0 cannot carry at all; lxml refuses a string that holds one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FILTERS = [p for p in PARAMS if p.label]  # those the page shows as filters, in order

bp = Blueprint("feed", __name__)


@bp.get("/search.atom")
def search():
    """The search as an Atom feed, newest first; 304 when the poller has it already."""
    try:
        req = search_request(request.args, FEED_SIZE)
    except SearchError as exc:
        return _plain(str(exc), 400)
    req = replace(req, sort="newest")
    backend = get_backend()
    # The state first: should the index change during the search, the answer is newer than
    # its ETag says, and the next poll fetches it again (never the other way round).
    state = backend.freshness()
    try:
        result = backend.search(req, request_deadline(), request_today())
    except SearchError as exc:
        return _plain(str(exc), 400)
    except DeadlineExceededError as exc:
        return _plain(str(exc), 503, {"Retry-After": retry_after(exc)})
    response = Response(feed_xml(result, state), content_type=ATOM)
    response.set_etag(etag(req, state, result))
    response.last_modified = last_modified(req, state)
    response.headers["Cache-Control"] = "no-cache"  # keep it, but ask each time
    return response.make_conditional(request)


def feed_url() -> str:
    """The feed of the current search (a template global: the page links to it)."""
    args = search_args()
    args.pop("sort", None)
    args.pop("page", None)
    return url_for("feed.search", **args)


def etag(req: SearchRequest, state: Freshness, result: SearchResult) -> str:
    """A tag of the index's state, the request, the host that links name, and the answer."""
    # The answer too: a date relative to today may give another answer from the same index
    # and parameters tomorrow.
    answer = [result.total, [hit.id for hit in result.hits]]
    key = [FORMAT, state.generation, state.commit, req.to_dict(), request.host_url, answer]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def written(state: Freshness) -> datetime:
    """When the state served was written, in UTC (the engine reports local time)."""
    return state.updated_at.astimezone(timezone.utc).replace(microsecond=0)


def last_modified(req: SearchRequest, state: Freshness) -> datetime:
    """When the answer last changed: the index's write, or for a date relative to today
    ("yesterday", "last 7 days") the start of today too, whichever is later. A poller that
    sends only If-Modified-Since then hears of the day's new answer, not a 304."""
    at = written(state)
    if not any(is_relative(d) for d in (req.date_from, req.date_to) if d):
        return at
    zone = ZoneInfo(str(current_app.config["TIMEZONE"]))
    midnight = datetime.combine(request_today(), time(0), tzinfo=zone)
    return max(at, midnight.astimezone(timezone.utc))


def describe(req: SearchRequest) -> str:
    """What the search is, in words: 'energy, from 2023' (or 'latest releases')."""
    words = [req.q.strip() or "latest releases"]
    for p in _FILTERS:
        for value in _values(p.name, getattr(req, p.attr)):
            shown = month_name(value) if p.name == "month" else value
            # A relative from alone ends today, as the page's chip says it.
            if p.name == "from" and not req.date_to and is_relative(value):
                words.append(relative_from_label(value, request_today()))
            else:
                words.append(f"{p.label.lower()} {shown}")
    return xml_text(", ".join(words))


def _values(name: str, value) -> list[str]:
    """A parameter's values as the page names them: a facet's several ("-usa" read
    "not usa", a country code by its name), or its one."""
    if isinstance(value, tuple):
        shown = [named_value(name, v) for v in value]
        return [f"not {v[1:].strip()}" if v.startswith("-") else v for v in shown]
    value = (value or "").strip()
    return [value] if value else []


def feed_xml(result: SearchResult, state: Freshness) -> bytes:
    """The Atom document of a search result."""
    what = describe(result.request)
    args = {k: v for k, v in search_args().items() if k != "sort"}
    fg = FeedGenerator()
    fg.id(url_for("feed.search", **args, _external=True))
    fg.title(f"searchsvc: {what}")
    fg.subtitle(
        f"The newest {len(result.hits)} of {result.total:,} press releases for this search "
        f"({what}). A feed is always newest first, whatever its sort says."
    )
    fg.updated(written(state))
    fg.author(name="searchsvc")
    fg.generator("searchsvc")
    fg.link(href=url_for("feed.search", **args, _external=True), rel="self", type=ATOM_TYPE)
    page = url_for("web.search", **{**args, "sort": "newest"}, _external=True)
    fg.link(href=page, rel="alternate", type="text/html")
    for hit in result.hits:
        add_entry(fg, hit, result.request.q)
    return fg.atom_str(pretty=True)


def add_entry(fg: FeedGenerator, hit: Hit, q: str) -> None:
    """One release as an entry, after those already in the feed."""
    entry = fg.add_entry(order="append")
    entry.id(url_for("web.document", doc_id=hit.id, _external=True))
    entry.title(xml_text(hit.title) or xml_text(hit.id) or "Untitled")
    marked = {"q": q} if q else {}
    doc_url = url_for("web.document", doc_id=hit.id, **marked, _external=True)
    entry.link(href=doc_url)  # rel="alternate", the default (see RelatedLink)
    original = safe_link(hit.url)
    if original:
        entry.register_extension("related", RelatedLink, atom=True, rss=False)
        entry.related.href = xml_text(original)
    when = hit.date.replace(tzinfo=timezone.utc) if hit.date else None
    if when:
        entry.published(when)
    entry.updated(when or UNDATED)
    if xml_text(hit.source):
        entry.author(name=xml_text(hit.source))
    for category in hit.category:
        if xml_text(category):
            entry.category(term=xml_text(category))
    # Escaped by the snippets wing like everywhere else: only its <mark> tags are markup.
    entry.summary(xml_text(hit.snippet), type="html")


class RelatedLink(BaseEntryExtension):
    """An entry's <link rel="related">, written through feedgen's extension hook.

    feedgen 1.0.0 drops every attribute but href of an entry's links (its loop variable
    shadows the link: lkiesow/python-feedgen#135), so a related link would read as a second
    alternate one. The alternate link needs no rel: it is the default.
    """

    def __init__(self) -> None:
        self.href = ""

    def extend_atom(self, entry):
        """Add the link to the entry's element."""
        if self.href:
            xml_elem("link", entry, href=self.href, rel="related")
        return entry


def xml_text(value: str) -> str:
    """The text without the characters XML cannot hold (NUL and most controls)."""
    return _NOT_XML.sub("", value or "").strip()


def _plain(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers, content_type="text/plain; charset=utf-8")
