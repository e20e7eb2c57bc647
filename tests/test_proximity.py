"""The proximity bonus: words close together rank first; its parts, measured by hand."""

from __future__ import annotations

import numpy as np
import pytest

from searchsvc.analysis import stem_term
from searchsvc.indexing import index_paths
from searchsvc.scoring import proximity
from searchsvc.searching import Engine, SearchRequest


def terms(*words: str) -> dict[str, int]:
    return {stem_term(w): k for k, w in enumerate(words)}


def test_positions_count_every_word_and_match_by_stem():
    positions, which = proximity.word_positions(
        "The ministers met; the Minister's meeting ended.", terms("minister", "meeting")
    )
    assert positions.tolist() == [1, 4, 5]  # "the" keeps its place; "Minister's" is a form
    assert which.tolist() == [0, 0, 1]


def test_only_the_opening_of_a_long_text_is_read():
    text = "filler " * (proximity.SCAN_CHARS // 7) + "minister meeting"
    assert len(proximity.word_positions(text, terms("minister", "meeting"))[0]) == 0


def test_best_window_is_the_idf_of_the_distinct_words_within_it():
    idfs = np.array([2.0, 3.0, 5.0])
    near = proximity.best_window(np.array([0, 3, 40]), np.array([0, 1, 2]), idfs)
    assert near == 5.0  # words 0 and 1 share a window; word 2 is alone and weighs 5
    apart = proximity.best_window(np.array([0, 30]), np.array([0, 1]), idfs)
    assert apart == 3.0
    assert proximity.best_window(np.array([7]), np.array([2]), idfs) == 0.0  # one match


def test_no_bonus_for_a_one_word_query():
    assert not proximity.bonuses(["a minister met"], {stem_term("minister"): 1.0}).any()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("proximity")
    docs = root / "docs"
    docs.mkdir()
    filler = " ".join(f"Paragraph {n} reviewed routine business of the office." for n in range(8))
    bodies = {
        "near": f"Water rights were agreed today. {filler}",
        "apart": f"Water was discussed. {filler} Rights were agreed.",
    }
    for name, body in bodies.items():
        (docs / f"{name}.md").write_text(
            f"---\ntitle: Notice\ndate: 2024-03-0{len(name)}\n---\n{body}\n", encoding="utf-8"
        )
    index_paths(root / "ix", [docs], procs=1)
    with Engine(root / "ix") as engine:
        yield engine


def test_words_close_together_rank_first(engine):
    result = engine.search(SearchRequest(q="water rights"))
    assert [h.id for h in result.hits] == ["near", "apart"]
    assert result.hits[0].score > result.hits[1].score


def test_the_order_of_pages_is_the_order_of_one_long_page(engine):
    whole = [h.id for h in engine.search(SearchRequest(q="water rights", size=2)).hits]
    paged = [
        h.id
        for page in (1, 2)
        for h in engine.search(SearchRequest(q="water rights", size=1, page=page)).hits
    ]
    assert paged == whole


def test_best_windows_of_many_documents_are_each_ones_bit_for_bit():
    rng = np.random.default_rng(3)
    for _ in range(300):
        idfs = rng.choice([0.5, 1.0, 2.0, rng.random() * 5, 1e-9], 4)
        found = []
        for _ in range(int(rng.integers(0, 31))):
            length = int(rng.choice([0, 1, 2, rng.integers(0, 40)]))
            positions = np.sort(rng.choice(300 if length > 5 else 12, length, replace=False))
            found.append((positions.astype(np.int64), rng.integers(0, 4, length)))
        each = [proximity.best_window(positions, which, idfs) for positions, which in found]
        assert proximity.best_windows(found, idfs).tolist() == each
