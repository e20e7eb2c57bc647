"""The app factory: settings, blueprints, error handlers and security headers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import HTTPException

from searchsvc import config
from searchsvc.searching import (
    BackendUnavailableError,
    DeadlineExceededError,
    IndexDamagedError,
    IndexNotFoundError,
)
from searchsvc.web import api, feed, pages
from searchsvc.web.errors import (
    handle_damaged_index,
    handle_deadline,
    handle_http_error,
    handle_no_index,
    handle_unavailable,
)
from searchsvc.web.export import export_url

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE.parent / "templates"

# The page sends no script and no inline style, so the policy can forbid both.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(explicit: Mapping[str, object] | None = None) -> Flask:
    """Build the app; settings are defaults, then SEARCHSVC_* variables, then explicit."""
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(PACKAGE / "static"))
    app.config.from_mapping(config.load(explicit))
    app.json.sort_keys = False  # keep the envelope's documented order: ok first
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(feed.bp)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(IndexNotFoundError, handle_no_index)
    app.register_error_handler(DeadlineExceededError, handle_deadline)
    app.register_error_handler(IndexDamagedError, handle_damaged_index)
    app.register_error_handler(BackendUnavailableError, handle_unavailable)
    app.after_request(add_security_headers)
    app.add_template_global(pages.url_with)
    app.add_template_global(pages.search_args)
    app.add_template_global(export_url)
    app.add_template_global(feed.feed_url)
    app.add_template_filter(pages.format_date, "date")
    app.add_template_filter(pages.format_time, "time_of_day")
    app.add_template_filter(pages.quoted, "quoted")
    return app


def add_security_headers(response):
    """Send the strict CSP and nosniff on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
