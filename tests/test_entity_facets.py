"""The country, person and organisation facets over the seeds: counts and filters in the
engine, the API, the CLI, the feed and the export.

The seed counts were checked against the texts by reading them:
  000 Moscow, Turkmenistan and Russia, Meredov and Lavrov, the UN and the CIS;
  001 Ashgabat, Russia, "the situation in Afghanistan"; Hadjiev, Galuzin; the UN, the CIS;
  002 Turkmenistan and Russia; Serdar Berdimuhamedov and Vladimir Putin;
  003 the dateline "BAKU, Azerbaijan", the US, the Turkmenistan–Afghanistan–Pakistan–India
      pipeline; Gurbanguly Berdimuhamedov; the International Labor Organization;
  004 Azerbaijan and Turkmenistan; Bayramov, Gurbanov, Ilham Aliyev, Gurbanguly
      Berdimuhamedov and Sharifov.
"""

from __future__ import annotations

import json
import re

import pytest

from searchsvc.cli import main
from searchsvc.searching import SearchRequest

S000, S001, S002, S003, S004 = (
    "000_151069118a277199",
    "001_1cd7d1af4bda551f",
    "002_77df0451d7f08fe1",
    "003_ec0c8cdd937fe39f",
    "004_0c8e5b5424d9bbd8",
)


def counts(result, facet: str) -> dict[str, int]:
    return {fc.value: fc.count for fc in result.facets[facet]}


FACET_COUNTS = [
    (
        "Turkmenistan",
        "country",
        {
            "Turkmenistan": 5,
            "Russia": 3,
            "Azerbaijan": 2,
            "Afghanistan": 2,
            "United States": 1,
            "Pakistan": 1,
            "India": 1,
        },
    ),
    (
        "Berdimuhamedov",
        "person",
        {
            "Gurbanguly Berdimuhamedov": 2,
            "Serdar Berdimuhamedov": 1,
            "Vladimir Putin": 1,
            "Ilham Aliyev": 1,
            "Jeyhun Bayramov": 1,
            "Ahmet Gurbanov": 1,
            "Samir Sharifov": 1,
        },
    ),
    (
        "Turkmenistan",
        "organisation",
        {
            "United Nations": 2,
            "Commonwealth of Independent States": 2,
            "International Labour Organization": 1,
            "(none)": 2,  # 002 and 004 name no organisation of the list
        },
    ),
]


@pytest.mark.parametrize("q, facet, expected", FACET_COUNTS)
def test_facet_counts_on_the_seeds(seeds_engine, q, facet, expected):
    assert counts(seeds_engine.search(SearchRequest(q=q)), facet) == expected


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"country": ("TM",)}, {S000, S001, S002, S003, S004}),
        ({"country": ("Azerbaijan",)}, {S003, S004}),
        ({"country": ("az",)}, {S003, S004}),
        ({"country": ("AFG",)}, {S001, S003}),
        ({"country": ("United States of America",)}, {S003}),
        ({"country": ("-RU",)}, {S003, S004}),
        ({"country": ("Pakistan", "Russia")}, {S000, S001, S002, S003}),
        # The short forms and other names the recogniser knows choose the country too.
        ({"country": ("America",)}, {S003}),
        ({"country": ("U.S.",)}, {S003}),
        ({"country": ("Afghan",)}, {S001, S003}),
        ({"country": ("-Russian",)}, {S003, S004}),
        ({"country": ("Atlantis",)}, set()),
        ({"person": ("Vladimir Putin",)}, {S002}),
        ({"person": ("Gurbanguly Berdimuhamedov",)}, {S003, S004}),
        ({"organisation": ("United Nations",)}, {S000, S001}),
        ({"country": ("RU",), "organisation": ("-United Nations",)}, {S002}),
    ],
)
def test_filters_by_name_or_iso_code(seeds_engine, filters, expected):
    result = seeds_engine.search(SearchRequest(q="Turkmenistan", **filters))
    assert {hit.id for hit in result.hits} == expected


@pytest.mark.parametrize(
    "q, expected",
    [
        ("country:pakistan", {S003}),
        ('country:"united states"', {S003}),
        ("person:putin", {S002}),
        ("organisation:cis", set()),  # the canonical name is indexed, not the acronym
        ("organisation:commonwealth", {S000, S001}),
    ],
)
def test_entity_fields_are_searchable_as_field_value(seeds_engine, q, expected):
    assert {hit.id for hit in seeds_engine.search(SearchRequest(q=q)).hits} == expected


def test_the_api_counts_and_filters(client):
    data = client.get("/api/search?q=Turkmenistan&country=TM&country=-AZ").get_json()
    assert data["ok"] and {h["id"] for h in data["results"]} == {S000, S001, S002}
    country = {f["value"]: f["count"] for f in data["facets"]["country"]}
    assert country["Russia"] == 3 and "Azerbaijan" not in country  # its exclusions apply
    people = {f["value"] for f in data["facets"]["person"]}
    assert "Vladimir Putin" in people


def test_the_cli_filters(runner, seeds_index):
    args = ["search", "Turkmenistan", "--country", "AF", "--json", "--index-dir"]
    result = runner.invoke(main, [*args, str(seeds_index)])
    assert result.exit_code == 0, result.output
    assert {h["id"] for h in json.loads(result.output)["results"]} == {S001, S003}


def test_the_feed_filters(client):
    response = client.get("/search.atom?q=Turkmenistan&country=Pakistan")
    assert response.status_code == 200
    assert response.data.count(b"<entry>") == 1 and S003.encode() in response.data


def test_the_export_filters_and_lists_the_entities(client):
    response = client.get("/api/export?q=&country=US&format=jsonl")
    rows = [json.loads(line) for line in response.data.decode().splitlines()]
    assert [row["id"] for row in rows] == [S003]
    assert "Pakistan" in rows[0]["country"]


def test_the_document_page_links_what_the_release_names(client):
    html = client.get(f"/doc/{S003}").get_data(as_text=True)
    assert '<a href="/?country=United+States">United States</a>' in html
    assert '<a href="/?person=Gurbanguly+Berdimuhamedov">Gurbanguly Berdimuhamedov</a>' in html
    document = client.get(f"/api/documents/{S003}").get_json()["document"]
    assert document["country"][-1] == "United States" and document["organisation"] == [
        "International Labour Organization"
    ]


def test_a_chip_names_the_country_given_by_code(client):
    html = client.get("/?q=Turkmenistan&country=AZ&country=-ru").get_data(as_text=True)
    assert '<span class="chip-name">Country</span> Azerbaijan' in html
    assert '<span class="chip-name">Country</span> not Russia' in html


def test_a_country_given_by_code_is_chosen_in_its_row(client):
    """country=AZ marks the Azerbaijan row chosen (no second row "AZ" with no match), and
    -ru strikes through Russia's row, as if they had been given by name."""
    html = client.get("/?q=Turkmenistan&country=AZ&country=-ru").get_data(as_text=True)
    panel = html.split('id="facet-country"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<li class="facet-row ?([^"]*)".*?class="facet-value">([^<]*)<', panel, re.S)
    assert ("is-included", "Azerbaijan") in rows and ("is-excluded", "Russia") in rows
    assert not {value for _, value in rows} & {"AZ", "ru"}, rows


@pytest.mark.parametrize(
    "typed, label",
    [("TM", "Turkmenistan"), ("tkm", "Turkmenistan"), ("Russian Federation", "Russia")],
)
def test_the_facet_filter_finds_a_country_by_what_its_filter_takes(client, typed, label):
    """Before: "Filter countries…" (/api/facets/country?contains=) matched only the labels'
    text, so `TM` or `Russian Federation`, which country= takes for the same country, found
    nothing there."""
    body = client.get(f"/api/facets/country?q=Turkmenistan&contains={typed}").get_json()
    assert body["ok"] and label in [v["value"] for v in body["values"]]
    search = client.get(f"/api/search?q=Turkmenistan&country={typed}").get_json()
    (row,) = [v for v in body["values"] if v["value"] == label]
    assert row["count"] == search["total"] > 0  # the row counts what choosing it finds
    html = client.get(f"/?q=Turkmenistan&more=country&contains={typed}").get_data(as_text=True)
    assert f'class="facet-value">{label}<' in html
