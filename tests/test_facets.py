"""Facets: multi-valued values, any-of and exclusion filters, (none), on an index on disk.

Six Markdown releases whose tags and places are chosen so that every rule shows:

    id   tags (category)          place
    a    [energy, pipelines]      Ghana
    b    energy                   Nigeria
    c    "pipelines, gas"         USA
    d    -                        Ghana
    e    [energy]                 -
    f    categories: [gas]        Nigeria
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from searchsvc.cli import main
from searchsvc.searching import Engine, SearchError, SearchRequest
from searchsvc.searching.facets import FacetColumn, FacetFilter
from searchsvc.web import create_app

RELEASES = {
    "a": "tags: [energy, pipelines]\nplace: Ghana",
    "b": "tags: energy\nplace: Nigeria",
    "c": 'tags: "pipelines, gas"\nplace: USA',
    "d": "place: Ghana",
    "e": "tags:\n- energy",
    "f": "categories: [gas]\nplace: Nigeria",
}
DATES = {"a": "2023-01-05", "b": "2023-02-05", "c": "2023-03-05"}


@pytest.fixture(scope="module")
def facet_index(tmp_path_factory):
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("facets")
    (root / "docs").mkdir()
    for key, meta in RELEASES.items():
        date = DATES.get(key, "2024-06-01")
        text = f"---\ntitle: Release {key}\ndate: {date}\n{meta}\n---\n\nA report numbered {key}.\n"
        (root / "docs" / f"{key}.md").write_text(text, encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == 6 and not report.skipped
    return root / "index"


@pytest.fixture(scope="module")
def engine(facet_index):
    with Engine(facet_index) as engine:
        yield engine


@pytest.fixture
def client(facet_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(facet_index)}).test_client()


def ids(result) -> list[str]:
    return sorted(h.id for h in result.hits)


def counts(result, name: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[name]}


# -- the arrays ---------------------------------------------------------------------------


def test_a_multi_valued_column_counts_a_document_once_under_each_value():
    column = FacetColumn.multi([["energy", "pipelines"], ["energy"], [], ["gas"]])
    assert column.labels == ["", "energy", "gas", "pipelines"]
    assert column.docs.tolist() == [0, 0, 1, 2, 3]
    match = np.array([True, True, True, False])
    assert dict(zip(column.labels, column.count(match).tolist(), strict=True)) == {
        "": 1,
        "energy": 2,
        "gas": 0,
        "pipelines": 1,
    }
    assert column.having(["PIPELINES", "gas"], 4).tolist() == [True, False, False, True]
    assert column.having(["(none)"], 4).tolist() == [False, False, True, False]
    assert column.having(["unknown"], 4).tolist() == [False] * 4


@pytest.mark.parametrize("size", [1, 63, 64, 65, 1000, 3001])
def test_counts_from_bitsets_and_pairs_are_exact(size, monkeypatch):
    """Frequent values are counted from bitsets, rare ones from their pairs: both exact,
    whatever the match, with numpy's popcount and with the byte table."""
    rng = np.random.default_rng(size)
    vocabulary = [f"v{i}" for i in range(300)]
    weights = 1 / np.arange(1, 301)  # a few frequent values, a long tail of rare ones
    weights /= weights.sum()
    multi = [list(rng.choice(vocabulary, rng.integers(0, 4), p=weights)) for _ in range(size)]
    single = [str(rng.choice(vocabulary, p=weights)) for _ in range(size)]
    columns = [FacetColumn.multi(multi), FacetColumn.single(single)]
    assert any(len(c.frequent) and len(c.rare_docs) for c in columns) or size <= 64
    for share in (0.0, 0.01, 0.5, 0.97, 1.0):
        match = rng.random(size) < share
        for column in columns:
            expected = np.zeros(len(column.labels), dtype=np.int64)
            for doc, code in zip(column.docs.tolist(), column.codes.tolist(), strict=True):
                expected[code] += bool(match[doc])
            assert column.count(match).tolist() == expected.tolist()
            with monkeypatch.context() as m:
                m.delattr(np, "bitwise_count", raising=False)
                assert column.count(match).tolist() == expected.tolist()
            ranked = column.ranked(match)
            assert [n for _, n in ranked] == sorted(
                (n for n in expected.tolist() if n), reverse=True
            )
            assert sorted(ranked, key=lambda vn: (-vn[1], vn[0])) == ranked


# -- the engine ---------------------------------------------------------------------------

FILTERS = [
    ({}, "abcdef"),
    ({"category": ("energy",)}, "abe"),
    ({"category": ("energy", "gas")}, "abcef"),  # any of them
    ({"category": ("Pipelines",)}, "ac"),  # case does not matter
    ({"place": ("-usa",)}, "abdef"),
    ({"place": ("ghana", "nigeria", "-usa")}, "abdf"),
    ({"category": ("energy", "-pipelines")}, "be"),  # excluding within the facet
    ({"place": ("(none)",)}, "e"),
    ({"category": ("-(none)",)}, "abcef"),
    ({"category": ("(none)", "gas")}, "cdf"),
    ({"place": ("Ghana",), "category": ("energy",)}, "a"),  # facets AND each other
    ({"place": ("nowhere",)}, ""),
    ({"place": ("-nowhere",)}, "abcdef"),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS)
def test_filters(engine, filters, expected):
    result = engine.search(SearchRequest(q="report", size=20, **filters))
    assert ids(result) == list(expected)
    assert result.total == len(expected)


def test_multi_valued_counts_and_none(engine):
    result = engine.search(SearchRequest(q="report"))
    assert counts(result, "category") == {"energy": 3, "pipelines": 2, "gas": 2, "(none)": 1}
    assert counts(result, "place") == {"Ghana": 2, "Nigeria": 2, "USA": 1, "(none)": 1}
    assert [f.value for f in result.facets["category"]][:1] == ["energy"]  # most first


def test_a_facets_own_choice_does_not_hide_its_other_values(engine):
    result = engine.search(SearchRequest(q="report", place=("ghana",)))
    assert ids(result) == ["a", "d"]
    # The places still count as if not chosen, so a second one can be added...
    assert counts(result, "place") == {"Ghana": 2, "Nigeria": 2, "USA": 1, "(none)": 1}
    # ...while the other facets count the results.
    assert counts(result, "category") == {"energy": 1, "pipelines": 1, "(none)": 1}


def test_exclusions_narrow_a_facets_own_counts(engine):
    result = engine.search(SearchRequest(q="report", place=("ghana", "-usa")))
    assert counts(result, "place") == {"Ghana": 2, "Nigeria": 2, "(none)": 1}


def test_the_timeline_narrows_and_has_no_none(engine):
    result = engine.search(SearchRequest(q="report", year=("2023",)))
    assert counts(result, "year") == {"2023": 3}
    assert counts(engine.search(SearchRequest(q="report")), "year") == {"2023": 3, "2024": 3}
    either = engine.search(SearchRequest(q="report", year=("2023", "2024"), size=20))
    assert either.total == 6


def test_hits_list_every_category(engine):
    hits = {h.id: h for h in engine.search(SearchRequest(q="report", size=10)).hits}
    assert hits["a"].category == ("energy", "pipelines")
    assert hits["c"].category == ("pipelines", "gas")  # a comma-separated string
    assert hits["f"].category == ("gas",)  # `categories:`
    assert hits["d"].category == ()
    assert engine.document("a").category == ("energy", "pipelines")


def test_categories_are_searchable_word_by_word(engine):
    assert ids(engine.search(SearchRequest(q="category:pipelines"))) == ["a", "c"]


def test_facet_values_filter_by_text(engine):
    found = engine.facet_values(SearchRequest(q="report"), "place", contains="GER")
    assert [(f.value, f.count) for f in found.values] == [("Nigeria", 2)]
    assert found.total == 1
    every = engine.facet_values(SearchRequest(q="report", place=("usa",)), "place", limit=2)
    assert [f.value for f in every.values] == ["Ghana", "Nigeria"] and every.total == 4
    with pytest.raises(SearchError, match="no facet"):
        engine.facet_values(SearchRequest(), "colour")


def test_the_request_reads_values_and_exclusions():
    req = SearchRequest(place=("ghana", "- usa"), year="2023")
    assert req.filters() == {
        "place": FacetFilter(("ghana",), ("usa",)),
        "year": FacetFilter(("2023",), ()),
    }


# -- the edges: API, CLI, feed, export ------------------------------------------------------


def api(client, url: str) -> dict:
    """The answer's body, checked against the OpenAPI document (as tests/test_api.py does)."""
    from test_api import check_schema

    return check_schema(client.get(url), url.split("?", 1)[0])


def test_api_multi_select_and_exclusion(client):
    body = api(client, "/api/search?q=report&place=ghana&place=nigeria&place=-usa")
    assert sorted(h["id"] for h in body["results"]) == ["a", "b", "d", "f"]
    assert body["query"]["place"] == ["ghana", "nigeria", "-usa"]
    assert {f["value"]: f["count"] for f in body["facets"]["place"]}["(none)"] == 1
    assert body["next_url"] is None


def test_api_none_and_tags(client):
    body = api(client, "/api/search?q=report&place=(none)")
    assert [(h["id"], h["category"]) for h in body["results"]] == [("e", ["energy"])]
    body = api(client, "/api/search?q=report&category=pipelines&size=1")
    assert body["total"] == 2
    assert "category=pipelines" in body["next_url"]
    doc = api(client, "/api/documents/a")["document"]
    assert doc["category"] == ["energy", "pipelines"]


def test_api_too_many_values_is_a_400(client):
    response = client.get("/api/search?" + "&".join(f"place=p{n}" for n in range(51)))
    assert response.status_code == 400
    assert "at most 50" in response.get_json()["error"]


def test_cli_takes_an_option_several_times(runner, facet_index):
    args = ["search", "report", "--index-dir", str(facet_index), "--json"]
    args += ["--place", "ghana", "--place", "nigeria", "--place=-usa"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert sorted(h["id"] for h in body["results"]) == ["a", "b", "d", "f"]
    lines = runner.invoke(main, ["search", "report", "--index-dir", str(facet_index)])
    assert "energy, pipelines" in lines.output


def test_export_takes_the_same_filters(client, runner, facet_index):
    response = client.get("/api/export?q=report&format=jsonl&category=energy&category=-pipelines")
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert sorted(r["id"] for r in rows) == ["b", "e"]
    csv = client.get("/api/export?q=report&place=ghana&fields=id,category").get_data(as_text=True)
    assert "a,energy; pipelines" in csv.replace('"', "")
    out = runner.invoke(
        main,
        ["export", "report", "--index-dir", str(facet_index), "--format", "jsonl"]
        + ["--place", "(none)"],
    )
    assert out.exit_code == 0, out.output
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == ["e"]


def test_feed_takes_the_same_filters(client):
    import feedparser

    response = client.get("/search.atom?q=report&place=ghana&place=-usa&category=energy")
    feed = feedparser.parse(response.get_data())
    assert [e.title for e in feed.entries] == ["Release a"]
    assert [t.term for t in feed.entries[0].tags] == ["energy", "pipelines"]
    assert "place ghana, place not usa" in feed.feed.title


def test_api_facet_values(client):
    body = api(client, "/api/facets/place?q=report&contains=GH")
    assert body == {
        "ok": True,
        "facet": "place",
        "contains": "GH",
        "limit": 100,
        "total": 1,
        "values": [{"value": "Ghana", "count": 2}],
    }
    # Counted as in the search's facets: the chosen places do not narrow the places.
    body = api(client, "/api/facets/place?q=report&place=usa&limit=1")
    assert (body["total"], len(body["values"])) == (4, 1)
    body = api(client, "/api/facets/category?q=report&place=ghana")
    assert {v["value"]: v["count"] for v in body["values"]} == {
        "energy": 1,
        "pipelines": 1,
        "(none)": 1,
    }


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/api/facets/colour", 404, "no facet 'colour'"),
        ("/api/facets/place?limit=0", 400, "limit must be"),
        ("/api/facets/place?limit=x", 400, "limit must be"),
        ("/api/facets/place?contains=" + "x" * 201, 400, "the limit is 200"),
        ("/api/facets/place?from=never", 400, "never"),
    ],
)
def test_api_facet_values_errors(client, url, status, says):
    from test_api import check_schema

    response = client.get(url)
    assert response.status_code == status
    body = check_schema(response, url.split("?", 1)[0])
    assert body["ok"] is False and says in body["error"]


def test_an_index_with_other_fields_is_searched_but_not_updated(facet_index, tmp_path, monkeypatch):
    import shutil

    from whoosh.fields import STORED

    from searchsvc import schema
    from searchsvc.indexing import IndexDamagedError, index_paths

    copy = tmp_path / "index"
    shutil.copytree(facet_index, copy, symlinks=True)
    declared = schema.build_schema

    def with_a_new_facet():
        fields = declared()
        fields.add("region", STORED())
        return fields

    monkeypatch.setattr(schema, "build_schema", with_a_new_facet)
    with pytest.raises(IndexDamagedError, match=r"new field region.*--rebuild"):
        index_paths(copy, [tmp_path], procs=1)
    with Engine(copy) as engine:  # searching it still works
        assert engine.search(SearchRequest(q="report")).total == 6


def test_every_value_listed_can_be_chosen_and_excluded(tmp_path, monkeypatch):
    # Values as files give them (runs of spaces, a tab, a trailing space, a paragraph for a
    # source) are listed as a request names them: clicking one finds its release.
    from searchsvc.indexing import index_paths

    long_source = "Office of the Press Secretary " * 10
    odd = {
        "s1": '"Foo  Bar"',
        "s2": '"Tab\\tSource"',
        "s3": '"trailing "',
        "s4": f'"{long_source}"',
    }
    (tmp_path / "docs").mkdir()
    for key, source in odd.items():
        text = (
            f"---\ntitle: Release {key}\ndate: 2024-01-0{key[1]}\nsource: {source}\n"
            f"place: '  Ash   gabat '\ntags: ['a  b', '{'x' * 250}']\n---\n\nText {key}.\n"
        )
        (tmp_path / "docs" / f"{key}.md").write_text(text, encoding="utf-8")
    index_paths(tmp_path / "index", [tmp_path / "docs"], procs=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client()
    listed = client.get("/api/search?size=1").get_json()["facets"]
    sources = {f["value"]: f["count"] for f in listed["source"]}
    assert set(sources) == {"Foo Bar", "Tab Source", "trailing", long_source.strip()[:200].strip()}
    assert {f["value"] for f in listed["place"]} == {"Ash gabat"}
    assert {f["value"] for f in listed["category"]} == {"a b", "x" * 200}
    for name in ("source", "place", "category"):
        for value in (f["value"] for f in listed[name]):
            chosen = client.get("/api/search", query_string={name: value})
            assert chosen.status_code == 200 and chosen.get_json()["total"] >= 1, (name, value)
            left = client.get("/api/search", query_string={name: "-" + value})
            assert left.status_code == 200, (name, value)
