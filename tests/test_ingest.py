"""Ingest details as a user meets them: export dates, untitled records, wrapped wire text,
the progress of a large file, and the CLI's one-line answers to a wrong path or a busy port.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from searchsvc.cli import main
from searchsvc.indexing import index_paths
from searchsvc.reading import reflow
from searchsvc.searching import Engine, SearchRequest

# Dates as exports write them, with the year and month each must be read as.
EXPORT_DATES = [
    ("Journal March, 1966", "1966", "1966-03"),
    ("Bulletin, March 1966", "1966", "1966-03"),
    ("Updated March 3, 2024 at 5:00 PM EST", "2024", "2024-03"),
    ("Published 12 February 2019", "2019", "2019-02"),
    ("1998-07-15", "1998", "1998-07"),
]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    records = [
        {"id": f"r{n}", "title": f"Record {n}", "text": f"exportword number {n}", "date": when}
        for n, (when, _, _) in enumerate(EXPORT_DATES)
    ]
    records.append(
        {"id": "undated", "title": "No date", "text": "exportword", "date": "not a date"}
    )
    records.append({"id": "untitled", "text": "Talks in Baku ended today. The ministers met."})
    path = root / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, root / "index"


def test_export_dates_are_read_with_their_year_and_month(export, runner):
    path, index_dir = export
    result = runner.invoke(main, ["index", str(path), "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "added 7," in result.output and "skipped 0," in result.output
    assert f"warning {path}: id undated: unreadable date 'not a date'; indexed undated" in (
        result.output
    )
    with Engine(index_dir) as engine:
        for n, (_, year, month) in enumerate(EXPORT_DATES):
            doc = engine.document(f"r{n}")
            assert doc is not None and doc.date is not None
            assert (f"{doc.date:%Y}", f"{doc.date:%Y-%m}") == (year, month)
        assert engine.document("undated").date is None
        hits = engine.search(SearchRequest(q="exportword", sort="oldest", size=20)).hits
        ids = [h.id for h in hits]
        assert set(ids[:2]) == {"r0", "r1"} and ids[2:] == ["r4", "r3", "r2", "undated"]


def test_an_untitled_record_is_listed_with_a_title_from_its_text(export, runner):
    path, index_dir = export
    runner.invoke(main, ["index", str(path), "--index-dir", str(index_dir)])
    with Engine(index_dir) as engine:
        [hit] = engine.search(SearchRequest(q="baku ministers")).hits
        assert hit.title == "Talks in Baku ended today."
        assert engine.document("untitled").title == "Talks in Baku ended today."


def test_progress_advances_within_one_large_json_lines_file(tmp_path):
    lines = [json.dumps({"id": f"d{n}", "text": f"word{n} " * 40}) for n in range(3000)]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    calls: list[tuple[int, int]] = []
    index_paths(tmp_path / "ix", [path], procs=1, progress=lambda d, t: calls.append((d, t)))
    size = path.stat().st_size
    assert {t for _, t in calls} == {size}
    assert calls[-1] == (size, size)
    inside = [d for d, _ in calls if 0 < d < size]
    assert len(inside) >= 100  # the bar moves through the file, not 0% then 100%
    assert inside == sorted(inside)


def test_progress_in_worker_processes_counts_bytes_too(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(450):  # over the indexer's threshold for worker processes
        (docs / f"r{n}.txt").write_text(f" date 2024-01-{n % 28 + 1:02d}\n\nTitle {n}\n\nBody {n}")
    calls: list[tuple[int, int]] = []
    index_paths(tmp_path / "ix", [docs], procs=2, progress=lambda d, t: calls.append((d, t)))
    size = sum(p.stat().st_size for p in docs.iterdir())
    assert calls and calls[-1] == (size, size)


def test_wrapped_wire_text_is_reflowed_and_paragraphs_kept():
    text = (
        "The President of Turkmenistan met the visiting minister of foreign\n"
        "affairs of the Russian Federation today in the capital, where they\n"
        "discussed energy.\n\n"
        "Contacts:\nPress office\nTel 123\n\n"
        "The agenda included:\n"
        "- energy cooperation in the Caspian region and beyond for many years\n"
        "- transport corridors along the Silk Road towards the European market"
    )
    assert reflow(text) == [
        "The President of Turkmenistan met the visiting minister of foreign affairs of the "
        "Russian Federation today in the capital, where they discussed energy.",
        "Contacts:\nPress office\nTel 123",
        "The agenda included:\n"
        "- energy cooperation in the Caspian region and beyond for many years\n"
        "- transport corridors along the Silk Road towards the European market",
    ]


def test_the_document_page_reflows_wrapped_text(tmp_path, runner):
    docs = tmp_path / "docs"
    docs.mkdir()
    wrapped = "\n".join(["The ministers met in Ashgabat to discuss the pipeline and trade"] * 4)
    (docs / "wire.txt").write_text(f" date 2024-01-02\n\nWire headline\n\n{wrapped}\n")
    index_paths(tmp_path / "ix", [docs], procs=1)
    from searchsvc.web import create_app

    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "ix")}).test_client()
    page = client.get("/doc/wire").get_data(as_text=True)
    joined = " ".join(["The ministers met in Ashgabat to discuss the pipeline and trade"] * 4)
    assert f"<p>{joined}</p>" in page


def test_index_of_a_path_that_does_not_exist_says_so_and_builds_nothing(tmp_path, runner):
    index_dir = tmp_path / "ix"
    result = runner.invoke(main, ["index", str(tmp_path / "nope"), "--index-dir", str(index_dir)])
    assert result.exit_code != 0
    assert f"Path '{tmp_path / 'nope'}' does not exist" in result.output
    assert not index_dir.exists()


@pytest.mark.slow
def test_serve_on_a_port_in_use_says_so_in_one_line(seeds_index):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cmd = [sys.executable, "-m", "searchsvc", "serve", "--port", str(port)]
        cmd += ["--index-dir", str(seeds_index)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "serving" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line == (
        f"Error: port {port} on 127.0.0.1 is in use by another program: stop it, "
        "or serve on another port with --port (or SEARCHSVC_PORT)"
    )
