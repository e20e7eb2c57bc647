"""The forward index (indexing/forward.py): what it holds, who writes it, and that it changes
no answer.

Each segment's file must give, document by document, exactly the stems a re-analysis of
the stored title and body gives (proximity and feedback read one or the other), and a
search must come out the same, order and scores, with it and without it (the stored-text
path an index of an older version takes).
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, SHARED, unlist
from whoosh import index as whoosh_index

from searchsvc.indexing import (
    ForwardIndex,
    forward_index,
    index_paths,
    opening,
    opening_stems,
    storage,
)
from searchsvc.indexing import forward as forward_module
from searchsvc.scoring import proximity_bonuses, relevance_model
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching import search as search_module

WH = SHARED / "corpora" / "wh-briefings.tar.gz"
WH_SAMPLE = 400  # releases: every segment path, in seconds


def stems_of(fwd: ForwardIndex, docnum: int) -> list[str | None]:
    found = fwd.opening(docnum)
    assert found is not None, f"document {docnum} has no forward entry"
    stems = found.vocab.stems
    return [stems[i] or None for i in np.asarray(found.ids).tolist()]


def check_tokens(index_dir: Path) -> int:
    """Compare every document's forward stems with the analyser's; the documents compared."""
    gen = storage.current_generation(index_dir)
    assert gen is not None
    ix = whoosh_index.open_dir(str(gen))
    compared = 0
    with ix.searcher() as searcher:
        reader = searcher.reader()
        fwd = forward_index(gen, reader)
        assert fwd.covered == len(list(reader.leaf_readers()))
        for n in range(reader.doc_count_all()):
            stored = searcher.stored_fields(n)
            text = opening(stored.get("title", ""), stored.get("body", ""))
            assert stems_of(fwd, n) == opening_stems(text), stored.get("id")
            compared += 1
    ix.close()
    return compared


def check_models(index_dir: Path) -> int:
    """relevance_model and proximity bonuses of documents, from their openings and their
    stored text: the same values in the same order; the groups of documents compared."""
    groups = 0
    with Engine(index_dir) as engine:
        snap = engine.snapshot()
        size = snap.searcher.reader().doc_count_all()
        for first in range(0, size, max(size // 20, 1)):
            docnums = np.arange(first, min(first + 10, size))
            texts = [search_module._text(snap.searcher.stored_fields(int(n))) for n in docnums]
            openings = [snap.forward.opening(int(n)) for n in docnums]
            scores = np.linspace(12.0, 3.0, len(docnums))
            model = relevance_model(texts, scores)
            assert list(relevance_model(openings, scores).items()) == list(model.items())
            idf_of = {stem: 1.0 + k / 7 for k, stem in enumerate(model)}
            assert proximity_bonuses(openings, idf_of).tolist() == (
                proximity_bonuses(texts, idf_of).tolist()
            )
            groups += 1
    return groups


def queries_from(engine: Engine, count: int = 40) -> list[str]:
    """Queries of two and three words from the index's own titles (no answer is assumed)."""
    out = []
    snap = engine.snapshot()
    reader = snap.searcher.reader()
    for n in range(min(reader.doc_count_all(), count)):
        words = [w for w in snap.searcher.stored_fields(n).get("title", "").split() if w.isalpha()]
        if len(words) >= 3:
            out += [
                " ".join(words[:2]),
                " ".join(words[-3:]),
                f'"{words[0]} {words[1]}" {words[-1]}',
            ]
    return out


def answers(engine: Engine, q: str, forward) -> list[tuple[str, float]]:
    snap = engine.snapshot()
    result = search_module.search(
        snap.searcher,
        snap.ranker,
        snap.facets,
        SearchRequest(q=q, size=30),
        duplicates=snap.duplicates,
        forward=forward,
    )
    return [(hit.id, hit.score) for hit in result.hits]


def check_answers(index_dir: Path, queries: list[str] | None = None) -> int:
    """Search each query with the forward index and without it; the queries compared."""
    with Engine(index_dir) as engine:
        queries = queries or queries_from(engine)
        assert queries
        fwd = engine.snapshot().forward
        assert fwd.covered > 0
        for q in queries:
            assert answers(engine, q, fwd) == answers(engine, q, None), q
    return len(queries)


# -- the seeds -------------------------------------------------------------------------------


def test_the_seeds_forward_index_holds_the_analysers_stems(seeds_index):
    assert check_tokens(seeds_index) == 5


def test_the_seeds_feedback_and_proximity_agree_with_and_without_it(seeds_index):
    assert check_models(seeds_index) == 5


def test_searches_of_the_seeds_agree_with_and_without_it(seeds_index):
    assert check_answers(seeds_index) > 5


def test_a_truncated_word_and_a_missing_title_are_read_as_the_analyser_reads_them(tmp_path):
    long_word = "internationalisation"
    body = "x " * ((forward_module.SCAN_CHARS - len(long_word) // 2) // 2) + long_word
    rows = [("", body), (None, None), ("The U.S. and us", "The Minister's meetings")]
    forward_module.build(tmp_path, "MAIN_test", rows)
    fwd = ForwardIndex(tmp_path, [("MAIN_test", 0, len(rows))])
    for n, (title, text) in enumerate(rows):
        assert stems_of(fwd, n) == opening_stems(opening(title or "", text or ""))
    assert stems_of(fwd, 0)[-1] != "internationalis"  # cut at SCAN_CHARS, as re-read


def test_the_file_reads_with_plain_numpy(tmp_path):
    path = forward_module.build(tmp_path, "MAIN_np", [("Solar panels", "solar energy")])
    with open(path, "rb") as f:
        header, offsets, ids, vocab = (np.load(f) for _ in range(4))
    assert header.tolist() == [forward_module.FORMAT, forward_module.SCAN_CHARS, 1]
    stems = ["", *vocab.tobytes().decode().split("\n")]
    assert [stems[i] for i in ids[offsets[0] : offsets[1]]] == opening_stems(
        opening("Solar panels", "solar energy")
    )


def test_a_file_of_another_scan_length_or_format_is_not_used(tmp_path, monkeypatch):
    forward_module.build(tmp_path, "MAIN_old", [("Solar panels", "solar energy")])
    monkeypatch.setattr(forward_module, "SCAN_CHARS", forward_module.SCAN_CHARS + 1)
    assert ForwardIndex(tmp_path, [("MAIN_old", 0, 1)]).opening(0) is None
    assert ForwardIndex(tmp_path, [("MAIN_none", 0, 1)]).opening(0) is None


# -- every path that writes a segment ------------------------------------------------------


def write_release(folder: Path, n: int, words: str) -> None:
    (folder / f"r{n:03d}.md").write_text(
        f'---\ntitle: "Release {n} on {words}"\ndate: 2024-01-{1 + n % 28:02d}\n---\n\n'
        f"The ministry spoke of {words} and of release {n}. " * 5,
        encoding="utf-8",
    )


TOPICS = ("solar energy", "gas pipeline", "cotton harvest", "caspian shipping")


def incremental_index(tmp_path: Path, side_file_ext: str) -> Path:
    """The seeds, then 12 commits of one release each: Whoosh's SegmentWriter writes each
    segment, and its merges fold small ones in. After every commit, each live segment has
    its side file (side_file_ext) and no other segment's is left (Whoosh's clean-up)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copytree(SEEDS, docs / "seeds")
    index_dir = tmp_path / "index"
    index_paths(index_dir, [docs], procs=1)
    counts = []
    for n in range(12):
        write_release(docs, n, TOPICS[n % len(TOPICS)])
        index_paths(index_dir, [docs], procs=1)
        gen = storage.current_generation(index_dir)
        assert gen is not None
        counts.append(len(list(gen.glob("MAIN_*.seg"))))
        assert len(list(gen.glob(f"MAIN_*{side_file_ext}"))) == counts[-1]
    assert max(counts) > counts[-1], f"no merge happened: segments {counts}"
    return index_dir


def test_incremental_commits_and_merges_write_it(tmp_path):
    """Few files go through Whoosh's SegmentWriter; its merges fold small segments in."""
    index_dir = incremental_index(tmp_path, forward_module.EXT)
    topics = TOPICS
    assert check_tokens(index_dir) == 5 + 12
    assert check_answers(index_dir, [*topics, "ministry release", "solar pipeline"]) == 6
    assert storage.verify_generation(storage.current_generation(index_dir)).ok


def test_an_index_without_forward_files_answers_from_stored_text(tmp_path, seeds_index):
    """An index written before the forward index: no file, none in its checksums."""
    index_dir = tmp_path / "old"
    shutil.copytree(seeds_index, index_dir, symlinks=True)
    gen = storage.current_generation(index_dir)
    assert gen is not None
    for path in gen.glob(f"*{forward_module.EXT}"):
        path.unlink()
    unlist(gen, lambda name: name.endswith(".fwd"))
    with Engine(index_dir) as old, Engine(seeds_index) as new:
        assert old.snapshot().forward.covered == 0
        assert new.snapshot().forward.covered == 1
        queries = queries_from(new)
        for q in queries:
            assert answers(old, q, old.snapshot().forward) == answers(new, q, None), q


# -- a sample of the White House corpus ------------------------------------------------------


@pytest.fixture(scope="module")
def wh_sample(tmp_path_factory) -> Path:
    if not WH.exists():
        pytest.skip(f"{WH} is absent (the shared White House corpus)")
    root = tmp_path_factory.mktemp("wh-forward")
    docs = root / "docs"
    docs.mkdir()
    kept = 0
    with tarfile.open(WH, "r|gz") as tar:  # streamed: the first releases only
        for member in tar:
            handle = tar.extractfile(member) if member.name.endswith(".md") else None
            if handle is None:
                continue
            (docs / f"{kept:04d}.md").write_bytes(handle.read())
            kept += 1
            if kept == WH_SAMPLE:
                break
    report = index_paths(root / "index", [docs], procs=2)  # two workers, bulk segments
    assert report.total > WH_SAMPLE // 2
    return root / "index"


def test_the_white_house_sample_forward_index_holds_the_analysers_stems(wh_sample):
    assert check_tokens(wh_sample) > WH_SAMPLE // 2


def test_white_house_feedback_and_proximity_agree_with_and_without_it(wh_sample):
    assert check_models(wh_sample) >= 20


def test_white_house_searches_agree_with_and_without_it(wh_sample):
    assert check_answers(wh_sample) > 20


def test_segments_with_and_without_the_file_answer_together(tmp_path, seeds_index):
    """A segment committed by Whoosh's own writer has no forward file; the others keep theirs."""
    index_dir = tmp_path / "mixed"
    shutil.copytree(seeds_index, index_dir, symlinks=True)
    writer = storage.open_index(index_dir).writer()
    body = "Turkmenistan and the ministry spoke of gas, energy and the Caspian pipeline. " * 4
    writer.add_document(id="z1", title="Turkmenistan gas pipeline", body=body, path="/z", hash="h")
    writer.commit(merge=False)
    with Engine(index_dir) as engine:
        fwd = engine.snapshot().forward
        assert fwd.covered == 1 and len(fwd.segment_names) == 2
        for q in [*queries_from(engine), "turkmenistan gas pipeline", "caspian energy"]:
            assert answers(engine, q, fwd) == answers(engine, q, None), q
