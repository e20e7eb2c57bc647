"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

The schemas describe exactly what searchsvc.web.payload builds (no extra keys allowed), and
tests/test_api.py validates every response it sees against them, so the two cannot drift.
"""

from __future__ import annotations

from searchsvc.searching import PARAMS, Param, SearchRequest


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


def _value_schema(p: Param, nullable: bool = False) -> dict:
    """What a parameter accepts: its type, choices and limits, from its declaration."""
    schema: dict = {"type": "integer" if p.kind is int else "string"}
    if p.choices:
        schema["enum"] = list(p.choices)
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    if p.pattern is not None:
        schema["pattern"] = p.pattern
    if p.max_length is not None:
        schema["maxLength"] = p.max_length
    default = SearchRequest.__dataclass_fields__[p.attr].default
    if nullable and default is None:
        schema["type"] = [schema["type"], "null"]
    elif not nullable and default not in (None, ""):
        schema["default"] = default
    return schema


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
        {p.attr: _value_schema(p, nullable=True) for p in PARAMS},
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
    "Range": _object(
        {
            "from": _nullable("string", format="date", description="First day; null: open."),
            "to": _nullable("string", format="date", description="Last day; null: open."),
            "as_typed": {
                "type": "object",
                "properties": {"from": _STRING, "to": _STRING},
                "additionalProperties": False,
                "description": "The from and to the request gave, exactly as typed.",
            },
        },
        "The days a request's from and to resolved to when the search ran (relative dates "
        "such as 'last 7 days' count from today in the server's time zone). A relative from "
        "with no to ends today.",
    ),
    "SearchResponse": _object(
        {
            "ok": _OK,
            "query": {"$ref": "#/components/schemas/Query"},
            "range": {
                "oneOf": [{"$ref": "#/components/schemas/Range"}, {"type": "null"}],
                "description": "What from and to resolved to, or null with neither.",
            },
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
            "notice": _nullable(
                "string", description="How the request was read when not quite as asked, or null."
            ),
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


def _parameter(p: Param) -> dict:
    schema = _value_schema(p)
    if p.kind is not str or p.choices:  # "" (as a form sends it) means the default
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    return {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": p.help,
        "schema": schema,
    }


SEARCH_PARAMETERS = [_parameter(p) for p in PARAMS]


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
                "414": _json("Error", "The URL is longer than 8,190 bytes; shorten the query."),
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
