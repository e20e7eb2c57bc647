"""Each search parameter is declared once (searching/request.py); every edge derives from it.

The last test makes the one edit that adds a parameter, in a copy of the package, and
checks that the CLI, the API, the OpenAPI document and the page all picked it up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.searching import PARAMS
from searchsvc.web import create_app
from searchsvc.web.openapi import spec
from searchsvc.web.pages import FILTER_LABELS

PROJECT = Path(__file__).parent.parent


def test_every_parameter_is_a_cli_option(runner):
    help_text = runner.invoke(main, ["search", "--help"]).output
    for p in PARAMS:
        if p.name != "q":  # the QUERY argument
            assert f"--{p.name} " in help_text, p.name


def test_every_parameter_is_in_the_openapi_document():
    operation = spec()["paths"]["/api/search"]["get"]
    assert [p["name"] for p in operation["parameters"]] == [p.name for p in PARAMS]
    query = spec()["components"]["schemas"]["Query"]["properties"]
    assert list(query) == [p.attr for p in PARAMS]


def test_every_parameter_reaches_the_engine_through_the_api(seeds_index):
    client = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index)}).test_client()
    args = {"q": "energy", "from": "2020", "to": "2026", "year": "2023", "month": "2023-05"}
    args |= {"source": "Trend", "category": "x", "place": "Baku", "sort": "newest"}
    args |= {"page": "2", "size": "3", "strict": "true"}
    args |= {
        "country": "Turkmenistan",
        "person": "Vladimir Putin",
        "organisation": "United Nations",
    }
    assert set(args) == {p.name for p in PARAMS}, "add the new parameter to this table"
    body = client.get("/api/search", query_string=args).get_json()
    sent = {p.name: _one(body["query"][p.attr]) for p in PARAMS}
    assert sent == args | {"strict": "True"}


def _one(value) -> str:
    # A facet's filter is a list of values (place=a&place=b): here one.
    return value[0] if isinstance(value, list) and len(value) == 1 else str(value)


def test_the_page_labels_every_filter():
    assert {p.name: p.label for p in PARAMS if p.label} == FILTER_LABELS


EDIT = """    lang: str | None = param(
        None, name="lang", label="Language", help="Only releases in this language."
    )
"""

CHECK = """
import json
from click.testing import CliRunner
from searchsvc.cli import main
from searchsvc.web import create_app
from searchsvc.web.openapi import spec

out = {}
out["cli"] = "--lang" in CliRunner().invoke(main, ["search", "--help"]).output
client = create_app({"TESTING": True, "INDEX_DIR": INDEX}).test_client()
out["api"] = client.get("/api/search?lang=tk").get_json()["query"].get("lang")
params = spec()["paths"]["/api/search"]["get"]["parameters"]
out["openapi"] = [p["description"] for p in params if p["name"] == "lang"]
page = client.get("/?q=energy&lang=tk").get_data(as_text=True)
out["page"] = "Language" in page and "tk" in page
print(json.dumps(out))
"""


@pytest.mark.slow
def test_one_edit_adds_a_parameter_everywhere(tmp_path, seeds_index):
    shutil.copytree(PROJECT / "searchsvc", tmp_path / "searchsvc")
    shutil.copytree(PROJECT / "templates", tmp_path / "templates")
    request = tmp_path / "searchsvc" / "searching" / "request.py"
    text = request.read_text(encoding="utf-8")
    anchor = '    sort: str = param("relevance"'
    assert anchor in text
    request.write_text(text.replace(anchor, EDIT + anchor), encoding="utf-8")  # the one edit
    code = f"INDEX = {str(seeds_index)!r}\n" + CHECK
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "cli": True,
        "api": "tk",
        "openapi": ["Only releases in this language."],
        "page": True,
    }


FACET_EDIT = '    Facet("lang", "Language", "languages", multi_valued=True),\n'

FACET_CHECK = """
import json
from click.testing import CliRunner
from searchsvc.cli import main
from searchsvc.schema import build_schema
from searchsvc.web import create_app
from searchsvc.web.openapi import spec

out = {}
out["schema"] = type(build_schema()["lang"]).__name__
out["cli"] = "--lang" in CliRunner().invoke(main, ["search", "--help"]).output
client = create_app({"TESTING": True, "INDEX_DIR": INDEX}).test_client()
body = client.get("/api/search?lang=tk&lang=-en").get_json()
out["api"] = body["query"].get("lang")
out["facet"] = body["facets"].get("lang")
params = spec()["paths"]["/api/search"]["get"]["parameters"]
out["openapi"] = [p["schema"]["type"] for p in params if p["name"] == "lang"]
page = client.get("/?q=energy&lang=-tk").get_data(as_text=True)
out["page"] = 'id="facet-lang"' in page and "Language" in page and "not tk" in page
out["export"] = client.get("/api/export?lang=tk").headers["X-Export-Total"]
out["feed"] = "language tk" in client.get("/search.atom?lang=tk").get_data(as_text=True)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_one_line_adds_a_facet_everywhere(tmp_path, seeds_index):
    shutil.copytree(PROJECT / "searchsvc", tmp_path / "searchsvc")
    shutil.copytree(PROJECT / "templates", tmp_path / "templates")
    schema = tmp_path / "searchsvc" / "schema.py"
    text = schema.read_text(encoding="utf-8")
    anchor = '    Facet("place", "Place", "places"),\n'
    assert anchor in text
    schema.write_text(text.replace(anchor, anchor + FACET_EDIT), encoding="utf-8")
    code = f"INDEX = {str(seeds_index)!r}\n" + FACET_CHECK
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # An index written before the facet existed counts every release as (none).
    assert found == {
        "schema": "MultiText",
        "cli": True,
        "api": ["tk", "-en"],
        "facet": [{"value": "(none)", "count": 5}],
        "openapi": ["array"],
        "page": True,
        "export": "0",
        "feed": True,
    }
