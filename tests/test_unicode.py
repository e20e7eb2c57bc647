"""Unicode in documents, queries, ids, facet values and file names.

Cyrillic, Turkmen Latin (ň, ş, ý, ä, ž), Arabic and Hebrew, emoji, and zero-width
characters must never cause an error; accents fold both ways (Aşgabat finds Asgabat and
Asgabat finds Aşgabat), and snippets mark the words as the document spells them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from urllib.parse import quote, urlencode

import pytest
from markup import Markup, fragment_problems

from searchsvc.web import create_app

RECORDS = [
    {
        "id": "tm-1",
        "title": "Aşgabatda halkara maslahat",
        "body": "Türkmenistanyň Prezidenti ýurduň ähli žurnalistlerini gutlady. "
        "Maslahat Aşgabat şäherinde geçirildi.",
        "source": "Türkmenistan Habarlar Gullugy",
        "date": "2024-01-10",
    },
    {
        "id": "tm-2",
        "title": "Gas talks in Asgabat",
        "body": "Delegations met in Asgabat to discuss turkmenistanyn gas exports and "
        "the zurnalistlerini forum.",
        "source": "Trend",
        "date": "2024-01-11",
    },
    {
        "id": "ru-1",
        "title": "Встреча в Ашхабаде",
        "body": "Президент Туркменистана встретился с делегацией. Ёлка стоит на площади.",
        "source": "Нейтральный Туркменистан",
        "date": "2024-01-12",
    },
    {
        "id": "ar-1",
        "title": "مؤتمر في عشق آباد",
        "body": "عقد المؤتمر في عشق آباد بحضور الوفود من دول بحر قزوين",
        "source": "وكالة الأنباء",
        "date": "2024-01-13",
    },
    {
        "id": "he-1",
        "title": "כנס באשגבט",
        "body": "המשלחת הגיעה לאשגבט לשיחות על גז טבעי",
        "source": "סוכנות",
        "date": "2024-01-14",
    },
    {
        "id": "emoji-1",
        "title": "Celebration 🎉 in Ashgabat 🇹🇲",
        "body": "Fireworks 🎆 lit the sky over the capital 👨‍👩‍👧 and the crowd cheered 😀.",
        "date": "2024-01-15",
    },
    {
        "id": "zw-1",
        "title": "Zero\u200bwidth release",
        "body": "The quartz\u200bpipeline, the gas\u200dfield, the pipe\u00adline and the "
        "word\u2060joiner and a BOM\ufeffinside. Also \u202eoverride\u202c and \u200fmarks.",
        "date": "2024-01-16",
    },
    {"id": "док-1", "title": "Документ с кириллическим id", "body": "Ыйгарым текст."},
    {"id": "وثيقة/٢", "title": "وثيقة", "body": "نص الوثيقة"},
    {"id": "📄 emoji id", "title": "An emoji id", "body": "The id is an emoji with a space."},
]
MARKDOWN = """---
title: "Türkmen halkynyň baýramy"
date: 2024-02-01
source: "Türkmenistan Habarlar Gullugy"
---

Baýramçylyk dabaralary Aşgabatda we ähli welaýatlarda geçirildi.
"""
SEED = " date 2024-02-02 Новости Ашхабада\n\nАШХАБАД, 2 февраля 2024. Туркменистан и Россия.\n"


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("unicode")
    docs = root / "docs"
    docs.mkdir()
    lines = [json.dumps(r, ensure_ascii=bool(n % 2)) for n, r in enumerate(RECORDS)]
    (docs / "records.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (docs / "Aşgabat-baýram.md").write_text(MARKDOWN, encoding="utf-8")
    (docs / "Ашхабад.txt").write_text(SEED, encoding="utf-8")
    report = index_paths(root / "index", [docs], procs=1)
    assert not report.skipped and report.total == len(RECORDS) + 2
    return create_app({"TESTING": True, "INDEX_DIR": str(root / "index")}).test_client()


def api(client, **params) -> dict:
    response = client.get("/api/search?" + urlencode(params))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(client, q: str) -> set[str]:
    return {hit["id"] for hit in api(client, q=q, size=100)["results"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Folding works both ways, in any case; and the name variants add Ashgabat.
        ("Aşgabat", {"tm-1", "tm-2", "emoji-1"}),
        ("Asgabat", {"tm-1", "tm-2", "emoji-1"}),
        ("AŞGABAT", {"tm-1", "tm-2", "emoji-1"}),
        ("asgabat", {"tm-1", "tm-2", "emoji-1"}),
        ("Türkmenistanyň", {"tm-1", "tm-2"}),
        ("turkmenistanyn", {"tm-1", "tm-2"}),
        ("žurnalistlerini", {"tm-1", "tm-2"}),
        ("ýurduň", {"tm-1"}),
        ("yurdun", {"tm-1"}),
        ("ähli", {"tm-1", "Aşgabat-baýram"}),
        ("baýramy", {"Aşgabat-baýram"}),
        ('"Aşgabat şäherinde"', {"tm-1"}),
        ("title:aşgabatda", {"tm-1"}),
        # Cyrillic, with ё folded to е and any case.
        ("Ашхабаде", {"ru-1"}),
        ("ВСТРЕТИЛСЯ", {"ru-1"}),
        ("ёлка", {"ru-1"}),
        ("елка", {"ru-1"}),
        ("Туркменистан", {"Ашхабад"}),
        ("ыйгарым", {"док-1"}),
        # Right-to-left scripts.
        ("عشق", {"ar-1"}),
        ('"عشق آباد"', {"ar-1"}),
        ("قزوين", {"ar-1"}),
        ("לאשגבט", {"he-1"}),
        ("טבעי", {"he-1"}),
        # Emoji are not words: they neither match nor break a query.
        ("🎉", set()),
        ("🎉 Ashgabat", {"emoji-1", "tm-1", "tm-2"}),  # and its variant Aşgabat
        ("Fireworks😀", {"emoji-1"}),
        # A zero-width space separates words, as in Unicode's word boundaries.
        ("quartz", {"zw-1"}),
        ("pipeline", {"zw-1"}),
        ("\u200b", set()),
        ("quartz\u200b", {"zw-1"}),
        ("\u202eoverride", {"zw-1"}),
    ],
)
def test_queries_find_the_right_documents(app_client, q, expected):
    assert ids(app_client, q) == expected


@pytest.mark.parametrize(
    ("q", "doc_id", "marked"),
    [
        ("Asgabat", "tm-1", "Aşgabat"),
        ("Aşgabat", "tm-2", "Asgabat"),
        ("turkmenistanyn", "tm-1", "Türkmenistanyň"),
        ("ýurduň", "tm-1", "ýurduň"),
        ("ДЕЛЕГАЦИЕЙ", "ru-1", "делегацией"),
        ("елка", "ru-1", "Ёлка"),
        ("عشق", "ar-1", "عشق"),
        ("לאשגבט", "he-1", "לאשגבט"),
        ("fireworks", "emoji-1", "Fireworks"),
    ],
)
def test_snippets_mark_the_words_as_written(app_client, q, doc_id, marked):
    (hit,) = [h for h in api(app_client, q=q)["results"] if h["id"] == doc_id]
    assert f"<mark>{marked}</mark>" in hit["snippet"]
    assert fragment_problems(hit["snippet"]) == []


def test_document_page_marks_folded_words(app_client):
    page = Markup(app_client.get("/doc/tm-1?q=asgabat").get_data(as_text=True))
    marks = [t for t, _, around in page.tags if t == "mark" and "document-body" in around]
    assert len(marks) == 1  # "Aşgabat" in the body; "Aşgabatda" is another word
    assert "Aşgabat şäherinde" in page.text


def test_every_document_and_page_renders(app_client):
    hits = api(app_client, size=100)["results"]
    assert len(hits) == len(RECORDS) + 2
    for hit in hits:
        for url in (f"/doc/{quote(hit['id'])}?q=Aşgabat", f"/api/documents/{quote(hit['id'])}"):
            response = app_client.get(url)
            assert response.status_code == 200, url
        page = Markup(app_client.get(f"/doc/{quote(hit['id'])}").get_data(as_text=True))
        assert page.problems() == []
        assert hit["title"] in page.text


@pytest.mark.parametrize(
    "q",
    [
        "Aşgabat", "Ашхабад", "عشق آباد", "אשגבט", "🇹🇲🎉", "\u200b\u200c\u200d\u00ad\ufeff",
        "\u202e\u202d\u200f", "ﬁnance", "Ａｓｈｇａｂａｔ", "İstanbul ı", "ß", "e\u0301",
        "한국어 日本語 中文", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "title:Aşgabat*", "Aşg*", "Aşgabat~", '"Ашхабад"~2',
    ],
)  # fmt: skip
def test_unicode_queries_never_fail(app_client, q):
    assert api(app_client, q=q)["ok"] is True
    response = app_client.get("/?" + urlencode({"q": q}))
    assert response.status_code == 200
    (box,) = [a for t, a, _ in Markup(response.get_data(as_text=True)).tags if a.get("id") == "q"]
    assert box["value"] == q


def test_unicode_facet_values_filter_by_folded_case(app_client):
    body = api(app_client, q="", source="türkmenistan habarlar gullugy")
    assert {hit["id"] for hit in body["results"]} == {"tm-1", "Aşgabat-baýram"}
    sources = {f["value"] for f in api(app_client, q="")["facets"]["source"]}
    assert {"Нейтральный Туркменистан", "وكالة الأنباء", "סוכנות"} <= sources


@pytest.mark.parametrize(
    "typed", ["Turkmenistan Habarlar Gullugy", "TURKMENISTAN habarlar gullugy", "Türkmenistan"]
)
def test_facet_values_match_without_accents(app_client, typed):
    """A value typed without its accents chooses it, finds it in a facet's filter box,
    and the page lists it as chosen (not as another value with no match)."""
    found = app_client.get("/api/facets/source?" + urlencode({"contains": typed[:12]})).get_json()
    assert [v["value"] for v in found["values"]] == ["Türkmenistan Habarlar Gullugy"]
    if typed == "Türkmenistan":
        return
    body = api(app_client, q="", source=typed)
    assert {hit["id"] for hit in body["results"]} == {"tm-1", "Aşgabat-baýram"}
    page = app_client.get("/?" + urlencode({"source": typed})).get_data(as_text=True)
    assert "Türkmenistan Habarlar Gullugy" in page
    rows = re.findall(r'<li class="facet-row[^"]*is-included', page)
    assert len(rows) == 1, rows


def test_unicode_file_names_and_ids(app_client):
    assert api(app_client, q="baýramçylyk")["results"][0]["id"] == "Aşgabat-baýram"
    assert app_client.get("/api/documents/" + quote("وثيقة/٢")).status_code == 200
    assert app_client.get("/doc/" + quote("📄 emoji id")).status_code == 200


# -- known gaps: the analyzer's word regex (\w) leaves out combining marks and joiners -----------
# Fixing them needs analysis.WORD_RE and highlight._candidates to change together; see the
# Reliability section of the README. Strict: when fixed, these pass and must lose the mark.


def test_decomposed_accents_are_one_word(tmp_path):
    assert _finds(tmp_path, unicodedata.normalize("NFD", "Türkmenistan Aşgabat"), "Aşgabat")


def test_arabic_with_vowel_signs_is_one_word(tmp_path):
    assert _finds(tmp_path, "عَقَدَ المُؤتَمَر", "المؤتمر")


def test_soft_hyphen_joins_a_word(tmp_path):
    assert _finds(tmp_path, "The pipe\u00adline opened.", "pipeline")


def _finds(tmp_path, body: str, q: str) -> bool:
    from searchsvc.indexing import index_paths
    from searchsvc.searching import Engine, SearchRequest

    (tmp_path / "docs").mkdir()
    record = {"id": "x", "title": "t", "body": body}
    (tmp_path / "docs" / "x.jsonl").write_text(json.dumps(record), encoding="utf-8")
    index_paths(tmp_path / "ix", [tmp_path / "docs"], procs=1)
    with Engine(tmp_path / "ix") as engine:
        return engine.search(SearchRequest(q=q)).total == 1
