#!/usr/bin/env python3
"""Load a real `searchsvc serve` at concurrency 16 while the index is rebuilt under it.

    python scripts/load_reindex.py [--seconds 60] [--concurrency 16] [--workers 4]

A temporary folder holds a copy of the seeds and --docs generated releases; the server
(gunicorn) serves its index. For --seconds, --concurrency client threads search the API,
load the search page and fetch documents, while a background loop keeps changing the
folder: each round adds new releases (each with a word of its own) and changes existing
ones (appending a word of the round), then runs `searchsvc index` on it; one round, half
way, runs `searchsvc index --rebuild` instead.

Required: 0 failed requests (a status other than 200, an API answer without ok: true, a
refused or dropped connection, a timeout), nothing wrong in the server's log, and at the
end every new release, and every change, searchable through the server.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

QUERIES = [
    "ministry", "energy pipeline", '"foreign affairs"', "summit AND trade", "Turkmenistan",
    "strategic partnership", "gas OR oil", "cooperation NOT climate", "partner*",
    "delegaton~", "title:agreement", "caspian", "kumquat42", "investment security",
]  # fmt: skip
FILTERS = [{}, {"sort": "newest"}, {"from": "2018", "to": "2020"}, {"year": "2019"},
           {"page": "2", "size": "20"}, {"place": "Ashgabat"}]  # fmt: skip
NEW_PER_ROUND = 25
CHANGED_PER_ROUND = 15


class Load:
    """The client threads' shared counts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.kinds: Counter = Counter()
        self.failures: Counter = Counter()
        self.examples: dict[str, str] = {}

    def record(self, kind: str, seconds: float, problem: str | None, where: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.kinds[kind] += 1
            if problem:
                self.failures[problem.split(":")[0]] += 1
                self.examples.setdefault(problem.split(":")[0], f"{where[:120]} -> {problem}")


def client(port: int, ids: list[str], load: Load, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.7:
            kind = "api search"
            path = "/api/search?" + urlencode({"q": rng.choice(QUERIES), **rng.choice(FILTERS)})
        elif roll < 0.9:
            kind = "search page"
            path = "/?" + urlencode({"q": rng.choice(QUERIES), **rng.choice(FILTERS)})
        else:
            kind = "api document"
            path = "/api/documents/" + quote(rng.choice(ids))
        started = time.monotonic()
        try:
            response = _harness.request(port, path, timeout=30)
            problem = _problem(response, path)
        except Exception as exc:  # refused, reset, timed out: all failures
            problem = f"connection error: {exc!r}"
        load.record(kind, time.monotonic() - started, problem, path)


def _problem(response: _harness.Response, path: str) -> str | None:
    if response.status != 200:
        return f"status {response.status}: {response.body[:150]!r}"
    if path.startswith("/api/"):
        body = json.loads(response.body)
        if body.get("ok") is not True:
            return f"ok false: {body}"
    elif b"</html>" not in response.body:
        return "truncated page"
    return None


class Reindexer(threading.Thread):
    """Adds and changes releases, then runs `searchsvc index`, round after round."""

    def __init__(self, docs: Path, index_dir: Path, existing: list[Path], stop_at: float):
        super().__init__(daemon=True)
        self.docs, self.index_dir, self.existing = docs, index_dir, existing
        self.stop_at = stop_at
        self.half_way = time.monotonic() + (stop_at - time.monotonic()) / 2
        self.rng = random.Random(7)
        self.runs: list[tuple[str, float, str]] = []  # (kind, seconds, summary)
        self.new_words: list[str] = []
        self.changed: dict[str, int] = {}  # a round's word -> files that carry it
        self.errors: list[str] = []

    def run(self) -> None:
        round_number = 0
        rebuilt = False
        while time.monotonic() < self.stop_at:
            round_number += 1
            self.change(round_number)
            rebuild = not rebuilt and time.monotonic() >= self.half_way
            rebuilt = rebuilt or rebuild
            self.index(rebuild)
        if not rebuilt:  # a very short run still rebuilds once
            self.index(True)

    def change(self, n: int) -> None:
        rng = random.Random(n)
        for j in range(NEW_PER_ROUND):
            word = f"loadnew{n:03d}x{j:02d}"
            path = self.docs / "new" / f"round-{n:03d}-{j:02d}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_text(_harness.release(100_000 + n * 100 + j, rng, extra=word), "utf-8")
            self.new_words.append(word)
        word = f"changed{n:03d}"
        for path in self.rng.sample(self.existing, CHANGED_PER_ROUND):
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"\nUpdated: the {word} correction.\n")
        self.changed[word] = CHANGED_PER_ROUND

    def index(self, rebuild: bool) -> None:
        args = ["index", str(self.docs), "--index-dir", str(self.index_dir), "--wait", "120"]
        started = time.monotonic()
        done = _harness.run_cli(*args, *(["--rebuild"] if rebuild else []))
        seconds = time.monotonic() - started
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        self.runs.append(("rebuild" if rebuild else "incremental", seconds, summary))
        if done.returncode != 0:
            self.errors.append(f"searchsvc index failed: {done.stderr.strip()[-300:]}")


def verify(port: int, reindexer: Reindexer, expected_docs: int) -> list[str]:
    """Every new release and every change is searchable through the server."""
    time.sleep(2.5)  # each worker looks for a changed index once a second
    problems = []
    for word in reindexer.new_words:
        total = _total(port, word)
        if total != 1:
            problems.append(f"{word}: {total} results, not 1")
    for word, files in reindexer.changed.items():
        if (total := _total(port, word)) != files:
            problems.append(f"{word}: {total} results, not {files}")
    health = json.loads(_harness.request(port, "/api/health").body)
    if health["documents"] != expected_docs:
        problems.append(f"/api/health counts {health['documents']}, not {expected_docs}")
    return problems


def _total(port: int, q: str) -> int:
    body = json.loads(_harness.request(port, "/api/search?" + urlencode({"q": q})).body)
    return body["total"] if body.get("ok") else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to load")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--docs", type=int, default=2000, help="generated releases to start")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="load-reindex-") as tmp:
        work = Path(tmp)
        docs, index_dir = work / "docs", work / "index"
        shutil.copytree(_harness.SEEDS, docs / "seeds")
        existing = _harness.write_releases(docs / "generated", range(args.docs))
        from searchsvc.indexing import index_paths

        first = index_paths(index_dir, [docs])
        ids = [f"generated/{p.relative_to(docs / 'generated').with_suffix('')}" for p in existing]
        ids = [i.replace("generated/", "", 1) for i in ids]  # ids are relative to the folder
        print(f"index: {first.summary()}")
        with _harness.serve(index_dir, work, workers=args.workers) as server:
            print(
                f"load: searchsvc serve (gunicorn, {args.workers} workers) at 127.0.0.1:"
                f"{server.port}; {args.concurrency} clients for {args.seconds:.0f} s while "
                f"reindexing (+{NEW_PER_ROUND} new, {CHANGED_PER_ROUND} changed a round)"
            )
            load, stop = Load(), threading.Event()
            started = time.monotonic()
            reindexer = Reindexer(docs, index_dir, existing, started + args.seconds)
            ids = [f"generated/{i}" for i in ids]
            clients = [
                threading.Thread(target=client, args=(server.port, ids, load, stop, n))
                for n in range(args.concurrency)
            ]
            for t in [reindexer, *clients]:
                t.start()
            time.sleep(args.seconds)
            stop.set()
            for t in clients:
                t.join()
            elapsed = time.monotonic() - started
            reindexer.join()
            expected = first.total + len(reindexer.new_words)
            checks = verify(server.port, reindexer, expected)
            log_problems = server.log_problems()
    return report(load, elapsed, reindexer, checks, log_problems, expected)


def report(load, elapsed, reindexer, checks, log_problems, expected) -> int:
    total = sum(load.kinds.values())
    failed = sum(load.failures.values())
    ms = sorted(x * 1000 for x in load.latencies) or [0.0]
    p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) > 1 else ms[0]
    print(f"requests: {total:,} in {elapsed:.1f} s = {total / elapsed:,.0f} req/s "
          f"({', '.join(f'{k} {n:,}' for k, n in load.kinds.items())})")  # fmt: skip
    print(f"latency: median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")
    print(f"failed requests: {failed}")
    for kind, example in load.examples.items():
        print(f"  {load.failures[kind]} x {kind}, first: {example[:300]}")
    kinds = Counter(kind for kind, _, _ in reindexer.runs)
    print(f"reindex runs: {kinds['incremental']} incremental, {kinds['rebuild']} rebuild, "
          f"{len(reindexer.new_words)} releases added, "
          f"{CHANGED_PER_ROUND * len(reindexer.changed)} changes")  # fmt: skip
    for kind, seconds, summary in reindexer.runs:
        print(f"  {kind:11} {seconds:5.1f} s  {summary}")
    for error in reindexer.errors:
        print(f"  {error}")
    print(f"server log problems: {len(log_problems)}")
    for line in log_problems[:5]:
        print(f"  {line[:200]}")
    searchable = len(reindexer.new_words) + len(reindexer.changed)
    print(f"check: {len(reindexer.new_words)} new releases and {len(reindexer.changed)} rounds of "
          f"changes searchable, {expected} documents: "
          f"{'yes' if not checks else f'NO, {len(checks)} of {searchable} missing'}")  # fmt: skip
    for problem in checks[:10]:
        print(f"  {problem}")
    bad = failed or checks or log_problems or reindexer.errors
    print(f"{'FAIL' if bad else 'OK'}: {failed} failed requests out of {total:,}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
