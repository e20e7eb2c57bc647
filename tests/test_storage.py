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
