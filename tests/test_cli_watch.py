"""`searchsvc index --watch` and `searchsvc serve --watch` for real, on temporary folders.

Each test starts its processes itself (bounded waits, loopback only) and stops them: a
release dropped in is searchable within 10 s and gone within 10 s of its removal; a burst
is one run; a half-written file waits; an emptied folder is refused; one watcher per server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import PROJECT, SEEDS

pytestmark = pytest.mark.slow

RELEASE = " date 2024-06-0{n}\n\nZorblaxian{n} forum opens\n\nThe zorblaxian{n} forum opened.\n"
SUMMARY = "added "  # how each run's summary line starts


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def total(server, q: str) -> int:
    return get(f"{server.base}/api/search?q={quote(q)}")["total"]


def eventually(check, seconds: float = 10.0, what: str = "") -> float:
    """Poll check() until it is true; how long that took (failing the test past seconds)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def steadily(check, seconds: float = 10.0, what: str = "") -> float:
    """Poll until check() has held for 1.5 s, so that every worker of a server (each
    refreshes on its own, within REFRESH_INTERVAL) agrees; when that began."""
    started, since = time.monotonic(), None
    while True:
        now = time.monotonic()
        if not check():
            since = None
        elif since is None:
            since = now
        elif now - since >= 1.5:
            return since - started
        assert now - started < seconds + 1.5, f"not within {seconds} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def releases(tmp_path) -> tuple[Path, Path]:
    """A folder with a copy of the seeds, and an index built from it."""
    from searchsvc.indexing import index_paths

    folder, index_dir = tmp_path / "releases", tmp_path / "index"
    shutil.copytree(SEEDS, folder)
    index_paths(index_dir, [folder], procs=1)
    return folder, index_dir


def watcher_pids(server_pid: int) -> list[int]:
    """The children of server_pid that run `index --watch`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and b"--watch" in argv and b"index" in argv:
            pids.append(int(proc.name))
    return pids


def test_serve_watch_indexes_a_new_release_then_its_removal_with_one_watcher(live_server, releases):
    folder, index_dir = releases
    server = live_server(index_dir, workers=2, args=["--watch", "--folder", str(folder)])
    eventually(lambda: "searchsvc: watching" in server.err.read_text(), what="watching")

    (folder / "900_new.txt").write_text(RELEASE.format(n=1), encoding="utf-8")
    took = steadily(lambda: total(server, "zorblaxian1") == 1, what="the new release")
    assert took < 10
    assert get(server.base + "/api/health")["documents"] == 6
    with urllib.request.urlopen(server.base + "/", timeout=10) as response:
        assert "6 releases" in response.read().decode()

    (folder / "900_new.txt").unlink()
    steadily(lambda: total(server, "zorblaxian1") == 0, what="the removal")
    assert get(server.base + "/api/health")["documents"] == 5

    log = server.err.read_text()
    assert log.count("searchsvc: watching") == 1, log  # two workers, one watcher
    (watcher,) = watcher_pids(server.proc.pid)
    assert f"pid {watcher}" in log
    assert "Booting worker" in log and log.count("Booting worker") == 2

    server.stop()  # SIGTERM to gunicorn's master: the watcher stops with it
    assert not Path(f"/proc/{watcher}").exists() or _zombie(watcher)
    assert "searchsvc: stopped watching" in server.err.read_text()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_serve_watch_refuses_to_empty_the_index_when_the_folder_empties(live_server, releases):
    folder, index_dir = releases
    server = live_server(index_dir, workers=1, args=["--watch", "--folder", str(folder)])
    eventually(lambda: "searchsvc: watching" in server.err.read_text(), what="watching")
    names = sorted(p.name for p in folder.iterdir())
    for path in folder.iterdir():  # as an unmounted share looks
        path.unlink()
    eventually(lambda: "Refusing to delete 5 of 5" in server.err.read_text(), 30, "refusal")
    assert "held back: Refusing to delete 5 of 5" in server.err.read_text()
    assert "the watch goes on" in server.err.read_text()
    assert get(server.base + "/api/health")["documents"] == 5
    assert total(server, "Turkmenistan") == 5

    for name in names:  # the share is back, with one release more: still watched
        shutil.copy(SEEDS / name, folder / name)
    (folder / "901_new.txt").write_text(RELEASE.format(n=2), encoding="utf-8")
    steadily(lambda: total(server, "zorblaxian2") == 1, what="the release after")
    assert get(server.base + "/api/health")["documents"] == 6


class IndexWatch:
    """`searchsvc index FOLDER --watch` in a subprocess, its output in files."""

    def __init__(self, tmp: Path, folder: Path, index_dir: Path):
        self.out, self.err = tmp / "watch.out", tmp / "watch.err"
        self.files = [open(self.out, "wb"), open(self.err, "wb")]  # noqa: SIM115 - closed in stop
        cmd = [sys.executable, "-m", "searchsvc", "index", str(folder)]
        cmd += ["--index-dir", str(index_dir), "--watch", "--procs", "1"]
        path = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=self.files[0], stderr=self.files[1]
        )
        eventually(lambda: self.runs() == 1, 20, "the first run")

    def runs(self) -> int:
        return len(self.summaries())

    def summaries(self) -> list[str]:
        return [line for line in self.out.read_text().splitlines() if line.startswith(SUMMARY)]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in self.files:
            f.close()
        return self.proc.returncode


@pytest.fixture
def index_watch(tmp_path, releases):
    """start() -> IndexWatch over the releases folder; stopped after the test."""
    started: list[IndexWatch] = []

    def start() -> IndexWatch:
        started.append(IndexWatch(tmp_path, *releases))
        return started[-1]

    yield start
    for watch in started:
        watch.stop()


def test_a_burst_of_200_releases_is_one_run(index_watch, releases):
    folder = releases[0]
    watch = index_watch()
    burst = folder / "burst"
    burst.mkdir()
    for i in range(200):
        (burst / f"{i:03}.txt").write_text(RELEASE.format(n=i % 9 + 1), encoding="utf-8")
    eventually(lambda: watch.runs() == 2, what="the burst's run")
    time.sleep(2.5)  # longer than the quiet time and the settle check: nothing else runs
    assert watch.summaries()[1].startswith("added 200, updated 0, deleted 0, unchanged 5")
    assert watch.runs() == 2, watch.summaries()
    assert watch.stop() == 0
    assert "searchsvc: stopped watching" in watch.err.read_text()


def test_a_renamed_folder_holds_its_deletions_back_not_the_new_releases(index_watch, releases):
    # Its twelve releases take new ids: the guard refuses to delete the old ones, which
    # used to stop every run (new releases unindexed) until someone confirmed by hand.
    folder, index_dir = releases
    for i in range(12):
        (folder / "desk_a").mkdir(exist_ok=True)
        (folder / "desk_a" / f"{i:02}.txt").write_text(RELEASE.format(n=i % 9 + 1), "utf-8")
    watch = index_watch()
    assert watch.summaries()[0].startswith("added 12, updated 0, deleted 0, unchanged 5")
    (folder / "desk_a").rename(folder / "desk_b")
    (folder / "903_new.txt").write_text(RELEASE.format(n=4), encoding="utf-8")
    eventually(lambda: watch.runs() == 2, what="the run after the rename")
    assert watch.summaries()[1].startswith("added 13, updated 0, deleted 0, unchanged 5")
    assert ", held back 12, total 30 documents" in watch.summaries()[1]
    assert "held back: Refusing to delete 12 of 12 documents (100%) indexed from" in (
        watch.err.read_text()
    )
    confirm = [sys.executable, "-m", "searchsvc", "index", str(folder), "--allow-delete"]
    done = subprocess.run(
        [*confirm, "--index-dir", str(index_dir)], capture_output=True, text=True, cwd=PROJECT
    )
    assert done.returncode == 0 and "deleted 12" in done.stdout and "total 18" in done.stdout


def test_a_half_written_release_waits_until_it_is_complete(index_watch, releases):
    folder, index_dir = releases
    watch = index_watch()
    chunks = [RELEASE.format(n=3)] + [
        f"Paragraph {i} of the zorblaxian report.\n" for i in range(13)
    ]
    chunks.append("The last word: quuxfinale.\n")
    with open(folder / "902_slow.txt", "w", encoding="utf-8") as f:
        for chunk in chunks:  # 7 s of writing: past the 5 s a burst may be held back
            f.write(chunk)
            f.flush()
            time.sleep(0.5)
            assert watch.runs() == 1, "indexed while still being written"
    eventually(lambda: watch.runs() == 2, what="the run after the file was complete")
    assert watch.summaries()[1].startswith("added 1,")
    found = subprocess.run(
        [sys.executable, "-m", "searchsvc", "search", "quuxfinale", "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert found.stdout.startswith("1 results"), found
