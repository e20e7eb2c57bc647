"""The web edge: the app factory, the search pages and the JSON API."""

from searchsvc.web.pages import create_app

__all__ = ["create_app"]
