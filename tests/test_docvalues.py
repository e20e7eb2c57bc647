"""Doc values (indexing/docvalues.py): each segment's file gives FacetTable and DuplicateTable
exactly what the columns give, array by array, on every path that writes a segment.

The index: a bulk build (two workers), then Whoosh's SegmentWriter for small runs (an
incremental add, a deletion, a release changed) and its merges; releases undated, without
any facet value, with several tags, and near-duplicates. Each table is built twice: from
the files, and from the columns (files=False, the fallback of a segment without a file).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import unlist
from whoosh import index as whoosh_index

from searchsvc.indexing import docvalues, index_paths, indexer, storage
from searchsvc.schema import FACETS
from searchsvc.searching import Engine
from searchsvc.searching.duplicates import DuplicateTable, _read_signatures
from searchsvc.searching.facets import FacetTable

TOPICS = ("solar energy", "gas pipeline", "cotton harvest", "caspian shipping", "water")
TAGS = ("Energy", "Côte d’Ivoire", "trade", "Water", "pipelines")


def write_release(folder: Path, n: int) -> None:
    """Release n: dated or not (n % 7 == 3), with a source, place and tags or not."""
    story = n // 2  # pairs of releases tell one story: near-duplicates to group
    topic = TOPICS[story % len(TOPICS)]
    meta = [f'title: "Release {n} on {topic}"']
    if n % 7 != 3:
        meta.append(f"date: 20{18 + story % 6}-{1 + story % 12:02d}-{1 + story % 28:02d}")
    if n % 5:  # every fifth release: no facet value at all
        meta.append(f"source: Ministry {n % 3}")
        meta.append(f"place: {('Ashgabat', 'Baku', 'Tashkent')[n % 3]}")
        tags = [TAGS[(n + k) % len(TAGS)] for k in range(n % 4)]
        if tags:
            meta.append("tags: [" + ", ".join(f'"{t}"' for t in tags) + "]")
    words = " ".join(f"w{story}x{k}" for k in range(60))
    body = f"The ministry spoke of {topic} and of story {story}: {words}."
    text = "---\n" + "\n".join(meta) + "\n---\n\n" + body
    (folder / f"r{n:03d}.md").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docvalues")
    docs = root / "docs"
    docs.mkdir()
    for n in range(40):
        write_release(docs, n)
    index_dir = root / "index"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(indexer, "PARALLEL_THRESHOLD", 10)
        mp.setattr(indexer, "SETTLE", 0.0)
        index_paths(index_dir, [docs], procs=2)  # bulk segments
        for n in range(40, 52):  # Whoosh's writer, a segment each, then merges
            write_release(docs, n)
            index_paths(index_dir, [docs], procs=1)
        (docs / "r007.md").unlink()  # a deletion
        (docs / "r044.md").unlink()
        index_paths(index_dir, [docs], procs=1)
        write_release(docs, 7)  # back, as a new document of a new segment
        index_paths(index_dir, [docs], procs=1)
    return index_dir


def segments(gen: Path) -> int:
    return len(list(gen.glob("MAIN_*.seg")))


def test_every_segment_has_its_file_and_its_checksum(built):
    gen = storage.current_generation(built)
    assert gen is not None
    files = list(gen.glob(f"MAIN_*{docvalues.EXT}"))
    assert len(files) == segments(gen) > 1
    assert storage.verify_generation(gen).ok
    listed = storage.read_checksums(gen)
    assert all(path.name in listed for path in files)


def tables(index_dir: Path, files: bool):
    gen = storage.current_generation(index_dir)
    ix = whoosh_index.open_dir(str(gen))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        facets = FacetTable(reader, files=files)
        dups = DuplicateTable(reader, facets.live_mask, facets.date_keys, files=files)
        signatures = _read_signatures(reader, reader.doc_count_all(), files=files)
        has_deletions = reader.has_deletions()
    ix.close()
    return facets, dups, signatures, has_deletions


def assert_same_tables(index_dir: Path) -> FacetTable:
    """The tables from the files and from the columns agree array by array."""
    facets, dups, signatures, has_deletions = tables(index_dir, files=True)
    old, old_dups, old_signatures, _ = tables(index_dir, files=False)
    assert has_deletions
    assert facets.size == old.size
    assert np.array_equal(facets.live_mask, old.live_mask)
    assert np.array_equal(facets.date_keys, old.date_keys, equal_nan=True)
    for f in FACETS:
        a, b = facets.columns[f.name], old.columns[f.name]
        assert a.labels == b.labels, f.name
        for attr in ("docs", "codes", "frequent", "bits", "rare_docs", "rare_codes"):
            assert np.array_equal(getattr(a, attr), getattr(b, attr)), (f.name, attr)
        assert list(facets.values[f.name]) == list(old.values[f.name]), f.name
    assert list(facets.dates) == list(old.dates)
    assert facets.date_range() == old.date_range()
    for x, y in zip(signatures, old_signatures, strict=True):
        assert np.array_equal(x, y)
    assert np.array_equal(dups.label, old_dups.label)
    assert np.array_equal(dups.grouped, old_dups.grouped)
    return facets


def test_the_files_give_what_the_columns_give(built):
    facets = assert_same_tables(built)
    # What the index was made of is there: undated, valueless, multi-valued, grouped.
    live = facets.live_mask
    assert np.isnan(facets.date_keys[live]).any() and (~np.isnan(facets.date_keys[live])).any()
    tags = facets.columns["category"]
    runs = np.bincount(tags.docs, minlength=facets.size)
    assert runs.max() == 3 and "" in tags.labels and "Côte d’Ivoire" in tags.labels
    assert "" in facets.columns["source"].labels
    assert not live.all()
    _, dups, (_, present), _ = tables(built, files=True)
    assert dups.grouped.any() and present[live].all()


def test_the_values_and_dates_read_as_the_columns_hold_them(built):
    facets, *_ = tables(built, files=True)
    gen = storage.current_generation(built)
    ix = whoosh_index.open_dir(str(gen))
    with ix.searcher() as searcher:
        for n in np.flatnonzero(facets.live_mask).tolist():
            stored = searcher.stored_fields(n)
            assert facets.dates[n] == stored.get("date"), n
            assert facets.values["source"][n] == stored.get("source", ""), n
            tags = sorted(set(stored.get("category") or []))
            assert facets.values["category"][n] == "\n".join(tags), n
    ix.close()


def test_a_segment_without_its_file_or_with_another_format_reads_its_columns(
    tmp_path, built, monkeypatch
):
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir, symlinks=True)
    gen = storage.current_generation(index_dir)
    assert gen is not None
    files = sorted(gen.glob(f"MAIN_*{docvalues.EXT}"))
    files[0].unlink()
    files[1].write_bytes(files[1].read_bytes()[:-100])  # cut short
    assert_same_tables(index_dir)
    monkeypatch.setattr(docvalues, "FORMAT", docvalues.FORMAT + 1)  # none of them usable
    assert_same_tables(index_dir)


def test_searches_and_stats_agree_with_and_without_the_files(tmp_path, built):
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir, symlinks=True)
    gen = storage.current_generation(index_dir)
    assert gen is not None
    with Engine(built) as engine:
        before = engine.stats()
    for path in gen.glob(f"MAIN_*{docvalues.EXT}"):
        path.unlink()
    unlist(gen, lambda name: name.endswith(docvalues.EXT))  # as an index written before them
    with Engine(index_dir) as engine:
        after = engine.stats()
    assert (before.documents, before.undated, before.per_year) == (
        after.documents,
        after.undated,
        after.per_year,
    )
    assert (before.first_date, before.last_date) == (after.first_date, after.last_date)
    assert before.undated > 0


def test_the_file_reads_with_plain_numpy(built):
    gen = storage.current_generation(built)
    assert gen is not None
    path = sorted(gen.glob(f"MAIN_*{docvalues.EXT}"))[0]
    with open(path, "rb") as f:
        header = np.load(f)
        assert header[0] == docvalues.FORMAT
        names = np.load(f).tobytes().decode("utf-8").split("\n")
    assert [n.rstrip("*") for n in names] == [f.name for f in FACETS]
