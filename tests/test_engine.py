"""The Engine's result cache: repeated requests are answered once, and never from an old index."""

from __future__ import annotations

import shutil

import pytest
from conftest import SEEDS

from searchsvc.caching import LruCache
from searchsvc.indexing import index_paths
from searchsvc.searching import Engine, SearchError, SearchRequest
from searchsvc.searching import engine as engine_module


@pytest.fixture
def counted(monkeypatch) -> list[SearchRequest]:
    """Every request the engine computes (rather than answers from its cache)."""
    asked: list[SearchRequest] = []
    real = engine_module.search

    def search(searcher, ranker, facets, request, **options):
        asked.append(request)
        return real(searcher, ranker, facets, request, **options)

    monkeypatch.setattr(engine_module, "search", search)
    return asked


@pytest.fixture
def seeds_copy(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    index_paths(tmp_path / "ix", [tmp_path / "seeds"], procs=1)
    return tmp_path


def test_a_repeated_request_is_computed_once(seeds_copy, counted):
    req = SearchRequest(q="turkmenistan")
    with Engine(seeds_copy / "ix") as engine:
        first, again = engine.search(req), engine.search(req)
        engine.search(SearchRequest(q="turkmenistan", page=2, size=2))
    assert again.hits == first.hits and again.total == first.total == 5
    assert again.facets == first.facets
    assert counted == [req, SearchRequest(q="turkmenistan", page=2, size=2)]


def test_a_changed_index_is_never_answered_from_the_cache(seeds_copy, counted):
    req = SearchRequest(q="zebra")
    with Engine(seeds_copy / "ix", check_interval=0) as engine:
        assert engine.search(req).total == 0
        (seeds_copy / "seeds" / "zebra.md").write_text(
            "---\ntitle: Zebra crossing\ndate: 2024-05-01\n---\nA zebra crossing opened.\n",
            encoding="utf-8",
        )
        index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1)
        assert engine.search(req).total == 1
    assert counted == [req, req]


def test_a_cache_of_size_zero_keeps_nothing(seeds_copy, counted):
    with Engine(seeds_copy / "ix", cache_size=0) as engine:
        engine.search(SearchRequest(q="energy"))
        engine.search(SearchRequest(q="energy"))
    assert len(counted) == 2


def test_errors_are_not_cached(seeds_copy, counted):
    with Engine(seeds_copy / "ix") as engine:
        for _ in range(2):
            with pytest.raises(SearchError):
                engine.search(SearchRequest(q="title:(", strict=True))
    assert len(counted) == 2


def test_the_cache_drops_the_least_recently_used():
    cache: LruCache = LruCache(2)
    a, b, c = (SearchRequest(q=w) for w in "abc")
    cache.put(a, "A")
    cache.put(b, "B")
    assert cache.get(a) == "A"  # a is now the most recently used
    cache.put(c, "C")
    assert cache.get(b) is None and cache.get(a) == "A" and cache.get(c) == "C"


def test_the_cache_keeps_within_its_budget_of_costs():
    cache: LruCache = LruCache(10, cost=len, largest=6)
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    cache.put("c", "xxxxxxx")  # costs more than the largest allowed: not kept
    assert "c" not in cache and cache.held == 8
    cache.put("d", "xxxx")  # 12 > 10: the least recently used (a) goes
    assert "a" not in cache and cache.held == 8
