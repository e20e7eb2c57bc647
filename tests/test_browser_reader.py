"""A demanding reader on the search page in a real headless Chromium (`searchsvc serve`).

What a reader does across features, found wanting by the reader-side QA pass: each test
names what the user saw before it was mended.
"""

from __future__ import annotations

import pytest
from test_browser import DESKTOP, chromium, open_page, params_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def year_server(module_live_server, year_index):
    """24 harbour releases across 2023, served: today is years past its last one."""
    return module_live_server(year_index)


@pytest.mark.parametrize(
    "start, field, day",
    [
        ("past+year", "from", "2023-05-01"),  # its To is today, past the index's last release
        ("since+2019", "to", "2023-06-30"),  # its From is before the index's first release
    ],
)
def test_the_date_form_applies_after_a_range_outside_the_index(
    browser, year_server, start, field, day
):
    """Before: after "Past year" (or `since 2019`) one of the From and To inputs held a day
    outside their min and max (the index's first and last release), so Chromium refused the
    form ("Value must be ... or earlier") and Apply did nothing when the reader changed the
    other one."""
    page, errors = open_page(browser, DESKTOP)
    page.goto(year_server.base + f"/?q=harbour&from={start}")
    shown = {name: page.locator(f"#{name}").input_value() for name in ("from", "to")}
    page.locator(f"#{field}").fill(day)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(lambda url: params_of(url).get(field) == day, timeout=5000)
    expected = {**shown, field: day}
    assert params_of(page.url) == {"q": "harbour", **expected}
    dates = page.locator(".result time").evaluate_all("els => els.map(e => e.dateTime)")
    assert dates and all(expected["from"] <= d[:10] <= expected["to"] for d in dates)
    assert errors == []


LONG = "harbour" + "x" * 200  # one word, as pasted: a URL, a hash, a run of characters


@pytest.mark.parametrize(
    "query",
    [
        f"q={LONG}",  # no match: "No releases match ..."
        f"q=harbour+{LONG}",  # matches: "24 results for ..."
        f"q=harbour&place={LONG}",  # a chip and a chosen facet value
        f"q=harbour&place=-{LONG}",  # an excluded one, struck through
        f"q=harbour&more=place&contains={LONG}",  # "No places contain ..."
        f"q=({LONG}&strict=true",  # an error in place
    ],
)
def test_a_long_word_does_not_widen_the_phone_page(browser, year_server, query):
    """Before: a query of one 200-letter word made the page 3,230 px wide on a 390 px phone:
    the results heading quoted it unbroken, and every line of the summary scrolled sideways."""
    page, errors = open_page(browser, {"width": 390, "height": 844})
    page.goto(year_server.base + "/?" + query)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert [e for e in errors if "400" not in e] == []
