"""Spellings no list knows (searching/transliteration.py): folded keys, and "also try"
queries offered, never searched, in the library, the API, the page and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from searchsvc.analysis import exact_term
from searchsvc.cli import main
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching.transliteration import key, keys, name_words

SEEDS = Path(__file__).parent.parent / "seeds"


def meet(typed: str, indexed: str) -> bool:
    """Whether a word typed and a word as the index holds it share a key."""
    return key(exact_term(indexed)) in keys(typed)


@pytest.mark.parametrize(
    ("typed", "indexed"),
    [
        ("Berdymukhammedov", "Berdimuhamedov"),  # y/i, kh/h, double letters
        ("Meredow", "Meredov"),  # w/v
        ("Hajiyev", "Hadjiev"),  # dj/j, y before e
        ("Hadzhiev", "Hajiyev"),  # dzh/j
        ("Zhaparov", "Japarov"),  # zh/j
        ("Tokayev", "Tokaev"),
        ("Mirziyoyev", "Mirzioyev"),
        ("Zelenskyy", "Zelenskiy"),
        ("Toqaev", "Tokaev"),  # q/k
        ("Türkmenbaşy", "Turkmenbashy"),  # Turkmen letters and their stand-ins
        ("Turkmenbashy", "Türkmenbaşy"),  # ...which the index folds to s: sh may be ş
        ("Aşgabat", "Ashgabat"),
        ("Ashgabat", "Aşgabat"),
        ("Çärjew", "Charjev"),
        ("Garaşsyzlyk", "Garashsyzlyk"),
        ("Nyýazow", "Niyazov"),
        ("Erdoğan", "Erdogan"),  # accents folded
    ],
)
def test_spellings_that_meet(typed, indexed):
    assert meet(typed, indexed)


@pytest.mark.parametrize(
    ("typed", "indexed"),
    [("Ashkhabad", "Ashgabat"), ("Moscow", "Muscat"), ("Baku", "Bako"), ("sell", "shell")],
)
def test_spellings_that_do_not(typed, indexed):
    assert not meet(typed, indexed)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("Bayramow Sharifow", ["Bayramow", "Sharifow"]),
        ("Ashgabat NOT Bayramow", ["Ashgabat"]),
        ("Ashgabat ANDNOT Bayramow", ["Ashgabat"]),
        ("NOT (Bayramow OR Sharifow) Ashgabat", ["Ashgabat"]),
        ('title:Bayramow "Sharifow met" Ashgabat Bay*', ["Ashgabat"]),
        ("Bayramow AND (Sharifow OR Hajiew)", ["Bayramow", "Sharifow", "Hajiew"]),
        ("tin 2023 Bayramow", ["Bayramow"]),
        ("title:(", []),
    ],
)
def test_the_words_looked_at(query, words):
    # Plain words as typed: no operator, field name, phrase, wildcard or excluded word.
    assert name_words(query) == words


@pytest.fixture(scope="module")
def engine(seeds_index):
    with Engine(seeds_index, variants=[]) as engine:  # no list: the folding alone
        yield engine


def seeds_saying(word: str) -> set[str]:
    return {
        p.stem
        for p in SEEDS.glob("*.txt")
        if re.search(rf"\b{word}\b", p.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize(
    ("query", "offered", "written"),
    [
        ("Bayramow", "Bayramov", "Bayramov"),
        ("Hajiyev", "Hadjiev", "Hadjiev"),
        ("Berdymukhammedov", "Berdimuhamedov", "Berdimuhamedov"),
        ("Gurbanow", "Gurbanov", "Gurbanov"),
        ("Vepa Hajiyew", "Vepa Hadjiev", "Hadjiev"),
        ("Ashgabat NOT Hajiyev", None, None),  # excluded: nothing offered
    ],
)
def test_also_try_offers_the_index_spelling_without_searching_it(engine, query, offered, written):
    result = engine.search(SearchRequest(q=query))
    if offered is None:
        assert result.also_try == ()
        return
    # Once: as a "did you mean" if that is the same query, else as "also try".
    said = [q.casefold() for q in (*result.also_try, result.suggestion) if q]
    assert said.count(offered.casefold()) == 1
    assert not ids_of(result) & seeds_saying(written) - seeds_saying(query.split()[0])
    tried = engine.search(SearchRequest(q=offered))
    assert ids_of(tried) == seeds_saying(written) != set()


def ids_of(result) -> set[str]:
    return {h.id for h in result.hits}


def test_also_try_leaves_ordinary_words_alone(engine):
    # "consultations" is in the index; a lower-case word found there is no name.
    assert engine.search(SearchRequest(q="consultatons")).also_try == ()
    assert engine.search(SearchRequest(q="partnership")).also_try == ()


def test_also_try_skips_what_the_variants_searched(seeds_index):
    with Engine(seeds_index) as engine:  # the shipped list knows Berdymukhamedov
        result = engine.search(SearchRequest(q="Berdymukhamedov"))
    assert result.also_searched == ("Berdimuhamedov",) and result.also_try == ()


def test_api_page_and_cli_offer_also_try(client, runner, seeds_index):
    body = client.get("/api/search?q=Bayramow%20Sharifow").get_json()
    assert body["total"] == 0
    assert body["also_try"] == ["Bayramov Sharifow", "Bayramow Sharifov"]
    page = client.get("/?q=Bayramow%20Sharifow").get_data(as_text=True)
    assert "Also try:" in page
    assert 'href="/?q=Bayramov+Sharifow"' in page
    args = ["search", "Bayramow Sharifow", "--index-dir", str(seeds_index)]
    lines = runner.invoke(main, args).output.splitlines()
    assert "Also try: Bayramov Sharifow | Bayramow Sharifov" in lines
    payload = json.loads(runner.invoke(main, [*args, "--json"]).output)
    assert payload["also_try"] == body["also_try"]


@pytest.fixture(scope="module")
def typo_engine(tmp_path_factory):
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("typos")
    (root / "docs").mkdir()
    texts = ["Biden spoke", "Biden met", "Biden left", "Bidden (a typo)", "Shell sold"]
    texts += ["They sell gas", "We sell oil", "Ashgabat talks"]
    for n, text in enumerate(texts):
        (root / "docs" / f"{n}.txt").write_text(f" date 2024-01-0{n + 1}\n\n{text}\n\n{text}.\n")
    index_paths(root / "ix", [root / "docs"], procs=1)
    with Engine(root / "ix", variants=[]) as engine:
        yield engine


@pytest.mark.parametrize(
    ("query", "offered"),
    [
        ("Bidden", ("Biden",)),  # the index holds Biden more often: worth trying
        ("Biden", ()),  # not its rarer typo
        ("Shell", ()),  # a word the index holds: sh is not read as ş, so no "Sell"
        ("Aşgabat", ("Ashgabat",)),  # ş, which the index would fold to s, read as sh
    ],
)
def test_a_known_word_is_offered_only_commoner_spellings(typo_engine, query, offered):
    result = typo_engine.search(SearchRequest(q=query))
    if not offered:
        assert result.also_try == ()
        return
    # Once: as "also try", or as the "did you mean" when that is the same query.
    said = [q.casefold() for q in (*result.also_try, result.suggestion) if q]
    assert said.count(offered[0].casefold()) == 1


def test_also_try_offers_no_rarer_spelling_than_the_variants_searched(tmp_path):
    """Zelenskiy (in no release) searches Zelenskyy and Zelensky through the lists; the
    typo Zelenskky, in one release, is no spelling worth trying beside them."""
    from searchsvc.indexing import index_paths

    (tmp_path / "docs").mkdir()
    texts = ["Zelenskyy spoke", "Zelenskyy met", "Zelenskyy left", "Zelensky said"]
    texts += ["Zelenskky (a typo) said", "Gas talks"]
    for n, text in enumerate(texts):
        (tmp_path / "docs" / f"{n}.txt").write_text(f" date 2024-01-0{n + 1}\n\n{text}\n")
    index_paths(tmp_path / "ix", [tmp_path / "docs"], procs=1)
    names = tmp_path / "names.txt"
    names.write_text("Zelenskyy, Zelensky, Zelenskiy\n", encoding="utf-8")
    with Engine(tmp_path / "ix", variants=[names]) as engine:
        result = engine.search(SearchRequest(q="Zelenskiy"))
        typo = engine.search(SearchRequest(q="Zelenskky", verbatim=True))
    assert set(result.also_searched) == {"Zelenskyy", "Zelensky"} and result.total == 4
    assert result.also_try == ()
    assert "Zelenskyy" in typo.also_try  # the commoner spelling is still offered for the typo
