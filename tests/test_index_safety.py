"""Indexing that loses nothing: the mass-delete guard, unreadable folders, failed runs, ids.

Tests run as root, whom permission bits do not stop: a folder that cannot be read is
simulated by making os.scandir raise PermissionError for it (in this process with
monkeypatch, in a subprocess through a small launcher that patches it the same way).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.indexing import storage
from searchsvc.indexing.deletions import SMALL_DELETE, DeleteRefusedError
from searchsvc.indexing.indexer import PARALLEL_THRESHOLD, index_paths
from searchsvc.searching import Engine

SEEDS = Path(__file__).parent.parent / "seeds"


def release(n: int, word: str = "ministry") -> str:
    return f" date 2024-03-{n % 28 + 1:02d} Release number {n}\n\nThe {word} discussed r{n}.\n"


def write_releases(folder: Path, names, word: str = "ministry") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(names):
        (folder / f"{name}.txt").write_text(release(n, word), encoding="utf-8")


def state(ix: Path) -> tuple:
    """Everything a reader of the index sees: the live documents, manifest and files."""
    gen = storage.current_generation(ix)
    index = storage.open_index(ix)
    try:
        docs = sorted(storage.column_rows(index, ("id", "hash", "path")))
    finally:
        index.close()
    manifest = (gen / storage.MANIFEST).read_bytes()
    generations = sorted(p.name for p in ix.glob("gen-*"))
    return gen.name, docs, manifest, generations, sorted(p.name for p in gen.iterdir())


@pytest.fixture
def seeds(tmp_path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


# -- never mass-delete by surprise ----------------------------------------------------------


def test_an_emptied_folder_is_refused_and_nothing_is_written(tmp_path, seeds, runner):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    for path in seeds.iterdir():
        path.unlink()  # as an unmounted share looks: an empty folder
    with pytest.raises(DeleteRefusedError, match="5 of 5"):
        index_paths(ix, [seeds], procs=1)
    assert state(ix) == before
    result = runner.invoke(main, ["index", str(seeds), "--index-dir", str(ix)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: Refusing to delete 5 of 5 documents (100%) indexed from {seeds}/: it yields "
        "no documents now (empty or unmounted?). If that is intended, run again with "
        "--allow-delete.\n"
    )
    assert state(ix) == before
    result = runner.invoke(main, ["index", str(seeds), "--index-dir", str(ix), "--allow-delete"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("added 0, updated 0, deleted 5, unchanged 0, skipped 0,")
    assert "total 0 documents" in result.output


def test_a_missing_folder_is_refused(tmp_path, seeds):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    seeds.rename(tmp_path / "elsewhere")  # the mount point itself is gone
    with pytest.raises(DeleteRefusedError, match="5 of 5 documents .100%. indexed from"):
        index_paths(ix, [seeds], procs=1)
    assert state(ix) == before


def test_a_rebuild_of_an_empty_folder_is_refused(tmp_path, seeds):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        DeleteRefusedError,
        match="5 of 5 documents .100%. in the index: it would leave the index empty",
    ):
        index_paths(ix, [empty], rebuild=True, procs=1)
    assert state(ix) == before  # no new generation left behind either


def test_a_rebuild_of_some_of_the_folders_is_refused(tmp_path, seeds):
    other = tmp_path / "other"
    write_releases(other, [f"o{n:02d}" for n in range(SMALL_DELETE + 2)])
    ix = tmp_path / "ix"
    index_paths(ix, [seeds, other], procs=1)
    before = state(ix)
    with pytest.raises(DeleteRefusedError) as refused:
        index_paths(ix, [seeds], rebuild=True, procs=1)
    assert str(refused.value).startswith(
        f"Refusing to delete 12 of 12 documents (100%) indexed from {other}/: it is not among "
        "the paths given (a rebuild keeps only those)."
    )
    assert state(ix) == before
    report = index_paths(ix, [seeds], rebuild=True, procs=1, allow_delete=True)
    assert report.total == 5


@pytest.mark.parametrize("removed", [1, 2])
def test_removing_a_few_files_needs_no_confirmation(tmp_path, removed):
    folder = tmp_path / "docs"
    write_releases(folder, ["a", "b", "c"])
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    for name in "abc"[:removed]:
        (folder / f"{name}.txt").unlink()
    report = index_paths(ix, [folder], procs=1)
    assert (report.deleted, report.total) == (removed, 3 - removed)


def test_the_share_rule(tmp_path):
    folder = tmp_path / "docs"
    names = [f"r{n:02d}" for n in range(40)]
    write_releases(folder, names)
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    for name in names[: SMALL_DELETE + 1]:  # 11 of 40: more than 10, and 27% > 20%
        (folder / f"{name}.txt").unlink()
    before = state(ix)
    with pytest.raises(DeleteRefusedError) as refused:
        index_paths(ix, [folder], procs=1)
    assert str(refused.value) == (
        "Refusing to delete 11 of 40 documents (28%) in the index: more than 20% (and 10 "
        "documents) in one run. If that is intended, run again with --allow-delete."
    )
    assert state(ix) == before
    report = index_paths(ix, [folder], procs=1, max_delete_share=0.3)
    assert (report.deleted, report.total) == (11, 29)


def test_ten_deletions_pass_whatever_the_share(tmp_path):
    folder = tmp_path / "docs"
    names = [f"r{n:02d}" for n in range(12)]
    write_releases(folder, names)
    ix = tmp_path / "ix"
    index_paths(ix, [folder], procs=1)
    for name in names[:SMALL_DELETE]:
        (folder / f"{name}.txt").unlink()
    assert index_paths(ix, [folder], procs=1).deleted == SMALL_DELETE


def test_an_emptied_subfolder_of_more_than_ten_is_refused(tmp_path):
    root = tmp_path / "docs"
    write_releases(root / "main", [f"m{n:02d}" for n in range(50)])
    write_releases(root / "share", [f"s{n:02d}" for n in range(11)])
    ix = tmp_path / "ix"
    index_paths(ix, [root], procs=1)
    for path in (root / "share").iterdir():
        path.unlink()
    with pytest.raises(DeleteRefusedError) as refused:  # 11 of 61 is 18%: the folder counts
        index_paths(ix, [root], procs=1)
    assert f"11 of 11 documents (100%) indexed from {root / 'share'}/: it yields" in str(
        refused.value
    )


def test_skipped_files_are_not_counted_as_gone(tmp_path, seeds):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    for path in seeds.iterdir():
        path.write_bytes(b"\x00 binary now")
    report = index_paths(ix, [seeds], procs=1)
    assert (len(report.skipped), report.deleted, report.total) == (5, 0, 5)


def test_a_rebuild_never_drops_what_it_could_not_read(tmp_path, monkeypatch):
    # An update keeps the documents of a file or folder it cannot read; a rebuild keeps only
    # what it reads, so it refuses (writing nothing) unless told to drop them.
    root = tmp_path / "docs"
    write_releases(root / "open", ["a", "b", "c"])
    write_releases(root / "shut", ["d", "e"])
    ix = tmp_path / "ix"
    index_paths(ix, [root], procs=1)
    before = state(ix)
    (root / "open" / "a.txt").write_bytes(b"\x00 binary now")  # a file gone bad
    with pytest.raises(DeleteRefusedError, match="drop 1 of 5 documents whose files could not"):
        index_paths(ix, [root], procs=1, rebuild=True)
    _deny(monkeypatch, root / "shut")  # and a folder that cannot be read
    with pytest.raises(DeleteRefusedError, match=r"drop 2 of 5 .*shut: cannot read folder"):
        index_paths(ix, [root], procs=1, rebuild=True)
    assert state(ix) == before
    report = index_paths(ix, [root], procs=1, rebuild=True, allow_delete=True)
    assert (report.added, report.deleted, report.total) == (2, 3, 2)


def test_held_deletions_keep_the_documents_and_write_the_rest(tmp_path, seeds):
    # A watch's runs: the guard's refusal keeps what it would delete, instead of writing
    # nothing; a rebuild (it keeps only what it writes) still refuses.
    ix = tmp_path / "ix"
    write_releases(seeds / "desk", [f"d{n}" for n in range(12)])
    index_paths(ix, [seeds], procs=1)
    shutil.rmtree(seeds / "desk")  # a folder of twelve gone at once: refused
    write_releases(seeds, ["new"], word="pistachios")
    report = index_paths(ix, [seeds], procs=1, hold_deletes=True)
    assert (report.added, report.deleted, report.held, report.total) == (1, 0, 12, 18)
    assert report.held_because.startswith("Refusing to delete 12 of 12 documents")
    assert ", held back 12, " in report.summary()
    with pytest.raises(DeleteRefusedError):
        index_paths(ix, [seeds], procs=1, rebuild=True, hold_deletes=True)
    assert index_paths(ix, [seeds], procs=1, allow_delete=True).deleted == 12


def test_a_rebuild_counts_what_it_deleted(tmp_path, seeds):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    next(iter(sorted(seeds.iterdir()))).unlink()  # a release removed
    report = index_paths(ix, [seeds], procs=1, rebuild=True)
    assert (report.added, report.deleted, report.total) == (4, 1, 4)


# -- a folder that cannot be read keeps its documents -----------------------------------------


def _deny(monkeypatch, folder: Path) -> None:
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(folder):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subfolder_keeps_its_documents(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    write_releases(root / "open", ["a", "b"])
    write_releases(root / "shut", ["c", "d", "e"])
    ix = tmp_path / "ix"
    index_paths(ix, [root], procs=1)
    _deny(monkeypatch, root / "shut")
    report = index_paths(ix, [root], procs=1)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(root / "shut"), "cannot read folder: Permission denied")
    ]
    assert (report.deleted, report.unchanged, report.total) == (0, 2, 5)
    monkeypatch.undo()
    assert index_paths(ix, [root], procs=1).unchanged == 5


def test_an_unreadable_root_keeps_its_documents(tmp_path, seeds, monkeypatch):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    _deny(monkeypatch, seeds)
    report = index_paths(ix, [seeds], procs=1)
    assert (report.deleted, report.total, len(report.skipped)) == (0, 5, 1)
    assert state(ix)[:2] == before[:2]


def test_an_unreadable_file_keeps_its_documents(tmp_path, seeds, monkeypatch):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    locked = seeds / "000_151069118a277199.txt"
    locked.write_text(release(1), encoding="utf-8")  # changed, so it is read again
    real = os.open

    def deny(path, *args, **kwargs):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    report = index_paths(ix, [seeds], procs=1)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(locked), "cannot read file: Permission denied")
    ]
    assert (report.deleted, report.updated, report.total) == (0, 0, 5)


LAUNCHER = """
import os, sys
denied, real = sys.argv.pop(1), os.scandir
def scandir(path="."):
    if os.fspath(path) == denied:
        raise PermissionError(13, "Permission denied", os.fspath(path))
    return real(path)
os.scandir = scandir
from searchsvc.cli import main
main(prog_name="searchsvc")
"""


def test_cli_keeps_an_unreadable_folder(tmp_path):
    root = tmp_path / "docs"
    write_releases(root / "open", ["a"])
    write_releases(root / "shut", ["b", "c"])
    ix = tmp_path / "ix"
    index_paths(ix, [root], procs=1)
    args = ["index", str(root), "--index-dir", str(ix)]
    run = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(root / "shut"), *args], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == f"skipped {root / 'shut'}: cannot read folder: Permission denied\n"
    assert run.stdout.startswith("added 0, updated 0, deleted 0, unchanged 1, skipped 1,")
    assert "total 3 documents" in run.stdout


# -- a run that fails leaves the index exactly as it was ---------------------------------------


def _fail_on(monkeypatch, names: set[str]) -> None:
    import searchsvc.indexing.bookkeeping as bookkeeping

    real = bookkeeping.read_source

    def read_source(src, advance=None):
        if Path(src.path).name in names:
            raise RuntimeError("disk on fire")
        return real(src, advance)

    monkeypatch.setattr(bookkeeping, "read_source", read_source)


@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_a_failure_mid_run_leaves_the_index_as_it_was(tmp_path, seeds, monkeypatch, rebuild):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    write_releases(seeds, ["new1", "new2", "new3"])
    (seeds / "000_151069118a277199.txt").write_text(release(9), encoding="utf-8")  # an update
    (seeds / "004_0c8e5b5424d9bbd8.txt").unlink()  # a deletion
    _fail_on(monkeypatch, {"new2.txt"})  # after new1 was added to the writer
    with pytest.raises(RuntimeError, match="disk on fire"):
        index_paths(ix, [seeds], procs=1, rebuild=rebuild)
    assert state(ix) == before
    monkeypatch.undo()
    report = index_paths(ix, [seeds], procs=1)
    assert (report.added, report.updated, report.deleted, report.total) == (3, 1, 1, 7)


def test_a_failure_in_a_worker_process_leaves_the_index_as_it_was(tmp_path, seeds, monkeypatch):
    ix = tmp_path / "ix"
    index_paths(ix, [seeds], procs=1)
    before = state(ix)
    write_releases(seeds / "many", [f"m{n:03d}" for n in range(PARALLEL_THRESHOLD + 2)])
    _fail_on(monkeypatch, {"m010.txt"})
    with pytest.raises(RuntimeError, match="disk on fire"):
        index_paths(ix, [seeds], procs=2)
    after = state(ix)
    assert after[:4] == before[:4]  # workers' unfinished segments are in no table of contents


# -- one document per id ------------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _ids_and_paths(ix: Path) -> list[tuple[str, str]]:
    index = storage.open_index(ix)
    try:
        return sorted(storage.column_rows(index, ("id", "path")))
    finally:
        index.close()


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_two_jsonl_files_with_one_id_keep_the_first_path(tmp_path, order):
    a, b = tmp_path / "a" / "x.jsonl", tmp_path / "b" / "x.jsonl"
    _jsonl(a, [{"id": "same", "title": "From A", "body": "alpha"}, {"id": "a2", "body": "a"}])
    _jsonl(b, [{"id": "same", "title": "From B", "body": "beta"}, {"id": "b2", "body": "b"}])
    paths = [a.parent, b.parent] if order == "a-first" else [b.parent, a.parent]
    ix = tmp_path / "ix"
    report = index_paths(ix, paths, procs=1)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(b), f"same document id 'same' as {a}; that one is kept")
    ]
    assert (report.added, report.total) == (3, 3)
    assert _ids_and_paths(ix) == [("a2", str(a)), ("b2", str(b)), ("same", str(a))]
    again = index_paths(ix, paths, procs=1)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 3)
    assert len(again.skipped) == 1


def test_an_id_twice_in_one_file_keeps_the_first_line(tmp_path):
    path = tmp_path / "docs" / "x.jsonl"
    _jsonl(path, [{"id": "1", "body": "first"}, {"id": "1", "body": "second"}])
    report = index_paths(tmp_path / "ix", [path.parent], procs=1)
    assert [s.reason for s in report.skipped] == [
        "same document id '1' twice in this file; the first is kept"
    ]
    with Engine(tmp_path / "ix") as engine:
        assert engine.document("1").body == "first"


def test_one_relative_path_under_two_folders(tmp_path, runner):
    write_releases(tmp_path / "one", ["x"], word="first")
    write_releases(tmp_path / "two", ["x"], word="second")
    ix = tmp_path / "ix"
    for paths in ([tmp_path / "two", tmp_path / "one"], [tmp_path / "one", tmp_path / "two"]):
        args = ["index", *map(str, paths), "--index-dir", str(ix)]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert (
            f"skipped {tmp_path / 'two' / 'x.txt'}: same document id 'x' as "
            f"{tmp_path / 'one' / 'x.txt'}; that one is kept\n"
        ) in result.output
        assert _ids_and_paths(ix) == [("x", str(tmp_path / "one" / "x.txt"))]
    assert "added 0, updated 0, deleted 0, unchanged 1, skipped 1" in result.output


def test_a_new_file_that_wins_an_id_replaces_the_old_one(tmp_path):
    b = tmp_path / "b.jsonl"
    _jsonl(b, [{"id": "same", "body": "beta"}])
    ix = tmp_path / "ix"
    index_paths(ix, [tmp_path / "b.jsonl"], procs=1)
    a = tmp_path / "a.jsonl"
    _jsonl(a, [{"id": "same", "body": "alpha"}])
    report = index_paths(ix, [b, a], procs=1)
    assert (report.updated, report.deleted, report.total) == (1, 0, 1)
    assert [s.path for s in report.skipped] == [str(b)]  # the indexed loser is read again
    assert _ids_and_paths(ix) == [("same", str(a))]
    again = index_paths(ix, [b, a], procs=1)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 1)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\x7fELF\x02\x01\x01\x00", "binary file"),
        ("Релиз".encode("koi8-r"), "not UTF-8"),
    ],
)
def test_a_file_that_gives_no_document_gives_its_id_up(tmp_path, bad, reason):
    """An empty or unreadable x.md beside a good x.txt: the good one is indexed, the bad
    one reported for what is wrong with it. Before, x.md won the id by its path alone, and
    x.txt was skipped "as x.md; that one is kept", though neither was."""
    docs = tmp_path / "docs"
    write_releases(docs, ["x", "y"])
    (docs / "x.md").write_bytes(bad)
    ix = tmp_path / "ix"
    for _ in range(2):  # the first run, and a run with nothing changed
        report = index_paths(ix, [docs], procs=1)
        assert [s.path for s in report.skipped] == [str(docs / "x.md")]
        assert report.skipped[0].reason.startswith(reason)
        assert report.total == 2
        assert _ids_and_paths(ix) == [("x", str(docs / "x.txt")), ("y", str(docs / "y.txt"))]
    # Once x.md gives a document, it wins the id again (the first path), as before.
    (docs / "x.md").write_text("# Markdown x\n\nmarkdown\n", encoding="utf-8")
    report = index_paths(ix, [docs], procs=1)
    assert [s.path for s in report.skipped] == [str(docs / "x.txt")]
    assert (report.updated, report.total) == (1, 2)
    assert _ids_and_paths(ix)[0] == ("x", str(docs / "x.md"))


def test_collisions_in_parallel_runs_are_stable(tmp_path):
    docs = tmp_path / "docs"
    write_releases(docs / "md", [f"r{n:03d}" for n in range(PARALLEL_THRESHOLD + 10)])
    for n in range(0, 40, 4):  # x.md beside x.txt, and JSON Lines ids clashing
        (docs / "md" / f"r{n:03d}.md").write_text(f"# Markdown {n}\n\nmd{n}\n", "utf-8")
    _jsonl(docs / "j1.jsonl", [{"id": f"j{n}", "body": f"one {n}"} for n in range(20)])
    _jsonl(docs / "j2.jsonl", [{"id": f"j{n}", "body": f"two {n}"} for n in range(10, 30)])
    ix = tmp_path / "ix"
    first = index_paths(ix, [docs], procs=2)
    total = PARALLEL_THRESHOLD + 10 + 30
    assert (first.added, first.total) == (total, total)
    collided = sorted(s.path for s in first.skipped)
    assert len(collided) == 10 + 6  # ten .txt, j2.jsonl's five and its "more" line
    kept = dict(_ids_and_paths(ix))
    assert kept["md/r000"].endswith("r000.md") and kept["j15"] == str(docs / "j1.jsonl")
    again = index_paths(ix, [docs], procs=2)
    assert (again.added, again.updated, again.deleted) == (0, 0, 0)
    assert sorted(s.path for s in again.skipped) == collided
    for path in docs.rglob("*.*"):
        os.utime(path)  # every file read again, in two processes
    touched = index_paths(ix, [docs], procs=2)
    assert (touched.added, touched.updated, touched.deleted, touched.unchanged) == (0, 0, 0, total)
    assert sorted(s.path for s in touched.skipped) == collided
    assert dict(_ids_and_paths(ix)) == kept
