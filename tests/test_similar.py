"""More like this: the library on a small corpus of our own and on the seeds, the API, the
CLI and the document page."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from conftest import SEEDS
from test_api import get

from searchsvc.deadline import Deadline, DeadlineExceededError
from searchsvc.searching import Engine
from searchsvc.searching.similar import (
    MAX_QUERY_TERMS,
    MAX_TOKENS_PARSED,
    identity,
    same_release,
    term_frequencies,
)
from searchsvc.web import create_app

FILLER = (
    "The ministry said the announcement followed talks held this week, and officials "
    "thanked the partners for their cooperation."
)

# id (path without .md) -> (title, date, body[, credit line]). Four releases about
# pipelines, two about solar power, and others about other things; all share the ministry's
# boilerplate.
CORPUS = {
    "pipelines/tapi": (
        "TAPI gas pipeline construction reaches Herat",
        "2024-03-02",
        "Construction of the TAPI gas pipeline reached Herat. The pipeline will carry natural "
        "gas from the Galkynysh field; welders joined pipeline sections and the first "
        "compressor station of the gas pipeline was built.",
    ),
    "pipelines/caspian": (
        "Trans-Caspian gas pipeline talks in Baku",
        "2024-04-11",
        "Engineers discussed the Trans-Caspian gas pipeline: a seabed pipeline to carry gas "
        "across the Caspian, its capacity and the compressor stations at each end of the "
        "pipeline.",
    ),
    "pipelines/oil": (
        "Oil pipeline capacity doubled",
        "2024-05-20",
        "The operator doubled the capacity of the oil pipeline. New pumps and a second "
        "pipeline string let the pipeline carry twice the oil; compressor and pump stations "
        "were renewed.",
    ),
    "pipelines/maintenance": (
        "Pipeline operator schedules compressor maintenance",
        "2024-06-01",
        "The pipeline operator will service every compressor station on the gas pipeline in "
        "June; gas deliveries through the pipeline continue at reduced capacity.",
    ),
    # The TAPI release again under another path: the same release, never "similar" to it.
    "copies/tapi-repost": (
        "TAPI gas pipeline construction reaches Herat",
        "2024-03-02",
        "Construction of the TAPI gas pipeline reached Herat. The pipeline will carry natural "
        "gas from the Galkynysh field; welders joined pipeline sections and the first "
        "compressor station of the gas pipeline was built.",
    ),
    # And as a wire service re-posted it, under its own headline, day and credit line: only
    # the near-duplicate groups (MinHash) know it for the same release.
    "copies/tapi-wire": (
        "Turkmen gas line reaches Afghan city",
        "2024-03-05",
        "Construction of the TAPI gas pipeline reached Herat. The pipeline will carry natural "
        "gas from the Galkynysh field; welders joined pipeline sections and the first "
        "compressor station of the gas pipeline was built.",
        "Reporting by the wire desk.",
    ),
    "solar/schools": (
        "Solar panels for village schools",
        "2024-02-14",
        "Solar panels were fitted on the roofs of forty village schools. The solar power "
        "lights classrooms, and spare solar power feeds the village grid. Zanzibarite "
        "zanzibarite.",
    ),
    "solar/plant": (
        "Solar power plant opens",
        "2024-07-09",
        "A solar power plant of two hundred thousand solar panels opened; its solar power "
        "reaches the grid of twelve villages.",
    ),
    "other/wheat": (
        "Wheat harvest begins",
        "2024-06-20",
        "Farmers began the wheat harvest; combines cut wheat on the plains and the wheat "
        "goes to the mills.",
    ),
    "other/football": (
        "Football cup final",
        "2024-05-30",
        "The football cup final drew a full stadium; the football team of the capital won.",
    ),
    "other/museum": (
        "Carpet museum exhibition",
        "2024-04-02",
        "The carpet museum opened an exhibition of carpets; weavers showed carpet knots.",
    ),
    "other/vaccines": (
        "Vaccination campaign for children",
        "2024-01-15",
        "Clinics began a vaccination campaign; nurses gave vaccines to children in clinics.",
    ),
    "other/railway": (
        "New railway timetable",
        "2024-08-01",
        "The railway published a timetable of trains; railway stations show the trains.",
    ),
}
PIPELINES = {i for i in CORPUS if i.startswith("pipelines/")}


def _markdown(title: str, date: str, body: str, credit: str = "") -> str:
    return f'---\ntitle: "{title}"\ndate: {date}\n---\n\n{body} {FILLER}\n\n{FILLER} {credit}\n'


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory) -> Path:
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("similar")
    for doc_id, fields in CORPUS.items():
        path = root / "docs" / f"{doc_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_markdown(*fields), encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == len(CORPUS) and not report.skipped
    return root / "index"


@pytest.fixture(scope="module")
def engine(corpus_index):
    with Engine(corpus_index) as engine:
        yield engine


def release(doc_id: str) -> str:
    """The release an id stands for: a copy stands for its original."""
    return "pipelines/tapi" if doc_id.startswith("copies/") else doc_id


# -- the library ---------------------------------------------------------------------------

LIKE = [
    # document, the releases that must come first (in any order among themselves)
    ("pipelines/tapi", PIPELINES - {"pipelines/tapi"}),
    ("pipelines/caspian", PIPELINES - {"pipelines/caspian"}),
    ("pipelines/oil", PIPELINES - {"pipelines/oil"}),
    ("pipelines/maintenance", PIPELINES - {"pipelines/maintenance"}),
    ("solar/schools", {"solar/plant"}),
    ("solar/plant", {"solar/schools"}),
]


@pytest.mark.parametrize(("doc_id", "first"), LIKE)
def test_a_release_finds_those_on_its_subject_first(engine, doc_id, first):
    result = engine.similar(doc_id)
    ids = [hit.id for hit in result.hits]
    assert {release(i) for i in ids[: len(first)]} == first, ids
    assert doc_id not in ids
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_the_wire_copy_is_a_near_duplicate(engine):
    copies = {c.id for c in engine.duplicates("pipelines/tapi")}
    assert "copies/tapi-wire" in copies
    assert not copies & {"pipelines/caspian", "pipelines/oil", "solar/plant"}


@pytest.mark.parametrize("doc_id", sorted(CORPUS))
def test_never_itself_nor_a_copy_of_it_nor_one_release_twice(engine, doc_id):
    ids = [hit.id for hit in engine.similar(doc_id).hits]
    releases = [release(i) for i in ids]
    assert release(doc_id) not in releases
    assert len(releases) == len(set(releases))


def test_the_words_searched_are_the_documents_distinctive_ones(engine):
    terms = engine.similar("pipelines/tapi").terms
    assert terms[0] == "pipelin"  # used most, by few releases
    assert {"gas", "compressor", "herat"} <= set(terms)
    assert len(terms) <= MAX_QUERY_TERMS
    # The boilerplate every release shares weighs least, if it is there at all.
    assert "ministri" not in terms[:10]
    # Only this release has it, twice: it could find nothing else.
    assert "solar" in engine.similar("solar/schools").terms
    assert "zanzibarit" not in engine.similar("solar/schools").terms


def test_exclude_leaves_out_the_ids_given(engine):
    from searchsvc.searching.similar import MoreLikeThis

    snap = engine.snapshot()
    finder = MoreLikeThis(snap.searcher, snap.ranker, snap.facets, snap.duplicates)
    result = finder.similar("pipelines/tapi", exclude={"pipelines/caspian", "no/such/id"})
    ids = [hit.id for hit in result.hits]
    assert "pipelines/caspian" not in ids and {"pipelines/oil", "pipelines/maintenance"} <= set(
        ids[:2]
    )
    assert len(finder.similar("pipelines/tapi", count=2).hits) == 2


def test_without_groups_a_copy_with_the_same_title_and_day_is_still_left_out(engine):
    # An index written before near-duplicate signatures: only the cheap checks remain, and
    # they know the re-post under another path, not the wire's rewrite of the headline.
    from searchsvc.searching.similar import MoreLikeThis

    snap = engine.snapshot()
    ids = [
        h.id
        for h in MoreLikeThis(snap.searcher, snap.ranker, snap.facets)
        .similar("pipelines/tapi")
        .hits
    ]
    assert "copies/tapi-repost" not in ids and "copies/tapi-wire" in ids


def test_an_unknown_id_is_none(engine):
    assert engine.similar("no/such/id") is None


def test_the_deadline_is_kept(corpus_index):
    now = [0.0]
    deadline = Deadline(0.5, clock=lambda: now[0])
    now[0] = 1.0
    with Engine(corpus_index) as fresh, pytest.raises(DeadlineExceededError):
        fresh.similar("pipelines/tapi", deadline=deadline)


def test_numbers_dates_and_function_words_are_no_subject():
    tf = term_frequencies("On 4 May 2023 she said that her pipelines, pipelines, were theirs.")
    assert tf == {"pipelin": 2}


def test_only_the_opening_words_of_a_long_release_are_read():
    assert term_frequencies("pipeline " * MAX_TOKENS_PARSED * 2) == {"pipelin": MAX_TOKENS_PARSED}


DAY, NEXT_DAY = datetime(2024, 3, 2, 9), datetime(2024, 3, 3)
SAME = [
    # a, b, the same release?
    ({"title": "A", "url": "https://x/1"}, {"title": "B", "url": "https://x/1"}, True),
    ({"title": "Gas talks", "date": DAY}, {"title": "gas  TALKS", "date": DAY}, True),
    ({"title": "Gas talks", "date": DAY}, {"title": "Gas talks", "date": NEXT_DAY}, False),
    ({"title": "Gas talks"}, {"title": "Gas talks"}, False),
    ({"title": "", "date": DAY}, {"title": "", "date": DAY}, False),
    ({"title": "A", "url": ""}, {"title": "B", "url": ""}, False),
]


@pytest.mark.parametrize(("a", "b", "same"), SAME)
def test_same_release(a, b, same):
    assert same_release(identity(a, 3.0), identity(b, 2.0)) is same


def test_the_same_title_and_score_is_a_copy_posted_another_day():
    a, b = {"title": "Gas talks", "date": DAY}, {"title": "Gas talks", "date": NEXT_DAY}
    assert same_release(identity(a, 2.0), identity(b, 2.0))
    assert not same_release(identity(a, 2.0), identity({**b, "title": "Oil talks"}, 2.0))


# -- the seeds -------------------------------------------------------------------------------


def test_seeds_about_russia_find_another_about_russia_first(seeds_engine):
    ids = [p.stem for p in sorted(SEEDS.glob("*.txt"))]
    russia = {i for i in ids if "Russia" in (SEEDS / f"{i}.txt").read_text(encoding="utf-8")}
    assert 2 <= len(russia) < len(ids)  # else the test says nothing
    for doc_id in ids:
        hits = [hit.id for hit in seeds_engine.similar(doc_id).hits]
        assert doc_id not in hits and set(hits) <= set(ids)
        if doc_id in russia:
            assert hits[0] in russia, (doc_id, hits)


# -- the API, the CLI, the page ------------------------------------------------------------------


@pytest.fixture
def corpus_client(corpus_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(corpus_index)}).test_client()


def test_api_answers_in_the_envelope(corpus_client, engine):
    body = get(corpus_client, "/api/documents/pipelines/tapi/similar").get_json()
    assert body["ok"] is True and body["id"] == "pipelines/tapi"
    expected = engine.similar("pipelines/tapi")
    assert [r["id"] for r in body["results"]] == [h.id for h in expected.hits]
    assert body["terms"] == expected.terms
    first = body["results"][0]
    assert set(first) == {"id", "title", "date", "source", "url", "score"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", first["date"])


def test_api_unknown_id_is_a_404_envelope(corpus_client):
    response = get(corpus_client, "/api/documents/pipelines/nope/similar")
    body = response.get_json()
    assert response.status_code == 404
    assert body == {"ok": False, "error": body["error"], "status": 404}
    assert "pipelines/nope" in body["error"]


def test_api_an_id_ending_in_similar_is_still_its_document(tmp_path):
    from searchsvc.indexing import index_paths

    (tmp_path / "docs" / "press").mkdir(parents=True)
    (tmp_path / "docs" / "press" / "similar.md").write_text(
        _markdown(*CORPUS["solar/plant"]), encoding="utf-8"
    )
    index_paths(tmp_path / "index", [tmp_path / "docs"], procs=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client()
    body = get(client, "/api/documents/press/similar").get_json()
    assert body["document"]["id"] == "press/similar"
    body = get(client, "/api/documents/press/similar/similar").get_json()
    assert body["id"] == "press/similar" and body["results"] == []


def test_cli_lists_them(runner, corpus_index, engine):
    from searchsvc.cli import main

    result = runner.invoke(main, ["similar", "pipelines/oil", "--index-dir", str(corpus_index)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    expected = engine.similar("pipelines/oil")
    assert re.fullmatch(rf"{len(expected.hits)} releases like pipelines/oil \(\d+ ms\)", lines[0])
    assert lines[1] == "by its words: " + ", ".join(expected.terms)
    shown = [line for line in lines if line.endswith("]") and not line.startswith(" ")]
    assert shown == [f"{h.title}  [{h.id}]" for h in expected.hits]


def test_cli_json_is_the_apis(runner, corpus_index, corpus_client):
    from searchsvc.cli import main

    args = ["similar", "pipelines/oil", "--json", "--index-dir", str(corpus_index)]
    cli = json.loads(runner.invoke(main, args).output)
    api = corpus_client.get("/api/documents/pipelines/oil/similar").get_json()
    cli.pop("took_ms"), api.pop("took_ms")
    assert cli == api


def test_cli_unknown_id_is_one_line(runner, corpus_index):
    from searchsvc.cli import main

    result = runner.invoke(main, ["similar", "no/such", "--index-dir", str(corpus_index)])
    assert result.exit_code == 1
    assert result.output == (
        "Error: No document has the id 'no/such'. Find ids with: searchsvc search QUERY\n"
    )


def test_document_page_lists_similar_releases(corpus_client, engine):
    html = corpus_client.get("/doc/pipelines/caspian?q=gas").get_data(as_text=True)
    aside = html[html.index('<aside class="similar"') : html.index("</aside>")]
    assert "Similar releases" in aside
    links = re.findall(r'<a class="similar-link" href="([^"]+)">([^<]+)</a>', aside)
    hits = engine.similar("pipelines/caspian").hits
    assert [title for _, title in links] == [h.title for h in hits]
    # Each link opens that release's page, carrying the search as a result link does.
    href = links[0][0].replace("&amp;", "&")
    assert href == f"/doc/{hits[0].id}?q=gas"
    page = corpus_client.get(href)
    assert page.status_code == 200 and hits[0].title in page.get_data(as_text=True)


def test_document_page_shows_the_release_when_finding_similar_ones_is_too_slow(
    corpus_client, monkeypatch
):
    def too_slow(self, doc_id, *, count=10, deadline=None):
        raise DeadlineExceededError(5.0, "similar terms")

    monkeypatch.setattr(Engine, "similar", too_slow)
    response = corpus_client.get("/doc/pipelines/caspian")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Trans-Caspian gas pipeline talks" in html
    assert "Finding similar releases took too long" in html
