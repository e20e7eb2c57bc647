"""A plain `searchsvc index` and a file still being written (a cron job copying it in).

A file modified in the last second is looked at again once the run has waited for it (one
wait per run); if it changed, the run leaves it for the next, its indexed version kept. A
file that changes while it is read is read again, then left for the next run.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from searchsvc.cli import main
from searchsvc.indexing import index_paths, indexer
from searchsvc.reading import Skipped, SourceFile, read_source
from searchsvc.reading import documents as reading_documents
from searchsvc.searching import Engine

HEAD = "---\ntitle: Quarterly figures\ndate: 2024-05-01\n---\n\n"
WHOLE = HEAD + "The figures rose. " * 50 + "The final paragraph names zorblatt.\n"


@pytest.fixture
def settle(monkeypatch):
    monkeypatch.setattr(indexer, "SETTLE", 1.0)  # the default, which conftest turns off


def _write_slowly(path, text: str, pieces: int, pause: float) -> None:
    """A copy in progress: the file grows a piece at a time."""
    step = len(text) // pieces + 1
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, len(text), step):
            f.write(text[start : start + step])
            f.flush()
            time.sleep(pause)


def test_a_file_being_copied_in_is_left_for_the_next_run(tmp_path, runner, settle):
    docs, ix = tmp_path / "docs", str(tmp_path / "ix")
    docs.mkdir()
    path = docs / "figures.md"
    path.write_text(HEAD + "An earlier version.\n", encoding="utf-8")
    os.utime(path, (time.time() - 60, time.time() - 60))  # written a minute ago
    assert "added 1," in runner.invoke(main, ["index", str(docs), "--index-dir", ix]).output
    copying = threading.Thread(target=_write_slowly, args=(path, WHOLE, 8, 0.3))
    copying.start()
    try:
        time.sleep(0.5)  # the front matter and part of the body are there
        result = runner.invoke(main, ["index", str(docs), "--index-dir", ix])
    finally:
        copying.join()
    assert result.exit_code == 0, result.output
    assert (
        f"skipped {path}: being written (changed within 1 s); left for the next run\n"
        in result.output
    )
    assert "updated 0, deleted 0, unchanged 0, skipped 1" in result.output
    with Engine(tmp_path / "ix") as engine:
        assert engine.document("figures").body == "An earlier version."  # kept, not cut off
    again = runner.invoke(main, ["index", str(docs), "--index-dir", ix])
    assert "updated 1, deleted 0, unchanged 0, skipped 0" in again.output
    with Engine(tmp_path / "ix") as engine:
        assert engine.document("figures").body.endswith("names zorblatt.")


def test_a_file_written_just_now_and_finished_is_read_after_one_wait(tmp_path, settle):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(20):
        (docs / f"r{n}.md").write_text(WHOLE, encoding="utf-8")
    started = time.monotonic()
    report = index_paths(tmp_path / "ix", [docs], procs=1)
    assert (report.added, report.skipped) == (20, [])
    assert time.monotonic() - started < 1.0 + 5.0  # one wait, not one per file (20 s)
    (docs / "r0.md").write_text(WHOLE + "More.\n", encoding="utf-8")
    report = index_paths(tmp_path / "ix", [docs], procs=1)
    assert (report.updated, report.unchanged, report.skipped) == (1, 19, [])


def test_no_wait_when_no_file_is_that_young(tmp_path, settle, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "old.md").write_text(WHOLE, encoding="utf-8")
    os.utime(docs / "old.md", (time.time() - 60, time.time() - 60))
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert index_paths(tmp_path / "ix", [docs], procs=1).added == 1
    assert slept == []


def test_a_file_that_changes_while_it_is_read_is_read_again(tmp_path, monkeypatch):
    path = tmp_path / "figures.md"
    path.write_text(HEAD + "Part one.", encoding="utf-8")
    real_fstat, grows = os.fstat, [2]  # another program appends while the file is read

    def fstat(fd):
        result = real_fstat(fd)
        if grows[0] and result.st_size:
            grows[0] -= 1
            with open(path, "a", encoding="utf-8") as f:
                f.write(" More.")
        return result

    monkeypatch.setattr(reading_documents.os, "fstat", fstat)
    grows[0] = 1  # it grows once: the second reading is whole
    (doc,) = read_source(SourceFile(str(tmp_path), str(path)))
    assert doc.body == "Part one. More."
    grows[0] = 3  # it keeps growing: left for the next run
    (item,) = read_source(SourceFile(str(tmp_path), str(path)))
    assert isinstance(item, Skipped)
    assert item.reason == "changing while read (being written?); left for the next run"
