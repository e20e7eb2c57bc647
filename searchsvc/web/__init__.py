"""The web edge: the app factory, the search pages and the JSON API."""

from searchsvc.web.app import SECURITY_HEADERS, create_app
from searchsvc.web.context import prepare_backend
from searchsvc.web.export import export_chunks, truncation_message
from searchsvc.web.payload import error_payload, search_payload, similar_payload

__all__ = [
    "SECURITY_HEADERS",
    "create_app",
    "error_payload",
    "export_chunks",
    "prepare_backend",
    "search_payload",
    "similar_payload",
    "truncation_message",
]
