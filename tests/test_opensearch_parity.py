"""The OpenSearch backend answers as the embedded engine does: chosen facet values, and the
parity defects found by asking both backends the same requests over White House releases.

Each test asks both backends (test_opensearch.py's osmem-server, or the cluster at
SEARCHSVC_TEST_OPENSEARCH_URL) over the same small corpus written here.
"""

from __future__ import annotations

import pytest

from searchsvc.searching import Engine, SearchRequest

pytest.importorskip("opensearchpy", reason="opensearch-py is missing (pip install '.[test]')")
from test_opensearch import _alias, cluster  # noqa: E402, F401 (a fixture, used by name)

from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions  # noqa: E402


def _release(title: str, date: str, source: str, place: str, body: str) -> str:
    head = f"title: {title}\ndate: {date}\nsource: {source}\nplace: {place}"
    return f"---\n{head}\n---\n\n{body}\n"


RELEASES = {
    "abidjan": _release(
        "Cocoa talks in Abidjan",
        "2024-03-04",
        "Agência Brasil",
        "São Paulo",
        "Ministers of Côte d’Ivoire and Brazil met on cocoa prices and shipping.",
    ),
    "london": _release(
        "Trade envoy visits London",
        "2024-03-05",
        "Agência Brasil",
        "Brasília",
        "The envoy met officials of the United Kingdom on trade in coffee.",
    ),
    "ankara": _release(
        "Grain corridor meeting",
        "2024-04-10",
        "Reuters",
        "Ankara",
        "Officials of Türkiye and Ukraine discussed the grain corridor and shipping.",
    ),
}


@pytest.fixture(scope="module")
def both(cluster, tmp_path_factory):  # noqa: F811 (the fixture imported above)
    """{"whoosh": Engine, "opensearch": OpenSearchBackend} over RELEASES."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("parity")
    docs = root / "docs"
    docs.mkdir()
    for name, text in RELEASES.items():
        (docs / f"{name}.md").write_text(text, encoding="utf-8")
    index_paths(root / "index", [docs], procs=1)
    theirs = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("parity")))
    report = theirs.index([docs])
    assert (report.added, report.skipped) == (len(RELEASES), [])
    with Engine(root / "index") as ours:
        yield {"whoosh": ours, "opensearch": theirs}
    theirs.close()


def _facets(result) -> dict:
    return {name: [(f.value, f.count) for f in values] for name, values in result.facets.items()}


def _same(both, request: SearchRequest):
    ours, theirs = (both[k].search(request) for k in ("whoosh", "opensearch"))
    assert (theirs.total, theirs.stories) == (ours.total, ours.stories), request
    assert sorted(h.id for h in theirs.hits) == sorted(h.id for h in ours.hits), request
    assert _facets(theirs) == _facets(ours), request
    assert theirs.notice == ours.notice, request
    return ours


# (request, how many it finds): a chosen value any case, without its accents, with ’ for '
# or by an alias of the recogniser, as on the embedded engine (searching.value_key).
CHOSEN = [
    (SearchRequest(q="", country=("cote d’ivoire",)), 1),
    (SearchRequest(q="", country=("COTE D'IVOIRE",)), 1),
    (SearchRequest(q="", country=("Ivory Coast",)), 1),
    (SearchRequest(q="", country=("UK",)), 1),
    (SearchRequest(q="", country=("turkiye",)), 1),
    (SearchRequest(q="", source=("agencia brasil",)), 2),
    (SearchRequest(q="", source=("-AGENCIA BRASIL",)), 1),
    (SearchRequest(q="shipping", place=("sao paulo", "ankara")), 2),
    (SearchRequest(q="", place=("brasilia",), source=("Agência Brasil",)), 1),
    (SearchRequest(q="", country=("-cote d’ivoire", "-uk")), 1),
]


@pytest.mark.parametrize(("request_", "found"), CHOSEN, ids=[repr(r) for r, _ in CHOSEN])
def test_a_chosen_value_matches_without_case_accents_or_by_alias_on_both(both, request_, found):
    assert _same(both, request_).total == found


@pytest.mark.parametrize(
    ("name", "contains"), [("source", "agencia"), ("place", "SAO"), ("country", "cote d’")]
)
def test_a_facets_values_are_listed_by_a_filter_without_accents_on_both(both, name, contains):
    ours, theirs = (
        both[k].facet_values(SearchRequest(q=""), name, contains=contains)
        for k in ("whoosh", "opensearch")
    )
    assert ours.values and theirs.values == ours.values
    assert theirs.total == ours.total


def test_an_index_of_the_previous_mapping_is_matched_as_written_and_asked_to_rebuild(
    cluster,  # noqa: F811
    tmp_path,
):
    """An index written by a searchsvc of mapping 2 (no folded key): chosen values still
    match as written (any case), `verify` names the problem and the index run says to
    rebuild; after the rebuild they match folded."""
    from searchsvc.opensearch import mapping
    from searchsvc.reading import discover, read_source
    from searchsvc.searching import SearchError

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "abidjan.md").write_text(RELEASES["abidjan"], encoding="utf-8")
    backend = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("mapping2")))
    old = mapping.index_body()
    for facet in mapping.FACET_KEYWORDS:
        old["mappings"]["properties"][facet]["fields"].pop(mapping.KEY, None)  # one dict, shared
    physical = f"{backend.alias}-v2-1"
    backend.client.indices.create(index=physical, body=old)
    backend.client.indices.update_aliases(
        body={"actions": [{"add": {"index": physical, "alias": backend.alias}}]}
    )
    backend.client.indices.put_mapping(index=physical, body={"_meta": {"searchsvc_mapping": 2}})
    sources, _ = discover([docs])
    doc = next(iter(read_source(sources[0])))
    backend.client.index(index=physical, id=doc.id, body=mapping.to_source(doc), refresh=True)
    try:
        assert backend.search(SearchRequest(q="", source=("AGÊNCIA BRASIL",))).total == 1
        assert backend.search(SearchRequest(q="", source=("agencia brasil",))).total == 0
        problems = backend.verify().problems
        assert len(problems) == 1 and "mapping version 2" in problems[0]
        assert "--rebuild" in problems[0]
        with pytest.raises(SearchError, match="--rebuild"):
            backend.index([docs])
        backend.index([docs], rebuild=True)
        assert backend.search(SearchRequest(q="", source=("agencia brasil",))).total == 1
        assert backend.verify().problems == []
    finally:
        backend.client.indices.delete(index=f"{backend.alias}*", ignore_unavailable=True)
        backend.close()


# ("a b"~N, found): each word 1 to N positions after the one before, in order, as the
# embedded engine matches (scoring/phrases.py); the words swapped do not match.
PROXIMITY = [
    ('"cocoa prices"~3', 1),
    ('"prices cocoa"~3', 0),  # swapped: OpenSearch's match_phrase slop took it
    ('"brazil cocoa"~3', 1),  # two words between
    ('"brazil cocoa"~2', 0),
    ('"brazil cocoa shipping"~3', 1),
    ('"brazil met shipping"~3', 0),  # the second gap is too wide, the sum is not
    ('"shipping brazil"~9', 0),
]


@pytest.mark.parametrize(("query", "found"), PROXIMITY)
def test_a_phrase_with_room_matches_in_order_on_both(both, query, found):
    assert _same(both, SearchRequest(q=query)).total == found


def test_the_months_are_listed_without_a_year_chosen_on_both(both):
    """/api/facets/month lists every month (OpenSearch listed none without a year chosen)."""
    ours, theirs = (
        both[k].facet_values(SearchRequest(q=""), "month", contains="2024")
        for k in ("whoosh", "opensearch")
    )
    assert [(v.value, v.count) for v in ours.values] == [("2024-03", 2), ("2024-04", 1)]
    assert theirs.values == ours.values and theirs.total == ours.total == 2


@pytest.fixture(scope="module")
def many_sources(cluster, tmp_path_factory):  # noqa: F811
    """Both backends over 55 releases of 55 sources, more than a facet lists."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("sources")
    docs = root / "docs"
    docs.mkdir()
    names = [f"Source {n:02}" for n in range(54)] + ["Zürich Wire"]
    for n, name in enumerate(names):
        text = _release(f"Harvest report {n}", "2024-05-02", name, "", "The harvest is in.")
        (docs / f"r{n:02}.md").write_text(text, encoding="utf-8")
    index_paths(root / "index", [docs], procs=1)
    theirs = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("sources")))
    theirs.index([docs])
    with Engine(root / "index") as ours:
        yield {"whoosh": ours, "opensearch": theirs}
    theirs.close()


@pytest.mark.parametrize("chosen", [("zurich wire",), ("ZÜRICH WIRE", "source 53")])
def test_a_chosen_value_beyond_the_top_ones_is_listed_on_both(many_sources, chosen):
    """A value chosen outside the top 50 stays in its facet's list, with its count (the
    OpenSearch backend counted only the top 50, so it was left out)."""
    listed = _facets(_same(many_sources, SearchRequest(q="harvest", source=chosen)))["source"]
    assert len(listed) == 50 + len(chosen)
    assert ("Zürich Wire", 1) in listed[50:]


@pytest.fixture(scope="module")
def punctuated(cluster, tmp_path_factory):  # noqa: F811
    """Both backends over releases whose words meet at a colon, comma or soft hyphen."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("punctuated")
    docs = root / "docs"
    docs.mkdir()
    texts = {
        "grid": (
            "FACT SHEET:Biden-\u2060Harris Grid Investment",
            "At 10:30 a.m. the 1,000,000th meter.",
        ),
        "jobs": (
            "'Fact Sheet: Good Jobs'",
            "Jobs;wages and the co\u00adoperative sector: 5 U.S.C. 552, 800\u202fper cent.",
        ),
    }
    for name, (title, body) in texts.items():
        (docs / f"{name}.md").write_text(_release(title, "2024-05-02", "", "", body), "utf-8")
    index_paths(root / "index", [docs], procs=1)
    theirs = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("punctuated")))
    theirs.index([docs])
    with Engine(root / "index") as ours:
        yield {"whoosh": ours, "opensearch": theirs}
    theirs.close()


# The standard tokenizer kept "SHEET:Biden", "10:30", "1,000,000th" and "Jobs;wages" whole
# (and the soft hyphen in "co-operative"): none of their words was found on OpenSearch.
WORDS = [
    ('title:"fact sheet"', 2),
    ("biden", 1),
    ('"sheet biden"', 1),
    ('"10 30"', 1),
    ("000th", 1),
    ("wages", 1),
    ("cooperative", 1),
    ('"U.S.C. 552"~2', 1),  # our terms, sent as they are: "us.c" to the cluster was apart
]


@pytest.mark.parametrize(("query", "found"), WORDS)
def test_words_end_where_the_embedded_engines_end_on_both(punctuated, query, found):
    assert _same(punctuated, SearchRequest(q=query)).total == found


PROBES = [
    "FACT SHEET:Biden-\u2060Harris",
    "1,000,000 jobs",
    "10:30 A.M.",
    "a;b 1;2 x\u00b7y",
    "Biden’s U.S. 1.5%",
    "5 U.S.C. 552, a.b.c.d.e, v2.86.pdf",
    "800\u202fper cent",
    "co\u00adoperative a\u200dbc",
    "Côte d’Ivoire, naïve café, AT&T, e-mail, COVID-19",
]


@pytest.mark.parametrize("text", PROBES)
def test_the_clusters_words_are_ours(punctuated, text):
    """The exact analyser of the index gives the words our parser reads (analysis.WORD_RE)."""
    from searchsvc.analysis import WORD_RE, exact_term

    backend = punctuated["opensearch"]
    body = {"analyzer": "searchsvc_exact", "text": text}
    found = backend.client.indices.analyze(index=backend.alias, body=body)["tokens"]
    assert [t["token"] for t in found] == [exact_term(w) for w in WORD_RE.findall(text)]
