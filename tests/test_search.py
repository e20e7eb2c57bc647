"""The search function over the indexed seeds and test documents: query -> expected ids."""

from __future__ import annotations

import pytest

from searchsvc.indexing import index_paths
from searchsvc.searching import Engine, SearchError, SearchRequest

S000, S001, S002, S003, S004 = (
    "000_151069118a277199",
    "001_1cd7d1af4bda551f",
    "002_77df0451d7f08fe1",
    "003_ec0c8cdd937fe39f",
    "004_0c8e5b5424d9bbd8",
)
ALL_SEEDS = {S000, S001, S002, S003, S004}


def ids(result) -> set[str]:
    return {hit.id for hit in result.hits}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        # stemming: the singular finds the plural
        (SearchRequest(q="consultation"), {S001, S003, S004}),
        (SearchRequest(q="consultations"), {S001, S003, S004}),
        # accent folding: every seed says "Turkmenistan"
        (SearchRequest(q="Türkmenistan"), ALL_SEEDS),
        # exact phrase, and the exact form of a single quoted word
        (SearchRequest(q='"strategic partnership"'), {S000, S001, S002, S004}),
        (SearchRequest(q='"meetings"'), {S002}),
        # date range: a partial date covers its whole month
        (SearchRequest(date_from="2023-05", date_to="2023-05"), {S001, S002}),
        (SearchRequest(q="Turkmenistan", date_from="2023-05", date_to="2023-05"), {S001, S002}),
        (SearchRequest(q="Turkmenistan", date_from="May 2023", date_to="8 May 2023"), {S001, S002}),
        (SearchRequest(q="Turkmenistan", date_from="2024"), {S004}),
        # boolean operators, fields, prefix and fuzzy
        (SearchRequest(q="russia NOT putin"), {S000, S001}),
        (SearchRequest(q="caspian AND (energy OR gas)"), {S003, S004}),
        (SearchRequest(q="title:meeting"), {S000}),
        (SearchRequest(q="source:trend"), {S003}),
        (SearchRequest(q="place:baku"), {S003}),
        (SearchRequest(q="turkmenistan", source="nCa"), {S001}),
        (SearchRequest(q="turkmenistan", year="2026"), {S004}),
        (SearchRequest(q="turkmenistan", month="2023-12"), {S000}),
        (SearchRequest(q="consult*"), {S001, S003, S004}),
        (SearchRequest(q="Turkmenstan~"), ALL_SEEDS),
        # a query of stop words only searches them as written
        (SearchRequest(q="the"), ALL_SEEDS),
        (SearchRequest(q="zzyzx"), set()),
    ],
    ids=lambda v: repr(v.q or v) if isinstance(v, SearchRequest) else None,
)
def test_seed_queries(seeds_engine, request_, expected):
    assert ids(seeds_engine.search(request_)) == expected


def test_year_facet_counts(seeds_engine):
    result = seeds_engine.search(SearchRequest(q="Turkmenistan"))
    assert [(f.value, f.count) for f in result.facets["year"]] == [
        ("2020", 1),
        ("2023", 3),
        ("2026", 1),
    ]
    assert result.total == 5


def test_month_facets_appear_within_a_year(seeds_engine):
    assert seeds_engine.search(SearchRequest(q="Turkmenistan")).facets["month"] == []
    months = seeds_engine.search(SearchRequest(q="Turkmenistan", year="2023")).facets["month"]
    assert [(f.value, f.count) for f in months] == [("2023-05", 2), ("2023-12", 1)]


def test_source_and_place_facets(seeds_engine):
    facets = seeds_engine.search(SearchRequest(q="Turkmenistan")).facets
    assert {(f.value, f.count) for f in facets["source"]} == {
        ("Trend", 1),
        ("nCa", 1),
        ("Report", 1),
        ("(none)", 2),
    }
    assert [(f.value, f.count) for f in facets["place"]] == [
        ("(none)", 4),
        ("Baku, Azerbaijan", 1),
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("newest", [S004, S000, S002, S001, S003]),
        ("oldest", [S003, S001, S002, S000, S004]),
    ],
)
def test_sort_by_date(seeds_engine, sort, order):
    result = seeds_engine.search(SearchRequest(q="Turkmenistan", sort=sort))
    assert [hit.id for hit in result.hits] == order


def test_relevance_puts_best_score_first(seeds_engine):
    scores = [h.score for h in seeds_engine.search(SearchRequest(q="consultations")).hits]
    assert scores == sorted(scores, reverse=True)


def test_all_words_rank_before_some(seeds_engine):
    # Only 003 says both "labor" and "consultations"; others have one of them at most.
    hits = seeds_engine.search(SearchRequest(q="labor consultations")).hits
    assert hits[0].id == S003
    assert len(hits) > 1


def test_empty_query_lists_newest_first(seeds_engine):
    result = seeds_engine.search(SearchRequest())
    assert [h.id for h in result.hits][:2] == [S004, S000]
    assert result.total == 5


def test_paging(seeds_engine):
    first = seeds_engine.search(SearchRequest(q="Turkmenistan", size=2))
    second = seeds_engine.search(SearchRequest(q="Turkmenistan", size=2, page=2))
    third = seeds_engine.search(SearchRequest(q="Turkmenistan", size=2, page=3))
    assert (len(first.hits), len(second.hits), len(third.hits)) == (2, 2, 1)
    assert not ids(first) & ids(second)
    assert first.has_next and not third.has_next and third.pages == 3


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(q="title:(", strict=True), "a ( is never closed"),
        (SearchRequest(q="AND OR", strict=True), "AND needs a word on each side"),
        (SearchRequest(q="(energy", strict=True), "never closed"),
        (SearchRequest(q='"strategic partnership', strict=True), "Unbalanced quote"),
        (SearchRequest(q="body:energy", strict=True), "Unknown field 'body'"),
        (SearchRequest(q="a*", strict=True), "at least 2 letters"),
        (SearchRequest(q="energy", date_from="notadate"), "'notadate' is not a date"),
        (SearchRequest(q="energy", sort="best"), "sort must be one of"),
        (SearchRequest(q="energy", size=0), "size must be between 1 and 100"),
        (SearchRequest(q="energy", size=101), "size must be between 1 and 100"),
        (SearchRequest(q="energy", page=0), "page must be 1 or more"),
    ],
)
def test_bad_requests_raise_a_clear_error(seeds_engine, request_, message):
    with pytest.raises(SearchError, match=message.replace("(", r"\(")):
        seeds_engine.search(request_)


@pytest.mark.parametrize(
    ("q", "suggestion"),
    [
        ("turkmenstan", "turkmenistan"),
        ("strategic partnrship", "strategic partnership"),
        ("consultation", None),  # the stem is indexed: no typo
        ("Turkmenistan", None),
    ],
)
def test_did_you_mean(seeds_engine, q, suggestion):
    assert seeds_engine.search(SearchRequest(q=q)).suggestion == suggestion


def test_snippets_mark_original_forms(seeds_engine):
    hit = seeds_engine.search(SearchRequest(q="meeting")).hits[0]
    assert "<mark>Meeting</mark>" in hit.snippet or "<mark>meeting</mark>" in hit.snippet
    consult = seeds_engine.search(SearchRequest(q="consultation")).hits[0]
    assert "<mark>consultations</mark>" in consult.snippet


def test_title_only_match_gives_the_lead(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bulletin.md").write_text(
        "---\ntitle: Horticulture Bulletin\ndate: 2024-01-02\n---\n"
        + "Gardens across the region reported an early spring. " * 5,
        encoding="utf-8",
    )
    index_paths(tmp_path / "ix", [tmp_path / "docs"], procs=1)
    with Engine(tmp_path / "ix") as engine:
        hit = engine.search(SearchRequest(q="horticulture")).hits[0]
    assert hit.snippet.startswith("Gardens across the region reported an early spring.")
    assert "<mark>" not in hit.snippet


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('"solar panels"', {"002_solar_schools"}),
        ("solar panels", {"002_solar_schools", "003_caspian_energy_meetings"}),
        ('"meetings"', {"003_caspian_energy_meetings"}),
        (
            "meeting",
            {
                "001_baku_foreign_ministers",
                "003_caspian_energy_meetings",
                "statements-releases/2021-11/2021-11-03-statement-on-the-global-methane-pledge",
            },
        ),
        (
            "Turkmenistan",
            {"000_ashgabat_consultations", "001_baku_foreign_ministers", "002_solar_schools"},
        ),
        (
            "Türkmenistan",
            {"000_ashgabat_consultations", "001_baku_foreign_ministers", "002_solar_schools"},
        ),
        (
            "category:fact-sheets",
            {
                "fact-sheets/2022-08/2022-08-16-fact-sheet-clean-energy-tax-credits",
                "fact-sheets/2024-04/2024-04-22-fact-sheet-earth-day-conservation",
            },
        ),
        (
            '"Global Methane Pledge"',
            {"statements-releases/2021-11/2021-11-03-statement-on-the-global-methane-pledge"},
        ),
    ],
)
def test_docs_queries(docs_engine, q, expected):
    assert ids(docs_engine.search(SearchRequest(q=q, size=20))) >= expected
    assert ids(docs_engine.search(SearchRequest(q=q, size=20))) == expected


def test_undated_documents_are_searchable_and_counted(docs_engine):
    result = docs_engine.search(SearchRequest(q="consultations"))
    assert "notes/undated-briefing-note" in ids(result)
    assert docs_engine.stats().undated == 1


def test_markdown_urls_are_not_indexed(docs_engine):
    assert docs_engine.search(SearchRequest(q="https")).total == 0


@pytest.mark.parametrize(
    ("q", "read_as", "why"),
    [
        ("Note: the ministers met (in Ashgabat)", "Note the ministers met (in Ashgabat)", "Note"),
        ("U.S. policy: trade & energy", "U.S. policy trade & energy", "'policy:' is not a field"),
        ('"strategic partnership', '"strategic partnership"', "the quote was closed"),
        ("(energy", "(energy)", "the ( was closed"),
        ("energy AND", "energy", "AND at the end"),
        ("a*", "a", "2 letters before it"),
    ],
)
def test_a_query_that_cannot_be_read_as_typed_is_mended(seeds_engine, q, read_as, why):
    # The default: an answer, and a notice that says how the query was read (issue 13's
    # forgiving box, at its simplest); strict=True refuses it instead (the table above).
    result = seeds_engine.search(SearchRequest(q=q))
    assert result.notice.startswith(f"Searched for {read_as}: ")
    assert why in result.notice
    plain = seeds_engine.search(SearchRequest(q=read_as))
    assert [h.id for h in result.hits] == [h.id for h in plain.hits]


@pytest.mark.parametrize("q", ["-", "+", '""', "\u200b", "😀", "C++", "\x00", "-- +"])
def test_a_query_that_comes_to_nothing_says_so(seeds_engine, q):
    result = seeds_engine.search(SearchRequest(q=q))
    assert result.total == 0
    assert result.notice.startswith("Nothing to search for: “") and "no word that is" in (
        result.notice
    )
    assert "\x00" not in result.notice and "\u200b" not in result.notice


def test_a_query_of_no_words_that_cannot_be_read_finds_nothing(seeds_engine):
    result = seeds_engine.search(SearchRequest(q="title:("))
    assert result.total == 0 and result.notice.startswith("Searched for title:")
    nothing = seeds_engine.search(SearchRequest(q="((("))
    assert nothing.total == 0 and nothing.notice.startswith("Nothing to search for")


@pytest.mark.parametrize(
    ("date_from", "date_to", "said"),
    [
        ("2024", "2023", "from 1 Jan 2024 is after to 31 Dec 2023"),
        ("2023-06-02", "2023-06-01", "from 2 Jun 2023 is after to 1 Jun 2023"),
    ],
)
def test_dates_that_run_backwards_say_so(seeds_engine, date_from, date_to, said):
    swapped = seeds_engine.search(SearchRequest(q="", date_from=date_to, date_to=date_from))
    result = seeds_engine.search(SearchRequest(q="", date_from=date_from, date_to=date_to))
    assert result.total == 0 and result.notice and said in result.notice
    assert "swap" in result.notice
    assert swapped.notice is None  # a range the right way round needs no word


@pytest.mark.parametrize(
    ("filters", "said"),
    [
        (
            {"year": ("2023",), "date_from": "2024"},
            "year 2023 is outside the dates (1 Jan 2024 – …)",
        ),
        (
            {"month": ("2023-12",), "date_to": "2023-11"},
            "month 2023-12 is outside the dates (… – 30 Nov",
        ),
        ({"year": ("2023",), "month": ("2024-05",)}, "month 2024-05 is in no year chosen (2023)"),
        (
            {"year": ("2022", "2023"), "date_from": "2024", "date_to": "2024-03"},
            "year 2022 or 2023",
        ),
    ],
)
def test_a_year_or_month_the_other_dates_leave_out_says_so(seeds_engine, filters, said):
    result = seeds_engine.search(SearchRequest(q="", **filters))
    assert result.total == 0 and said in result.notice and "nothing can match" in result.notice


@pytest.mark.parametrize(
    "filters",
    [
        {"year": ("2023", "2024"), "date_from": "2024"},  # one of them is in
        {"year": ("-2023",), "date_from": "2024"},  # an exclusion leaves nothing out
        {"month": ("2023-12",), "date_from": "2023-12-31"},  # a day of it is in
        {"year": ("2023",), "month": ("2023-05", "2024-05")},
    ],
)
def test_a_year_or_month_the_dates_meet_needs_no_word(seeds_engine, filters):
    assert seeds_engine.search(SearchRequest(q="", **filters)).notice is None


def test_a_one_day_range_is_not_backwards(seeds_engine):
    assert seeds_engine.search(SearchRequest(q="", date_from="2023", date_to="2023")).notice is None


@pytest.mark.parametrize(
    ("filters", "said"),
    [
        ({"year": "abc"}, "year takes a year such as 2023: 'abc' matches no release."),
        ({"year": "-23"}, "year takes a year such as 2023: '23' matches no release."),
        ({"month": "2024-13"}, "month takes a month such as 2023-05: '2024-13'"),
        ({"month": "May 2023"}, "month takes a month such as 2023-05: 'May 2023'"),
    ],
)
def test_a_year_or_month_that_is_none_says_so(seeds_engine, filters, said):
    result = seeds_engine.search(SearchRequest(q="", **filters))
    assert result.notice and said in result.notice


@pytest.mark.parametrize(
    "filters", [{"year": "2023"}, {"year": "-2024"}, {"month": "2023-05"}, {"year": "(none)"}]
)
def test_a_year_or_month_of_the_right_form_needs_no_word(seeds_engine, filters):
    result = seeds_engine.search(SearchRequest(q="", **filters))
    assert result.notice is None
