"""Ranking tuning with leave-one-collection-out cross-validation, in numpy.

    each collection --the product's analysis (stems, stop words)--> postings, field lengths,
                     word sequences of each document's opening (for proximity)
    a configuration --score every query of every collection--> nDCG@10 per collection
    LOCO: for each collection, the configuration best on the mean of the other three;
          its figure on the held-out one

Everything that does not depend on the parameters is computed once per collection, so a
configuration costs a second or two over all four collections. The scores follow the
product's formulas (scoring/bm25.py, ranker.py, feedback.py, proximity.py, the all-words
clause of searching/query.py, the function words a query leaves out), written again here
with every parameter an argument, beside levers the product does not use (SDM pairs, BM25F
title weight and B, idf variants, named query stop lists, the unstemmed exact field, DFR
models and Dirichlet LM alone or fused, Bo1 expansion, title bigrams, RM3's words by
document frequency, expansion from the collection's co-occurrences, and with --analysis
Greek letters spelled out and hyphenated compounds joined); bench/relevance.py
measures the product itself; the two differ only where Whoosh's parser reads a query's
text otherwise than as its words (tests/test_tune.py checks they rank alike).

    nice -n 10 python bench/tune.py ../shared/relevance [--grid ablation|loco-rm3|loco|base]
                                    [--set key=value] [--axis key=v1,v2] [--keep-stop-words]
                                    [--stemmer porter|lancaster|s|none]
                                    [--analysis greek|compounds-short|compounds-all[-parts|-joined]]
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

from searchsvc import analysis
from searchsvc.analysis import QUERY_STOP, WORD_CHAR, WORD_RE, exact_term, stem_term
from searchsvc.indexing import length_of_byte

_STEMMER = SnowballStemmer("english")

SCAN_CHARS = 3_000
DEPTH = 30
COLLECTIONS = ("cisi", "cranfield", "npl", "scifact")


@dataclass(frozen=True)
class Config:
    """Every ranking parameter; the defaults are the product's (scoring/, searching/)."""

    k1: float = 1.2
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
    rm3_docs: int = 10  # feedback (scoring/feedback.py); 0: none
    rm3_terms: int = 10
    rm3_weight: float = 0.2  # the relevance model's share of the new score
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
    exact_weight: float = 0.1  # + this x BM25L of the query's own word forms (the exact field)
    alt_model: str = ""  # a second ranker over title + body: dph, pl2, inl2, lm ("": none)
    alt_weight: float = 0.0  # its share, each ranker's scores scaled to the best one's
    alt_c: float = 1.0  # PL2 / InL2's length normalisation
    alt_mu: float = 1000.0  # Dirichlet LM's smoothing
    fusion: str = "sum"  # sum: CombSUM of max-normalised scores; rrf: reciprocal ranks (k 60)
    bo1_docs: int = 0  # Bo1 query expansion (Terrier): feedback documents (0: none)
    bo1_terms: int = 10
    bo1_beta: float = 0.4  # the expansion words' weight beside the query's (max 1)
    rm3_min_docs: int = 1  # RM3: an expansion word must be in this many feedback documents
    rm3_opening: bool = True  # RM3: read each feedback document's opening (SCAN_CHARS) only
    title_pairs: float = 0.0  # re-rank: + this x idf of adjacent query pairs adjacent in the title
    rm3_max_df: float = 1.0  # RM3: leave out words held by more than this share of documents
    rm3_uniform: bool = False  # RM3: each feedback document weighs alike (not by its score)
    cooc_terms: int = 0  # collection co-occurrence expansion: words added (0: none)
    cooc_weight: float = 0.1  # their share of the new score, as RM3's
    cooc_max_df: float = 0.1  # query words held by more than this share of documents expand not


@dataclass
class Query:
    qid: str
    tokens: int  # whitespace tokens, as the parser counts words for the all-words clause
    stems: Counter  # stem -> how often the query holds it
    order: list[int]  # the query's stems in order, repeats kept
    unknown: bool = False  # a word no document holds (so none holds all the words)
    exact: Counter | None = None  # the ranked words' own forms (exact field) -> how often


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
        exact_vocab: dict[str, int] = {}
        exact_post: dict[int, dict[int, int]] = {}
        elen, self.title_words = [], []
        for n, (docid, title, body) in enumerate(corpus_rows(folder / "corpus.jsonl")):
            self.ids.append(docid)
            tlen.append(_count_into(title, vocab, title_post, n, term_of))
            blen.append(_count_into(body, vocab, body_post, n, term_of))
            elen.append(_count_into(f"{title}\n{body}", exact_vocab, exact_post, n, exact_term))
            self.title_words.append(len(WORD_RE.findall(title)))
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
        self.cf = {t: float(p[1].sum() + p[2].sum()) for t, p in self.postings.items()}
        self.exact_vocab = exact_vocab
        self.exact_postings = {
            t: (np.array(sorted(d), dtype=np.int64), np.array([d[k] for k in sorted(d)], float))
            for t, d in exact_post.items()
        }
        self.elen = stored_length(elen)
        self.eavg = (sum(elen) / self.size) or 1.0
        self.doc_tf = _doc_term_counts(self)
        self.term_of = term_of
        self.texts = {qid: texts[qid] for qid in self.qrels}
        self._queries: dict[str, list[Query]] = {}
        self.rank_of_id = np.argsort(np.argsort(np.array(self.ids)))  # ties: id descending
        self._windows: dict[tuple, float] = {}
        self._openings: dict[int, Counter] = {}

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
        text = " ".join(tokens)
        words = (
            WORD_RE.query_words(text) if isinstance(WORD_RE, Compounds) else WORD_RE.findall(text)
        )
        stems = [s for s in map(self.term_of, words) if s]
        order = [self.vocab[s] for s in stems if s in self.vocab]
        exact = Counter(
            self.exact_vocab[exact_term(w)]
            for w in words
            if self.term_of(w) and exact_term(w) in self.exact_vocab
        )
        return Query(qid, len(tokens), Counter(order), order, len(order) < len(stems), exact)

    def opening_tf(self, doc: int) -> Counter:
        """The term counts of a document's opening (title and body, SCAN_CHARS), as read."""
        found = self._openings.get(doc)
        if found is None:
            found = self._openings[doc] = Counter(t for t in self.sequences[doc].tolist() if t >= 0)
        return found

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


# α (U+03B1) to ω (U+03C9), final sigma (U+03C2) included.
_GREEK_NAMES = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
_GREEK_NAMES += " pi rho sigma sigma tau upsilon phi chi psi omega"
# Greek letters as a scientific text uses them (TNF-α, NF-κB): spelled out, as other texts
# write them (TNF-alpha); mu is left alone (μg, μM are units).
_SPELL = str.maketrans(
    {chr(0x3B1 + i): name for i, name in enumerate(_GREEK_NAMES.split()) if name != "mu"}
)
_GREEK_RE = re.compile("[\u0370-\u03ff]")


def spelled(word: str) -> str:
    """A word's Greek letters spelled out, unless it is a Greek word (3+ Greek letters only)."""
    if word.isascii():
        return word
    low = analysis.exact_term(word)
    if len(low) >= 3 and len(_GREEK_RE.findall(low)) == len(low):
        return word
    return low.translate(_SPELL)


class Compounds:
    """WORD_RE's words, each hyphenated compound followed by its parts joined ("il6").

    which: "all" (every compound) or "short" (a part with a digit, a Greek letter or of at
    most 3 characters: IL-6, TNF-α, COVID-19, not "long-term").
    """

    _RE = re.compile(f"{WORD_CHAR}+(?:[.'’]{WORD_CHAR}+)*(?:-{WORD_CHAR}+(?:[.'’]{WORD_CHAR}+)*)+")

    def __init__(self, which: str, query: str = "both"):
        self.which = which
        self.query = query  # as a query splits: both (parts and joined), parts, joined

    def _joins(self, parts: list[str]) -> bool:
        if self.which == "all":
            return True
        return any(len(p) <= 3 or not p.isalpha() or _GREEK_RE.search(p) for p in parts)

    def findall(self, text: str) -> list[str]:
        joined = {}
        for m in self._RE.finditer(text):
            parts = m.group().split("-")
            if self._joins(parts):
                joined[m.end()] = "".join(parts)
        out = []
        for m in analysis.WORD_RE.finditer(text):
            out.append(m.group())
            if m.end() in joined:
                out.append(joined[m.end()])
        return out

    def query_words(self, text: str) -> list[str]:
        """The words a query ranks by: as findall, or the parts only, or the joined only."""
        if self.query == "parts":
            return analysis.WORD_RE.findall(text)
        if self.query == "both":
            return self.findall(text)
        out = analysis.WORD_RE.findall(text)
        for m in self._RE.finditer(text):
            parts = m.group().split("-")
            if self._joins(parts):
                out.append("".join(parts))
                for p in analysis.WORD_RE.findall(m.group()):
                    out.remove(p)
        return out


def _spelling(term_of):
    """term_of, the word's Greek letters spelled out first."""
    return lambda word: term_of(spelled(word))


def other_analysis(name: str) -> None:
    """Rebinds this module's analysis: greek, compounds-all, compounds-short, joined by +."""
    global WORD_RE, exact_term, stem_term
    for part in name.split("+"):
        if part == "greek":
            stem_term, exact_term = _spelling(stem_term), _spelling(exact_term)
        elif part.startswith("compounds-"):
            WORD_RE = Compounds(*part.split("-")[1:])  # type: ignore[assignment]
        else:
            raise ValueError(part)


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


def exact_scores(c: Prepared, q: Query, cfg: Config) -> np.ndarray:
    """BM25L of the query's own word forms in the exact field (title + body, unstemmed)."""
    score = np.zeros(c.size)
    enorm = 1 - cfg.b + cfg.b * c.elen / c.eavg
    for term, n in (q.exact or {}).items():
        docs, tf = c.exact_postings[term]
        df = len(docs)
        w = math.log(1 + (c.size - df + 0.5) / (df + 0.5)) * qtf_weight(cfg.qtf, n)
        score[docs] += w * saturate(tf / enorm[docs], cfg)
    return score


def alt_scores(c: Prepared, weights: dict[int, float], cfg: Config) -> np.ndarray:
    """A second ranker over title + body as one field: DFR (DPH, PL2, InL2) or Dirichlet LM.

    As Terrier writes them; each query word weighted by its query-term frequency.
    """
    length = c.tlen + c.blen
    avg = float(length.mean()) or 1.0
    tokens = float(length.sum()) or 1.0
    score = np.zeros(c.size)
    matched = np.zeros(c.size, dtype=bool)
    for term, w in weights.items():
        qtf = w / c.idf(term, cfg.idf) ** cfg.idf_power
        docs, t, b = c.postings[term]
        tf = t + b
        dl = np.maximum(length[docs], tf)
        cf, df = c.cf[term], c.df[term]
        matched[docs] = True
        if cfg.alt_model == "dph":
            f = np.minimum(tf / dl, 0.999)
            norm = (1 - f) ** 2 / (tf + 1)
            s = norm * (
                tf * np.log2(tf * avg / dl * c.size / cf)
                + 0.5 * np.log2(2 * math.pi * tf * (1 - f))
            )
        elif cfg.alt_model in ("pl2", "inl2"):
            tfn = tf * np.log2(1 + cfg.alt_c * avg / dl)
            if cfg.alt_model == "pl2":
                lam = cf / c.size
                s = (
                    tfn * np.log2(tfn / lam)
                    + (lam - tfn) * math.log2(math.e)
                    + 0.5 * np.log2(2 * math.pi * tfn)
                ) / (tfn + 1)
            else:
                s = tfn * math.log2((c.size + 1) / (df + 0.5)) / (tfn + 1)
        elif cfg.alt_model == "lm":
            s = np.log(1 + tf / (cfg.alt_mu * cf / tokens))
        else:
            raise ValueError(cfg.alt_model)
        score[docs] += qtf * np.maximum(s, 0.0)
    if cfg.alt_model == "lm":  # the document's smoothing, for every query word
        total = sum(w / c.idf(t, cfg.idf) ** cfg.idf_power for t, w in weights.items())
        prior = total * np.log(cfg.alt_mu / (length + cfg.alt_mu))
        score = np.where(matched, score + prior, 0.0)
        score = (
            np.where(matched, score - score[matched].min() + 1e-9, 0.0) if matched.any() else score
        )
    return score


def fuse(c: Prepared, score: np.ndarray, other: np.ndarray, cfg: Config) -> np.ndarray:
    """BM25's scores fused with another ranker's, on BM25's scale."""
    if cfg.fusion == "rrf":
        out = np.zeros(c.size)
        for s, w in ((score, 1 - cfg.alt_weight), (other, cfg.alt_weight)):
            ids = np.flatnonzero(s > 0)
            order = ids[np.lexsort((c.rank_of_id[ids], -s[ids]))]
            out[order] += w / (60 + np.arange(1, len(order) + 1))
        top_score = score.max() or 1.0
        return out / (out.max() or 1.0) * top_score
    top_score, top_other = score.max() or 1.0, other.max() or 1.0
    return (1 - cfg.alt_weight) * score + cfg.alt_weight * other * top_score / top_other


def bo1(c: Prepared, weights: dict[int, float], score: np.ndarray, cfg: Config) -> dict:
    """Terrier's Bo1 expansion: words of the best documents, weighted by their informativeness.

    Each word of the feedback documents: tfx log2((1 + Pn) / Pn) + log2(1 + Pn), Pn its
    collection frequency over N; the best bo1_terms join the query with beta x w / max w
    beside the query's own qtf / max qtf.
    """
    fb = top(c, score, cfg.bo1_docs)
    if not len(fb):
        return weights
    tfx: Counter = Counter()
    for d in fb.tolist():
        tfx.update(c.doc_tf[d])
    info = {}
    for term, x in tfx.items():
        if c.df[term] < 2:
            continue
        pn = c.cf[term] / c.size
        info[term] = x * math.log2((1 + pn) / pn) + math.log2(1 + pn)
    best = sorted(info, key=lambda t: -info[t])[: cfg.bo1_terms]
    if not best:
        return weights
    top_info = info[best[0]]
    plain = {t: w / c.idf(t, cfg.idf) ** cfg.idf_power for t, w in weights.items()}
    top_q = max(plain.values())
    out = {t: w / top_q for t, w in plain.items()}
    for t in best:
        out[t] = out.get(t, 0.0) + cfg.bo1_beta * info[t] / top_info
    return {t: w * top_q * c.idf(t, cfg.idf) ** cfg.idf_power for t, w in out.items()}


def title_pair_bonus(c: Prepared, doc: int, pairs: list[tuple[int, int]], cfg: Config) -> float:
    """The idf of each adjacent pair of query words that stands adjacent in the title."""
    seq = c.sequences[doc][: c.title_words[doc]]
    if len(seq) < 2:
        return 0.0
    bigrams = set(zip(seq.tolist(), seq[1:].tolist(), strict=False))
    return sum((c.idf(a, cfg.idf) + c.idf(b, cfg.idf)) / 2 for a, b in pairs if (a, b) in bigrams)


def rank(c: Prepared, q: Query, cfg: Config, norms) -> list[int]:
    """The top 10 document numbers for q under cfg."""
    weights = query_weights(c, q, cfg)
    if not weights:
        return []
    score = scores(c, q, weights, cfg, norms)
    if cfg.bo1_docs:
        weights = bo1(c, weights, score, cfg)
        score = scores(c, q, weights, cfg, norms)
    if cfg.len_prior:
        length = (c.tlen + c.blen) / (c.tavg + c.bavg)
        score = np.where(score > 0, score + cfg.len_prior * np.log(np.maximum(length, 0.05)), 0)
    if cfg.cooc_terms:
        score = cooc(c, weights, score, cfg, norms)
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
        if cfg.title_pairs:
            pairs = query_pairs(q)
            bonus = bonus + cfg.title_pairs / cfg.prox_weight * np.array(
                [title_pair_bonus(c, d, pairs, cfg) for d in head]
            )
        head_scores = score[head] + cfg.prox_weight * bonus
        order = np.lexsort((-c.rank_of_id[head], -head_scores))
        head = head[order]
    return head[:10].tolist()


def scores(c: Prepared, q: Query, weights: dict[int, float], cfg: Config, norms) -> np.ndarray:
    """Every document's score before the re-rank: BM25F, fused and added to, all words."""
    score = base_scores(c, weights, cfg, norms)
    if cfg.alt_model and cfg.alt_weight:
        score = fuse(c, score, alt_scores(c, weights, cfg), cfg)
    score = all_words(c, q, weights, score, cfg)
    if cfg.exact_weight:
        score = score + cfg.exact_weight * np.where(score > 0, exact_scores(c, q, cfg), 0.0)
    return score


def top(c: Prepared, score: np.ndarray, k: int) -> np.ndarray:
    ids = np.flatnonzero(score > 0)
    if len(ids) > k:
        ids = ids[np.argpartition(-score[ids], k - 1)[:k]]
    return ids[np.lexsort((-c.rank_of_id[ids], -score[ids]))]


def rm3(c: Prepared, q: Query, weights, score, cfg: Config, norms) -> np.ndarray:
    """RM3: the first scores mixed with those of the words of the best documents.

    As Anserini: each feedback document weighted by its share of the scores, the words'
    relevance model (their share of each document, summed so) keeps its rm3_terms best,
    normalised to sum to 1. Unlike Anserini, the first scores stay (all-words clause and
    all), x (1 - rm3_weight), and the expansion's BM25F scores are added x rm3_weight x the
    query's word count, only to the documents the query matched: feedback reorders, it never
    adds results.
    """
    fb = top(c, score, cfg.rm3_docs)
    if not len(fb):
        return score
    doc_w = np.full(len(fb), 1 / len(fb)) if cfg.rm3_uniform else score[fb] / score[fb].sum()
    model: Counter = Counter()
    seen: Counter = Counter()
    for d, w in zip(fb.tolist(), doc_w.tolist(), strict=True):
        tf = c.opening_tf(d) if cfg.rm3_opening else c.doc_tf[d]
        seen.update(tf.keys())
        total = sum(tf.values()) or 1.0
        for term, n in tf.items():
            model[term] += w * n / total
    if cfg.rm3_min_docs > 1:
        model = Counter({t: v for t, v in model.items() if seen[t] >= cfg.rm3_min_docs})
    if cfg.rm3_max_df < 1:
        model = Counter({t: v for t, v in model.items() if c.df[t] <= cfg.rm3_max_df * c.size})
    expansion = dict(model.most_common(cfg.rm3_terms))
    norm_e = sum(expansion.values()) or 1.0
    norm_q = sum(w / c.idf(t, cfg.idf) ** cfg.idf_power for t, w in weights.items())
    added = {
        t: cfg.rm3_weight * norm_q * w / norm_e * c.idf(t, cfg.idf) for t, w in expansion.items()
    }
    mixed = (1 - cfg.rm3_weight) * score + base_scores(c, added, cfg, norms)
    return np.where(score > 0, mixed, 0.0)


def associates(c: Prepared, term: int) -> dict[int, float]:
    """The words found with a word across the collection: p(u|t) log(p(u|t) / p(u))."""
    key = ("cooc", term)
    found = c._windows.get(key)
    if found is not None:
        return found
    docs = c.postings[term][0].tolist()
    near: Counter = Counter()
    for d in docs:
        tf = c.doc_tf[d]
        total = sum(tf.values()) or 1.0
        for u, n in tf.items():
            near[u] += n / total / len(docs)
    tokens = sum(c.cf.values())
    out = {
        u: p * math.log(p / (c.cf[u] / tokens))
        for u, p in near.items()
        if u != term and c.df[u] >= 3 and p > c.cf[u] / tokens
    }
    c._windows[key] = out
    return out


def cooc(c: Prepared, weights, score, cfg: Config, norms) -> np.ndarray:
    """Expansion from the collection's co-occurrences (no feedback): as RM3, from every
    document that holds a query word rather than the best ten (Xu and Croft's global analysis,
    the semantic term matching of Fang and Zhai's axioms in its simplest form)."""
    model: Counter = Counter()
    norm_q = sum(w / c.idf(t, cfg.idf) ** cfg.idf_power for t, w in weights.items())
    for t, w in weights.items():
        if c.df[t] > cfg.cooc_max_df * c.size:
            continue
        share = w / c.idf(t, cfg.idf) ** cfg.idf_power / norm_q
        for u, a in associates(c, t).items():
            if u not in weights:
                model[u] += share * a
    expansion = dict(model.most_common(cfg.cooc_terms))
    if not expansion:
        return score
    norm_e = sum(expansion.values()) or 1.0
    added = {
        t: cfg.cooc_weight * norm_q * w / norm_e * c.idf(t, cfg.idf) for t, w in expansion.items()
    }
    mixed = (1 - cfg.cooc_weight) * score + base_scores(c, added, cfg, norms)
    return np.where(score > 0, mixed, 0.0)


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
    {"k1": 1.6},
    {"k1": 2.0},
    {"b": 0.75},
    {"b": 0.9},
    {"title_bonus": 0.0},
    {"title_bonus": 0.5},
    {"all_words_boost": 0.0},
    {"prox_weight": 0.0},
    {"prox_window": 6},
    {"prox_window": 12},
    {"rm3_docs": 0},
    {"rm3_docs": 0, "k1": 1.6},
    {"prox_depth": 100},
    {"prox_mode": "pairs", "prox_weight": 0.2},
    {"prox_mode": "both", "pair_ordered": 0.15, "pair_unordered": 0.0},
    {"prox_mode": "both", "pair_ordered": 0.05, "pair_unordered": 0.05},
    {"title_weight": 2.0, "title_bonus": 0.0},
    {"title_weight": 2.0},
    {"b_title": 0.5},
    {"idf": "bm25"},
    {"idf": "classic"},
    # The third round's levers.
    {"rm3_weight": 0.1},
    {"rm3_weight": 0.3},
    {"rm3_docs": 5},
    {"rm3_terms": 20},
    {"rm3_min_docs": 2},
    {"rm3_opening": False},
    {"exact_weight": 0.0},
    {"exact_weight": 0.3},
    {"alt_model": "dph", "alt_weight": 1.0},
    {"alt_model": "pl2", "alt_weight": 1.0},
    {"alt_model": "inl2", "alt_weight": 1.0},
    {"alt_model": "lm", "alt_weight": 1.0},
    {"alt_model": "dph", "alt_weight": 0.3},
    {"alt_model": "pl2", "alt_weight": 0.3},
    {"alt_model": "inl2", "alt_weight": 0.3},
    {"alt_model": "lm", "alt_weight": 0.3},
    {"alt_model": "dph", "alt_weight": 0.5, "fusion": "rrf"},
    {"rm3_docs": 0, "bo1_docs": 3, "bo1_beta": 0.4},
    {"rm3_docs": 0, "bo1_docs": 3, "bo1_beta": 0.1},
    {"title_pairs": 0.4},
    {"title_pairs": 0.8},
    # The fourth round's levers (with --analysis: greek, compounds-short, compounds-all).
    {"rm3_max_df": 0.2},
    {"rm3_max_df": 0.1},
    {"rm3_max_df": 0.05},
    {"rm3_uniform": True},
    {"cooc_terms": 10},
    {"cooc_terms": 10, "cooc_weight": 0.2},
    {"cooc_terms": 5},
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
    # The third round's grid (bench/README.md): K1, B and the window, with and without
    # feedback at weight 0.2, with and without the query's own word forms: 48 configurations.
    "loco-rm3": {
        "k1": [1.2, 1.6, 2.0],
        "b": [0.8, 0.9],
        "prox_window": [6, 8],
        "rm3_weight": [0.0, 0.2],
        "exact_weight": [0.0, 0.1],
    },
    # The fourth round's grid (bench/README.md): K1, B, the word forms and the feedback's
    # document-frequency ceiling, with each --analysis: 24 configurations.
    "loco-fourth": {
        "k1": [1.2, 1.6],
        "b": [0.8, 0.9],
        "exact_weight": [0.0, 0.1],
        "rm3_max_df": [1.0, 0.2, 0.1],
    },
    # Without the word forms, the feedback's weight free too: 48 configurations.
    "loco-rm3-weights": {
        "k1": [1.2, 1.6, 2.0],
        "b": [0.8, 0.9],
        "prox_window": [6, 8],
        "rm3_weight": [0.0, 0.1, 0.2, 0.3],
        "exact_weight": [0.0],
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
    parser.add_argument(
        "--analysis",
        help="another analysis (the index would be rebuilt): greek, compounds-all, "
        "compounds-short (each with -parts or -joined: how a query splits its compounds), "
        "or several joined by +",
    )
    args = parser.parse_args(argv)
    if args.analysis:
        other_analysis(args.analysis)
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
    if kind is bool:
        return key, value.lower() in ("1", "true", "yes")
    return key, kind(value)  # type: ignore[call-arg]


def _diff(cfg: Config) -> str:
    base = Config()
    changed = {k: v for k, v in cfg.__dict__.items() if getattr(base, k) != v}
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "current"


if __name__ == "__main__":
    sys.exit(main())
