"""Single-thread query latency of a fresh Engine, with Whoosh's storage or the shared one.

    python bench/latency.py --index-dir /tmp/wh-ix --storage shared --queries 100

Each run opens a fresh Engine (no result cache) and asks every workload query once, cold
(postings read from the index files), then once more, warm (from the posting cache). Then
the file reads alone, the best of 3 rounds: every posting list of the queries' words (title,
body and exact) and the stored fields of 2,000 documents, without any cache.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import statistics
import time

from _workload import make_queries, read_docs

from searchsvc.analysis import exact_term, stem_term
from searchsvc.indexing import storage
from searchsvc.scoring.postings import read_postings
from searchsvc.searching.engine import Engine


def main() -> None:
    """Print p50 / p95 / mean / total of a cold and a warm pass."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-dir", default="/tmp/wh-ix")
    parser.add_argument("--storage", choices=("whoosh", "shared"), default="shared")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    if args.storage == "whoosh":
        storage.open_for_search = storage.open_index_at
    queries = make_queries(read_docs(args.index_dir), n=args.queries)
    with Engine(args.index_dir, cache_size=0, check_interval=3600) as engine:
        started = time.perf_counter()
        engine.snapshot()
        opened = time.perf_counter() - started
        for label in ("cold", "warm"):
            times = []
            for query in queries:
                t = time.perf_counter()
                engine.search(query.request())
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[int(0.95 * len(times)) - 1]
            print(
                f"{args.storage:7} {label}: {len(times)} queries, p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms, mean {statistics.mean(times):.1f} ms, "
                f"total {sum(times) / 1000:.2f} s"
            )
        print(f"{args.storage:7} open (searcher, facets, dictionary): {opened:.2f} s")
        reads(engine, args.storage, [w for q in queries for w in q.q.split()])


def reads(engine: Engine, label: str, words: list[str]) -> None:
    """Print the best of 3 rounds of reading posting lists, then stored fields."""
    reader = engine.snapshot().searcher.reader()
    terms = {("exact", exact_term(w)) for w in words}
    terms |= {(f, t) for w in words if (t := stem_term(w)) for f in ("title", "body")}
    best_postings = best_stored = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        count = sum(len(read_postings(reader, f, t)[0]) for f, t in sorted(terms))
        best_postings = min(best_postings, time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(0, min(2000, reader.doc_count_all())):
            reader.stored_fields(n)
        best_stored = min(best_stored, time.perf_counter() - started)
    print(
        f"{label:7} reads: {len(terms)} posting lists ({count:,} postings) "
        f"{best_postings * 1000:.0f} ms; stored fields of 2,000 documents "
        f"{best_stored * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
