"""The JSON shapes of results, shared by the API and `searchsvc search --json`.

Every JSON answer is an envelope: ``{"ok": true, ...}`` on success and
``{"ok": false, "error": "...", "status": N}`` on failure.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from searchsvc.dates import DateRange
from searchsvc.reading import Document
from searchsvc.searching import FacetValues, SearchResult, Timeline


def _date(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def search_payload(result: SearchResult, next_url: str | None = None) -> dict:
    """A search result as the API returns it."""
    return {
        "ok": True,
        "query": result.request.to_dict(),
        "range": range_payload(result.range),
        "total": result.total,
        "page": result.request.page,
        "size": result.request.size,
        "took_ms": result.took_ms,
        "results": [{**asdict(hit), "date": _date(hit.date)} for hit in result.hits],
        "facets": {
            name: [{"value": f.value, "count": f.count} for f in counts]
            for name, counts in result.facets.items()
        },
        "timeline": timeline_payload(result.timeline),
        "suggestion": result.suggestion,
        "notice": result.notice,
        "next_url": next_url,
    }


def facet_payload(found: FacetValues, contains: str, limit: int) -> dict:
    """One facet's values among a search's matches, as /api/facets/<name> returns them."""
    return {
        "ok": True,
        "facet": found.name,
        "contains": contains,
        "limit": limit,
        "total": found.total,
        "values": [{"value": f.value, "count": f.count} for f in found.values],
    }


def range_payload(found: DateRange | None) -> dict | None:
    """The days a search's from and to resolved to, and what was typed; None: no dates."""
    if found is None:
        return None
    return {
        "from": found.start.isoformat() if found.start else None,
        "to": found.end.isoformat() if found.end else None,
        "as_typed": dict(found.typed),
    }


def timeline_payload(drawn: Timeline | None) -> dict | None:
    """The matches' dates as bars of one unit, oldest first; None when none is dated."""
    if drawn is None:
        return None
    buckets = [
        {"start": b.start.isoformat(), "end": b.end.isoformat(), "count": b.count}
        for b in drawn.buckets
    ]
    return {"unit": drawn.unit, "buckets": buckets, "undated": drawn.undated}


def document_payload(doc: Document) -> dict:
    """A stored document as the API returns it."""
    fields = asdict(doc)
    fields["date"] = _date(doc.date)
    fields.pop("path", None)  # a server-side path is none of a caller's business
    fields.pop("warnings", None)  # the indexing run's notes, not stored with the document
    return {"ok": True, "document": fields}


def error_payload(message: str, status: int) -> dict:
    """The one error envelope."""
    return {"ok": False, "error": message, "status": status}
