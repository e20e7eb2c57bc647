"""Analysis: folding, stop words, stems, and the exact field's words."""

from __future__ import annotations

import pytest

from searchsvc.analysis import exact_analyzer, exact_term, fold, stem_term, stemming_analyzer


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("running", "run"),
        ("consultations", "consult"),
        ("Meetings", "meet"),
        ("Türkmenistan", "turkmenistan"),
        ("the", None),
        ("U.S.", "us"),
    ],
)
def test_stem_term(word, stem):
    assert stem_term(word) == stem


def test_fold():
    assert fold("Aşgabat Türkmenistan Ňiýazow Žeňiş") == "asgabat turkmenistan niyazow zenis"


def test_stemming_analyzer_drops_stop_words():
    assert [t.text for t in stemming_analyzer()("The solar and wind panels")] == [
        "solar",
        "wind",
        "panel",
    ]


def test_exact_analyzer_keeps_every_word_in_place():
    tokens = [(t.text, t.pos) for t in exact_analyzer()("The Solar panels", positions=True)]
    assert tokens == [("the", 0), ("solar", 1), ("panels", 2)]
    assert exact_term("Meetings") == "meetings"
