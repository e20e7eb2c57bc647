"""The forgiving query box (issue 13, acceptance 2): hostile and pasted queries, through the API.

Each query of the table gets a 200 with results, every result holds one of the words the
query looks for and none it excludes, and the answer carries a notice exactly when the query
was read otherwise than typed. With strict=true the malformed ones are a 400 instead, in the
API and in the CLI (--strict). The mending itself: forgive.mend, at the bottom.
"""

from __future__ import annotations

import pytest

from searchsvc.analysis import WORD_RE, exact_term, stem_term
from searchsvc.cli import main
from searchsvc.searching.forgive import mend
from searchsvc.searching.query import FIELDS

# query, words of which every hit holds one, words no hit holds, malformed (a notice; strict: 400)
HOSTILE = [
    # Pasted sentences with a colon: an unknown field is read as words.
    ("Note: the ministers met (in Ashgabat)", ["note", "ministers", "met", "Ashgabat"], [], True),
    ("U.S. policy: trade & energy", ["policy", "trade", "energy"], [], True),
    ("Summary: Turkmenistan and Russia", ["Turkmenistan", "Russia"], [], True),
    ("Update: consultations (in Ashgabat", ["update", "consultations", "Ashgabat"], [], True),
    ("https://www.mfa.gov.tm/en/news Turkmenistan", ["Turkmenistan"], [], True),
    ("nosuch:Putin", ["nosuch", "Putin"], [], True),
    ("Time: 10:30 Putin", ["time", "10", "30", "Putin"], [], True),
    # A field with a space before its value, or with none.
    ("title: Turkmenistan", ["Turkmenistan"], [], True),
    ("Putin place:", ["Putin"], [], True),
    # Unbalanced quotes and parentheses.
    ('"strategic partnership', ["strategic", "partnership"], [], True),
    ('Putin "', ["Putin"], [], True),
    ("(Turkmenistan OR Russia", ["Turkmenistan", "Russia"], [], True),
    ("Turkmenistan (energy", ["Turkmenistan", "energy"], [], True),
    ("Afghanistan)", ["Afghanistan"], [], True),
    ("((Caspian)", ["Caspian"], [], True),
    ("() Caspian", ["Caspian"], [], True),
    # Operators with nothing to join.
    ("Caspian AND", ["Caspian"], [], True),
    ("OR humanitarian", ["humanitarian"], [], True),
    ("bilateral NOT", ["bilateral"], [], True),
    ("security AND OR Afghanistan", ["security", "Afghanistan"], [], True),
    ("NOT NOT Putin", [], ["Putin"], True),
    # Wildcards that would stand for everything.
    ("a* Putin", ["Putin", "a"], [], True),
    ("* Ashgabat", ["Ashgabat"], [], True),
    # Punctuation-heavy text: read as typed, no notice needed.
    ("Turkmenistan -- Russia; talks!!! (2023)", ["Turkmenistan", "Russia", "talks"], [], False),
    ("What did Putin say?", ["Putin"], [], False),
    ("Turkmen-Russian high-level consultations", ["Turkmen", "consultations"], [], False),
    ("#Turkmenistan @Azerbaijan $$$", ["Turkmenistan", "Azerbaijan"], [], False),
    ("2023-05-04 Ashgabat", ["Ashgabat", "2023"], [], False),
    # Web-search conventions.
    ("Turkmenistan -Russia", ["Turkmenistan"], ["Russia"], False),
    ('Turkmenistan -"strategic partnership"', ["Turkmenistan"], ["strategic partnership"], False),
    ("+Afghanistan security", ["Afghanistan"], [], False),
    ("+Putin +Berdimuhamedov", ["Putin"], [], False),
    ("Turkmenistan -Putin -Afghanistan", ["Turkmenistan"], ["Putin", "Afghanistan"], False),
    # Stop words only: answered as any other words.
    ("the", ["the"], [], False),
    ("the of and", ["the", "of", "and"], [], False),
    ("to be or not to be", ["to", "be", "or", "not"], [], False),
]


def _words(text: str) -> set[str]:
    words = WORD_RE.findall(text)
    return {exact_term(w) for w in words} | {s for w in words if (s := stem_term(w))}


def _forms(word: str) -> set[str]:
    return {exact_term(word), stem_term(word)} - {None}  # type: ignore[arg-type]


def _texts(client, hits: list[dict]) -> list[tuple[set[str], str]]:
    """Each hit's words (as written and stemmed) and its folded text."""
    out = []
    for hit in hits:
        doc = client.get(f"/api/documents/{hit['id']}").get_json()["document"]
        text = f"{doc['title']}\n{doc['body']}"
        out.append((_words(text), " ".join(exact_term(w) for w in WORD_RE.findall(text))))
    return out


def _holds(word: str, words: set[str], folded: str) -> bool:
    if " " in word:  # a phrase: its words in a row
        return f" {exact_term(word)} " in f" {folded} "
    return bool(_forms(word) & words)


@pytest.mark.parametrize(("q", "words", "excluded", "malformed"), HOSTILE)
def test_every_hostile_query_gets_results_and_a_notice_when_reread(
    client, q, words, excluded, malformed
):
    def search(text: str) -> dict:
        response = client.get("/api/search", query_string={"q": text, "size": 20})
        assert response.status_code == 200
        return response.get_json()

    body = search(q)
    assert body["total"] > 0 and body["results"]
    for hit_words, folded in _texts(client, body["results"]):
        if words:
            assert any(_holds(w, hit_words, folded) for w in words), q
        assert not any(_holds(w, hit_words, folded) for w in excluded), q
    if excluded:  # the exclusion took something away
        assert body["total"] < search(" ".join(words)).get("total", 0)
    assert bool(body["notice"]) is malformed, body["notice"]
    if malformed:
        assert body["notice"].startswith("Searched for ")


@pytest.mark.parametrize(("q", "words", "excluded", "malformed"), HOSTILE)
def test_strict_refuses_exactly_the_malformed(client, q, words, excluded, malformed):
    response = client.get("/api/search", query_string={"q": q, "strict": "true"})
    assert response.status_code == (400 if malformed else 200)
    body = response.get_json()
    assert body["ok"] is not malformed
    if malformed:
        assert body["error"]


def test_excluding_everything_found_leaves_nothing(client):
    body = client.get("/api/search", query_string={"q": "Turkmenistan -Turkmenistan"}).get_json()
    assert body["ok"] and body["total"] == 0


def test_stop_words_only_answer_like_one_stop_word(client):
    def total(q: str) -> int:
        return client.get("/api/search", query_string={"q": q}).get_json()["total"]

    assert total("the of and") == total("the") > 0


def test_cli_mends_and_strict_refuses(runner, seeds_index):
    args = ["search", "Note: the ministers met (in Ashgabat)", "--index-dir", str(seeds_index)]
    forgiven = runner.invoke(main, args)
    assert forgiven.exit_code == 0
    assert "Searched for Note the ministers met (in Ashgabat): 'Note:' is not a field." in (
        forgiven.output
    )
    strict = runner.invoke(main, [*args, "--strict"])
    assert strict.exit_code != 0
    fields = ", ".join(FIELDS)  # every field a query may name, in the message's order
    assert strict.output == f"Error: Unknown field 'Note'; you can search {fields}.\n"


@pytest.mark.parametrize(
    ("text", "mended", "reason"),
    [
        (
            "Note: the ministers met (in Ashgabat)",
            "Note the ministers met (in Ashgabat)",
            "'Note:'",
        ),
        ("title: energy", "title:energy", "read title: energy as title:energy"),
        ('title: "solar panels"', 'title:"solar panels"', "as title:"),
        ("foo:(a b)", "(a b)", "'foo:' is not a field"),
        ('"solar panels', '"solar panels"', "the quote was closed"),
        ('solar "', "solar", 'a lone " was ignored'),
        ("(gas OR (oil", "(gas OR (oil))", "the ( was closed at the end"),
        ("title:(energy", "title:(energy)", "the ( was closed at the end"),
        ("-title:(gas OR oil", "-title:(gas OR oil)", "the ( was closed at the end"),
        ("title:(energy solar~9)", "title:(energy solar~2)", "allows 2 edits"),
        ("gas) oil", "gas oil", "a ) with no ( was ignored"),
        ("title:() gas", "gas", "empty parentheses"),
        ("gas AND AND oil", "gas AND oil", "AND joined nothing"),
        ("NOT", "", "NOT at the end was dropped"),
        ("(gas OR) oil", "(gas) oil", "OR joined nothing"),
        ("a* e?", "a e", "2 letters before it"),
        ("word~9", "word~2", "allows 2 edits"),
        ("a b c d e f~ g~ h~ i~ j~ k~ l~", "a b c d e f~ g~ h~ i~ j~ k l", "the first 5 fuzzy"),
    ],
)
def test_mend(text, mended, reason):
    result = mend(text, FIELDS)
    assert result.text == mended
    assert any(reason in r for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    "text",
    ["energy AND (gas OR oil) NOT coal", 'title:"solar panels" -coal +gas', "partner* fuzzy~"],
)
def test_a_query_that_reads_as_typed_is_not_mended(text):
    assert mend(text, FIELDS).text == text and not mend(text, FIELDS).reasons


@pytest.mark.parametrize(
    "typed",
    [
        "\u201cstrategic partnership\u201d",  # “ ” : what Word, macOS and phones type
        "\u201estrategic partnership\u201c",  # „ “ : German
        "\u00abstrategic partnership\u00bb",  # « » : French, Russian
        '"strategic partnership\u201d',  # a straight quote closed by a curly one
    ],
)
def test_typographic_quotes_make_a_phrase(client, typed):
    def search(q: str) -> dict:
        body = client.get("/api/search", query_string={"q": q, "size": 100}).get_json()
        assert body["ok"], body
        return body

    straight = typed.translate(str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u00ab\u00bb", '"')))
    phrase, words = search(straight), search("strategic partnership")
    assert 0 < phrase["total"] < words["total"]  # the seeds tell a phrase from its words
    found = search(typed)
    assert [h["id"] for h in found["results"]] == [h["id"] for h in phrase["results"]]
    assert found["notice"] is None
