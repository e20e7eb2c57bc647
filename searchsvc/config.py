"""Settings: defaults, then the environment (SEARCHSVC_*), then explicit values.

Only the edges (CLI, web) read this; library modules take paths and values as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULTS: dict[str, object] = {
    "INDEX_DIR": "index",
    "SEEDS_DIR": "seeds",
    "HOST": "127.0.0.1",
    "PORT": 8000,
    "WORKERS": 2,
    "PAGE_SIZE": 10,
    # How often (seconds) a server looks whether the index changed under it.
    "REFRESH_INTERVAL": 1.0,
    # Answers kept per worker for repeated requests (0: none); emptied when the index changes.
    "RESULT_CACHE": 1024,
    # Threads per worker process: how many requests one process answers at once.
    "THREADS": 8,
    # Seconds an idle kept-alive connection stays open for its next request.
    "KEEPALIVE": 5,
    # Seconds a client has, from connecting (or its last answer), to send a request's headers.
    "HEADER_TIMEOUT": 10.0,
    # Open connections per worker process; beyond it new ones wait in the listen queue.
    "CONNECTIONS": 1000,
    # Seconds a search may take before it stops with a 503 (0: no deadline).
    "REQUEST_TIMEOUT": 5.0,
}

PREFIX = "SEARCHSVC_"


def load(explicit: Mapping[str, object] | None = None, environ=None) -> dict[str, object]:
    """Defaults overridden by SEARCHSVC_* variables, overridden by explicit values."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = environ.get(PREFIX + key)
        if raw is not None:
            settings[key] = type(default)(raw) if not isinstance(default, str) else raw
    settings.update(explicit or {})
    return settings
