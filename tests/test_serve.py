"""`searchsvc serve` for real: gunicorn in a subprocess, over a temporary index.

The live-reindex tests search in a loop from a thread while `searchsvc index` (another
subprocess) changes the index under the server, and require every answer to succeed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).parent.parent / "seeds"
NEW_RELEASE = """ date 2024-06-0{n}

Quarterly zorblaxian{n} forum opens in Ashgabat

The first zorblaxian{n} forum opened today with delegations from the Caspian states.
"""


def fetch(url: str) -> tuple[int, dict]:
    """GET url; the status and the JSON body, for errors too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def search(server, q: str) -> dict:
    status, body = fetch(f"{server.base}/api/search?q={quote(q)}")
    assert status == 200, body
    return body


def run_index(folder: Path, index_dir: Path, *extra: str) -> str:
    """Run `searchsvc index` as its own process, as a user would."""
    cmd = [sys.executable, "-m", "searchsvc", "index"]
    cmd += [str(folder), "--index-dir", str(index_dir), "--wait", "10", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def seeds_copy(tmp_path) -> tuple[Path, Path]:
    """A folder with a copy of the seeds, and an index of it."""
    from searchsvc.indexing import index_paths

    folder, index_dir = tmp_path / "releases", tmp_path / "index"
    shutil.copytree(SEEDS, folder)
    index_paths(index_dir, [folder], procs=1)  # in-process: setup need not pay for a start-up
    return folder, index_dir


class Searcher(threading.Thread):
    """Searches in a loop until stopped (at most `limit` times), keeping every failure."""

    def __init__(self, base: str, limit: int = 5000):
        super().__init__(daemon=True)
        self.base, self.limit = base, limit
        self.stop = threading.Event()
        self.count = 0
        self.failures: list[str] = []

    def run(self):
        queries = ["Turkmenistan", "strategic partnership", "zorblaxian1", "zorblaxian2"]
        while not self.stop.is_set() and self.count < self.limit:
            q = queries[self.count % len(queries)]
            try:
                status, body = fetch(f"{self.base}/api/search?q={quote(q)}")
                if status != 200 or body.get("ok") is not True:
                    self.failures.append(f"{q}: {status} {body}")
            except Exception as exc:  # a refused connection or a timeout is a failure too
                self.failures.append(f"{q}: {exc!r}")
            self.count += 1


def wait_for_total(server, q: str, total: int, seconds: float = 10.0) -> float:
    """Poll until the search for q finds total documents; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if search(server, q)["total"] == total:
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{q!r} did not reach {total} results within {seconds} s")


def test_serve_answers_the_api_and_logs_each_request(live_server, seeds_copy):
    server = live_server(seeds_copy[1])
    body = search(server, "Turkmenistan")
    assert body["ok"] is True and body["total"] == 5
    with urllib.request.urlopen(server.base + "/?q=Turkmenistan", timeout=10) as response:
        assert response.status == 200
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    time.sleep(0.3)  # the access log is written after the response
    log = server.err.read_text()
    assert '"GET /api/search?q=Turkmenistan HTTP/1.1" 200' in log
    assert "Booting worker" in log and "gunicorn" in log


def test_serve_builds_an_index_from_seeds_first(live_server, tmp_path):
    seeds = tmp_path / "my-seeds"
    shutil.copytree(SEEDS, seeds)
    server = live_server(tmp_path / "fresh-index", env={"SEARCHSVC_SEEDS_DIR": str(seeds)})
    assert "added 5" in server.out.read_text()
    assert search(server, "Turkmenistan")["total"] == 5


def test_index_while_serving_fails_no_request(live_server, seeds_copy):
    folder, index_dir = seeds_copy
    server = live_server(index_dir)
    searcher = Searcher(server.base)
    searcher.start()
    try:
        time.sleep(0.3)
        (folder / "900_new.txt").write_text(NEW_RELEASE.format(n=1), encoding="utf-8")
        assert "added 1" in run_index(folder, index_dir)
        wait_for_total(server, "zorblaxian1", 1)
        assert search(server, "Turkmenistan")["total"] == 5  # the new one is about a forum

        (folder / "901_new.txt").write_text(NEW_RELEASE.format(n=2), encoding="utf-8")
        assert "total 7 documents" in run_index(folder, index_dir, "--rebuild")
        wait_for_total(server, "zorblaxian2", 1)
        wait_for_total(server, "forum", 2)  # each worker refreshes on its own, within a second
    finally:
        searcher.stop.set()
        searcher.join(timeout=15)
    assert searcher.count > 20, "the loop hardly ran"
    assert searcher.failures == []


def test_health_follows_the_index(live_server, seeds_copy):
    folder, index_dir = seeds_copy
    server = live_server(index_dir, workers=1)
    status, body = fetch(server.base + "/api/health")
    assert status == 200 and body["documents"] == 5
    (folder / "000_151069118a277199.txt").unlink()
    assert "deleted 1" in run_index(folder, index_dir)
    deadline = time.monotonic() + 10
    while fetch(server.base + "/api/health")[1]["documents"] != 4:
        assert time.monotonic() < deadline, "the deletion never showed"
        time.sleep(0.1)
