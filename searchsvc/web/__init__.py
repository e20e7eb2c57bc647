"""The web edge: the app factory, the search pages and the JSON API."""

from searchsvc.web.app import create_app
from searchsvc.web.payload import search_payload

__all__ = ["create_app", "search_payload"]
