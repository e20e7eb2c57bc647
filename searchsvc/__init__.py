"""searchsvc: full-text search for press releases and news, on Whoosh and Flask."""

__version__ = "0.1.0"
