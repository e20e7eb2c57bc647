"""Errors: under /api/ the JSON envelope, elsewhere an error page; never a traceback."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searchsvc.searching import (
    BackendUnavailableError,
    DeadlineExceededError,
    IndexDamagedError,
    IndexNotFoundError,
    SearchError,
)
from searchsvc.web.payload import error_payload


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


def handle_http_error(exc: HTTPException):
    """An error page, or under /api/ the JSON error envelope."""
    if is_api_request():
        return http_error(exc)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.code or 500, exc.name)
    page = render_template("error.html", title=title, message=exc.description, q="")
    return page, exc.code or 500


def handle_no_index(exc: IndexNotFoundError):
    """A 503 that says how to build the missing index (or, under serve --watch, that the
    watcher is building it: WATCHING names the folders, as create_app was given them)."""
    index_dir = current_app.config["INDEX_DIR"]
    watching = current_app.config.get("WATCHING")
    title = "No index yet"
    message = f"No index at {index_dir}. Run: searchsvc index --index-dir {index_dir}"
    if watching:
        title, message = "Index being built", being_built(index_dir, watching)
    elif "Run:" in str(exc):  # the backend says where and how (OpenSearch: which alias)
        message = str(exc)
    if is_api_request():
        response = error_response(message, 503)
    else:
        page = render_template("error.html", title=title, message=message, q="")
        response = current_app.make_response((page, 503))
    if watching:
        response.headers["Retry-After"] = "5"
    return response


def being_built(index_dir: object, folders: Sequence[str]) -> str:
    """What a search under serve --watch answers until the first release is indexed."""
    where = ", ".join(f"{folder}/" for folder in folders)
    many = len(folders) > 1
    return (
        f"The index at {index_dir} is being built from the watched folder{'s' if many else ''} "
        f"{where}: searching starts once its first release is indexed. If "
        f"{'they are' if many else 'it is'} empty, add releases there (.txt, .md or .jsonl files)."
    )


def handle_deadline(exc: DeadlineExceededError):
    """A 503 that says the search took too long and how to narrow it (search page: in place)."""
    if is_api_request():
        response = error_response(str(exc), 503)
    else:
        page = render_template("error.html", title="Too slow", message=str(exc), q="")
        response = current_app.make_response((page, 503))
    response.headers["Retry-After"] = retry_after(exc)
    return response


def handle_unavailable(exc: BackendUnavailableError):
    """A 503 that says the cluster did not answer, with Retry-After: a moment."""
    if is_api_request():
        response = error_response(str(exc), 503)
    else:
        page = render_template("error.html", title="Search unavailable", message=str(exc), q="")
        response = current_app.make_response((page, 503))
    response.headers["Retry-After"] = "5"
    return response


def retry_after(exc: DeadlineExceededError) -> str:
    """Retry-After for a request past its deadline: as many seconds as it was given."""
    return str(max(1, math.ceil(exc.seconds)))


def handle_damaged_index(exc: IndexDamagedError):
    """A 503 that names the damaged file and says how to rebuild (no intact state to serve)."""
    if is_api_request():
        return error_response(str(exc), 503)
    page = render_template("error.html", title="Index damaged", message=str(exc), q="")
    return page, 503
