"""bench/tune.py scores as the product does: the same top ten on a small collection.

tune.py writes the product's ranking again in numpy, with every parameter an argument, to
choose the configuration; if the two drifted apart, it would tune something else than
what the product runs. Here both rank a seeded collection: the product through
bench/relevance.py (an index on disk, Engine.search), tune.py with its default Config,
which must be the product's.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench"
VOCABULARY = [
    "boundary",
    "layer",
    "flow",
    "pressure",
    "wing",
    "shock",
    "heat",
    "transfer",
    "cylinder",
    "plate",
    "turbulent",
    "laminar",
    "supersonic",
    "nozzle",
    "vortex",
    "wake",
    "drag",
    "lift",
    "surface",
    "velocity",
    "library",
    "catalog",
    "retrieval",
    "index",
    "journal",
    "citation",
    "protein",
    "cell",
    "gene",
    "tumour",
]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("tune", BENCH / "tune.py")
    assert spec and spec.loader
    tune = importlib.util.module_from_spec(spec)
    sys.modules["tune"] = tune  # its dataclasses look their module up there
    spec.loader.exec_module(tune)  # which puts bench/ last on sys.path and imports relevance
    yield tune, sys.modules["relevance"]
    del sys.modules["tune"]


# Function words (analysis.QUERY_STOP) that some documents hold.
FUNCTION_WORDS = ["what", "has", "been", "how", "which"]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(n))


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("mini")
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for n in range(80):
            title = _words(rng, rng.randint(0, 4)) if n % 5 else ""
            body = _words(rng, rng.randint(3, 150)) + " of the and"
            body += "".join(f" {rng.choice(FUNCTION_WORDS)}" for _ in range(rng.randint(0, 6)))
            f.write(json.dumps({"_id": f"d{n}", "title": title, "text": body}) + "\n")
    queries = {f"q{n}": _words(rng, rng.randint(1, 14)) for n in range(30)}
    queries["q-repeat"] = "boundary boundary boundary layer drag"
    # Function words: left out of the ranked words (the first), unless they are all (the second).
    queries["q-function"] = "What has been found about boundary layer drag, and how?"
    queries["q-function-only"] = "what has been"
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, text in queries.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (folder / "qrels").mkdir()
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{qid}\td{rng.randrange(80)}\t1" for qid in queries]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_tune_ranks_as_the_product_does(bench, collection, tmp_path):
    tune, relevance = bench
    product = relevance.run_searchsvc(relevance.load_collection(collection), tmp_path)
    prepared = tune.Prepared(collection)
    cfg = tune.Config()
    norms = tune.length_norms(prepared, cfg)
    for query in prepared.queries_without(cfg.query_stops):
        ours = [prepared.ids[d] for d in tune.rank(prepared, query, cfg, norms)]
        theirs = product.ranked[query.qid]
        # The same documents in the same order; documents with equal scores in either order.
        score_of = dict(theirs)
        assert all(d in score_of for d in ours), query.qid
        assert [score_of[d] for d in ours] == pytest.approx([s for _, s in theirs[:10]]), query.qid


def test_function_words_change_the_order(bench, collection):
    tune, _ = bench
    prepared = tune.Prepared(collection)
    cfg, kept = tune.Config(), tune.Config(query_stops="")
    norms = tune.length_norms(prepared, cfg)
    (query,) = [q for q in prepared.queries_without("function") if q.qid == "q-function"]
    (asked,) = [q for q in prepared.queries_without("") if q.qid == "q-function"]
    assert tune.rank(prepared, query, cfg, norms) != tune.rank(prepared, asked, kept, norms)


def test_the_repeated_word_changes_the_order(bench, collection):
    tune, _ = bench
    prepared = tune.Prepared(collection)
    query = next(q for q in prepared.queries if q.qid == "q-repeat")
    counted = tune.Config()
    once = tune.Config(qtf="once")
    norms = tune.length_norms(prepared, counted)
    assert tune.rank(prepared, query, counted, norms) != tune.rank(prepared, query, once, norms)
