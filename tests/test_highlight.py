"""Snippets: fragments, marks in original forms, escaping, the lead."""

from __future__ import annotations

from searchsvc.highlight import highlight_all, lead, snippet
from searchsvc.query import QueryTerms

TEXT = (
    "Meetings were held in Ashgabat. " * 3
    + "Filler words about nothing in particular. " * 20
    + "The ministers discussed the strategic partnership at length. "
    + "More filler that says nothing at all. " * 20
    + "A second meeting will follow."
)


def test_marks_original_forms_of_stems():
    html = snippet(TEXT, QueryTerms(stems={"meet"}))
    assert "<mark>Meetings</mark>" in html and "<mark>meeting</mark>" in html


def test_at_most_three_fragments_best_first():
    html = snippet(TEXT, QueryTerms(stems={"meet", "strateg", "partnership"}))
    assert html.count("…") <= 6
    assert html.index("<mark>strategic partnership</mark>") < html.index("<mark>Meetings</mark>")


def test_phrase_marked_as_one():
    html = snippet(TEXT, QueryTerms(phrases=[("strategic", "partnership")]))
    assert "<mark>strategic partnership</mark>" in html


def test_everything_else_is_escaped():
    text = "<script>alert(1)</script> & the meeting <b>went</b> well"
    html = snippet(text, QueryTerms(stems={"meet"}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert "<mark>meeting</mark>" in html and "&lt;b&gt;" in html


def test_no_match_gives_the_lead():
    assert snippet("Short text.", QueryTerms(stems={"zzz"})) == "Short text."
    long = "word " * 100
    assert lead(long).endswith("…") and len(lead(long)) <= 201


def test_highlight_all_marks_every_match():
    html = highlight_all(TEXT, QueryTerms(stems={"meet"}))
    assert html.count("<mark>") == 4
