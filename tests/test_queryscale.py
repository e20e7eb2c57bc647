"""What makes queries and opening cheaper on a large index gives the same answers as before.

Each shortcut is checked against the plain way it replaces, on a real index on disk: the
column read in one go against Whoosh's reader, the facet coding against np.unique, the
cached compact postings against those read, a phrase read within the candidates against
one read everywhere, the document frequency against a union of ids; and the speller's
words read in a thread stop when the snapshot closes. (The duplicate groups against the
plain way: test_duplicate_groups.py.)
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import white_house_releases

from searchsvc.indexing import (
    column_values,
    index_paths,
    open_index_at,
    open_postings,
    posting_arrays,
    posting_blocks,
    storage,
)
from searchsvc.schema import FACETS
from searchsvc.scoring import Ranker
from searchsvc.scoring import phrases as phrase_module
from searchsvc.scoring.phrases import phrase_frequencies
from searchsvc.scoring.postings import PostingCache, _compact, read_postings
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching.engine import _Snapshot
from searchsvc.searching.facets import FacetColumn


@pytest.fixture(scope="module")
def wh_searcher(tmp_path_factory):
    """A searcher over 300 White House releases: common words span several blocks."""
    folder = tmp_path_factory.mktemp("wh-releases")
    for name, text in white_house_releases(300):
        (folder / name.replace("/", "_")).write_text(text, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("wh-index")
    index_paths(index_dir, [folder], procs=1)
    ix = open_index_at(storage.current_generation(index_dir))
    with ix.searcher() as searcher:
        yield searcher
    ix.close()


@pytest.fixture(scope="module")
def searcher(docs_index):
    ix = open_index_at(storage.current_generation(docs_index))
    with ix.searcher() as searcher:
        yield searcher
    ix.close()


def test_a_column_read_in_one_go_equals_whooshs_reader(searcher):
    names = [f.name for f in FACETS] + ["date"]
    compared = 0
    for leaf, _ in searcher.reader().leaf_readers():
        for name in names:
            if name not in leaf.schema or not leaf.has_column(name):
                continue
            expected = list(leaf.column_reader(name, translate=False))
            assert column_values(leaf, name) == expected, name
            compared += len(expected)
    assert compared > 50


def test_facet_values_are_coded_as_np_unique_codes_them():
    rng = np.random.default_rng(3)
    values = [str(v) for v in rng.choice(["b", "a", "", "Ghana", "ghana", "z z"], 500)]
    labels, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
    column = FacetColumn.single(values)
    assert column.labels == [str(v) for v in labels]
    assert column.codes.tolist() == codes.reshape(-1).tolist()
    multi = FacetColumn.multi([values[i : i + 3] for i in range(0, 30, 3)] + [[]])
    flat = [*values[:30], ""]
    labels, codes = np.unique(np.array(flat, dtype=object), return_inverse=True)
    assert multi.labels == [str(v) for v in labels]
    assert multi.codes.tolist() == codes.reshape(-1).tolist()
    assert multi.count(np.ones(11, dtype=bool)).sum() == len(flat)


def _whooshs_postings(leaf, fieldname: str, word: str) -> tuple[list, list, list]:
    """A word's postings in a segment as Whoosh's matcher hands them out, one at a time."""
    matcher = open_postings(leaf, fieldname, word)
    ids, weights, values = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(float(matcher.weight()))
        values.append(matcher.value())
        matcher.next()
    return ids, weights, values


def test_posting_blocks_read_from_memory_equal_whooshs_matcher(wh_searcher):
    # The blocks are walked in segments.py, not by W3's matcher: the same postings, every
    # word of every field that has some, rare and common (many blocks) alike.
    compared = blocks = 0
    for leaf, _ in wh_searcher.reader().leaf_readers():
        for fieldname in ("title", "body", "exact", "category"):
            for word in [t.decode() for t in leaf.lexicon(fieldname)]:
                ids, weights, values = _whooshs_postings(leaf, fieldname, word)
                found_ids, found_weights = posting_arrays(open_postings(leaf, fieldname, word))
                assert found_ids.tolist() == ids and found_weights.tolist() == weights, word
                read = list(
                    posting_blocks(open_postings(leaf, fieldname, word), weights=True, values=True)
                )
                assert [i for b in read for i in b.ids] == ids
                assert [float(w) for b in read for w in b.weights] == weights
                assert [v for b in read for v in b.values] == values
                compared += len(ids)
                blocks += len(read)
    assert compared > 100_000 and blocks > compared / 128


def test_a_blocks_ids_and_weights_are_read_from_its_start_where_it_keeps_positions(
    wh_searcher,
):
    import pickle

    from searchsvc.indexing.segments import _ids_and_weights, _inflate, _raw_blocks

    read = 0
    for leaf, _ in wh_searcher.reader().leaf_readers():
        for fieldname, word in (("exact", "the"), ("title", "presid"), ("exact", "zimbabw")):
            matcher = open_postings(leaf, fieldname, word)
            for count, _, data, compression in _raw_blocks(matcher) if matcher else ():
                whole = pickle.loads(_inflate(data, compression))
                found = _ids_and_weights(data, compression, count)
                assert found is None or found == whole[:2]
                read += found is not None
            # A field without positions has nothing to leave out: never found so.
            body = open_postings(leaf, "body", word)
            for count, _, data, compression in _raw_blocks(body) if body else ():
                assert _ids_and_weights(data, compression, count) is None
    assert read > 3


def test_posting_blocks_skip_the_blocks_not_wanted(wh_searcher):
    leaf = max(wh_searcher.reader().leaf_readers(), key=lambda pair: pair[0].doc_count_all())[0]
    whole = [list(b.ids) for b in posting_blocks(open_postings(leaf, "exact", "the"))]
    assert len(whole) > 2
    assert [i for ids in whole for i in ids] == _whooshs_postings(leaf, "exact", "the")[0]
    asked = []

    def every_other(last: int, top: int) -> bool:
        asked.append((last, top))
        return len(asked) % 2 == 0

    read = [
        list(b.ids) for b in posting_blocks(open_postings(leaf, "exact", "the"), wanted=every_other)
    ]
    assert read == whole[1::2]
    # Each block is offered with its range: (the last id of the block before, its own last].
    assert asked == [(whole[j - 1][-1] if j else -1, whole[j][-1]) for j in range(len(whole))]


def test_postings_near_some_ids_hold_every_posting_at_them(wh_searcher):
    # Not kept (a cache of no room): each ask reads the blocks that may hold the ids only.
    reader = wh_searcher.reader()
    cache = PostingCache(reader, budget=0)
    rng = np.random.default_rng(7)
    size = reader.doc_count_all()
    partial = 0
    for fieldname, word in [
        ("body", "the"),
        ("title", "presid"),
        ("exact", "of"),
        ("body", "energi"),
        ("exact", "zzzz"),
    ]:
        all_ids, all_tf = read_postings(reader, fieldname, word)
        for k in (1, 5, 40, size):
            at = np.sort(rng.choice(size, k, replace=False))
            ids, tf = cache.near(fieldname, word, at)
            assert not cache.cached(fieldname, word)
            want, got = np.isin(all_ids, at), np.isin(ids, at)
            assert ids[got].tolist() == all_ids[want].tolist()
            assert tf[got].tolist() == all_tf[want].tolist()
            assert set(ids.tolist()) <= set(all_ids.tolist())
            partial += len(ids) < len(all_ids)
    assert partial >= 3  # a few ids of a common word: some of its blocks only


def test_a_phrases_candidates_hold_every_document_with_all_its_words(searcher):
    ranker = Ranker(searcher)
    reader = searcher.reader()
    for words in (["of", "the"], ["the", "minist"], ["foreign", "minist"], ["zzzz", "the"]):
        every = [set(read_postings(reader, "exact", w)[0].tolist()) for w in words]
        found = ranker._holding_all("exact", words).tolist()
        assert set.intersection(*every) <= set(found) and found == sorted(set(found))


def test_cached_postings_are_exact_in_half_the_memory(searcher):
    reader = searcher.reader()
    ids, tf = read_postings(reader, "body", "the")
    small_ids, small_tf = _compact((ids, tf))
    assert small_ids.dtype == np.int32 and small_tf.dtype == np.float32
    assert np.array_equal(small_ids, ids) and np.array_equal(small_tf, tf)
    # A frequency float32 cannot hold exactly keeps its float64.
    odd = _compact((ids[:2], np.array([1.0, 1 + 2**-30])))
    assert odd[1].dtype == np.float64


def test_a_word_df_is_the_union_of_its_title_and_body_documents(searcher):
    ranker = Ranker(searcher)
    for word in ("the", "energi", "minist", "zzzz"):
        t_ids = read_postings(searcher.reader(), "title", word)[0]
        b_ids = read_postings(searcher.reader(), "body", word)[0]
        assert ranker.word_df(word) == len(np.union1d(t_ids, b_ids))


@pytest.mark.parametrize("slop", [1, 3])
def test_a_phrase_read_within_its_candidates_finds_what_it_finds_everywhere(searcher, slop):
    reader = searcher.reader()
    ranker = Ranker(searcher)
    phrase_module.clear_cache()
    checked = 0
    for words in (["of", "the"], ["the", "minist"], ["foreign", "minist"], ["to", "the", "of"]):
        words = [w for w in words if reader.doc_frequency("exact", w)] or words
        plain = phrase_frequencies(reader, "exact", words, slop)
        within = phrase_frequencies(
            reader, "exact", words, slop, candidates=ranker._holding_all("exact", words)
        )
        assert plain[0].tolist() == within[0].tolist()
        assert plain[1].tolist() == within[1].tolist()
        checked += len(plain[0])
    assert checked > 0


def test_a_full_phrase_cache_reads_blocks_instead_of_decoding_words_whole():
    cache = phrase_module._Cache(budget=400)  # words of up to 100 bytes are kept
    decoded = []

    class Word:
        nbytes = 100

    def decode():
        decoded.append(1)
        return Word()

    assert cache.lookup(("a",), decode) is None  # asked once: not decoded whole
    for key in "abcd":
        cache.lookup((key,), decode)
        assert cache.lookup((key,), decode) is not None  # asked again: decoded and kept
    assert len(decoded) == 4
    # Full: a word asked again is read by blocks, not decoded to push another out.
    assert cache.lookup(("e",), decode) is None and cache.lookup(("e",), decode) is None
    assert all(cache.lookup((key,), decode) is not None for key in "abcd")
    assert len(decoded) == 4


def test_a_large_indexs_speller_words_are_read_as_a_correction_needs_them(docs_index, monkeypatch):
    with Engine(docs_index) as engine:  # a small index: read before the first request
        snap = engine.snapshot()
        assert snap.speller._complete == {snap.speller.fieldname}
    monkeypatch.setattr(_Snapshot, "PRELOAD_NOW", 0)  # as if it were large
    with Engine(docs_index) as engine:
        snap = engine.snapshot()
        assert not snap.speller._complete and not snap.speller._words  # nothing read yet
        result = engine.search(SearchRequest(q="ministr"))  # a word to correct: its letter's
        assert result.total >= 0
        assert set(snap.speller._words) == {(snap.speller.fieldname, "m")}
        assert all(t.name != "searchsvc-speller" for t in threading.enumerate())  # no thread
