"""The folder watcher (reading/watch.py): when a burst of changes becomes one batch.

Batch is driven by a fake clock and a fake stat; Watcher runs for real on a temporary
folder (inotify, and the polling observer) with short timings: seconds, so marked slow.
"""

from __future__ import annotations

import errno
import shutil
import threading
import time
from pathlib import Path

import pytest

from searchsvc.reading import Batch, Timings, Watcher

T = Timings(quiet=1.0, max_delay=5.0, settle=1.0, max_settle=60.0)


class FakeFiles:
    """stat() for paths whose (size, mtime) the test sets; None for a missing one."""

    def __init__(self):
        self.stats: dict[str, tuple[int, int] | None] = {}

    def __call__(self, path: str):
        return self.stats.get(path)


def drive(batch: Batch, start: float, until: float, step: float = 0.05):
    """Poll every `step` s from start to until; the (time, paths) of each batch."""
    out, now = [], start
    while now <= until:
        paths, _ = batch.poll(now)
        if paths is not None:
            out.append((round(now, 2), paths))
        now += step
    return out


def test_nothing_pending_waits_for_an_event():
    assert Batch(T, FakeFiles()).poll(0.0) == (None, None)


def test_one_new_file_runs_after_quiet_and_two_equal_checks():
    files = FakeFiles()
    files.stats["a.txt"] = (10, 1)
    batch = Batch(T, files)
    batch.add("a.txt", 0.0)
    assert batch.poll(0.5) == (None, 0.5)  # not quiet yet
    assert batch.poll(1.0) == (None, 1.0)  # first check: nothing to compare with
    assert batch.poll(1.5) == (None, 0.5)
    assert batch.poll(2.0) == ({"a.txt"}, None)  # the same size and mtime a second later
    assert batch.poll(2.1) == (None, None)


def test_a_burst_of_a_thousand_files_is_one_batch():
    files = FakeFiles()
    batch = Batch(T, files)
    names = [f"{i:04}.txt" for i in range(1000)]
    for i, name in enumerate(names):
        files.stats[name] = (100, i)
        batch.add(name, i * 0.0005)  # half a second of copying
    runs = drive(batch, 0.5, 10.0)
    assert len(runs) == 1
    when, paths = runs[0]
    assert paths == set(names) and 2.4 <= when <= 2.6


def test_events_that_never_stop_run_after_max_delay():
    files = FakeFiles()
    batch = Batch(T, files)
    for i in range(40):  # a new file every 0.25 s for 10 s, each complete at once
        files.stats[f"{i}.txt"] = (1, i)
        batch.add(f"{i}.txt", i * 0.25)
        paths, _ = batch.poll(i * 0.25 + 0.01)
        if paths is not None:
            break
    # Due at 5 s (max_delay) despite the events; the next check (1 s on) finds the
    # files of 5 s to 6 s new, so it waits again, and so on while files keep coming.
    assert paths is None
    files.stats.clear()
    assert drive(batch, 10.0, 12.0)[0][0] <= 11.05  # gone files are as stable as can be


def test_a_file_still_growing_postpones_the_run_until_it_stops():
    files = FakeFiles()
    batch = Batch(T, files)
    batch.add("big.txt", 0.0)
    now = 0.0
    runs = []
    while now < 20.0:
        if now < 8.0:
            files.stats["big.txt"] = (int(now * 10), int(now * 10))  # written in chunks
        paths, _ = batch.poll(now)
        if paths is not None:
            runs.append(round(now, 2))
        now += 0.05
    assert len(runs) == 1 and 9.0 <= runs[0] <= 10.1


def test_a_file_that_never_settles_runs_after_max_settle():
    files = FakeFiles()
    batch = Batch(Timings(quiet=1, max_delay=5, settle=1, max_settle=30), files)
    batch.add("log.txt", 0.0)
    now, run_at = 0.0, None
    while now < 40.0 and run_at is None:
        files.stats["log.txt"] = (int(now * 100), 0)
        if batch.poll(now)[0] is not None:
            run_at = now
        now += 0.05
    assert run_at is not None and 30.0 <= run_at <= 31.1


def test_events_during_a_settle_wait_join_the_batch():
    files = FakeFiles()
    files.stats.update({"a": (1, 1), "b": (2, 2)})
    batch = Batch(T, files)
    batch.add("a", 0.0)
    assert batch.poll(1.0)[0] is None  # first check
    batch.add("b", 1.5)
    runs = drive(batch, 1.5, 6.0)
    assert [paths for _, paths in runs] == [{"a", "b"}]


# -- the watcher on a real folder ------------------------------------------------------------

# Short, yet with room for a busy machine: a pause of the writing thread longer than
# quiet would split a burst, one longer than settle would pass a file as complete.
FAST = Timings(quiet=0.5, max_delay=2.0, settle=0.6, max_settle=20.0)


class Running:
    """A Watcher in a thread, recording each batch and the time it came."""

    def __init__(self, folder: Path, on_batch=None, **kwargs):
        self.batches: list[set[str]] = []
        self.started = threading.Event()
        self.stop = threading.Event()
        self.on_batch = on_batch
        self.watcher = Watcher([folder], self._record, timings=FAST, **kwargs)
        self.thread = threading.Thread(
            target=self.watcher.run, args=(self.stop,), kwargs={"on_start": self.started.set}
        )

    def _record(self, paths: set[str]) -> None:
        if self.on_batch:
            self.on_batch(paths)
        self.batches.append(paths)

    def __enter__(self) -> Running:
        self.thread.start()
        assert self.started.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()

    def saw(self, path: str, within: float) -> bool:
        """Whether a batch holding path comes within `within` seconds."""
        deadline = time.monotonic() + within
        while not any(path in batch for batch in self.batches):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def wait_for(self, n: int, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while len(self.batches) < n:
            assert time.monotonic() < deadline, f"{len(self.batches)} batches, not {n}"
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_a_burst_of_200_files_is_one_batch(tmp_path, poll):
    with Running(tmp_path, poll=poll) as running:
        assert running.watcher.method == ("polling" if poll else "inotify")
        for i in range(200):
            (tmp_path / f"{i:03}.txt").write_text(f" date 2024-01-01\n\nRelease {i}\n")
        running.wait_for(1)
        time.sleep(1.5)  # nothing more comes
        assert len(running.batches) == 1
        assert {str(tmp_path / f"{i:03}.txt") for i in range(200)} <= running.batches[0]


@pytest.mark.slow
def test_reading_the_files_wakes_no_one_and_the_index_dir_is_ignored(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    ignored = tmp_path / "index"
    ignored.mkdir()
    with Running(tmp_path, ignore=[ignored]) as running:
        (tmp_path / "a.txt").read_text()  # what the indexer does
        (ignored / "seg.bin").write_bytes(b"1")  # what it writes
        time.sleep(1.0)
        assert running.batches == []
        (tmp_path / "a.txt").unlink()
        running.wait_for(1)
        assert running.batches[0] - {str(tmp_path)} == {str(tmp_path / "a.txt")}


@pytest.mark.slow
def test_a_file_that_is_no_release_holds_back_no_batch(tmp_path):
    # A log appended beside the releases never settles; it would hold every batch to
    # max_settle. Files no reader takes (by their suffix) are not changes to run on.
    stop = threading.Event()

    def append() -> None:
        with open(tmp_path / "app.log", "a") as log:
            while not stop.is_set():
                log.write("line\n")
                log.flush()
                time.sleep(0.1)

    writer = threading.Thread(target=append)
    with Running(tmp_path) as running:
        writer.start()
        try:
            time.sleep(1.0)
            assert running.batches == []
            (tmp_path / "a.md").write_text("---\ntitle: A\n---\nA.\n", encoding="utf-8")
            started = time.monotonic()
            running.wait_for(1, seconds=8.0)  # max_settle is 20 s
            took = time.monotonic() - started
        finally:
            stop.set()
            writer.join()
    assert took < 8.0 and running.batches[0] - {str(tmp_path)} == {str(tmp_path / "a.md")}


@pytest.mark.slow
def test_a_file_written_in_chunks_is_seen_only_once_complete(tmp_path):
    target = tmp_path / "slow.txt"
    sizes: list[int] = []
    with Running(tmp_path, on_batch=lambda _: sizes.append(target.stat().st_size)) as running:
        with open(target, "w") as f:
            for _ in range(15):  # 3 s of writing, longer than max_delay, pauses under quiet
                f.write("chunk " * 100)
                f.flush()
                time.sleep(0.2)
        running.wait_for(1)
        time.sleep(0.8)
    assert sizes and sizes[0] == 15 * 600, sizes  # the first batch saw the whole file


@pytest.mark.slow
def test_catch_up_runs_once_at_start(tmp_path):
    batches: list[set[str]] = []
    stop = threading.Event()
    watcher = Watcher([tmp_path], lambda p: (batches.append(p), stop.set()), timings=FAST)
    watcher.run(stop, catch_up=True)
    assert batches == [set()]


@pytest.mark.slow
def test_a_folder_removed_and_back_is_watched_again(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    later = str(folder / "later.txt")
    with Running(folder) as running:
        shutil.rmtree(folder)  # unmounted, say: the system's watch is gone with it
        running.wait_for(1)
        folder.mkdir()
        # The identity check (every 2 s) notices it and watches it again: its files' own
        # events come through once more (a write every 4 s: each settles on its own).
        for attempt in range(4):
            Path(later).write_text(str(attempt))
            if running.saw(later, within=4.0):
                break
        else:
            pytest.fail(f"no event from the folder once it was back: {running.batches}")
        assert str(folder) in set().union(*running.batches[1:])  # its return counted as a change


@pytest.mark.slow
def test_a_file_given_is_watched_without_its_neighbours(tmp_path):
    release = tmp_path / "one.txt"
    release.write_text("x")
    with Running(release) as running:
        (tmp_path / "other.txt").write_text("y")
        time.sleep(1.0)
        assert running.batches == []
        release.write_text("changed")
        running.wait_for(1)
        assert running.batches[0] == {str(release)}


@pytest.mark.slow
def test_without_file_events_it_polls_and_says_why(tmp_path, monkeypatch):
    from watchdog.observers.polling import PollingObserver

    from searchsvc.reading import watch

    class BrokenObserver(PollingObserver):
        def schedule(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch, "Observer", BrokenObserver)
    with Running(tmp_path) as running:
        assert (
            running.watcher.method
            == "polling (file events unavailable: inotify watch limit reached)"
        )
        (tmp_path / "a.txt").write_text("x")
        running.wait_for(1)
