"""The JSON API, a blueprint mounted at /api: search, documents, health, OpenAPI.

    query string --web.search_request()--> SearchRequest --engine--> SearchResult
    SearchResult --payload.search_payload()--> JSON (the same shape as `searchsvc search --json`)

Every answer is an envelope. Success is ``{"ok": true, ...}``; every 4xx and 5xx under /api/,
routing errors included, is ``{"ok": false, "error": "...", "status": N}``: the app's
error handlers send API paths here (see web.handle_http_error).
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from searchsvc.openapi import spec
from searchsvc.payload import document_payload, error_payload, search_payload
from searchsvc.search import SearchError, SearchResult
from searchsvc.storage import IndexDamagedError
from searchsvc.web import get_engine, request_deadline, search_args, search_request

bp = Blueprint("api", __name__)


@bp.get("/search")
def search():
    """Search; an empty q lists documents newest first."""
    req = search_request(request.args, int(current_app.config["PAGE_SIZE"]))
    result = get_engine().search(req, request_deadline())  # past it: web.handle_deadline
    return search_payload(result, next_url(result))


def next_url(result: SearchResult) -> str | None:
    """The relative URL of the next page with the same parameters, or None on the last."""
    if not result.has_next:
        return None
    return url_for("api.search", **{**search_args(), "page": str(result.request.page + 1)})


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    """One stored document."""
    doc = get_engine().document(doc_id)
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
    can be opened at all (no index: see web.handle_no_index; a damaged one: here).
    """
    engine = get_engine()
    try:
        stats = engine.stats()
        state = engine.health()
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


@bp.errorhandler(SearchError)
def bad_request(exc: SearchError):
    """A request the engine cannot answer as asked: 400 with its message."""
    return error_response(str(exc), 400)


def is_api_request() -> bool:
    """Whether the current request is for the API, so errors answer as JSON."""
    return request.path == "/api" or request.path.startswith("/api/")


def http_error(exc: HTTPException):
    """Any HTTP error under /api/ as the envelope, with a message that says what to do."""
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 404 and request.url_rule is None:
        message = f"No API endpoint at {request.path}; see /api/openapi.json."
    elif status == 405:
        message = f"{request.method} is not allowed here; use GET."
    elif status >= 500:
        message = "The server failed to answer; the error is in its log."
    response = error_response(message, status)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":  # keep Allow on a 405, say
            response.headers[name] = value
    return response


def error_response(message: str, status: int):
    """The error envelope as a response with that status."""
    response = jsonify(error_payload(message, status))
    response.status_code = status
    return response
