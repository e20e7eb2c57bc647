"""Which backend serves: the embedded Whoosh engine, or an OpenSearch cluster.

    settings (BACKEND, INDEX_DIR or OPENSEARCH_*) --open_backend--> a Backend

The edges call this with the settings they read at start; the library never reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from searchsvc.searching import Backend
from searchsvc.searching import open_backend as open_engine


def open_backend(
    index_dir: str | Path,
    settings: Mapping[str, object] | None = None,
    *,
    check_interval: float = 1.0,
    cache_size: int = 1024,
) -> Backend:
    """The backend the settings choose (the embedded engine over index_dir by default)."""
    if settings is not None and settings.get("BACKEND") == "opensearch":
        # Imported only here: the embedded engine needs neither it nor its client.
        from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions

        options = OpenSearchOptions(
            url=str(settings["OPENSEARCH_URL"]),
            index=str(settings["OPENSEARCH_INDEX"]),
            username=str(settings.get("OPENSEARCH_USER", "")),
            password=str(settings.get("OPENSEARCH_PASSWORD", "")),
        )
        backend: Backend = OpenSearchBackend(options)
        return backend
    return open_engine(index_dir, check_interval=check_interval, cache_size=cache_size)
