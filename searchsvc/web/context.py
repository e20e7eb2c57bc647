"""The request's context: the app's one backend, and the search parameters of the request.

Per-request resources follow flaskr's get_x() idiom: created on first use, never at import
or in create_app, and shared by the pages and the API. Each search counts its relative
dates from request_today(): the date in the TIMEZONE setting when the request runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Flask, current_app, request

from searchsvc import config
from searchsvc.backends import open_backend
from searchsvc.deadline import Deadline
from searchsvc.searching import PARAMS, Backend, SearchRequest, request_from_args

_backend_lock = threading.Lock()
KEY = "searchsvc.backend"


def get_backend() -> Backend:
    """The app's one backend, opened on first use (never at import or in create_app)."""
    backend = current_app.extensions.get(KEY)
    if backend is None:
        with _backend_lock:
            backend = current_app.extensions.get(KEY)
            if backend is None:
                backend = open_backend(
                    current_app.config["INDEX_DIR"],
                    current_app.config,
                    check_interval=float(current_app.config["REFRESH_INTERVAL"]),
                    cache_size=int(current_app.config["RESULT_CACHE"]),
                )
                current_app.extensions[KEY] = backend
    return backend


def prepare_backend(app: Flask) -> None:
    """Open the app's backend and start opening its index now, before a first request.

    A server's worker calls it as it boots; an error is left for the first request to say.
    """
    with app.app_context(), contextlib.suppress(Exception):
        get_backend().prepare()


def request_deadline() -> Deadline:
    """The deadline of the current request: REQUEST_TIMEOUT seconds from now."""
    return Deadline(float(current_app.config["REQUEST_TIMEOUT"]))


def request_today() -> date:
    """Today in the app's TIMEZONE (or its CLOCK's, in tests): see config.today."""
    return config.today(current_app.config)


def search_request(args: Mapping[str, str], page_size: int) -> SearchRequest:
    """A SearchRequest from query-string arguments; raise SearchError for bad numbers."""
    return request_from_args(args, defaults={"size": page_size})


def search_args() -> dict[str, Any]:
    """The current request's search parameters that are set, q first: a str each, or for
    a parameter that may repeat (a facet's values) the list of its values.

    Only these known names are passed on to url_for: it reads some keywords itself
    (_external, _scheme, _anchor), which a query string must not reach. url_for writes a
    list as the parameter repeated (place=ghana&place=nigeria).
    """
    out: dict[str, Any] = {}
    for p in PARAMS:
        if p.multiple:
            values = [v for v in request.args.getlist(p.name) if v.strip()]
            if values:
                out[p.name] = values
        elif value := request.args.get(p.name, ""):
            out[p.name] = value
    return out
