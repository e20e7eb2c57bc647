"""Which backend serves: the embedded Whoosh engine, or an OpenSearch cluster.

    settings (BACKEND, INDEX_DIR and VARIANTS, or OPENSEARCH_*) --open_backend--> a Backend

The edges call this with the settings they read at start; the library never reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from searchsvc.searching import BUILTIN, BUILTIN_FILES, Backend, BackendUnavailableError
from searchsvc.searching import open_backend as open_engine


def open_backend(
    index_dir: str | Path,
    settings: Mapping[str, object] | None = None,
    *,
    check_interval: float = 1.0,
    cache_size: int = 1024,
) -> Backend:
    """The backend the settings choose (the embedded engine over index_dir by default)."""
    variants = _variants(settings)
    if settings is not None and settings.get("BACKEND") == "opensearch":
        # Imported only here: the embedded engine needs neither it nor its client.
        try:
            from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions
        except ImportError as exc:
            raise BackendUnavailableError(
                f"The OpenSearch backend needs its client ({exc.name} is missing). "
                "Run: pip install -e '.[opensearch]'"
            ) from None

        options = OpenSearchOptions(
            url=str(settings["OPENSEARCH_URL"]),
            index=str(settings["OPENSEARCH_INDEX"]),
            username=str(settings.get("OPENSEARCH_USER", "")),
            password=str(settings.get("OPENSEARCH_PASSWORD", "")),
            shards=int(str(settings.get("OPENSEARCH_SHARDS", 1))),
            replicas=int(str(settings.get("OPENSEARCH_REPLICAS", 0))),
        )
        backend: Backend = OpenSearchBackend(
            options, variants=variants, check_interval=check_interval
        )
        return backend
    return open_engine(
        index_dir, check_interval=check_interval, cache_size=cache_size, variants=variants
    )


def _variants(settings: Mapping[str, object] | None) -> list[str | Path]:
    """The files of name variants the settings choose (the shipped lists by default)."""
    if settings is None or "VARIANTS" not in settings:
        return [BUILTIN]
    # VARIANTS: files separated by os.pathsep, "builtin" standing for the shipped lists,
    # whose people and organisations are the entity lists in force (PEOPLE_FILE and
    # ORGANISATIONS_FILE, when set, replace the shipped ones there too).
    words, people, organisations = BUILTIN_FILES
    people = Path(str(settings.get("PEOPLE_FILE") or people))
    organisations = Path(str(settings.get("ORGANISATIONS_FILE") or organisations))
    variants: list[str | Path] = []
    for part in str(settings["VARIANTS"]).split(os.pathsep):
        if part.strip() == BUILTIN:
            variants += [words, people, organisations]
        elif part.strip():
            variants.append(part)
    return variants


def describe(index_dir: str | Path, settings: Mapping[str, object] | None = None) -> str:
    """Where the index the settings choose lives, for messages: a folder or an alias."""
    if settings is not None and settings.get("BACKEND") == "opensearch":
        return f"OpenSearch index {settings['OPENSEARCH_INDEX']!r} on {settings['OPENSEARCH_URL']}"
    return str(index_dir)
