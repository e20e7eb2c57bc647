"""phrase_frequencies against Whoosh's own Phrase matcher: the same documents, the same counts.

Whoosh's answer for a document is len(matcher.spans()), its matches are all_ids(). Each
phrase is checked three times: read block by block, decoded whole on the second asking,
then from the cache. The indexes have several segments, deleted documents, posting lists of
several blocks, a word that occurs over 1,000 times in one document (pickle batches its
list) and position gaps of over 255 and 65,535 (wider ints in the pickle).
"""

from __future__ import annotations

import json
import pickle
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from whoosh import index as windex
from whoosh.fields import TEXT, Schema
from whoosh.query import Phrase
from whoosh.query.qcore import QueryError

from searchsvc.analysis import exact_analyzer
from searchsvc.indexing import decode_positions, index_paths, posting_files, storage
from searchsvc.indexing.writing import to_fields
from searchsvc.reading import Document
from searchsvc.schema import build_schema
from searchsvc.scoring import phrases
from searchsvc.scoring.phrases import PhraseError, clear_cache, phrase_frequencies

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "searchsvc-hypothesis")

# Common and rare words, so that posting lists run from one block to several.
VOCAB = {"the": 30, "of": 20, "president": 10, "said": 8, "bye": 5, "water": 3, "treaty": 1}
UNKNOWN = "zanzibar"
PHRASES = [
    ["the", "president"],
    ["the", "president", "said"],
    ["president", "said", "the"],
    ["of", "the", "of"],
    ["the", "the"],
    ["bye", "bye"],
    ["bye", "bye", "bye"],
    ["water", "water"],
    ["water", "said"],
    ["said", "treaty", "of"],
    ["treaty"],
    ["the"],
    ["the", UNKNOWN],
    [UNKNOWN],
]
# A document each: a word 1,200 times; gaps of 300 and 70,000 positions; a deleted phrase.
SPECIAL = {
    "many": "bye " * 1200 + "bye the bye",
    "gaps": "water " + "filler " * 300 + "water said " + "filler " * 70_000 + "water said",
    "gone": "only deleted documents say unsaid treaty",
}


def releases(rng: random.Random, prefix: str, n: int) -> list[dict]:
    """n JSON Lines records of random words from VOCAB."""
    words, weights = list(VOCAB), list(VOCAB.values())
    return [
        {
            "id": f"{prefix}-{i}",
            "title": " ".join(rng.choices(words, weights, k=rng.randint(1, 6))),
            "body": " ".join(rng.choices(words, weights, k=rng.randint(5, 100))),
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def corpus(seed: int = 7) -> tuple[list[dict], list[dict], list[dict]]:
    """First-run records, records a second run adds, records the second run deletes."""
    rng = random.Random(seed)
    first = releases(rng, "a", 300) + [
        {"id": key, "title": key, "body": text} for key, text in SPECIAL.items() if key != "gone"
    ]
    gone = releases(rng, "g", 40) + [{"id": "gone", "title": "gone", "body": SPECIAL["gone"]}]
    return first, releases(rng, "b", 200), gone


@pytest.fixture(scope="module")
def indexer_index(tmp_path_factory) -> Path:
    """The project's indexer, run twice: a second segment, and deletions in the first."""
    root = tmp_path_factory.mktemp("phrases")
    docs = root / "docs"
    docs.mkdir()
    first, second, gone = corpus()
    write_jsonl(docs / "first.jsonl", first)
    write_jsonl(docs / "gone.jsonl", gone)
    index_paths(root / "index", [docs], procs=1)
    write_jsonl(docs / "second.jsonl", second)
    (docs / "gone.jsonl").unlink()
    report = index_paths(root / "index", [docs], procs=1)
    assert report.added == len(second) and report.deleted == len(gone)
    return root / "index"


@pytest.fixture(scope="module")
def whoosh_index(tmp_path_factory) -> Path:
    """The same documents through a plain Whoosh writer: compressed blocks, three segments."""
    path = tmp_path_factory.mktemp("phrases-whoosh")
    ix = windex.create_in(path, build_schema())
    first, second, gone = corpus()
    for batch in (first, gone, second):
        writer = ix.writer()
        for r in batch:
            writer.add_document(**to_fields(Document(r["id"], r["title"], r["body"])))
        writer.commit(merge=False)  # keep every segment
    writer = ix.writer()
    for r in gone:
        writer.delete_by_term("id", r["id"])
    writer.commit(merge=False)
    ix.close()
    return path


@pytest.fixture(scope="module", params=["indexer", "whoosh"])
def searcher(request, indexer_index, whoosh_index):
    """A searcher over each index; the index has several segments and deleted documents."""
    if request.param == "indexer":
        ix = storage.open_index(indexer_index)
    else:
        ix = windex.open_dir(whoosh_index)
    with ix.searcher() as s:
        assert len(s.reader().leaf_readers()) > 1 and s.reader().has_deletions()
        yield s
    ix.close()


def whoosh_counts(searcher, fieldname: str, words: list[str], slop: int) -> dict[int, int]:
    """Whoosh's matching documents, each with its number of spans."""
    q = Phrase(fieldname, words, slop=slop)
    matcher = q.matcher(searcher, searcher.boolean_context())
    found = {}
    while matcher.is_active():
        found[matcher.id()] = len(matcher.spans())
        matcher.next()
    return found


def our_counts(searcher, fieldname: str, words: list[str], slop: int, files=None) -> dict[int, int]:
    """Ours, with deleted documents masked as the caller does."""
    reader = searcher.reader()
    docs, freqs = phrase_frequencies(reader, fieldname, words, slop, files=files)
    assert docs.dtype == np.int64 and freqs.dtype == np.int64 and len(docs) == len(freqs)
    assert np.all(np.diff(docs) > 0) and np.all(freqs > 0)
    return {
        d: f for d, f in zip(docs.tolist(), freqs.tolist(), strict=True) if not reader.is_deleted(d)
    }


def assert_same(searcher, fieldname: str, words: list[str], slop: int) -> dict[int, int]:
    """Ours equals Whoosh's: read by blocks, decoded whole, then cached; and from the
    segments' posting files where they have them (the indexer's)."""
    expected = whoosh_counts(searcher, fieldname, words, slop)
    clear_cache()
    for attempt in ("blocks", "decoded whole", "cached"):
        assert our_counts(searcher, fieldname, words, slop) == expected, (words, slop, attempt)
    files = posting_files(searcher.reader())
    found = our_counts(searcher, fieldname, words, slop, files)
    assert found == expected, (words, slop, "posting files")
    return expected


@pytest.mark.parametrize("slop", [1, 2, 3])
@pytest.mark.parametrize("words", PHRASES, ids=" ".join)
def test_exact_field_matches_whoosh(searcher, words, slop):
    found = assert_same(searcher, "exact", words, slop)
    if UNKNOWN in words:
        assert not found


def test_common_phrases_are_found(searcher):
    # Guard against a vacuous comparison: the corpus does hold the phrases, many times.
    found = assert_same(searcher, "exact", ["the", "president"], 1)
    assert len(found) > 100
    q = Phrase("exact", ["the", "president"])
    assert list(found) == list(q.matcher(searcher, searcher.boolean_context()).all_ids())
    many = assert_same(searcher, "exact", ["bye", "bye"], 1)
    assert max(many.values()) == 1200  # 1201 "bye" in a row, then "the bye"


def test_wide_gaps(searcher):
    found = assert_same(searcher, "exact", ["water", "said"], 1)
    assert 2 in found.values()  # after 300 and after 70,000 fillers


@pytest.mark.parametrize("slop", [1, 2])
def test_title_field(searcher, slop):
    # The title is stemmed: phrases are of its stems.
    analyzer = searcher.schema["title"].analyzer
    for text in ("president said", "said president", "water water", "bye bye bye"):
        assert_same(searcher, "title", [t.text for t in analyzer(text)], slop)


def test_deleted_documents_are_left_to_the_caller(searcher):
    reader = searcher.reader()
    docs, freqs = phrase_frequencies(reader, "exact", ["unsaid", "treaty"])
    assert len(docs) == 1 and freqs.tolist() == [1]
    assert reader.is_deleted(int(docs[0]))
    assert whoosh_counts(searcher, "exact", ["unsaid", "treaty"], 1) == {}


def test_slop_zero_matches_single_words_only(searcher):
    assert assert_same(searcher, "exact", ["the", "president"], 0) == {}
    assert assert_same(searcher, "exact", ["president"], 0)


def test_nothing_to_find(searcher):
    reader = searcher.reader()
    for fieldname, words in [("exact", []), ("exact", [UNKNOWN]), ("nofield", ["the"])]:
        docs, freqs = phrase_frequencies(reader, fieldname, words)
        assert docs.dtype == freqs.dtype == np.int64 and not len(docs) and not len(freqs)


def test_field_without_positions_is_an_error(searcher):
    # The stemmed body keeps no positions: Whoosh refuses a phrase there, and so do we.
    with pytest.raises(QueryError):
        Phrase("body", ["the", "president"]).matcher(searcher)
    with pytest.raises(PhraseError):
        phrase_frequencies(searcher.reader(), "body", ["the", "president"])


def test_one_word_counts_its_positions(searcher):
    reader = searcher.reader()
    docs, freqs = phrase_frequencies(reader, "exact", ["water"])
    assert len(docs) > 10
    matcher = reader.postings("exact", "water")
    for doc, freq in zip(docs.tolist(), freqs.tolist(), strict=True):
        if reader.is_deleted(doc):
            continue
        matcher.skip_to(doc)
        assert matcher.id() == doc and freq == len(matcher.value_as("positions"))


def test_a_small_cache_still_answers(searcher, monkeypatch):
    monkeypatch.setattr(phrases, "_CACHE", phrases._Cache(20_000))
    for words in PHRASES[:6]:
        assert_same(searcher, "exact", words, 1)
        assert phrases._CACHE.words.held <= 20_000


def test_other_position_formats_go_through_the_matcher_api(tmp_path):
    # A field with character ranges is read through Whoosh's public matcher API.
    ix = windex.create_in(tmp_path, Schema(text=TEXT(analyzer=exact_analyzer(), chars=True)))
    first, second, _ = corpus(seed=3)
    for batch in (first[:150], second[:100]):
        writer = ix.writer()
        for r in batch:
            writer.add_document(text=r["body"])
        writer.commit(merge=False)
    with ix.searcher() as s:
        assert len(s.reader().leaf_readers()) == 2
        for words in PHRASES:
            for slop in (1, 2):
                assert_same(s, "text", words, slop)


def test_the_seed_documents(docs_index):
    ix = storage.open_index(docs_index)
    with ix.searcher() as s:
        for text in ("of the", "foreign ministers", "the two countries", "of", "in the the"):
            for slop in (1, 3):
                assert_same(s, "exact", text.split(), slop)
    ix.close()


def test_unusual_position_values_are_decoded_one_by_one():
    # Whoosh's decode_positions allows a value without the pickle's final STOP.
    values = [b"\0\0\0\x02" + pickle.dumps([3, 4], 2), b"\0\0\0\x01" + pickle.dumps([7], 2)[:-1]]
    positions, lens = decode_positions(values)
    assert positions.tolist() == [3, 7, 7] and lens.tolist() == [2, 1]


@pytest.fixture(scope="module")
def whoosh_searcher(whoosh_index):
    ix = windex.open_dir(whoosh_index)
    with ix.searcher() as s:
        yield s
    ix.close()


@settings(deadline=None, derandomize=True, database=None, max_examples=40)
@given(
    words=st.lists(st.sampled_from([*VOCAB, UNKNOWN]), min_size=1, max_size=4),
    slop=st.integers(0, 4),
)
def test_any_phrase_matches_whoosh(whoosh_searcher, words, slop):
    assert_same(whoosh_searcher, "exact", words, slop)


def test_the_indexers_segments_are_read_from_their_posting_files(indexer_index):
    """Guard against a vacuous comparison: assert_same's "posting files" reads them."""
    ix = storage.open_index(indexer_index)
    with ix.searcher() as s:
        files = posting_files(s.reader())
        assert files is not None
        segments = len(s.reader().leaf_readers())
        assert segments > 1 and files.covered("exact") == segments
        assert all(files.with_positions(k, "exact", "the") is not None for k in range(segments))
        files.close()
    ix.close()
