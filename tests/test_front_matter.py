"""Front matter as exports write it: odd dates and odd types, through `searchsvc index`.

Each release is a file on disk; one run indexes them all, and the test reads back each
document's date (or none) and the warning the run printed for its file. A value that
cannot be a release's date costs the release its date, never its place, and is named.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.searching import Engine

UNDATED = "; indexed undated"

# name -> (the date line as written, the date indexed, the warning printed or None).
DATES: dict[str, tuple[str, datetime | None, str | None]] = {
    "year-number": ("date: 2023", datetime(2023, 1, 1), "only the year given ('2023')"),
    "year-text": ("date: '2023'", datetime(2023, 1, 1), "only the year given ('2023')"),
    "compact-number": ("date: 20230115", datetime(2023, 1, 15), None),
    "negative-year": (
        "date: -0001-01-01",
        None,
        "implausible date '-0001-01-01' (before the year 1000)" + UNDATED,
    ),
    "placeholder": (
        "date: 0001-01-01",
        None,
        "implausible date '0001-01-01' (before the year 1000)" + UNDATED,
    ),
    "feb-30": ("date: 2023-02-30", None, "unreadable date '2023-02-30'" + UNDATED),
    "exponent": ("date: 1e3", None, "unreadable date '1e3'" + UNDATED),
    "decimal": ("date: 2023.5", None, "unreadable date '2023.5'" + UNDATED),
    "bool": ("date: true", None, "unreadable date 'true'" + UNDATED),
    "sexagesimal": ("date: 12:30", None, "unreadable date '12:30' (no year)" + UNDATED),
    "huge-number": (
        "date: " + "9" * 50_000,
        None,
        f"unreadable date '{'9' * 40}'… (50,000 characters)" + UNDATED,
    ),
    "list": ("date: [2023]", None, "unreadable date (a list, not a date)" + UNDATED),
    "zone": ("date: 2023-05-05T01:30:00+05:30", datetime(2023, 5, 4, 20), None),
    "far-future": (
        "date: 2100-01-01",
        None,
        "implausible date '2100-01-01' (more than a year after today, ",
    ),
    "no-year": ("date: May 5", None, "unreadable date 'May 5' (no year)" + UNDATED),
    "day-only": ("date: '12'", None, "unreadable date '12' (no year)" + UNDATED),
    "month": ("date: May 2023", datetime(2023, 5, 1), None),
    # A zone by name (dateutil dropped it: 10:00 UTC); a day alone is that day anywhere.
    "zone-name": ("date: 2024-05-05 10:00 Europe/Berlin", datetime(2024, 5, 5, 8), None),
    "zone-day": ("date: 2024-05-05 Europe/Berlin", datetime(2024, 5, 5), None),
    "zone-unknown": (
        "date: 2024-05-05 10:00 Europe/Nowhere",
        None,
        "unreadable date '2024-05-05 10:00 Europe/Nowhere' (unknown time zone)" + UNDATED,
    ),
    # An unreadable date, and a readable published_time: dated by it (before: undated).
    "fallback": (
        "date: garbage\npublished_time: 2024-01-01T10:00:00-05:00",
        datetime(2024, 1, 1, 15),
        "unreadable date 'garbage'; dated by published_time",
    ),
    "no-date": ("published_time: 2024-01-02", datetime(2024, 1, 2), None),
    "empty": ("date:", None, None),
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    root = tmp_path_factory.mktemp("front")
    docs = root / "docs"
    for name, (line, _, _) in DATES.items():
        _write(docs / f"{name}.md", f"---\ntitle: Release {name}\n{line}\n---\n\nBody of {name}.\n")
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["index", str(docs), "--index-dir", str(root / "ix")])
    assert result.exit_code == 0, result.output
    return docs, root / "ix", result.output


@pytest.mark.parametrize("name", DATES)
def test_each_odd_date_is_read_or_reported(dated, name):
    docs, ix, output = dated
    _, want_date, want_warning = DATES[name]
    warnings = [
        line.split(": ", 1)[1]
        for line in output.splitlines()
        if line.startswith(f"warning {docs / name}.md: ")
    ]
    with Engine(ix) as engine:
        assert engine.document(name).date == want_date
    if want_warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warnings[0].startswith(want_warning), warnings
    assert "Traceback" not in output


def test_the_summary_counts_the_undated(dated):
    _, _, output = dated
    undated = sum(when is None for _, when, _ in DATES.values())
    assert f"skipped 0, undated {undated}, total {len(DATES)} documents" in output


# -- line endings: Windows' CRLF and the old Mac's lone CR ----------------------------------

ENDINGS = {"crlf": "\r\n", "cr": "\r", "lf": "\n"}


@pytest.mark.parametrize("name", ENDINGS)
def test_line_endings_keep_front_matter_and_the_seed_header(tmp_path, runner, name):
    """Before: a CR-only file's front matter was body text ('title: T date: ...'), undated,
    and a CR-only seed's title ran into its dateline."""
    end = ENDINGS[name]
    docs = tmp_path / "docs"
    md = end.join(["---", "title: Front title", "date: 2024-03-04", "---", "", "Line one.", ""])
    txt = end.join([" date 2024-03-05", "", "Seed title", "", "WASHINGTON. The body.", ""])
    _write(docs / "front.md", md)
    _write(docs / "seed.txt", txt)
    result = runner.invoke(main, ["index", str(docs), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 0 and "skipped 0, undated 0" in result.output, result.output
    with Engine(tmp_path / "ix") as engine:
        front, seed = engine.document("front"), engine.document("seed")
    assert (front.title, front.body, front.date) == (
        "Front title",
        "Line one.",
        datetime(2024, 3, 4),
    )
    assert (seed.title, seed.body) == ("Seed title", "Seed title\n\nWASHINGTON. The body.")


# -- other fields: text as written, whatever YAML 1.1 would make of it ------------------------

FIELDS = {
    # name -> (front matter, (title, place, source, categories) as indexed)
    "version": ("title: 3.10\nplace: NO\nsource: on", ("3.10", "NO", "on", ())),
    "clock": (
        "title: 1:30\ntags: [yes, NO, 0x1F, 012]",
        ("1:30", "", "", ("yes", "NO", "0x1F", "012")),
    ),
    "mapping": (
        "title: {a: 1}\nplace: {x: 1}\ncategories: [gas, [oil], {k: v}]",
        ("Body of mapping.", "", "", ("gas",)),
    ),
    "list-title": (
        "title: [First, Second]\ntags: energy, gas , , oil",
        ("First", "", "", ("energy", "gas", "oil")),
    ),
    "empty-title": ("title: ~\ntags: []", ("Body of empty-title.", "", "", ())),
}


def test_front_matter_values_are_the_text_written(tmp_path, runner):
    """Before: 'title: 3.10' was indexed as 3.1, '1:30' as 90, 'place: NO' as False and
    'yes' as True; a mapping's Python repr became the title or place."""
    docs = tmp_path / "docs"
    for name, (front, _) in FIELDS.items():
        _write(docs / f"{name}.md", f"---\n{front}\n---\n\nBody of {name}.\n")
    _write(docs / "j.jsonl", '{"id": "json-bool", "title": true, "body": "x", "place": {}}\n')
    result = runner.invoke(main, ["index", str(docs), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 0 and "skipped 0" in result.output, result.output
    with Engine(tmp_path / "ix") as engine:
        for name, (_, want) in FIELDS.items():
            doc = engine.document(name)
            assert (doc.title, doc.place, doc.source, doc.category) == want, name
        assert (engine.document("json-bool").title, engine.document("json-bool").place) == (
            "true",
            "",
        )


# -- control characters: a bell, a terminal's escape, a DEL ---------------------------------


def test_control_characters_are_not_indexed(tmp_path, runner):
    """Before: a bell or an escape sequence in a release reached the index, and from it the
    page, the JSON and the terminal of whoever ran `searchsvc search` (a bell rang)."""
    docs, ix = tmp_path / "docs", str(tmp_path / "ix")
    _write(docs / "a.txt", " date 2024-01-01\n\nTitle \a zorbex\n\nBody \x1b[2J zorbex \x7f\n")
    _write(docs / "b.md", '---\ntitle: "B \\a zorbex"\n---\nBody\tof \x1b b \x85 zorbex.\n')
    _write(docs / "c.jsonl", '{"id": "c", "title": "C \\u0007 zorbex", "body": "a\\u001bb"}\n')
    result = runner.invoke(main, ["index", str(docs), "--index-dir", ix])
    assert "added 3," in result.output, result.output
    with Engine(tmp_path / "ix") as engine:
        texts = [(d.title, d.body) for d in map(engine.document, ["a", "b", "c"])]
    assert texts == [
        ("Title  zorbex", "Title  zorbex\n\nBody [2J zorbex"),
        ("B zorbex", "Body\tof  b  zorbex."),
        ("C zorbex", "ab"),
    ]
    found = runner.invoke(main, ["search", "zorbex", "--index-dir", ix]).output
    assert found.startswith("3 results") and not set(found) & {"\a", "\x1b", "\x7f", "\x85"}
