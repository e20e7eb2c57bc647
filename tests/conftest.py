"""Shared fixtures: a session-scoped index of tests/data/docs, then engine, app, client, runner.

Tests never touch the project's own index/ or seeds/: every index here lives in a
temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
PROJECT = HERE.parent
SEEDS = PROJECT / "seeds"
SHARED = PROJECT.parent / "shared"
WHITE_HOUSE = SHARED / "corpora" / "wh-briefings.tar.gz"


def white_house_releases(count: int):
    """The first count releases of the shared White House corpus as (name, text), streamed
    from its tarball; the calling test skips, with the reason, where the corpus is absent."""
    import tarfile

    if not WHITE_HOUSE.exists():
        pytest.skip(f"{WHITE_HOUSE} is absent (the shared White House corpus)")
    given = 0
    with tarfile.open(WHITE_HOUSE, "r|gz") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.name.endswith(".md") else None
            if handle is None:
                continue
            yield member.name, handle.read().decode("utf-8")
            given += 1
            if given == count:
                return


@pytest.fixture(autouse=True)
def _no_settle_wait(monkeypatch):
    """Tests write files and index them at once: the run's one wait for files written in
    the last second (indexer.SETTLE) would cost each a second. test_settle.py tests it."""
    from searchsvc.indexing import indexer

    monkeypatch.setattr(indexer, "SETTLE", 0.0)


@pytest.fixture(scope="session")
def docs_index(tmp_path_factory) -> Path:
    """An index of the small test documents in tests/data/docs."""
    from searchsvc.indexing import index_paths

    index_dir = tmp_path_factory.mktemp("docs-index")
    report = index_paths(index_dir, [DATA / "docs"], procs=1)
    assert report.total > 0 and not report.skipped
    return index_dir


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory) -> Path:
    """An index of a copy of the five seed releases."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("seeds")
    shutil.copytree(SEEDS, root / "seeds")
    index_dir = root / "index"
    report = index_paths(index_dir, [root / "seeds"], procs=1)
    assert report.total == 5 and not report.skipped
    return index_dir


YEAR_TIMES = {"2023-03-17": "T14:30:00Z"}  # the one release whose source gives a time


@pytest.fixture(scope="session")
def year_index(tmp_path_factory) -> Path:
    """An index of 24 harbour releases over 2023: the 3rd and 17th of each month."""
    import json

    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("year")
    (root / "docs").mkdir()
    lines = []
    for month in range(1, 13):
        for day in (3, 17):
            when = f"2023-{month:02d}-{day:02d}"
            lines.append(
                {
                    "id": f"harbour-{when}",
                    "title": f"Harbour traffic report for {when}",
                    "body": f"The harbour authority counted ships on {when}. " * 3,
                    "date": when + YEAR_TIMES.get(when, ""),
                    "source": "Port Authority",
                    "category": "reports",
                }
            )
    text = "".join(json.dumps(line) + "\n" for line in lines)
    (root / "docs" / "harbour.jsonl").write_text(text, encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == 24 and not report.skipped
    return root / "index"


@pytest.fixture(scope="session")
def seeds_engine(seeds_index):
    from searchsvc.searching import Engine

    with Engine(seeds_index) as engine:
        yield engine


@pytest.fixture(scope="session")
def docs_engine(docs_index):
    from searchsvc.searching import Engine

    with Engine(docs_index) as engine:
        yield engine


@pytest.fixture
def app(seeds_index):
    """The Flask app over the seeds index."""
    from searchsvc.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index)})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


# -- web: a hostile index, and a real `searchsvc serve` --------------------------------------

HOSTILE_MD = """---
title: "Zanzibar <script>alert(1)</script> release"
date: 2024-03-01
source: "<b>Bold</b> Agency"
place: "<i>Nowhere</i>"
tags: "<u>cat</u>"
source_url: "javascript:alert(1)"
---

Zanzibar payload `<img src=x onerror=alert(1)>` and `<script>alert(2)</script>` in the body.

A second Zanzibar paragraph: `"><script>alert(3)</script>` and `javascript:alert(4)`.
"""

SAFE_MD = """---
title: "Zanzibar with a real link"
date: 2024-03-02
source_url: "https://example.org/news/zanzibar?a=1&b=2"
---

An ordinary Zanzibar release.
"""


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory) -> Path:
    """An index of releases whose title, fields, body and URL carry markup and javascript:."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("hostile")
    (root / "docs" / "press").mkdir(parents=True)
    (root / "docs" / "press" / "hostile.md").write_text(HOSTILE_MD, encoding="utf-8")
    (root / "docs" / "press" / "safe.md").write_text(SAFE_MD, encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == 2 and not report.skipped
    return root / "index"


def free_port() -> int:
    """A loopback port nobody listens on (now)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `searchsvc serve`: its base URL and log files."""

    def __init__(self, proc, base: str, out: Path, err: Path, files: list):
        self.proc, self.base, self.out, self.err, self.files = proc, base, out, err, files

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM, then SIGKILL after 10 s) and close its log files."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in self.files:
            f.close()


def _wait_until_up(server: Server, seconds: float = 20.0) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"serve exited {server.proc.returncode}: {server.err.read_text()}")
        try:
            with urllib.request.urlopen(server.base + "/api/health", timeout=2):
                return
        except urllib.error.HTTPError as exc:
            exc.close()
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"serve did not answer within {seconds} s: {server.err.read_text()}")


@contextlib.contextmanager
def _servers(tmp: Path):
    """Yield start(index_dir), which runs `searchsvc serve` on a free port; stop all after.

    start() returns a Server once /api/health answers (args: more options of serve). Logs
    go to files under tmp: a pipe that nobody reads would block the server.
    """
    import os
    import subprocess
    import sys

    servers: list[Server] = []

    def start(index_dir, *, env=None, workers=2, args=()) -> Server:
        port = free_port()
        out, err = tmp / f"serve-{port}.out", tmp / f"serve-{port}.err"
        files = [open(out, "wb"), open(err, "wb")]  # noqa: SIM115 - closed by Server.stop
        cmd = [sys.executable, "-m", "searchsvc", "serve"]
        cmd += ["--port", str(port), "--index-dir", str(index_dir), "--workers", str(workers)]
        cmd += args
        # PYTHONPATH: the package imports from this checkout even when it is not installed.
        path = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, **(env or {})}
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=files[0], stderr=files[1])
        server = Server(proc, f"http://127.0.0.1:{port}", out, err, files)
        servers.append(server)
        _wait_until_up(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def live_server(tmp_path):
    """start(index_dir) -> Server: `searchsvc serve` (gunicorn), stopped after the test."""
    with _servers(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def module_live_server(tmp_path_factory):
    """Like live_server, but the servers live until the test module ends."""
    with _servers(tmp_path_factory.mktemp("serve")) as start:
        yield start


@pytest.fixture
def broken_app(seeds_index, monkeypatch):
    """An app whose search raises an unexpected error, with error handling as in production."""
    from searchsvc.searching import Engine
    from searchsvc.web import create_app

    def broken(self, request):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Engine, "search", broken)
    app = create_app({"INDEX_DIR": str(seeds_index)})  # not TESTING: errors are handled
    monkeypatch.setattr(app.logger, "disabled", True)  # the traceback is expected
    return app


def unlist(gen: Path, drop) -> None:
    """Take the index files whose names drop(name) holds out of a generation's checksums,
    as if a writer had not listed them yet (or an older version had written them)."""
    from searchsvc.indexing import storage

    path = gen / storage.CHECKSUMS
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("files", "stamps"):
        data[key] = {k: v for k, v in data[key].items() if not drop(k)}
    path.write_text(json.dumps(data), encoding="utf-8")
