"""The bulk segment writer writes what Whoosh's SegmentWriter writes, and Whoosh reads it.

A sample corpus (the seed releases and 300 synthetic ones: accents, stop words, numbers,
"U.S.", facets of many values, undated releases, terms in more than 128 releases, a word
1,500 times in one release and gaps of 70,000 words between positions) is indexed twice:
the old way (SegmentWriter) and the bulk way (bulk.py). The two are compared field by
field, term by term, block by block and posting by posting (ids, weights, values: the
positions or frequencies), with every term's statistics, each document's stored fields and
field lengths, and every column. Then Whoosh's own query objects, through Whoosh's own
searcher, must match the same documents as our Ranker on 100 queries over the bulk index.
"""

from __future__ import annotations

import random
from array import array
from datetime import datetime

import numpy as np
import pytest
import yaml
from conftest import SEEDS, white_house_releases
from isal import isal_zlib
from whoosh import formats
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.index import open_dir
from whoosh.system import pack_ushort

from searchsvc.indexing import bulk, collect, index_paths, indexer, writing
from searchsvc.reading import Document, discover, read_source
from searchsvc.reading import documents as reading_documents
from searchsvc.schema import build_schema
from searchsvc.scoring.ranker import Ranker
from searchsvc.searching.query import expand_multiterms

_TEXT = (
    "energy solar panels pipeline caspian ashgabat ministry foreign affairs president "
    "meeting meetings cooperation agreement signed delegation talks summit trade gas "
    "exports investment running runner runs hopping nation nations national security "
    "council statement briefing press release program programme tariffs steel border "
    "Türkmenistan café naïve Zürich São Paulo U.S. don't Turkmenistan's 2023 1.5 42 "
    "the a an and of to in for on is are was it that this with by as at from or but not "
    "us x y z e-mail co-operation über straße ﬁnance ıstanbul Ølsen"
)
WORDS = tuple(_TEXT.split())
PLACES = ("Ashgabat", "Washington", "Zürich", "", "São Paulo")
TAGS = ("energy", "trade", "security", "Trade Policy", "gas & oil")
PEOPLE = ("Serdar Berdimuhamedov", "Joe Biden", "Rashid Meredov")


def synthetic(count: int = 300, seed: int = 15) -> list[Document]:
    """Releases of random words, with every kind of field value a release may have."""
    rnd = random.Random(seed)
    docs = []
    for n in range(count):
        size = rnd.choice((0, 3, 40, 200, 600, 1500))
        body = " ".join(rnd.choice(WORDS) for _ in range(size))
        if n % 37 == 0:
            body += "\n\nGas. " * 1500  # one word far more often than a pickle batch
        docs.append(
            Document(
                id=f"syn/{n:04d}",
                title=" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 12))),
                body=body,
                date=None if n % 11 == 0 else datetime(2020 + n % 6, 1 + n % 12, 1 + n % 28),
                source=rnd.choice(("White House", "MFA of Turkmenistan", "")),
                place=rnd.choice(PLACES),
                url=f"https://example.org/{n}",
                category=tuple(rnd.sample(TAGS, rnd.randint(0, 3))),
                path=f"/corpus/syn/{n:04d}.md",
                hash=f"{n:040x}",
                country=tuple(rnd.sample(("TM", "US", "CH"), rnd.randint(0, 2))),
                person=tuple(rnd.sample(PEOPLE, rnd.randint(0, 2))),
                organisation=("United Nations",) if n % 5 == 0 else (),
            )
        )
    far = ["solar"] + ["energy"] * 70_000 + ["solar", "caspian"]  # gaps past 65,535
    docs.append(Document(id="syn/far", title="Far apart", body=" ".join(far), hash="f" * 40))
    return docs


def sample_corpus() -> list[Document]:
    sources, _ = discover([SEEDS])
    seeds = [d for src in sources for d in read_source(src) if isinstance(d, Document)]
    return seeds + synthetic()


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return sample_corpus()


def build(gen, docs: list[Document], way: str):
    """A one-segment index of docs in gen: through SegmentWriter ("old") or "bulk"."""
    ix = writing.create_index(gen, build_schema())
    if way == "old":
        writer = writing.open_writer(ix)
        for doc in docs:
            writing.add_document(writer, doc)
        writer.commit()
    else:
        segment_writer = bulk.BulkSegmentWriter(ix)
        for doc in docs:
            writing.add_document(segment_writer, doc)
        writing.commit(writing.open_writer(ix), segment_writer.finish())
    ix.close()
    return gen


@pytest.fixture(scope="module")
def both(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("bulk")
    return build(mkgen(root / "old"), corpus, "old"), build(mkgen(root / "bulk"), corpus, "bulk")


def mkgen(path):
    path.mkdir()
    return path


def dump(gen) -> dict:
    """Everything an index holds, segment by segment (keyed by its first document's id)."""
    out: dict = {}
    ix = open_dir(str(gen))
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            count = leaf.doc_count_all()
            stored = [leaf.stored_fields(n) for n in range(count)]
            key = stored[0]["id"]
            out[key, "doc_count"] = count
            out[key, "stored"] = stored
            for name in ix.schema.names():
                _dump_field(out, key, leaf, name, ix.schema[name])
    ix.close()
    return out


def _dump_field(out: dict, key, leaf, name: str, field) -> None:
    count = leaf.doc_count_all()
    if field.column_type:
        out[key, "column", name] = list(leaf.column_reader(name, translate=False))
    if not field.indexed:
        return
    out[key, "lengths", name] = [leaf.doc_field_length(n, name) for n in range(count)]
    out[key, "total length", name] = leaf.field_length(name)
    terms = list(leaf.lexicon(name))
    out[key, "terms", name] = terms
    for term in terms:
        info = leaf.term_info(name, term)
        out[key, "term info", name, term] = (
            info.weight(),
            info.doc_frequency(),
            info.min_length(),
            info.max_length(),
            info.max_weight(),
            info.min_id(),
            info.max_id(),
        )
        matcher = leaf.postings(name, term)
        blocks = []
        while matcher.is_active():  # W3's blocks: their headers, then their postings
            head = (matcher.block_max_id(), matcher.block_max_weight())
            head += (matcher.block_min_length(), matcher.block_max_length())
            ids, weights, values = [], [], []
            for _ in range(matcher._blocklength):
                ids.append(matcher.id())
                weights.append(matcher.weight())
                values.append(matcher.value())
                matcher.next()
            blocks.append((head, ids, weights, values))
        out[key, "postings", name, term] = blocks


def differences(a: dict, b: dict) -> list:
    return sorted((k for k in a.keys() | b.keys() if a.get(k) != b.get(k)), key=repr)


def test_the_bulk_index_holds_exactly_what_segmentwriter_writes(both):
    old, new = dump(both[0]), dump(both[1])
    assert differences(old, new) == []
    # It compared something: every kind of field, long posting lists, many positions.
    postings = {k[2:]: v for k, v in old.items() if k[1] == "postings"}
    assert {name for name, _ in postings} >= {"title", "body", "exact", "category", "date"}
    assert max(len(blocks) for blocks in postings.values()) >= 3  # 128 postings a block
    gas = postings["exact", b"gas"]
    assert max(len(formats.Positions().decode_positions(v)) for b in gas for v in b[3]) > 1000
    assert any(name == "date" for name, _ in postings)


class _ReadBlock:
    """A block read back, as W3TermInfo.add_block reads a block of W3's postings writer."""

    def __init__(self, matcher) -> None:
        self.ids: list[int] = []
        self._weights = array("f")
        self.lengths = (matcher.block_min_length(), matcher.block_max_length())
        self.top = matcher.block_max_weight()

    def __len__(self) -> int:
        return len(self.ids)

    def min_id(self) -> int:
        return self.ids[0]

    def max_id(self) -> int:
        return self.ids[-1]

    def min_length(self) -> int:
        return self.lengths[0]

    def max_length(self) -> int:
        return self.lengths[1]

    def max_weight(self) -> float:
        return self.top


def test_each_term_info_is_the_one_whoosh_makes_of_the_terms_blocks(both):
    # The bulk writer packs every term's info at once (numpy records); Whoosh's own
    # W3TermInfo, fed the term's blocks as read back, must give the same bytes.
    ix = open_dir(str(both[1]))
    compared, blocks = 0, 0
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for name in ("title", "body", "exact", "category", "date", "id"):
                for term in leaf.lexicon(name):
                    stored = leaf.term_info(name, term)
                    matcher = leaf.postings(name, term)
                    made = W3TermInfo()
                    while matcher.is_active():
                        block = _ReadBlock(matcher)  # its header, before moving past it
                        for _ in range(matcher._blocklength):
                            block.ids.append(matcher.id())
                            block._weights.append(matcher.weight())
                            matcher.next()
                        made.add_block(block)
                        blocks += 1
                    offset, length = stored.extent()
                    made.set_extent(offset, length[0] if isinstance(length, tuple) else length)
                    assert made.to_bytes() == bulk_term_info(leaf, name, term), (name, term)
                    compared += 1
    ix.close()
    assert compared > 1500 and blocks > compared  # some terms span several blocks


def bulk_term_info(leaf, name: str, term: bytes) -> bytes:
    """The bytes the terms file holds for a term (its key: the field's number, the term)."""
    terms = leaf._terms  # W3TermsReader: its hash file and the field numbers
    return terms._tindex[pack_ushort(terms._fieldmap[name]) + term]


def test_whoosh_opens_the_bulk_index_and_searches_it(both):
    ix = open_dir(str(both[1]))
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 306
        hits = searcher.search(wq.Term("body", "pipelin"), limit=None)
        assert len(hits) > 10
        assert searcher.document(id="syn/far")["title"] == "Far apart"
        phrase = wq.Phrase("exact", ["far", "apart"])
        assert [h["id"] for h in searcher.search(phrase)] == ["syn/far"]
        # Its second "solar" is 70,001 words after the first, next to "caspian".
        phrase = wq.Phrase("exact", ["solar", "caspian"])
        assert "syn/far" in {h["id"] for h in searcher.search(phrase, limit=None)}
    ix.close()


def queries(seed: int = 7) -> list[wq.Query]:
    """100 queries of Whoosh's own classes over the sample's words."""
    rnd = random.Random(seed)
    words = [w for w in WORDS if w.isalpha()]

    def term(field="body"):
        from searchsvc.analysis import exact_term, stem_term

        word = rnd.choice(words)
        text = exact_term(word) if field == "exact" else stem_term(word) or "solar"
        return wq.Term(field, text)

    makers = [
        lambda: term(),
        lambda: term("title"),
        lambda: term("exact"),
        lambda: wq.And([term(), term()]),
        lambda: wq.Or([term(), term("title"), term()]),
        lambda: wq.AndNot(term(), term()),
        lambda: wq.Not(term()),
        lambda: wq.AndMaybe(term(), term("title")),
        lambda: wq.Phrase("exact", [term("exact").text, term("exact").text]),
        lambda: wq.Prefix("body", rnd.choice(words)[:2].lower()),
        lambda: wq.Term("category", rnd.choice(("energy", "trade", "policy", "oil"))),
        lambda: wq.Term("year", str(2020 + rnd.randrange(6))),
        lambda: wq.And([wq.Term("place", "ashgabat"), term()]),
    ]
    return [makers[i % len(makers)]() for i in range(100)]


def whooshs(q: wq.Query) -> wq.Query:
    """The query Whoosh is asked: AndNot(a, b) as And(a, Not(b)). Whoosh 2.7's
    AndNotMatcher skips b forward only when the two start on one document, so when b's
    list begins before a's, a's first document is kept even if b has it too (found here:
    a word in the first synthetic release and in the seed releases before it)."""
    if isinstance(q, wq.AndNot):
        return wq.And([q.a, wq.Not(q.b)])
    return q


def test_whooshs_queries_agree_with_our_ranker_on_the_bulk_index(both):
    ix = open_dir(str(both[1]))
    with ix.searcher() as searcher:
        ranker = Ranker(searcher)
        agreed = 0
        for q in queries():
            ours_q = expand_multiterms(q, searcher.reader())
            match, _ = ranker.evaluate(ours_q)
            theirs = set(whooshs(q).matcher(searcher, searcher.boolean_context()).all_ids())
            assert set(np.flatnonzero(match).tolist()) == theirs, q
            agreed += bool(theirs)
        assert agreed >= 80  # most queries match something: the agreement is not vacuous
    ix.close()


def test_a_parallel_build_writes_the_same_index_in_bulk(tmp_path, corpus, monkeypatch):
    folder = tmp_path / "releases"
    folder.mkdir()
    for n, doc in enumerate(corpus[:120]):
        folder.joinpath(f"r{n:03d}.md").write_text(
            f"---\ntitle: {doc.title or 'untitled'}\nplace: {doc.place}\n---\n{doc.body}\n",
            encoding="utf-8",
        )
    monkeypatch.setattr(indexer, "PARALLEL_THRESHOLD", 10)
    dumps = []
    for way in (False, True):
        monkeypatch.setattr(indexer, "BULK", way)
        report = index_paths(tmp_path / f"index-{way}", [folder], procs=2)
        assert report.total == 120 and not report.skipped
        gen = next((tmp_path / f"index-{way}").glob("gen-*"))
        found = dump(gen)
        assert {k[0] for k in found} and len({k[0] for k in found}) == 2  # two workers
        dumps.append(found)
    assert differences(*dumps) == []


def by_id(gen) -> dict:
    """What an index holds, by document id rather than by segment and number."""
    out: dict = {}
    ix = open_dir(str(gen))
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            ids = [leaf.stored_fields(n)["id"] for n in range(leaf.doc_count_all())]
            for n, doc_id in enumerate(ids):
                out["stored", doc_id] = leaf.stored_fields(n)
                for name in ("title", "body", "exact"):
                    out["length", name, doc_id] = leaf.doc_field_length(n, name)
            for name in ix.schema.names():
                if not ix.schema[name].indexed:
                    continue
                for term in leaf.lexicon(name):
                    matcher = leaf.postings(name, term)
                    while matcher.is_active():
                        key = ("posting", name, term, ids[matcher.id()])
                        out[key] = (matcher.weight(), matcher.value())
                        matcher.next()
    ix.close()
    return out


def test_a_full_segment_is_written_and_another_begun(tmp_path, corpus):
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    segment_writer = bulk.BulkSegmentWriter(ix, max_tokens=20_000)
    for doc in corpus[:80]:
        writing.add_document(segment_writer, doc)
    segments = segment_writer.finish()
    writing.commit(writing.open_writer(ix), segments)
    ix.close()
    assert len(segments) >= 3
    reference = build(mkgen(tmp_path / "ref"), corpus[:80], "old")
    assert differences(by_id(tmp_path / "gen"), by_id(reference)) == []


def test_a_failed_document_leaves_no_trace(tmp_path, corpus):
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    segment_writer = bulk.BulkSegmentWriter(ix)
    writing.add_document(segment_writer, corpus[0])
    with pytest.raises(ValueError):
        segment_writer.add_document(id="x", body="fine words", date="not a datetime")
    writing.add_document(segment_writer, corpus[1])
    writing.commit(writing.open_writer(ix), segment_writer.finish())
    ix.close()
    reference = build(mkgen(tmp_path / "ref"), corpus[:2], "old")
    assert differences(dump(tmp_path / "gen"), dump(reference)) == []


def test_fields_sharing_a_term_function_share_its_terms(tmp_path, corpus):
    # The exact field and the facet fields fold words alike: one vocabulary for them all,
    # each field's terms those of its own postings. Documents with facets come last here.
    late = list(reversed(corpus))
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    segment_writer = bulk.BulkSegmentWriter(ix)
    for doc in late:
        writing.add_document(segment_writer, doc)
    writing.commit(writing.open_writer(ix), segment_writer.finish())
    ix.close()
    reference = build(mkgen(tmp_path / "ref"), late, "old")
    assert differences(dump(tmp_path / "gen"), dump(reference)) == []


def test_a_field_of_more_terms_than_16_bits_number_is_sorted_alike(tmp_path, corpus, monkeypatch):
    # Past 65,536 terms a field's tokens are sorted as 64-bit keys, not by radix sort.
    monkeypatch.setattr(collect, "RADIX_TERMS", 0)
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    segment_writer = bulk.BulkSegmentWriter(ix)
    for doc in corpus[:60]:
        writing.add_document(segment_writer, doc)
    writing.commit(writing.open_writer(ix), segment_writer.finish())
    ix.close()
    reference = build(mkgen(tmp_path / "ref"), corpus[:60], "old")
    assert differences(dump(tmp_path / "gen"), dump(reference)) == []


def test_nothing_added_writes_no_segment(tmp_path):
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    assert bulk.BulkSegmentWriter(ix).finish() == []
    assert not [p for p in (tmp_path / "gen").iterdir() if p.suffix == ".seg"]


def test_length_bytes_are_whooshs():
    from whoosh.util.numeric import length_to_byte

    lengths = np.r_[np.arange(0, 5000), [9999, 65535, 106373, 106374, 10**7]]
    assert bulk.length_bytes(lengths).tolist() == [length_to_byte(n) for n in lengths.tolist()]


# -- front matter: libyaml's loader where PyYAML has it, with the same results ------------------

FRONT_MATTERS = [
    "title: Plain\ndate: 2025-05-22",
    "date: 2025-05-22 10:28:32-04:00\ntitle: 'Quoted: colon'\ntags: [energy, pipelines]",
    'title: "Türkmenistan and the U.S. — talks"\nsource: MFA\nplace: Ashgabat',
    "categories:\n  - energy\n  - trade\npublished_time: 2024-01-02T03:04:05Z",
    "title: >\n  Folded\n  text\nnumber: 42\nratio: 1.5\nflag: yes\nnothing: ~",
    "title: |\n  Literal\n  block\nurl: https://example.org/a?b=c#d",
    "tags: energy, trade\ndate: 5 May 2023\nempty:",
    "nested: {a: [1, 2, {b: c}]}\nanchor: &x value\nlist: [0o17, 0x1F, .inf, -.nan]",
    "title: '''single'' quotes'\nunicode: \"\\u00e9\\t\\u2603\"",
    "- a list\n- not a mapping",
    "just a string",
]


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="this PyYAML has no libyaml")
@pytest.mark.parametrize("front", FRONT_MATTERS)
def test_the_c_loader_reads_front_matter_as_the_python_loader_does(front):
    c = reading_documents._load_yaml(front, reading_documents._YAML_LOADER)
    py = reading_documents._load_yaml(front, reading_documents._SAFE_LOADER)
    assert reading_documents._YAML_LOADER is not reading_documents._SAFE_LOADER
    assert repr(c) == repr(py)  # repr: nan != nan, and types count (1 is not 1.0)


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="this PyYAML has no libyaml")
def test_the_c_loader_reads_a_real_release_as_the_python_loader_does(tmp_path):
    compared = 0
    for name, text in white_house_releases(300):
        front, _ = reading_documents.split_front_matter(text)  # the loader's choice
        raw = text.split("\n---", 1)[0].removeprefix("---\n")
        c = reading_documents._load_yaml(raw, reading_documents._YAML_LOADER)
        py = reading_documents._load_yaml(raw, reading_documents._SAFE_LOADER)
        assert repr(c) == repr(py), name
        assert front, name
        compared += 1
    assert compared == 300


def test_stored_fields_are_deflated_by_isal_and_read_by_whoosh(tmp_path, corpus):
    ix = writing.create_index(mkgen(tmp_path / "gen"), build_schema())
    segment_writer = bulk.BulkSegmentWriter(ix)
    for doc in corpus[:3]:
        writing.add_document(segment_writer, doc)
    deflater = segment_writer.perdoc._colwriters["_stored"]._child
    assert deflater._compress is isal_zlib.compress
    assert deflater._level == bulk.STORED_LEVEL
    writing.commit(writing.open_writer(ix), segment_writer.finish())
    ix.close()
    with open_dir(str(tmp_path / "gen")).searcher() as searcher:  # Whoosh's own reader
        stored = {fields["id"]: fields for fields in searcher.all_stored_fields()}
    assert [stored[doc.id]["body"] for doc in corpus[:3]] == [doc.body for doc in corpus[:3]]
