"""Feedback (RM3): the best documents' words reorder the matches and never add one."""

from __future__ import annotations

import numpy as np
import pytest

from searchsvc.analysis import stem_term
from searchsvc.indexing import index_paths
from searchsvc.scoring import feedback, proximity
from searchsvc.searching import Engine, SearchRequest


def test_the_model_is_the_words_of_the_best_texts_summing_to_one():
    texts = ["Irrigation canals, irrigation farms.", "The canals of the farms.", "Weather."]
    model = feedback.relevance_model(texts, np.array([3.0, 1.0, 0.0]))
    assert sum(model.values()) == pytest.approx(1.0)
    # "irrigation" is half of the best text; "the" and "of" are stop words and count for nothing.
    assert max(model, key=model.get) == stem_term("irrigation")
    assert stem_term("weather") not in model  # its text scored 0
    assert "the" not in model and "of" not in model


def test_the_model_keeps_its_best_words_only():
    text = " ".join(f"word{n} " * (n + 1) for n in range(feedback.WORDS + 5))
    model = feedback.relevance_model([text], np.array([1.0]))
    assert len(model) == feedback.WORDS
    assert stem_term("word0") not in model  # the rarest left out


def test_only_the_opening_of_a_long_text_is_read():
    text = "filler " * (proximity.SCAN_CHARS // 7) + "irrigation " * 50
    assert stem_term("irrigation") not in feedback.relevance_model([text], np.array([1.0]))


def test_no_scores_no_model():
    assert feedback.relevance_model(["irrigation"], np.array([0.0])) == {}


BODIES = {
    "other": "Irrigation canals farms harvest.",  # holds the model's words, not the query's
    "p1": "Water report about weather storms today.",
    "p2": "Water report about irrigation canals today.",  # as long as p1, and the model's words
    "top1": "Water irrigation canals irrigation farms water.",
    "top2": "Water water irrigation canals farms harvest.",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    docs = root / "docs"
    docs.mkdir()
    for name, body in BODIES.items():
        (docs / f"{name}.md").write_text(
            f"---\ntitle: Notice\ndate: 2024-03-01\n---\n{body}\n", encoding="utf-8"
        )
    index_paths(root / "ix", [docs], procs=1)
    return root / "ix"


def _search(index, q: str):
    with Engine(index, cache_size=0) as engine:
        return engine.search(SearchRequest(q=q))


def test_feedback_lifts_the_document_that_shares_the_best_documents_words(index, monkeypatch):
    with_feedback = _search(index, "water")
    order = [h.id for h in with_feedback.hits]
    assert order.index("p2") < order.index("p1")
    monkeypatch.setattr(feedback, "WEIGHT", 0.0)  # without it, p1 and p2 tie: by number
    without = _search(index, "water")
    assert [h.id for h in without.hits].index("p1") < [h.id for h in without.hits].index("p2")
    # The same results, the same count: "other" holds the model's words but not the query's.
    assert {h.id for h in with_feedback.hits} == {h.id for h in without.hits}
    assert with_feedback.total == without.total == 4
    assert "other" not in order


def _counter_model(texts, doc_scores):
    """relevance_model as a Counter sums it, stem by stem (the reference for the numpy one)."""
    from collections import Counter

    total = float(np.sum(doc_scores))
    model: Counter[str] = Counter()
    for text, score in zip(texts, doc_scores.tolist(), strict=True):
        if score <= 0:
            continue
        stems, counts = feedback.stem_counts(text)
        length = sum(counts) or 1
        for stem, n in zip(stems, counts, strict=True):
            model[stem] += score / total * n / length
    best = dict(model.most_common(feedback.WORDS))
    norm = sum(best.values()) or 1.0
    return {stem: w / norm for stem, w in best.items()}


def test_the_model_is_a_counters_bit_for_bit_with_its_ties():
    # Two segments' vocabularies, openings of random stem ids (0: a stop word), and texts:
    # few distinct stems, so that sums tie often and the first-occurrence order decides.
    # The openings of vocabularies that share a StemTable are summed in its numbers; a
    # vocabulary numbered apart (the third), or a text, takes the stems' own path.
    from searchsvc.indexing.forward import Opening, StemTable, Vocabulary

    rng = np.random.default_rng(7)
    table = StemTable()
    vocabs = [
        Vocabulary(np.frombuffer("\n".join(names).encode(), dtype=np.uint8), shared)
        for names, shared in (
            (["alpha", "beta", "gamma", "delta"] + [f"w{k}" for k in range(30)], table),
            (["beta", "zeta"] + [f"w{k}" for k in range(0, 40, 2)], table),
            (["beta", "delta", "w1", "w4"], None),
        )
    ]
    paths = {"numbers": 0, "stems": 0}
    for trial in range(600):
        docs: list = []
        apart, texts = rng.random() < 0.2, rng.random() < 0.2
        for _ in range(int(rng.integers(1, 11))):
            if texts and rng.random() < 0.3:
                docs.append(" ".join(rng.choice(["beta", "zeta", "the", "w1", "w2"], 8)))
            else:
                vocab = vocabs[int(rng.integers(3 if apart else 2))]
                top = len(vocab.stems) if trial % 2 else 4
                ids = rng.integers(0, top, int(rng.integers(0, 60)))
                docs.append(Opening(ids.astype(np.int32), vocab))
        scores = rng.choice([0.0, 1.0, 2.0, 0.5, rng.random()], len(docs))
        got = feedback.relevance_model(docs, scores)
        assert list(got.items()) == list(_counter_model(docs, scores).items())
        kept = [(d, s) for d, s in zip(docs, scores.tolist(), strict=True) if s > 0]
        paths["numbers" if feedback._numbered(kept) else "stems"] += 1
    assert min(paths.values()) > 100, paths
