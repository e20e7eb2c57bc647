"""The search page in a real headless Chromium, served by `searchsvc serve`.

Debian's /usr/bin/chromium is driven through Playwright (its own browser download fails
here). Screenshots at desktop and phone width land in artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(module_live_server, seeds_index):
    return module_live_server(seeds_index)


def open_page(browser, viewport: dict):
    """A new page, and the console errors it logs (a CSP violation shows up as one)."""
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def params_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def result_dates(page) -> list[str]:
    return page.locator(".result time").evaluate_all("els => els.map(e => e.dateTime)")


def test_search_narrow_sort_and_open(browser, server):
    page, errors = open_page(browser, DESKTOP)
    page.goto(server.base + "/")
    page.get_by_label("Search press releases").fill("strategic partnership")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(lambda url: params_of(url) == {"q": "strategic partnership"})

    results = page.locator("li.result")
    assert results.count() == 5
    marks = page.locator(".snippet mark").all_inner_texts()
    marked_words = {word for m in marks for word in m.lower().split()}
    assert marks and marked_words <= {"strategic", "partnership"}
    assert page.get_by_role("heading", level=1).inner_text().startswith("5 results")
    shot(page, "search-desktop")

    page.locator(".bar-row", has_text="2023").click()  # a year: its months, fewer results
    page.wait_for_url(lambda url: params_of(url).get("year") == "2023")
    assert results.count() == 3
    assert page.locator(".bars-months .bar-row").count() == 2
    assert page.locator(".chip", has_text="2023").is_visible()
    shot(page, "search-year-desktop")

    page.locator(".sort-option", has_text="Newest").click()
    page.wait_for_url(lambda url: params_of(url).get("sort") == "newest")
    dates = result_dates(page)
    assert params_of(page.url) == {"q": "strategic partnership", "year": "2023", "sort": "newest"}
    assert len(dates) == 3 and dates == sorted(dates, reverse=True)

    first_title = page.locator(".result-title a").first.inner_text()
    page.locator(".result-title a").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/doc/"))
    assert page.locator("h1.document-title").inner_text() == first_title
    assert page.locator(".document-body mark").count() > 0
    shot(page, "document-desktop")
    assert errors == []


def test_phone_width(browser, server):
    page, errors = open_page(browser, PHONE)
    page.goto(server.base + "/?q=strategic+partnership&year=2023")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    assert page.locator("li.result").first.is_visible()
    shot(page, "search-phone")
    page.locator(".result-title a").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/doc/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "document-phone")
    assert errors == []


def test_error_in_place(browser, server):
    page, _ = open_page(browser, DESKTOP)  # the 400 itself is logged as a console error
    response = page.goto(server.base + "/?q=energy&from=notadate")
    assert response.status == 400
    assert page.get_by_label("Search press releases").input_value() == "energy"
    assert page.get_by_role("alert").is_visible()
    shot(page, "error-desktop")


def test_a_mended_query_says_so(browser, server):
    page, errors = open_page(browser, DESKTOP)
    response = page.goto(server.base + "/?q=Turkmenistan%20(energy")
    assert response.status == 200
    assert page.get_by_label("Search press releases").input_value() == "Turkmenistan (energy"
    notice = page.get_by_role("status")
    assert notice.is_visible() and "Searched for Turkmenistan (energy)" in notice.inner_text()
    assert errors == []
    shot(page, "notice-desktop")


def test_follow_past_year_feed_and_download(browser, server, tmp_path):
    """Choose "Past year", follow the search's feed, and download it as CSV."""
    import csv
    from datetime import date, timedelta

    import feedparser

    page, errors = open_page(browser, DESKTOP)
    page.goto(server.base + "/?q=Turkmenistan")
    page.get_by_role("link", name="Past year").click()
    page.wait_for_url(lambda url: "from" in params_of(url))
    assert page.locator(".quick-range.is-current").inner_text() == "Past year"
    # Whatever today is, every result is within the last year (the seeds span 2020 to 2026).
    year_ago = (date.today() - timedelta(days=366)).isoformat()
    dates = result_dates(page)
    assert all(d[:10] >= year_ago for d in dates), dates
    shot(page, "past-year")

    feed_href = page.get_by_role("link", name="Follow this search").get_attribute("href")
    assert params_of(feed_href).get("from") == params_of(page.url)["from"]
    response = page.request.get(server.base + feed_href)
    assert response.ok and "atom+xml" in response.headers["content-type"]
    feed = feedparser.parse(response.body())
    assert not feed.bozo and len(feed.entries) == len(dates)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    path = tmp_path / "export.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["date"][:10] for r in rows] == [d[:10] for d in dates]
    assert errors == []
