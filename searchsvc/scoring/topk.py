"""The best k matches after the forms bonus and feedback, scoring only those that can be among them.

    every match's first score (BM25F of the query, phrases, everything it asked)
    --each word's upper bound: idf x its best normalised frequency (MaxScore's bound)-->
      the bound of what the forms bonus (forms.py) and feedback (feedback.py) can add
    the k-th best lower bound (the first score, scaled as feedback scales it)
    --the matches whose upper bound reaches it--> the candidates: their exact final score,
      read from each word's postings at their document numbers (a binary search)
    everything else: its lower bound, below the k-th best, so it never reaches the top

The first score still covers every match: the total and facet counts need the match set,
and a query's own words are few. What grows with the corpus is the rest: feedback's ten
expansion words are typical words of the best releases ("president", "state"), whose
posting lists cover most of a large corpus, and the forms bonus reads one more list per
word. Scored over every document they cost as much as the whole query again at 10x the
corpus; scored at the candidates only, they cost what the candidates do.

The answer is exactly what scoring every match gives (Lucene's MaxScore gives the same
guarantee): a document left out has an upper bound below the k-th best lower bound, so it
could neither be among the best k nor tie with them, and a candidate's score is computed
by the same floating-point operations, in the same order, as the full pass computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from searchsvc.deadline import NEVER, Deadline
from searchsvc.scoring import feedback
from searchsvc.scoring import forms as forms_bonus
from searchsvc.scoring.ranker import top

# Room for floating-point rounding in the bounds (each a few operations of 1e-16 each).
SLACK = 1e-9


def best(
    ranker,
    match: np.ndarray,
    scores: np.ndarray,
    count: int,
    forms: Mapping[str, int],
    texts: Callable[[np.ndarray], list],
    query_words: float,
    deadline: Deadline | None = None,
) -> np.ndarray:
    """The first `count` matches (ties by number) once the forms bonus and feedback apply.

    `scores`: the query's scores, updated in place: exact for the documents returned (and
    every candidate), a lower bound below theirs for the other matches. `forms`: the
    query's own word forms and how often it has each; `texts(head)`: the feedback
    documents' texts; `query_words`: the words the query ranks by (feedback.rescore's).
    """
    deadline = deadline or NEVER
    positive = np.flatnonzero(match & (scores > 0))
    first = scores[positive]
    form_bound = _forms_bound(ranker, forms)
    # The feedback documents: the best FEEDBACK_DOCS by the first score with the forms bonus.
    near = positive[_reaching(first, first + form_bound, feedback.DOCS)]
    with_forms = scores[near] + _form_scores_at(ranker, forms, near, deadline)
    head = near[_best(with_forms, near, feedback.DOCS)]
    if not len(head):
        return top(match, scores, count)
    model = feedback.relevance_model(texts(head), with_forms[np.searchsorted(near, head)], deadline)
    kept = 1 - feedback.WEIGHT
    factor = feedback.WEIGHT * query_words
    bounds = [ranker.word_bound(stem, factor * w) for stem, w in model.items()]
    lower = kept * first
    upper = kept * (first + form_bound) + sum(bounds)
    candidates = positive[_reaching(lower, upper, count)]
    deadline.check("feedback")
    final = kept * (scores[candidates] + _form_scores_at(ranker, forms, candidates, deadline))
    final += _added_at(ranker, model, factor, candidates, deadline, final, bounds, count)
    scores[positive] = lower
    scores[candidates] = final
    return top(match, scores, count)


def _reaching(lower: np.ndarray, upper: np.ndarray, count: int) -> np.ndarray:
    """Where upper reaches the count-th best lower bound (a mask; everything if few)."""
    if len(lower) <= count:
        return np.ones(len(lower), dtype=bool)
    edge = np.partition(lower, len(lower) - count)[len(lower) - count]
    return upper * (1 + SLACK) + SLACK >= edge


def _best(values: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Positions of the count best values, ties by the lower document number."""
    return np.lexsort((ids, -values))[:count]


def _forms_bound(ranker, forms: Mapping[str, int]) -> float:
    """At most what forms.form_scores adds to any document."""
    return forms_bonus.WEIGHT * sum(
        count * ranker.field_word_bound("exact", form) for form, count in forms.items()
    )


def _form_scores_at(
    ranker, forms: Mapping[str, int], ids: np.ndarray, deadline: Deadline
) -> np.ndarray:
    """forms.form_scores at the document numbers ids (sorted), the same operations."""
    total = np.zeros(len(ids), dtype=np.float64)
    for form, count in forms.items():
        deadline.check("ranking")
        total += count * ranker.field_word_at("exact", form, ids)
    return forms_bonus.WEIGHT * total


def _added_at(
    ranker,
    model: Mapping[str, float],
    factor: float,
    ids: np.ndarray,
    deadline: Deadline,
    base: np.ndarray | None = None,
    bounds: list[float] | None = None,
    count: int = 0,
) -> np.ndarray:
    """What feedback.rescore adds at the document numbers ids (sorted), the same operations.

    With `base` (each candidate's score before feedback), `bounds` (each model word's
    word_bound) and `count`: the words are scored largest bound first, and before each,
    the candidates whose upper bound (base, the words scored so far, the bounds of those
    to come) falls below the count-th best lower bound are dropped, and keep what was
    added so far: a lower bound, as the words still to come add nothing negative. Those
    left at the end get each word's score summed in the model's order, so their sums are
    bit for bit those of the full pass. MaxScore's bound shrinks as words are scored; the
    largest bounds first (a rare word: few holders, a high idf) shrink it fastest and cost
    the least. At 10x the corpus a common word's candidates (a hundred thousand for
    "biden") go to a few hundred within a few words.
    """
    words = list(model.items())
    if base is None or bounds is None or not 0 < count < len(ids):
        added = np.zeros(len(ids), dtype=np.float64)
        for stem, w in words:
            deadline.check("feedback")
            added += ranker.word_at(stem, ids, factor * w)
        return added
    scored: dict[int, np.ndarray] = {}  # word number -> its scores (at the ids alive then)
    so_far = np.zeros(len(ids), dtype=np.float64)  # the words scored so far (a lower bound)
    alive = np.arange(len(ids))  # positions in ids still scored
    order = sorted(range(len(words)), key=lambda j: -bounds[j])
    still = sum(bounds)  # the bounds of the words not scored yet
    for step, j in enumerate(order):
        deadline.check("feedback")
        if step and len(alive) > count:
            lower = base[alive] + so_far[alive]
            alive = alive[_reaching(lower, lower + still, count)]
        stem, w = words[j]
        scored[j] = np.zeros(len(ids), dtype=np.float64)
        scored[j][alive] = ranker.word_at(stem, ids[alive], factor * w)
        so_far[alive] += scored[j][alive]
        still -= bounds[j]
    added = so_far
    added[alive] = 0.0
    for j in range(len(words)):  # the model's order, from 0: the full pass's sums
        added[alive] += scored[j][alive]
    return added
