"""The posting file (indexing/postfile.py): what it holds, who writes it, and that it changes
no answer.

For every term of every field it covers, a segment's file must give exactly the document
numbers and weights W3's block walk gives (segments.posting_arrays), whichever writer made
the segment: the bulk writer, Whoosh's SegmentWriter, or a merge. An index without the
files (an older version's) must answer byte for byte alike, and a damaged file must be
caught by the integrity check, or, unchecked, not be used.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import unlist, white_house_releases
from test_forward import TOPICS, incremental_index, queries_from

from searchsvc.indexing import PostingFiles, index_paths, leaf_segments, posting_files, storage
from searchsvc.indexing import postfile as postfile_module
from searchsvc.indexing.segments import field_postings
from searchsvc.scoring.postings import PostingCache
from searchsvc.searching import Engine, SearchRequest

WH_SAMPLE = 400  # releases, written by two workers: bulk segments


def check_arrays(index_dir: Path) -> int:
    """Compare every term of every covered field with the block walk (ids, weights and the
    positions of fields that keep them); the terms compared."""
    gen = storage.current_generation(index_dir)
    assert gen is not None
    ix = storage.open_for_search(gen)
    compared = 0
    with ix.searcher() as searcher:
        reader = searcher.reader()
        files = posting_files(reader)
        assert files is not None
        segments = len(leaf_segments(reader))
        for name in ("title", "body", "exact"):
            assert files.covered(name) == segments, name
        for k in range(segments):
            assert files.with_positions(k, "exact", "the") is not None
            assert files.with_positions(k, "body", "the") is None  # body keeps no positions
        for k, (leaf, _) in enumerate(reader.leaf_readers()):
            for name in postfile_module.FIELDS:
                walked = 0
                for term, ids, weights, positions in field_postings(leaf, name):
                    word = term.decode("utf-8")
                    found = files.postings(k, name, word)
                    assert found is not None, (name, term)
                    assert found[0].dtype == np.int32 and found[1].dtype == np.float32
                    assert np.array_equal(found[0], ids), (name, term)
                    assert np.array_equal(found[1].astype(np.float64), weights), (name, term)
                    with_positions = files.with_positions(k, name, word)
                    assert (with_positions is None) == (positions is None), (name, term)
                    if with_positions is not None:
                        check_positions(with_positions, ids, weights, positions)
                    walked += 1
                if files.postings(k, name, "zz-no-such-term") is not None:  # covered
                    assert len(files.postings(k, name, "zz-no-such-term")[0]) == 0
                compared += walked
        files.close()
    ix.close()
    return compared


def check_positions(found, ids: np.ndarray, weights: np.ndarray, positions: np.ndarray) -> None:
    """A term's positions from the file, all of them and some postings', as walked."""
    assert np.array_equal(found.ids, ids)
    flat, lens = found.positions(np.arange(len(ids)))
    assert np.array_equal(flat, positions) and np.array_equal(lens, weights.astype(np.int64))
    starts = np.concatenate(([0], np.cumsum(lens)))
    for at in (np.array([len(ids) - 1]), np.arange(0, len(ids), 2)):
        flat, lens = found.positions(at)
        want = [positions[starts[i] : starts[i + 1]] for i in at]
        assert np.array_equal(flat, np.concatenate(want)), at


def result_of(engine: Engine, q: str) -> str:
    """Everything a search answers (hits, scores, total, facets), as JSON text."""
    r = engine.search(SearchRequest(q=q, size=30))
    return json.dumps(
        {
            "total": r.total,
            "hits": [repr(h) for h in r.hits],
            "facets": {k: list(v) for k, v in r.facets.items()} if r.facets else None,
        },
        sort_keys=True,
        default=str,
    )


def without_files(source: Path, target: Path) -> Path:
    """A copy of an index as an older version wrote it: no posting file, none listed."""
    shutil.copytree(source, target, symlinks=True)
    gen = storage.current_generation(target)
    assert gen is not None
    for path in gen.glob(f"*{postfile_module.EXT}"):
        path.unlink()
    unlist(gen, lambda name: name.endswith(postfile_module.EXT))
    return target


def check_fallback(index_dir: Path, tmp_path: Path, extra: list[str] = ()) -> int:
    """Search an index with and without its posting files: the same answers; how many."""
    old = without_files(index_dir, tmp_path / "without")
    with Engine(old) as before, Engine(index_dir) as after:
        files = after.snapshot().ranker.postings.files
        assert files is not None and files.covered("body") > 0
        assert before.snapshot().ranker.postings.files.covered("body") == 0
        queries = [*queries_from(after), *extra]
        assert queries
        for q in queries:
            assert result_of(before, q) == result_of(after, q), q
    return len(queries)


# -- the seeds: Whoosh's SegmentWriter -------------------------------------------------------


def test_the_seeds_posting_file_holds_the_block_walks_postings(seeds_index):
    assert check_arrays(seeds_index) > 500


def test_without_posting_files_the_seeds_answer_alike(seeds_index, tmp_path):
    phrases = ['"the ministry"', '"of the"', "title:gas", "gas -pipeline"]
    assert check_fallback(seeds_index, tmp_path, phrases) > 5


def test_incremental_commits_and_merges_write_it(tmp_path):
    """Few files go through Whoosh's SegmentWriter; its merges fold small segments in."""
    index_dir = incremental_index(tmp_path, postfile_module.EXT)
    topics = TOPICS
    assert check_arrays(index_dir) > 500
    assert check_fallback(index_dir, tmp_path, [*topics, '"solar energy"']) > 4
    assert storage.verify_generation(storage.current_generation(index_dir)).ok


# -- a sample of the White House corpus: the bulk writer --------------------------------------


@pytest.fixture(scope="module")
def wh_sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wh-postfile")
    docs = root / "docs"
    docs.mkdir()
    for n, (_, text) in enumerate(white_house_releases(WH_SAMPLE)):
        (docs / f"{n:04d}.md").write_text(text, encoding="utf-8")
    report = index_paths(root / "index", [docs], procs=2)  # two workers, bulk segments
    assert report.total > WH_SAMPLE // 2
    return root / "index"


def test_the_white_house_sample_posting_files_hold_the_block_walks_postings(wh_sample):
    assert check_arrays(wh_sample) > 10_000


def test_without_posting_files_the_white_house_sample_answers_alike(wh_sample, tmp_path):
    phrases = ['"of the White"', '"the president"', '"national security" council', "press -war"]
    assert check_fallback(wh_sample, tmp_path, phrases) > 20


def test_partial_reads_give_the_postings_at_the_ids_asked(wh_sample):
    """near(): the postings at the documents asked, from the file as from the blocks."""
    with Engine(wh_sample) as engine:
        reader = engine.snapshot().searcher.reader()
        by_file = PostingCache(reader, budget=0)
        by_blocks = PostingCache(reader, budget=0, files=False)
        ids = np.arange(0, reader.doc_count_all(), 3)
        for word in ("presid", "the", "nation", "secur", "zz-none"):
            for name in ("title", "body", "exact"):
                whole = by_blocks.get(name, word)
                near = by_file.near(name, word, ids)
                keep = np.isin(whole[0], ids)
                assert np.array_equal(near[0], whole[0][keep]), (name, word)
                assert np.array_equal(near[1], whole[1][keep]), (name, word)
                got = by_file.get(name, word)
                assert np.array_equal(got[0], whole[0]) and np.array_equal(got[1], whole[1])


# -- the file itself -------------------------------------------------------------------------


def write_sample(folder: Path, segment: str = "MAIN_t") -> Path:
    builder = postfile_module.Builder(4)
    terms = [b"caspian", b"gas", "\u00e9nergie".encode()]
    weights = np.array([1.0, 2.0, 1.0, 3.0, 7.0])
    builder.add_field(
        "body",
        terms,
        np.array([0, 1, 4, 5]),
        np.array([2, 0, 1, 2, 3]),
        weights,
        np.arange(int(weights.sum())) * 10,  # a position per unit of weight
    )
    builder.add_field("title", [b"bad\nterm"], np.array([0, 1]), np.array([0]), np.array([1.0]))
    return builder.write(folder, segment)


def test_the_file_reads_with_plain_numpy(tmp_path):
    path = write_sample(tmp_path)
    with open(path, "rb") as f:
        header, names, vocab, offsets, ids, weights, pos_offsets, positions = (
            np.load(f) for _ in range(8)
        )
        assert f.read() == b""
    assert header.tolist() == [postfile_module.FORMAT, 4, 1]
    assert names.tobytes() == b"body"  # the title's term held a newline: left out
    terms = vocab.tobytes().decode().split("\n")
    assert terms == ["caspian", "gas", "\u00e9nergie"]
    k = terms.index("gas")
    assert ids[offsets[k] : offsets[k + 1]].tolist() == [0, 1, 2]
    assert weights[offsets[k] : offsets[k + 1]].tolist() == [2.0, 1.0, 3.0]
    # gas's postings' positions: 2, 1 and 3 of them, after caspian's one.
    assert positions[pos_offsets[k] : pos_offsets[k + 1]].tolist() == [10, 20, 30, 40, 50, 60]
    files = PostingFiles(tmp_path, [("MAIN_t", 0, 4)])
    found = files.postings(0, "body", "\u00e9nergie")
    assert found is not None and found[0].tolist() == [3] and found[1].tolist() == [7.0]
    assert files.postings(0, "body", "gass")[0].tolist() == []  # type: ignore[index]
    assert files.postings(0, "title", "bad") is None  # not covered: the blocks are read
    gas = files.with_positions(0, "body", "gas")
    assert gas is not None and gas.ids.tolist() == [0, 1, 2]
    flat, lens = gas.positions(np.array([0, 2]))
    assert flat.tolist() == [10, 20, 40, 50, 60] and lens.tolist() == [2, 3]
    files.close()
    assert files.postings(0, "body", "gas") is None


def test_a_file_of_another_format_or_count_or_damaged_is_not_used(tmp_path, monkeypatch):
    write_sample(tmp_path, "MAIN_a")
    assert PostingFiles(tmp_path, [("MAIN_a", 0, 5)]).postings(0, "body", "gas") is None
    assert PostingFiles(tmp_path, [("MAIN_none", 0, 4)]).postings(0, "body", "gas") is None
    path = write_sample(tmp_path, "MAIN_b")
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 3)
    assert PostingFiles(tmp_path, [("MAIN_b", 0, 4)]).postings(0, "body", "gas") is None
    path = write_sample(tmp_path, "MAIN_c")
    data = bytearray(path.read_bytes())
    at = data.rindex(np.array([2], dtype=np.int32).tobytes() + np.int32(0).tobytes())
    data[at : at + 4] = np.array([99], dtype=np.int32).tobytes()  # a document beyond the last
    path.write_bytes(bytes(data))
    assert PostingFiles(tmp_path, [("MAIN_c", 0, 4)]).postings(0, "body", "caspian") is None
    monkeypatch.setattr(postfile_module, "FORMAT", postfile_module.FORMAT + 1)
    write_sample(tmp_path, "MAIN_d")
    monkeypatch.undo()
    assert PostingFiles(tmp_path, [("MAIN_d", 0, 4)]).postings(0, "body", "gas") is None


def test_a_damaged_posting_file_is_caught_by_the_integrity_check(seeds_index, tmp_path):
    index_dir = tmp_path / "copy"
    shutil.copytree(seeds_index, index_dir, symlinks=True)
    gen = storage.current_generation(index_dir)
    assert gen is not None and storage.verify_generation(gen).ok
    (path,) = gen.glob(f"*{postfile_module.EXT}")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    verdict = storage.verify_generation(gen)
    assert not verdict.ok and [d.name for d in verdict.damaged] == [path.name]
    path.unlink()
    verdict = storage.verify_generation(gen)
    assert [(d.name, d.reason) for d in verdict.damaged] == [(path.name, "missing")]


def test_its_name_is_none_of_whooshs():
    """W3 writes MAIN_<id>.pst (its postings) beside the others in a non-compound segment."""
    from whoosh.codec.whoosh3 import W3Codec

    whooshs = {getattr(W3Codec, n) for n in dir(W3Codec) if n.endswith("_EXT")}
    assert postfile_module.EXT not in whooshs | {".seg", ".toc", ".fwd"}


def test_every_term_is_found_at_its_number_and_no_other_term_is(tmp_path):
    """Terms alike for 8 bytes and more, shorter than 8, a prefix of another, past ASCII."""
    words = {
        "a",
        "ab",
        "abcdefgh",
        "abcdefghi",
        "abcdefghij",
        "abcdefgz",
        "international",
        "internationalism",
        "internationally",
        "z",
        "zz",
        "\u00e9nergie",
        "\u00e9n",
        "b\x00",
    }
    absent = ["", "aa", "abc", "abcdefg", "abcdefgha", "abcdefghijk", "internation"]
    absent += ["internationalb", "zzz", "\u00e9", "b", "\u00ff"]
    _check_lookups(tmp_path, sorted(w.encode() for w in words), absent)


def _check_lookups(tmp_path, terms: list[bytes], absent: list[str]) -> None:
    """A posting file of one field holding terms (sorted), term k in document k: each term
    is found at its number, and each absent word has no posting."""
    n = len(terms)
    builder = postfile_module.Builder(n)
    builder.add_field("body", terms, np.arange(n + 1), np.arange(n), np.ones(n))
    builder.write(tmp_path, "MAIN_v")
    files = PostingFiles(tmp_path, [("MAIN_v", 0, n)])
    for _ in range(2):  # looked up, then (up to postfile.KEPT_NUMBERS of them) kept
        for k, term in enumerate(terms):
            found = files.postings(0, "body", term.decode())
            assert found is not None and found[0].tolist() == [k], term
        for word in absent:
            found = files.postings(0, "body", word)
            assert found is not None and found[0].tolist() == [], word
    files.close()


@pytest.mark.parametrize("size", [1, 31, 32, 33, 64, 65, 1000, 3000])
def test_a_term_is_found_among_the_samples_then_its_block(tmp_path, size):
    """The lookup bisects every SAMPLE_EVERY-th term, then the terms after the sample: each
    term at its number, and none of the words between, before or after them, in
    vocabularies of one block, of whole blocks and of a block and one term more."""
    rng = random.Random(size)
    letters = "abez\u00e9"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(1, 6))))
    terms = sorted(w.encode() for w in words)
    others = (
        "".join(rng.choice(letters + "y") for _ in range(rng.randint(0, 7))) for _ in range(500)
    )
    _check_lookups(tmp_path, terms, [w for w in others if w.encode() not in terms])
