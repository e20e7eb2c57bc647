"""The Atom feed of a search, read back as feed readers read it.

Each feed is parsed twice: by feedparser (the parser many Python feed readers use; its
``bozo`` flag must stay 0) and by lxml, for structural checks of what RFC 4287 requires
of an Atom 1.0 document (``atom_problems``). RFC 4287's RelaxNG schema is informative and
we found it in no PyPI or Debian package to depend on, so the required elements are
checked one by one instead: feed id, title, updated; entry id, title, updated, an author
(its own or the feed's), an alternate link or content; dates with a time zone.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import feedparser
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from lxml import etree
from markup import Markup, fragment_problems

from searchsvc.searching import PARAMS
from searchsvc.web import create_app

# Hypothesis keeps a cache in .hypothesis/ of the working directory: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "searchsvc-hypothesis")

NS = {"a": "http://www.w3.org/2005/Atom"}
A = "{http://www.w3.org/2005/Atom}"  # the namespace, as lxml spells tags
SEED_IDS = {
    "000_151069118a277199", "001_1cd7d1af4bda551f", "002_77df0451d7f08fe1",
    "003_ec0c8cdd937fe39f", "004_0c8e5b5424d9bbd8",
}  # fmt: skip


def _rfc3339(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, f"{text} has no time zone"
    return value


def atom_problems(xml: bytes) -> list[str]:
    """What this document lacks or holds against RFC 4287's rules for feeds and entries."""
    root = etree.fromstring(xml)
    found = [] if root.tag == A + "feed" else [f"root is {root.tag}"]

    def one(parent, name: str, where: str) -> None:
        count = len(parent.findall(f"a:{name}", NS))
        if count != 1:
            found.append(f"{where} has {count} atom:{name}")
        elif name in ("updated", "published"):
            _rfc3339(parent.find(f"a:{name}", NS).text)

    for name in ("id", "title", "updated"):
        one(root, name, "feed")
    feed_author = root.find("a:author/a:name", NS) is not None
    for n, entry in enumerate(root.findall("a:entry", NS)):
        for name in ("id", "title", "updated"):
            one(entry, name, f"entry {n}")
        if entry.find("a:published", NS) is not None:
            one(entry, "published", f"entry {n}")
        if not (feed_author or entry.find("a:author/a:name", NS) is not None):
            found.append(f"entry {n} has no author, nor has the feed")
        alternates = [
            (link.get("type"), link.get("hreflang"))
            for link in entry.findall("a:link", NS)
            if link.get("rel", "alternate") == "alternate"
        ]
        if entry.find("a:content", NS) is None and not alternates:
            found.append(f"entry {n} has neither content nor an alternate link")
        if len(alternates) != len(set(alternates)):
            found.append(f"entry {n} has two alternate links of one type and language")
        for link in entry.findall("a:link", NS) + root.findall("a:link", NS):
            if not link.get("href"):
                found.append(f"a link without href in entry {n}")
    for element in root.iter(A + "summary", A + "title"):
        if element.get("type", "text") not in ("text", "html", "xhtml"):
            found.append(f"{element.tag} of type {element.get('type')}")
    for id_ in root.iter(A + "id"):
        if not urlsplit(id_.text or "").scheme:
            found.append(f"id {id_.text!r} is not an IRI")
    return found


def test_the_structural_check_finds_what_is_missing():
    bad = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><updated>2024-01-01</updated>'
        b"<entry><id>x</id><title>a</title><link href='http://a/'/><link href='http://b/'/>"
        b"<updated>2024-01-01T00:00:00Z</updated></entry></feed>"
    )
    with pytest.raises(AssertionError, match="no time zone"):
        atom_problems(bad)
    bad = bad.replace(b"<updated>2024-01-01</updated>", b"")
    assert atom_problems(bad) == [
        "feed has 0 atom:id",
        "feed has 0 atom:updated",
        "entry 0 has no author, nor has the feed",
        "entry 0 has two alternate links of one type and language",
        "id 'x' is not an IRI",
    ]


def read(client, url: str, status: int = 200, headers: dict | None = None):
    """(response, feedparser's reading, lxml root) of a valid feed."""
    response = client.get(url, headers=headers or {})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert atom_problems(response.data) == []
    return response, parsed, etree.fromstring(response.data)


def doc_id(entry) -> str:
    return urlsplit(entry.id).path.removeprefix("/doc/")


def published(parsed) -> list[str]:
    return [e.published for e in parsed.entries]


# -- the acceptance: a valid feed, newest first, and polling ------------------------------------


def test_turkmenistan_feed_is_valid_atom_newest_first(client):
    response, parsed, _ = read(client, "/search.atom?q=Turkmenistan")
    assert len(parsed.entries) == 5
    assert {doc_id(e) for e in parsed.entries} == SEED_IDS
    dates = published(parsed)
    assert dates == sorted(dates, reverse=True)
    assert response.headers["ETag"] and response.headers["Last-Modified"]

    again = client.get(
        "/search.atom?q=Turkmenistan", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]


def test_entries_carry_title_links_dates_source_and_summary(client):
    _, parsed, root = read(client, "/search.atom?q=strategic+partnership")
    entry = next(e for e in parsed.entries if doc_id(e) == "001_1cd7d1af4bda551f")
    assert entry.id == "http://localhost/doc/001_1cd7d1af4bda551f"
    assert entry.link == "http://localhost/doc/001_1cd7d1af4bda551f?q=strategic+partnership"
    assert entry.published.startswith("2023-05-05T00:00:00") and entry.updated == entry.published
    assert entry.author == "nCa"
    assert entry.summary_detail.type == "text/html"
    (xml,) = [
        e for e in root.findall("a:entry", NS) if e.findtext("a:id", namespaces=NS) == entry.id
    ]
    summary = xml.find("a:summary", NS)
    assert summary.get("type") == "html"
    assert "<mark>" in summary.text and fragment_problems(summary.text) == []


def test_feed_says_what_the_search_is(client):
    _, parsed, _ = read(client, "/search.atom?q=energy&from=2023")
    assert parsed.feed.title == "searchsvc: energy, from 2023"
    assert "energy, from 2023" in parsed.feed.subtitle and "newest first" in parsed.feed.subtitle
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "http://localhost/search.atom?q=energy&from=2023"
    assert args(links["alternate"]) == {"q": "energy", "from": "2023", "sort": "newest"}
    _, parsed, _ = read(client, "/search.atom?source=Trend&month=2023-05")
    assert parsed.feed.title == "searchsvc: latest releases, month May 2023, source Trend"


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("q=energy&from=since+2019", "searchsvc: energy, since 2019"),  # was "from since 2019"
        ("q=energy&from=past+week", "searchsvc: energy, past week"),  # was "from past week"
        ("q=energy&from=last+week", "searchsvc: energy, since last week"),  # to today
        ("q=energy&from=2023", "searchsvc: energy, from 2023"),
        (
            "country=TM&country=-ru",
            "searchsvc: latest releases, country Turkmenistan, country not Russia",
        ),  # was "country TM, country not ru", codes as typed
    ],
)
def test_the_feed_title_names_the_filters_as_the_page_chips_do(client, query, title):
    _, parsed, _ = read(client, f"/search.atom?{query}")
    assert parsed.feed.title == title


def test_if_modified_since(client):
    response = client.get("/search.atom?q=Turkmenistan")
    modified = response.headers["Last-Modified"]
    assert (
        client.get(
            "/search.atom?q=Turkmenistan", headers={"If-Modified-Since": modified}
        ).status_code
        == 304
    )
    earlier = format_datetime(response.last_modified - timedelta(hours=1), usegmt=True)
    assert (
        client.get(
            "/search.atom?q=Turkmenistan", headers={"If-Modified-Since": earlier}
        ).status_code
        == 200
    )


def test_a_relative_date_is_modified_at_midnight_for_if_modified_since(seeds_index):
    # The seeds were written long before "today": without the day, Last-Modified would stay
    # at the index's write, and a poller sending only If-Modified-Since would hear 304 on
    # the day the answer to "last 7 days" changes.
    soon = datetime.now(timezone.utc) + timedelta(days=30)  # after the index was written
    now = [soon.replace(hour=9, minute=30, second=0, microsecond=0)]
    settings = {"TESTING": True, "INDEX_DIR": str(seeds_index), "TIMEZONE": "Asia/Ashgabat"}
    client = create_app(settings | {"CLOCK": lambda: now[0]}).test_client()
    url = "/search.atom?q=Turkmenistan&from=last+7+days"
    first = client.get(url)
    midnight = now[0].replace(hour=0, minute=0) - timedelta(hours=5)  # Ashgabat: +05:00
    assert first.last_modified == midnight
    modified = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get(url, headers=modified).status_code == 304  # the same day
    now[0] += timedelta(days=1)
    assert client.get(url, headers=modified).status_code == 200  # the next day
    plain = client.get("/search.atom?q=Turkmenistan&from=2020")
    assert plain.last_modified < first.last_modified  # the index's write, as before


def test_if_none_match_wins_and_compares_weakly(client):
    response = client.get("/search.atom?q=Turkmenistan")
    tag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    stale = {"If-None-Match": '"stale"', "If-Modified-Since": modified}
    assert client.get("/search.atom?q=Turkmenistan", headers=stale).status_code == 200
    weak = {"If-None-Match": f'"other", W/{tag}'}  # as a gzipping proxy hands it back
    assert client.get("/search.atom?q=Turkmenistan", headers=weak).status_code == 304


def test_etag_depends_on_the_parameters(client):
    tags = {client.get(url).headers["ETag"] for url in (
        "/search.atom?q=Turkmenistan", "/search.atom?q=Turkmenistan&size=2",
        "/search.atom?q=energy", "/search.atom",
    )}  # fmt: skip
    assert len(tags) == 4
    stale = client.get("/search.atom?q=energy").headers["ETag"]
    response = client.get("/search.atom?q=Turkmenistan", headers={"If-None-Match": stale})
    assert response.status_code == 200


def test_a_changed_index_changes_the_etag(seeds_index, tmp_path):
    from searchsvc.indexing import index_paths

    folder, index = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(seeds_index.parent / "seeds", folder)
    index_paths(index, [folder], procs=1)
    client = create_app(
        {"TESTING": True, "INDEX_DIR": str(index), "REFRESH_INTERVAL": 0}
    ).test_client()
    first = client.get("/search.atom?q=Turkmenistan")
    tag = first.headers["ETag"]
    assert (
        client.get("/search.atom?q=Turkmenistan", headers={"If-None-Match": tag}).status_code == 304
    )

    (folder / "zz_new.txt").write_text(
        " date 2026-12-01 1 December 2026\n\nTurkmenistan opens a new port\n\n"
        "ASHGABAT, 1 December 2026. Turkmenistan opened a new port on the Caspian.\n",
        encoding="utf-8",
    )
    index_paths(index, [folder], procs=1)
    response, parsed, _ = read(
        client, "/search.atom?q=Turkmenistan", headers={"If-None-Match": tag}
    )
    assert response.headers["ETag"] != tag
    assert len(parsed.entries) == 6 and doc_id(parsed.entries[0]) == "zz_new"
    assert parsed.entries[0].title == "Turkmenistan opens a new port"


def test_another_answer_from_the_same_index_changes_the_etag(app, client):
    tag = client.get("/search.atom?q=Turkmenistan").headers["ETag"]
    backend = app.extensions["searchsvc.backend"]
    search = backend.search

    def one_less(req, deadline=None, today=None):  # as tomorrow's answer to last 7 days
        result = search(req, deadline, today)
        return replace(result, hits=result.hits[1:], total=result.total - 1)

    app.extensions["searchsvc.backend"] = SimpleNamespace(
        search=one_less, freshness=backend.freshness
    )
    response = client.get("/search.atom?q=Turkmenistan", headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["ETag"] != tag


# -- parameters: filters, dates, size; sort is always newest -------------------------------------


@pytest.mark.parametrize(
    ("query", "count", "years"),
    [
        ("q=Turkmenistan&source=Trend", 1, None),
        ("q=Turkmenistan&from=2023&to=2023-12", 3, {"2023"}),
        ("q=partnership&year=2023&month=2023-05", 2, {"2023"}),
        ("q=Turkmenistan&size=2", 2, None),
        ("q=Turkmenistan&size=2&page=3", 1, None),
        ("q=Turkmenistan&sort=oldest", 5, None),
        ("q=Turkmenistan&sort=relevance", 5, None),
        ("", 5, None),
        ("q=zzzzqx", 0, None),
    ],
)
def test_filters_dates_and_size_apply(client, query, count, years):
    _, parsed, _ = read(client, f"/search.atom?{query}")
    assert len(parsed.entries) == count
    dates = published(parsed)
    assert dates == sorted(dates, reverse=True)
    if years:
        assert {d[:4] for d in dates} == years


def test_twenty_five_entries_by_default(docs_index):
    client = create_app({"TESTING": True, "INDEX_DIR": str(docs_index)}).test_client()
    total = client.get("/api/search").get_json()["total"]
    _, parsed, _ = read(client, "/search.atom")
    assert len(parsed.entries) == min(total, 25)
    _, parsed, _ = read(client, "/search.atom?size=100")
    assert len(parsed.entries) == min(total, 100)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("q=energy&from=bogus", "bogus"),
        ("q=energy&to=31+Febtember", "Febtember"),
        ("size=101", "size"),
        ("size=0", "size"),
        ("page=abc", "abc"),
        ("q=title:(&strict=true", ""),
        ("q=" + "a" * 2001 + "&strict=true", "2,001"),  # unstrict: cut at a word
    ],
)
def test_a_bad_parameter_is_a_plain_400(client, query, words):
    response = client.get(f"/search.atom?{query}")
    assert response.status_code == 400
    assert response.content_type == "text/plain; charset=utf-8"
    assert words in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_past_the_deadline_is_a_503(seeds_index):
    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index), "REQUEST_TIMEOUT": 1e-9})
    response = app.test_client().get("/search.atom?q=pre*")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "took too long" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=%01%02energy", "q=%EF%BF%BE", "q=%ED%A0%80", "source=%00", "q=%22", "q=*",
     "q=energy&_external=1", "q=energy&_scheme=javascript", "from=9999-12-31"],
)  # fmt: skip
def test_odd_values_are_never_a_500(client, query):
    response = client.get(f"/search.atom?{query}")
    assert response.status_code in (200, 400), response.data[:300]
    if response.status_code == 200:
        read(client, f"/search.atom?{query}")


odd_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
samples = st.sampled_from(
    ["Turkmenistan", "2023", "2023-05", "nCa", "5", "0", "101", "-1", "9" * 40, "title:(",
     '"', "*", "a~", "\x00", "\ufffe", "\ud800", "<script>", "newest", "oldest"]
)  # fmt: skip


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.dictionaries(st.sampled_from([p.name for p in PARAMS]), samples | odd_text, max_size=5))
def test_any_parameters_answer_a_valid_feed_or_a_plain_400(client, values):
    wire = "&".join(
        f"{n}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for n, v in values.items()
    )
    response = client.get(f"/search.atom?{wire}")
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: both kinds come
    assert response.status_code in (200, 400), response.data[:300]
    if response.status_code == 400:
        assert response.content_type == "text/plain; charset=utf-8"
        return
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0 and atom_problems(response.data) == []
    dates = published(parsed)
    assert dates == sorted(dates, reverse=True)


# -- escaping: hostile titles, bodies, sources and URLs ----------------------------------------


@pytest.fixture
def hostile(hostile_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(hostile_index)}).test_client()


@pytest.mark.parametrize(
    "q", ["zanzibar", "zanzibar script alert", "<script>alert(1)</script>", "img onerror", "lt gt"]
)
def test_hostile_content_stays_text(hostile, q):
    response = hostile.get("/search.atom", query_string={"q": q})
    assert response.status_code == 200
    _, parsed, root = read(hostile, response.request.full_path)
    for entry in root.findall("a:entry", NS):
        summary = entry.find("a:summary", NS)
        assert fragment_problems(summary.text) == [], summary.text
        assert entry.find("a:title", NS).get("type", "text") == "text"
    assert b"<script" not in response.data and b"<img" not in response.data


def test_hostile_fields_arrive_exactly_as_written(hostile):
    _, parsed, root = read(hostile, "/search.atom?q=zanzibar")
    by_id = {doc_id(e): e for e in parsed.entries}
    hostile_entry = by_id["press/hostile"]
    assert hostile_entry.title == "Zanzibar <script>alert(1)</script> release"
    assert hostile_entry.author == "<b>Bold</b> Agency"
    summary = root.find(f"a:entry[a:id='{hostile_entry.id}']/a:summary", NS).text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in summary  # shown as text by a reader
    assert "<script>alert(2)</script>" in Markup(summary).text and fragment_problems(summary) == []


def test_related_link_only_for_http_urls(hostile):
    _, parsed, root = read(hostile, "/search.atom?q=zanzibar")
    related = {
        doc_id(e): [link.href for link in e.links if link.rel == "related"] for e in parsed.entries
    }
    assert related == {
        "press/hostile": [],  # its URL is javascript:, never a link
        "press/safe": ["https://example.org/news/zanzibar?a=1&b=2"],
    }
    for link in root.iter(A + "link"):
        assert link.get("href").startswith(("http://localhost/", "https://example.org/"))


def test_control_characters_are_left_out(tmp_path):
    from searchsvc.indexing import index_paths

    (tmp_path / "docs").mkdir()
    record = (
        '{"id": "ctl", "title": "Zanzibar \\u0001bell\\u0007 \\u000b", '
        '"body": "Zanzibar text\\u0000 with \\u0008controls\\ufffe", "source": "\\u0002", '
        '"category": "\\u0003cat", "date": "2024-01-02", "url": "https://example.org/\\u0001x"}'
    )
    (tmp_path / "docs" / "c.jsonl").write_text(record + "\n", encoding="utf-8")
    index_paths(tmp_path / "index", [tmp_path / "docs"], procs=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client()
    _, parsed, _ = read(client, "/search.atom?q=zanzibar")
    (entry,) = parsed.entries
    assert entry.title.startswith("Zanzibar") and "\x01" not in entry.title


# -- the results page links to the feed ----------------------------------------------------------


def args(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_results_page_links_to_its_feed(client):
    html = client.get("/?q=energy&from=2023&sort=oldest&page=1&source=Trend").get_data(as_text=True)
    page = Markup(html)
    (head,) = [a for t, a, _ in page.tags if t == "link" and a.get("rel") == "alternate"]
    assert head["type"] == "application/atom+xml"
    (follow,) = [a for t, a, _ in page.tags if t == "a" and a.get("class") == "follow"]
    assert "Follow this search" in page.text
    for href in (head["href"], follow["href"]):
        assert urlsplit(href).path == "/search.atom"
        assert args(href) == {"q": "energy", "from": "2023", "source": "Trend"}
    read(client, follow["href"])


def test_no_feed_link_for_a_search_that_cannot_run(client):
    page = Markup(client.get("/?q=energy&from=bogus").get_data(as_text=True))
    assert not [a for t, a, _ in page.tags if t == "link" and a.get("rel") == "alternate"]
