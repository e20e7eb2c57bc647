"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

The schemas describe exactly what searchsvc.web.payload builds (no extra keys allowed), and
tests/test_api.py validates every response it sees against them, so the two cannot drift.
"""

from __future__ import annotations

from searchsvc.searching import (
    DEFAULT_FIELDS,
    EXPORT_FIELDS,
    EXPORT_PARAMS,
    FACET_FIELDS,
    FIELDS_PATTERN,
    MAX_FILTER_VALUES,
    PARAMS,
    UNITS,
    Param,
    SearchRequest,
)

# /api/facets/<name>: its text filter and its number of values at most.
MAX_CONTAINS = 200
MAX_FACET_LIMIT = 1000
_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_WHAT = {"country": "countries", "person": "people", "organisation": "organisations"}
_ENTITIES = {
    name: {**_STRINGS, "description": f"The {plural} the release names (recognised)."}
    for name, plural in _WHAT.items()
}


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
    if p.multiple:  # a facet's values: the parameter repeated, or an array in JSON
        item = {"type": "string", "maxLength": p.max_length} if p.max_length else _STRING
        return {"type": "array", "items": item, "maxItems": MAX_FILTER_VALUES}
    schema: dict = {"type": {int: "integer", bool: "boolean"}.get(p.kind, "string")}
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
            "category": {**_STRINGS, "description": "Every category (tag) of the release."},
            "place": _STRING,
            "url": _STRING,
            "score": {"type": "number"},
            "snippet": {
                "type": "string",
                "description": "HTML: escaped text with the query's words in <mark> tags.",
            },
            **_ENTITIES,
            "title_html": {
                "type": "string",
                "description": "The title as HTML: escaped, the query's words in <mark> tags.",
            },
        }
    ),
    "Timeline": _object(
        {
            "unit": {"type": "string", "enum": list(UNITS)},
            "buckets": {
                "type": "array",
                "items": _object(
                    {
                        "start": {"type": "string", "format": "date"},
                        "end": {"type": "string", "format": "date"},
                        "count": {"type": "integer", "minimum": 0},
                    },
                    "A bar: first and last day (inclusive), cut to from and to, and its count.",
                ),
            },
            "undated": {"type": "integer", "minimum": 0},
        },
        "The matches per day, week, month, year (or decade, century, millennium): the finest "
        "unit that draws their dates in at most 40 bars, oldest first; undated ones apart.",
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
                    for name in FACET_FIELDS
                },
                "Counts over all matches. Years and months in date order, the rest by count "
                "(the 50 most frequent, and any value chosen), releases without a value "
                "as (none). A facet's own chosen values do not narrow its own counts; its "
                "exclusions and every other filter do. Months only when a year, month or "
                "date range is chosen.",
            ),
            "timeline": {
                "oneOf": [{"$ref": "#/components/schemas/Timeline"}, {"type": "null"}],
                "description": "The matches over time, or null when none is dated.",
            },
            "suggestion": _nullable("string", description="A 'did you mean' query, or null."),
            "notice": _nullable(
                "string", description="How the request was read when not quite as asked, or null."
            ),
            "next_url": _nullable(
                "string", description="Relative URL of the next page, or null on the last."
            ),
        }
    ),
    "FacetValues": _object(
        {
            "ok": _OK,
            "facet": {"type": "string", "enum": list(FACET_FIELDS)},
            "contains": {"type": "string", "description": "The text asked for, as sent."},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_FACET_LIMIT},
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "How many distinct values (containing the text) the matches have.",
            },
            "values": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/FacetCount"},
                "description": "The most frequent first, at most limit; releases without a "
                "value as (none). Counted as in the search's facets.",
            },
        },
        "One facet's values among a search's matches.",
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
            "category": _STRINGS,
            "hash": {"type": "string", "description": "sha1 of the source bytes."},
            **_ENTITIES,
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
    out = {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": p.help,
        "schema": schema,
    }
    if p.multiple:  # place=ghana&place=nigeria
        out |= {"style": "form", "explode": True}
    return out


SEARCH_PARAMETERS = [_parameter(p) for p in PARAMS]

_EMPTY = {"type": "string", "maxLength": 0}  # as a form sends an unset value: the default
EXPORT_PARAMETERS = [
    *(_parameter(p) for p in EXPORT_PARAMS),
    {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "csv (UTF-8 with a byte-order mark, for spreadsheets) or jsonl "
        "(JSON Lines, one object a line).",
        "schema": {"anyOf": [{"type": "string", "enum": ["csv", "jsonl"]}, _EMPTY]},
    },
    {
        "name": "fields",
        "in": "query",
        "required": False,
        "description": f"Columns, comma-separated, of {', '.join(EXPORT_FIELDS)}; "
        f"default: {','.join(DEFAULT_FIELDS)}.",
        "schema": {"type": "string", "pattern": FIELDS_PATTERN},
    },
]


def _header(description: str, schema: dict) -> dict:
    return {"description": description, "required": True, "schema": schema}


_EXPORT_HEADERS = {
    "Content-Disposition": _header(
        "attachment, with a file name ending in .csv or .jsonl", {"type": "string"}
    ),
    "X-Export-Order": _header(
        "The order of the rows: relevance (an empty query: newest), newest or oldest.",
        {"type": "string", "enum": ["relevance", "newest", "oldest"]},
    ),
    "X-Export-Total": _header("How many releases match.", {"type": "integer", "minimum": 0}),
    "X-Export-Rows": _header("How many rows follow.", {"type": "integer", "minimum": 0}),
    "X-Export-Truncated": _header(
        "true when more releases match than the export limit gives; the last line says so too.",
        {"type": "string", "enum": ["true", "false"]},
    ),
}


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
    "/api/export": {
        "get": {
            "operationId": "export",
            "summary": "Every release a search matches, as CSV or JSON Lines",
            "description": "Not one page: every match, in the search's order, streamed, up to "
            "the export limit (SEARCHSVC_EXPORT_LIMIT, 100,000 by default). Past it the headers "
            "say X-Export-Truncated: true, and the last line says so: a CSV row whose one cell "
            'begins "# truncated", or a JSON line {"truncated": true, "rows": N, "total": M, '
            '"message": "..."}. CSV cells beginning with =, +, -, @, a tab or a carriage '
            "return get a ' in front, so that a spreadsheet does not run them as formulas.",
            "parameters": EXPORT_PARAMETERS,
            "responses": {
                "200": {
                    "description": "The matching releases, a header line first (CSV).",
                    "headers": _EXPORT_HEADERS,
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "400": _json(
                    "Error", "A bad format, fields, date or query; the message says which."
                ),
                "414": _json("Error", "The URL is longer than 8,190 bytes; shorten the query."),
                **_ERRORS,
            },
        }
    },
    "/api/facets/{name}": {
        "get": {
            "operationId": "facet",
            "summary": "Every value of one facet among a search's matches, filtered by text",
            "description": "For a facet with more values than the search lists (50): "
            "its values containing `contains` (without regard to case), most frequent first.",
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "The facet.",
                    "schema": {"type": "string", "enum": list(FACET_FIELDS)},
                },
                *(_parameter(p) for p in EXPORT_PARAMS),
                {
                    "name": "contains",
                    "in": "query",
                    "required": False,
                    "description": "Only values containing this text (any case): gh finds Ghana.",
                    "schema": {"type": "string", "maxLength": MAX_CONTAINS},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": f"Values at most (default 100, at most {MAX_FACET_LIMIT}).",
                    "schema": {
                        "anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": MAX_FACET_LIMIT},
                            _EMPTY,
                        ]
                    },
                },
            ],
            "responses": {
                "200": _json("FacetValues", "The facet's values."),
                "400": _json("Error", "A bad date, query, contains or limit."),
                "404": _json("Error", "There is no facet of this name."),
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
