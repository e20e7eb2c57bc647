"""Near-duplicates: one release under two paths, or re-posted with another header and footer,
is one story; a different release that shares the ministry's boilerplate is not.

A small corpus on disk, indexed for real; the engine refreshes after each indexing run,
so adding, changing and removing a copy regroups at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from searchsvc import minhash
from searchsvc.cli import main
from searchsvc.indexing import index_paths
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching.duplicates import DuplicateTable
from searchsvc.web import create_app

BOILERPLATE = (
    "About the Ministry: the Ministry of Agriculture and Water Resources is responsible for "
    "state policy on farming, irrigation, land reclamation and food security. It works with "
    "regional administrations, research institutes and international partners, and publishes "
    "its statistics every quarter. Media enquiries should be sent to the press service by "
    "email or telephone during working hours, Monday to Friday."
)

GRAIN = (
    "The harvest of winter wheat was completed ahead of schedule in all five provinces this "
    "week, the Minister told a meeting of the government on Thursday. Farmers gathered more "
    "than one million four hundred thousand tonnes of grain, about eight per cent above the "
    "plan, thanks to new combine harvesters delivered in the spring and the repair of the "
    "main irrigation canals. The state grain company will buy the crop at the fixed price "
    "agreed in February, and the first trains have already left for the elevators near the "
    "capital. The Minister thanked the machine operators and the mill workers, and said "
    "that part of the surplus would be offered to neighbouring countries under long term "
    "contracts. Preparations for the autumn sowing of cotton begin next month.\n\n"
    "In the northern province, where the spring was unusually dry, yields were lower than "
    "last year, but the new drip irrigation systems installed on the experimental farms "
    "saved most of the crop. Agronomists from the national research institute visited the "
    "fields in May and recommended earlier sowing dates and drought resistant varieties, "
    "which several cooperatives have already ordered for the coming season. The regional "
    "governor said that the local flour mills will run three shifts until the end of August "
    "to process the grain, and that bakeries in the province will keep bread prices stable "
    "throughout the year.\n\n"
    "Exports of grain remain under a licence regime. Traders who wish to sell abroad must "
    "first supply the domestic reserve, which the government intends to raise to half a "
    "million tonnes by the end of the year. Talks with buyers from two neighbouring states "
    "are under way, and a delegation of the state grain company will travel to the port of "
    "Turkmenbashi next week to inspect the new grain terminal, built with a loan from an "
    "Asian development bank and able to load a ship of twenty thousand tonnes in two days. "
    "The Minister also announced a competition for the best harvest team, with prizes of "
    "cars and tractors to be awarded on the national day of agricultural workers in "
    "November, and invited journalists to visit the farms that set records this summer."
)

SOLAR = (
    "A solar power station with a capacity of ten megawatts opened on Tuesday near the "
    "southern border, supplying electricity to pumping stations that lift water from the "
    "river to the fields of three districts. The panels were installed by a joint venture "
    "with a foreign engineering firm, and local technicians were trained to run the plant. "
    "The Minister said that the station would cut the use of diesel generators by half "
    "and lower the cost of watering orchards and vineyards. Two more stations of the "
    "same kind are planned for next year, financed by a loan from a development bank, "
    "and the ministry will report on their progress in its quarterly statistics."
)

HEADER = "ASHGABAT, Turkmenistan, June 14 (Trend): "
FOOTER = "Follow Trend News Agency on Telegram for the latest news."


def release(title: str, date: str, source: str, body: str) -> str:
    return f"---\ntitle: {title}\ndate: {date}\nsource: {source}\n---\n\n{body}\n"


def ministry(title: str, date: str, text: str) -> str:
    return release(title, date, "Ministry of Agriculture", f"{text}\n\n{BOILERPLATE}")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for folder in ("press", "archive", "wire"):
        (root / folder).mkdir(parents=True)
    grain = ministry("Winter wheat harvest completed", "2024-06-13", GRAIN)
    (root / "press" / "grain.md").write_text(grain, encoding="utf-8")
    (root / "archive" / "grain.md").write_text(grain, encoding="utf-8")  # a second path
    wire_body = f"{HEADER}{GRAIN}\n\n{FOOTER}"
    wire = release("Turkmenistan completes wheat harvest", "2024-06-14", "Trend", wire_body)
    (root / "wire" / "grain.md").write_text(wire, encoding="utf-8")
    solar = ministry("Solar station opens in the south", "2024-06-11", SOLAR)
    (root / "press" / "solar.md").write_text(solar, encoding="utf-8")
    return root


@pytest.fixture
def engine(corpus: Path, tmp_path: Path):
    index_paths(tmp_path / "index", [corpus], procs=1)
    with Engine(tmp_path / "index", check_interval=0) as engine:
        yield engine


def run(engine: Engine, corpus: Path) -> None:
    engine.index([corpus], procs=1)


def stories(engine: Engine, q: str, **params) -> list[tuple[str, tuple[str, ...]]]:
    """Each hit's id with the ids it also stands for."""
    result = engine.search(SearchRequest(q=q, size=20, **params))
    return [(hit.id, tuple(c.id for c in hit.also)) for hit in result.hits]


def test_copies_under_two_paths_and_with_another_header_are_one_story(engine):
    result = engine.search(SearchRequest(q="wheat harvest"))
    assert (result.total, result.stories) == (3, 1)
    [hit] = result.hits
    group = {hit.id, *(c.id for c in hit.also)}
    assert group == {"press/grain", "archive/grain", "wire/grain"}
    trend = [c for c in hit.also if c.id == "wire/grain"] or [hit]
    assert trend[0].source == "Trend"


def test_a_different_release_with_the_same_boilerplate_is_not_grouped(engine):
    result = engine.search(SearchRequest(q="ministry"))  # in the boilerplate of both
    assert (result.total, result.stories) == (3, 2)  # the wire copy has no boilerplate
    assert len(result.hits) == 2
    solar = next(h for h in result.hits if h.id == "press/solar")
    assert solar.also == ()
    assert engine.duplicates("press/solar") == []


def test_group_false_lists_every_release(engine):
    result = engine.search(SearchRequest(q="wheat harvest", group=False))
    assert (result.total, result.stories) == (3, 1)
    assert sorted(h.id for h in result.hits) == ["archive/grain", "press/grain", "wire/grain"]
    assert all(h.also == () for h in result.hits)
    assert engine.search(SearchRequest(q="wheat harvest", group=False, size=1)).pages == 3
    assert engine.search(SearchRequest(q="wheat harvest", size=1)).pages == 1
    assert SearchRequest().group is True


def test_paging_counts_stories(engine):
    first = engine.search(SearchRequest(q="", size=1, sort="oldest"))
    second = engine.search(SearchRequest(q="", size=1, page=2, sort="oldest"))
    assert (first.total, first.stories, first.pages) == (4, 2, 2)
    assert [h.id for h in first.hits] == ["press/solar"]
    # The grain story sits at its oldest member (sort=oldest), the other two behind it.
    [grain] = second.hits
    assert grain.date is not None and grain.date.day == 13
    assert {c.id for c in grain.also} | {grain.id} == {
        "press/grain",
        "archive/grain",
        "wire/grain",
    }
    assert not second.has_next


def test_facets_count_every_release(engine):
    result = engine.search(SearchRequest(q="wheat harvest"))
    assert {f.value: f.count for f in result.facets["source"]} == {
        "Ministry of Agriculture": 2,
        "Trend": 1,
    }


def test_duplicates_of_a_document(engine):
    copies = engine.duplicates("wire/grain")
    assert [c.id for c in copies] == ["archive/grain", "press/grain"]  # oldest first, by id
    assert engine.duplicates("no/such/id") == []


def test_incremental_runs_regroup_added_changed_and_removed_copies(engine, corpus: Path):
    # Added: another outlet re-posts it.
    body = f"By our correspondent. {GRAIN} Read more on our site."
    (corpus / "wire" / "grain-2.md").write_text(
        release("Wheat harvest done", "2024-06-15", "Orient", body), encoding="utf-8"
    )
    run(engine, corpus)
    assert len(engine.duplicates("press/grain")) == 3
    # Changed: the wire copy is replaced by a different story.
    (corpus / "wire" / "grain.md").write_text(
        release("Solar station", "2024-06-16", "Trend", SOLAR.replace("ten", "twelve")),
        encoding="utf-8",
    )
    run(engine, corpus)
    assert {c.id for c in engine.duplicates("press/grain")} == {"archive/grain", "wire/grain-2"}
    assert [c.id for c in engine.duplicates("wire/grain")] == ["press/solar"]
    # Removed: two copies go, and the last one stands alone.
    (corpus / "archive" / "grain.md").unlink()
    (corpus / "wire" / "grain-2.md").unlink()
    run(engine, corpus)
    assert engine.duplicates("press/grain") == []
    assert stories(engine, "wheat harvest") == [("press/grain", ())]


def test_the_api_and_the_page_say_both_numbers(engine, tmp_path: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")})
    client = app.test_client()
    body = client.get("/api/search?q=wheat+harvest").get_json()
    assert (body["total"], body["stories"], len(body["results"])) == (3, 1, 1)
    also = body["results"][0]["also"]
    assert len(also) == 2 and set(also[0]) == {"id", "title", "source", "date", "url"}
    every = client.get("/api/search?q=wheat+harvest&group=false").get_json()
    assert (every["total"], every["stories"], len(every["results"])) == (3, 1, 3)
    page = client.get("/?q=wheat+harvest").get_data(as_text=True)
    assert "3 releases in 1 story" in page and "Also published as" in page
    assert "group=false" in page
    doc = client.get("/api/documents/press/grain").get_json()
    assert {d["id"] for d in doc["duplicates"]} == {"archive/grain", "wire/grain"}
    assert "Also published as" in client.get("/doc/press/grain").get_data(as_text=True)


def test_the_cli_lists_every_release_with_no_group(engine, tmp_path: Path, runner):
    args = ["search", "wheat harvest", "--json", "--index-dir", str(tmp_path / "index")]
    grouped = json.loads(runner.invoke(main, args).output)
    every = json.loads(runner.invoke(main, [*args, "--no-group"]).output)
    assert (len(grouped["results"]), len(every["results"])) == (1, 3)


def test_signatures_estimate_similarity():
    text = f"{GRAIN}\n\n{BOILERPLATE}"
    assert minhash.similarity(minhash.signature(text), minhash.signature(text)) == 1.0
    wire = minhash.signature(f"{HEADER}{GRAIN}\n\n{FOOTER}")
    assert minhash.similarity(minhash.signature(GRAIN), wire) >= minhash.THRESHOLD
    other = minhash.signature(f"{SOLAR}\n\n{BOILERPLATE}")
    assert minhash.similarity(minhash.signature(text), other) < 0.5
    assert minhash.signature(" ... ") == minhash.EMPTY
    assert minhash.similarity(minhash.EMPTY, minhash.EMPTY) == 0.0


def test_the_cli_lines_say_stories_and_copies(engine, tmp_path: Path, runner):
    args = ["search", "wheat harvest", "--index-dir", str(tmp_path / "index")]
    lines = runner.invoke(main, args).output.splitlines()
    assert lines[0].startswith("3 results in 1 story (1-1 shown, ")
    also = [line for line in lines if line.startswith("  also published as: ")]
    assert len(also) == 2


def test_the_same_words_a_year_later_are_a_new_release(engine, corpus: Path):
    # A yearly notice renewed word for word is not a copy: copies appear within a month.
    again = ministry("Winter wheat harvest completed", "2025-06-13", GRAIN)
    (corpus / "press" / "grain-2025.md").write_text(again, encoding="utf-8")
    run(engine, corpus)
    assert "press/grain-2025" not in {c.id for c in engine.duplicates("press/grain")}
    assert engine.duplicates("press/grain-2025") == []


def test_collapse_keeps_each_groups_best_member_ties_by_number():
    """collapse() against a sort: the highest key of each group, ties by the lowest number."""
    rng = np.random.default_rng(3)
    table = DuplicateTable.__new__(DuplicateTable)
    size = 5000
    table.label = np.arange(size) // 7 * 7  # groups of seven neighbours
    table.label[::11] = np.arange(size)[::11]  # and some releases alone
    counts = np.bincount(table.label, minlength=size)
    table.grouped = counts[table.label] > 1
    for _ in range(5):
        match = rng.random(size) < 0.6
        key = rng.integers(0, 4, size).astype(float)  # many ties
        key[rng.random(size) < 0.1] = -np.inf
        members = np.flatnonzero(match & table.grouped)
        order = np.lexsort((members, -key[members], table.label[members]))
        ordered = members[order]
        later = np.zeros(len(ordered), dtype=bool)
        later[1:] = table.label[ordered][1:] == table.label[ordered][:-1]
        want = match.copy()
        want[ordered[later]] = False
        assert np.array_equal(table.collapse(match, key), want)


def test_a_chain_of_copies_is_cut_into_runs_of_at_most_the_window():
    # A template renewed every 20 days is one story with each issue beside it, but a group
    # holds no two releases more than WINDOW_DAYS apart: runs from the earliest, each
    # spanning at most the window; an undated copy joins the first run.
    from searchsvc.searching.duplicates import group_labels

    text = " ".join(f"word{i}" for i in range(200))
    signature = np.frombuffer(minhash.signature(text), dtype=np.uint8)
    days = np.array([80.0, 0.0, 20.0, 40.0, 60.0, np.nan, 200.0, 215.0])
    signatures = np.tile(signature, (len(days), 1))
    present = np.ones(len(days), dtype=bool)
    label = group_labels(signatures, present, days)
    # days 0 and 20 (rows 1, 2) with the undated row 5; 40 and 60 (rows 3, 4); 80 (row 0)
    # alone; 200 and 215 (rows 6, 7): apart from the rest, one story of their own.
    assert label.tolist() == [0, 1, 1, 3, 3, 1, 6, 6]
    assert minhash.WINDOW_DAYS == 31


def test_a_group_within_the_window_is_not_cut():
    from searchsvc.searching.duplicates import group_labels

    text = " ".join(f"word{i}" for i in range(200))
    signature = np.frombuffer(minhash.signature(text), dtype=np.uint8)
    days = np.array([10.0, 41.0, np.nan, 25.0])  # 31 days from first to last
    label = group_labels(np.tile(signature, (4, 1)), np.ones(4, dtype=bool), days)
    assert label.tolist() == [0, 0, 0, 0]
