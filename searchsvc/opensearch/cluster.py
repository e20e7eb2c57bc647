"""The cluster as the backend calls it: its options, a client, and calls that are bounded.

    OpenSearchOptions (url, alias, credentials, shards, replicas) --Cluster--> a client whose
        every call (_call) is retried on 429, 503 and a lost node while the request's
        deadline allows, then becomes BackendUnavailableError (a 503 at the edges)
    the alias --_physical--> the index behind it (a rebuild makes a new one), or
        IndexNotFoundError naming the alias, the cluster and the command that builds it

writing.py (indexing) and backend.py (searching) build on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors
from opensearchpy.helpers import scan

from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import IndexNotFoundError
from searchsvc.searching import BackendUnavailableError

MAX_ATTEMPTS = 4  # per call, while the deadline allows: 429 and 503 are retried
BACKOFF = 0.2  # seconds before the first retry; doubled each time
PAGE = 500  # documents per page when reading every document (export, the incremental rule)


@dataclass(frozen=True)
class OpenSearchOptions:
    """Where the cluster is and which alias the backend reads and writes."""

    url: str
    index: str = "searchsvc"
    username: str = ""
    password: str = ""
    shards: int = 1
    replicas: int = 0
    timeout: float = 10.0  # seconds for a call with no request deadline (indexing)
    retry_seconds: float = 60.0  # seconds an index run may wait, in all, on 429s and 503s


class Cluster:
    """A client of the cluster at options.url, for the alias options.index."""

    def __init__(self, options: OpenSearchOptions):
        self.options = options
        self.alias = options.index
        auth = (options.username, options.password) if options.username else None
        # Retries are ours (bounded by each request's deadline), not the client's.
        self.client = OpenSearch(
            hosts=[options.url], http_auth=auth, max_retries=0, retry_on_timeout=False
        )

    def _call(self, deadline: Deadline, what: str, fn: Callable[..., Any], **kwargs) -> Any:
        """fn(**kwargs, request_timeout=what is left), retried on 429/503 and lost nodes."""
        wait = BACKOFF
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = deadline.remaining()
            if left <= 0:
                deadline.check(what)
            timeout = (
                min(self.options.timeout, left) if math.isfinite(left) else self.options.timeout
            )
            try:
                return fn(**kwargs, request_timeout=timeout)
            except os_errors.TransportError as exc:
                status = exc.status_code if isinstance(exc.status_code, int) else None
                retryable = status in (429, 503) or isinstance(
                    exc, (os_errors.ConnectionError, os_errors.ConnectionTimeout)
                )
                if not retryable:
                    raise
                if attempt == MAX_ATTEMPTS or deadline.remaining() < wait:
                    raise BackendUnavailableError(
                        f"OpenSearch at {self.options.url} did not answer ({what}): "
                        f"{_reason(exc)}. Try again in a moment."
                    ) from None
                time.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    def exists(self) -> bool:
        """Whether the alias exists (an index has been built)."""
        try:
            return bool(
                self._call(NEVER, "alias", self.client.indices.exists_alias, name=self.alias)
            )
        except os_errors.NotFoundError:
            return False

    def _physical(self, deadline: Deadline = NEVER) -> str:
        try:
            found = self._call(deadline, "alias", self.client.indices.get_alias, name=self.alias)
        except os_errors.NotFoundError:
            raise self._missing() from None
        return sorted(found)[0]

    def _missing(self) -> IndexNotFoundError:
        """What to do when the alias is not on the cluster: which, where, and the command."""
        return IndexNotFoundError(
            f"No OpenSearch index {self.alias!r} at {self.options.url} "
            "(SEARCHSVC_OPENSEARCH_INDEX, SEARCHSVC_OPENSEARCH_URL). "
            "Run: SEARCHSVC_BACKEND=opensearch searchsvc index [PATH ...]"
        )

    def _current_or_none(self) -> str | None:
        try:
            return self._physical()
        except IndexNotFoundError:
            return None

    def _refresh(self, physical: str) -> None:
        self._call(NEVER, "refresh", self.client.indices.refresh, index=physical)

    def _scan(self, index: str, query: dict, size: int) -> Iterator[dict]:
        """Every hit of query (a scroll); a cluster lost on the way: BackendUnavailableError."""
        try:
            yield from scan(self.client, index=index, query=query, size=size)
        except os_errors.TransportError as exc:
            raise BackendUnavailableError(
                f"OpenSearch at {self.options.url} did not answer (reading the index): "
                f"{_reason(exc)}. Try again in a moment."
            ) from None

    def _count(self, deadline: Deadline) -> int:
        return int(self._call(deadline, "count", self.client.count, index=self.alias)["count"])

    def _search(self, deadline: Deadline, body: dict) -> dict:
        try:
            return self._call(deadline, "search", self.client.search, index=self.alias, body=body)
        except os_errors.NotFoundError:
            raise self._missing() from None


def _reason(exc: os_errors.TransportError) -> str:
    return str(getattr(exc, "error", "") or exc)[:200]
