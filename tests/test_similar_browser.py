"""More like this in a real headless Chromium, served by `searchsvc serve`: a document page
lists similar releases, and following one opens its page (see tests/test_browser.py)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing")

START = "000_151069118a277199"


@pytest.fixture(scope="module")
def browser():
    from test_browser import chromium

    with chromium(ARGS) as launched:
        yield launched


@pytest.fixture(scope="module")
def server(module_live_server, seeds_index):
    return module_live_server(seeds_index)


def similar_ids(base: str, doc_id: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/api/documents/{doc_id}/similar", timeout=10) as r:
        return [hit["id"] for hit in json.load(r)["results"]]


def test_follow_a_similar_release(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/doc/{START}?q=Turkmenistan")

    similar = page.get_by_role("complementary", name="Similar releases")
    links = similar.get_by_role("link")
    expected = similar_ids(server.base, START)
    assert links.count() == len(expected) >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "similar-document.png"), full_page=True)

    title = links.first.inner_text()
    links.first.click()
    page.wait_for_url(lambda url: urlsplit(url).path != f"/doc/{START}")
    url = urlsplit(page.url)
    assert unquote(url.path) == f"/doc/{expected[0]}"
    assert parse_qs(url.query) == {"q": ["Turkmenistan"]}  # the search rides along
    assert page.get_by_role("heading", level=1).inner_text() == title
    # The new page lists its own similar releases, the one we came from among them.
    hrefs = page.get_by_role("complementary", name="Similar releases").get_by_role("link")
    listed = [unquote(urlsplit(h).path) for h in hrefs.evaluate_all("as => as.map(a => a.href)")]
    assert f"/doc/{START}" in listed and f"/doc/{expected[0]}" not in listed
    assert errors == []
    page.close()
