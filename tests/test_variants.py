"""Names spelled many ways (searching/variants.py): the shipped list, files of one's own,
phrases, highlighting, NOT, reloading, and the answer's "also searched" in the library, the
API, the page and the CLI.

Expectations come from the seeds' own text: a spelling's releases are the seed files that
hold it, read here, never a list of ids typed in.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching.variants import BUILTIN, BUILTIN_FILES, VariantTable, load, resolve
from searchsvc.web import create_app

SEEDS = Path(__file__).parent.parent / "seeds"


def seeds_saying(pattern: str) -> set[str]:
    """The ids of the seed releases whose text matches pattern (a whole word)."""
    return {
        p.stem
        for p in SEEDS.glob("*.txt")
        if re.search(rf"(?<!\w){pattern}(?!\w)", p.read_text(encoding="utf-8"))
    }


def ids(result) -> set[str]:
    return {h.id for h in result.hits}


@pytest.fixture(scope="module")
def engine(seeds_index):
    with Engine(seeds_index, check_interval=0) as engine:
        yield engine


def search(engine, q: str, **params):
    return engine.search(SearchRequest(q=q, size=100, **params))


# -- acceptance 3 on the seeds, with the shipped list -------------------------------------------


def test_the_seeds_spell_the_names_one_way():
    # The premise of the next tests: the seeds never write the spellings searched for.
    assert seeds_saying("Ashgabat") and not seeds_saying("Ashkhabad")
    assert len(seeds_saying("Berdimuhamedov")) == 3 and not seeds_saying("Berdymukhamedov")


def test_ashkhabad_finds_the_releases_that_say_ashgabat(engine):
    result = search(engine, "Ashkhabad")
    assert ids(result) == seeds_saying("Ashgabat")
    assert result.also_searched == ("Ashgabat",)
    for hit in result.hits:
        assert "<mark>Ashgabat</mark>" in hit.snippet


@pytest.mark.parametrize(
    "spelling",
    ["Berdymukhamedov", "Berdimuhammedov", "Berdymukhammedov", "berdimuhamedow", "BERDYMUHAMEDOV"],
)
def test_any_spelling_finds_every_release_naming_a_berdimuhamedov(engine, spelling):
    result = search(engine, spelling)
    assert ids(result) == seeds_saying("Berdimuhamedov")
    assert result.also_searched == ("Berdimuhamedov",)
    marked = [html.unescape(h.snippet) for h in result.hits]
    assert all(re.search("<mark>Berdimuhamedov('s)?</mark>", m) for m in marked)
    assert result.suggestion is None  # the name was searched: no "did you mean" for it


def test_the_spelling_the_index_holds_searches_only_itself(engine):
    # The other spellings occur nowhere: nothing else is searched, nothing listed.
    result = search(engine, "Berdimuhamedov")
    assert ids(result) == seeds_saying("Berdimuhamedov") and result.also_searched == ()


@pytest.mark.parametrize(
    ("query", "written"),
    [
        ('"Serdar Berdymukhamedov"', "Serdar Berdimuhamedov"),
        ('"Gurbanguly Berdymukhammedov"', "Gurbanguly Berdimuhamedov"),
        ('"held in Ashkhabad"', "held in Ashgabat"),
    ],
)
def test_phrases_find_every_spelling_and_mark_it(engine, query, written):
    # What the phrase as the index writes it finds ("Berdimuhamedov's" is another word).
    result = search(engine, query)
    assert ids(result) == ids(search(engine, f'"{written}"')) != set()
    for hit in result.hits:
        assert f"<mark>{written}</mark>" in hit.snippet


def test_a_phrase_is_not_widened_to_a_part_of_a_name(tmp_path, seeds_index):
    # "Serdar Berdimuhamedov" and the bare surname are one group: the full name asked
    # for must not find his father, "Gurbanguly Berdimuhamedov".
    names = tmp_path / "people.yaml"
    names.write_text("Serdar Berdimuhamedov: [Berdimuhamedov, Berdymukhamedov]\n")
    with Engine(seeds_index, variants=[str(names)]) as engine:
        result = search(engine, '"Serdar Berdymukhamedov"')
    assert ids(result) == seeds_saying("Serdar Berdimuhamedov")
    assert ids(result) != seeds_saying("Berdimuhamedov")


PEOPLE = """\
Serdar Berdimuhamedov: [Berdimuhamedov, Berdymukhamedov, Serdar Berdymukhamedov]
Gurbanguly Berdimuhamedov: [Berdimuhamedov, Berdymukhamedov, Gurbanguly Berdymukhamedov]
United Nations: [UN, United Nations Organization]
"""


@pytest.fixture(scope="module")
def people_engine(seeds_index, tmp_path_factory):
    people = tmp_path_factory.mktemp("people") / "people.yaml"
    people.write_text(PEOPLE, encoding="utf-8")
    with Engine(seeds_index, variants=[str(people)]) as engine:
        yield engine


def test_a_shared_surname_stands_for_both_people(people_engine):
    # As the entity lists write them: a surname under two people, and full names. Inside a
    # longer phrase the surname takes only its own spellings (not "President Serdar
    # Berdimuhamedov": a longer name in a longer phrase, which at 10x the White House corpus
    # made "President Biden Takes" a search of "President Jill Biden Takes" and four more).
    result = search(people_engine, '"President Berdymukhamedov"')
    expected = ids(search(people_engine, '"President Berdimuhamedov"', verbatim=True))
    assert ids(result) == expected and result.also_searched == ("Berdimuhamedov",)
    whole = search(people_engine, '"Berdymukhamedov"')  # a phrase of the name alone
    assert ids(whole) >= seeds_saying("Serdar Berdimuhamedov")
    word = search(people_engine, "Berdymukhamedov")
    assert ids(word) == seeds_saying("Berdimuhamedov")
    assert word.also_searched == ("Berdimuhamedov",)  # the full names add nothing to it


def test_a_full_name_is_not_widened_to_the_surname(people_engine):
    result = search(people_engine, '"Serdar Berdymukhamedov"')
    assert ids(result) == seeds_saying("Serdar Berdimuhamedov") != set()
    assert result.also_searched == ("Serdar Berdimuhamedov",)


def test_an_acronym_stands_for_its_name_only_in_capitals(people_engine):
    result = search(people_engine, "UN")
    assert result.also_searched == ("United Nations",)
    assert ids(result) == seeds_saying("UN") | seeds_saying("United Nations")
    assert search(people_engine, "un").also_searched == ()


def test_variants_apply_to_a_field(engine):
    assert ids(search(engine, "title:Turkmenia")) == ids(search(engine, "title:Turkmenistan"))
    assert search(engine, "title:Turkmenia").also_searched == ("Turkmenistan",)


@pytest.mark.parametrize("query", ["Turkmenistan NOT Ashkhabad", "Turkmenistan ANDNOT Ashkhabad"])
def test_an_excluded_word_is_not_widened(engine, query):
    # NOT Ashkhabad excludes Ashkhabad as typed: no release says it, so none is excluded.
    result = search(engine, query)
    assert ids(result) == seeds_saying("Turkmenistan") and result.also_searched == ()
    assert all("<mark>Ashgabat</mark>" not in h.snippet for h in result.hits)


def test_prefix_and_fuzzy_words_are_left_as_typed(engine):
    assert search(engine, "Ashkh*").total == 0
    assert search(engine, "Ashkhabad~1").total == 0
    assert search(engine, "Ashkh*").also_searched == ()


def test_verbatim_searches_names_only_as_typed(engine):
    result = search(engine, "Ashkhabad", verbatim=True)
    assert result.total == 0 and result.also_searched == ()


def test_document_page_terms_mark_every_spelling(engine):
    terms = engine.query_terms("Ashkhabad")
    assert "ashgabat" in terms.stems


# -- highlighting every spelling, accents and Turkmen letters included -------------------------

SPELLINGS = {
    "both.txt": " date 2024-01-02\n\nTalks in Ashgabat\n\nTalks began in Ashgabat and ended in "
    "Ashkhabad, as the two ministries spell it.\n",
    "turkmen.txt": " date 2024-01-03\n\nAşgabat hosts a fair\n\nThe fair opened in Aşgabat.\n",
    "other.txt": " date 2024-01-04\n\nA fair\n\nThe Ashgabad fair closed.\n",
    "none.txt": " date 2024-01-05\n\nMoscow\n\nNothing of the kind in Moscow.\n",
}


def engine_of(tmp_path_factory, name: str, files: dict[str, str]):
    """An Engine over an index of files (name -> text), open while the generator is."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp(name)
    (root / "docs").mkdir()
    for filename, text in files.items():
        (root / "docs" / filename).write_text(text, encoding="utf-8")
    index_paths(root / "ix", [root / "docs"], procs=1)
    with Engine(root / "ix", check_interval=0) as engine:
        yield engine


@pytest.fixture(scope="module")
def spellings_engine(tmp_path_factory):
    yield from engine_of(tmp_path_factory, "spellings", SPELLINGS)


@pytest.mark.parametrize("query", ["Ashgabat", "Ashkhabad", "Aşgabat", "asgabat", "Ashgabad"])
def test_every_spelling_is_found_and_marked(spellings_engine, query):
    result = search(spellings_engine, query)
    assert ids(result) == {"both", "turkmen", "other"}
    snippets = {h.id: h.snippet for h in result.hits}
    assert "<mark>Ashgabat</mark>" in snippets["both"]
    assert "<mark>Ashkhabad</mark>" in snippets["both"]
    assert "<mark>Aşgabat</mark>" in snippets["turkmen"]
    assert "<mark>Ashgabad</mark>" in snippets["other"]
    typed = {query.casefold(), query.casefold().replace("ş", "s")}
    listed = {s.casefold().replace("ş", "s") for s in result.also_searched}
    assert listed == {"ashgabat", "ashkhabad", "asgabat", "ashgabad"} - typed


# -- files of one's own: format, YAML entity lists, reloading without reindexing ----------------


def test_the_shipped_lists_read_without_problems():
    variants = load(resolve([BUILTIN]))
    assert variants.problems == ()
    assert len(variants.spellings) > 150
    assert resolve([BUILTIN]) == list(BUILTIN_FILES)


def test_an_entity_list_feeds_the_same_groups(tmp_path, seeds_index):
    # The entity lists' format: canonical name -> its variants; a canonical name of two
    # words is searched as a phrase.
    people = tmp_path / "people.yaml"
    people.write_text("Vepa Hadjiev:\n  - Hajiyev\n  - Hadzhiev\n", encoding="utf-8")
    with Engine(seeds_index, variants=[str(people)]) as engine:
        result = search(engine, "Hadzhiev")
    assert ids(result) == seeds_saying("Vepa Hadjiev") != set()
    assert result.also_searched == ("Vepa Hadjiev",)
    assert "<mark>Vepa Hadjiev</mark>" in result.hits[0].snippet


def test_editing_the_file_needs_no_reindex(tmp_path, seeds_index):
    own = tmp_path / "variants.txt"
    own.write_text("# nothing yet\n", encoding="utf-8")
    with Engine(seeds_index, check_interval=0, variants=[str(own)]) as engine:
        assert search(engine, "Galouzine").total == 0
        own.write_text("Galuzin, Galouzine  # the French spelling\n", encoding="utf-8")
        found = search(engine, "Galouzine")  # the same request: not the cached answer
        assert ids(found) == seeds_saying("Galuzin") != set()
        assert found.also_searched == ("Galuzin",)
        own.unlink()
        assert search(engine, "Galouzine").total == 0


def test_a_file_is_looked_at_once_per_interval(tmp_path):
    own = tmp_path / "variants.txt"
    own.write_text("Galuzin, Galouzine\n", encoding="utf-8")
    table = VariantTable([str(own)], check_interval=3600)
    first = table.current()
    own.write_text("Meredov, Meredow\n", encoding="utf-8")
    assert table.current() is first  # within the interval: no stat, the same groups
    table.check_interval = 0
    assert table.current().version == first.version + 1


def test_a_bad_file_is_reported_and_searching_goes_on(tmp_path, seeds_index, caplog):
    bad = tmp_path / "people.yaml"
    bad.write_text("[unclosed: list\n", encoding="utf-8")
    missing = tmp_path / "nowhere.txt"
    with Engine(seeds_index, variants=[str(bad), str(missing)]) as engine:
        result = search(engine, "Turkmenistan")
        problems = engine.variants.current().problems
    assert result.total == len(seeds_saying("Turkmenistan"))
    assert [p.split(":")[0] for p in problems] == [str(bad), str(missing)]
    assert "name variants not read" in caplog.text


def test_field_names_and_operators_are_never_variants(tmp_path, seeds_index, engine):
    own = tmp_path / "variants.txt"
    own.write_text("title, headline\nAND, und\nNOT, nicht\n", encoding="utf-8")
    with Engine(seeds_index, variants=[str(own)]) as odd:
        for query in ["title:Turkmenistan", "Turkmenistan AND Russia", "Turkmenistan NOT Baku"]:
            widened = search(odd, query)
            assert ids(widened) == ids(search(engine, query)), query
            assert widened.also_searched == (), query


# -- the edges: API, page, CLI --------------------------------------------------------------------


def test_api_says_what_it_also_searched(client):
    body = client.get("/api/search?q=Ashkhabad").get_json()
    assert body["ok"] and body["also_searched"] == ["Ashgabat"]
    assert {r["id"] for r in body["results"]} == seeds_saying("Ashgabat")
    assert all("<mark>Ashgabat</mark>" in r["snippet"] for r in body["results"])
    body = client.get("/api/search?q=Berdymukhamedov").get_json()
    assert {r["id"] for r in body["results"]} == seeds_saying("Berdimuhamedov")
    plain = client.get("/api/search?q=Ashkhabad&verbatim=true").get_json()
    assert plain["total"] == 0 and plain["also_searched"] == []


@pytest.mark.parametrize("facet", ["year", "source", "country"])
def test_every_value_of_a_facet_is_counted_over_every_spelling(client, facet):
    """Before: /api/facets/<name> (the page's "Show more" and "Filter") searched a name only
    as typed, so `Ashkhabad` counted nothing there while the search's own facets counted the
    releases that say Ashgabat."""
    for extra in ("", "&verbatim=true"):
        search = client.get(f"/api/search?q=Ashkhabad{extra}").get_json()
        listed = client.get(f"/api/facets/{facet}?q=Ashkhabad{extra}").get_json()
        assert listed["ok"] and listed["values"] == search["facets"][facet]
    counted = client.get(f"/api/facets/{facet}?q=Ashkhabad").get_json()["values"]
    assert sum(v["count"] for v in counted) >= len(seeds_saying("Ashgabat")) > 0
    if facet == "year":
        return  # the page draws years as the timeline, not as a panel with "Show more"
    page = client.get(f"/?q=Ashkhabad&more={facet}").get_data(as_text=True)
    shown = {html.unescape(v) for v in re.findall(r'class="facet-value">([^<]*)<', page)}
    assert {v["value"] for v in counted} <= shown


def test_the_page_says_what_it_also_searched(client):
    page = client.get("/?q=Ashkhabad").get_data(as_text=True)
    assert "also searched: Ashgabat" in page
    assert "<mark>Ashgabat</mark>" in page
    assert "verbatim=true" in page  # a way to search only as typed
    verbatim = client.get("/?q=Ashkhabad&verbatim=true").get_data(as_text=True)
    assert "Names searched only as typed" in verbatim and "also searched" not in verbatim
    doc_id = sorted(seeds_saying("Ashgabat"))[0]
    doc = client.get(f"/doc/{doc_id}?q=Ashkhabad").get_data(as_text=True)
    assert "<mark>Ashgabat</mark>" in doc


def test_cli_says_what_it_also_searched(runner, seeds_index):
    args = ["search", "Ashkhabad", "--index-dir", str(seeds_index)]
    lines = runner.invoke(main, args).output.splitlines()
    assert lines[1] == "also searched: Ashgabat"
    assert sum("[Ashgabat]" in line for line in lines) == len(seeds_saying("Ashgabat"))
    payload = json.loads(runner.invoke(main, [*args, "--json"]).output)
    assert {r["id"] for r in payload["results"]} == seeds_saying("Ashgabat")
    assert payload["also_searched"] == ["Ashgabat"]
    assert all("<mark>Ashgabat</mark>" in r["snippet"] for r in payload["results"])


def test_cli_reads_the_variants_setting(runner, seeds_index, tmp_path):
    own = tmp_path / "mine.txt"
    own.write_text("Galuzin, Galouzine\n", encoding="utf-8")
    args = ["search", "Galouzine", "--json", "--index-dir", str(seeds_index)]
    env = {"SEARCHSVC_VARIANTS": os.pathsep.join([BUILTIN, str(own)])}
    payload = json.loads(runner.invoke(main, args, env=env).output)
    assert {r["id"] for r in payload["results"]} == seeds_saying("Galuzin")
    shipped_args = ["search", "Ashkhabad", "--json", *args[3:]]
    shipped = json.loads(runner.invoke(main, shipped_args, env=env).output)
    assert shipped["also_searched"] == ["Ashgabat"]  # builtin: the shipped list as well
    none = json.loads(runner.invoke(main, args, env={"SEARCHSVC_VARIANTS": ""}).output)
    assert none["total"] == 0


def test_the_server_reloads_an_edited_list(tmp_path, seeds_index):
    own = tmp_path / "variants.txt"
    own.write_text("", encoding="utf-8")
    settings = {"INDEX_DIR": str(seeds_index), "VARIANTS": str(own), "REFRESH_INTERVAL": 0}
    app = create_app({"TESTING": True, **settings})
    client = app.test_client()
    assert client.get("/api/search?q=Galouzine").get_json()["total"] == 0
    time.sleep(0.01)
    own.write_text("Galuzin, Galouzine\n", encoding="utf-8")
    body = client.get("/api/search?q=Galouzine").get_json()
    assert {r["id"] for r in body["results"]} == seeds_saying("Galuzin")


# -- the shipped groups on releases that spell names one way (audit of the White House corpus) --

AUDIT = {
    "hizballah": "The State Department designated Lebanese Hizballah financiers.",
    "hezbollah": "Hezbollah fired rockets into northern Israel.",
    "astana": "The talks were held in Astana, the capital of Kazakhstan (Nur-Sultan until 2022).",
    "nazarbayev": "Nursultan Nazarbayev led Kazakhstan until 2019.",
    "hikmat": "Jake Sullivan met today with Hikmat Hajiyev of Azerbaijan.",
    "vepa": "Vepa Hadjiev, Deputy Minister of Foreign Affairs of Turkmenistan, said.",
}


@pytest.fixture(scope="module")
def audit_engine(tmp_path_factory):
    files = {f"{name}.txt": text for name, text in AUDIT.items()}
    yield from engine_of(tmp_path_factory, "audit", files)


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Hizballah", {"hizballah", "hezbollah"}),
        ("Hezbollah", {"hizballah", "hezbollah"}),
        ('"Nur-Sultan"', {"astana"}),
        ("Astana", {"astana"}),
        ("Nursultan", {"nazarbayev"}),  # his first name, not the city's
        ('"Nursultan Nazarbayev"', {"nazarbayev"}),
        ("Hadjiev", {"vepa"}),  # the Turkmen deputy minister, not Azerbaijan's Hajiyev
        ("Hajiyev", {"hikmat"}),
    ],
)
def test_the_shipped_groups_search_one_name_only(audit_engine, query, found):
    assert ids(search(audit_engine, query)) == found


@pytest.mark.parametrize(
    ("doc", "person"),
    [
        ("hikmat", ["Hikmat Hajiyev"]),
        ("vepa", ["Vepa Hadjiev"]),
        ("nazarbayev", ["Nursultan Nazarbayev"]),
    ],
)
def test_a_release_is_tagged_with_its_own_person(audit_engine, doc, person):
    result = search(audit_engine, "", person=tuple(person))
    assert ids(result) == {doc}
