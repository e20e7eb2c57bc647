"""The JSON shapes of results, shared by the API and `searchsvc search --json`.

Every JSON answer is an envelope: ``{"ok": true, ...}`` on success and
``{"ok": false, "error": "...", "status": N}`` on failure.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime

from searchsvc.dates import DateRange
from searchsvc.reading import Document
from searchsvc.searching import FacetValues, Hit, SearchResult, SimilarResult, Timeline


def _date(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def search_payload(result: SearchResult, next_url: str | None = None) -> dict:
    """A search result as the API returns it."""
    return {
        "ok": True,
        "query": result.request.to_dict(),
        "range": range_payload(result.range),
        "total": result.total,
        "stories": result.listed if result.stories is None else result.stories,
        "page": result.request.page,
        "size": result.request.size,
        "took_ms": result.took_ms,
        "results": [hit_payload(hit) for hit in result.hits],
        "facets": {
            name: [{"value": f.value, "count": f.count} for f in counts]
            for name, counts in result.facets.items()
        },
        "timeline": timeline_payload(result.timeline),
        "suggestion": result.suggestion,
        "also_searched": list(result.also_searched),
        "also_try": list(result.also_try),
        "notice": result.notice,
        "next_url": next_url,
    }


def _shallow(obj) -> dict:
    """A dataclass's fields as a dict, in order, values as they are: asdict's copy, minus
    its deep copy of every string and tuple (a tenth of a request's time in the profile).
    For dataclasses whose fields hold no dataclass (or, as Hit.also, are replaced)."""
    return {name: getattr(obj, name) for name in _names(type(obj))}


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    if cls not in _NAMES:
        _NAMES[cls] = tuple(f.name for f in fields(cls))
    return _NAMES[cls]


def hit_payload(hit: Hit) -> dict:
    """One result, with its other copies ("also published as") as the API gives them."""
    return {**_shallow(hit), "date": _date(hit.date), "also": copies_payload(hit.also)}


def copies_payload(copies) -> list[dict]:
    """Other releases of a story: id, title, source, date and url each."""
    return [{**_shallow(c), "date": _date(c.date)} for c in copies]


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


def document_payload(doc: Document, duplicates=()) -> dict:
    """A stored document as the API returns it, with its near-duplicates."""
    fields = asdict(doc)
    fields["date"] = _date(doc.date)
    fields.pop("path", None)  # a server-side path is none of a caller's business
    fields.pop("warnings", None)  # the indexing run's notes, not stored with the document
    return {"ok": True, "document": fields, "duplicates": copies_payload(duplicates)}


def similar_payload(result: SimilarResult) -> dict:
    """The releases most like one release, as the API returns them."""
    return {
        "ok": True,
        "id": result.id,
        "terms": result.terms,
        "took_ms": result.took_ms,
        "results": [{**asdict(hit), "date": _date(hit.date)} for hit in result.hits],
    }


def error_payload(message: str, status: int) -> dict:
    """The one error envelope."""
    return {"ok": False, "error": message, "status": status}
