"""The JSON API's contract: every error is the envelope, and every answer matches OpenAPI.

Each response a test sees goes through ``get()``, which validates its body against the
schema that /api/openapi.json gives for that path and status.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from searchsvc.web import create_app
from searchsvc.web.openapi import spec

SPEC = spec()
ENVELOPE = {"ok", "error", "status"}


def _schema_for(path: str, method: str, status: int) -> dict:
    """The response schema the spec gives, or the error envelope for unknown routes."""
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\{\w+\\}", ".+", re.escape(template)) + "$"
        if re.match(pattern, path) and method in item:
            responses = item[method]["responses"]
            found = responses.get(str(status)) or responses["default"]
            return found["content"]["application/json"]["schema"]
    assert status >= 400, f"{method.upper()} {path} answered {status} but is not in the spec"
    return {"$ref": "#/components/schemas/Error"}


def check_schema(response, path: str, method: str = "get") -> dict:
    """Assert the response is JSON matching its schema in the spec; return the body."""
    assert response.content_type == "application/json"
    body = response.get_json()
    # The components ride along so the schema's "#/components/..." references resolve.
    schema = {**_schema_for(path, method, response.status_code), "components": SPEC["components"]}
    OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)
    return body


def get(client, url: str, method: str = "get"):
    """Request url and validate the answer against the spec."""
    response = getattr(client, method)(url)
    check_schema(response, url.split("?", 1)[0], method)
    return response


# -- the description itself ------------------------------------------------------------------


def test_openapi_document_validates(client):
    served = get(client, "/api/openapi.json").get_json()
    assert served == SPEC
    validate(served)


def test_every_api_route_is_described(app):
    routes = {
        # A route's <name> is the spec's {name}; a document's <path:doc_id> is {id}.
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + m[1].removeprefix("doc_") + "}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert routes == set(SPEC["paths"])


# -- errors: one envelope ----------------------------------------------------------------------

ERRORS = [
    # method, url, status, a word the message must contain
    ("get", "/api/nope", 404, "/api/nope"),
    ("get", "/api", 404, "openapi"),
    ("post", "/api/search", 405, "GET"),
    ("delete", "/api/documents/000_151069118a277199", 405, "GET"),
    ("get", "/api/documents/no/such/doc", 404, "no/such/doc"),
    ("get", "/api/documents/no/such/doc/similar", 404, "no/such/doc"),
    ("post", "/api/documents/000_151069118a277199/similar", 405, "GET"),
    ("get", "/api/search?from=bogus-date", 400, "bogus-date"),
    ("get", "/api/search?to=31+Febtember", 400, "Febtember"),
    ("get", "/api/search?sort=sideways", 400, "sideways"),
    ("get", "/api/search?size=1000", 400, "size"),
    ("get", "/api/search?size=0", 400, "size"),
    ("get", "/api/search?page=0", 400, "page"),
    ("get", "/api/search?page=abc", 400, "abc"),
    ("get", "/api/search?size=1.5", 400, "1.5"),
    # strict: a query that cannot be read as typed is refused (else: plain words, a notice)
    ("get", "/api/search?q=title:(&strict=true", 400, ""),  # wording: test_query.py's
    ("get", "/api/search?q=AND+OR&strict=true", 400, "AND"),
    ("get", '/api/search?q="unclosed&strict=true', 400, ""),
    ("get", "/api/search?q=energy&strict=yes", 400, "strict must be true or false"),
    ("get", "/api/export?format=xml", 400, "xml"),
    ("get", "/api/export?fields=id,secret", 400, "secret"),
    ("post", "/api/export", 405, "GET"),
]


@pytest.mark.parametrize(("method", "url", "status", "word"), ERRORS)
def test_every_error_is_the_envelope(client, method, url, status, word):
    response = get(client, url, method)
    body = response.get_json()
    assert response.status_code == status
    assert set(body) == ENVELOPE
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"] and word in body["error"]


def test_405_keeps_allow_header(client):
    assert "GET" in client.post("/api/health").headers["Allow"]


@pytest.mark.parametrize(
    "url", ["/api/search?q=x", "/api/health", "/api/documents/a/b", "/api/documents/a/similar"]
)
def test_missing_index_is_503_naming_the_fix(tmp_path, url):
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = get(client, url)
    assert response.status_code == 503
    assert "searchsvc index" in response.get_json()["error"]


def test_unexpected_failure_is_a_500_envelope(broken_app):
    app = broken_app
    response = get(app.test_client(), "/api/search?q=x")
    body = response.get_json()
    assert response.status_code == 500 and body["status"] == 500
    assert "disk on fire" not in body["error"]  # internals stay in the log


# -- search ---------------------------------------------------------------------------------


def test_search_turkmenistan_finds_all_five_seeds(client):
    body = get(client, "/api/search?q=Turkmenistan").get_json()
    assert body["ok"] is True and body["total"] == 5
    assert body["query"]["q"] == "Turkmenistan" and body["page"] == 1
    assert all("<mark>" in hit["snippet"] for hit in body["results"])


def test_year_facet_counts(client):
    facets = get(client, "/api/search?q=Turkmenistan").get_json()["facets"]
    assert facets["year"] == [
        {"value": "2020", "count": 1},
        {"value": "2023", "count": 3},
        {"value": "2026", "count": 1},
    ]
    assert facets["month"] == []  # months only once a year or range is chosen


def test_month_facets_within_a_year(client):
    body = get(client, "/api/search?q=Turkmenistan&year=2023").get_json()
    assert body["total"] == 3
    assert body["facets"]["month"] == [
        {"value": "2023-05", "count": 2},
        {"value": "2023-12", "count": 1},
    ]


def test_timeline_by_year_then_by_week(client):
    body = get(client, "/api/search?q=Turkmenistan").get_json()
    timeline = body["timeline"]
    assert timeline["unit"] == "year" and timeline["undated"] == 0
    assert [(b["start"], b["end"], b["count"]) for b in timeline["buckets"]] == [
        ("2020-01-01", "2020-12-31", 1), ("2021-01-01", "2021-12-31", 0),
        ("2022-01-01", "2022-12-31", 0), ("2023-01-01", "2023-12-31", 3),
        ("2024-01-01", "2024-12-31", 0), ("2025-01-01", "2025-12-31", 0),
        ("2026-01-01", "2026-12-31", 1),
    ]  # fmt: skip
    body = get(client, "/api/search?q=Turkmenistan&from=2023&to=2023").get_json()
    weeks = body["timeline"]["buckets"]
    assert body["timeline"]["unit"] == "week" and sum(b["count"] for b in weeks) == 3
    assert weeks[0] == {"start": "2023-05-01", "end": "2023-05-07", "count": 1}
    assert weeks[-1] == {"start": "2023-12-04", "end": "2023-12-10", "count": 1}


def test_no_timeline_without_dated_matches(client):
    assert get(client, "/api/search?q=zzzzqqq").get_json()["timeline"] is None


def test_titles_are_marked_and_escaped(client):
    hits = get(client, "/api/search?q=telephone+conversation").get_json()["results"]
    assert hits[0]["title_html"].startswith("<mark>Telephone conversation</mark> between")


def test_next_url_walks_every_page(client):
    url, ids, pages = "/api/search?q=Turkmenistan&size=2", [], 0
    while url and pages < 10:
        body = get(client, url).get_json()
        ids += [hit["id"] for hit in body["results"]]
        url, pages = body["next_url"], pages + 1
    assert pages == 3 and len(set(ids)) == 5


def test_next_url_keeps_the_parameters(client):
    body = get(client, "/api/search?q=Turkmenistan&size=1&year=2023&sort=newest").get_json()
    assert body["next_url"] == "/api/search?q=Turkmenistan&year=2023&sort=newest&size=1&page=2"


def test_next_url_ignores_unknown_parameters(client):
    body = get(client, "/api/search?q=Turkmenistan&size=1&_external=1&_scheme=https").get_json()
    assert body["next_url"] == "/api/search?q=Turkmenistan&size=1&page=2"


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ("", 5),
        ("year=2023", 3),
        ("month=2023-05", 2),
        ("from=2023-05&to=2023-05", 2),
        ("from=2023-06", 2),
        ("source=Trend", 1),
        ("source=trend", 1),
        ("place=Baku,+Azerbaijan", 1),
        ("source=Nobody", 0),
    ],
)
def test_empty_query_lists_newest_first(client, params, total):
    body = get(client, f"/api/search?{params}").get_json()
    dates = [hit["date"] for hit in body["results"]]
    assert body["total"] == total
    assert dates == sorted(dates, reverse=True)


def test_sort_oldest(client):
    body = get(client, "/api/search?q=partnership&sort=oldest").get_json()
    dates = [hit["date"] for hit in body["results"]]
    assert dates == sorted(dates) and len(dates) == 5


def test_suggestion(client):
    body = get(client, "/api/search?q=turkmenstan").get_json()
    assert body["total"] == 0 and body["suggestion"] == "turkmenistan"


def test_api_agrees_with_cli_json(client, runner, seeds_index):
    import json

    from searchsvc.cli import main

    result = runner.invoke(
        main, ["search", "Turkmenistan", "--json", "--index-dir", str(seeds_index)]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    api = get(client, "/api/search?q=Turkmenistan").get_json()
    for body in (cli, api):
        body.pop("took_ms"), body.pop("next_url")
    assert cli == api


# -- documents and health ----------------------------------------------------------------------


def test_document(client):
    body = get(client, "/api/documents/000_151069118a277199").get_json()
    doc = body["document"]
    assert doc["title"] == "Meeting of the Ministers of Foreign Affairs of Turkmenistan and Russia"
    assert doc["date"] == "2023-12-05" and "path" not in doc


def test_document_id_with_slashes(docs_index):
    client = create_app({"TESTING": True, "INDEX_DIR": str(docs_index)}).test_client()
    doc_id = "fact-sheets/2024-04/2024-04-22-fact-sheet-earth-day-conservation"
    body = get(client, f"/api/documents/{doc_id}").get_json()
    assert body["document"]["id"] == doc_id


def test_health(client):
    body = get(client, "/api/health").get_json()
    assert body["ok"] is True and body["documents"] == 5
    assert 0 <= body["age_seconds"] < 24 * 3600


def test_answers_are_encoded_by_orjson_as_flasks_json_would_read(app, client):
    from flask.json.provider import DefaultJSONProvider

    from searchsvc.web.app import JSONProvider

    assert isinstance(app.json, JSONProvider)
    response = client.get("/api/search?q=turkmenistan")
    flasks = DefaultJSONProvider(app)
    flasks.sort_keys = False
    assert json.loads(response.data) == json.loads(flasks.dumps(response.get_json()))
    assert response.data.endswith(b"}\n") and response.mimetype == "application/json"
    # What orjson writes otherwise goes through Flask's default: dates as HTTP dates.
    with app.app_context():
        value = {"when": datetime.date(2024, 5, 1), "name": "Türkmenistan", "n": (1, 2.5)}
        ours = app.json.dumps(value)
        assert json.loads(ours) == json.loads(flasks.dumps(value))
        assert '"Türkmenistan"' in ours  # UTF-8, not escaped
        assert json.loads(app.json.dumps(value, indent=2)) == json.loads(ours)
        # What orjson cannot write (past 64 bits) is written by Flask's encoder.
        assert json.loads(app.json.dumps({"page": 10**30})) == {"page": 10**30}
        assert app.json.response({"page": 10**30}).get_json() == {"page": 10**30}
