"""Segments with and without the date columns: undated releases added to a dated index, and
dated ones to an undated index, answer exactly as an index built in one run.

A segment whose documents all lack a date has no date, year or month column; Whoosh's
multi-segment column reader skips it and so shifts every later document's values (an
IndexError one way, a struct.error the other).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS

from searchsvc.indexing import index_paths
from searchsvc.searching import Engine, SearchRequest

DATED_EXTRA = [
    {
        "id": "d1",
        "title": "Pipeline energy deal",
        "body": "An energy pipeline deal was signed.",
        "date": "2024-03-05",
        "source": "Wire",
        "category": "fact-sheets",
    },
]
UNDATED = [
    {"id": "u1", "title": "Undated", "body": "energy talks"},
    {
        "id": "u2",
        "title": "Undated wire note",
        "body": "More energy talks in Baku.",
        "source": "Undated Wire",
        "category": "notes",
    },
]


def _jsonl(folder: Path, records: list[dict]) -> None:
    folder.mkdir(parents=True)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (folder / "releases.jsonl").write_text(lines, encoding="utf-8")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(SEEDS, root / "dated")
    _jsonl(root / "dated" / "extra", DATED_EXTRA)
    _jsonl(root / "undated", UNDATED)
    return {"root": root, "dated": root / "dated", "undated": root / "undated"}


@pytest.fixture(scope="module")
def reference(folders):
    """Both folders in one run: one segment, whose columns cover every document."""
    index_dir = folders["root"] / "reference"
    index_paths(index_dir, [folders["dated"], folders["undated"]], procs=1)
    with Engine(index_dir) as engine:
        yield engine


@pytest.fixture(scope="module", params=["undated-added-to-dated", "dated-added-to-undated"])
def mixed(request, folders):
    """The same documents added in two runs: two segments, one without the date columns."""
    first, second = ["dated", "undated"][:: 1 if request.param.startswith("undated") else -1]
    index_dir = folders["root"] / request.param
    index_paths(index_dir, [folders[first]], procs=1)
    report = index_paths(index_dir, [folders[second]], procs=1)
    assert report.total == 8 and not report.skipped
    with Engine(index_dir) as engine:
        assert len(engine.snapshot().ix._segments()) == 2
        yield engine


REQUESTS = [
    SearchRequest(q=""),
    SearchRequest(q="", sort="newest"),
    SearchRequest(q="", sort="oldest"),
    SearchRequest(q="energy"),
    SearchRequest(q="energy", sort="newest"),
    SearchRequest(q="energy", sort="oldest"),
    SearchRequest(q="talks"),
    SearchRequest(q="", year="2023"),
    SearchRequest(q="", year="2024", sort="oldest"),
    SearchRequest(q="", month="2023-05"),
    SearchRequest(q="", source="Undated Wire"),
    SearchRequest(q="energy", source="Wire"),
    SearchRequest(q="", category="notes"),
    SearchRequest(q="", category="fact-sheets"),
    SearchRequest(q="", place="Baku, Azerbaijan"),
    SearchRequest(q="", date_from="2023", date_to="2023-05"),
    SearchRequest(q="energy", date_from="2024"),
    SearchRequest(q="", date_to="2021", sort="newest"),
    SearchRequest(q="", year="2023", date_from="2023-05", sort="oldest"),
    SearchRequest(q="", size=3, page=3, sort="newest"),
]


def _answer(engine: Engine, request: SearchRequest):
    result = engine.search(request)
    hits = [(h.id, h.date, h.source, h.category, h.place) for h in result.hits]
    return result.total, hits, result.facets


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: repr(r)[14:70])
def test_every_search_answers_as_a_one_segment_index(mixed, reference, request_):
    assert _answer(mixed, request_) == _answer(reference, request_)


def test_the_listing_holds_every_document_undated_last(mixed):
    result = mixed.search(SearchRequest(q="", sort="newest", size=20))
    assert result.total == 8
    assert [h.id for h in result.hits][-2:] in (["u1", "u2"], ["u2", "u1"])
    assert all(h.date is None for h in result.hits[-2:])
    assert all(h.date is not None for h in result.hits[:-2])


def test_facets_count_each_value_and_leave_undated_out_of_years(mixed):
    facets = mixed.search(SearchRequest(q="")).facets
    as_dict = {name: {f.value: f.count for f in counts} for name, counts in facets.items()}
    assert as_dict["year"] == {"2020": 1, "2023": 3, "2024": 1, "2026": 1}
    assert as_dict["source"]["Undated Wire"] == 1 and as_dict["source"]["Wire"] == 1
    # The documents without a value are counted as (none); never so in the timeline.
    assert as_dict["category"] == {"fact-sheets": 1, "notes": 1, "(none)": 6}
    assert as_dict["place"] == {"Baku, Azerbaijan": 1, "(none)": 7}
    months = mixed.search(SearchRequest(q="", year="2023")).facets["month"]
    assert {f.value: f.count for f in months} == {"2023-05": 2, "2023-12": 1}


def test_date_filters_leave_undated_out(mixed):
    result = mixed.search(SearchRequest(q="energy", date_from="2000", size=20))
    assert {h.id for h in result.hits}.isdisjoint({"u1", "u2"})
    assert "d1" in {h.id for h in result.hits}


def test_stats(mixed, reference):
    stats = mixed.stats()
    assert (stats.documents, stats.undated) == (8, 2)
    assert stats.per_year == {"2020": 1, "2023": 3, "2024": 1, "2026": 1}
    assert (stats.first_date.year, stats.last_date.year) == (2020, 2026)
    ref = reference.stats()
    assert (ref.documents, ref.undated, ref.per_year) == (8, 2, stats.per_year)


def test_health_answers(mixed):
    from searchsvc.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(mixed.index_dir)})
    response = app.test_client().get("/api/health")
    assert response.status_code == 200
    assert response.get_json()["documents"] == 8
