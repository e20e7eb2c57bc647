"""The array ranker: the same matches as Whoosh's own matchers, and the ranking we promise."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from searchsvc.indexing import index_paths
from searchsvc.scoring import bm25 as ranking
from searchsvc.scoring import top
from searchsvc.searching.query import expand_multiterms as _expand_multiterms
from searchsvc.searching.query import parse_query

# Queries of every shape the parser makes: words, AND/OR/NOT, fields, phrases, wildcards.
QUERIES = [
    "turkmenistan",
    "solar panels",
    "energy AND caspian",
    "energy OR solar",
    "energy NOT caspian",
    "NOT energy",
    "(energy OR solar) AND NOT schools",
    "title:consultations",
    "place:ashgabat",
    '"solar panels"',
    '"foreign ministers"~3',
    "energ*",
    "turkmenstan~",
    "energy ANDMAYBE solar",
    "year:2023",
    "the",
    "zzzz nothing",
]


@pytest.fixture(scope="module")
def ranker(docs_engine):
    return docs_engine.snapshot().ranker


def whoosh_ids(searcher, q) -> set[int]:
    return set(q.matcher(searcher, searcher.boolean_context()).all_ids())


@pytest.mark.parametrize("text", QUERIES)
def test_matches_are_whooshs(ranker, text):
    searcher = ranker.searcher
    q = _expand_multiterms(parse_query(text, searcher.schema), searcher.reader())
    match, scores = ranker.evaluate(q)
    assert set(np.flatnonzero(match).tolist()) == whoosh_ids(searcher, q)
    assert np.all(scores[~match] == 0) and np.all(scores >= 0)


def write(folder, name: str, title: str, body: str) -> None:
    (folder / f"{name}.md").write_text(
        f"---\ntitle: {title}\ndate: 2024-01-02\n---\n{body}\n", encoding="utf-8"
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranker")
    docs = root / "docs"
    docs.mkdir()
    filler = "Officials met to review the year's programme of work. " * 4
    write(docs, "title", "Caspian pipeline talks", filler)
    write(docs, "body", "Ministers meet", filler + "The Caspian pipeline was discussed.")
    write(docs, "both", "Caspian summit", filler + "Talks on a pipeline.")
    write(docs, "one", "Weather report", filler + "Caspian storms.")
    for n in range(6):
        write(docs, f"other{n}", f"Notice {n}", filler)
    index_paths(root / "ix", [docs], procs=1)
    from searchsvc.searching import Engine

    with Engine(root / "ix") as engine:
        yield engine


def ranked_ids(engine, text: str) -> list[str]:
    from searchsvc.searching import SearchRequest

    return [h.id for h in engine.search(SearchRequest(q=text)).hits]


def test_every_word_ranks_above_some_words(small):
    order = ranked_ids(small, "caspian pipeline")
    assert set(order[:3]) == {"title", "both", "body"} and order[3:] == ["one"]


def test_a_title_match_outranks_the_same_word_in_the_body(small):
    order = ranked_ids(small, "storms OR pipeline")
    assert order.index("title") < order.index("body")


def test_a_word_in_title_and_body_is_saturated_not_doubled():
    both, body_twice, title_only = ranking.word_score(
        np.array([1.0, 0.0, 1.0]), np.array([1.0, 2.0, 0.0]), 1.0
    )
    assert both > body_twice  # a title match counts more than a second body match
    assert title_only < both < 2 * title_only  # but title and body are not two words


def test_idf_falls_as_words_get_commoner():
    assert ranking.idf(1000, 1) > ranking.idf(1000, 100) > ranking.idf(1000, 1000) > 0


def test_top_breaks_ties_by_document_number():
    match = np.array([True, True, True, False, True])
    keys = np.array([1.0, 2.0, 1.0, 9.0, 1.0])
    assert top(match, keys, 3).tolist() == [1, 0, 2]
    assert top(match, keys, 2, descending=False).tolist() == [0, 2]
    assert top(match, keys, 10).tolist() == [1, 0, 2, 4]


def test_an_empty_or_unknown_query_matches_nothing(ranker):
    for q in (wq.NullQuery, wq.Or([]), wq.Term("body", "zzzznotaword")):
        match, scores = ranker.evaluate(q)
        assert not match.any() and not scores.any()


def test_ranker_reads_lengths_of_every_document(ranker):
    assert set(ranker.norms) == {"title", "body", "exact"}
    for norm in ranker.norms.values():
        assert len(norm) == ranker.size and np.all(norm > 0)


def test_a_repeated_word_counts_as_often_as_the_query_holds_it(ranker):
    searcher = ranker.searcher
    q = parse_query("caspian", searcher.schema)
    match, once = ranker.evaluate(q)
    _, thrice = ranker.evaluate(q, repeats={"caspian": 3})
    assert match.any()
    np.testing.assert_allclose(thrice[match], 3 * once[match])


def test_repeated_words_are_counted_by_stem():
    from searchsvc.searching.search import repeated_words

    text = "Boundary layers: the boundary layer of a boundary, and the flow"
    assert repeated_words(text) == {"boundari": 3, "layer": 2}


def test_bm25l_scores_nothing_for_an_absent_word_and_saturates():
    scores = ranking.bm25(np.array([0.0, 0.5, 1.0, 4.0, 100.0]), 1.0)
    assert scores[0] == 0 and np.all(np.diff(scores) > 0)
    assert scores[-1] < ranking.K1 + 1  # bounded, as BM25 is


@pytest.mark.parametrize("seed", range(5))
def test_postings_at_ids_by_table_and_by_binary_search_agree(seed):
    """ranker._at's two ways (a table of every document, or a binary search per id)."""
    from searchsvc.scoring.ranker import _at

    rng = np.random.default_rng(seed)
    size = 5_000
    for share in (0.001, 0.01, 0.2, 0.9):
        found_ids = np.flatnonzero(rng.random(size) < share).astype(np.int32)
        tf = rng.integers(1, 9, len(found_ids)).astype(np.float32)
        for ids_share in (0.001, 0.05, 0.8):
            ids = np.flatnonzero(rng.random(size) < ids_share)
            by_search = _at((found_ids, tf), ids)  # no size: always the binary search
            by_table = _at((found_ids, tf), ids, size)
            assert np.array_equal(by_search[0], by_table[0])
            assert np.array_equal(by_search[1], by_table[1])
            assert np.array_equal(by_search[1], tf[np.isin(found_ids, ids)])


@pytest.mark.parametrize("seed", range(5))
def test_the_places_of_title_and_body_holders_among_either(seed):
    """ranker._places in each of its ways, against the running count it stands for."""
    from searchsvc.scoring.ranker import _places

    rng = np.random.default_rng(seed)
    size = 4_000
    body = np.flatnonzero(rng.random(size) < rng.choice([0.0, 0.001, 0.3]))
    cases = {
        "title within body": body[rng.random(len(body)) < 0.2],
        "body within title": np.union1d(body, np.flatnonzero(rng.random(size) < 0.01)),
        "apart": np.flatnonzero(rng.random(size) < rng.choice([0.001, 0.5])),
        "no title": body[:0],
    }
    for name, title in cases.items():
        match = np.zeros(size, dtype=bool)
        match[title] = match[body] = True
        ids = np.flatnonzero(match)
        at = np.cumsum(match) - 1
        title_at, body_at = _places(ids, title, body, match)
        assert np.array_equal(np.arange(len(ids))[title_at], at[title]), name
        assert np.array_equal(np.arange(len(ids))[body_at], at[body]), name
