"""Writing to the cluster in batches, retried with backoff on 429 and 503, bounded by the run.

    operations (index, delete, update) --BATCH at a time--> the bulk API
        the whole request answered 429 or 503, or no answer (a node down): sent again
        items answered 429 or 503 (a full queue, a shard not yet allocated): those sent again
        --> each item rejected for another reason (a mapping error, say), reported

A run waits at most ``retry_seconds`` in all between attempts (a cluster that stays
unavailable ends the run with BackendUnavailableError instead of hanging), and each batch
is sent at most ATTEMPTS times. Items still answered 429 or 503 after that are reported as
rejected: they are not in the index, so the next run finds them new (or changed) and
writes them again.

opensearch-py's ``streaming_bulk`` retries only 429, and lets a 503 of the whole request
end the run; this loop is ours for that reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from searchsvc.searching import BackendUnavailableError

BATCH = 500  # operations per bulk request, at most
BATCH_BYTES = 5_000_000  # and about this much JSON (OpenSearch suggests 5 to 15 MB)
ATTEMPTS = 6  # times one batch is sent at most
BACKOFF = 0.5  # seconds before the first retry; doubled each time, at most MAX_BACKOFF
MAX_BACKOFF = 8.0
RETRIED = (429, 503)


@dataclass
class Rejected:
    """An operation the cluster refused, and why."""

    op: str  # index, delete or update
    id: str
    status: int
    reason: str


@dataclass
class BulkWriter:
    """Bulk writes to one index, with a retry budget for the whole run."""

    client: OpenSearch
    index: str
    url: str
    retry_seconds: float = 60.0
    timeout: float = 120.0  # seconds for one bulk request (a busy node takes its time)
    sleep: Callable[[float], None] = time.sleep
    waited: float = 0.0  # seconds spent between attempts so far, in this run
    retries: int = 0  # requests sent again so far
    rejected: list[Rejected] = field(default_factory=list)

    def write(self, operations: Iterable[dict[str, Any]]) -> list[Rejected]:
        """Send every operation; those the cluster refused (after retries), in order.

        An operation is {"_op_type": "index" | "delete" | "update", "_id": ..., and
        "_source" (index) or "doc" (update)}.
        """
        found: list[Rejected] = []
        for batch in _batches(operations, BATCH, BATCH_BYTES):
            found += self._batch(batch)
        self.rejected += found
        return found

    def _batch(self, batch: list[dict[str, Any]]) -> list[Rejected]:
        pending, refused = batch, []
        wait = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            answer = self._send(pending, last)
            if answer is None:  # the whole request: 429, 503 or no answer
                wait = self._pause(wait)
                continue
            again = []
            for op, item in zip(pending, answer["items"], strict=True):
                ((kind, result),) = item.items()
                status = int(result.get("status", 200))
                if status < 300 or kind == "delete" and status == 404:
                    continue
                if status in RETRIED and not last:
                    again.append(op)
                else:
                    refused.append(Rejected(kind, str(op["_id"]), status, _why(result)))
            if not again:
                return refused
            pending = again
            wait = self._pause(wait)
        raise AssertionError("unreachable")

    def _send(self, ops: list[dict[str, Any]], last: bool) -> dict | None:
        try:
            return self.client.bulk(body=_body(ops, self.index), request_timeout=self.timeout)
        except os_errors.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            lost = isinstance(exc, (os_errors.ConnectionError, os_errors.ConnectionTimeout))
            if not (lost or status in RETRIED) or last:
                raise BackendUnavailableError(
                    f"OpenSearch at {self.url} did not take a batch of {len(ops)} documents: "
                    f"{str(getattr(exc, 'error', '') or exc)[:200]}. Run searchsvc index "
                    "again when the cluster is back: documents not written are written then."
                ) from None
            return None

    def _pause(self, wait: float) -> float:
        """Sleep before the next attempt, within the run's budget; the next wait."""
        if self.waited + wait > self.retry_seconds:
            raise BackendUnavailableError(
                f"OpenSearch at {self.url} kept answering 429 or 503 for "
                f"{self.waited:.0f} s of retries. Run searchsvc index again later: documents "
                "not written are written then."
            )
        self.sleep(wait)
        self.waited += wait
        self.retries += 1
        return min(wait * 2, MAX_BACKOFF)


def _batches(
    ops: Iterable[dict[str, Any]], size: int, max_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    held = 0
    for op in ops:
        batch.append(op)
        held += _size(op)
        if len(batch) == size or held >= max_bytes:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _size(op: dict[str, Any]) -> int:
    """About how many bytes of JSON an operation sends (its text fields)."""
    source = op.get("_source") or op.get("doc") or {}
    return 100 + sum(len(v) for v in source.values() if isinstance(v, str))


def _body(ops: list[dict[str, Any]], index: str) -> str:
    """The bulk API's newline-delimited JSON for ops."""
    lines = []
    for op in ops:
        kind = op["_op_type"]
        lines.append(json.dumps({kind: {"_index": index, "_id": op["_id"]}}))
        if kind == "index":
            lines.append(json.dumps(op["_source"]))
        elif kind == "update":
            lines.append(json.dumps({"doc": op["doc"]}))
    return "\n".join(lines) + "\n"


def _why(result: dict) -> str:
    error = result.get("error", {})
    reason = error.get("reason", error) if isinstance(error, dict) else error
    return str(reason or f"status {result.get('status')}")
