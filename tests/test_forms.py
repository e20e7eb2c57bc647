"""The query's own word forms: a release using the word as typed ranks above another form."""

from __future__ import annotations

import pytest

from searchsvc.indexing import index_paths
from searchsvc.scoring import forms
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching.search import own_forms


def test_own_forms_are_the_ranked_words_as_typed_less_function_words():
    idf_of = {"consult": 1.0, "water": 2.0}
    found = own_forms("What consultations on Water, water and consultation?", idf_of)
    assert found == {"consultations": 1, "water": 2, "consultation": 1}
    assert own_forms("drought", idf_of) == {}  # no ranked word


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("forms")
    docs = root / "docs"
    docs.mkdir()
    bodies = {
        "a-other": "Consultation on the water plan was held today.",
        "b-own": "Consultations on the water plan were held today.",
    }
    for name, body in bodies.items():
        (docs / f"{name}.md").write_text(
            f"---\ntitle: Notice\ndate: 2024-03-01\n---\n{body}\n", encoding="utf-8"
        )
    index_paths(root / "ix", [docs], procs=1)
    return root / "ix"


def _order(index, q: str) -> list[str]:
    with Engine(index, cache_size=0) as engine:
        return [h.id for h in engine.search(SearchRequest(q=q)).hits]


def test_the_form_asked_for_ranks_first(index, monkeypatch):
    assert _order(index, "consultations") == ["b-own", "a-other"]
    assert _order(index, "consultation") == ["a-other", "b-own"]
    monkeypatch.setattr(forms, "WEIGHT", 0.0)  # without the bonus, the stems tie: by number
    assert _order(index, "consultations") == ["a-other", "b-own"]
