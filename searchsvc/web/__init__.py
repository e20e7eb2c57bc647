"""The web edge: the app factory, the search pages and the JSON API."""

from searchsvc.web.app import SECURITY_HEADERS, create_app
from searchsvc.web.payload import error_payload, search_payload

__all__ = ["SECURITY_HEADERS", "create_app", "error_payload", "search_payload"]
