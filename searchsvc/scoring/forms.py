"""The query's own word forms: a small bonus where a document uses them, unstemmed.

    the query's ranked words, as typed (folded) --the exact field (title + body, not
        stemmed), BM25L--> a score per document, x WEIGHT, added where the query matched

Stemming lets "consultations" find "consultation" and "consulting"; this says, a little,
that a release using the word as the query wrote it is closer to what was asked
(multi-representation scoring). The exact field is the one phrases are answered from, so
it costs one more posting list per word. Every leave-one-collection-out fold chooses it
together with feedback (feedback.py), never without it (bench/README.md): added to
feedback, +0.003 nDCG@10 on cisi and cranfield and npl, -0.004 on scifact's test queries.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from searchsvc.deadline import NEVER, Deadline

WEIGHT = 0.1


def form_scores(ranker, forms: Mapping[str, int], deadline: Deadline | None = None) -> np.ndarray:
    """WEIGHT x the BM25L score of each form in the exact field, x how often the query has it."""
    deadline = deadline or NEVER
    total = np.zeros(ranker.size, dtype=np.float64)
    for form, count in forms.items():
        deadline.check("ranking")
        total += count * ranker.field_word("exact", form)[1]
    return WEIGHT * total
