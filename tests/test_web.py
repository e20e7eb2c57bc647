"""The search and document pages, read back through an HTML parser.

Pages are parsed, not grepped: ``Page`` records every tag with its attributes and the
classes of the elements around it, so a test can ask which tags sit inside a snippet.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from markup import PAGE_TAGS, VOID

from searchsvc.web import create_app
from searchsvc.web.pages import page_numbers, safe_link

OUR_TAGS = PAGE_TAGS  # every tag the templates write, and the <mark> of snippets


class Page(HTMLParser):
    """Every tag of a page, with its attributes and the classes of its ancestors."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict, list[str]]] = []
        self.text: dict[str, list[str]] = {}
        self._stack: list[tuple[str, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        around = [c for _, classes in self._stack for c in classes]
        self.tags.append((tag, attrs, around))
        if tag not in VOID:
            self._stack.append((tag, (attrs.get("class") or "").split()))

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, classes in self._stack:
            for c in classes:
                self.text.setdefault(c, []).append(data)

    def find(self, tag: str, cls: str | None = None) -> list[dict]:
        """Attributes of each `tag` (with class `cls`, if given)."""
        return [a for t, a, _ in self.tags if t == tag and (cls is None or _has(a, cls))]

    def find_in(self, tag: str, cls: str) -> list[dict]:
        """Attributes of each `tag` inside an element of class cls."""
        return [a for t, a, around in self.tags if t == tag and cls in around]

    def inside(self, cls: str) -> list[str]:
        """Tags found inside elements of class cls."""
        return [t for t, _, around in self.tags if cls in around]

    def texts(self, cls: str) -> str:
        """All text inside elements of class cls, joined."""
        return " ".join("".join(self.text.get(cls, [])).split())


def _has(attrs: dict, cls: str) -> bool:
    return cls in (attrs.get("class") or "").split()


def load(client, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    assert response.content_type.startswith("text/html")
    return Page(response.get_data(as_text=True))


def args(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def without(params: dict, *names: str) -> dict:
    return {k: v for k, v in params.items() if k not in names}


# -- the search page ------------------------------------------------------------------------


def test_results_with_marked_snippets(client):
    page = load(client, "/?q=strategic+partnership")
    assert len(page.find("li", "result")) == 5
    assert page.inside("snippet").count("mark") >= 5
    assert "5 results" in page.texts("summary")
    links = [a["href"] for a in page.find_in("a", "result-title")]
    assert "/doc/000_151069118a277199?q=strategic+partnership" in links


def test_query_is_kept_in_the_box(client):
    page = load(client, "/?q=%22solar+panels%22+%3Cb%3E")
    (box,) = [a for a in page.find("input") if a.get("id") == "q"]
    assert box["value"] == '"solar panels" <b>'


@pytest.mark.parametrize(
    ("url", "value", "words"),
    [
        ("/?q=title:(&strict=true", "title:(", ""),
        ("/?q=AND+OR&strict=true", "AND OR", "AND"),
        ("/?q=energy&from=bogus", "energy", "bogus"),
        ("/?q=energy&page=abc", "energy", "abc"),
        ("/?q=energy&size=500", "energy", "size"),
    ],
)
def test_errors_show_in_the_page_with_400(client, url, value, words):
    page = load(client, url, status=400)
    assert page.texts("alert-message") and words in page.texts("alert-message")
    (box,) = [a for a in page.find("input") if a.get("id") == "q"]
    assert box["value"] == value


def bars(page: Page) -> dict[str, str]:
    """The timeline chart's bars: each one's label (aria-label) and link."""
    return {a["aria-label"]: a["href"] for a in page.find("a", "chart-bar")}


def test_timeline_chart_year_then_month_then_days(client):
    page = load(client, "/?q=partnership")  # 2020 to 2026: a bar a year, empty ones too
    years = bars(page)
    assert list(years) == [
        "2020: 1 release", "2021: 0 releases", "2022: 0 releases", "2023: 3 releases",
        "2024: 0 releases", "2025: 0 releases", "2026: 1 release",
    ]  # fmt: skip
    assert "5 dated releases by year" in page.texts("timeline-caption")
    assert args(years["2023: 3 releases"]) == {"q": "partnership", "from": "2023", "to": "2023"}

    page = load(client, years["2023: 3 releases"])  # 5 May to 5 Dec: 32 weeks
    assert len(page.find("li", "result")) == 3
    weeks = bars(page)
    assert len(weeks) == 32 and sum(label.endswith(" 1 release") for label in weeks) == 3
    first = "1 May 2023 – 7 May 2023: 1 release"  # weeks start on Monday
    assert list(weeks)[0] == first
    assert args(weeks[first]) == {"q": "partnership", "from": "2023-05-01", "to": "2023-05-07"}

    page = load(client, weeks[first])
    assert [t["datetime"] for t in page.find_in("time", "meta")] == ["2023-05-05"]
    assert list(bars(page)) == ["5 May 2023: 1 release"]


@pytest.fixture
def year_client(year_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(year_index)}).test_client()


def test_a_year_shows_months_and_a_month_days(year_client):
    page = load(year_client, "/?q=harbour")
    months = bars(page)
    assert len(months) == 12 and all(label.endswith(": 2 releases") for label in months)
    march = months["March 2023: 2 releases"]
    assert args(march) == {"q": "harbour", "from": "2023-03", "to": "2023-03"}
    page = load(year_client, march)
    assert {t["datetime"][:7] for t in page.find_in("time", "meta")} == {"2023-03"}
    (chip,) = page.find("a", "chip")  # from and to are one filter, shown and removed as one
    assert "Dates 2023-03" in page.texts("chip") and args(chip["href"]) == {"q": "harbour"}
    days = bars(page)
    assert len(days) == 15 and list(days)[0] == "3 Mar 2023: 1 release"
    # The source gave a time of day for this one: the result shows it, and its page.
    assert "17 Mar 2023, 14:30 UTC" in page.texts("meta")
    page = load(year_client, "/doc/harbour-2023-03-17")
    assert "17 March 2023, 14:30 UTC" in page.texts("document-meta")
    plain = load(year_client, "/doc/harbour-2023-03-03").texts("document-meta")
    assert "3 March 2023" in plain and "3 March 2023," not in plain


def test_a_bar_replaces_year_and_month_filters(client):
    """The chart and from/to are one date filter: a bar's link drops year and month."""
    page = load(client, "/?q=partnership&year=2023&month=2023-05&source=nCa")
    links = [args(href) for href in bars(page).values()]
    assert links and all("year" not in a and "month" not in a for a in links)
    assert all(a["source"] == "nCa" and a["from"] == a["to"] for a in links)
    (clear,) = page.find("a", "timeline-clear")
    assert args(clear["href"]) == {"q": "partnership", "source": "nCa"}


def test_bars_are_cut_to_the_date_filter(year_client):
    page = load(year_client, "/?q=harbour&from=2023-03-15&to=2023-11-04")
    weeks = list(bars(page))
    assert weeks[0] == "15 Mar 2023 – 19 Mar 2023: 1 release"  # the week of Monday 13 March
    assert weeks[-1] == "30 Oct 2023 – 4 Nov 2023: 1 release"
    assert args(bars(page)[weeks[0]])["from"] == "2023-03-15"


def test_no_chart_without_dated_matches(client):
    page = load(client, "/?q=zzzzqqq")
    assert not page.find("svg") and not page.find("a", "chart-bar")


def test_active_filters_are_shown_and_removable(client):
    page = load(client, "/?q=partnership&year=2023&month=2023-05&source=nCa&from=2023")
    names = [name.strip() for name in page.text["chip-name"]]
    removes = {name: args(a["href"]) for name, a in zip(names, page.find("a", "chip"), strict=True)}
    assert list(removes) == ["Dates", "Year", "Month", "Source"]
    assert "from 2023" in page.texts("chips")
    everything = {"q": "partnership", "year": "2023", "month": "2023-05", "from": "2023"}
    assert removes["Source"] == everything
    assert removes["Month"] == {**without(everything, "month"), "source": "nCa"}
    assert removes["Year"] == {**without(everything, "year", "month"), "source": "nCa"}
    assert "May 2023" in page.texts("chips")
    (clear,) = page.find("a", "clear-all")
    assert args(clear["href"]) == {"q": "partnership"}


def test_facets_with_counts_toggle(client):
    page = load(client, "/?q=Turkmenistan")
    facets = {args(a["href"]).get("source"): a for a in page.find("a", "facet")}
    assert {"Trend", "Report", "nCa"} <= set(facets)
    assert "Trend 1" in page.texts("facet-list")
    page = load(client, facets["Trend"]["href"])
    assert len(page.find("li", "result")) == 1
    (active,) = [a for a in page.find("a", "facet") if "is-active" in a["class"]]
    assert "source" not in args(active["href"])  # clicking it again removes it


def test_date_range_form_has_labels_and_keeps_the_search(client):
    page = load(client, "/?q=partnership&source=Trend&from=2020")
    names = {a["name"]: a.get("value") for a in page.find("input") if a.get("type") == "hidden"}
    assert names.get("q") == "partnership" and names.get("source") == "Trend"
    (start,) = [a for a in page.find("input") if a.get("id") == "from"]
    assert start["type"] == "date" and start["value"] == "2020-01-01"  # what 2020 resolved to
    # The browser's date picker is hinted with the index's real first and last dates,
    # widened to hold the days shown (else the browser refuses the form it fills in).
    assert (start["min"], start["max"]) == ("2020-01-01", "2026-02-27")
    page = load(client, "/?q=partnership&from=2022")
    (start,) = [a for a in page.find("input") if a.get("id") == "from"]
    assert (start["min"], start["max"]) == ("2020-12-17", "2026-02-27")
    assert "Releases run from 17 Dec 2020 to 27 Feb 2026" in page.texts("panel-hint")
    # Year and month are the same filter as from/to: the form does not carry them.
    page = load(client, "/?q=partnership&year=2023&month=2023-05")
    hidden = {a["name"] for a in page.find_in("input", "date-range") if a["type"] == "hidden"}
    assert hidden == {"q"}
    quick = [args(a["href"]) for a in page.find("a", "quick-range")]
    assert {"q": "partnership", "from": "past week"} in quick
    assert all("year" not in a and "month" not in a for a in quick)


@pytest.mark.parametrize("url", ["/", "/?q=partnership&year=2023", "/?q=zzzz", "/?q=AND"])
def test_every_form_control_has_a_label(client, url):
    page = Page(client.get(url).get_data(as_text=True))
    labelled = {a["for"] for a in page.find("label")}
    controls = [a for t, a, _ in page.tags if t in ("input", "select", "textarea")]
    visible = [a for a in controls if a.get("type") != "hidden"]
    assert visible and all(a.get("id") in labelled for a in visible)


@pytest.mark.parametrize("extra", ["_external=1", "_scheme=https", "_anchor=x", "doc_id=1"])
def test_unknown_parameters_are_ignored(client, extra):
    page = load(client, f"/?q=partnership&year=2023&{extra}")
    hrefs = [a["href"] for a in page.find("a", "chart-bar") + page.find_in("a", "result-title")]
    assert hrefs and all(h.startswith("/") and extra not in h for h in hrefs)


def test_sort_links(client):
    page = load(client, "/?q=partnership")
    sorts = {a["href"] for a in page.find("a", "sort-option")}
    newest = next(h for h in sorts if args(h).get("sort") == "newest")
    page = load(client, newest)
    dates = [t["datetime"] for t in page.find("time")]
    assert len(dates) == 5 and dates == sorted(dates, reverse=True)


def test_pagination(client):
    page = load(client, "/?q=Turkmenistan&size=2")
    pager = {a["rel"]: a["href"] for a in page.find("a", "pager-step")}
    assert args(pager["next"])["page"] == "2" and "prev" not in pager
    page = load(client, pager["next"])
    assert len(page.find("li", "result")) == 2
    assert "Page 2 of 3" in page.texts("summary-meta")


@pytest.mark.parametrize(
    ("page", "pages", "expected"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 40, [1, 2, 3, None, 40]),
        (20, 40, [1, None, 18, 19, 20, 21, 22, None, 40]),
        (40, 40, [1, None, 38, 39, 40]),
    ],
)
def test_page_numbers(page, pages, expected):
    assert page_numbers(page, pages) == expected


def test_page_past_the_end(client):
    page = load(client, "/?q=Turkmenistan&size=2&page=7")
    assert "results end on page 3" in page.texts("empty")
    meta = page.texts("summary-meta")
    assert "Page 7 of 3" not in meta and "Page 3 of 3" not in meta  # no page to count
    assert {"q": "Turkmenistan", "size": "2", "page": "3"} in [
        args(a["href"]) for a in page.find_in("a", "empty")
    ]


def test_did_you_mean_and_no_results(client):
    page = load(client, "/?q=turkmenstan")
    (link,) = page.find_in("a", "did-you-mean")
    assert args(link["href"]) == {"q": "turkmenistan"}
    assert "Did you mean" in page.texts("did-you-mean")
    assert "No releases match" in page.texts("empty")


def test_no_results_with_filters_offers_to_drop_them(client):
    page = load(client, "/?q=partnership&source=Nobody")
    assert "with these filters" in page.texts("empty")
    assert {"q": "partnership"} in [args(a["href"]) for a in page.find_in("a", "empty")]


def test_empty_query_lists_newest_first_with_the_total(client):
    page = load(client, "/")
    assert "5 releases" in page.texts("summary") and "Newest first" in page.texts("is-current")
    assert [a["href"] for a in page.find("a", "sort-option")] == ["/?sort=oldest"]
    dates = [t["datetime"] for t in page.find_in("time", "meta")]
    assert len(dates) == 5 and dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("blank", ["%20%20", "%09", "%E3%80%80"])  # spaces, a tab, ideographic
def test_a_blank_query_is_the_listing_not_a_search_for_spaces(client, blank):
    """Before: /?q=%20%20 listed every release newest first (the engine reads it as empty)
    but the page said '5 results for “  ”', titled itself '   · searchsvc' and offered a
    Relevance sort that a listing does not have."""
    page = load(client, f"/?q={blank}")
    assert "5 releases" in page.texts("summary") and "results for" not in page.texts("summary")
    assert [args(a["href"]).get("sort") for a in page.find("a", "sort-option")] == ["oldest"]
    (box,) = [a for a in page.find("input") if a.get("id") == "q"]
    assert box["value"] == ""
    html = client.get(f"/?q={blank}").get_data(as_text=True)
    assert "<title>searchsvc</title>" in html


def test_results_label_their_metadata_and_mark_titles(client):
    page = load(client, "/?q=Turkmenistan+Azerbaijan")
    labels = page.texts("meta-item")
    assert "Source Trend" in labels and "Place Baku, Azerbaijan" in labels
    marked = [a for t, a, around in page.tags if t == "mark" and "result-title" in around]
    assert marked and "Turkmenistan" in page.texts("result-title")


# -- the document page ------------------------------------------------------------------------


def test_document_page_marks_the_query(client):
    page = load(client, "/doc/001_1cd7d1af4bda551f?q=strategic+partnership")
    assert page.inside("document-body").count("mark") >= 4
    assert page.inside("document-body").count("p") > 3  # paragraphs kept
    assert "5 May 2023" in page.texts("document-meta") and "nCa" in page.texts("document-meta")
    (back,) = page.find_in("a", "back")
    assert args(back["href"]) == {"q": "strategic partnership"}


def test_document_page_marks_a_typographic_phrase_as_a_phrase(client):
    def marks(q: str) -> list[str]:
        response = client.get("/doc/001_1cd7d1af4bda551f", query_string={"q": q})
        assert response.status_code == 200
        body = response.get_data(as_text=True).split('class="document-body', 1)[1]
        return re.findall(r"<mark>(.*?)</mark>", body)

    phrase = marks('"strategic partnership"')
    assert phrase and all(m.lower() == "strategic partnership" for m in phrase)
    assert marks("\u201cstrategic partnership\u201d") == phrase


def test_document_page_without_query_marks_nothing(client):
    page = load(client, "/doc/001_1cd7d1af4bda551f")
    assert "mark" not in page.inside("document-body")


def test_document_page_survives_a_bad_query(client):
    page = load(client, "/doc/001_1cd7d1af4bda551f?q=title:(")
    assert "mark" not in page.inside("document-body")


def test_unknown_document_is_a_404_page(client):
    page = load(client, "/doc/no/such/release", status=404)
    assert "no/such/release" in page.texts("error-page")


def test_unknown_page_is_a_404_page(client):
    page = load(client, "/nothing-here", status=404)
    assert "Not found" in page.texts("error-page")


def test_document_id_with_slashes(docs_index):
    client = create_app({"TESTING": True, "INDEX_DIR": str(docs_index)}).test_client()
    page = load(client, "/?q=conservation")
    doc_id = "fact-sheets/2024-04/2024-04-22-fact-sheet-earth-day-conservation"
    hrefs = [a["href"] for a in page.find_in("a", "result-title")]
    assert f"/doc/{doc_id}?q=conservation" in hrefs
    page = load(client, f"/doc/{doc_id}?q=conservation")
    assert "Washington, D.C." in page.texts("document-meta")


# -- escaping: nothing from a document or a query reaches the page as markup ---------------------


@pytest.fixture
def hostile(hostile_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(hostile_index)}).test_client()


def _assert_only_our_markup(page: Page) -> None:
    tags = {t for t, _, _ in page.tags}
    assert tags <= OUR_TAGS, tags - OUR_TAGS
    assert set(page.inside("snippet")) <= {"mark"}
    assert set(page.inside("document-body")) <= {"p", "mark"}
    assert set(page.inside("document-title")) <= {"mark"}
    for _, attrs, _ in page.tags:
        assert not any(name.startswith("on") for name in attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")


@pytest.mark.parametrize(
    "url",
    [
        "/?q=zanzibar",
        "/?q=zanzibar+script+alert",
        "/?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "/?q=zanzibar&source=%3Cb%3EBold%3C/b%3E+Agency",
        "/?q=%22%3E%3Cscript%3E&from=%3Cimg+src=x+onerror=alert(1)%3E",
        "/doc/press/hostile?q=zanzibar+script",
        "/doc/press/hostile?q=%3Cimg%3E",
        "/doc/%3Cscript%3Ealert(1)%3C/script%3E",
    ],
)
def test_nothing_from_content_or_query_is_markup(hostile, url):
    response = hostile.get(url)
    assert response.status_code in (200, 400, 404)
    html = response.get_data(as_text=True)
    _assert_only_our_markup(Page(html))
    assert "<script" not in html.lower() and "<img" not in html.lower()


def test_hostile_results_are_found_and_escaped(hostile):
    page = load(hostile, "/?q=zanzibar")
    assert len(page.find("li", "result")) == 2
    assert "<script>alert(1)</script>" in page.texts("results")  # shown as text
    assert "<b>Bold</b> Agency" in page.texts("facet-list")


def test_javascript_url_never_becomes_a_link(hostile):
    page = load(hostile, "/doc/press/hostile")
    assert not page.find("p", "original")
    assert "<img src=x onerror=alert(1)>" in page.texts("document-body")
    page = load(hostile, "/doc/press/safe")
    (link,) = [a for a in page.find("a") if a["href"].startswith("https://")]
    assert link["href"] == "https://example.org/news/zanzibar?a=1&b=2"
    assert "noopener" in link["rel"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        (" http://example.org ", "http://example.org"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//example.org/x", None),
        ("http:alert(1)", None),
        ("", None),
    ],
)
def test_safe_link(url, expected):
    assert safe_link(url) == expected


# -- headers, static files, the app factory ------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/?q=AND", "/doc/000_151069118a277199", "/doc/nope", "/api/search", "/api/x",
            "/static/style.css"],
)  # fmt: skip
def test_security_headers_on_every_response(client, url):
    with client.get(url) as response:  # a static file's response holds the file open
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_stylesheet_is_served(client):
    with client.get("/static/style.css") as response:
        assert response.status_code == 200 and response.content_type.startswith("text/css")
        assert b".chart-fill" in response.data


def test_no_inline_style_or_script(client):
    page = load(client, "/?q=partnership&year=2023")
    assert not [a for _, a, _ in page.tags if "style" in a]
    assert not page.find("style") and not page.find("script")


def test_unexpected_failure_is_a_500_page(broken_app):
    app = broken_app
    response = app.test_client().get("/?q=x")
    assert response.status_code == 500 and b"disk on fire" not in response.data
    assert "Content-Security-Policy" in response.headers


def test_create_app_opens_no_index(tmp_path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "missing")})
    assert "searchsvc.backend" not in app.extensions
    page = load(app.test_client(), "/", status=503)
    assert "searchsvc index" in page.texts("error-page")


def test_one_engine_per_app(app):
    client = app.test_client()
    client.get("/?q=a")
    engine = app.extensions["searchsvc.backend"]
    client.get("/api/search?q=b")
    assert app.extensions["searchsvc.backend"] is engine


def test_config_defaults_then_environment_then_explicit(monkeypatch, seeds_index):
    monkeypatch.setenv("SEARCHSVC_PAGE_SIZE", "2")
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(seeds_index))
    app = create_app({"TESTING": True})
    assert app.config["PAGE_SIZE"] == 2 and app.config["PORT"] == 8000
    assert app.test_client().get("/api/search").get_json()["size"] == 2
    app = create_app({"TESTING": True, "PAGE_SIZE": 3})
    assert app.config["PAGE_SIZE"] == 3


def test_the_results_header_says_when_the_index_changed_and_what_it_holds(client, seeds_index):
    import re
    import time

    from searchsvc.searching import Engine

    with Engine(seeds_index) as engine:
        updated = engine.stats().updated_at
    line = load(client, "/?q=partnership").texts("index-state")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(updated.timestamp()))
    assert line == f"· index updated {stamp} · 5 releases"
    assert re.fullmatch(r"· index updated \d{4}-\d\d-\d\d \d\d:\d\d UTC · 5 releases", line)


def test_a_facet_no_match_has_a_value_for_shows_no_panel(tmp_path):
    """A corpus without places (the White House releases) gets no Place panel listing only
    "(none)", which narrows nothing; a value, a chosen (none) or an exclusion shows it."""
    import json

    from searchsvc.indexing import index_paths

    (tmp_path / "docs").mkdir()
    records = [
        {"id": f"r{n}", "title": f"Release {n}", "body": "Gas talks.", "category": cat}
        for n, cat in enumerate(["energy", "energy", "trade"])
    ]
    lines = "\n".join(json.dumps(r) for r in records)
    (tmp_path / "docs" / "r.jsonl").write_text(lines, encoding="utf-8")
    index_paths(tmp_path / "ix", [tmp_path / "docs"], procs=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "ix")}).test_client()

    def panels(url: str) -> set[str]:
        html = client.get(url).get_data(as_text=True)
        return set(re.findall(r'<section class="panel facet-panel" id="facet-(\w+)"', html))

    shown = panels("/?q=gas")
    assert "category" in shown and "place" not in shown and "source" not in shown
    assert "place" in panels("/?q=gas&place=(none)")  # chosen: it can be unchosen there
    assert "place" in panels("/?q=gas&place=-ghana")


@pytest.mark.parametrize(
    ("q", "shown"),
    [
        ('"strategic partnership"', "for \u201cstrategic partnership\u201d"),  # not doubled
        ("\u201cstrategic partnership\u201d", "for \u201cstrategic partnership\u201d"),
        ("Turkmenistan", "for \u201cTurkmenistan\u201d"),
        ('"strategic" "partnership"', 'for \u201c"strategic" "partnership"\u201d'),  # as typed
    ],
)
def test_the_heading_quotes_the_query_once(client, q, shown):
    page = load(client, "/?" + urlencode({"q": q}))
    assert shown in page.texts("summary-q")
