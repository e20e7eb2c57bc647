"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

The schemas describe exactly what searchsvc.payload builds (no extra keys allowed), and
tests/test_api.py validates every response it sees against them, so the two cannot drift.
"""

from __future__ import annotations

from searchsvc.search import MAX_DEPTH, MAX_SIZE, SORTS


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def _object(properties: dict, description: str = "") -> dict:
    schema = {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }
    return {"description": description, **schema} if description else schema


_OK = {"type": "boolean", "const": True}
_STRING = {"type": "string"}
_DATE = _nullable("string", format="date")

SCHEMAS = {
    "Error": _object(
        {
            "ok": {"type": "boolean", "const": False},
            "error": {"type": "string", "description": "What went wrong and what to do."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
        },
        "Every 4xx and 5xx answer; status repeats the HTTP status.",
    ),
    "Query": _object(
        {
            "q": _STRING,
            "date_from": _nullable("string"),
            "date_to": _nullable("string"),
            "source": _nullable("string"),
            "category": _nullable("string"),
            "place": _nullable("string"),
            "year": _nullable("string"),
            "month": _nullable("string"),
            "sort": {"type": "string", "enum": list(SORTS)},
            "page": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
        },
        "The parameters as the engine understood them.",
    ),
    "Hit": _object(
        {
            "id": _STRING,
            "title": _STRING,
            "date": _DATE,
            "source": _STRING,
            "category": _STRING,
            "place": _STRING,
            "url": _STRING,
            "score": {"type": "number"},
            "snippet": {
                "type": "string",
                "description": "HTML: escaped text with the query's words in <mark> tags.",
            },
        }
    ),
    "FacetCount": _object(
        {"value": _STRING, "count": {"type": "integer", "minimum": 1}},
    ),
    "SearchResponse": _object(
        {
            "ok": _OK,
            "query": {"$ref": "#/components/schemas/Query"},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 1},
            "took_ms": {"type": "number", "minimum": 0},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": _object(
                {
                    name: {"type": "array", "items": {"$ref": "#/components/schemas/FacetCount"}}
                    for name in ("year", "month", "source", "category", "place")
                },
                "Counts over all matches. Years and months in date order, the rest by count; "
                "months only when a year, month or date range is chosen.",
            ),
            "suggestion": _nullable("string", description="A 'did you mean' query, or null."),
            "next_url": _nullable(
                "string", description="Relative URL of the next page, or null on the last."
            ),
        }
    ),
    "Document": _object(
        {
            "id": _STRING,
            "title": _STRING,
            "body": {"type": "string", "description": "Plain text; paragraphs end in \\n\\n."},
            "date": _DATE,
            "source": _STRING,
            "place": _STRING,
            "url": _STRING,
            "category": _STRING,
            "hash": {"type": "string", "description": "sha1 of the source bytes."},
        }
    ),
    "DocumentResponse": _object(
        {"ok": _OK, "document": {"$ref": "#/components/schemas/Document"}},
    ),
    "Health": _object(
        {
            "ok": _OK,
            "documents": {"type": "integer", "minimum": 0},
            "age_seconds": {"type": "number", "minimum": 0},
            "updated_at": {"type": "string", "format": "date-time"},
            "generation": {"type": "string"},
            "warning": {
                "type": ["string", "null"],
                "description": "Set when an older snapshot is served: why, and what to do.",
            },
        }
    ),
}


def _param(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


SEARCH_PARAMETERS = [
    _param(
        "q",
        'The query: words, "phrases", AND/OR/NOT, field:value, prefix*, fuzzy~. '
        "Empty lists documents newest first.",
    ),
    _param("from", "Earliest date: 2023, 2023-05, 2023-05-04 or 5 May 2023."),
    _param("to", "Latest date, read the same way; a partial date covers its whole period."),
    _param("sort", "Order of results.", {"type": "string", "enum": list(SORTS)}),
    _param(
        "page",
        f"Page number; page x size may not pass {MAX_DEPTH}.",
        {"type": "integer", "minimum": 1, "default": 1},
    ),
    _param(
        "size",
        "Results per page (default: the server's PAGE_SIZE setting, 10).",
        {"type": "integer", "minimum": 1, "maximum": MAX_SIZE, "default": 10},
    ),
    _param("source", "Only this source (a value of the source facet)."),
    _param("category", "Only this category."),
    _param("place", "Only this place."),
    _param("year", "Only this year, e.g. 2023."),
    _param("month", "Only this month, e.g. 2023-05."),
]


def _json(schema: str, description: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


_ERRORS = {
    "503": _json(
        "Error",
        "There is no index yet (build one with `searchsvc index`), or it is damaged and no "
        "earlier generation is intact (rebuild it with `searchsvc index PATH --rebuild`).",
    ),
    "default": _json("Error", "Any other error, as the error envelope."),
}


PATHS = {
    "/api/search": {
        "get": {
            "operationId": "search",
            "summary": "Search the index",
            "parameters": SEARCH_PARAMETERS,
            "responses": {
                "200": _json("SearchResponse", "A page of results with facet counts."),
                "400": _json("Error", "A bad date, query, sort or page; the message says which."),
                **_ERRORS,
            },
        }
    },
    "/api/documents/{id}": {
        "get": {
            "operationId": "document",
            "summary": "One stored document",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "The document id; it may contain unescaped slashes.",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": _json("DocumentResponse", "The document."),
                "404": _json("Error", "No document has this id."),
                **_ERRORS,
            },
        }
    },
    "/api/health": {
        "get": {
            "operationId": "health",
            "summary": "Whether the index answers, its size and age",
            "responses": {"200": _json("Health", "The index is up."), **_ERRORS},
        }
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This description",
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def spec() -> dict:
    """The OpenAPI document of the API, as a dict ready for JSON."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "searchsvc",
            "version": "1",
            "description": "Full-text search over press releases. Every answer is a JSON "
            "envelope whose ok says whether it succeeded.",
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
