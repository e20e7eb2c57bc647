"""Feedback (RM3): the words of the best documents, added with a small weight, reorder the matches.

    top DOCS documents by BM25F --the opening of each (SCAN_CHARS of title and body):
        its stem ids from the forward index, or else its text word by word--> each stem's
        share of each document, weighted by the document's share of their scores, summed:
        a relevance model; its WORDS best, summed to 1
    every matching document: (1 - WEIGHT) x its score
        + WEIGHT x (the query's word count) x the model's BM25F score of it

Lavrenko and Croft's relevance model as Anserini's RM3 reads it, with one difference: the
first scores are kept as they are, only scaled (the all-words clause, phrases, everything
the query asked, rather than the query's words alone rescored), and only the documents the
query matched are rescored, so feedback reorders the results and never adds any. A query
and its model weigh alike whatever the query's length (x the word count, as the model sums
to 1). With K1 1.2 it is worth +0.009 nDCG@10 on cranfield, about 0 on cisi and -0.001 on
npl and scifact's training queries; every leave-one-collection-out fold chooses it with
the query's own word forms (forms.py), the weight 0.2 fixed beforehand (the folds do not
agree on a weight of their own: bench/README.md). Only the best few openings are
read (from the forward index, indexing/forward.py; stored text where a segment has none:
the same stems, in the same order), and the model's words cost one posting list each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from searchsvc.analysis import WORD_RE, stem_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import SCAN_CHARS, Opening
from searchsvc.scoring.proximity import Document

DOCS = 10  # feedback documents
WORDS = 10  # words of the relevance model kept
WEIGHT = 0.2  # the model's share of the new score


def relevance_model(
    texts: list[Document], doc_scores: np.ndarray, deadline: Deadline | None = None
) -> dict[str, float]:
    """The WORDS stems most typical of the texts, each weighted by its share (summing to 1).

    Each text's weight is its score's share of the scores; a stem's weight is the sum over
    texts of that weight x its share of the text's words (stop words do not count).
    """
    deadline = deadline or NEVER
    total = float(np.sum(doc_scores))
    if total <= 0:
        return {}
    kept = [
        (text, score) for text, score in zip(texts, doc_scores.tolist(), strict=True) if score > 0
    ]
    openings = _numbered(kept)
    if openings:
        deadline.check("feedback")
        weights, order = _summed_openings(openings, total)
    else:
        stems: list[str] = []
        shares: list[np.ndarray] = []
        for text, score in kept:
            deadline.check("feedback")
            doc_stems, counts = stem_counts(text)
            stems += doc_stems
            # The operations of score / total * n / length, one text's stems at a time.
            counted = np.asarray(counts, dtype=np.int64)
            shares.append(score / total * counted / (sum(counts) or 1))
        weights, order = _summed(stems, shares)
    best = dict(zip(order, weights, strict=True))
    norm = sum(best.values()) or 1.0
    return {stem: w / norm for stem, w in best.items()}


def _numbered(kept: list[tuple[Document, float]]) -> list[tuple[Opening, float]]:
    """The texts, if every one is an opening whose vocabulary numbers stems by one table
    (a searcher's segments); else none."""
    openings = [(text, score) for text, score in kept if isinstance(text, Opening)]
    if len(openings) < len(kept) or len({id(text.vocab.table) for text, _ in openings}) > 1:
        return []
    return openings


def _summed_openings(kept: list[tuple[Opening, float]], total: float) -> tuple[list, list]:
    """_summed's sums and stems for openings (with their scores), in numbers, not text.

    The same sums, added in the same order, and the same ties (the stem that occurs first
    wins): each (text, stem) pair's share is score / total x its count / the text's words,
    added text by text. Stems are numbered by the searcher's StemTable, the same number in
    every segment's vocabulary; only the WORDS kept are read as text. A Counter per opening
    and a dict of their stems (some 4,000 words, 2,000 stems for ten openings) took 0.7 ms
    of a query's 7.
    """
    table, texts = kept[0][0].vocab.table, len(kept)
    ids = np.concatenate([text.ids for text, _ in kept])
    text_of = np.repeat(np.arange(texts), [len(text.ids) for text, _ in kept])
    words = ids != 0  # 0: a stop word
    ids, text_of = ids[words], text_of[words]
    if not len(ids):
        return [], []
    said = np.bincount(text_of, minlength=texts)  # each text's words
    vocabs: dict[int, int] = {}  # id(vocabulary) -> its number
    numbered = [vocabs.setdefault(id(text.vocab), len(vocabs)) for text, _ in kept]
    if len(vocabs) == 1:
        stems = kept[0][0].vocab.numbers(ids)
    else:  # each segment's ids numbered by its vocabulary
        stems, of_vocab = np.empty(len(ids), dtype=np.int64), np.array(numbered)[text_of]
        owners = {n: text.vocab for (text, _), n in zip(kept, numbered, strict=True)}
        for number, vocab in owners.items():
            mine = of_vocab == number
            stems[mine] = vocab.numbers(ids[mine])
    # One sort by (stem, text, place): each (stem, text) pair's run, in text order within a
    # stem; a stem's first run opens with where it first occurs. (The place makes each key
    # distinct, so numpy's sort of integers does it: a stable argsort took 8 times as long.)
    places = len(stems)
    key = np.sort((stems * texts + text_of) * places + np.arange(places))
    key, order = np.divmod(key, places)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.diff(np.append(starts, len(key)))
    pair_stem, pair_text = np.divmod(key[starts], texts)
    opens = np.concatenate(([True], pair_stem[1:] != pair_stem[:-1]))
    kinds, first = pair_stem[opens], order[starts[opens]]
    per_text = np.array([score for _, score in kept]) / total
    shares = per_text[pair_text] * counts / said[pair_text]
    sums = np.zeros(len(kinds), dtype=np.float64)
    np.add.at(sums, np.cumsum(opens) - 1, shares)  # a stem's texts in order, from 0
    near = np.arange(len(sums))
    if len(sums) > WORDS:  # the best WORDS sum at least the WORDS-th largest sum
        near = np.flatnonzero(sums >= np.partition(sums, len(sums) - WORDS)[len(sums) - WORDS])
    best = near[np.lexsort((first[near], -sums[near]))[:WORDS]]
    return sums[best].tolist(), list(map(table.stems.__getitem__, kinds[best].tolist()))


def _summed(stems: list[str], shares: list[np.ndarray]) -> tuple[list[float], list[str]]:
    """The WORDS largest sums of each stem's shares, texts added in order, and their stems.

    The sums and their order are a Counter's (each stem's shares added text by text from 0,
    the largest first, ties in the order the stems first occur), in numpy: a Python turn
    per stem of ten openings (a few thousand) was half the model's time in a profile.
    """
    first = dict.fromkeys(stems)  # each stem once, in the order it first occurs
    slot = dict(zip(first, range(len(first)), strict=True))
    where = np.fromiter(map(slot.__getitem__, stems), dtype=np.intp, count=len(stems))
    sums = np.zeros(len(first), dtype=np.float64)
    at = 0
    for share in shares:  # a stem occurs once in a text's stems: one addition per text
        sums[where[at : at + len(share)]] += share
        at += len(share)
    best = np.lexsort((np.arange(len(first)), -sums))[:WORDS]
    names = list(first)
    return sums[best].tolist(), [names[k] for k in best.tolist()]


def stem_counts(doc: Document) -> tuple[list[str], list[int]]:
    """A document's stems (stop words left out) in the order they first occur, and how often."""
    if not isinstance(doc, Opening):
        counts = Counter(filter(None, map(stem_term, WORD_RE.findall(doc[:SCAN_CHARS]))))
        return list(counts), list(counts.values())
    # Counter's C loop over a list of ints: in first-occurrence order, as the text's Counter.
    ids = Counter(doc.ids.tolist())
    ids.pop(0, None)  # stop words
    return list(map(doc.vocab.stems.__getitem__, ids)), list(ids.values())


def rescore(
    ranker,
    scores: np.ndarray,
    model: Mapping[str, float],
    query_words: float,
    deadline: Deadline | None = None,
) -> None:
    """Mix the model into the scores of the documents that score (in place).

    `query_words`: how many words the query ranks by, each counted as often as it repeats.
    """
    deadline = deadline or NEVER
    added = np.zeros_like(scores)
    for stem, w in model.items():
        added += ranker.word(stem, WEIGHT * query_words * w, deadline)[1]
    scores[:] = np.where(scores > 0, (1 - WEIGHT) * scores + added, 0.0)
