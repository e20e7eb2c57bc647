"""chaos.py's cases against a running `searchsvc serve`.

Undated records, a damaged commit, idle connections, expensive queries and a deadline: what
each does to the answers of a real server (gunicorn) on a loopback port.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402
from _chaos import (  # noqa: E402
    EXPENSIVE,
    Checks,
    case,
    copy_seeds,
    costly_index,
    index,
    log_lines,
    long_unknown_query,
    ok_json,
    open_everywhere,
    percentile,
    served,
    wait_for,
    write_jsonl,
)

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


@case(1, "undated", seconds=60, fast=True)
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


@case(2, "corrupt-commit", seconds=60)
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


@case(3, "idle-connections", seconds=40, fast=True)
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


# -- 4. expensive queries beside cheap ones --------------------------------------------------------


@case(4, "expensive-queries", seconds=90)
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


# -- 9. a request past its deadline --------------------------------------------------------------


@case(9, "deadline", seconds=90)
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
