"""Limits: every request gets a clear 4xx or a bounded answer, and never ties up a worker.

Query length, page and size, deep paging, wildcard and fuzzy expansion, the number of facet
values and the ranking time budget, over a temporary index of 300 releases with 900 words
that share the prefix "zq", 60 sources, 55 categories and 70 places.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from markup import Markup

from searchsvc.searching import MAX_DEPTH, SearchRequest
from searchsvc.searching import request as request_module
from searchsvc.searching.query import (
    MAX_EDITS,
    MAX_EXPANSIONS,
    MAX_FUZZY,
    MAX_FUZZY_LENGTH,
    MAX_QUERY_LENGTH,
)
from searchsvc.searching.request import MAX_SIZE
from searchsvc.searching.search import MAX_FACET_VALUES
from searchsvc.web import create_app
from searchsvc.web.pages import TOP_VALUES

N = 300


def _record(n: int) -> str:
    words = " ".join(f"zq{n + k * N:04d}" for k in range(3))
    return json.dumps(
        {
            "id": f"r{n:03d}",
            "title": f"Release {n} on energy",
            "body": f"{words} common energy cooperation partnership release number {n}",
            "date": f"20{10 + n % 15}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "source": f"Agency {n % 60:02d}",
            "category": f"cat-{n % 55}",
            "place": f"Place {n % 70}",
        }
    )


@pytest.fixture(scope="module")
def limits_index(tmp_path_factory):
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("limits")
    (root / "docs").mkdir()
    (root / "docs" / "releases.jsonl").write_text("\n".join(map(_record, range(N))), "utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == N
    return root / "index"


@pytest.fixture(scope="module")
def client(limits_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(limits_index)}).test_client()


@pytest.fixture(scope="module")
def engine(limits_index):
    from searchsvc.searching import Engine

    with Engine(limits_index) as engine:
        yield engine


def get(client, expect: int, **params) -> dict:
    """GET /api/search and the page with params; both answer `expect`, within seconds."""
    started = time.perf_counter()
    params.setdefault("strict", "true")  # the limits refuse; unstrict reads plain words
    response = client.get("/api/search?" + urlencode(params))
    body = response.get_json()
    assert response.status_code == expect, body
    page = client.get("/?" + urlencode(params))
    assert page.status_code == expect
    assert Markup(page.get_data(as_text=True)).problems() == []
    assert time.perf_counter() - started < 3.0  # milliseconds, unless the machine is loaded
    if expect >= 400:
        assert body == {"ok": False, "error": body["error"], "status": expect}
    return body


# -- query length --------------------------------------------------------------------------------


def test_query_of_the_longest_length_runs(client):
    words = ("energy partnership cooperation " * 100)[:MAX_QUERY_LENGTH]
    assert get(client, 200, q=words)["total"] == N


@pytest.mark.parametrize("length", [MAX_QUERY_LENGTH + 1, 10_000, 100_000])
def test_longer_query_is_refused(client, length):
    body = get(client, 400, q="x" * length)
    assert f"{length:,} characters long; the limit is {MAX_QUERY_LENGTH:,}" in body["error"]


def test_a_longer_query_is_cut_with_a_notice_unless_strict(client):
    # As the command line reads it (forgive.py): the forgiving box, not a 400.
    body = get(client, 200, q="energy " * 400, strict="false")
    assert body["total"] == N and "only the first 2,000 characters were read" in body["notice"]
    assert len(body["notice"]) < 300  # the query it searched is shown cut short
    export = client.get("/api/export?" + urlencode({"q": "energy " * 400}))
    try:  # a streamed answer: read and closed, or its context outlives the test
        assert export.status_code == 200 and export.get_data().count(b"\n") > N
    finally:
        export.close()


# -- page, size and depth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"size": 0}, "size must be between 1 and 100"),
        ({"size": MAX_SIZE + 1}, "size must be between 1 and 100"),
        ({"size": -5}, "size must be between"),
        ({"size": 10**30}, "size must be between"),
        ({"size": "9" * 5000}, "size must be between 1 and 100"),
        ({"size": " 5"}, "size must be a whole number"),
        ({"page": 0}, "page must be 1 or more"),
        ({"page": -1}, "page must be 1 or more"),
        ({"page": "1.5"}, "page must be a whole number"),
    ],
)
def test_paging_out_of_range_is_400(client, params, words):
    assert words in get(client, 400, q="energy", **params)["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": 10**30},
        {"page": MAX_DEPTH // 10 + 1, "size": 10},
        {"page": MAX_DEPTH // MAX_SIZE + 1, "size": MAX_SIZE},
    ],
)
def test_pages_past_the_depth_limit_answer_empty(client, params):
    # N results end long before the depth limit: the page says where they end (its "There
    # is no page"), and the notice says nothing of a limit the results never reach.
    body = get(client, 200, q="energy", **params)
    assert body["total"] == N and body["results"] == [] and body["next_url"] is None
    assert body["notice"] is None


def test_a_page_past_the_depth_limit_of_more_results_says_to_narrow(client, monkeypatch):
    monkeypatch.setattr(request_module, "MAX_DEPTH", N // 2)
    body = get(client, 200, q="energy", page=N // 20 + 1, size=10)
    assert "Only the first 150 results can be paged through" in body["notice"]
    assert "narrow the search" in body["notice"]


def test_deepest_allowed_page_is_empty_but_answers(client):
    body = get(client, 200, q="energy", page=MAX_DEPTH // MAX_SIZE, size=MAX_SIZE)
    assert body["total"] == N and body["results"] == [] and body["next_url"] is None


def test_last_page_has_no_next(client):
    body = get(client, 200, q="energy", page=N // 10, size=10)
    assert len(body["results"]) == 10 and body["next_url"] is None
    assert get(client, 200, q="energy", page=N // 10 - 1, size=10)["next_url"]


def test_pager_never_links_past_the_depth_limit(engine):
    # With 300 matches and size 1 the pager could go to page 300: it stops at MAX_DEPTH.
    result = engine.search(SearchRequest(q="energy", size=1, page=N))
    assert result.pages == N and not result.has_next
    deep = engine.search(SearchRequest(q="energy", size=100, page=MAX_DEPTH // 100 + 1))
    assert deep.hits == [] and deep.notice is None


# -- expansion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["a*", "*", "?", "*zq", "z*", "title:*", "a?c", "zq OR *"])
def test_wildcards_need_two_letters(client, q):
    assert "at least 2 letters before a wildcard" in get(client, 400, q=q)["error"]


@pytest.mark.parametrize("q", ["zq*", "(energy OR zq*)", "energy AND zq*", "zq??*", "energy zq*"])
def test_prefix_of_too_many_words_is_refused(client, q):
    error = get(client, 400, q=q)["error"]
    assert f"stands for more than {MAX_EXPANSIONS} words; add letters to narrow it" in error


@pytest.mark.parametrize(
    ("q", "total"),
    [("zq01*", 100), ("zq000?", 10), ("zq0?00", 3), ("zq0001~", 22), ("zq000~/3", 21)],
)
def test_narrower_expansions_answer(client, q, total):
    # zq01* is zq0100..zq0199: 100 words in 100 releases (release n has zq<n>, zq<n+300>,
    # zq<n+600>). zq0001~ is 28 words one edit away, first letter kept (27, and zq0010: a
    # swap of two letters is one edit), in 22 releases.
    body = get(client, 200, q=q, size=100)
    assert body["total"] == total and len(body["results"]) <= 100


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("zq0001~3", f"at most {MAX_EDITS} edits"),
        ("zq0001~9/1", f"at most {MAX_EDITS} edits"),
        (" ".join(f"zq{i:04d}~" for i in range(MAX_FUZZY + 1)), f"the limit is {MAX_FUZZY}"),
        ("z" * (MAX_FUZZY_LENGTH + 1) + "~", f"at most {MAX_FUZZY_LENGTH} letters"),
        ("NOT NOT energy", "one NOT is enough"),
    ],
)
def test_fuzzy_limits(client, q, words):
    assert words in get(client, 400, q=q)["error"]


# -- facets --------------------------------------------------------------------------------------


def test_facet_lists_are_capped(client):
    facets = get(client, 200, q="energy")["facets"]
    assert len(facets["source"]) == len(facets["category"]) == MAX_FACET_VALUES
    assert len(facets["place"]) == MAX_FACET_VALUES
    assert [f["count"] for f in facets["source"]] == sorted(
        (f["count"] for f in facets["source"]), reverse=True
    )
    # The page shows each facet's top values, and "Show more" asks for more of one.
    page = Markup(client.get("/?q=energy").get_data(as_text=True))
    links = [a for t, a, _ in page.tags if t == "a" and "facet" in a.get("class", "").split()]
    # (the generated releases also name a few countries and people: those panels are short)
    links = [
        a for a in links if any(f"&{n}=" in a["href"] for n in ("source", "category", "place"))
    ]
    assert len(links) == 3 * TOP_VALUES
    more = Markup(client.get("/?q=energy&more=place").get_data(as_text=True))
    links = [a for t, a, _ in more.tags if t == "a" and "facet" in a.get("class", "").split()]
    links = [
        a for a in links if any(f"&{n}=" in a["href"] for n in ("source", "category", "place"))
    ]
    assert len(links) == 2 * TOP_VALUES + 70  # every one of the 70 places


def test_a_value_beyond_the_cap_still_filters(client):
    shown = {f["value"] for f in get(client, 200, q="energy")["facets"]["place"]}
    hidden = next(f"Place {n}" for n in range(70) if f"Place {n}" not in shown)
    assert get(client, 200, q="energy", place=hidden)["total"] >= 4
