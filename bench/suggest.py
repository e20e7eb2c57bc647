"""Time the "did you mean" suggestion, and whole searches, on misspelled queries.

    python bench/suggest.py --index-dir /tmp/wh-ix               # bench/misspelled.txt
    python bench/suggest.py --index-dir /tmp/wh-ix --searches    # also Engine.search

Prints each query's suggestion and time, then p50 / p95 / max. Runs against whichever
searchsvc is importable, so the same script times an older checkout (its own virtualenv's
python; see bench/README.md on PYTHONPATH):
with searchsvc.searching.spelling, one preloaded Speller per index state, as the Engine keeps it;
without, search.suggest as it was.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package for
# everything imported below: search the folder last, after the standard library.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import statistics
import time

from searchsvc.indexing import storage
from searchsvc.searching.engine import Engine
from searchsvc.searching.search import SearchRequest


def main(argv: list[str] | None = None) -> int:
    """Time the suggestion of each query in --queries; print figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--queries", default=str(_BENCH / "misspelled.txt"))
    ap.add_argument("--searches", action="store_true", help="also time Engine.search")
    args = ap.parse_args(argv)
    queries = [q for q in Path(args.queries).read_text().splitlines() if q.strip()]
    ix = storage.open_index_at(storage.current_generation(args.index_dir))
    searcher = ix.searcher()
    reader = searcher.reader()
    print(
        f"{len(queries)} queries; {len(list(reader.leaf_readers()))} segments, "
        f"{reader.doc_count()} documents ({reader.doc_count_all()} with deleted ones)"
    )
    suggest = _suggester(searcher)
    times = []
    for q in queries:
        started = time.perf_counter()
        found = suggest(q)
        times.append(time.perf_counter() - started)
        print(f"{times[-1] * 1000:9.1f} ms  {q!r} -> {found!r}", flush=True)
    _summary("suggestion", times)
    if args.searches:
        with Engine(args.index_dir, cache_size=0) as engine:
            engine.search(SearchRequest(q="energy"))  # open the snapshot first
            times = []
            for q in queries:
                started = time.perf_counter()
                engine.search(SearchRequest(q=q))
                times.append(time.perf_counter() - started)
            _summary("Engine.search", times)
    return 0


def _suggester(searcher):
    from searchsvc.searching import search

    if not hasattr(search, "Speller"):  # an older checkout: Whoosh's corrector
        return lambda q: search.suggest(searcher, q)
    started = time.perf_counter()
    speller = search.Speller(searcher.reader()).preload()
    took = time.perf_counter() - started
    words = sum(len(speller.words(letter)) for letter in speller._words)
    print(f"dictionary: {words} words read in {took:.2f} s")
    return speller.suggest


def _summary(what: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"{what}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms, "
        f"total {sum(ms) / 1000:.2f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
