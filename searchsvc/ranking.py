"""Ranking: the scoring function the searcher uses.

BM25F over the title and body fields; the title's weight is the title field's boost in the
schema (TITLE_BOOST), applied at index time. The parameters here are applied at search time,
so changing them needs no reindex.
"""

from __future__ import annotations

from whoosh import scoring

# BM25's term-frequency saturation and length normalisation.
K1 = 1.2
B = 0.75


def weighting() -> scoring.WeightingModel:
    """The weighting model of every searcher."""
    return scoring.BM25F(B=B, K1=K1)
