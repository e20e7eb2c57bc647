"""HTTP benchmark: `searchsvc serve` (gunicorn) on loopback under concurrent distinct queries.

    an index (default: the seeds, built into a temporary folder; or --index-dir DIR)
      --searchsvc serve --workers N, on a free 127.0.0.1 port--> /api/search
    a pool of distinct queries --C client threads, one request at a time each, D seconds-->
      req/s, p50 and p99 latency, and errors (non-200, or "ok": false), per concurrency
    then a small pool asked over and over (popular queries) at --repeat-concurrency:
      the same figures, with the workers' result caches answering most requests

The server is always stopped at the end, by the process id this script started.

    python bench/http.py [--index-dir DIR] [--workers N] [--duration S]
                         [--concurrency 1,8,16,32] [--repeat N] [--repeat-concurrency C]
                         [--json]
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
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

from _common import latency_ms, machine, machine_line, table
from _workload import BenchQuery, make_queries, read_docs

from searchsvc.searching import open_backend

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
POOL_SIZE = 20_000
READY_TIMEOUT = 120.0


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def serve_command(index_dir: Path, port: int, workers: int) -> list[str]:
    """The `searchsvc serve` command line of this virtualenv."""
    exe = Path(sys.executable).with_name("searchsvc")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "searchsvc"]
    return [
        *base,
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--index-dir",
        str(index_dir),
    ]


def start_server(index_dir: Path, workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start the server in its own process group and wait until /api/health answers."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            serve_command(index_dir, port, workers),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=REPO,
        )
    try:
        wait_ready(port, proc)
    except BaseException:
        stop_server(proc)
        raise
    return proc, port


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    """Poll /api/health until it answers 200; SystemExit if the server dies or never does."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"searchsvc serve exited with status {proc.returncode}")
        try:
            status, _ = get(port, "/api/health")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"searchsvc serve did not answer within {READY_TIMEOUT:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the gunicorn master (a graceful stop), then SIGKILL its group if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this script created for it
        proc.wait()


# -- the clients ------------------------------------------------------------------------------


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None):
    """GET path; the status and the body."""
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()  # gunicorn's sync workers close every connection anyway


class QueryFeed:
    """Hands out the pool's queries in order to any thread; counts how often it wrapped."""

    def __init__(self, queries: list[BenchQuery]):
        self._queries = queries
        self._next = itertools.count()
        self._lock = threading.Lock()

    def take(self) -> BenchQuery:
        with self._lock:
            n = next(self._next)
        return self._queries[n % len(self._queries)]

    @property
    def handed_out(self) -> int:
        with self._lock:
            return next(self._next) - 1  # peeking costs one number; harmless

    @property
    def size(self) -> int:
        return len(self._queries)


@dataclass
class ClientTally:
    """What one client thread saw."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


def client(port: int, feed: QueryFeed, deadline: float) -> ClientTally:
    """Send queries one after another until the deadline."""
    tally = ClientTally()
    while time.monotonic() < deadline:
        path = "/api/search?" + urlencode(feed.take().params())
        started = time.perf_counter()
        problem = _ask(port, path)
        tally.seconds.append(time.perf_counter() - started)
        if problem:
            tally.errors += 1
            tally.first_error = tally.first_error or problem
    return tally


def _ask(port: int, path: str) -> str:
    """'' if the search answered 200 with "ok": true, else what went wrong."""
    try:
        status, body = get(port, path)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if status != 200:
        return f"HTTP {status} for {path}"
    try:
        ok = json.loads(body).get("ok") is True
    except ValueError:
        ok = False
    return "" if ok else f'"ok" is not true for {path}'


def load(port: int, feed: QueryFeed, concurrency: int, duration: float) -> dict:
    """C clients for duration seconds: requests, req/s, latency and errors."""
    started = time.monotonic()
    deadline = started + duration
    with ThreadPoolExecutor(concurrency) as pool:
        tallies = list(pool.map(lambda _: client(port, feed, deadline), range(concurrency)))
    elapsed = time.monotonic() - started
    seconds = [s for t in tallies for s in t.seconds]
    times = latency_ms(seconds)
    return {
        "concurrency": concurrency,
        "requests": len(seconds),
        "seconds": round(elapsed, 2),
        "req_per_s": round(len(seconds) / elapsed, 1),
        "p50_ms": times["p50"],
        "p99_ms": times["p99"],
        "max_ms": times["max"],
        "errors": sum(t.errors for t in tallies),
        "first_error": next((t.first_error for t in tallies if t.first_error), ""),
    }


# -- the run ----------------------------------------------------------------------------------


def seeds_index(tmp: Path) -> Path:
    """An index of the repository's seeds, built into tmp."""
    index_dir = tmp / "index"
    report = open_backend(index_dir).index([REPO / "seeds"], rebuild=True)
    if report.total == 0:
        raise SystemExit(f"Nothing indexed from {REPO / 'seeds'}")
    return index_dir


def query_pool(docs: list, seed: int) -> list[BenchQuery]:
    """Distinct queries drawn from titles, as speed.py's are; from the text too if too few."""
    pool = make_queries(docs, POOL_SIZE, seed=seed)
    if len(pool) < POOL_SIZE // 2:  # a small corpus, such as the seeds
        pool = make_queries(docs, POOL_SIZE, seed=seed, from_body=True)
    return pool


def benchmark(args: argparse.Namespace, tmp: Path) -> dict:
    """Start the server, warm it, load it at each concurrency, stop it."""
    index_dir = Path(args.index_dir) if args.index_dir else seeds_index(tmp)
    if not open_backend(index_dir).exists():
        raise SystemExit(f"No index at {index_dir}. Run: searchsvc index --index-dir {index_dir}")
    docs = read_docs(index_dir)
    feed = QueryFeed(query_pool(docs, args.seed))
    log_path = tmp / "server.log"
    proc, port = start_server(index_dir, args.workers, log_path)
    try:
        _warm_up(port, args.workers)
        levels = []
        for c in args.concurrency:
            _progress(args, f"concurrency {c} for {args.duration:g} s")
            levels.append(load(port, feed, c, args.duration))
        repeated = None
        if args.repeat:
            c = args.repeat_concurrency
            _progress(args, f"{args.repeat} repeated queries, concurrency {c}")
            popular = QueryFeed(make_queries(docs, args.repeat, seed=args.seed + 1))
            repeated = load(port, popular, c, args.duration)
    finally:
        stop_server(proc)
    return {
        "index_dir": str(index_dir),
        "documents": len(docs),
        "workers": args.workers,
        "duration_s": args.duration,
        "distinct_queries": feed.size,
        "queries_sent": feed.handed_out,
        "levels": levels,
        "repeated": repeated,
        "repeated_pool": args.repeat,
        "server_exit_status": proc.returncode,
        "machine": machine(),
    }


def _warm_up(port: int, workers: int) -> None:
    # Each worker opens the index on its first request; that is not what is measured.
    for _ in range(4 * workers):
        get(port, "/api/search?q=warm+up")


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(f"... {message}", file=sys.stderr, flush=True)


def print_report(r: dict) -> None:
    """The per-concurrency table."""
    wrapped = r["queries_sent"] > r["distinct_queries"]
    print(
        f"searchsvc serve (gunicorn, {r['workers']} workers) over {r['index_dir']} "
        f"({r['documents']:,} documents); {r['duration_s']:g} s per level; "
        f"{r['queries_sent']:,} queries sent from a pool of {r['distinct_queries']:,} distinct"
        + (" (the pool wrapped around)" if wrapped else "")
    )
    levels = r["levels"] + ([r["repeated"]] if r["repeated"] else [])
    rows = [
        (
            lv["concurrency"] if lv is not r["repeated"] else f"{lv['concurrency']}, repeated",
            lv["requests"],
            lv["req_per_s"],
            lv["p50_ms"],
            lv["p99_ms"],
            lv["errors"],
        )
        for lv in levels
    ]
    print(table(["concurrency", "requests", "req/s", "p50 ms", "p99 ms", "errors"], rows))
    if r["repeated"]:
        print(
            f"repeated: a pool of {r['repeated_pool']} queries asked over and over, most "
            "answered from each worker's result cache (the rows above never repeat a query)"
        )
    for lv in levels:
        if lv["first_error"]:
            print(f"first error at concurrency {lv['concurrency']}: {lv['first_error']}")
    print(machine_line())


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
