"""HTTP benchmark: `searchsvc serve` (gunicorn) on loopback under concurrent distinct queries.

    an index (default: the seeds, built into a temporary folder; or --index-dir DIR)
      --searchsvc serve --workers N, on a free 127.0.0.1 port--> /api/search
    a pool of distinct queries --C client threads, one request at a time each, D seconds-->
      req/s, p50 and p99 latency, and errors (non-200, or "ok": false), per concurrency
    then a small pool asked over and over (popular queries) at --repeat-concurrency:
      the same figures, with the workers' result caches answering most requests
    with --peer FOLDER (or --peer-db DB): the Flask + FTS5 app of bench/fts5_app.py, built
      end to end from FOLDER's files, served by gunicorn's sync workers, the same distinct
      levels in the same run, and the ratio of the two

Also printed: each server's first answer after it was launched (cold start) and the peak
resident memory of its workers. The servers are always stopped, by the process ids this
script started.

    python bench/http.py [--index-dir DIR] [--workers N] [--duration S]
                         [--concurrency 1,8,16,32] [--repeat N] [--repeat-concurrency C]
                         [--peer FOLDER | --peer-db DB] [--json]
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
import tempfile
from functools import partial

import _serving
import fts5_app
from _common import machine, machine_line, ratio, table
from _workload import make_queries, query_pool, read_docs

from searchsvc.searching import open_backend

REPO = Path(__file__).resolve().parents[1]
POOL_SIZE = 20_000


def seeds_index(tmp: Path) -> Path:
    """An index of the repository's seeds, built into tmp."""
    index_dir = tmp / "index"
    report = open_backend(index_dir).index([REPO / "seeds"], rebuild=True)
    if report.total == 0:
        raise SystemExit(f"Nothing indexed from {REPO / 'seeds'}")
    return index_dir


def benchmark(args: argparse.Namespace, tmp: Path) -> dict:
    """Start each server, warm it, load it at each concurrency, stop it."""
    index_dir = Path(args.index_dir) if args.index_dir else seeds_index(tmp)
    if not open_backend(index_dir).exists():
        raise SystemExit(f"No index at {index_dir}. Run: searchsvc index --index-dir {index_dir}")
    docs = read_docs(index_dir)
    pool = query_pool(docs, POOL_SIZE, args.seed)
    progress = partial(_progress, args)
    repeated = make_queries(docs, args.repeat, seed=args.seed + 1) if args.repeat else None
    out: dict = {
        "index_dir": str(index_dir),
        "documents": len(docs),
        "workers": args.workers,
        "duration_s": args.duration,
        "machine_before": machine(),
    }
    progress("searchsvc serve")
    out["searchsvc"] = _serving.measure_searchsvc(
        index_dir,
        pool,
        args.concurrency,
        args.duration,
        args.workers,
        tmp / "searchsvc.log",
        progress,
        repeated,
        args.repeat_concurrency,
    )
    out["repeated_pool"] = len(repeated or [])
    db = Path(args.peer_db) if args.peer_db else None
    if args.peer:
        progress(f"building the FTS5 peer from {args.peer}")
        db = tmp / "peer.db"
        out["peer_build"] = fts5_app.build([Path(args.peer)], db).figures()
    if db is not None:
        progress("the Flask + FTS5 peer")
        out["fts5_peer"] = _serving.measure_peer(
            db, pool, args.concurrency, args.duration, args.workers, tmp / "peer.log", progress
        )
    out["machine_after"] = machine()
    return out


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(f"... {message}", file=sys.stderr, flush=True)


def print_report(r: dict) -> None:
    """The per-concurrency table, the peer's beside it."""
    s = r["searchsvc"]
    wrapped = s["queries_sent"] > s["distinct_queries"]
    print(
        f"searchsvc serve (gunicorn, {r['workers']} workers) over {r['index_dir']} "
        f"({r['documents']:,} documents); {r['duration_s']:g} s per level; "
        f"{s['queries_sent']:,} queries sent from a pool of {s['distinct_queries']:,} distinct"
        + (" (the pool wrapped around)" if wrapped else "")
    )
    p = r.get("fts5_peer")
    rows = []
    for i, lv in enumerate(s["levels"]):
        row = [lv["concurrency"], lv["requests"], lv["req_per_s"], lv["p50_ms"], lv["p99_ms"]]
        row.append(lv["errors"])
        if p:
            theirs = p["levels"][i]
            row += [theirs["req_per_s"], theirs["p50_ms"], theirs["p99_ms"], theirs["errors"]]
            row.append(ratio(lv["req_per_s"], theirs["req_per_s"]))
        rows.append(row)
    if s.get("repeated"):
        lv = s["repeated"]
        rows.append(
            [f"{lv['concurrency']}, repeated", lv["requests"], lv["req_per_s"], lv["p50_ms"]]
            + [lv["p99_ms"], lv["errors"]]
            + (["", "", "", "", ""] if p else [])
        )
    headers = ["concurrency", "requests", "req/s", "p50 ms", "p99 ms", "errors"]
    if p:
        headers += ["FTS5 req/s", "p50 ms", "p99 ms", "errors", "ratio req/s"]
    print(table(headers, rows))
    if s.get("repeated"):
        print(
            f"repeated: a pool of {r['repeated_pool']} queries asked over and over, most "
            "answered from each worker's result cache (the rows above never repeat a query)"
        )
    for name, side in (("searchsvc", s), ("FTS5 peer", p)):
        if not side:
            continue
        cold = side["cold_start"]
        print(
            f"{name}: first query {cold['first_query_s']:.2f} s after the port opened "
            f"({cold.get('refusals', 0)} refused before it), "
            f"{cold['launch_to_answer_s']:.2f} s after launch; workers' peak RSS "
            + ", ".join(f"{w['peak_mb']:,.0f}" for w in side["workers_memory"])
            + " MiB"
        )
        for lv in side["levels"] + ([side["repeated"]] if side.get("repeated") else []):
            if lv["first_error"]:
                print(f"  first error at concurrency {lv['concurrency']}: {lv['first_error']}")
    if "peer_build" in r:
        b = r["peer_build"]
        print(
            f"FTS5 peer built end to end: {b['releases']:,} releases in {b['seconds']:.1f} s "
            f"({b['releases_per_second']:,}/s)"
        )
    print(machine_line(r["machine_before"]["load_average"], r["machine_after"]["load_average"]))


def _levels(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--index-dir", help="index to serve (default: the seeds, built anew)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers (cores)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    parser.add_argument(
        "--concurrency", type=_levels, default=[1, 8, 16, 32], help="levels, e.g. 1,8,16,32"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the query pool")
    parser.add_argument(
        "--repeat", type=int, default=200, help="size of the repeated pool (0: skip that phase)"
    )
    parser.add_argument(
        "--repeat-concurrency", type=int, default=16, help="concurrency of the repeated phase"
    )
    peer_source = parser.add_mutually_exclusive_group()
    peer_source.add_argument(
        "--peer", metavar="FOLDER", help="build the FTS5 peer from FOLDER and load it too"
    )
    peer_source.add_argument(
        "--peer-db", metavar="DB", help="an FTS5 peer database (bench/fts5_app.py build)"
    )
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchsvc-http-") as tmp:
        report = benchmark(args, Path(tmp))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
