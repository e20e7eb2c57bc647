"""Export: every match, in the search's order, streamed as CSV or JSON Lines, capped loudly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.deadline import Deadline
from searchsvc.searching import (
    EXPORT_PARAMS,
    PARAMS,
    DeadlineExceededError,
    Engine,
    SearchRequest,
)
from searchsvc.web import create_app
from searchsvc.web import export as web_export
from searchsvc.web.openapi import spec

# Titles a spreadsheet would run as formulas, and cells the csv module must quote.
RECORDS = [
    {"id": "formula", "title": '=HYPERLINK("http://evil.example","click")', "date": "2024-03-05"},
    {"id": "plus", "title": "+1 more rally", "date": "2024-03-04T14:30:00Z"},
    {"id": "minus", "title": "-5 degrees in Ashgabat", "date": "2024-03-03"},
    {"id": "at", "title": "@SUM(A1:A2) rally", "date": "2024-03-02"},
    {"id": "quoted", "title": 'A "quoted", comma title', "date": "2024-03-01"},
    {"id": "undated", "title": "Türkmen rally, no date"},
]
BODY = 'Rally line one, with a comma.\n\nLine two "quoted" = not a formula; emoji 🎉.'


@pytest.fixture(scope="module")
def export_index(tmp_path_factory) -> Path:
    """An index of the records above, each with the same two-paragraph body."""
    from searchsvc.indexing import index_paths

    root = tmp_path_factory.mktemp("export")
    (root / "docs").mkdir()
    lines = [
        json.dumps({**r, "body": BODY, "url": f"https://example.org/{r['id']}", "source": "Wire"})
        for r in RECORDS
    ]
    (root / "docs" / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = index_paths(root / "index", [root / "docs"], procs=1)
    assert report.total == len(RECORDS) and not report.skipped
    return root / "index"


@pytest.fixture
def export_client(export_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(export_index)}).test_client()


@pytest.fixture
def export_engine(export_index):
    with Engine(export_index) as engine:
        yield engine


def count_reads(monkeypatch, engine) -> list[int]:
    """Count the stored-field reads of the engine's current searcher."""
    searcher = engine.snapshot().searcher
    real, reads = searcher.stored_fields, [0]

    def counting(n):
        reads[0] += 1
        return real(n)

    monkeypatch.setattr(searcher, "stored_fields", counting)
    return reads


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# -- the backend: order, and rows read one at a time -----------------------------------------


@pytest.mark.parametrize(
    ("q", "sort"),
    [("", "relevance"), ("", "oldest"), ("Turkmenistan", "relevance"), ("energy", "newest")],
)
def test_the_rows_come_in_the_order_of_the_pages(seeds_engine, q, sort):
    pages = seeds_engine.search(SearchRequest(q=q, sort=sort, size=100))
    export = seeds_engine.export(SearchRequest(q=q, sort=sort, page=3, size=1), limit=100)
    assert [row.id for row in export.rows] == [hit.id for hit in pages.hits]
    assert export.total == pages.total and not export.truncated
    assert export.order == (sort if q or sort != "relevance" else "newest")


def test_rows_are_read_one_document_at_a_time(export_engine, monkeypatch):
    reads = count_reads(monkeypatch, export_engine)
    export = export_engine.export(SearchRequest(sort="oldest"), limit=100)
    assert reads == [0] and len(export.rows) == len(RECORDS)
    first = next(export.rows)
    assert reads == [1] and first.id == "quoted"  # oldest first, undated last
    assert [row.id for row in export.rows][-1] == "undated" and reads == [len(RECORDS)]


def test_the_index_state_is_held_until_the_rows_end_or_close(export_engine):
    export = export_engine.export(SearchRequest(), limit=100)
    snapshot = export_engine.snapshot()
    assert snapshot.busy
    list(export.rows)
    assert not snapshot.busy
    export = export_engine.export(SearchRequest(), limit=100)
    export.rows.close()
    export.rows.close()  # again: nothing
    assert not snapshot.busy


def test_the_deadline_covers_finding_the_matches(export_engine):
    ticks = iter(range(0, 1000, 10))
    late = Deadline(5, clock=lambda: next(ticks))  # 10 s pass at every look at the clock
    with pytest.raises(DeadlineExceededError):
        export_engine.export(SearchRequest(q="rally"), limit=100, deadline=late)
    assert not export_engine.snapshot().busy


# -- the API: streamed, capped, CSV and JSON Lines -------------------------------------------


def test_the_response_is_written_as_the_rows_are_read(export_client, monkeypatch):
    monkeypatch.setattr(web_export, "CHUNK_BYTES", 1)  # a chunk per line
    export_client.get("/api/health")  # opens the backend
    engine = export_client.application.extensions["searchsvc.backend"]
    reads = count_reads(monkeypatch, engine)
    response = export_client.get("/api/export?sort=newest&fields=id")
    assert response.status_code == 200 and response.is_streamed
    seen = [(chunk, reads[0]) for chunk in response.response]
    assert [reads for _, reads in seen] == list(range(len(RECORDS) + 1))
    assert seen[1][0] == b"formula\r\n"  # the first row, out before the second is read
    assert not engine.snapshot().busy


def test_csv_parses_back_to_the_stored_values(export_client):
    response = export_client.get("/api/export?format=csv&fields=id,title,date,url,body")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="searchsvc-export-')
    assert disposition.endswith('.csv"')
    rows = csv_rows(response.get_data())
    assert rows[0] == ["id", "title", "date", "url", "body"]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(by_id) == len(RECORDS) == len(rows) - 1
    assert by_id["quoted"] == ["quoted", 'A "quoted", comma title', "2024-03-01"] + [
        "https://example.org/quoted",
        BODY,
    ]
    assert by_id["plus"][2] == "2024-03-04T14:30:00Z"  # a time where the release gave one
    assert by_id["undated"][1:3] == ["Türkmen rally, no date", ""]


@pytest.mark.parametrize(
    ("record", "cell"),
    [
        ("formula", '\'=HYPERLINK("http://evil.example","click")'),
        ("plus", "'+1 more rally"),
        ("minus", "'-5 degrees in Ashgabat"),
        ("at", "'@SUM(A1:A2) rally"),
        ("quoted", 'A "quoted", comma title'),
    ],
)
def test_csv_neutralises_formulas_and_json_lines_keep_the_value(export_client, record, cell):
    rows = csv_rows(export_client.get("/api/export?fields=id,title").get_data())
    assert dict(rows[1:])[record] == cell
    lines = export_client.get("/api/export?format=jsonl&fields=id,title").get_data()
    titles = {o["id"]: o["title"] for o in map(json.loads, lines.decode().splitlines())}
    assert titles[record] == next(r["title"] for r in RECORDS if r["id"] == record)


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+1", "'=1+1"), ("+", "'+"), ("-x", "'-x"), ("@x", "'@x"), ("\tx", "'\tx")]
    + [("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), ("'=x", "'=x")],
)
def test_neutralise(cell, written):
    assert web_export.neutralise(cell) == written


def test_json_lines_one_object_a_line_with_the_fields_asked(export_client):
    response = export_client.get("/api/export?format=jsonl&q=rally&sort=oldest&fields=title,id")
    assert response.content_type == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.jsonl"')
    objects = [json.loads(line) for line in response.get_data().decode("utf-8").split("\n")[:-1]]
    assert [list(o) for o in objects] == [["title", "id"]] * 6
    assert [o["id"] for o in objects] == ["quoted", "at", "minus", "plus", "formula", "undated"]
    full = export_client.get("/api/export?format=jsonl&q=T%C3%BCrkmen").get_data().decode()
    assert json.loads(full) == {
        "id": "undated",
        "title": "Türkmen rally, no date",
        "date": None,
        "source": "Wire",
        "category": [],
        "place": "",
        "url": "https://example.org/undated",
        "country": ["Turkmenistan"],  # "Türkmen": recognised at index time (entities)
        "person": [],
        "organisation": [],
    }


def test_past_the_limit_the_headers_and_the_last_line_say_so(export_index):
    app = create_app({"TESTING": True, "INDEX_DIR": str(export_index), "EXPORT_LIMIT": 2})
    client = app.test_client()
    response = client.get("/api/export?sort=newest&fields=id")
    assert response.headers["X-Export-Truncated"] == "true"
    assert response.headers["X-Export-Total"] == str(len(RECORDS))
    assert response.headers["X-Export-Rows"] == "2"
    rows = csv_rows(response.get_data())
    assert rows[:3] == [["id"], ["formula"], ["plus"]]
    assert rows[3] == [f"# truncated: 2 of {len(RECORDS)} matching releases (the export limit); "
                       "narrow the search with dates or filters to export the rest"]  # fmt: skip
    assert len(rows) == 4
    lines = client.get("/api/export?format=jsonl&fields=id").get_data().decode().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[-1]) | {"message": ""} == {
        "truncated": True,
        "rows": 2,
        "total": len(RECORDS),
        "message": "",
    }


def test_within_the_limit_nothing_is_said(export_client):
    response = export_client.get("/api/export?format=jsonl")
    assert response.headers["X-Export-Truncated"] == "false"
    assert response.headers["X-Export-Rows"] == response.headers["X-Export-Total"] == "6"
    assert all("truncated" not in json.loads(line) for line in response.get_data().splitlines())


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("/api/export?format=xml", "xml"),
        ("/api/export?format=CSV", "CSV"),
        ("/api/export?fields=id,secret", "secret"),
        ("/api/export?fields=id,", "fields"),
        ("/api/export?sort=sideways", "sideways"),
        ("/api/export?from=bogus-date", "bogus-date"),
        ('/api/export?q="unclosed&strict=true', ""),
    ],
)
def test_a_bad_request_is_the_400_envelope(export_client, url, word):
    response = export_client.get(url)
    assert response.status_code == 400 and response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"ok", "error", "status"} and body["status"] == 400
    assert word in body["error"]


def test_paging_means_nothing_to_an_export(export_client):
    response = export_client.get("/api/export?page=99&size=1&fields=id")
    assert response.headers["X-Export-Rows"] == "6"


# -- the page, the CLI and OpenAPI: derived from the one declaration -------------------------


def test_the_page_links_the_export_of_its_search(export_client):
    page = export_client.get("/?q=rally&year=2024&page=2&size=2").get_data(as_text=True)
    assert 'href="/api/export?format=csv&amp;q=rally&amp;year=2024"' in page
    assert 'href="/api/export?format=jsonl&amp;q=rally&amp;year=2024"' in page
    assert "Download CSV" in page and "Download JSON Lines" in page
    nothing = export_client.get("/?q=zzyzx").get_data(as_text=True)
    assert "Download CSV" not in nothing


def test_every_search_parameter_but_paging_is_an_export_parameter(runner):
    # An export lists every release, near-duplicates too: grouping means nothing to it.
    assert [p.name for p in EXPORT_PARAMS] == [
        p.name for p in PARAMS if p.name not in ("page", "size", "group")
    ]
    help_text = runner.invoke(main, ["export", "--help"]).output
    assert all(f"--{p.name} " in help_text for p in EXPORT_PARAMS if p.name != "q")
    assert "--page" not in help_text and "--size" not in help_text
    operation = spec()["paths"]["/api/export"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == [p.name for p in EXPORT_PARAMS] + ["format", "fields"]


def test_the_cli_writes_a_file(runner, export_index, tmp_path):
    out = tmp_path / "all.csv"
    args = ["export", "rally", "--sort", "oldest", "--index-dir", str(export_index), "-o", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"6 rows to {out}, oldest first\n"
    rows = csv_rows(out.read_bytes())
    assert [row[0] for row in rows] == ["id", "quoted", "at", "minus", "plus", "formula", "undated"]


def test_the_cli_writes_json_lines_to_stdout_and_says_when_it_is_cut_short(runner, export_index):
    args = ["export", "--format", "jsonl", "--fields", "id", "--limit", "2"]
    result = runner.invoke(main, [*args, "--index-dir", str(export_index)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[:2] == [{"id": "formula"}, {"id": "plus"}] and lines[2]["truncated"] is True
    assert result.stderr.splitlines() == [
        "2 rows, newest first",
        "warning: truncated: 2 of 6 matching releases (the export limit); "
        "narrow the search with dates or filters to export the rest",
    ]


def test_the_cli_says_what_is_wrong_in_one_line(runner, export_index, tmp_path):
    bad = runner.invoke(main, ["export", "--fields", "nope", "--index-dir", str(export_index)])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: fields must name columns")
    none = runner.invoke(main, ["export", "--index-dir", str(tmp_path / "none")])
    assert none.exit_code == 1 and "Run: searchsvc index" in none.stderr


def test_a_reader_that_stops_early_ends_the_export_quietly(tmp_path):
    # `searchsvc export ... | head -1`: the pipe closes under the export, which stops as
    # Unix tools do (no "Error: Broken pipe" line), whatever is left unwritten.
    import subprocess
    import sys

    from searchsvc.indexing import index_paths

    (tmp_path / "docs").mkdir()
    body = "A release long enough to fill the pipe. " * 20
    lines = [
        json.dumps({"id": f"r{n}", "title": f"Release {n}", "body": body}) for n in range(2000)
    ]
    (tmp_path / "docs" / "many.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index_paths(tmp_path / "index", [tmp_path / "docs"], procs=1)
    for fmt in ("csv", "jsonl"):
        args = ["export", "", "--format", fmt, "--fields", "id,title,body"]
        export = subprocess.Popen(
            [sys.executable, "-m", "searchsvc", *args, "--index-dir", str(tmp_path / "index")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert export.stdout is not None and export.stdout.readline()
        export.stdout.close()
        _, err = export.communicate(timeout=60)
        assert b"Error" not in err and b"Traceback" not in err, err
