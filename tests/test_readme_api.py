"""The README's table of the JSON API's fields against what the API answers.

Before: the README's JSON API section named some fields in passing (`total`, `stories`,
`timeline`, `also_searched`...) and never `query`, `next_url`, `took_ms`, a hit's `score`
or a document's `hash`; a reader of the README could not tell what an answer holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from searchsvc.schema import FACETS

README = Path(__file__).parent.parent / "README.md"
FACET_NAMES = {f.name for f in FACETS}


def documented() -> dict[str, set[str]]:
    """The field table: each row's answer, and the field names its cell gives in backticks."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| answer | fields |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        answer, cell = (c.strip() for c in line.strip("|").split("|", 1))
        names = set(re.findall(r"`([a-z_]+)`", cell)) - {"null"}
        rows[answer.strip("`")] = names
    return rows


@pytest.fixture(scope="module")
def answers(seeds_index):
    from searchsvc.web import create_app

    client = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index)}).test_client()
    search = client.get("/api/search?q=Turkmenistan").get_json()
    doc_id = search["results"][0]["id"]
    return {
        "search": search,
        "document": client.get(f"/api/documents/{doc_id}").get_json(),
        "similar": client.get(f"/api/documents/{doc_id}/similar").get_json(),
        "facets": client.get("/api/facets/place?q=Turkmenistan").get_json(),
        "health": client.get("/api/health").get_json(),
    }


def test_the_table_names_every_field_of_each_answer_and_no_other(answers):
    rows = documented()
    search, doc, similar = answers["search"], answers["document"], answers["similar"]
    assert search["results"] and similar["results"], "the seeds give a hit to look at"
    returned = {
        "/api/search": set(search) | (set(search["query"]) - FACET_NAMES),
        "a hit": set(search["results"][0]),
        "/api/documents/<id>": set(doc) | set(doc["document"]),
        "/api/documents/<id>/similar": set(similar) | set(similar["results"][0]),
        "/api/facets/<name>": set(answers["facets"]),
        "/api/health": set(answers["health"]),
    }
    assert set(rows) == set(returned)
    for answer, names in returned.items():
        assert rows[answer] == names, answer
