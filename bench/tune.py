"""Ranking tuning with leave-one-collection-out cross-validation, in numpy.

    each collection --the product's analysis (stems, stop words)--> postings, field lengths,
                     word sequences of each document's opening (for proximity)
    a configuration --score every query of every collection--> nDCG@10 per collection
    LOCO: for each collection, the configuration best on the mean of the other three;
          its figure on the held-out one

Everything that does not depend on the parameters is computed once per collection, so a
configuration costs a second or two over all four collections. The scores follow the
product's formulas (scoring/bm25.py, ranker.py, proximity.py, the all-words clause of
searching/query.py, the function words a query leaves out), written again here with every
parameter an argument, beside levers the product does not use (RM3, SDM pairs, BM25F title
weight and B, idf variants, named query stop lists); bench/relevance.py
measures the product itself; the two differ only where Whoosh's parser reads a query's
text otherwise than as its words (tests/test_tune.py checks they rank alike).

    nice -n 10 python bench/tune.py ../shared/relevance [--grid ablation|loco|base]
                                    [--set key=value] [--axis key=v1,v2] [--keep-stop-words]
                                    [--stemmer porter|lancaster|s|none]
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
import re
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from nltk.stem.snowball import SnowballStemmer
from relevance import corpus_rows, read_qrels, read_queries

from searchsvc.analysis import QUERY_STOP, WORD_RE, exact_term, stem_term
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
    title_weight: float = 1.0  # BM25F: the title's normalised frequency counts this much
    b_title: float = -1.0  # the title's own B; below 0: B
    idf: str = "lucene"  # lucene: log(1 + (N - df + .5) / (df + .5)); bm25: log((N - df + .5)
    # / (df + .5)) floored at 0.01 x log(N); classic: log(N / df)
    prox_depth: int = 30
    prox_mode: str = "window"  # window: best window; pairs: sum over adjacent query pairs
    pair_ordered: float = 1.0  # pairs: weight of an ordered pair within pair_gap words
    pair_gap: int = 2
    pair_unordered: float = 1.0  # pairs: weight of both words within prox_window words
    pair_k: float = 1.0  # pairs: saturation of a pair's count
    len_prior: float = 0.0  # a document-length prior: + this x log(its length / the average)
    query_stops: str = "function"  # words left out of queries (QUERY_STOPS; "": none)


@dataclass
class Query:
    qid: str
    tokens: int  # whitespace tokens, as the parser counts words for the all-words clause
    stems: Counter  # stem -> how often the query holds it
    order: list[int]  # the query's stems in order, repeats kept
    unknown: bool = False  # a word no document holds (so none holds all the words)


class Prepared:
    """A collection's postings, lengths and word sequences, and its queries."""

    def __init__(
        self, folder: Path, qrels_file: str = "test.tsv", stop_words: bool = True, term_of=None
    ):
        self.name = folder.name
        term_of = term_of or (stem_term if stop_words else _stem_keeping_stop_words)
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
        self.term_of = term_of
        self.texts = {qid: texts[qid] for qid in self.qrels}
        self._queries: dict[str, list[Query]] = {}
        self.rank_of_id = np.argsort(np.argsort(np.array(self.ids)))  # ties: id descending
        self._windows: dict[tuple, float] = {}

    @property
    def queries(self) -> list[Query]:
        """The judged queries, every word kept."""
        return self.queries_without("")

    def queries_without(self, stops: str) -> list[Query]:
        """The judged queries less a named list of query stop words (QUERY_STOPS)."""
        if stops not in self._queries:
            self._queries[stops] = [self._query(q, t, stops) for q, t in self.texts.items()]
        return self._queries[stops]

    def _query(self, qid: str, text: str, stops: str) -> Query:
        # As query.py's without_function_words: bare words go, unless nothing else is left.
        tokens = text.split()
        if stops:
            listed = query_stops(stops)
            kept = []
            for i, tok in enumerate(tokens):
                plain = _PLAIN_WORD_RE.fullmatch(tok)
                beside = set(tokens[max(i - 1, 0) : i + 2]) & _OPERATORS
                if not (plain and exact_term(plain.group(1)) in listed) or beside:
                    kept.append(tok)
            if any(self.term_of(w) for w in WORD_RE.findall(" ".join(kept))):
                tokens = kept
        stems = [s for s in map(self.term_of, WORD_RE.findall(" ".join(tokens))) if s]
        order = [self.vocab[s] for s in stems if s in self.vocab]
        return Query(qid, len(tokens), Counter(order), order, len(order) < len(stems))

    def idf(self, term: int, kind: str = "lucene") -> float:
        df = self.df[term]
        if kind == "bm25":
            return max(math.log((self.size - df + 0.5) / (df + 0.5)), 0.01 * math.log(self.size))
        if kind == "classic":
            return math.log(self.size / df)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))


# Whoosh keeps a field's length in one byte: the first of these values at or above it.
_LENGTHS = np.array([length_of_byte(b) for b in range(256)], dtype=np.float64)


def stored_length(lengths: list[int]) -> np.ndarray:
    """Field lengths as the index stores them, and the product's ranker reads them."""
    return _LENGTHS[np.minimum(np.searchsorted(_LENGTHS, lengths), 255)]


def _s_stem(term: str) -> str:
    """Harman's S stemmer: plural endings only."""
    if term.endswith("ies") and not term.endswith(("eies", "aies")):
        return term[:-3] + "y"
    if term.endswith("es") and not term.endswith(("aes", "ees", "oes")):
        return term[:-1]
    if term.endswith("s") and not term.endswith(("us", "ss")):
        return term[:-1]
    return term


def other_stemmer(name: str):
    """The product's analysis with another stemmer (the index would be rebuilt)."""
    from nltk.stem import LancasterStemmer, PorterStemmer

    stem = {
        "porter": PorterStemmer().stem,
        "lancaster": LancasterStemmer().stem,
        "s": _s_stem,
        "none": lambda t: t,
    }[name]
    cache: dict[str, str | None] = {}

    def term_of(word: str) -> str | None:
        found = cache.get(word, "")
        if found == "":
            found = stem(exact_term(word)) if stem_term(word) is not None else None
            cache[word] = found
        return found

    return term_of


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
    weights = {
        t: c.idf(t, cfg.idf) ** cfg.idf_power * qtf_weight(cfg.qtf, n) for t, n in q.stems.items()
    }
    keep = [t for t in weights if c.df[t] <= cfg.prune_df * c.size] or list(weights)
    if cfg.max_query_words and len(keep) > cfg.max_query_words:
        keep = sorted(keep, key=lambda t: -c.idf(t, cfg.idf))[: cfg.max_query_words]
    return {t: weights[t] for t in keep}


def base_scores(c: Prepared, weights: dict[int, float], cfg: Config, norms) -> np.ndarray:
    tnorm, bnorm = norms
    score = np.zeros(c.size)
    for term, w in weights.items():
        docs, t, b = c.postings[term]
        tn, bn = t / tnorm[docs], b / bnorm[docs]
        s = saturate(cfg.title_weight * tn + bn, cfg)
        if cfg.title_bonus:
            s = s + cfg.title_bonus * np.where(t > 0, saturate(tn, cfg), 0.0)
        score[docs] += w * s
    return score


def all_words(c: Prepared, q: Query, weights: dict[int, float], score, cfg: Config):
    if not cfg.all_words_boost or not 2 <= q.tokens <= cfg.max_all_words or len(weights) < 2:
        return score
    if q.unknown:
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


def pair_count(c: Prepared, doc: int, a: int, b: int, cfg: Config) -> tuple[int, int]:
    """How often a is followed by b within pair_gap words, and near b within prox_window."""
    key = (doc, a, b, cfg.pair_gap, cfg.prox_window)
    found = c._windows.get(key)
    if found is not None:
        return found
    seq = c.sequences[doc]
    pa, pb = np.flatnonzero(seq == a), np.flatnonzero(seq == b)
    if not len(pa) or not len(pb):
        out = (0, 0)
    else:
        ordered = np.searchsorted(pb, pa + cfg.pair_gap, "right") > np.searchsorted(pb, pa, "right")
        near = np.searchsorted(pb, pa + cfg.prox_window, "left") > np.searchsorted(
            pb, pa - cfg.prox_window + 1, "left"
        )
        out = (int(ordered.sum()), int(near.sum()))
    c._windows[key] = out
    return out


def pair_bonus(c: Prepared, doc: int, pairs: list[tuple[int, int]], cfg: Config) -> float:
    """Sequential dependence: each adjacent pair of query words, ordered and unordered."""
    total = 0.0
    k = cfg.pair_k
    for a, b in pairs:
        ordered, near = pair_count(c, doc, a, b, cfg)
        w = (c.idf(a, cfg.idf) + c.idf(b, cfg.idf)) / 2
        total += w * (
            cfg.pair_ordered * ordered * (k + 1) / (ordered + k)
            + cfg.pair_unordered * near * (k + 1) / (near + k)
        )
    return total


def query_pairs(q: Query) -> list[tuple[int, int]]:
    """Adjacent distinct query words, each pair once."""
    out: list[tuple[int, int]] = []
    for a, b in zip(q.order, q.order[1:], strict=False):
        if a != b and (a, b) not in out:
            out.append((a, b))
    return out


_FUNCTION_MEANING = (
    "no nor not more most than between against before after above below up down over under "
    "during few same only own off out further again once too very"
)
QUERY_STOPS = {
    # The product's: function words, asked of the query only (analysis.QUERY_STOP).
    "function": " ".join(sorted(QUERY_STOP)),
    # The same less the words that can carry meaning in a claim (no, more, than, after, ...).
    "function-core": " ".join(sorted(QUERY_STOP - set(_FUNCTION_MEANING.split()))),
    # Words that phrase a request rather than say what it is about (INQUERY kept such a list).
    "request": (
        "find give describe describes described describing discuss discusses discussed "
        "discussing discussion document documents paper papers article articles report reports "
        "publication publications literature reference references information concerning "
        "regarding relating pertaining please anyone wish want know interested available exist "
        "exists existing"
    ),
}
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# query.py's plain word (there, word? is read as a group that the same rule drops)
_PLAIN_WORD_RE = re.compile(r"(\w+(?:['’]\w+)*)[.,;:!?]*")


def query_stops(name: str) -> frozenset[str]:
    """The words (folded) of a list, or of lists joined by +."""
    return frozenset(w for part in name.split("+") for w in QUERY_STOPS[part].split())


def rank(c: Prepared, q: Query, cfg: Config, norms) -> list[int]:
    """The top 10 document numbers for q under cfg."""
    weights = query_weights(c, q, cfg)
    if not weights:
        return []
    score = all_words(c, q, weights, base_scores(c, weights, cfg, norms), cfg)
    if cfg.len_prior:
        length = (c.tlen + c.blen) / (c.tavg + c.bavg)
        score = np.where(score > 0, score + cfg.len_prior * np.log(np.maximum(length, 0.05)), 0)
    if cfg.rm3_docs:
        score = rm3(c, q, weights, score, cfg, norms)
    head = top(c, score, cfg.prox_depth)
    terms = tuple(sorted(q.stems))  # proximity: every query word, unweighted, by idf
    if cfg.prox_weight and len(terms) >= 2:
        if cfg.prox_mode == "pairs":
            pairs = query_pairs(q)
            bonus = np.array([pair_bonus(c, d, pairs, cfg) for d in head])
        else:
            idfs = np.array([c.idf(t, cfg.idf) for t in terms])
            bonus = np.array([window(c, d, terms, idfs, cfg.prox_window) for d in head])
            if cfg.prox_mode == "both":
                pairs = query_pairs(q)
                bonus = bonus + np.array([pair_bonus(c, d, pairs, cfg) for d in head])
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
    plain = {t: w / c.idf(t, cfg.idf) ** cfg.idf_power for t, w in weights.items()}  # the qtf part
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
    bt = cfg.b if cfg.b_title < 0 else cfg.b_title
    return (1 - bt + bt * c.tlen / c.tavg, 1 - cfg.b + cfg.b * c.blen / c.bavg)


def measure(c: Prepared, cfg: Config) -> float:
    """Mean nDCG@10 of cfg over the collection's judged queries."""
    norms = length_norms(c, cfg)
    queries = c.queries_without(cfg.query_stops)
    return float(np.mean([ndcg10(rank(c, q, cfg, norms), c, c.qrels[q.qid]) for q in queries]))


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
    {"query_stops": ""},
    {"query_stops": "function-core"},
    {"query_stops": "function+request"},
    {
        "query_stops": "",
        "b": 0.9,
        "variant": "bm25",
        "qtf": "once",
        "title_bonus": 0.5,
        "prox_window": 12,
    },
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
    {"prox_depth": 100},
    {"prox_mode": "pairs", "prox_weight": 0.2},
    {"prox_mode": "both", "pair_ordered": 0.15, "pair_unordered": 0.0},
    {"prox_mode": "both", "pair_ordered": 0.05, "pair_unordered": 0.05},
    {"title_weight": 2.0, "title_bonus": 0.0},
    {"title_weight": 2.0},
    {"b_title": 0.5},
    {"idf": "bm25"},
    {"idf": "classic"},
]

GRIDS: dict[str, dict[str, list]] = {
    "base": {},
    # The grid of bench/README.md's leave-one-collection-out table: 72 configurations.
    "loco": {
        "query_stops": ["", "function"],
        "qtf": ["once", "count"],
        "k1": [1.2, 1.6, 2.0],
        "b": [0.7, 0.8, 0.9],
        "prox_window": [6, 8],
    },
    # The first grid (before query stop words): 96 configurations.
    "loco-first": {
        "query_stops": [""],
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
    parser.add_argument(
        "--stemmer",
        choices=["porter", "lancaster", "s", "none"],
        help="another stemmer than the index's Snowball (a change would need a rebuild)",
    )
    args = parser.parse_args(argv)
    root = Path(args.folder)
    started = time.perf_counter()
    stops = not args.keep_stop_words
    term_of = other_stemmer(args.stemmer) if args.stemmer else None
    tuning = {
        n: Prepared(root / n, "train.tsv" if n == "scifact" else "test.tsv", stops, term_of)
        for n in COLLECTIONS
    }
    test = {"scifact": Prepared(root / "scifact", "test.tsv", stops, term_of)}
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
