"""Building and updating the index: incremental runs, bad input, the lock, and SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchsvc.indexing import index_paths, storage
from searchsvc.searching import Engine, SearchRequest

DATA = Path(__file__).parent / "data"
SEEDS = Path(__file__).parent.parent / "seeds"


def release(day: int, word: str) -> str:
    return f" date 2024-03-{day:02d} Release number {day}\n\nThe ministry discussed {word}.\n"


@pytest.fixture
def folder(tmp_path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(SEEDS, src)
    return src


def test_incremental_add_update_delete_unchanged(tmp_path, folder):
    ix = tmp_path / "ix"
    first = index_paths(ix, [folder], procs=1)
    assert (first.added, first.unchanged, first.total) == (5, 0, 5)

    again = index_paths(ix, [folder], procs=1)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)

    (folder / "new.txt").write_text(release(1, "pistachios"), encoding="utf-8")
    (folder / "000_151069118a277199.txt").write_text(release(2, "almonds"), encoding="utf-8")
    (folder / "004_0c8e5b5424d9bbd8.txt").unlink()
    changed = index_paths(ix, [folder], procs=1)
    assert (changed.added, changed.updated, changed.deleted, changed.unchanged) == (1, 1, 1, 3)
    assert changed.total == 5

    with Engine(ix) as engine:
        almonds = engine.search(SearchRequest(q="almonds")).hits
        assert [h.id for h in almonds] == ["000_151069118a277199"]
        assert engine.search(SearchRequest(q="pistachios")).total == 1
        assert engine.document("004_0c8e5b5424d9bbd8") is None


def test_touched_but_unchanged_file_is_not_rewritten(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    os.utime(folder / "000_151069118a277199.txt")  # same bytes, new mtime
    report = index_paths(ix, [folder], procs=1)
    assert (report.updated, report.unchanged) == (0, 5)


def test_other_folders_are_not_deleted(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    report = index_paths(ix, [DATA / "docs"], procs=1)
    assert report.deleted == 0 and report.total == 5 + report.added


def test_rebuild_swaps_in_a_new_generation(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    old = storage.current_generation(ix)
    report = index_paths(ix, [folder], rebuild=True, procs=1)
    new = storage.current_generation(ix)
    assert new != old and report.added == 5 and report.total == 5
    assert (ix / storage.CURRENT).is_symlink()


def test_malformed_folder_indexes_the_good_files(tmp_path):
    ix = tmp_path / "ix"
    report = index_paths(ix, [DATA / "malformed"], procs=1)
    reasons = {
        Path(s.path).name + (f":{s.line}" if s.line else ""): s.reason for s in report.skipped
    }
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["koi8r.txt"].startswith("not UTF-8")
    assert [(Path(w.path).name, w.reason[-14:]) for w in report.warnings] == [
        ("latin1.md", "read as cp1252")
    ]
    assert reasons["unterminated.md"].startswith("broken front matter")
    assert reasons["bad-yaml.md"].startswith("broken front matter")
    assert reasons["notes.csv"].startswith("unsupported file type")
    assert any(k.startswith("records.jsonl:") for k in reasons)
    with Engine(ix) as engine:
        found = {h.id for h in engine.search(SearchRequest(q="zanzibarite", size=50)).hits}
    assert {"good-note", "good-release", "bom-release", "rec-1", "42"} <= found
    with Engine(ix) as engine:
        assert engine.document("utf16").title == "Written in UTF-16"


def test_a_file_gone_bad_keeps_its_indexed_version(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    (folder / "000_151069118a277199.txt").write_bytes(b"\xff\xfe broken \x00")
    report = index_paths(ix, [folder], procs=1)
    assert len(report.skipped) == 1 and report.deleted == 0 and report.total == 5
    with Engine(ix) as engine:
        assert engine.document("000_151069118a277199") is not None


def test_parallel_build_matches_serial(tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(450):  # above PARALLEL_THRESHOLD
        (src / f"r{i:03d}.txt").write_text(release(i % 28 + 1, f"topic{i % 7}"), "utf-8")
    report = index_paths(tmp_path / "ix", [src], procs=2)
    assert (report.added, report.total, report.skipped) == (450, 450, [])
    with Engine(tmp_path / "ix") as engine:
        assert engine.search(SearchRequest(q="topic3")).total == len(range(3, 450, 7))
    again = index_paths(tmp_path / "ix", [src], procs=2)
    assert (again.unchanged, again.added) == (450, 0)


def test_second_writer_fails_with_a_clear_message(tmp_path, folder):
    ix = tmp_path / "ix"
    with storage.writer_lock(ix), pytest.raises(storage.IndexLockedError, match="Another"):
        index_paths(ix, [folder], procs=1)


def test_second_writer_can_wait(tmp_path, folder):
    ix = tmp_path / "ix"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(ix)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        report = index_paths(ix, [folder], procs=1, wait=10)
        assert report.total == 5
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


HOLD_LOCK = """
import sys, time
from searchsvc.indexing.storage import writer_lock
with writer_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(1.0)
"""


def _add_generated(folder: Path, n: int) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    for i in range(n):
        (folder / f"gen{i:05d}.txt").write_text(
            f" date 2024-01-01 Generated release {i}\n\n{words} kumquat{i}\n", "utf-8"
        )


@pytest.mark.slow
@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_sigkill_mid_run_leaves_the_previous_index(tmp_path, folder, rebuild):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)  # the previous index: the 5 seeds
    _add_generated(folder, 2000)

    cmd = [sys.executable, "-m", "searchsvc", "index", str(folder), "--index-dir", str(ix)]
    proc = subprocess.Popen(cmd + (["--rebuild"] if rebuild else []), stderr=subprocess.PIPE)
    time.sleep(1.0)
    assert proc.poll() is None, "the index run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()

    with Engine(ix) as engine:
        assert engine.stats().documents == 5
        assert engine.search(SearchRequest(q="Turkmenistan")).total == 5
    report = index_paths(ix, [folder], procs=2, wait=5)
    assert report.total == 2005
    with Engine(ix) as engine:
        assert engine.search(SearchRequest(q="kumquat77")).total == 1


# -- the fast paths: what they skip, and what they must still notice ------------------------


def _refuse(*args, **kwargs):
    raise AssertionError("a run with nothing to do opened a Whoosh reader or writer")


def test_noop_run_opens_no_reader_nor_writer(tmp_path, folder, monkeypatch):
    from whoosh.index import FileIndex

    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    gen = storage.current_generation(ix)
    before = sorted(p.name for p in gen.iterdir())
    monkeypatch.setattr(FileIndex, "reader", _refuse)
    monkeypatch.setattr(FileIndex, "writer", _refuse)
    report = index_paths(ix, [folder], procs=1)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 5)
    assert report.total == 5 and not report.skipped
    assert sorted(p.name for p in gen.iterdir()) == before  # no stray segment files


def test_vanished_file_is_deleted_when_nothing_is_read(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    (folder / "004_0c8e5b5424d9bbd8.txt").unlink()
    report = index_paths(ix, [folder], procs=1)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 1, 4)
    assert report.total == 4
    with Engine(ix) as engine:
        assert engine.document("004_0c8e5b5424d9bbd8") is None


def test_file_changed_after_the_manifest_was_written_is_updated(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    path = folder / "000_151069118a277199.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Turkmenistan", "Turkmenistax", 1), encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # same size, later mtime
    report = index_paths(ix, [folder], procs=1)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 4)
    with Engine(ix) as engine:
        assert [h.id for h in engine.search(SearchRequest(q="Turkmenistax")).hits] == [
            "000_151069118a277199"
        ]


@pytest.mark.parametrize("how", ["renamed into place", "written in place"])
def test_a_file_changed_with_its_size_and_mtime_kept_is_updated(tmp_path, folder, how):
    # cp -p, tar x and rsync keep a file's mtime; a corrected release of the same length
    # then has the stat the manifest holds. Its ctime (and, renamed in, its inode) moved.
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    path = folder / "000_151069118a277199.txt"
    before = path.stat()
    text = path.read_text(encoding="utf-8").replace("Turkmenistan", "Turkmenistax", 1)
    if how == "renamed into place":
        (tmp_path / "new.txt").write_text(text, encoding="utf-8")
        os.replace(tmp_path / "new.txt", path)
    else:
        time.sleep(0.01)  # a ctime of its own
        path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = index_paths(ix, [folder], procs=1)
    assert (report.updated, report.unchanged) == (1, 4)
    assert index_paths(ix, [folder], procs=1).unchanged == 5  # and then it is left alone


def test_a_manifest_written_before_ctimes_is_compared_by_size_and_mtime(tmp_path, folder):
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    gen = storage.current_generation(ix)
    sources = storage.read_manifest(gen)
    storage.write_manifest(gen, {path: entry[:4] for path, entry in sources.items()})
    report = index_paths(ix, [folder], procs=1)  # nothing read again
    assert (report.updated, report.unchanged) == (0, 5)
    assert storage.read_manifest(gen) == sources  # the entries completed


def test_document_missing_from_the_index_is_added_though_its_stat_matches(tmp_path, folder):
    # As after a run killed between Whoosh's commit and the manifest's write: the manifest
    # says the file is indexed, the index no longer has it. The index is checked, not trusted.
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    writer = storage.open_index(ix).writer()
    writer.delete_by_term("id", "002_77df0451d7f08fe1")
    writer.commit()
    report = index_paths(ix, [folder], procs=1)
    assert (report.added, report.unchanged, report.total) == (1, 4, 5)
    with Engine(ix) as engine:
        assert engine.document("002_77df0451d7f08fe1") is not None


def test_small_update_is_searchable_by_word_and_phrase(tmp_path, folder):
    # A few new files go into an uncompressed segment beside the compressed ones.
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    (folder / "new.txt").write_text(release(3, "salted pistachios"), encoding="utf-8")
    report = index_paths(ix, [folder], procs=1)
    assert (report.added, report.unchanged, report.total) == (1, 5, 6)
    with Engine(ix) as engine:
        for q in ("pistachios", '"salted pistachios"', '"ministry discussed salted"'):
            assert [h.id for h in engine.search(SearchRequest(q=q)).hits] == ["new"], q
        assert engine.search(SearchRequest(q="Turkmenistan")).total == 5


@pytest.mark.parametrize(
    "root, path",
    [
        ("/data", "/data/a/b.md"),
        ("/data/", "/data/a/b.md"),
        ("/", "/x.md"),
        ("/", "//x.md"),
        ("//a/b", "//a/b/x.md"),
        ("/data/.", "/data/a.md"),
        ("/data", "/data/./a.md"),
        ("/data", "/data/../a.md"),
        ("/data", "/database/x.md"),
        ("/data", "/data//a.md"),
        ("rel", "rel/x.md"),
    ],
)
def test_doc_id_is_the_path_relative_to_the_root(root, path):
    from searchsvc.reading import SourceFile, doc_id

    relative = os.path.relpath(path, root)
    assert doc_id(SourceFile(root, path)) == os.path.splitext(relative)[0]


def test_an_index_kept_in_the_folder_it_indexes_is_not_read_as_releases(tmp_path, folder):
    # `searchsvc index releases/ --index-dir releases/index`: its own files are neither
    # read nor reported skipped (so --strict can pass), run after run.
    ix = folder / "index"
    for _ in range(2):
        report = index_paths(ix, [folder], procs=1)
        assert report.skipped == [] and report.total == 5
