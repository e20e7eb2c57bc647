"""Proximity: a bonus for the best-ranked documents where the query's words occur close together.

    top DEPTH documents by BM25F --their openings: stem ids from the forward index
        (indexing/forward.py), or else their stored title and body, word by word-->
        positions of each query word (by stem; stop words keep their places)
    every position --a window of WINDOW words from it--> the idf of the distinct query
        words inside it; the best window is the bonus
    score + WEIGHT x bonus --> the final order of those documents

BM25 treats a document as a bag of words: "vitamin D deficiency" scattered over three
paragraphs scores as high as the phrase itself. The bonus adds about 0.013 nDCG@10 on cisi,
cranfield and npl and 0.004 on scifact's training queries (bench/README.md). Only the top DEPTH
documents are read, and at most SCAN_CHARS characters of each, so the cost is bounded
whatever the corpus and however long its releases. A document's opening comes as the
forward index holds it (Opening: a slice of ids, looked up by the query's stem ids) or, for a
segment without one (an index of an older version), as its text: both give the same
positions.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

import numpy as np

from searchsvc.analysis import WORD_RE, stem_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import SCAN_CHARS, Opening

DEPTH = 30  # documents re-ranked; 20 to 200 gave the same figures
WINDOW = 8  # words
WEIGHT = 0.6

Document = str | Opening  # a document's text, or its opening from the forward index


def word_positions(text: str, terms: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The positions (in words) of text's words whose stems are terms, and which term each is."""
    words = WORD_RE.findall(text[:SCAN_CHARS])
    # map() over C functions (the cached stemmer, dict.get) keeps Python out of the loop
    # over every word: 0.1 microseconds a word instead of 0.5.
    lookup: Callable[[str | None, int], int] = terms.get  # type: ignore[assignment]
    found = np.fromiter(
        map(lookup, map(stem_term, words), repeat(-1)), dtype=np.int64, count=len(words)
    )
    positions = np.flatnonzero(found >= 0)
    return positions, found[positions]


def opening_positions(
    doc: Opening, terms: dict[str, int], ids_of: dict[int, list[tuple[int, int]]]
) -> tuple[np.ndarray, np.ndarray]:
    """word_positions of a forward index's opening (`ids_of`: a cache of the terms' ids)."""
    wanted = ids_of.get(id(doc.vocab))
    if wanted is None:
        found_ids = ((doc.vocab.id_of(stem), k) for stem, k in terms.items())
        wanted = ids_of[id(doc.vocab)] = [(i, k) for i, k in found_ids if i > 0]
    found = np.full(len(doc.ids), -1, dtype=np.int64)
    for i, k in wanted:
        found[doc.ids == i] = k
    positions = np.flatnonzero(found >= 0)
    return positions, found[positions]


def best_window(positions: np.ndarray, which: np.ndarray, idfs: np.ndarray) -> float:
    """The largest idf mass of distinct query words in one window starting at a match."""
    return float(best_windows([(positions, which)], idfs)[0])


def best_windows(found: list[tuple[np.ndarray, np.ndarray]], idfs: np.ndarray) -> np.ndarray:
    """best_window of each document's (positions, which), the same values, in one pass.

    The documents' positions are laid end to end, each past the last one's window, so no
    window reaches into the next document; a query word a document lacks adds 0.0 to each
    of its positions, so each position's sum is the same additions in the same order. A
    pass per document cost ten numpy calls each, thirty documents a query.
    """
    out = np.zeros(len(found), dtype=np.float64)
    kept = [n for n, (positions, _) in enumerate(found) if len(positions) >= 2]
    if not kept:
        return out
    stride = max(int(found[n][0][-1]) for n in kept) + WINDOW + 1
    positions = np.concatenate([found[n][0] + j * stride for j, n in enumerate(kept)])
    which = np.concatenate([found[n][1] for n in kept])
    present = np.zeros(len(positions), dtype=np.float64)
    for k in np.unique(which):
        own = positions[which == k]  # sorted: documents and positions come in order
        inside = np.searchsorted(own, positions + WINDOW) > np.searchsorted(own, positions)
        present += idfs[k] * inside
    starts = np.cumsum([0, *(len(found[n][0]) for n in kept[:-1])])
    out[kept] = np.maximum.reduceat(present, starts)
    return out


def bonuses(
    texts: list[Document], idf_of: dict[str, float], deadline: Deadline | None = None
) -> np.ndarray:
    """WEIGHT x the best window of each document, for the query words (stems) and their idf."""
    deadline = deadline or NEVER
    if len(idf_of) < 2:
        return np.zeros(len(texts), dtype=np.float64)
    terms = {stem: k for k, stem in enumerate(idf_of)}
    idfs = np.array(list(idf_of.values()), dtype=np.float64)
    ids_of: dict[int, list[tuple[int, int]]] = {}
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for doc in texts:
        deadline.check("proximity")
        if isinstance(doc, Opening):
            found.append(opening_positions(doc, terms, ids_of))
        else:
            found.append(word_positions(doc, terms))
    return WEIGHT * best_windows(found, idfs)
