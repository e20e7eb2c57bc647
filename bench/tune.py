"""Ranking tuning with leave-one-collection-out cross-validation, in numpy.

    each collection --the product's analysis (stems, stop words)--> postings, field lengths,
                     word sequences of each document's opening (for proximity)
    a configuration --score every query of every collection--> nDCG@10 per collection
    LOCO: for each collection, the configuration best on the mean of the other three;
          its figure on the held-out one

Everything that does not depend on the parameters is computed once per collection, so a
configuration costs a second or two over all four collections. The scores follow the
product's formulas (scoring/bm25.py, ranker.py, proximity.py, the all-words clause of
searching/query.py), written again here with every parameter an argument; bench/relevance.py
measures the product itself; the two differ only where Whoosh's parser reads a query's
text otherwise than as its words (tests/test_tune.py checks they rank alike).

    nice -n 10 python bench/tune.py ../shared/relevance [--grid ablation|loco|base]
                                    [--set key=value] [--axis key=v1,v2] [--keep-stop-words]
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import itertools
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from nltk.stem.snowball import SnowballStemmer
from relevance import corpus_rows, read_qrels, read_queries

from searchsvc.analysis import WORD_RE, exact_term, stem_term
from searchsvc.indexing import length_of_byte

_STEMMER = SnowballStemmer("english")

SCAN_CHARS = 3_000
DEPTH = 30
COLLECTIONS = ("cisi", "cranfield", "npl", "scifact")


@dataclass(frozen=True)
class Config:
    """Every ranking parameter; the defaults are the product's (scoring/, searching/)."""

    k1: float = 1.6
    b: float = 0.8
    variant: str = "bm25l"  # bm25, bm25l, bm25+
    delta: float = 0.25  # BM25L / BM25+
    title_bonus: float = 0.25
    all_words_boost: float = 3.0
    max_all_words: int = 8
    qtf: str = "count"  # once, count, sqrt, log, k3:N (Robertson's (k3 + 1) n / (k3 + n))
    prune_df: float = 1.0  # drop query words held by more than this share of documents
    max_query_words: int = 0  # 0: all; else keep only this many words of highest idf
    idf_power: float = 1.0
    prox_weight: float = 0.6
    prox_window: int = 8
    rm3_docs: int = 0  # 0: no feedback
    rm3_terms: int = 20
    rm3_weight: float = 0.3  # share of the expansion in the new query


@dataclass
class Query:
    qid: str
    tokens: int  # whitespace tokens, as the parser counts words for the all-words clause
    stems: Counter  # stem -> how often the query holds it


class Prepared:
    """A collection's postings, lengths and word sequences, and its queries."""

    def __init__(self, folder: Path, qrels_file: str = "test.tsv", stop_words: bool = True):
        self.name = folder.name
        term_of = stem_term if stop_words else _stem_keeping_stop_words
        self.qrels = read_qrels(folder / "qrels" / qrels_file)
        texts = read_queries(folder / "queries.jsonl")
        vocab: dict[str, int] = {}
        title_post: dict[int, dict[int, int]] = {}
        body_post: dict[int, dict[int, int]] = {}
        self.ids: list[str] = []
        tlen, blen, self.sequences = [], [], []
        for n, (docid, title, body) in enumerate(corpus_rows(folder / "corpus.jsonl")):
            self.ids.append(docid)
            tlen.append(_count_into(title, vocab, title_post, n, term_of))
            blen.append(_count_into(body, vocab, body_post, n, term_of))
            opening = f"{title}\n{body}"[:SCAN_CHARS]
            seq = [vocab.get(s, -1) if s else -1 for s in map(term_of, WORD_RE.findall(opening))]
            self.sequences.append(np.array(seq, dtype=np.int64))
        self.size = len(self.ids)
        self.vocab = vocab
        self.tlen, self.blen = stored_length(tlen), stored_length(blen)
        # The average is of the true lengths, as Whoosh sums them.
        self.tavg, self.bavg = (sum(tlen) / self.size) or 1.0, (sum(blen) / self.size) or 1.0
        self.postings = {}
        for term in set(title_post) | set(body_post):
            t, bd = title_post.get(term, {}), body_post.get(term, {})
            docs = np.array(sorted(set(t) | set(bd)), dtype=np.int64)
            self.postings[term] = (
                docs,
                np.array([t.get(d, 0) for d in docs], float),
                np.array([bd.get(d, 0) for d in docs], float),
            )
        self.df = {t: len(p[0]) for t, p in self.postings.items()}
        self.doc_tf = _doc_term_counts(self)
        self.queries = []
        for qid in self.qrels:
            stems = Counter(
                vocab[s] for s in map(term_of, WORD_RE.findall(texts[qid])) if s in vocab
            )
            self.queries.append(Query(qid, len(texts[qid].split()), stems))
        self.rank_of_id = np.argsort(np.argsort(np.array(self.ids)))  # ties: id descending
        self._windows: dict[tuple, float] = {}

    def idf(self, term: int) -> float:
        df = self.df[term]
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))


# Whoosh keeps a field's length in one byte: the first of these values at or above it.
_LENGTHS = np.array([length_of_byte(b) for b in range(256)], dtype=np.float64)


def stored_length(lengths: list[int]) -> np.ndarray:
    """Field lengths as the index stores them, and the product's ranker reads them."""
    return _LENGTHS[np.minimum(np.searchsorted(_LENGTHS, lengths), 255)]


def _stem_keeping_stop_words(word: str) -> str | None:
    term = exact_term(word)
    return None if len(term) < 2 and not term.isdigit() else _STEMMER.stem(term)


def _count_into(text: str, vocab: dict, post: dict, n: int, term_of) -> int:
    length = 0
    for word in WORD_RE.findall(text):
        stem = term_of(word)
        if stem is None:
            continue
        term = vocab.setdefault(stem, len(vocab))
        post.setdefault(term, {})
        post[term][n] = post[term].get(n, 0) + 1
        length += 1
    return length


def _doc_term_counts(c: Prepared) -> list[dict[int, float]]:
    """Each document's title + body term counts (for RM3's feedback model)."""
    out: list[dict[int, float]] = [{} for _ in range(c.size)]
    for term, (docs, t, b) in c.postings.items():
        for d, tf in zip(docs.tolist(), (t + b).tolist(), strict=True):
            out[d][term] = tf
    return out


# -- scoring ------------------------------------------------------------------------------------


def saturate(tfn: np.ndarray, cfg: Config) -> np.ndarray:
    if cfg.variant == "bm25l":
        c = tfn + cfg.delta
        return (cfg.k1 + 1) * c / (cfg.k1 + c)
    base = (cfg.k1 + 1) * tfn / (cfg.k1 + tfn)
    return base + cfg.delta if cfg.variant == "bm25+" else base


QTF = {
    "once": lambda n: 1.0,
    "count": float,
    "sqrt": math.sqrt,
    "log": lambda n: 1 + math.log(n),
}


def qtf_weight(name: str, n: int) -> float:
    """How much a word the query holds n times counts; k3:N is Robertson's saturation."""
    if name.startswith("k3:"):
        k3 = float(name[3:])
        return (k3 + 1) * n / (k3 + n)
    return QTF[name](n)


def query_weights(c: Prepared, q: Query, cfg: Config) -> dict[int, float]:
    """Each query word's weight: idf x its query-term frequency, after pruning."""
    weights = {t: c.idf(t) ** cfg.idf_power * qtf_weight(cfg.qtf, n) for t, n in q.stems.items()}
    keep = [t for t in weights if c.df[t] <= cfg.prune_df * c.size] or list(weights)
    if cfg.max_query_words and len(keep) > cfg.max_query_words:
        keep = sorted(keep, key=lambda t: -c.idf(t))[: cfg.max_query_words]
    return {t: weights[t] for t in keep}


def base_scores(c: Prepared, weights: dict[int, float], cfg: Config, norms) -> np.ndarray:
    tnorm, bnorm = norms
    score = np.zeros(c.size)
    for term, w in weights.items():
        docs, t, b = c.postings[term]
        tn, bn = t / tnorm[docs], b / bnorm[docs]
        s = saturate(tn + bn, cfg)
        if cfg.title_bonus:
            s = s + cfg.title_bonus * np.where(t > 0, saturate(tn, cfg), 0.0)
        score[docs] += w * s
    return score


def all_words(c: Prepared, q: Query, weights: dict[int, float], score, cfg: Config):
    if not cfg.all_words_boost or not 2 <= q.tokens <= cfg.max_all_words or len(weights) < 2:
        return score
    hits = np.ones(c.size, dtype=bool)
    for term in weights:
        mask = np.zeros(c.size, dtype=bool)
        mask[c.postings[term][0]] = True
        hits &= mask
    return np.where(hits, score * (1 + cfg.all_words_boost), score)


def window(c: Prepared, doc: int, terms: tuple, idfs: np.ndarray, size: int) -> float:
    key = (doc, terms, size)
    found = c._windows.get(key)
    if found is not None:
        return found
    seq = c.sequences[doc]
    where = np.isin(seq, terms)
    positions = np.flatnonzero(where)
    best = 0.0
    if len(positions) >= 2:
        which = np.searchsorted(np.array(terms), seq[positions])
        present = np.zeros(len(positions))
        for k in np.unique(which):
            own = positions[which == k]
            inside = np.searchsorted(own, positions + size) > np.searchsorted(own, positions)
            present += idfs[k] * inside
        best = float(present.max())
    c._windows[key] = best
    return best


def rank(c: Prepared, q: Query, cfg: Config, norms) -> list[int]:
    """The top 10 document numbers for q under cfg."""
    weights = query_weights(c, q, cfg)
    if not weights:
        return []
    score = all_words(c, q, weights, base_scores(c, weights, cfg, norms), cfg)
    if cfg.rm3_docs:
        score = rm3(c, q, weights, score, cfg, norms)
    head = top(c, score, DEPTH)
    terms = tuple(sorted(q.stems))  # proximity: every query word, unweighted, by idf
    if cfg.prox_weight and len(terms) >= 2:
        idfs = np.array([c.idf(t) for t in terms])
        bonus = np.array([window(c, d, terms, idfs, cfg.prox_window) for d in head])
        head_scores = score[head] + cfg.prox_weight * bonus
        order = np.lexsort((-c.rank_of_id[head], -head_scores))
        head = head[order]
    return head[:10].tolist()


def top(c: Prepared, score: np.ndarray, k: int) -> np.ndarray:
    ids = np.flatnonzero(score > 0)
    if len(ids) > k:
        ids = ids[np.argpartition(-score[ids], k - 1)[:k]]
    return ids[np.lexsort((-c.rank_of_id[ids], -score[ids]))]


def rm3(c: Prepared, q: Query, weights, score, cfg: Config, norms) -> np.ndarray:
    """RM3: the original words mixed with the words of the best documents, rescored.

    As Anserini: each feedback document weighted by its share of the scores, the
    expansion and the query each normalised to sum to 1, then mixed and scored by BM25.
    """
    fb = top(c, score, cfg.rm3_docs)
    if not len(fb):
        return score
    doc_w = score[fb] / score[fb].sum()
    model: Counter = Counter()
    for d, w in zip(fb.tolist(), doc_w.tolist(), strict=True):
        tf = c.doc_tf[d]
        total = sum(tf.values()) or 1.0
        for term, n in tf.items():
            model[term] += w * n / total
    expansion = dict(model.most_common(cfg.rm3_terms))
    norm_e = sum(expansion.values()) or 1.0
    plain = {t: w / c.idf(t) ** cfg.idf_power for t, w in weights.items()}  # the qtf part
    norm_q = sum(plain.values()) or 1.0
    mixed = {t: (1 - cfg.rm3_weight) * w / norm_q for t, w in plain.items()}
    for t, w in expansion.items():
        mixed[t] = mixed.get(t, 0.0) + cfg.rm3_weight * w / norm_e
    return base_scores(c, {t: w * c.idf(t) for t, w in mixed.items()}, cfg, norms)


def ndcg10(ranked: list[int], c: Prepared, judged: dict[str, int]) -> float:
    dcg = sum(judged.get(c.ids[d], 0) / math.log2(i + 2) for i, d in enumerate(ranked))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def length_norms(c: Prepared, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """BM25's length normalisation of every document's title and body."""
    return (1 - cfg.b + cfg.b * c.tlen / c.tavg, 1 - cfg.b + cfg.b * c.blen / c.bavg)


def measure(c: Prepared, cfg: Config) -> float:
    """Mean nDCG@10 of cfg over the collection's judged queries."""
    norms = length_norms(c, cfg)
    return float(np.mean([ndcg10(rank(c, q, cfg, norms), c, c.qrels[q.qid]) for q in c.queries]))


# -- grids and cross-validation -------------------------------------------------------------


def grid(name: str) -> list[Config]:
    base = Config()
    if name == "ablation":
        return [base] + [replace(base, **change) for change in ABLATIONS]
    axes = GRIDS[name]
    keys = list(axes)
    return [
        replace(base, **dict(zip(keys, values, strict=True)))
        for values in itertools.product(*axes.values())
    ]


# Each lever changed alone from the product's configuration.
ABLATIONS = [
    {"b": 0.9, "variant": "bm25", "qtf": "once", "title_bonus": 0.5, "prox_window": 12},
    {"qtf": "once"},
    {"qtf": "sqrt"},
    {"prune_df": 0.25},
    {"max_query_words": 12},
    {"idf_power": 1.5},
    {"variant": "bm25"},
    {"variant": "bm25+"},
    {"delta": 0.5},
    {"k1": 1.2},
    {"k1": 2.0},
    {"b": 0.75},
    {"b": 0.9},
    {"title_bonus": 0.0},
    {"title_bonus": 0.5},
    {"all_words_boost": 0.0},
    {"prox_weight": 0.0},
    {"prox_window": 6},
    {"prox_window": 12},
    {"rm3_docs": 10, "rm3_terms": 10, "rm3_weight": 0.4},
]

GRIDS: dict[str, dict[str, list]] = {
    "base": {},
    # The grid of bench/README.md's leave-one-collection-out table: 96 configurations.
    "loco": {
        "qtf": ["once", "sqrt", "count"],
        "variant": ["bm25", "bm25l"],
        "k1": [1.2, 1.6],
        "b": [0.8, 0.9],
        "title_bonus": [0.25, 0.5],
        "prox_window": [8, 12],
    },
}


def loco(scores: dict[Config, dict[str, float]], names: list[str]) -> dict[str, tuple]:
    """For each collection: the config best on the mean of the others, and its figure."""
    out = {}
    for held in names:
        others = [n for n in names if n != held]
        best = max(scores, key=lambda cfg: np.mean([scores[cfg][n] for n in others]))
        out[held] = (best, scores[best][held])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", help="folder of BEIR-layout collections")
    parser.add_argument("--grid", default="ablation", choices=["ablation", *GRIDS])
    parser.add_argument("--set", action="append", default=[], help="base change: key=value")
    parser.add_argument(
        "--axis", action="append", default=[], help="a grid of your own: key=v1,v2 (repeatable)"
    )
    parser.add_argument("--json", help="write every configuration's figures here")
    parser.add_argument(
        "--keep-stop-words", action="store_true", help="index and ask stop words too"
    )
    args = parser.parse_args(argv)
    root = Path(args.folder)
    started = time.perf_counter()
    stops = not args.keep_stop_words
    tuning = {
        n: Prepared(root / n, "train.tsv" if n == "scifact" else "test.tsv", stops)
        for n in COLLECTIONS
    }
    test = {"scifact": Prepared(root / "scifact", "test.tsv", stops)}
    print(f"prepared in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    changes = dict(_setting(s) for s in args.set)
    if args.axis:
        GRIDS["axes"] = {
            key: [_setting(f"{key}={v}")[1] for v in values.split(",")]
            for key, values in (a.split("=", 1) for a in args.axis)
        }
        args.grid = "axes"
    configs = [replace(cfg, **changes) for cfg in grid(args.grid)]
    tune_scores: dict[Config, dict[str, float]] = {}
    test_scores: dict[Config, dict[str, float]] = {}
    for cfg in configs:
        tune_scores[cfg] = {n: measure(c, cfg) for n, c in tuning.items()}
        test_scores[cfg] = {**tune_scores[cfg], "scifact": measure(test["scifact"], cfg)}
        row = " ".join(f"{n} {tune_scores[cfg][n]:.4f}" for n in COLLECTIONS)
        print(f"{_diff(cfg)}: {row} | scifact test {test_scores[cfg]['scifact']:.4f}", flush=True)
    names = list(COLLECTIONS)
    print("\nleave one collection out (scifact: tuned on train, measured on test):")
    for held, (cfg, _) in loco(tune_scores, names).items():
        print(f"  {held}: {test_scores[cfg][held]:.4f} with {_diff(cfg)}")
    best = max(tune_scores, key=lambda cfg: np.mean(list(tune_scores[cfg].values())))
    print(f"best on all four: {_diff(best)}: {test_scores[best]}")
    if args.json:
        rows = [
            {"config": cfg.__dict__, "tuning": tune_scores[cfg], "test": test_scores[cfg]}
            for cfg in configs
        ]
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _setting(text: str) -> tuple[str, object]:
    key, value = text.split("=", 1)
    kind = type(getattr(Config(), key))
    return key, kind(value)  # type: ignore[call-arg]


def _diff(cfg: Config) -> str:
    base = Config()
    changed = {k: v for k, v in cfg.__dict__.items() if getattr(base, k) != v}
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "current"


if __name__ == "__main__":
    sys.exit(main())
