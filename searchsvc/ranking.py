"""Ranking: the scoring function the searcher uses.

BM25F over the title and body fields, in Whoosh's form: a word's match in each field is
scored on its own, and the scores add up. The title's weight is the title field's boost in
the schema (TITLE_BOOST), applied at index time. K1, B and the idf here are applied at
search time, so changing them needs no reindex.

Two changes from Whoosh's stock BM25F, each measured with bench/relevance.py (figures in
bench/README.md):

- Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), instead of Whoosh's
  log(N / (df + 1)) + 1, whose "+ 1" gives the commonest words nearly half the weight of
  the rarest;
- one document frequency per word for title and body, the larger of the two: otherwise a
  word that is rare in titles but common in bodies weighs far more in a title than it
  tells.
"""

from __future__ import annotations

from math import log

from whoosh import scoring

# BM25's term-frequency saturation and length normalisation.
K1 = 1.2
B = 0.75

# Fields whose scores share one document frequency per word.
SHARED_DF_FIELDS = ("title", "body")


class SharedIdfBM25F(scoring.BM25F):
    """Whoosh's BM25F with Lucene's idf, one per word across the title and body."""

    def idf(self, searcher, fieldname, text) -> float:
        parent = searcher.get_parent()  # global statistics, as Whoosh's own idf uses
        fields = SHARED_DF_FIELDS if fieldname in SHARED_DF_FIELDS else (fieldname,)
        df = max(parent.doc_frequency(f, text) for f in fields)
        n = parent.doc_count_all()
        return log(1 + (n - df + 0.5) / (df + 0.5))


def weighting() -> scoring.WeightingModel:
    """The weighting model of every searcher."""
    return SharedIdfBM25F(B=B, K1=K1)
