"""Property-based fuzzing of the API and the pages with hypothesis.

Every parameter of /api/search and the search page, and the id of /api/documents/<id>, its
/similar and /doc/<id>, gets odd values: query syntax fragments, unbalanced quotes and
parentheses, huge and negative numbers, dates that do not exist, control characters, NUL,
invalid UTF-8 and lone surrogates (as the bytes a client would send), and very long values.
Whatever comes: no 5xx, no traceback, every API error is the envelope, and every page
escapes the input.

The app runs with TESTING on, so an exception in a view fails the test with its traceback
instead of becoming a 500. Runs are derandomized: CI sees the same examples every time.
scripts/fuzz_api.py sends the same kinds of values, 10,000 and more, to a real server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from markup import Markup

from searchsvc.schema import build_schema
from searchsvc.searching.forgive import mend
from searchsvc.searching.query import FIELDS, QueryError, check_syntax, parse_query

# Hypothesis keeps a cache in .hypothesis/ of the working directory: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "searchsvc-hypothesis")
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    # One test client serves every example; it keeps no state between requests.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ENVELOPE = {"ok", "error", "status"}
TRACEBACK_SIGNS = ("Traceback (most recent call last)", 'File "/', "Error: ", "werkzeug.")

# -- values ---------------------------------------------------------------------------------------

SYNTAX = [
    "energy", "Turkmenistan", "strategic", "partnership", "AND", "OR", "NOT", "ANDNOT",
    "ANDMAYBE", "(", ")", '"', '"solar panels"', "title:", "source:", "place:", "year:",
    "month:", "category:", "body:", "date:", "id:", "exact:", "ab*", "par*", "a*", "*", "?",
    "te?t", "~", "~2", "~9", "turkmenstan~", "x~2/1", "^", "^2", "^-1", "[", "]", "{", "}",
    "TO", "[a TO z]", "{2020 TO 2023]", "\\", ":", "::", "-", "+", "!", "&&", "||", "/",
    "'", "`", "%", "%00", "&amp;", "<script>", "\u0000", "\t", "\n", "\r", "\x7f", "\u200b",
    "\u202e", "\ufeff", "Aşgabat", "Ашхабад", "عشق آباد", "🇹🇲", "ﬁ", "İ", "ß", "a" * 300,
]  # fmt: skip
NUMBERS = [
    "0", "1", "-1", "2", "100", "101", "10000", "-0", "+3", " 7 ", "1.5", "1e3", "0x10",
    "1_000", "١٢", "９", "NaN", "inf", "", "9" * 20, "9" * 5000, "-" + "9" * 30, "2**64",
    "18446744073709551616", "\u0000", "1\u0000", "½",
]  # fmt: skip
DATES = [
    "2023", "2023-05", "2023-05-04", "5 May 2023", "December 2023", "2023-02-29", "2024-02-30",
    "2023-13-01", "2023-00-10", "0000", "0000-00-00", "0001-01-01", "9999-12-31", "10000",
    "99999-01-01", "-2023", "2023-05-04T25:61:61", "2023-05-04T12:00+05:00",
    "0001-01-01T00:00+05:00", "9999-12-31T23:00-05:00", "31 Febtember", "yesterday", "now",
    "May", "5", "1e9", "2023/05/04", "04.05.2023", "٢٠٢٣", "2023\u0000", "x" * 100,
]  # fmt: skip
SORTS = ["relevance", "newest", "oldest", "", "RELEVANCE", "random", "\u0000", "newest "]
PARAMS = ["q", "from", "to", "sort", "page", "size", "source", "category", "place", "year",
          "month"]  # fmt: skip
UNKNOWN = ["_external", "_scheme", "_anchor", "doc_id", "q[]", "", "page ", "Q"]

odd_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
fragments = st.lists(st.sampled_from(SYNTAX) | odd_text, min_size=1, max_size=8)
query = st.one_of(
    fragments.map(" ".join),
    fragments.map("".join),
    odd_text,
    st.sampled_from(["x" * 2000, "x " * 1000, "y" * 2001, "(" * 1000, '"' * 1001, "a~ " * 7]),
)
number = st.sampled_from(NUMBERS) | st.integers().map(str)
date = st.sampled_from(DATES) | odd_text
# What a client might put on the wire: bytes that are not UTF-8, lone surrogates as UTF-8.
raw_bytes = st.binary(max_size=12) | st.sampled_from(
    [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"%", b"%zz", b"\x00", b"&q=1", b"#x"]
)
VALUES = {
    "q": query,
    "from": date,
    "to": date,
    "sort": st.sampled_from(SORTS) | odd_text,
    "page": number,
    "size": number,
    "source": st.sampled_from(["nCa", "Trend", "", "<b>x</b>"]) | odd_text,
    "category": odd_text,
    "place": st.sampled_from(["Ashgabat", "ASHGABAT"]) | odd_text,
    "year": st.sampled_from(["2023", "0", "-1", "99999"]) | odd_text,
    "month": st.sampled_from(["2023-05", "2023-13", "05"]) | odd_text,
}


def _encode(value: str | bytes) -> str:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(data, safe="")


@st.composite
def query_strings(draw) -> tuple[str, dict[str, str]]:
    """A query string of odd values, and the text values it carries."""
    names = draw(st.lists(st.sampled_from(PARAMS), min_size=1, max_size=6, unique=True))
    texts = {name: draw(VALUES[name]) for name in names}
    pairs = [f"{_encode(n)}={_encode(v)}" for n, v in texts.items()]
    if draw(st.booleans()):  # noise: unknown names, a repeated name, raw bytes
        noise = draw(st.sampled_from(UNKNOWN + PARAMS))
        pairs.append(f"{_encode(noise)}={_encode(draw(raw_bytes | odd_text))}")
    return "&".join(pairs), texts


# -- checks --------------------------------------------------------------------------------------


def check_api(response) -> dict:
    """No 5xx, no traceback; an error is exactly the envelope with the HTTP status."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/json"
    text = response.get_data(as_text=True)
    assert not any(sign in text for sign in TRACEBACK_SIGNS[:2]), text[:300]
    body = response.get_json()
    if response.status_code >= 400:
        assert set(body) == ENVELOPE, body
        assert body["ok"] is False and body["status"] == response.status_code
        assert isinstance(body["error"], str) and body["error"]
    else:
        assert body["ok"] is True
    return body


def _as_browser_reads(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_page(response, q: str | None = None) -> Markup:
    """No 5xx, no traceback, nothing that runs; the query comes back in the box."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith("text/html")
    html = response.get_data(as_text=True)
    assert not any(sign in html for sign in TRACEBACK_SIGNS[:2]), html[:300]
    page = Markup(html)
    assert page.problems() == []
    if q is not None:
        (box,) = [a for t, a, _ in page.tags if t == "input" and a.get("id") == "q"]
        # A browser folds CR and CRLF into LF as it reads a page; some versions of Python's
        # HTMLParser do too, others keep them. Compare as a browser would show it.
        assert _as_browser_reads(box["value"]) == _as_browser_reads(q)
    return page


# -- the tests -----------------------------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(case=query_strings())
def test_search_api_and_page_never_fail(client, case):
    qs, texts = case
    body = check_api(client.get("/api/search?" + qs))
    if body["ok"]:
        assert len(body["results"]) <= body["size"] <= 100
    response = client.get("/?" + qs)
    plain = "q" in texts and not qs.count("q=") > 1 and "\x00" not in texts["q"]
    check_page(response, texts["q"] if plain and response.status_code == 200 else None)


@settings(FUZZ, max_examples=100)
@given(q=query)
def test_query_text_never_fails(client, q):
    body = check_api(client.get("/api/search?q=" + _encode(q)))
    if not body["ok"]:
        assert body["status"] == 400
    check_page(client.get("/?q=" + _encode(q)))


doc_ids = st.one_of(
    odd_text.filter(bool),
    st.sampled_from(
        ["000_151069118a277199", "..", "../..", "a/../b", "%2e%2e", "x" * 5000, "a//b", " "]
    ),
    st.lists(st.sampled_from(SYNTAX), min_size=1, max_size=4).map("/".join),
)


@settings(FUZZ, max_examples=80)
@given(doc_id=doc_ids | raw_bytes.filter(bool), q=st.none() | query)
def test_document_api_and_page_never_fail(client, doc_id, q):
    path = _encode(doc_id).replace("%2F", "/")
    suffix = "" if q is None else "?q=" + _encode(q)
    body = check_api(client.get(f"/api/documents/{path}{suffix}"))
    assert body["ok"] or body["status"] in (404, 405)
    body = check_api(client.get(f"/api/documents/{path}/similar{suffix}"))
    assert body["ok"] or body["status"] in (404, 405)
    check_page(client.get(f"/doc/{path}{suffix}"))


SCHEMA = build_schema()


@settings(FUZZ, max_examples=300)
@given(text=fragments.map(" ".join) | fragments.map("".join))
def test_parser_raises_only_query_errors(text):
    try:
        parse_query(text, SCHEMA)
    except QueryError as exc:
        assert str(exc)


# -- what fuzzing found: each of these was a 500 ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/search?from=9999-12-31",  # the end of the last day overflowed datetime
        "/api/search?to=9999-12-31",
        "/api/search?from=0001-01-01T00:00%2B05:00",  # before year 1 in UTC
        "/api/search?q=NOT+NOT+energy",  # Whoosh's parser raised IndexError
        "/api/search?q=energy+NOT+NOT+(gas)",
        "/?q=NOT+NOT+energy",
        "/doc/000_151069118a277199?q=NOT+NOT+energy",
    ],
)
def test_former_server_errors(client, url):
    response = client.get(url)
    if url.startswith("/api/"):
        check_api(response)
    else:
        check_page(response)


@settings(FUZZ, max_examples=300)
@given(text=fragments.map(" ".join) | fragments.map("".join))
def test_mended_text_reads_as_typed(text):
    # The forgiving reading turns (nearly) any text into one the language reads as typed;
    # what it cannot mend is read as plain words, in read_query.
    mended = mend(text, FIELDS)
    try:
        check_syntax(mended.text)
    except QueryError as exc:
        pytest.fail(f"{text!r} mended as {mended.text!r}: {exc}")
    if not mended.reasons:
        assert mended.text == " ".join(text.split())
