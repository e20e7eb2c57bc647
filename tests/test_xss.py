"""Hostile documents and queries: nothing from a document or a request runs in a browser.

A corpus whose ids, titles, bodies, facet values and URLs carry script tags, event
handlers, javascript: URLs, broken and nested tags and HTML entities, in all three formats.
Every page (search, document, errors) and every JSON snippet is parsed (tests/markup.py):
the only markup that may come from content is <mark>, and no link runs script.
tests/test_web.py covers the first hostile fixture; this file widens the attack.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from markup import Markup, fragment_problems

from searchsvc.web import create_app

VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '"><script>alert(2)</script>',
    "'><img src=x onerror=alert(3)>",
    '<a href="javascript:alert(4)">click</a>',
    "<scr<script>ipt>alert(5)</scr</script>ipt>",
    "<<script>>alert(6)<</script>>",
    "<script",
    "<div><p><b><i>nested</b></i></p>",
    "</textarea></title><script>alert(7)</script>",
    "<iframe src=javascript:alert(8)>",
    "<body onload=alert(9)>",
    "<!-- comment --><![CDATA[ x ]]>",
    "&lt;script&gt;alert(10)&lt;/script&gt;",
    "&#x3C;script&#x3E;alert(11)&#x3C;/script&#x3E;",
    "&#60;img src=x onerror=alert(12)&#62;",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(13)>",
]
BAD_URLS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\tjava\nscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "/relative/path",
    "http:alert(1)",
]
# Valid links that must survive, escaped, as the one link to the original.
GOOD_URLS = [
    'https://example.org/a?x=1&y="><script>alert(1)</script>',
    "http://example.org/<img src=x onerror=alert(1)>",
]
MARKDOWN = """---
title: "Zanzibar {vector}"
date: 2024-03-0{n}
source: "{vector}"
place: "{vector}"
tags: "{vector}"
source_url: "{url}"
---

Zanzibar {vector} qwerty

<div onclick="alert(1)">Zanzibar raw HTML block</div>

[a markdown link](javascript:alert(1)) and ![an image](x" onerror="alert(1))
"""
SEED = " date 2024-04-01 Zanzibar {vector}\n\nASHGABAT, 1 April 2024. Zanzibar {vector} qwerty.\n"


def _jsonl_record(n: int, vector: str, url: str) -> str:
    return json.dumps(
        {
            "id": f"rec-{n}" if n % 3 else f"rec-{n}-{vector}",
            "title": f"Zanzibar {vector}",
            "body": f"Zanzibar {vector} qwerty {vector}\n\nSecond paragraph {vector}",
            "date": "2024-05-01",
            "source": vector,
            "place": vector,
            "category": vector,
            "url": url,
        }
    )


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory):
    """(client, doc ids): an app over every vector in every field of every format."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("xss")
    docs = root / "docs"
    docs.mkdir()
    urls = BAD_URLS + GOOD_URLS
    records = [_jsonl_record(n, v, urls[n % len(urls)]) for n, v in enumerate(VECTORS)]
    (docs / "records.jsonl").write_text("\n".join(records), encoding="utf-8")
    for n, url in enumerate(urls[:9]):
        escaped = url.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        vector = VECTORS[n].replace('"', '\\"')
        text = MARKDOWN.format(vector=vector, url=escaped.replace("\n", "\\n"), n=n + 1)
        (docs / f"md-{n}.md").write_text(text, encoding="utf-8")
    for n, vector in enumerate(VECTORS[:5]):
        (docs / f"seed-{n}.txt").write_text(SEED.format(vector=vector), encoding="utf-8")
    report = index_paths(root / "index", [docs], procs=1)
    assert not report.skipped, report.skipped
    client = create_app({"TESTING": True, "INDEX_DIR": str(root / "index")}).test_client()
    ids = [hit["id"] for hit in _all_hits(client)]
    assert len(ids) == report.total == len(VECTORS) + 9 + 5
    return client, ids


def _all_hits(client) -> list[dict]:
    body = client.get("/api/search?size=100").get_json()
    return body["results"]


def _page(client, url: str, statuses=(200,)) -> Markup:
    response = client.get(url)
    assert response.status_code in statuses, (url, response.status_code)
    assert response.content_type.startswith("text/html")
    _assert_headers(response)
    html = response.get_data(as_text=True)
    for raw in ("<script", "<img", "<svg", "<iframe", "<body onload", "<math"):
        # The one <svg> allowed is our timeline chart, written by templates/_timeline.html.
        ours = html.count('<svg class="chart') if raw == "<svg" else 0
        assert html.lower().count(raw) == ours, (url, raw)
    page = Markup(html)
    assert page.problems() == [], url
    return page


def _assert_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src" not in csp.replace("default-src", "")
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


HOSTILE_QUERIES = [
    "zanzibar",
    "qwerty",
    "script alert",
    "img onerror",
    "<script>alert(1)</script>",
    '"<img src=x onerror=alert(1)>"',
    "zanzibar <svg/onload=alert(1)>",
    "javascript:alert(1)",
    "onerror=alert(1)",
    "&lt;script&gt;",
    "&#x3C;script&#x3E;",
    'zanzibar" onmouseover="alert(1)',
    "title:(script OR img)",
    "lt gt",
    "x3c",
]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_search_page_with_hostile_query_and_documents(hostile_corpus, q):
    client, _ = hostile_corpus
    page = _page(client, "/?" + urlencode({"q": q}), statuses=(200, 400))
    (box,) = [a for t, a, _ in page.tags if t == "input" and a.get("id") == "q"]
    assert box["value"] == q  # the query comes back as the box's value, as typed


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_json_snippets_hold_only_marks(hostile_corpus, q):
    client, _ = hostile_corpus
    response = client.get("/api/search?" + urlencode({"q": q, "size": 100}))
    _assert_headers(response)
    assert response.content_type == "application/json"
    body = response.get_json()
    if not body["ok"]:
        assert response.status_code == body["status"] == 400
        return
    for hit in body["results"]:
        assert fragment_problems(hit["snippet"]) == [], hit["snippet"]


def test_markup_in_documents_shows_as_text(hostile_corpus):
    client, _ = hostile_corpus
    page = _page(client, "/?q=zanzibar&size=100")
    # Escaped, not stripped: a reader sees exactly what the release says.
    assert "<script>alert(1)</script>" in page.text
    assert "&lt;script&gt;alert(10)&lt;/script&gt;" in page.text
    assert "&#x3C;script&#x3E;alert(11)" in page.text
    response = client.get("/api/search?q=qwerty&size=100")
    snippets = " ".join(h["snippet"] for h in response.get_json()["results"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippets
    assert "&amp;lt;script&amp;gt;" in snippets  # an entity in a release stays an entity


def test_marks_inside_escaped_markup(hostile_corpus):
    client, _ = hostile_corpus
    body = client.get("/api/search?q=script&size=100").get_json()
    assert body["total"] > 0
    snippets = [h["snippet"] for h in body["results"]]
    assert any("&lt;<mark>script</mark>&gt;" in s for s in snippets)
    assert all(fragment_problems(s) == [] for s in snippets)


@pytest.mark.parametrize("q", ["", "zanzibar", "script", "onerror alert", "lt"])
def test_every_document_page_is_inert(hostile_corpus, q):
    client, ids = hostile_corpus
    for doc_id in ids:
        page = _page(client, f"/doc/{quote(doc_id)}?" + urlencode({"q": q}))
        assert "Zanzibar" in page.text


def test_facet_and_filter_values_are_inert(hostile_corpus):
    client, _ = hostile_corpus
    for vector in VECTORS[:6]:
        for name in ("source", "place", "category"):
            page = _page(client, "/?" + urlencode({"q": "zanzibar", name: vector}))
            assert vector in page.text  # the chip shows the value as text


def test_javascript_urls_are_never_links(hostile_corpus):
    client, ids = hostile_corpus
    originals = {}
    for doc_id in ids:
        page = _page(client, f"/doc/{quote(doc_id)}")
        external = [u for u in page.links() if u.startswith(("http:", "https:"))]
        originals[doc_id] = external
    shown = {url for links in originals.values() for url in links}
    assert shown == set(GOOD_URLS)  # both good URLs, exactly as written; no bad one


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/doc/%3Cscript%3Ealert(1)%3C/script%3E", 404),
        ("get", "/%3Cscript%3Ealert(1)%3C/script%3E", 404),
        ("get", "/doc/x%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E", 404),
        ("post", "/?q=%3Cscript%3E", 405),
        ("get", "/?q=%3Cscript%3E&from=%3Cimg%20src=x%20onerror=alert(1)%3E", 400),
        ("get", "/?q=%3Cscript%3E&page=%3Csvg/onload=alert(1)%3E", 400),
        ("get", "/?q=%3Cscript%3E&sort=%3Cscript%3E", 400),
        ("get", "/?q=title:(%3Cscript%3E&strict=true", 400),
    ],
)
def test_error_pages_are_inert(hostile_corpus, method, url, status):
    client, _ = hostile_corpus
    response = getattr(client, method)(url)
    assert response.status_code == status
    _assert_headers(response)
    html = response.get_data(as_text=True)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert Markup(html).problems() == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/search?q=%3Cscript%3E",
        "/api/search?from=%3Cscript%3E",
        "/api/documents/%3Cscript%3Ealert(1)%3C/script%3E",
        "/api/%3Cscript%3E",
        "/api/health",
        "/api/openapi.json",
    ],
)
def test_api_answers_are_json_with_nosniff(hostile_corpus, url):
    client, _ = hostile_corpus
    response = client.get(url)
    assert response.content_type == "application/json"
    _assert_headers(response)


def test_headers_when_there_is_no_index(tmp_path):
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    for url in ("/", "/api/search", "/doc/x"):
        response = client.get(url)
        assert response.status_code == 503
        _assert_headers(response)
