"""The query language: what parses to what, and what is refused with which message."""

from __future__ import annotations

import pytest
from whoosh import query as wq

from searchsvc.schema import build_schema
from searchsvc.searching.query import QueryError, check_syntax, parse_query, plain_words

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


def test_all_words_clause_ranks_first():
    q = parse_query("solar panels", SCHEMA)
    assert isinstance(q, wq.Or)
    assert isinstance(q.subqueries[0], wq.And) and q.subqueries[0].boost > 1


def test_not_excludes_instead_of_matching_everything():
    q = parse_query("gas NOT oil", SCHEMA)
    assert all(not isinstance(sub, wq.Not) for sub in q.subqueries)
    assert any(isinstance(sub, wq.AndNot) for sub in q.subqueries)


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
        ("x" * 2001, "the limit is 2000"),
    ],
)
def test_malformed_queries_raise(text, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(text, SCHEMA)


def test_check_syntax_accepts_the_language():
    for text in ["energy AND (gas OR oil) NOT coal", 'title:"solar panels"', "partner* fuzzy~"]:
        check_syntax(text)


def test_plain_words_skip_phrases_fields_and_operators():
    assert plain_words('turkmenstan AND "solar panel" title:x (gas OR oyl)') == [
        "turkmenstan",
        "gas",
        "oyl",
    ]
