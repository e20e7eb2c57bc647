"""A field's postings collected a document at a time: the lexicon and the sort by term.

That a whole segment comes out as SegmentWriter writes it is tests/test_bulk.py's.
"""

from __future__ import annotations

import numpy as np
import pytest

from searchsvc import analysis
from searchsvc.indexing import collect


def test_the_lexicon_gives_each_term_function_its_terms_whenever_it_comes():
    lexicon = collect.Lexicon()
    stems = lexicon.terms(analysis.stem_term)
    first = lexicon.of(["Running", "the", "runs", "Café"])
    folded = lexicon.terms(analysis.exact_term)  # a function first asked for after words
    second = lexicon.of(["cafe", "Running", "ran"])
    assert first == (0, 1, 2, 3) and second == (4, 0, 5)
    words = ["Running", "the", "runs", "Café", "cafe", "ran"]
    for terms in (stems, folded):
        ids = terms.of(np.arange(len(words)))
        names, rank = terms.ranked()
        got = [None if i < 0 else names[rank[i]] for i in ids.tolist()]
        assert got == [terms.term_of(w) for w in words]
        seq = first + second
        assert terms.without_term(seq) == sum(got[i] is None for i in seq)
    assert stems.without_term(first) == 1 and folded.without_term(first) == 0


def test_a_word_whose_term_fails_leaves_the_lexicon_as_it_was():
    def fussy(word: str) -> str:
        if word == "boom":
            raise ValueError(word)
        return word.upper()

    lexicon = collect.Lexicon()
    stems, loud = lexicon.terms(analysis.stem_term), lexicon.terms(fussy)
    with pytest.raises(ValueError):
        lexicon.of(["Running", "boom"])
    ids = lexicon.of(["Running", "walks", "the"])
    assert ids == (0, 1, 2)
    for terms in (stems, loud):
        names, rank = terms.ranked()
        got = [None if i < 0 else names[rank[i]] for i in terms.of(np.array(ids)).tolist()]
        assert got == [terms.term_of(w) for w in ("Running", "walks", "the")]


@pytest.mark.parametrize("terms", [1, 300, 1 << 16, (1 << 16) + 1, 1 << 20])
def test_tokens_are_sorted_stably_by_term(terms):
    key = np.random.default_rng(terms).integers(0, terms, 50_000)
    key[:3] = terms - 1  # the largest rank present
    order = np.argsort(key, kind="stable")
    got_key, got_order = collect.sort_by_term(key, terms)
    assert got_order.tolist() == order.tolist()
    assert got_key.tolist() == key[order].tolist()
