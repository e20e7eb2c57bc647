"""The facets of the search page in a real headless Chromium, served by `searchsvc serve`.

Over 60 releases in 18 places (every seventh without one) and up to two tags each: choose
two places, exclude a third, open "Show more" and filter the places by text, all by links
and a plain form (the page sends no script), then pick a month from the timeline chart;
axe-core checks every page visited. Screenshots land in artifacts/.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLACES = ["Ghana", "Nigeria", "USA", "Kenya", "Togo", "Benin", "Mali", "Niger", "Chad"]
PLACES += ["Gabon", "Angola", "Zambia", "Malawi", "Uganda", "Rwanda", "Burundi", "Eritrea"]
PLACES += ["Sudan"]
TAGS = ["energy", "pipelines", "gas", "oil", "trade", "health"]


def place_of(i: int) -> str | None:
    return PLACES[i % len(PLACES)] if i % 7 else None


def tags_of(i: int) -> list[str]:
    return [TAGS[i % len(TAGS)], TAGS[(i // 2) % len(TAGS)]][: i % 3]


@pytest.fixture(scope="module")
def facet_server(module_live_server, tmp_path_factory):
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("facet-pages")
    (root / "docs").mkdir()
    for i in range(60):
        meta = f"title: Release {i:02d}\ndate: 2023-{i % 12 + 1:02d}-05\nsource: Agency {i % 3}\n"
        if place_of(i):
            meta += f"place: {place_of(i)}\n"
        if tags_of(i):
            meta += f"tags: [{', '.join(tags_of(i))}]\n"
        text = f"---\n{meta}---\n\nA report numbered {i}.\n"
        (root / "docs" / f"r{i:02d}.md").write_text(text, encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == 60 and not report.skipped
    return module_live_server(root / "index")


@pytest.fixture(scope="module")
def browser():
    from test_browser import chromium  # skips when Chromium is missing

    with chromium() as launched:
        yield launched


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def titles(page) -> set[int]:
    return {int(t.split()[-1]) for t in page.locator(".result-title a").all_inner_texts()}


def test_choose_two_places_exclude_a_third_and_show_more(browser, facet_server):
    from test_browser import DESKTOP, PHONE, check_axe, shot

    page = browser.new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(facet_server.base + "/?q=report&size=50")
    check_axe(page)
    places = page.locator("#facet-place")
    assert page.get_by_role("heading", level=1).inner_text().startswith("60 results")
    assert places.locator(".facet-row").count() == 10  # the top values, then "Show more"

    places.locator("a.facet", has_text="Ghana").click()
    page.wait_for_url(lambda url: query(url).get("place") == ["Ghana"])
    # Choosing Ghana does not hide the other places: a second one can be added.
    places.locator("a.facet", has_text="Nigeria").click()
    page.wait_for_url(lambda url: query(url).get("place") == ["Ghana", "Nigeria"])
    check_axe(page)
    either = {i for i in range(60) if place_of(i) in ("Ghana", "Nigeria")}
    assert titles(page) == either
    assert places.locator(".facet-row.is-included").count() == 2

    # Exclude a tag seen in those results: NOT within OR, across facets.
    piped = {i for i in either if "pipelines" in tags_of(i)}
    assert piped and piped != either
    page.locator("#facet-category .facet-row", has_text="pipelines").get_by_role(
        "link", name="Exclude pipelines"
    ).click()
    page.wait_for_url(lambda url: query(url).get("category") == ["-pipelines"])
    check_axe(page)
    assert titles(page) == either - piped

    # Show more: every place (18 and "(none)"); exclude a third place (USA) there.
    places.get_by_role("link", name="Show more places").click()
    page.wait_for_url(lambda url: query(url).get("more") == ["place"])
    check_axe(page)
    unpiped = {place_of(i) or "(none)" for i in range(60) if "pipelines" not in tags_of(i)}
    assert len(unpiped) > 10  # more than the top values
    # ...and the chosen ones, even without a match left (Nigeria's are all pipelines).
    listed = set(places.locator(".facet-value").all_inner_texts())
    assert listed == unpiped | {"Ghana", "Nigeria"}
    places.get_by_role("link", name="Exclude USA").click()
    page.wait_for_url(lambda url: query(url).get("place") == ["Ghana", "Nigeria", "-USA"])
    check_axe(page)
    assert query(page.url)["more"] == ["place"]  # still showing every place
    assert titles(page) == either - piped
    chips = page.locator(".chip").all_inner_texts()
    assert [" ".join(c.split()[:-2]) for c in chips] == [
        "Category not pipelines",
        "Place Ghana",
        "Place Nigeria",
        "Place not USA",
    ]
    assert places.locator(".facet-row.is-excluded", has_text="USA").is_visible()
    shot(page, "facets-chosen-desktop")

    # Filter the places by text, with the form (no script).
    places.get_by_role("searchbox", name="Filter places").fill("an")
    places.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: query(url).get("contains") == ["an"])
    check_axe(page)
    assert query(page.url)["place"] == ["Ghana", "Nigeria", "-USA"]
    shown = {v.strip() for v in places.locator(".facet-value").all_inner_texts()}
    # The places containing "an", and USA, shown as excluded whatever the filter.
    assert shown == {p for p in unpiped | {"Ghana"} if "an" in p.lower()} | {"USA"}
    assert titles(page) == either - piped  # the search is unchanged
    shot(page, "facets-more-desktop")

    # A chip removes its one value, keeping the rest.
    page.locator(".chip", has_text="Nigeria").click()
    page.wait_for_url(lambda url: query(url).get("place") == ["Ghana", "-USA"])
    check_axe(page)
    assert titles(page) == {i for i in either - piped if place_of(i) == "Ghana"}

    # Pick a month from the timeline chart (with Ghana's chip removed the matches span the
    # year, so its bars are months): the dates narrow, the facet filters stay.
    page.locator(".chip", has_text="Ghana").click()
    page.wait_for_url(lambda url: query(url).get("place") == ["-USA"])
    kept = {i for i in range(60) if place_of(i) != "USA" and "pipelines" not in tags_of(i)}
    july = {i for i in kept if i % 12 + 1 == 7}
    assert july and july != kept
    page.get_by_role("link", name=f"July 2023: {len(july)} releases").click()
    page.wait_for_url(lambda url: query(url).get("from") == ["2023-07"])
    check_axe(page)
    asked = query(page.url)
    assert (asked["from"], asked["to"]) == (["2023-07"], ["2023-07"])
    assert (asked["place"], asked["category"]) == (["-USA"], ["-pipelines"])
    assert titles(page) == july
    shot(page, "facets-month-desktop")

    # At phone width the facets fit: nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    page.goto(page.url.split("#")[0] + "&more=place")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "facets-more-phone")
    assert errors == []
