"""Relative dates through every edge: the API, the page, the CLI and the engine's cache.

Each test pins the clock (the app's and the CLI's CLOCK, the engine's `today`); none reads
the real date. The seeds hold one release of 2026, dated 27 February.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from openapi_schema_validator import OAS31Validator

from searchsvc import config
from searchsvc.cli import main
from searchsvc.searching import SearchRequest
from searchsvc.web import create_app
from searchsvc.web.openapi import spec

# Sunday 1 March 2026, noon UTC: the seeds' 27 February release is in the last 7 days.
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RECENT = "004_0c8e5b5424d9bbd8"


def at(now: datetime):
    return lambda: now


@pytest.fixture
def pinned(seeds_index):
    """A client of an app whose clock says NOON."""
    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index), "CLOCK": at(NOON)})
    return app.test_client()


def search_json(client, query: str) -> dict:
    """GET /api/search?query, its body checked against the OpenAPI schema of its status."""
    response = client.get(f"/api/search?{query}")
    status = "200" if response.status_code == 200 else "400"
    responses = spec()["paths"]["/api/search"]["get"]["responses"]
    schema = responses[status]["content"]["application/json"]["schema"]
    body = response.get_json()
    OAS31Validator(
        {**schema, "components": spec()["components"]},
        format_checker=OAS31Validator.FORMAT_CHECKER,
    ).validate(body)
    return body


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        (
            "from=last%207%20days",
            {"from": "2026-02-23", "to": "2026-03-01", "as_typed": {"from": "last 7 days"}},
            1,
        ),
        ("from=7d", {"from": "2026-02-23", "to": "2026-03-01", "as_typed": {"from": "7d"}}, 1),
        (
            "from=past%20month",
            {"from": "2026-02-02", "to": "2026-03-01", "as_typed": {"from": "past month"}},
            1,
        ),
        (
            "from=today",
            {"from": "2026-03-01", "to": "2026-03-01", "as_typed": {"from": "today"}},
            0,
        ),
        (
            "from=last%20year",
            {"from": "2025-01-01", "to": "2026-03-01", "as_typed": {"from": "last year"}},
            1,
        ),
        (
            "from=2023&to=LAST%20YEAR",
            {
                "from": "2023-01-01",
                "to": "2025-12-31",
                "as_typed": {"from": "2023", "to": "LAST YEAR"},
            },
            3,
        ),
        ("from=2026", {"from": "2026-01-01", "to": None, "as_typed": {"from": "2026"}}, 1),
        ("to=2020", {"from": None, "to": "2020-12-31", "as_typed": {"to": "2020"}}, 1),
        ("q=energy", None, None),
    ],
)
def test_the_api_says_what_the_range_resolved_to(pinned, query, expected, total):
    body = search_json(pinned, query)
    assert body["range"] == expected
    if total is not None:
        assert body["total"] == total
    if total == 1 and (expected["from"] or "") >= "2025":  # only the seeds' 2026 release
        assert [r["id"] for r in body["results"]] == [RECENT]


@pytest.mark.parametrize("value", ["next week", "last 0 days", "7 days", "since Marc"])
def test_an_unknown_form_is_a_400_that_names_it_and_lists_the_forms(pinned, value):
    body = search_json(pinned, f"q=energy&from={value}")
    assert body["status"] == 400
    assert body["error"].startswith(f"{value!r} is not a date; try 2023, 2023-05, 5 May 2023, ")
    assert (
        "today, yesterday, last 7 days, 2w, past month, this year, last year or since March"
        in (body["error"])
    )


@pytest.mark.parametrize(
    ("zone", "total"),
    [("UTC", 0), ("Asia/Baku", 1)],  # 20:00 UTC on the 26th is the 27th in Baku (UTC+4)
)
def test_today_is_the_date_in_the_configured_time_zone(seeds_index, zone, total):
    now = datetime(2026, 2, 26, 20, 0, tzinfo=timezone.utc)
    explicit = {"TESTING": True, "INDEX_DIR": str(seeds_index), "CLOCK": at(now)}
    client = create_app({**explicit, "TIMEZONE": zone}).test_client()
    assert search_json(client, "from=today")["total"] == total


def test_a_bad_time_zone_stops_the_app_with_one_line(seeds_index):
    with pytest.raises(config.ConfigError, match="^TIMEZONE must be a time zone such as UTC"):
        create_app({"INDEX_DIR": str(seeds_index), "TIMEZONE": "Mars/Olympus"})


def test_a_cached_answer_with_a_relative_date_holds_for_its_day_only(seeds_engine):
    req = SearchRequest(date_from="last 7 days")
    first = seeds_engine.search(req, today=date(2026, 3, 1))
    assert first.total == 1 and first.range is not None
    assert (first.range.start, first.range.end) == (date(2026, 2, 23), date(2026, 3, 1))
    later = seeds_engine.search(req, today=date(2026, 3, 10))  # the same request, days later
    assert later.total == 0 and later.range is not None
    assert (later.range.start, later.range.end) == (date(2026, 3, 4), date(2026, 3, 10))
    assert seeds_engine.search(req, today=date(2026, 3, 1)).total == 1


# -- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_resolved_range(pinned):
    html = pinned.get("/?q=&from=last+7+days").get_data(as_text=True)
    assert (
        '<p class="summary-range"><time datetime="2026-02-23">23 Feb 2026</time> – '
        '<time datetime="2026-03-01">1 Mar 2026</time></p>'
    ) in html
    one_day = pinned.get("/?from=today").get_data(as_text=True)
    assert '<p class="summary-range"><time datetime="2026-03-01">1 Mar 2026</time></p>' in one_day
    open_end = pinned.get("/?from=2023").get_data(as_text=True)
    assert '<p class="summary-range">From <time datetime="2023-01-01">1 Jan 2023</time></p>' in (
        open_end
    )
    assert "summary-range" not in pinned.get("/?q=energy").get_data(as_text=True)


def chip_texts(html: str) -> list[str]:
    """The filter chips as read: "Dates past week"."""
    found = re.findall(r'<a class="chip"[^>]*>(.*?)</a>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>|×|\(remove\)", " ", c).split()) for c in found]


@pytest.mark.parametrize(
    ("query", "chip"),
    [
        ("from=past+week", "Dates past week"),  # before: "Dates from past week"
        ("from=since+2019", "Dates since 2019"),  # before: "Dates from since 2019"
        ("from=last+7+days", "Dates last 7 days"),
        ("from=today", "Dates today"),
        ("from=this+month", "Dates this month"),
        # A period that ended before today, with no to: from its first day to today.
        ("from=yesterday", "Dates since yesterday"),  # before: "Dates yesterday"
        ("from=last+week", "Dates since last week"),
        ("from=last+month&to=last+month", "Dates last month"),
        ("from=2023", "Dates from 2023"),  # an absolute from stays open: "from"
        ("to=yesterday", "Dates to yesterday"),
        ("from=2023&to=2023-06", "Dates 2023 – 2023-06"),
    ],
)
def test_the_dates_chip_reads_as_the_period_it_names(pinned, query, chip):
    assert chip_texts(pinned.get(f"/?q=energy&{query}").get_data(as_text=True)) == [chip]


def quick_ranges(html: str) -> list[tuple[str, str | None]]:
    """The quick ranges' labels, each with its link (None for the current one)."""
    start = html.index('<ul class="quick-ranges"')
    block = html[start : html.index("</ul>", start)]
    out = []
    for item in block.split("<li>")[1:]:
        label = item.split(">", 1)[1].split("<", 1)[0]
        href = item.split('href="', 1)[1].split('"', 1)[0] if "href=" in item else None
        out.append((label, href.replace("&amp;", "&") if href else None))
    return out


def test_quick_ranges_set_from_clear_to_and_mark_the_current_one(pinned):
    html = pinned.get("/?q=energy&from=Past+Week&to=2026&page=2").get_data(as_text=True)
    links = dict(quick_ranges(html))
    assert list(links) == ["Any time", "Past week", "Past month", "Past year"]
    # With a to, none of them is current: each link sets from and clears to (and the page).
    assert parse_qs(urlsplit(links["Any time"]).query) == {"q": ["energy"]}
    assert parse_qs(urlsplit(links["Past month"]).query) == {
        "q": ["energy"],
        "from": ["past month"],
    }
    current = dict(quick_ranges(pinned.get("/?q=energy&from=Past+Week").get_data(as_text=True)))
    assert current["Past week"] is None  # the current one is marked, not linked
    assert 'class="quick-range is-current" aria-current="true">Past week<' in (
        pinned.get("/?q=energy&from=past+week").get_data(as_text=True)
    )
    assert dict(quick_ranges(pinned.get("/").get_data(as_text=True)))["Any time"] is None


def test_the_page_shows_an_unknown_form_in_place(pinned):
    response = pinned.get("/?q=energy&from=next+week")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "&#39;next week&#39; is not a date; try 2023, 2023-05, 5 May 2023, today," in html
    assert 'value="next week"' in html  # kept in its box


# -- the CLI --------------------------------------------------------------------------------


def cli(runner, seeds_index, *args: str, **explicit):
    settings = config.load({"CLOCK": at(NOON), **explicit}, environ={})
    return runner.invoke(main, [*args, "--index-dir", str(seeds_index)], obj=settings)


def test_the_cli_resolves_relative_dates(runner, seeds_index):
    result = cli(runner, seeds_index, "search", "--from", "last 7 days")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1 results (1-1 shown, ")
    assert lines[1] == "dates: 2026-02-23 .. 2026-03-01 (from last 7 days)"
    assert lines[3].endswith(f"[{RECENT}]")
    mixed = cli(runner, seeds_index, "search", "--from", "2023", "--to", "last year")
    assert (
        mixed.output.splitlines()[1] == "dates: 2023-01-01 .. 2025-12-31 (from 2023, to last year)"
    )


def test_the_cli_json_has_the_range_and_counts_in_its_time_zone(runner, seeds_index):
    early = datetime(2026, 2, 26, 20, 0, tzinfo=timezone.utc)
    args = ("search", "--from", "today", "--json")
    utc = json.loads(cli(runner, seeds_index, *args, CLOCK=at(early)).output)
    baku = json.loads(cli(runner, seeds_index, *args, CLOCK=at(early), TIMEZONE="Asia/Baku").output)
    assert utc["range"] == {"from": "2026-02-26", "to": "2026-02-26", "as_typed": {"from": "today"}}
    assert (utc["total"], baku["total"]) == (0, 1)
    assert baku["range"]["from"] == "2026-02-27"


def test_the_cli_names_an_unknown_form(runner, seeds_index):
    result = cli(runner, seeds_index, "search", "--from", "next week")
    assert result.exit_code == 1
    assert result.output.startswith("Error: 'next week' is not a date; try 2023, 2023-05, ")
    assert result.output.count("\n") == 1
