"""The index directory: reading its columns and counts without a reader, and the manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from searchsvc.indexing import index_paths, storage

SEEDS = Path(__file__).parent.parent / "seeds"
DATA = Path(__file__).parent / "data"


@pytest.fixture
def index(tmp_path) -> Path:
    """An index of several segments, some compound, with deleted documents."""
    src = tmp_path / "src"
    shutil.copytree(SEEDS, src)
    ix = tmp_path / "ix"
    index_paths(ix, [src], procs=1)
    index_paths(ix, [DATA / "docs"], procs=1)  # a second segment
    first = sorted(src.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    (src / "003_ec0c8cdd937fe39f.txt").unlink()
    index_paths(ix, [src], procs=1)  # deletes from the first segment, adds a third
    return ix


def _by_reader(ix, names):
    with ix.reader() as reader:
        columns = [reader.column_reader(name) for name in names]
        return [
            tuple(column[n] for column in columns)
            for n in range(reader.doc_count_all())
            if not reader.is_deleted(n)
        ]


def test_column_rows_are_the_readers_columns(index):
    ix = storage.open_index(index)
    names = ("id", "hash", "path")
    assert len(ix._segments()) > 1
    assert any(s.has_deletions() for s in ix._segments())
    rows = list(storage.column_rows(ix, names))
    assert rows == _by_reader(ix, names)
    assert len({row[0] for row in rows}) == len(rows)
    assert "003_ec0c8cdd937fe39f" not in {row[0] for row in rows}


def test_column_rows_of_an_empty_index(tmp_path):
    _, ix = storage.new_generation(tmp_path / "ix")
    assert list(storage.column_rows(ix, ("id",))) == []
    assert storage.doc_count(ix) == 0


def test_doc_count_is_the_readers(index):
    ix = storage.open_index(index)
    with ix.reader() as reader:
        assert storage.doc_count(ix) == reader.doc_count() < reader.doc_count_all()


def test_manifest_round_trip_and_torn_manifest(tmp_path):
    manifest = {"/a/b.txt": [1, 2, {"b": "f" * 40}, 0]}
    storage.write_manifest(tmp_path, manifest)
    assert storage.read_manifest(tmp_path) == manifest
    (tmp_path / storage.MANIFEST).write_text('{"/a/b.txt": [1, 2', encoding="utf-8")
    assert storage.read_manifest(tmp_path) == {}


def test_a_run_parses_each_manifest_once(tmp_path, monkeypatch):
    """Under the writer lock no other process writes a manifest: a run parses it once."""
    ix = tmp_path / "ix"
    index_paths(ix, [SEEDS], procs=1)
    parsed = []
    parse = storage._parse_manifest_file
    monkeypatch.setattr(storage, "_parse_manifest_file", lambda g: parsed.append(g) or parse(g))
    report = index_paths(ix, [SEEDS], procs=1)  # nothing changed
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 5)
    assert len(parsed) == 1
    # The cache lasts as long as the lock: a read after the run parses the file again and
    # finds what the run wrote.
    sources = storage.read_manifest(storage.current_generation(ix))
    assert len(parsed) == 2
    assert sorted(sources) == sorted(str(p.resolve()) for p in SEEDS.iterdir())


def test_under_the_lock_a_read_gives_what_was_written(tmp_path):
    """The kept manifest is the one last written, even one of the same size written at once."""
    ix = tmp_path / "ix"
    index_paths(ix, [SEEDS], procs=1)
    gen = storage.current_generation(ix)
    checksums = storage.read_checksums(gen)
    with storage.writer_lock(ix):
        storage.write_mark(gen, "test", "one")
        assert storage.read_mark(gen, "test") == "one"
        storage.write_mark(gen, "test", "two")  # the same size, perhaps the same mtime
        assert storage.read_mark(gen, "test") == "two"
        assert storage.read_checksums(gen) == checksums
    assert not storage._locked_manifests
    assert storage.read_mark(gen, "test") == "two"  # from the file
