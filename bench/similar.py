"""Time "more like this" (Engine.similar) for random documents of an index.

    python bench/similar.py --index-dir /tmp/wh-ix              # 200 random documents
    python bench/similar.py --index-dir /tmp/wh-ix --count 500 --seed 2 --json

Cold: the first pass, in a fresh Engine (each word's document frequency and posting list
read from the index the first time a document needs it; the OS file cache is whatever it
is). Warm: the same documents again, in the same Engine. Its result cache is off, so every
answer is computed. Prints p50 / p95 / p99 / max of the wall time and of the CPU time of
the asking thread (the machine is shared: under load the two part), the load average, and
a few examples with the words that found them.
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
import json
import os
import random
import time

from _common import latency_ms

from searchsvc.searching import Engine


def main(argv: list[str] | None = None) -> int:
    """Time Engine.similar over --count random live documents, cold then warm."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--count", type=int, default=200, help="documents (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--examples", type=int, default=3, help="answers to print")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    with Engine(args.index_dir, cache_size=0) as engine:
        started = time.perf_counter()
        snap = engine.snapshot()
        opened = time.perf_counter() - started
        live = snap.facets.live
        ids = [
            snap.searcher.stored_fields(n)["id"]
            for n in random.Random(args.seed).sample(live, min(args.count, len(live)))
        ]
        cold, cold_cpu, answers = _pass(engine, ids)
        warm, warm_cpu, _ = _pass(engine, ids)
    figures = {
        "documents": len(live),
        "asked": len(ids),
        "open_s": round(opened, 2),
        "cold_ms": latency_ms(cold),
        "warm_ms": latency_ms(warm),
        # CPU time of the asking thread: what the answer costs, whatever else the cores run.
        "cold_cpu_ms": latency_ms(cold_cpu),
        "warm_cpu_ms": latency_ms(warm_cpu),
        "similar_per_answer": round(sum(len(a.hits) for a in answers) / max(len(answers), 1), 2),
        "load": [round(x, 1) for x in (*load_before, *os.getloadavg())],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{len(ids)} of {len(live):,} documents; index opened in {opened:.2f} s")
    for name in ("cold", "warm", "cold_cpu", "warm_cpu"):
        f = figures[f"{name}_ms"]
        print(
            f"{name:8} p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms  "
            f"p99 {f['p99']:7.1f} ms  max {f['max']:7.1f} ms"
        )
    print(f"{figures['similar_per_answer']} similar releases an answer")
    print(
        "load average (1, 5, 15 min) before {:.1f} {:.1f} {:.1f}, "
        "after {:.1f} {:.1f} {:.1f}".format(*figures["load"])
    )
    for answer in answers[: args.examples]:
        print(f"\n{answer.id}\n  words: {', '.join(answer.terms)}")
        for hit in answer.hits[:5]:
            print(f"  {hit.score:7.2f}  {hit.title[:90]}")
    return 0


def _pass(engine: Engine, ids: list[str]):
    seconds, cpu, answers = [], [], []
    for doc_id in ids:
        started, started_cpu = time.perf_counter(), time.thread_time()
        answer = engine.similar(doc_id)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        assert answer is not None, doc_id
        answers.append(answer)
    return seconds, cpu, answers


if __name__ == "__main__":
    sys.exit(main())
