"""The JSON API, a blueprint mounted at /api: search, export, documents, health, OpenAPI.

    query string --web.search_request()--> SearchRequest --engine--> SearchResult
    SearchResult --payload.search_payload()--> JSON (the same shape as `searchsvc search --json`)
    query string --export.export_response()--> every match as CSV or JSON Lines, streamed
    query string + a facet's name --backend.facet_values()--> that facet's values (any text)

Every answer is an envelope. Success is ``{"ok": true, ...}``; every 4xx and 5xx under /api/,
routing errors included, is ``{"ok": false, "error": "...", "status": N}``: the app's
error handlers send API paths here (see web.handle_http_error). An export's errors come
before its first byte, so they are the envelope too.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, request, url_for
from werkzeug.exceptions import NotFound

from searchsvc.searching import FACET_FIELDS, IndexDamagedError, SearchError, SearchResult
from searchsvc.web.context import (
    get_backend,
    request_deadline,
    request_today,
    search_args,
    search_request,
)
from searchsvc.web.errors import bad_request, error_response
from searchsvc.web.export import export_response
from searchsvc.web.openapi import MAX_CONTAINS, MAX_FACET_LIMIT, spec
from searchsvc.web.payload import document_payload, facet_payload, search_payload

bp = Blueprint("api", __name__)
bp.register_error_handler(SearchError, bad_request)


@bp.get("/search")
def search():
    """Search; an empty q lists documents newest first."""
    req = search_request(request.args, int(current_app.config["PAGE_SIZE"]))
    # Past the deadline: errors.handle_deadline.
    result = get_backend().search(req, request_deadline(), request_today())
    return search_payload(result, next_url(result))


def next_url(result: SearchResult) -> str | None:
    """The relative URL of the next page with the same parameters, or None on the last."""
    if not result.has_next:
        return None
    return url_for("api.search", **{**search_args(), "page": str(result.request.page + 1)})


@bp.get("/facets/<name>")
def facet(name: str):
    """The values of one facet among a search's matches, most frequent first, filtered by
    the text they contain: every value can be reached, not only the top 50."""
    if name not in FACET_FIELDS:
        raise NotFound(f"There is no facet {name[:40]!r}; facets: {', '.join(FACET_FIELDS)}.")
    req = search_request(request.args, int(current_app.config["PAGE_SIZE"]))
    contains = request.args.get("contains", "")
    if len(contains) > MAX_CONTAINS:
        raise SearchError(f"contains is {len(contains):,} characters; the limit is {MAX_CONTAINS}.")
    limit = _limit(request.args.get("limit", ""))
    found = get_backend().facet_values(
        req,
        name,
        contains=contains,
        limit=limit,
        deadline=request_deadline(),
        today=request_today(),
    )
    return facet_payload(found, contains, limit)


def _limit(raw: str) -> int:
    if not raw:
        return 100
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_FACET_LIMIT:
        raise SearchError(
            f"limit must be a whole number from 1 to {MAX_FACET_LIMIT}, not {raw[:40]!r}"
        )
    return int(raw)


@bp.get("/export")
def export():
    """Every match of a search (not one page) as CSV or JSON Lines, streamed."""
    return export_response(request.args)


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    """One stored document."""
    doc = get_backend().document(doc_id)
    if doc is None:
        raise NotFound(f"There is no document with the id {doc_id!r}.")
    return document_payload(doc)


@bp.get("/health")
def health():
    """Whether the index answers, how many documents it holds, how old it is, and any warning.

    200 with ``"warning": null`` when the live state of the index is served. 200 with a
    warning when an older snapshot is served because the newest cannot be used (damaged,
    unopenable, gone): the service still answers, so a liveness check passes, and the
    warning says what is wrong and what to do. 503 in the error envelope when no snapshot
    can be opened at all (no index: see errors.handle_no_index; a damaged one: here).
    """
    backend = get_backend()
    try:
        stats = backend.stats()
        state = backend.freshness()
    except IndexDamagedError as exc:
        return error_response(str(exc), 503)
    # Engine reports a naive local time (from the file's mtime); say which zone it is.
    updated = stats.updated_at.astimezone(timezone.utc)
    age = (datetime.now(timezone.utc) - updated).total_seconds()
    return {
        "ok": True,
        "documents": stats.documents,
        "age_seconds": round(max(age, 0.0), 1),
        "updated_at": updated.isoformat(timespec="seconds"),
        "generation": state.generation,
        "warning": state.warning,
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    return spec()
