"""Servers under load, for the benchmarks: start one, time its first answer, load it, stop it.

    a command line with a free 127.0.0.1 port --own process group--> a server
      first answer: asked from the moment it is launched, until it answers (cold start)
    a pool of distinct queries --C client threads, one request at a time each, D seconds-->
      req/s, p50 and p99 latency, errors (non-200, or "ok" not true)
    its worker processes --/proc/PID/status--> peak resident memory (VmHWM) of each

Used by http.py (searchsvc serve alone, or beside the FTS5 peer) and speed.py. The server
is always stopped by the process id this module started: SIGTERM, then SIGKILL to its group.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

from _common import latency_ms
from _workload import BenchQuery

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
READY_TIMEOUT = 300.0


# -- the servers ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def searchsvc_command(index_dir: Path, port: int, workers: int) -> list[str]:
    """The `searchsvc serve` command line of this virtualenv."""
    exe = Path(sys.executable).with_name("searchsvc")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "searchsvc"]
    options = {"--host": HOST, "--port": port, "--workers": workers, "--index-dir": index_dir}
    return [*base, "serve", *(str(x) for pair in options.items() for x in pair)]


def peer_command(db_path: Path, port: int, workers: int) -> list[str]:
    """The FTS5 app's command line (bench/fts5_app.py serve)."""
    script = Path(__file__).with_name("fts5_app.py")
    options = {"--host": HOST, "--port": port, "--workers": workers}
    serve = [sys.executable, str(script), "serve", str(db_path)]
    return serve + [str(x) for pair in options.items() for x in pair]


@dataclass
class Server:
    """A running server: its process, port, and how long its first answer took."""

    proc: subprocess.Popen
    port: int
    launch_to_answer_s: float = 0.0  # from the launch to the first answer
    # From the first request's first byte (the port open) to the first 200: a user's first
    # query, retried as a user would after a 503 ("still being opened"), counted in refusals.
    first_request_s: float = 0.0
    refusals: int = 0  # answers other than 200 before it


def start(
    command: Callable[[int], list[str]],
    log_path: Path,
    first_path: str,
    env: Mapping[str, str] | None = None,
) -> Server:
    """Launch command(port) in its own group; ask first_path until it answers 200.

    The first request is sent as soon as the port accepts a connection: gunicorn binds
    before its workers have booted, so that request waits for a worker to load the app and
    open the index, as a user's first query after `serve` starts would.
    """
    port = free_port()
    started = time.perf_counter()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command(port),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
    server = Server(proc, port)
    try:
        server.first_request_s, server.refusals = _first_answer(
            server, first_path, started + READY_TIMEOUT
        )
        server.launch_to_answer_s = time.perf_counter() - started
    except SystemExit as exc:
        stop(server)
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SystemExit("\n".join([str(exc), f"its log ({log_path}) ends:", *tail])) from None
    except BaseException:
        stop(server)
        raise
    return server


def _first_answer(server: Server, path: str, deadline: float) -> tuple[float, int]:
    """Seconds from the first request the port took to the first 200, and the refusals."""
    first_sent, refusals = 0.0, 0
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"the server exited with status {server.proc.returncode}")
        sent = time.perf_counter()
        try:
            status, _ = get(server.port, path)
        except OSError:  # the port is not open yet
            time.sleep(0.05)
            continue
        first_sent = first_sent or sent
        if status == 200:
            return time.perf_counter() - first_sent, refusals
        refusals += 1  # e.g. a 503 while the index is still being opened
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer {path} within {READY_TIMEOUT:.0f} s")


def stop(server: Server) -> None:
    """SIGTERM the master (a graceful stop), then SIGKILL its group if it lingers."""
    proc = server.proc
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this module created for it
        proc.wait()


def worker_memory_mb(server: Server) -> list[dict]:
    """Peak and current resident memory (MiB) of each child process of the server."""
    out = []
    for pid in _children(server.proc.pid):
        status = _status(pid)
        if "VmHWM" in status:
            out.append({"pid": pid, "peak_mb": status["VmHWM"], "rss_mb": status.get("VmRSS", 0.0)})
    return out


def _children(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            pids.append(int(entry))
    return sorted(pids)


def _status(pid: int) -> dict[str, float]:
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = round(int(rest.split()[0]) / 1024, 1)  # kB
    except OSError:
        pass
    return values


# -- the clients ------------------------------------------------------------------------------


def get(port: int, path: str) -> tuple[int, bytes]:
    """GET path on a new connection; the status and the body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()  # sync workers close every connection anyway


def search_path(query: BenchQuery) -> str:
    """The /api/search URL of a workload query (the peer reads the same parameters)."""
    return "/api/search?" + urlencode(query.params())


class QueryFeed:
    """Hands out the pool's queries in order to any thread; counts how many it handed out."""

    def __init__(self, queries: list[BenchQuery]):
        if not queries:
            raise SystemExit("No queries to send: the index gave none.")
        self._queries = queries
        self._next = itertools.count()
        self._lock = threading.Lock()
        self.handed_out = 0

    def take(self) -> BenchQuery:
        with self._lock:
            self.handed_out = next(self._next) + 1
        return self._queries[(self.handed_out - 1) % len(self._queries)]

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
        path = search_path(feed.take())
        started = time.perf_counter()
        problem = ask(port, path)
        tally.seconds.append(time.perf_counter() - started)
        if problem:
            tally.errors += 1
            tally.first_error = tally.first_error or problem
    return tally


def ask(port: int, path: str) -> str:
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
        "p95_ms": times["p95"],
        "p99_ms": times["p99"],
        "max_ms": times["max"],
        "errors": sum(t.errors for t in tallies),
        "first_error": next((t.first_error for t in tallies if t.first_error), ""),
    }


def warm_up(port: int, workers: int) -> None:
    """A few requests per worker, so that each has opened its index before the measure."""
    for _ in range(4 * workers):
        get(port, "/api/search?q=warm+up")


# -- one server, measured ------------------------------------------------------------------------


def measure(
    command: Callable[[int], list[str]],
    pool: list[BenchQuery],
    levels: list[int],
    duration: float,
    workers: int,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
    extra: Callable[[int], dict] | None = None,
) -> dict:
    """Start a server, time its first answer, load it at each level, read its workers' memory.

    The first query is the pool's last one (the levels start from its first, and a pool
    rarely wraps round). extra(port), if given, runs after the levels with the server up.
    """
    server = start(command, log_path, search_path(pool[-1]), env)
    try:
        warm_up(server.port, workers)
        feed = QueryFeed(pool)
        results = []
        for c in levels:
            progress(f"concurrency {c} for {duration:g} s")
            results.append(load(server.port, feed, c, duration))
        more = extra(server.port) if extra else {}
        memory = worker_memory_mb(server)
    finally:
        stop(server)
    return {
        "cold_start": {
            "first_query_s": round(server.first_request_s, 3),
            "launch_to_answer_s": round(server.launch_to_answer_s, 3),
            "refusals": server.refusals,
        },
        "levels": results,
        "distinct_queries": feed.size,
        "queries_sent": feed.handed_out,
        "workers_memory": memory,
        "worker_peak_rss_mb": max((w["peak_mb"] for w in memory), default=0.0),
        "exit_status": server.proc.returncode,
        **more,
    }


def measure_searchsvc(
    index_dir: Path,
    pool: list[BenchQuery],
    levels: list[int],
    duration: float,
    workers: int,
    log_path: Path,
    progress: Callable[[str], None] = lambda _: None,
    repeated: list[BenchQuery] | None = None,
    repeat_concurrency: int = 16,
    result_cache: bool = True,
) -> dict:
    """`searchsvc serve` measured: cold start, each level, then the repeated pool if given."""

    def repeated_phase(port: int) -> dict:
        if not repeated:
            return {}
        progress(f"{len(repeated)} repeated queries, concurrency {repeat_concurrency}")
        feed = QueryFeed(repeated)
        return {"repeated": load(port, feed, repeat_concurrency, duration)}

    env = {} if result_cache else {"SEARCHSVC_RESULT_CACHE": "0"}
    command = partial(searchsvc_command, index_dir, workers=workers)
    return measure(
        command, pool, levels, duration, workers, log_path, env, progress, repeated_phase
    )


def measure_peer(
    db_path: Path,
    pool: list[BenchQuery],
    levels: list[int],
    duration: float,
    workers: int,
    log_path: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """The Flask + FTS5 peer measured the same way (no repeated phase: it has no cache)."""
    command = partial(peer_command, db_path, workers=workers)
    return measure(command, pool, levels, duration, workers, log_path, None, progress)
