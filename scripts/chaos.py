#!/usr/bin/env python3
"""Everyday faults against a real `searchsvc serve` and `searchsvc index`; exit 1 if any harms.

    python scripts/chaos.py [--case NAME ...] [--fast] [--list] [--max-seconds 300]

Each case runs in a process group of its own, in a temporary directory of its own, on
loopback only, under its own time limit; at its end (or its timeout) the whole group is
killed and the directory removed. Nothing touches the project's index/ or seeds/.

  undated            undated and dated releases added incrementally: every endpoint stays 200
  corrupt-commit     a commit whose new segment is truncated lands under a running server:
                     searches keep answering, /api/health says ok with a warning
  idle-connections   32 TCP connections that send nothing: /api/health still within 1 s
  expensive-queries  2 clients loop costly queries, a third asks cheap ones: each < 200 ms
  empty-folder       an emptied, a vanished and an unreadable folder delete nothing unless
                     --allow-delete says so
  duplicate-ids      two JSON Lines files with one id: reported, one kept, always the same
  alias-bomb         a YAML "billion laughs" in front matter: skipped fast, memory bounded
  damaged-segment    a truncated and an overwritten segment: `check` and `search` name the
                     file; with an intact previous generation, search and serve fall back
  deadline           SEARCHSVC_REQUEST_TIMEOUT: a 503 envelope, the worker survives

One line per case, PASS or FAIL with its figure, after the lines of what it tried.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

# Run as root, a process still cannot list a folder of mode 000 once it lacks these two.
NO_DAC = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


# -- cases and their checks ----------------------------------------------------------------------


class Checks:
    """What one case tried: a line per check, the failures, and the figure it reports."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.figure = ""

    def note(self, line: str) -> None:
        print(f"    {line}", flush=True)

    def expect(self, ok: bool, what: str, detail: str = "") -> bool:
        """Record a check: what should hold, and, if it did not, what was seen."""
        if ok:
            self.note(f"ok    {what}")
        else:
            self.failures.append(what)
            self.note(f"FAIL  {what}" + (f": {detail}" if detail else ""))
        return ok


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Path, Checks], None]
    seconds: float  # its own time limit
    fast: bool  # part of the quick subset that the test suite runs


CASES: dict[str, Case] = {}


def case(name: str, seconds: float, fast: bool = False):
    def register(run):
        CASES[name] = Case(name, run, seconds, fast)
        return run

    return register


# -- helpers -------------------------------------------------------------------------------------


def copy_seeds(target: Path) -> Path:
    shutil.copytree(_harness.SEEDS, target)
    return target


def index(index_dir: Path, *paths: Path, extra: tuple[str, ...] = (), prefix=()) -> Ran:
    """Run `searchsvc index` as a user would (its own process)."""
    args = ["index", *map(str, paths), "--index-dir", str(index_dir), "--wait", "10", *extra]
    return Ran(_harness.run_cli(*args, timeout=60, prefix=prefix))


@dataclass
class Ran:
    """A finished command: its exit status and output."""

    done: subprocess.CompletedProcess

    @property
    def status(self) -> int:
        return self.done.returncode

    @property
    def output(self) -> str:
        return self.done.stdout + self.done.stderr

    @property
    def summary(self) -> str:
        lines = self.done.stdout.strip().splitlines()
        return lines[-1] if lines else "(no summary)"

    def tail(self, chars: int = 300) -> str:
        return " | ".join(self.output.strip().splitlines())[-chars:]


def documents(index_dir: Path) -> int | str:
    """How many documents the index answers with (in this process), or why it cannot."""
    from searchsvc.engine import Engine

    try:
        with Engine(index_dir) as engine:
            return engine.stats().documents
    except Exception as exc:  # the point: a failure to open is a finding, not a crash
        return f"error {exc!r:.200}"


def stored_title(index_dir: Path, doc_id: str) -> str | None:
    from searchsvc.engine import Engine

    with Engine(index_dir) as engine:
        doc = engine.document(doc_id)
        return doc.title if doc else None


def ok_json(port: int, path: str, timeout: float = 10.0) -> tuple[bool, str]:
    """Whether path answers 200 (and, under /api/, ok: true); and what it answered."""
    try:
        response = _harness.request(port, path, timeout=timeout)
    except Exception as exc:  # refused, reset, timed out: all failures
        return False, f"{path}: {exc!r}"
    if response.status != 200:
        return False, f"{path}: {response.status} {response.body[:160]!r}"
    if path.startswith("/api/"):
        try:
            ok = json.loads(response.body).get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            return False, f"{path}: {response.body[:160]!r}"
    return True, ""


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def counts(port: int, documents: int, times: int = 6) -> bool:
    """/api/health counts `documents` in `times` answers running."""

    def one() -> int | None:
        with contextlib.suppress(Exception):
            return (_harness.get_json(port, "/api/health", timeout=5)[1] or {}).get("documents")

    return all(one() == documents for _ in range(times))


def served(checks: Checks, port: int, documents: int) -> None:
    """Wait (10 s at most) until the workers serve the new document count."""
    # A worker looks for a changed index at most once a second (SEARCHSVC_REFRESH_INTERVAL):
    # until a second has passed, one that looked just before the commit rightly answers
    # from the state before it. After that, its next request looks.
    time.sleep(1.2)
    found = wait_for(lambda: counts(port, documents), 10)
    checks.expect(found, f"/api/health counts {documents} documents within 10 s")
    if not found:
        time.sleep(1.5)  # still, every worker has looked at the index by now


def open_everywhere(server: _harness.Server, index_dir: Path, seconds: float = 10) -> bool:
    """Search from 4 clients at once until every worker process has the index open."""

    def every_worker() -> bool:
        workers = _harness.children(server.proc.pid)
        return bool(workers) and all(_harness.index_open_in(p, index_dir) for p in workers)

    def four_at_once() -> bool:
        clients = [
            threading.Thread(target=ok_json, args=(server.port, f"/api/search?q=energy&page={n}"))
            for n in range(1, 5)
        ]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        return every_worker()

    return wait_for(four_at_once, seconds)


def segment_files(gen: Path) -> list[Path]:
    return sorted(p for p in gen.iterdir() if p.suffix == ".seg")


def log_lines(server: _harness.Server) -> list[str]:
    return server.log.read_text(encoding="utf-8", errors="replace").splitlines()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# -- 1. undated and dated releases, added incrementally -----------------------------------------

UNDATED = {"id": "undated-1", "title": "Undated note", "body": "energy talks"}
DATED = {"id": "dated-1", "title": "Dated note", "body": "energy talks", "date": "2024-03-01"}
SEED_ID = "000_151069118a277199"


def endpoints(doc_ids: list[str]) -> list[str]:
    """Every endpoint, with sorts and date filters; and the page of each document."""
    paths = [
        "/api/search?q=energy", "/api/search?q=energy&sort=newest",
        "/api/search?q=energy&sort=oldest", "/api/search", "/api/search?sort=oldest",
        "/api/search?year=2023", "/api/search?q=energy&year=2024", "/api/search?month=2023-12",
        "/api/search?q=energy&from=2020&to=2025", "/api/search?from=2024-01-01",
        "/api/search?to=2023", "/", "/?q=energy", "/?q=energy&sort=oldest", "/?year=2023",
        "/?q=energy&from=2023&to=2024", "/api/health",
    ]  # fmt: skip
    for doc_id in doc_ids:
        paths += [f"/api/documents/{doc_id}", f"/doc/{doc_id}"]
    return paths


def answer_all(checks: Checks, port: int, paths: list[str], what: str) -> tuple[int, int]:
    bad = [problem for ok, problem in (ok_json(port, p) for p in paths) if not ok]
    checks.expect(not bad, f"{what}: {len(paths) - len(bad)} of {len(paths)} answer 200",
                  "; ".join(bad[:4]))  # fmt: skip
    return len(paths) - len(bad), len(paths)


@case("undated", seconds=60, fast=True)
def undated(work: Path, checks: Checks) -> None:
    seeds, second, index_dir = copy_seeds(work / "seeds"), work / "second", work / "index"
    ran = index(index_dir, seeds)
    checks.expect(ran.status == 0, f"index the seeds: {ran.summary}", ran.tail())
    answered, asked = 0, 0
    with _harness.serve(index_dir, work) as server:
        a, n = answer_all(checks, server.port, endpoints([SEED_ID]), "dated only")
        answered, asked = answered + a, asked + n
        write_jsonl(second / "notes.jsonl", [UNDATED])
        ran = index(index_dir, seeds, second)
        checks.expect(ran.status == 0, f"add an undated record: {ran.summary}", ran.tail())
        served(checks, server.port, 6)
        a, n = answer_all(checks, server.port, endpoints([SEED_ID, "undated-1"]), "+ undated")
        answered, asked = answered + a, asked + n
    # The reverse: an index of undated records only, then a dated one.
    folder, index_dir = work / "undated-only", work / "index-undated"
    records = [UNDATED, {**UNDATED, "id": "undated-2", "body": "gas talks"}]
    ran = index(index_dir, write_jsonl(folder / "notes.jsonl", records).parent)
    checks.expect(ran.status == 0, f"index undated records only: {ran.summary}", ran.tail())
    with _harness.serve(index_dir, work, healthy=False) as server:
        a, n = answer_all(checks, server.port, endpoints(["undated-1"]), "undated only")
        answered, asked = answered + a, asked + n
        write_jsonl(folder / "dated.jsonl", [DATED])
        ran = index(index_dir, folder)
        checks.expect(ran.status == 0, f"add a dated record: {ran.summary}", ran.tail())
        served(checks, server.port, 3)
        a, n = answer_all(checks, server.port, endpoints(["undated-1", "dated-1"]), "+ dated")
        answered, asked = answered + a, asked + n
        problems = server.log_problems()
        checks.expect(not problems, "no traceback in the server's log", " | ".join(problems[:3]))
    checks.figure = f"{answered} of {asked} requests answered 200"


# -- 2. a commit that will not open -------------------------------------------------------------


@case("corrupt-commit", seconds=60)
def corrupt_commit(work: Path, checks: Checks) -> None:
    seeds, index_dir = copy_seeds(work / "seeds"), work / "index"
    index(index_dir, seeds)
    release = _harness.release(7, random.Random(7), extra="quinceword")
    answers, totals, warned, healths = 0, set(), [], []
    with _harness.serve(index_dir, work) as server:
        checks.expect(open_everywhere(server, index_dir), "every worker has opened the index")
        before = {p.name for p in (index_dir / "current").resolve().iterdir()}
        # No request from here until the damage is done: a worker looks only when asked.
        (seeds / "900_new.txt").write_text(release, encoding="utf-8")
        ran = index(index_dir, seeds)
        live = (index_dir / "current").resolve()
        new = [p for p in live.iterdir() if p.suffix == ".seg" and p.name not in before]
        if not checks.expect(ran.status == 0 and len(new) == 1,
                             f"an incremental run commits one new segment: {ran.summary}",
                             f"{[p.name for p in new]} {ran.tail()}"):  # fmt: skip
            return
        with open(new[0], "r+b") as f:  # torn: the second half never reached the disk
            f.truncate(new[0].stat().st_size // 2)
        checks.note(f"{live.name}/{new[0].name}, committed under the server, truncated to half")
        time.sleep(1.2)  # past the refresh interval: the next request of each worker looks
        failures = []
        for n in range(20):
            path = f"/api/search?q=Turkmenistan&size={n % 10 + 1}"  # distinct: no cached answer
            try:
                status, body = _harness.get_json(server.port, path, timeout=10)
            except Exception as exc:
                failures.append(f"{path}: {exc!r}")
                continue
            if status == 200 and body and body.get("ok"):
                answers += 1
                totals.add(body["total"])
            else:
                failures.append(f"{path}: {status} {str(body)[:160]}")
        checks.expect(not failures, f"{answers} of 20 searches answer 200", "; ".join(failures[:3]))
        checks.expect(
            totals == {5}, f"from the last good snapshot: totals {sorted(totals)}, 5 expected"
        )
        healths = [_harness.get_json(server.port, "/api/health", timeout=10) for _ in range(6)]
        warned = [
            b for s, b in healths if s == 200 and b and b.get("ok") is True and b.get("warning")
        ]
        checks.expect(len(warned) == len(healths),
                      f"/api/health: {len(warned)} of {len(healths)} say ok with a warning",
                      str(healths[0])[:300])  # fmt: skip
        counted = sorted({b.get("documents") for b in warned})
        checks.expect(counted == [5], f"... and count the last good snapshot's 5: {counted}")
        if warned:
            checks.note(f"warning: {warned[0]['warning']}")
    # Not required, told: a server started after the damage has no snapshot of its own.
    with _harness.serve(index_dir, work, healthy=False) as server:
        status, body = _harness.get_json(server.port, "/api/search?q=Turkmenistan")
        checks.note(f"(a server started after the damage answers {status}: {str(body)[:160]})")
    checks.figure = (f"{answers} of 20 searches answered (totals {sorted(totals)}), "
                     f"{len(warned)} of {len(healths)} health answers warn")  # fmt: skip


# -- 3. idle connections -------------------------------------------------------------------------


@case("idle-connections", seconds=40, fast=True)
def idle_connections(work: Path, checks: Checks) -> None:
    seeds, index_dir = copy_seeds(work / "seeds"), work / "index"
    index(index_dir, seeds)
    idle: list[socket.socket] = []
    latencies, failures = [], []
    with _harness.serve(index_dir, work) as server:
        try:
            for _ in range(32):
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
            checks.note(f"32 idle connections open to 127.0.0.1:{server.port}")
            until = time.monotonic() + 5
            while time.monotonic() < until:
                started = time.monotonic()
                try:
                    status = _harness.request(server.port, "/api/health", timeout=3).status
                    if status != 200:
                        failures.append(f"status {status}")
                except Exception as exc:
                    failures.append(repr(exc))
                latencies.append(time.monotonic() - started)
                time.sleep(0.05)
        finally:
            for sock in idle:
                sock.close()
        late = [x for x in latencies if x > 1.0]
        checks.expect(not late and not failures,
                      f"{len(latencies) - len(late)} of {len(latencies)} health answers within 1 s",
                      f"{len(late)} late, failures {failures[:3]}")  # fmt: skip
        checks.expect(ok_json(server.port, "/api/health")[0], "answers after they close")
    top = max(latencies, default=0) * 1000
    checks.figure = (f"{len(latencies) - len(late)} of {len(latencies)} /api/health within 1 s "
                     f"beside 32 idle connections, max {top:.0f} ms")  # fmt: skip


# -- 4. expensive queries beside cheap ones ------------------------------------------------------

PREFIXES = ["pre", "con", "pro", "sta"]


def costly_corpus(folder: Path, count: int = 500) -> None:
    """Releases with 1,800 made-up words, 450 to each of four prefixes: pre* stands for 450."""
    rng = random.Random(3)
    vocabulary = []
    for prefix in PREFIXES:
        words: set[str] = set()
        while len(words) < 450:
            words.add(prefix + "".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(6)))
        vocabulary += sorted(words)
    folder.mkdir(parents=True)
    for n in range(count):
        extra = " ".join(rng.choice(vocabulary) for _ in range(250))
        text = _harness.release(n, rng, paragraphs=3) + "\n" + extra + ".\n"
        (folder / f"costly-{n:04d}.txt").write_text(text, encoding="utf-8")


def costly_index(work: Path) -> Path:
    from searchsvc.indexer import index_paths

    costly_corpus(work / "costly")
    report = index_paths(work / "index", [work / "costly"], procs=2)
    print(f"    costly corpus: {report.summary()}", flush=True)
    return work / "index"


EXPENSIVE = [
    "pre* con* pro* sta*", "pro* sta*", "pre* AND con*", "pre* OR con* OR pro* OR sta* OR energy~2",
    "prexabc~2 conabc~2 proabc~2 staabc~2 preklm~2",
]  # fmt: skip


def long_unknown_query(rng: random.Random) -> str:
    """2,000 characters of words the index does not have."""
    words = ("zq" + "".join(rng.choice("xyzwq") for _ in range(6)) for _ in range(230))
    return " ".join(words)[:2000]


@case("expensive-queries", seconds=90)
def expensive_queries(work: Path, checks: Checks) -> None:
    index_dir = costly_index(work)
    stop = threading.Event()
    tally = {"expensive": 0, "expensive errors": 0}
    expensive_ms: list[float] = []
    cheap, cheap_failures = [], []

    def expensive_client(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            q = rng.choice([*EXPENSIVE, long_unknown_query(rng)])
            try:
                path = "/api/search?" + urlencode({"q": q})
                started = time.monotonic()
                response = _harness.request(port, path, timeout=30)
                expensive_ms.append((time.monotonic() - started) * 1000)
                tally["expensive"] += 1
                tally["expensive errors"] += response.status >= 500
            except Exception:
                tally["expensive errors"] += 1

    # No result cache: every request is computed, as distinct queries are.
    with _harness.serve(index_dir, work, extra_env={"SEARCHSVC_RESULT_CACHE": "0"}) as server:
        port = server.port
        # Opening the index is not a query's cost: every worker opens it before the clock.
        checks.expect(open_everywhere(server, index_dir), "every worker has opened the index")
        clients = [threading.Thread(target=expensive_client, args=(n,)) for n in range(2)]
        for t in clients:
            t.start()
        try:
            time.sleep(0.5)
            until = time.monotonic() + 6
            while time.monotonic() < until:
                started = time.monotonic()
                ok, problem = ok_json(port, "/api/search?q=energy", timeout=10)
                cheap.append(time.monotonic() - started)
                if not ok:
                    cheap_failures.append(problem)
                time.sleep(0.05)
        finally:
            stop.set()
            for t in clients:
                t.join(timeout=35)
        problems = server.log_problems()
    ms = [x * 1000 for x in cheap]
    slow = [x for x in ms if x >= 200]
    p50, top = percentile(ms, 0.5), max(ms, default=0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    checks.note(f"load average {load} on {os.cpu_count()} cores")
    slowest = max(expensive_ms, default=0)
    checks.note(f"{tally['expensive']} expensive queries answered beside, p50 "
                f"{percentile(expensive_ms, 0.5):.0f} ms, max {slowest:.0f} ms "
                f"({tally['expensive errors']} 5xx or dropped)")  # fmt: skip
    checks.expect(not cheap_failures, f"{len(ms)} cheap queries answer 200",
                  "; ".join(cheap_failures[:3]))  # fmt: skip
    checks.expect(not slow, f"{len(ms) - len(slow)} of {len(ms)} cheap queries under 200 ms",
                  f"p50 {p50:.0f} ms, max {top:.0f} ms")  # fmt: skip
    checks.expect(not problems, "no traceback in the server's log", " | ".join(problems[:3]))
    checks.figure = (f"cheap q=energy: {len(ms) - len(slow)} of {len(ms)} under 200 ms, "
                     f"p50 {p50:.0f} ms, max {top:.0f} ms")  # fmt: skip


# -- 5. an empty, a vanished and an unreadable folder --------------------------------------------


@case("empty-folder", seconds=60, fast=True)
def empty_folder(work: Path, checks: Checks) -> None:
    kept = []
    # Emptied (or an unmounted share: the mount point is an empty folder).
    folder, index_dir = copy_seeds(work / "share"), work / "index"
    index(index_dir, folder)
    for path in folder.iterdir():
        path.unlink()
    ran = index(index_dir, folder)
    n = documents(index_dir)
    kept.append(f"emptied {n}/5")
    checks.expect(ran.status != 0 and "--allow-delete" in ran.output,
                  f"an emptied folder: exit {ran.status}, the message names --allow-delete",
                  ran.tail())  # fmt: skip
    checks.expect(n == 5, f"an emptied folder: {n} of 5 documents kept")
    if n != 5:  # already deleted: index them again, so that --allow-delete has work to do
        shutil.rmtree(folder)
        index(index_dir, copy_seeds(folder))
        for path in folder.iterdir():
            path.unlink()
    ran = index(index_dir, folder, extra=("--allow-delete",))
    n = documents(index_dir)
    checks.expect(n == 0, f"--allow-delete then deletes them: {n} left (exit {ran.status}, "
                  f"{ran.summary})", ran.tail())  # fmt: skip
    # Vanished: the folder itself is gone.
    folder, index_dir = copy_seeds(work / "gone"), work / "index-gone"
    index(index_dir, folder)
    shutil.rmtree(folder)
    ran = index(index_dir, folder)
    n = documents(index_dir)
    kept.append(f"vanished {n}/5")
    checks.expect(n == 5, f"a vanished folder: {n} of 5 documents kept (exit {ran.status})",
                  ran.tail())  # fmt: skip
    # Unreadable: mode 000, indexed by a process without root's power to read anyway.
    folder, index_dir = copy_seeds(work / "locked"), work / "index-locked"
    index(index_dir, folder)
    (folder / "sub").mkdir()
    try:
        folder.chmod(0)
        ran = index(index_dir, folder, prefix=NO_DAC)
        n = documents(index_dir)
        kept.append(f"unreadable {n}/5")
        checks.expect(n == 5, f"an unreadable folder: {n} of 5 documents kept (exit "
                      f"{ran.status}: {ran.tail(160)})")  # fmt: skip
    finally:
        folder.chmod(0o755)
    # An unreadable subfolder among readable files.
    folder, index_dir = copy_seeds(work / "mixed"), work / "index-mixed"
    sub = folder / "sub"
    sub.mkdir()
    for path in sorted(folder.glob("*.txt"))[:3]:
        path.rename(sub / path.name)
    index(index_dir, folder)
    try:
        sub.chmod(0)
        ran = index(index_dir, folder, prefix=NO_DAC)
        n = documents(index_dir)
        kept.append(f"unreadable subfolder {n}/5")
        checks.expect(n == 5, f"an unreadable subfolder: {n} of 5 documents kept (exit "
                      f"{ran.status}: {ran.tail(160)})")  # fmt: skip
    finally:
        sub.chmod(0o755)
    checks.figure = "documents kept: " + ", ".join(kept)


# -- 6. duplicate ids ----------------------------------------------------------------------------


@case("duplicate-ids", seconds=40, fast=True)
def duplicate_ids(work: Path, checks: Checks) -> None:
    folder = work / "feeds"
    write_jsonl(folder / "a.jsonl", [
        {"id": "dup-1", "title": "First copy", "body": "papaya forum", "date": "2024-01-01"},
        {"id": "alpha-1", "title": "Alpha", "body": "energy talks", "date": "2024-01-02"},
    ])  # fmt: skip
    write_jsonl(folder / "b.jsonl", [
        {"id": "beta-1", "title": "Beta", "body": "gas talks", "date": "2024-01-03"},
        {"id": "dup-1", "title": "Second copy", "body": "papaya summit", "date": "2024-01-04"},
    ])  # fmt: skip
    kept = []
    ran = index(work / "index", folder)
    checks.expect(ran.status == 0, f"first run: {ran.summary}", ran.tail())
    checks.expect("dup-1" in ran.output and "skipped 1" in ran.summary,
                  "the collision is reported, naming dup-1", ran.tail())  # fmt: skip
    for n, index_dir in enumerate([work / "index", work / "index-2"]):
        if n:
            ran = index(index_dir, folder)
            checks.expect(ran.status == 0, f"a fresh index: {ran.summary}", ran.tail())
        kept.append(stored_title(index_dir, "dup-1"))
        total = documents(index_dir)
        checks.expect(total == 3, f"3 documents: {total}")
    ran = index(work / "index", folder, extra=("--rebuild",))
    kept.append(stored_title(work / "index", "dup-1"))
    checks.note(f"--rebuild: {ran.summary}")
    for path in (folder / "b.jsonl", folder / "a.jsonl"):  # re-read one file, then the other
        os.utime(path, (time.time() + 5, time.time() + 5))
        ran = index(work / "index", folder)
        kept.append(stored_title(work / "index", "dup-1"))
        nothing = all(f"{w} 0," in ran.summary for w in ("added", "updated", "deleted"))
        checks.expect(nothing, f"touch {path.name}, run again: nothing changed ({ran.summary})")
    checks.expect(len(set(kept)) == 1, f"the same one kept on every run: {kept}")
    checks.expect(documents(work / "index") == 3, "still 3 documents")
    checks.figure = f"kept {kept[0]!r} on {kept.count(kept[0])} of {len(kept)} runs"


# -- 7. a YAML alias bomb ------------------------------------------------------------------------


def alias_bomb() -> str:
    """A 'billion laughs': nine levels of nine aliases, 9**9 strings once expanded.

    YAML shares the aliased lists, so loading is quick; the bomb goes off in whatever walks
    the value, such as str() of a mapping where text is expected.
    """
    lines = ["a: &a [" + ",".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    front = "\n".join([*lines, "title: Laughs", "source: {laughs: *i}"])
    return f"---\n{front}\n---\n\nLaughing matter.\n"


def run_measured(cmd: list[str], timeout: float, memory: int) -> tuple[int | None, str, float, int]:
    """Run cmd with an address-space limit: its status, output, seconds and peak RSS (bytes)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    killed = False
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_harness.env(), preexec_fn=limit)
        while True:  # wait4, not poll(): it also gives the child's peak memory
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                killed = True
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        text = out.read(1_000_001).decode("utf-8", errors="replace")
    return (None if killed else proc.returncode), text, seconds, usage.ru_maxrss * 1024


@case("alias-bomb", seconds=40, fast=True)
def yaml_alias_bomb(work: Path, checks: Checks) -> None:
    folder = copy_seeds(work / "docs")
    for n in range(2):
        text = f"---\ntitle: Good note {n}\ndate: 2024-02-0{n + 1}\n---\n\nMango forum {n}.\n"
        (folder / f"good-{n}.md").write_text(text, encoding="utf-8")
    bomb = alias_bomb()
    (folder / "bomb.md").write_text(bomb, encoding="utf-8")
    checks.note(f"bomb.md: {len(bomb)} bytes, front matter and body, among 7 good files")
    cmd = [*_harness.CLI, "index", str(folder), "--index-dir", str(work / "index")]
    status, output, seconds, rss = run_measured(cmd, timeout=20, memory=3 << 30)
    mb = rss / 2**20
    checks.expect(status is not None and seconds < 10, f"the run ends in {seconds:.1f} s (< 10 s)")
    checks.expect(mb < 400, f"peak memory {mb:.0f} MB (< 400 MB)")
    checks.expect(len(output) < 4000, f"output {len(output):,} characters (< 4,000)",
                  output[:200])  # fmt: skip
    reasons = [line for line in output.splitlines() if "bomb.md" in line]
    checks.expect(len(reasons) == 1 and len(reasons[0]) < 300,
                  f"the bomb skipped with a one-line reason: {reasons[:1]}")  # fmt: skip
    total = documents(work / "index")
    checks.expect(total == 7, f"the good files indexed: {total} of 7 documents")
    checks.figure = f"{seconds:.1f} s, peak {mb:.0f} MB, {len(output):,} characters of output"


# -- 8. a truncated and an overwritten segment ---------------------------------------------------


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
        else:  # 4 KB of noise in the middle
            f.seek(size // 2 - 2048)
            f.write(random.Random(8).randbytes(4096))


@case("damaged-segment", seconds=90)
def damaged_segment(work: Path, checks: Checks) -> None:
    refused = 0
    for how in ("truncated", "overwritten"):
        index_dir = work / f"index-{how}"
        index(index_dir, copy_seeds(work / f"seeds-{how}"))
        segment = segment_files((index_dir / "current").resolve())[0]
        damage(segment, how)
        checks.note(f"{how}: {segment.name} ({segment.stat().st_size:,} bytes now)")
        ran = Ran(_harness.run_cli("check", "--index-dir", str(index_dir), timeout=60))
        checks.expect(ran.status == 1 and segment.name in ran.output,
                      f"{how}: `searchsvc check` exits 1 naming the file (exit {ran.status})",
                      ran.tail())  # fmt: skip
        ran = Ran(_harness.run_cli("search", "energy", "--index-dir", str(index_dir), timeout=60))
        named = segment.name in ran.output and "--rebuild" in ran.output
        refused += ran.status != 0 and named
        checks.expect(ran.status != 0 and named,
                      f"{how}: `searchsvc search` refuses, naming the file and --rebuild "
                      f"(exit {ran.status})", ran.tail())  # fmt: skip
    # An intact previous generation (the one before a --rebuild) to fall back to.
    index_dir, seeds = work / "index-fallback", copy_seeds(work / "seeds-fallback")
    index(index_dir, seeds)
    ran = index(index_dir, seeds, extra=("--rebuild",))
    live = (index_dir / "current").resolve()
    damage(segment_files(live)[0], "truncated")
    checks.note(f"after --rebuild: {live.name} live, truncated; "
                f"{sorted(p.name for p in index_dir.glob('gen-*'))} on disk")  # fmt: skip
    ran = Ran(_harness.run_cli("search", "Turkmenistan", "--index-dir", str(index_dir)))
    fell_back = ran.status == 0 and "5 results" in ran.done.stdout and ran.done.stderr.strip()
    warning = ran.done.stderr.strip()[:200]
    checks.expect(bool(fell_back), f"`searchsvc search` falls back with a warning (exit "
                  f"{ran.status}, stderr {warning!r})", ran.tail())  # fmt: skip
    with _harness.serve(index_dir, work, healthy=False) as server:
        status, body = _harness.get_json(server.port, "/api/search?q=Turkmenistan")
        served = status == 200 and body and body.get("total") == 5
        checks.expect(bool(served), "serve answers from the previous generation",
                      f"{status} {str(body)[:200]}")  # fmt: skip
        status, health = _harness.get_json(server.port, "/api/health")
        warned = status == 200 and health and health.get("ok") is True and health.get("warning")
        checks.expect(bool(warned), "/api/health: ok with a warning", f"{status} {health}")
    checks.figure = (f"search refused {refused} of 2 damaged segments; fallback: search "
                     f"{'yes' if fell_back else 'no'}, serve {'yes' if served else 'no'}, "
                     f"health warning {'yes' if warned else 'no'}")  # fmt: skip


# -- 9. a request past its deadline --------------------------------------------------------------


@case("deadline", seconds=90)
def deadline(work: Path, checks: Checks) -> None:
    index_dir = costly_index(work)
    settings = {"SEARCHSVC_REQUEST_TIMEOUT": "0.1", "SEARCHSVC_RESULT_CACHE": "0"}
    with _harness.serve(index_dir, work, workers=1, extra_env=settings) as server:
        checks.expect(ok_json(server.port, "/api/health")[0], "health answers (index open)")
        started = time.monotonic()
        q = urlencode({"q": EXPENSIVE[0]})
        try:
            status, body = _harness.get_json(server.port, f"/api/search?{q}", timeout=30)
        except Exception as exc:
            status, body = 0, {"exception": repr(exc)}
        seconds = time.monotonic() - started
        envelope = (status == 503 and isinstance(body, dict) and body.get("ok") is False
                    and isinstance(body.get("error"), str) and body.get("status") == 503
                    and set(body) == {"ok", "error", "status"})  # fmt: skip
        checks.expect(envelope, f"{EXPENSIVE[0]!r} with a 0.1 s deadline: {status} in "
                      f"{seconds:.2f} s, the 503 envelope", str(body)[:300])  # fmt: skip
        checks.expect(ok_json(server.port, "/api/health")[0], "the next request answers")
        cheap = wait_for(lambda: ok_json(server.port, "/api/search?q=energy")[0], 3)
        checks.expect(cheap, "a cheap search answers 200")
        time.sleep(0.3)  # the access log line comes after the response
        log = log_lines(server)
        problems = server.log_problems()
        boots = sum("Booting worker" in line for line in log)
        checks.expect(not problems, "no traceback or worker timeout in the server's log",
                      " | ".join(problems[:3]))  # fmt: skip
        checks.expect(boots == 1, f"the worker survived: {boots} worker boot(s) in the log")
    checks.figure = f"expensive query: {status} after {seconds:.2f} s; worker boots {boots}"


# -- running cases -------------------------------------------------------------------------------


def run_here(name: str, workdir: Path) -> int:
    """Run one case in this process (the parent gave it its own group and directory)."""
    checks = Checks(name)
    started = time.monotonic()
    try:
        CASES[name].run(workdir, checks)
    except SystemExit as exc:  # the harness gave up, on a server that never came up, say
        checks.failures.append(f"gave up: {str(exc)[:300]}")
    except Exception as exc:  # a case that crashes has found something, or is broken: say so
        import traceback

        checks.failures.append(f"crashed: {exc!r}")
        checks.note("".join(traceback.format_exc()).rstrip().replace("\n", "\n    "))
    seconds = time.monotonic() - started
    verdict = "FAIL" if checks.failures else "PASS"
    figure = checks.figure or "; ".join(checks.failures)
    print(f"{verdict} {name} ({seconds:.1f} s): {figure}", flush=True)
    return 1 if checks.failures else 0


def run_bounded(name: str, seconds: float) -> bool:
    """Run a case in a child process group with a time limit; remove its directory after."""
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))
    try:
        cmd = [sys.executable, __file__, "--in-process", name, "--workdir", str(workdir)]
        status, output = _harness.run_group(cmd, timeout=seconds)
        print(output.rstrip("\n"), flush=True)
        if status is None:
            print(f"FAIL {name}: timed out after {seconds:.0f} s; its processes were killed")
        return status == 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", choices=list(CASES), help="only this case")
    parser.add_argument("--fast", action="store_true", help="only the quick cases")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--max-seconds", type=float, default=300, help="the whole run's limit")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        return run_here(args.in_process, args.workdir)
    if args.list:
        for c in CASES.values():
            print(f"{c.name:18} {c.seconds:3.0f} s{'  fast' if c.fast else ''}")
        return 0
    chosen = [c for c in CASES.values() if (not args.case or c.name in args.case)]
    chosen = [c for c in chosen if c.fast or not args.fast]
    started = time.monotonic()
    passed, failed = [], []
    for c in chosen:
        left = args.max_seconds - (time.monotonic() - started)
        print(f"{c.name}:", flush=True)
        if left < 5:
            print(f"FAIL {c.name}: not run, the run's {args.max_seconds:.0f} s were used up")
            failed.append(c.name)
            continue
        (passed if run_bounded(c.name, min(c.seconds, left)) else failed).append(c.name)
    seconds = time.monotonic() - started
    print(f"chaos: {len(chosen)} cases in {seconds:.0f} s, {len(passed)} passed, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
