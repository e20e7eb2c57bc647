"""The pruned top k (scoring/topk.py): the same documents and scores as scoring every match."""

from __future__ import annotations

import random

import numpy as np
import pytest

from searchsvc.indexing import index_paths
from searchsvc.scoring import feedback, form_scores, relevance_model, top
from searchsvc.scoring.postings import PostingCache
from searchsvc.scoring.ranker import Ranker
from searchsvc.scoring.topk import best
from searchsvc.searching import open_backend
from searchsvc.searching.query import parse_query, query_terms
from searchsvc.searching.search import _text, own_forms, repeated_words

WORDS = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}x" for i in range(120)]
WORDS += ["report", "reports", "reporting", "energy", "energies", "solar", "panel", "panels"]


def _zipf_words(rng: random.Random, n: int) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return rng.choices(WORDS, weights=weights, k=n)


@pytest.fixture(scope="module")
def zipf_engine(tmp_path_factory):
    """400 releases of words drawn from a Zipf law: common words match most of them."""
    rng = random.Random(5)
    root = tmp_path_factory.mktemp("zipf")
    docs = root / "docs"
    docs.mkdir()
    for i in range(400):
        title = " ".join(_zipf_words(rng, rng.randint(2, 8)))
        body = " ".join(_zipf_words(rng, rng.randint(20, 400)))
        (docs / f"r{i:03d}.md").write_text(
            f"---\ntitle: {title}\ndate: 2024-01-02\n---\n{body}\n", encoding="utf-8"
        )
    index_dir = root / "index"
    assert index_paths(index_dir, [docs], procs=1).total == 400
    with open_backend(index_dir, cache_size=0) as engine:
        yield engine


QUERIES = [
    "report",
    "energy solar",
    "reports reporting panel",
    "solar solar energy",
    "waax",
    "wbax waax report",
    '"solar panel" energy',
    "energy NOT solar",
    "wzbx",
]


def _reference(ranker, searcher, match, scores, text, count):
    """search.py's ranking before pruning: every match scored, forms and feedback in full."""
    idf_of = ranker.word_idfs(sorted(_stems(ranker, text)))
    forms = own_forms(text, idf_of)
    if forms:
        scores[:] = np.where(scores > 0, scores + form_scores(ranker, forms), 0.0)
    head = top(match & (scores > 0), scores, feedback.DOCS)
    if len(head):
        texts = [_text(searcher.stored_fields(int(n))) for n in head]
        model = relevance_model(texts, scores[head])
        words = sum(repeated_words(text).get(stem, 1) for stem in idf_of)
        feedback.rescore(ranker, scores, model, words)
    return top(match, scores, count), idf_of, forms


def _stems(ranker, text: str) -> set[str]:
    q = parse_query(text, ranker.searcher.schema)
    return set(query_terms(q, ranker.reader).stems)


@pytest.mark.parametrize("count", [1, 10, 30, 200])
@pytest.mark.parametrize("text", QUERIES)
def test_same_top_and_scores_as_scoring_every_match(zipf_engine, text, count):
    snap = zipf_engine.snapshot()
    ranker, searcher = snap.ranker, snap.searcher
    match, scores = ranker.evaluate(parse_query(text, searcher.schema), None, repeated_words(text))
    want_scores = scores.copy()
    want, idf_of, forms = _reference(ranker, searcher, match, want_scores, text, count)
    if not idf_of:
        pytest.skip(f"{text!r} ranks by no word the index holds")
    words = sum(repeated_words(text).get(stem, 1) for stem in idf_of)

    def texts(head):
        return [_text(searcher.stored_fields(int(n))) for n in head]

    got = best(ranker, match, scores, count, forms, texts, words)
    assert got.tolist() == want.tolist()
    assert scores[got].tolist() == want_scores[got].tolist()  # bit for bit
    assert np.all(scores[match] <= want_scores[match] * (1 + 1e-9) + 1e-12)


@pytest.mark.parametrize("text", QUERIES)
def test_same_top_when_no_posting_list_stays_in_memory(zipf_engine, text):
    # At many times the corpus common words' lists outgrow the posting cache: the scores at
    # the candidates then come from the blocks that hold them (PostingCache.near).
    searcher = zipf_engine.snapshot().searcher
    ranker = Ranker(searcher)
    ranker.postings = PostingCache(searcher.reader(), budget=0)
    match, scores = ranker.evaluate(parse_query(text, searcher.schema), None, repeated_words(text))
    want_scores = scores.copy()
    want, idf_of, forms = _reference(ranker, searcher, match, want_scores, text, 10)
    if not idf_of:
        pytest.skip(f"{text!r} ranks by no word the index holds")
    got = _best_ten(ranker, searcher, match, scores, text, idf_of, forms)
    assert got.tolist() == want.tolist()
    assert scores[got].tolist() == want_scores[got].tolist()  # bit for bit
    assert not ranker.postings.cached("body", "report")


def _evaluated(engine, text):
    """The engine's ranker and searcher, the query's matches and scores, and a copy of
    the scores (topk.best lowers the ones it leaves out)."""
    snap = engine.snapshot()
    ranker, searcher = snap.ranker, snap.searcher
    match, scores = ranker.evaluate(parse_query(text, searcher.schema), None, {})
    return ranker, searcher, match, scores, scores.copy()


def _best_ten(ranker, searcher, match, scores, text, idf_of, forms):
    """topk.best's first ten, the feedback documents' texts read from the stored fields."""
    words = sum(repeated_words(text).get(stem, 1) for stem in idf_of)

    def texts(head):
        return [_text(searcher.stored_fields(int(n))) for n in head]

    return best(ranker, match, scores, 10, forms, texts, words)


def test_common_words_are_not_scored_everywhere(zipf_engine):
    """A common word matches most releases; only those that can reach the top are rescored."""
    text = "report energy"
    ranker, searcher, match, scores, full = _evaluated(zipf_engine, text)
    want, idf_of, forms = _reference(ranker, searcher, match, full, text, 10)
    got = _best_ten(ranker, searcher, match, scores, text, idf_of, forms)
    assert got.tolist() == want.tolist()
    assert np.count_nonzero(match) > 100
    # The matches left out keep a lower bound, not their full score.
    assert np.count_nonzero(scores[match] != full[match]) > np.count_nonzero(match) // 2


@pytest.mark.parametrize("word", ["report", "energi", "waax", "wzbx", "nowhere"])
def test_word_scored_at_holders_only_is_the_dense_score(zipf_engine, word):
    """Ranker.word scores the holders only: bit for bit what a pass over every document gives."""
    from searchsvc.scoring import bm25

    ranker = zipf_engine.snapshot().ranker
    t_ids, t_tf = ranker.postings.get("title", word)
    b_ids, b_tf = ranker.postings.get("body", word)
    title, body = np.zeros(ranker.size), np.zeros(ranker.size)
    title[t_ids] = t_tf / ranker.norms["title"][t_ids]
    body[b_ids] = b_tf / ranker.norms["body"][b_ids]
    weight = bm25.idf(ranker.size, ranker.word_df(word)) * 1.7
    match, score = ranker.word(word, 1.7)
    assert np.array_equal(match, (title > 0) | (body > 0))
    assert score.tolist() == bm25.word_score(title, body, weight).tolist()


def test_feedback_words_drop_candidates_that_cannot_reach_the_top(zipf_engine, monkeypatch):
    """As feedback's words are added, MaxScore's bound of the rest shrinks: later words are
    scored at fewer candidates, and the answer is still that of scoring every match."""
    text = "report"
    ranker, searcher, match, scores, full = _evaluated(zipf_engine, text)
    want, idf_of, forms = _reference(ranker, searcher, match, full, text, 10)
    scored: list[int] = []
    word_at = ranker.word_at

    def counting(stem, ids, factor=1.0):
        scored.append(len(ids))
        return word_at(stem, ids, factor)

    monkeypatch.setattr(ranker, "word_at", counting)
    got = _best_ten(ranker, searcher, match, scores, text, idf_of, forms)
    assert got.tolist() == want.tolist()
    assert scores[got].tolist() == full[got].tolist()  # bit for bit
    assert len(scored) == feedback.WORDS and scored[0] > 10
    assert scored[-1] < scored[0], scored  # candidates were dropped on the way
