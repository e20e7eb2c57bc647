"""Ranking: the scoring functions, over numpy arrays of term frequencies.

A word asked of the title and body is scored once, BM25F style: its title and body
frequencies, each normalised by its field's length, are added and then saturated together
(K1), so a word in both fields counts more than in one, but never twice over. A title
match adds a smaller bonus of its own (TITLE_BONUS): a word in the title says more of
what a release is about than one in the body.

The saturation is BM25L's (Lv and Zhai, 2011): DELTA is added to a matching document's
normalised frequency before it saturates, so a long document that holds a word once is not
pushed down as far as plain BM25 pushes it (worth +0.012 nDCG@10 on npl, about 0 elsewhere).
A word the query repeats counts as often as the query holds it (query_weight), as Lucene
and Anserini count it: long requests repeat the words they are about.

The idf is Lucene's, log(1 + (N - df + 0.5) / (df + 0.5)), with df the documents holding
the word in title or body; Whoosh's stock log(N / (df + 1)) + 1 gives the commonest words
nearly half the weight of the rarest.

One configuration for every collection: the best mean nDCG@10 over four judged collections
(bench/tune.py), whose leave-one-collection-out figures say how well it holds on a
collection it was not tuned on (bench/README.md). Every parameter
is applied at search time: changing one needs no reindex.
"""

from __future__ import annotations

import numpy as np

# BM25's term-frequency saturation and length normalisation.
K1 = 1.2
B = 0.8
# BM25L's shift of a matching document's normalised term frequency.
DELTA = 0.25
# Weight of a title match's own score, on top of its share of the title+body score.
TITLE_BONUS = 0.25

# Fields scored together as one, with one document frequency per word.
SHARED_DF_FIELDS = ("title", "body")


def idf(doc_count: int, df: int) -> float:
    """Lucene's idf: how much a word that df of doc_count documents hold tells."""
    return float(np.log(1 + (doc_count - df + 0.5) / (df + 0.5)))


def length_norm(lengths: np.ndarray, average: float) -> np.ndarray:
    """BM25's length normalisation of each document's field."""
    return 1 - B + B * lengths / average


def bm25(tfn: np.ndarray, weight: float) -> np.ndarray:
    """BM25L of length-normalised term frequencies, scaled by weight (the idf); 0 where 0."""
    shifted = np.where(tfn > 0, tfn + DELTA, 0.0)
    return weight * shifted * (K1 + 1) / (shifted + K1)


def query_weight(repeats: int) -> float:
    """How much a word counts for how often the query holds it: each time, in full."""
    return float(max(repeats, 1))


def word_score(title: np.ndarray, body: np.ndarray, weight: float) -> np.ndarray:
    """One word's score from its normalised title and body frequencies."""
    return bm25(title + body, weight) + TITLE_BONUS * bm25(title, weight)
