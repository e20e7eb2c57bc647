"""The click CLI, run in-process with click's runner, asserting exact output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click
import pytest

from searchsvc.cli import main

PROJECT = Path(__file__).parent.parent
SEEDS = PROJECT / "seeds"


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    return tmp_path / "seeds"


def test_index_then_reindex(runner, tmp_path, seeds_copy):
    ix = str(tmp_path / "ix")
    first = runner.invoke(main, ["index", str(seeds_copy), "--index-dir", ix])
    assert first.exit_code == 0
    assert re.fullmatch(
        r"added 5, updated 0, deleted 0, unchanged 0, skipped 0, undated 0, total 5 documents;"
        r" \d+\.\d\d s, [\d,]+ docs/s\n",
        first.output,
    )
    again = runner.invoke(main, ["index", str(seeds_copy), "--index-dir", ix])
    assert again.output.startswith("added 0, updated 0, deleted 0, unchanged 5, skipped 0,")


def test_index_reports_skipped_files_and_strict_fails(runner, tmp_path, seeds_copy):
    (seeds_copy / "empty.txt").write_bytes(b"")
    args = ["index", str(seeds_copy), "--index-dir", str(tmp_path / "ix")]
    result = runner.invoke(main, args)
    assert result.exit_code == 0
    assert f"skipped {seeds_copy / 'empty.txt'}: empty file\n" in result.output
    assert "skipped 1," in result.output
    strict = runner.invoke(main, [*args, "--strict"])
    assert strict.exit_code == 1


def test_search_lines(runner, seeds_index):
    result = runner.invoke(main, ["search", "consultation", "--index-dir", str(seeds_index)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert re.fullmatch(r"3 results \(1-3 shown, \d+ ms\)", lines[0])
    assert lines[2].endswith("[003_ec0c8cdd937fe39f]")
    assert lines[3].startswith("  2020-12-17 · Trend · Baku, Azerbaijan  score ")
    assert "[consultations]" in lines[4]
    assert lines[-1] == "by year: 2020:1, 2023:1, 2026:1"


@pytest.mark.parametrize(
    "args",
    [
        ["--size", "2"],
        ["--size", "2", "--page", "2", "--from", "2019", "--place", "-baku", "--sort", "newest"],
        ["--size", "2", "--page", "3"],  # the last page: null
    ],
)
def test_search_json_links_the_next_page_as_the_api_does(runner, seeds_index, client, args):
    result = runner.invoke(
        main, ["search", "Turkmenistan", "--json", *args, "--index-dir", str(seeds_index)]
    )
    cli = json.loads(result.output)
    names = {
        "--size": "size",
        "--page": "page",
        "--from": "from",
        "--place": "place",
        "--sort": "sort",
    }
    query = {"q": "Turkmenistan"} | {
        names[k]: v for k, v in zip(args[::2], args[1::2], strict=True)
    }
    api = client.get("/api/search", query_string=query).get_json()
    assert (cli["next_url"] is None) == (api["next_url"] is None) == (args[-1] == "3")
    if cli["next_url"]:  # the same URL, its parameters in whichever order
        cli_url, api_url = urlsplit(cli["next_url"]), urlsplit(api["next_url"])
        assert cli_url.path == api_url.path == "/api/search"
        assert parse_qs(cli_url.query) == parse_qs(api_url.query)


def test_search_json_is_the_api_shape(runner, seeds_index):
    args = ["search", "Turkmenistan", "--json", "--from", "2023-05", "--to", "2023-05"]
    result = runner.invoke(main, [*args, "--index-dir", str(seeds_index)])
    payload = json.loads(result.output)
    assert payload["ok"] is True and payload["total"] == 2
    assert {r["id"] for r in payload["results"]} == {
        "001_1cd7d1af4bda551f",
        "002_77df0451d7f08fe1",
    }
    assert payload["facets"]["year"] == [{"value": "2023", "count": 2}]
    assert set(payload["results"][0]) == {
        "id",
        "title",
        "date",
        "source",
        "category",
        "place",
        "url",
        "score",
        "snippet",
        "also",
        "country",
        "person",
        "organisation",
        "title_html",
    }
    assert payload["timeline"]["unit"] == "day"  # May 2023's matches: 5 and 8 May
    assert payload["suggestion"] is None


def test_search_suggestion(runner, seeds_index):
    result = runner.invoke(main, ["search", "turkmenstan", "--index-dir", str(seeds_index)])
    assert "Did you mean: turkmenistan" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["search", "title:(", "--strict"],
            "Error: Unbalanced parenthesis: a ( is never closed.\n",
        ),
        (["search", "x", "--from", "someday"], "Error: 'someday' is not a date; try 2023,"),
        (["search", "x", "--size", "500"], "Error: size must be between 1 and 100, not 500\n"),
    ],
)
def test_search_errors_are_one_line(runner, seeds_index, args, message):
    result = runner.invoke(main, [*args, "--index-dir", str(seeds_index)])
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["search", "stats"])
def test_missing_index_names_the_command_that_builds_it(runner, tmp_path, command):
    ix = tmp_path / "nothing"
    args = [command, "x"] if command == "search" else [command]
    result = runner.invoke(main, [*args, "--index-dir", str(ix)])
    assert result.exit_code == 1
    assert result.output == f"Error: No index at {ix}/. Run: searchsvc index --index-dir {ix}\n"


def test_stats(runner, seeds_index):
    result = runner.invoke(main, ["stats", "--index-dir", str(seeds_index)])
    lines = result.output.splitlines()
    assert lines[:3] == [
        "documents: 5 (0 undated)",
        "dates: 2020-12-17 .. 2026-02-27",
        "per year: 2020:1, 2023:3, 2026:1",
    ]
    assert lines[3].startswith("index size: ")


def test_every_command_has_help_and_is_in_the_readme(runner):
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and command.help
        assert f"searchsvc {name}" in readme, f"README does not show `searchsvc {name}`"


def test_the_readme_commands_table_lists_every_option(runner):
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `searchsvc {name} "))
        usage = row.split("` | ", 1)[0]  # the first cell (its `csv\|jsonl` holds a bar)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                opts = [*param.opts, *param.secondary_opts]  # --group/--no-group: either
                assert any(opt in usage for opt in opts), (name, opts)


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in ci.splitlines() if "pytest" in line)
    assert test_command in readme


def test_the_command_starts_without_importing_scipy(tmp_path):
    """nltk imports scipy.stats when scipy is installed (2-3 s a start); the command hides
    it while nltk loads. A stand-in scipy on the path says whether it was imported."""
    fake = tmp_path / "path" / "scipy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("FAKE = True\n", encoding="utf-8")
    (fake / "stats.py").write_text("def fisher_exact(*a):\n    return 1\n", encoding="utf-8")
    code = (
        "import sys; import searchsvc.cli; "
        "print('scipy' in sys.modules, 'nltk' in sys.modules); "
        "from searchsvc.analysis import stem_term; print(stem_term('meetings')); "
        "import scipy; print(scipy.FAKE)"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "path")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Not imported while the command starts; importable afterwards, as usual.
    assert done.stdout.split("\n")[:3] == ["False True", "meet", "True"]


def test_malformed_folder_exits_0_and_names_each_bad_file(runner, tmp_path):
    folder = Path(__file__).parent / "data" / "malformed"
    result = runner.invoke(main, ["index", str(folder), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 0
    for name, reason in [
        ("empty.txt", "empty file"),
        ("binary.txt", "binary file"),
        ("koi8r.txt", "not UTF-8"),
        ("unterminated.md", "broken front matter"),
        ("bad-yaml.md", "broken front matter"),
        ("notes.csv", "unsupported file type"),
    ]:
        assert f"skipped {folder / name}: {reason}" in result.output
    assert f"skipped {folder / 'records.jsonl'}: line 4: not JSON" in result.output
    cp1252 = "not UTF-8 (4 bytes, the first 0xe9 at offset 14); read as cp1252"
    assert f"warning {folder / 'latin1.md'}: {cp1252}\n" in result.output
    assert f"{folder / 'utf16.txt'}" not in result.output  # its byte order mark says UTF-16
    search = runner.invoke(main, ["search", "zanzibarite", "--index-dir", str(tmp_path / "ix")])
    assert search.output.startswith("5 results")


def test_the_opensearch_backend_without_its_client_is_one_line(runner, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "opensearchpy", None)  # as if not installed
    for name in [m for m in sys.modules if m.startswith("searchsvc.opensearch")]:
        monkeypatch.delitem(sys.modules, name)
    for command in (["search", "x"], ["index", "seeds"], ["stats"]):
        result = runner.invoke(main, command, env={"SEARCHSVC_BACKEND": "opensearch"})
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: The OpenSearch backend needs its client")
        assert "pip install -e '.[opensearch]'" in result.output
