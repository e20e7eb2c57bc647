"""The query language: what parses to what, and what is refused with which message."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from whoosh import query as wq
from whoosh.qparser import AndGroup, OrGroup

from searchsvc.schema import build_schema
from searchsvc.searching.query import (
    QueryError,
    _parse,
    _parser,
    _plain_words_query,
    check_syntax,
    correctable_words,
    parse_query,
    plain_words,
    query_terms,
    without_function_words,
)

SCHEMA = build_schema()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("consultation", "(title:consult OR body:consult)"),
        ('"solar panels"', 'exact:"solar panels"'),
        ('"meetings"', "exact:meetings"),
        ("title:meetings", "title:meet"),
        ("source:Trend", "source:trend"),
        ("Türkmenistan", "(title:turkmenistan OR body:turkmenistan)"),
    ],
)
def test_parses(text, expected):
    assert str(parse_query(text, SCHEMA)) == expected


@pytest.mark.parametrize(
    ("text", "fields", "stems"),
    [
        # A field before a group searches that field for every word of the group, and the
        # field's name is no word to search for.
        ("title:(energy)", {"title"}, {"energi"}),
        ("title:(energy solar)", {"title"}, {"energi", "solar"}),
        ("title:(energy OR solar)", {"title"}, {"energi", "solar"}),
        ("+title:(energy solar) gas", {"title", "body"}, {"energi", "solar", "gas"}),
        ("gas -title:(energy solar)", {"title", "body"}, {"energi", "solar", "gas"}),
        ("gas AND title:(energy OR solar)", {"title", "body"}, {"energi", "solar", "gas"}),
    ],
)
def test_a_field_applies_to_its_group(text, fields, stems):
    q = parse_query(text, SCHEMA)
    found = {(t.fieldname, t.text) for t in q.leaves() if isinstance(t, wq.Term)}
    assert {f for f, _ in found} == fields, str(q)
    assert {w for _, w in found} == stems, str(q)  # no "titl"
    grouped = {w for f, w in found if w in ("energi", "solar")}
    assert grouped and all(f == "title" for f, w in found if w in grouped), str(q)


def test_all_words_clause_ranks_first():
    q = parse_query("solar panels", SCHEMA)
    assert isinstance(q, wq.Or)
    assert isinstance(q.subqueries[0], wq.And) and q.subqueries[0].boost > 1


@pytest.mark.parametrize(
    ("text", "stems", "exact"),
    [
        # A natural-language request is searched for what it is about.
        (
            "what problems of heat conduction have been solved",
            {"problem", "heat", "conduct", "solv"},
            [],
        ),
        ("Which wings, and how?", {"wing"}, []),
        # A query of function words alone keeps them (less the index's own stop words).
        ("what about these", {"what", "about", "these"}, []),
        # Phrases, fields and words beside an operator are left as typed.
        ('"what we did" heat', {"heat"}, [("what", "we", "did")]),
        ("title:what heat", {"what", "heat"}, []),
        ("heat AND what", {"what", "heat"}, []),
    ],
)
def test_function_words_leave_the_ranked_words(text, stems, exact):
    terms = query_terms(parse_query(text, SCHEMA), None)
    assert terms.stems == stems and set(terms.phrases) == set(exact)


def test_function_words_never_empty_a_query():
    assert without_function_words(["what", "is", "it"]) == ["what", "is", "it"]
    assert without_function_words(["what", "NOT", "then"]) == ["what", "NOT", "then"]
    assert without_function_words(["so", "what", "gas"]) == ["gas"]


def test_not_excludes_instead_of_matching_everything():
    q = parse_query("gas NOT oil", SCHEMA)
    assert isinstance(q, wq.AndNot) and str(q.b) == "(title:oil OR body:oil)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Web-search conventions: -word and -"a phrase" exclude, +word requires.
        ("energy -coal", "((title:energi OR body:energi) ANDNOT (title:coal OR body:coal))"),
        ('energy -"solar panels"', '((title:energi OR body:energi) ANDNOT exact:"solar panels")'),
        ("-coal", "(None:* ANDNOT (title:coal OR body:coal))"),
        ("+gas oil", "((title:gas OR body:gas) ANDMAYBE (title:oil OR body:oil))"),
        ("+gas +oil", "((title:gas OR body:gas) AND (title:oil OR body:oil))"),
        ("gas -title:oil", "((title:gas OR body:gas) ANDNOT title:oil)"),
        ("(gas -oil)", "((title:gas OR body:gas) ANDNOT (title:oil OR body:oil))"),
        (
            "gas -(oil OR coal)",
            "((title:gas OR body:gas) ANDNOT (title:oil OR body:oil OR title:coal OR body:coal))",
        ),
        ("gas AND NOT oil", "((title:gas OR body:gas) ANDNOT (title:oil OR body:oil))"),
        # A hyphen inside a word, a negative number and a date range exclude nothing.
        ("anti-corruption", "(title:anti OR title:corrupt OR body:anti OR body:corrupt)"),
        ("COVID-19", "(title:covid OR title:19 OR body:covid OR body:19)"),
        ("-5", "(title:5 OR body:5)"),
        ("2019-2021", "(title:2019 OR title:2021 OR body:2019 OR body:2021)"),
        ("energy - coal", None),  # a dash between words: both words, no exclusion
        # Stop words only: searched as written, as any words are (any, all of them first).
        ("the", "exact:the"),
        (
            "the of and",
            "((exact:the AND exact:of AND exact:and) OR (exact:the OR exact:of OR exact:and))",
        ),
        ("+the energy", "(exact:the ANDMAYBE (title:energi OR body:energi))"),
        # A pasted question mark: the word itself, or the word and one more letter.
        ("policy?", "(title:polici OR body:polici OR title:policy? OR body:policy?)"),
    ],
)
def test_conventions(text, expected):
    q = parse_query(text, SCHEMA)
    if expected is None:
        assert not isinstance(q, wq.AndNot) and "coal" in str(q)
    else:
        assert str(q) == expected


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        # Parts the stemmed fields do not hold (single letters, stop words): the compound is
        # searched as typed, in the exact field, as its quoted form is.
        ("AT&T", '"AT&T"'),
        ("R&D spending", '"R&D" spending'),
        ("S&P 500", '"S&P" 500'),
        ("+Q&A energy", '+"Q&A" energy'),
        ("energy -M&A", 'energy -"M&A"'),
        ("(AT&T OR Q&A) gas", '("AT&T" OR "Q&A") gas'),
        ("AT&T.", '"AT&T."'),
        # Lucene's exact phrase: Whoosh's slop counts from 1.
        ('"solar panels"~0', '"solar panels"'),
        ('"solar panels"~00 gas', '"solar panels" gas'),
    ],
)
def test_what_whoosh_would_read_as_nothing_is_read_as_typed(typed, read_as):
    assert parse_query(typed, SCHEMA) == parse_query(read_as, SCHEMA)


@pytest.mark.parametrize("text", ["X-ray", "B-52", "U.S.", "COVID-19", "title:AT&T"])
def test_compounds_with_a_stemmed_part_or_a_field_are_left_to_whoosh(text):
    assert "exact:" not in str(parse_query(text, SCHEMA))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title:(", "a ( is never closed"),
        ("title:", "title: needs a value"),
        ("title: energy", "title: needs a value"),
        ("AND OR", "AND needs a word on each side"),
        ("energy OR", "OR at the end of the query"),
        ("NOT", "NOT at the end of the query"),
        ("(energy", "a ( is never closed"),
        ("energy)", "a ) has no matching ("),
        ("()", "Empty parentheses"),
        ('"energy', "Unbalanced quote"),
        ("nosuch:field", "Unknown field 'nosuch'"),
        ("*", "at least 2 letters before a wildcard"),
        ("e*", "at least 2 letters before a wildcard"),
        ("x" * 2001, "the limit is 2,000"),
    ],
)
def test_malformed_queries_raise(text, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(text, SCHEMA)


def test_check_syntax_accepts_the_language():
    for text in ["energy AND (gas OR oil) NOT coal", 'title:"solar panels"', "partner* fuzzy~"]:
        check_syntax(text)


def test_correctable_words_skip_operators_fields_phrases_and_exclusions():
    text = 'turkmenstan AND "solar panel" title:x (gas OR oyl) -coall NOT coul +enrgy a*'
    words = correctable_words(text)
    assert [w for _, _, w in words] == ["turkmenstan", "gas", "oyl", "enrgy"]
    assert all(text[start:end] == w for start, end, w in words)


def test_plain_words_skip_phrases_fields_and_operators():
    assert plain_words('turkmenstan AND "solar panel" title:x (gas OR oyl)') == [
        "turkmenstan",
        "gas",
        "oyl",
    ]


# -- plain words without Whoosh's tagging (query._plain_words_query) --------------------------

_TRICKY_WORDS = [
    "U.S.",
    "U.S.'s",
    "it's",
    "don’t",
    "rock'n'roll",
    "co-op",
    "e-mail’s",
    "1,000",
    "1.5",
    "café",
    "İstanbul",
    "ﬁsh",
    "ß",
    "x__y",
    "_",
    "..",
    "’s",
    "Türkmenistan",
    "IL-6",
    "α",
    "and",
    "or",
    "not",
    "the",
    "of",
    "a",
    "2022",
    "COVID-19",
    "President’s",
    "Zelenskyy’s",
]


def _plain_texts() -> list[str]:
    """Texts of words from the seeds and tricky tokens, 1 to 12 words each."""
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    words = [w for path in sorted(seeds.glob("*.txt")) for w in path.read_text().split()]
    words += _TRICKY_WORDS
    rnd = random.Random(7)
    return [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12))) for _ in range(3000)]


@pytest.mark.parametrize("group", [OrGroup, AndGroup], ids=["or", "and"])
def test_plain_words_are_read_as_whooshs_parser_reads_them(group):
    fast = 0
    for text in [*_plain_texts(), *_TRICKY_WORDS]:
        q = _plain_words_query(text, SCHEMA, group)
        if q is None:
            continue
        fast += 1
        whoosh = _parse(_parser(SCHEMA, group), text)
        assert (q, repr(q)) == (whoosh, repr(whoosh)), text
    assert fast > 2000  # most of them take the short way: the comparison is not empty


@pytest.mark.parametrize(
    "text",
    ["a AND b", "a OR b", "NOT a", "'quoted' word", "a -b", "+a", "title:a", '"a b"', "a*", "a?"]
    + ["a~", "a^2", "(a)", "[a TO b]", "a:b", "x 'y z'", "", "   "],
)
def test_anything_but_plain_words_goes_through_whooshs_parser(text):
    assert _plain_words_query(text, SCHEMA, OrGroup) is None


def test_the_term_parsers_kept_are_bounded():
    from searchsvc.searching import query

    for _ in range(3 * query.MAX_TERM_PARSERS):
        schema = build_schema()  # each state of an index opened has its own
        assert _plain_words_query("trade", schema, OrGroup) == parse_query("trade", schema)
        assert len(query._TERM_PARSERS) <= query.MAX_TERM_PARSERS


def test_the_all_words_boost_is_whooshs_with_boost():
    # _boosted copies the query one level deep where Whoosh's with_boost copies it whole;
    # the same query (== and repr) for every shape the all-words clause takes.
    from searchsvc.searching.query import _boosted

    a, b = wq.Term("body", "a"), wq.Term("title", "b")
    shapes = [
        wq.And([a, b]),
        wq.Or([a, wq.And([a, b])]),
        wq.AndNot(wq.And([a, b]), b),
        wq.AndMaybe(a, wq.Or([a, b])),
        wq.Not(a),
        wq.ConstantScoreQuery(wq.And([a, b])),
        wq.Phrase("exact", ["a", "b"]),
        a,
    ]
    for q in shapes:
        before = repr(q)
        got, want = _boosted(q, 3.0), q.with_boost(3.0)
        assert got == want and repr(got) == repr(want), q
        assert repr(q) == before  # the original unchanged
