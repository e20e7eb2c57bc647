"""The "did you mean" suggester: which word wins, over one segment or several."""

from __future__ import annotations

import pytest

from searchsvc.deadline import Deadline, DeadlineExceededError
from searchsvc.indexing import index_paths, posting_files, storage
from searchsvc.searching import spelling
from searchsvc.searching.spelling import Speller, read_words

# Each release's body; a word's frequency is how often the releases hold it.
BODIES = [
    "cartel cartel cartel carton",
    "cartel carton",
    "cabin cabin cabins",
    "habit habit habit",
    "presidential statement",
    "president speaks",
    "marble marvel",
    "coca coca",
    "coca",
    "cocoa",
    "open open",
    "open",
    "opec",
    "goverment",
    "government",
    "government",
    "government",
]


def _release(n: int, body: str) -> str:
    return f"---\ntitle: Release {n}\ndate: 2024-05-{n + 1:02d}\n---\n{body}\n"


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A reader of two segments: the releases indexed in two runs."""
    root = tmp_path_factory.mktemp("spelling")
    (root / "a").mkdir()
    (root / "b").mkdir()
    for n, body in enumerate(BODIES):
        (root / ("a" if n % 2 else "b") / f"r{n}.md").write_text(_release(n, body))
    index_paths(root / "ix", [root / "a"], procs=1)
    index_paths(root / "ix", [root / "b"], procs=1)
    ix = storage.open_index_at(storage.current_generation(root / "ix"))
    searcher = ix.searcher()
    assert len(list(searcher.reader().leaf_readers())) == 2
    yield searcher.reader()
    searcher.close()
    ix.close()


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("cartol", "cartel"),  # one edit from cartel (4 times) and carton (2 times)
        ("carte", "cartel"),
        ("cartels", None),  # its stem occurs: no typo
        ("cartl", "cartel"),
        ("cabni", "cabin"),  # a swap of two letters is one edit
        ("cabnis", "cabins"),  # cabins, one edit, before cabin (more frequent), two
        ("presidnet", "president"),
        ("presidnetial", "presidential"),
        ("marbel", "marble"),  # marble and marvel: both one edit and once; alphabetical
        ("kabin", None),  # the first letter is kept
        ("xyzzyq", None),  # nothing close
        ("ca", None),  # too short to correct
        ("the cartol release cabni", "the cartel release cabin"),
        ("Cartol AND habbit", "Cartel AND habit"),  # the case typed is kept
        ("CARTOL", "CARTEL"),
        ('"cartol" title:cabni cartl', '"cartol" title:cabni cartel'),  # plain words only
        # Noisy channel: a swap, or c for k, is a likelier slip than another edit, so the
        # less frequent word wins here (coca, open: in two releases; cocoa, opec: one).
        ("cocao", "cocoa"),
        ("opek", "opec"),
        # Never rewritten: operators, field names, excluded words, phrases.
        ("cartol NOT cabni", "cartel NOT cabni"),
        ("habbit -cartol", "habit -cartol"),
        ('+cartol -"cabni"', '+cartel -"cabni"'),
        ("cartol AND", "cartel AND"),
        ("goverment", None),  # it occurs: a rare word, unless far rarer (see below)
    ],
)
def test_suggestions(reader, query, suggestion):
    assert Speller(reader).preload().suggest(query) == suggestion
    assert Speller(reader).suggest(query) == suggestion  # read letter by letter


def test_a_rare_word_far_rarer_than_a_close_one_is_corrected(reader, monkeypatch):
    # goverment is in 1 release, government in 3; with RATIO 3 the typo the corpus holds is
    # corrected, never towards a word no more frequent than itself.
    monkeypatch.setattr(spelling, "RATIO", 3)
    assert Speller(reader).suggest("goverment") == "government"
    assert Speller(reader).suggest("government") is None
    # ... and a typo the corpus holds is never offered for another: gooverment is one edit
    # from goverment (1 release), two from government.
    assert Speller(reader).suggest("gooverment") == "government"
    monkeypatch.setattr(spelling, "RARE", 0)  # frequent enough: left alone
    assert Speller(reader).suggest("goverment") is None


@pytest.mark.parametrize(
    ("typed", "meant", "cost"),
    [
        ("cabni", "cabin", spelling.CHEAP),  # a swap
        ("opek", "opec", spelling.CHEAP),  # a sound-alike
        ("neeed", "need", spelling.CHEAP),  # a doubled letter
        ("opek", "open", 1.0),
        ("cartl", "cartel", 1.0),
        ("crtl", "cartel", 2.0),
    ],
)
def test_edit_costs(typed, meant, cost):
    assert spelling.edit_cost(typed, meant) == pytest.approx(cost)


def test_frequencies_add_up_over_segments(reader):
    # cartel is in 2 releases, 4 times; carton in 2 releases (one per segment), twice.
    assert reader.frequency("exact", "cartel") == 4
    assert Speller(reader).correct("cartoq") == "carton"  # one edit; cartel is two
    assert Speller(reader).correct("cartxx") == "cartel"  # two edits from both: frequency


def test_words_are_read_from_every_segment(reader):
    words = read_words(reader, "exact", "ca")
    assert words == sorted(words)
    assert {"cabin", "cabins", "cartel", "carton"} <= set(words)
    speller = Speller(reader).preload()
    assert speller.words("c") == [w for w in read_words(reader, "exact") if w[0] == "c"]
    assert speller.words("q") == []


def test_words_read_from_the_posting_files_are_whooshs_own(reader):
    files = posting_files(reader)
    assert files is not None and files.covered("exact") == 2
    prefixes = ("", "c", "ca", "cart", "cartel", "cartels", "z", "é", "\U0010ffff", "r")
    for field in ("exact", "title", "body"):
        for prefix in prefixes:
            from_files = read_words(reader, field, prefix, files=files)
            assert from_files == read_words(reader, field, prefix), (field, prefix)
    assert read_words(reader, "exact", "cart", files=files) == ["cartel", "carton"]
    speller = Speller(reader, files=files)
    assert speller.words("c") == Speller(reader).words("c")
    assert speller.preload().words("g") == ["goverment", "government"]


def test_a_segment_without_a_posting_file_has_its_words_read_from_whoosh(reader, monkeypatch):
    files = posting_files(reader)
    assert files is not None
    real = files.words
    asked = []

    def words(k, fieldname, prefix=b""):
        asked.append(k)
        return None if k == 0 else real(k, fieldname, prefix)

    monkeypatch.setattr(files, "words", words)
    assert read_words(reader, "exact", "ca", files=files) == read_words(reader, "exact", "ca")
    assert asked == [0, 1]


def test_frequencies_read_from_the_posting_files_are_whooshs_own(reader):
    files = posting_files(reader)
    assert files is not None
    terms = [*read_words(reader, "exact"), "zzz", "", "é", "cartels"]
    counted = spelling.DocFrequencies(reader, files)
    for field in ("exact", "title", "body"):
        for term in terms:
            assert counted.of(field, term) == reader.doc_frequency(field, term), (field, term)
    assert counted.of("exact", "carton") == 2  # one release in each segment


def test_a_segment_without_a_posting_file_has_its_frequency_from_whoosh(reader, monkeypatch):
    files = posting_files(reader)
    assert files is not None
    real = files.doc_frequency
    asked = []

    def doc_frequency(k, fieldname, term):
        asked.append(k)
        return None if k == 0 else real(k, fieldname, term)

    monkeypatch.setattr(files, "doc_frequency", doc_frequency)
    assert spelling.DocFrequencies(reader, files).of("exact", "carton") == 2
    assert asked == [0, 1]


def test_a_passed_deadline_stops_the_suggestion(reader):
    clock = iter([0.0, 10.0, 10.0]).__next__
    with pytest.raises(DeadlineExceededError) as caught:
        Speller(reader).suggest("cartol", Deadline(1.0, clock=clock))
    assert caught.value.phase == "spelling"


def test_no_field_no_words(reader):
    assert read_words(reader, "nosuchfield") == []
    assert Speller(reader, "nosuchfield").correct("cartol") is None


@pytest.mark.parametrize(
    ("fieldname", "text", "maxdist", "prefixlength"),
    [
        ("exact", "cartol", 1, 1),
        ("exact", "cartol", 2, 1),
        ("exact", "cabni", 1, 1),  # a swap
        ("body", "presidnet", 2, 1),
        ("body", "habbit", 1, 2),
        ("exact", "marvle", 2, 0),
        ("title", "relase", 1, 1),
        ("exact", "zzz", 2, 1),
    ],
)
def test_fuzzy_words_are_whooshs_over_several_segments(
    reader, fieldname, text, maxdist, prefixlength
):
    # Over several segments Whoosh computes (restricted) Damerau-Levenshtein in Python.
    whoosh = sorted(reader.terms_within(fieldname, text, maxdist, prefix=prefixlength))
    assert Speller(reader).within(fieldname, text, maxdist, prefixlength) == whoosh


def test_fuzzy_words_within_the_longer_prefix(reader):
    speller = Speller(reader)
    assert speller.within("exact", "cartol", 2, 1) == ["cartel", "carton"]
    assert speller.within("exact", "cartol", 2, 5) == ["carton"]
    assert speller.within("exact", "cabin", 1, 6) == ["cabin", "cabins"]  # prefix: all 5
    assert speller.within("exact", "cabxn", 1, 4) == []
