"""Readers: discovering files, the three formats, and every kind of bad input."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest

from searchsvc.reading.discovery import SUPPORTED_SUFFIXES, Skipped, SourceFile, discover, doc_id
from searchsvc.reading.documents import (
    Document,
    DocumentError,
    lenient_date,
    parse_jsonl_line,
    parse_markdown,
    parse_text,
    read_source,
    shown_title,
)
from searchsvc.reading.markdown_text import markdown_to_text
from searchsvc.reading.release_text import is_date

HERE = Path(__file__).parent
SEEDS = HERE.parent / "seeds"
DOCS = HERE / "data" / "docs"
MALFORMED = HERE / "data" / "malformed"


def read_all(*paths: str | Path) -> tuple[list[Document], list[Skipped]]:
    sources, skipped = discover(paths)
    docs: list[Document] = []
    for src in sources:
        for item in read_source(src):
            (skipped if isinstance(item, Skipped) else docs).append(item)
    return docs, skipped


def read_one(path: Path) -> Document | Skipped:
    (item,) = read_source(SourceFile(str(path.parent), str(path)))
    return item


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


# -- the seed text format ------------------------------------------------------------------

SEED_TABLE = [
    (
        "000_151069118a277199",
        datetime(2023, 12, 5),
        "Meeting of the Ministers of Foreign Affairs of Turkmenistan and Russia",
        "",
        "",
    ),
    (
        "001_1cd7d1af4bda551f",
        datetime(2023, 5, 5),
        "On 4 May 2023, the high-level Turkmen-Russian interdepartmental consultations on "
        "regional security issues were held in…",
        "",
        "nCa",
    ),
    (
        "002_77df0451d7f08fe1",
        datetime(2023, 5, 8),
        "Telephone conversation between the President of Turkmenistan and the President of "
        "the Russian Federation",
        "",
        "",
    ),
    (
        "003_ec0c8cdd937fe39f",
        datetime(2020, 12, 17),
        "Turkmenistan and the US continued their political consultations by discussing "
        "cooperation in the humanitarian sphere…",
        "Baku, Azerbaijan",
        "Trend",
    ),
    (
        "004_0c8e5b5424d9bbd8",
        datetime(2026, 2, 27),
        "On February 27, Azerbaijan's Minister of Foreign Affairs Jeyhun Bayramov met with a "
        "delegation led by Ahmet Gurbanov…",
        "",
        "Report",
    ),
]


@pytest.mark.parametrize(("id", "date", "title", "place", "source"), SEED_TABLE)
def test_seed(id, date, title, place, source):
    doc = read_one(SEEDS / f"{id}.txt")
    assert (doc.id, doc.date, doc.title, doc.place, doc.source) == (id, date, title, place, source)
    assert doc.category == () and doc.url == ""
    assert len(doc.title) <= 121


def test_seed_body_drops_only_the_header():
    path = SEEDS / "000_151069118a277199.txt"
    doc = read_one(path)
    assert doc.body.startswith("05 December 2023\n\n39\n\nMeeting of the Ministers")
    assert doc.body.endswith("cooperation on the world stage.")
    assert doc.path == str(path)
    assert doc.hash == hashlib.sha1(path.read_bytes()).hexdigest()


def test_seed_body_keeps_the_dateline_and_folds_blank_lines():
    doc = read_one(SEEDS / "003_ec0c8cdd937fe39f.txt")
    assert doc.body.startswith("BAKU, Azerbaijan, December 17\n\nTurkmenistan and the US")
    assert "\n\n\n" not in doc.body


@pytest.mark.parametrize(
    ("text", "date", "title"),
    [
        (
            "date 2024-03-01 Headline without the leading space\n\nBody.",
            datetime(2024, 3, 1),
            "Headline without the leading space",
        ),
        ("No header at all\n\nJust text.", None, "No header at all"),
        (
            " date 2024-03-01\r\nWindows line endings\r\n\r\nBody.",
            datetime(2024, 3, 1),
            "Windows line endings",
        ),
        # A short line after the first paragraph is a list item, not the headline.
        (
            " date 2024-03-01 The parties met. They agreed.\n\nshort item",
            datetime(2024, 3, 1),
            "The parties met.",
        ),
        (" date 2024-03-01 . A stray dot. Then text.", datetime(2024, 3, 1), ". A stray dot."),
        (
            " date 2024-03-01 Mr. S. Lavrov met the U.S. Secretary. Then they left.",
            datetime(2024, 3, 1),
            "Mr. S. Lavrov met the U.S. Secretary.",
        ),
    ],
)
def test_seed_variants(text, date, title):
    doc = parse_text(text, "x")
    assert (doc.date, doc.title) == (date, title)


@pytest.mark.parametrize(
    ("text", "place", "source"),
    [
        ("ASHGABAT, December 17\n\nText, AKIpress reported.", "Ashgabat", "AKIpress"),
        (
            "NUR-SULTAN, Kazakhstan, 5 May\n\nText, Kazinform News Agency informs.",
            "Nur-Sultan, Kazakhstan",
            "Kazinform News Agency",
        ),
        ("NATO, EU MEET\n\nNo dateline above: the last part is not a date.", "", ""),
        ("Text. The ministry reported progress. ///Editorial note, see below", "", ""),
    ],
)
def test_seed_place_and_source_patterns(text, place, source):
    doc = parse_text(text, "x")
    assert (doc.place, doc.source) == (place, source)


@pytest.mark.parametrize("line", ["29 February", "31", "08/05/2023", "05 December 2023", "39"])
def test_date_lines_are_dates_whatever_today_is(line):
    assert is_date(line)


@pytest.mark.parametrize("line", ["Meeting of the Ministers", "BAKU, Azerbaijan, December 17"])
def test_headlines_and_datelines_are_not_dates(line):
    assert not is_date(line)


def test_seed_header_only_is_no_text():
    with pytest.raises(DocumentError, match="no text"):
        parse_text(" date 2024-03-01 \n\n", "x")


# -- Markdown ------------------------------------------------------------------------------


def test_markdown_front_matter_mapping():
    doc = read_one(
        DOCS / "statements-releases/2021-11/2021-11-03-statement-on-the-global-methane-pledge.md"
    )
    assert doc.title == "Statement on the Global Methane Pledge"  # the NBSP folded
    assert doc.date == datetime(2021, 11, 3)  # `date` wins over published_time
    assert doc.category == ("statements-releases",)
    assert doc.url == (
        "https://www.whitehouse.gov/briefing-room/statements-releases/2021/11/03/"
        "statement-on-the-global-methane-pledge/"
    )
    assert (doc.source, doc.place) == ("The White House", "")


def test_markdown_tags_list_place_and_unquoted_date():
    doc = read_one(DOCS / "fact-sheets/2024-04/2024-04-22-fact-sheet-earth-day-conservation.md")
    # Every tag is kept, in order: not only the first.
    assert (doc.category, doc.place, doc.date) == (
        ("fact-sheets", "climate"),
        "Washington, D.C.",
        datetime(2024, 4, 22),
    )


def test_markdown_published_time_only_is_normalised_to_utc():
    doc = read_one(DOCS / "fact-sheets/2022-08/2022-08-16-fact-sheet-clean-energy-tax-credits.md")
    # 21:30 in New York (UTC-4) is 01:30 the next day in UTC.
    assert doc.date == datetime(2022, 8, 17, 1, 30)
    assert doc.date.tzinfo is None


def test_markdown_markup_is_stripped():
    doc = read_one(
        DOCS / "statements-releases/2021-11/2021-11-03-statement-on-the-global-methane-pledge.md"
    )
    assert "joined the Global Methane Pledge, a commitment" in doc.body
    assert "globalmethanepledge.org" not in doc.body
    assert "leaders' meeting during" in doc.body and "*" not in doc.body
    assert "Oil and gas operators will find and fix leaks." in doc.body
    assert "-" not in doc.body.split("\n\n")[-1]


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("See [the report](https://example.com/r) now.", "See the report now."),
        ("**Bold**, *em*, _em_ and __strong__.", "Bold, em, em and strong."),
        ("**HEAD: **At a time", "HEAD: At a time"),  # an unpaired run is still markup
        ("![A chart](chart.png)", "A chart"),
        ("## Heading\n\n- one\n- two\n\n1. first", "Heading\n\none\n\ntwo\n\nfirst"),
        ("Line one\nline two", "Line one line two"),
        ("Hard  \nbreak", "Hard\nbreak"),
        ("Text with <u>tags</u> and <span style='x'>spans</span>.", "Text with tags and spans."),
        (
            "<table>\n<tr>\n<td>State</td>\n<td>Funds</td>\n</tr>\n<tr><td>AR</td><td>$11</td></tr>",
            "State Funds\nAR $11",
        ),
        (
            "<figure><img src='x.png' alt='Map'>\n<figcaption>A\nmap</figcaption></figure>",
            "Map\nA map",
        ),
        ("<!-- -->\n\nAfter a comment", "After a comment"),
        ("Para one.\n\n\n\nPara two.", "Para one.\n\nPara two."),
        ("    Indented four spaces: [not code](http://x).", "Indented four spaces: not code."),
        ("```\nfenced code\n```", "fenced code"),
        ("Caf&eacute; &amp; bar", "Café & bar"),
        ("Non\u00a0breaking\u00a0space", "Non breaking space"),
        # html.parser asserts on this; the text before it survives, the block's rest is lost.
        ("<div>before\n<![x]> after</div>", "before"),
    ],
)
def test_markdown_to_text(markdown, text):
    assert markdown_to_text(markdown).text == text


def test_markdown_without_front_matter_takes_its_title_from_the_first_heading():
    doc = read_one(DOCS / "notes/undated-briefing-note.md")
    assert doc.title == "Briefing note: consultations on water sharing"
    assert doc.date is None
    assert doc.id == "undated-briefing-note"  # read alone, the root is its own folder


def test_markdown_without_heading_takes_its_first_line():
    doc = parse_markdown("Just a line of *text*\nand more.\n\nSecond paragraph.", "x")
    assert doc.title == "Just a line of text and more."


def test_markdown_published_time_string_and_bad_date():
    doc = parse_markdown("---\npublished_time: '2025-05-22 10:28:32-04:00'\n---\nText", "x")
    assert doc.date == datetime(2025, 5, 22, 14, 28, 32)
    doc = parse_markdown("---\ndate: someday\n---\nText", "x")
    assert (doc.date, doc.warnings) == (None, ("unreadable date 'someday'; indexed undated",))
    # Unquoted impossible dates too: YAML leaves dates as text, the whole file is not lost.
    doc = parse_markdown("---\ntitle: T\ndate: 2023-02-30\n---\nText", "x")
    assert (doc.title, doc.date) == ("T", None)
    assert doc.warnings == ("unreadable date '2023-02-30'; indexed undated",)


def test_markdown_windows_line_endings():
    doc = parse_markdown("---\r\ntitle: CRLF\r\ndate: '2024-01-02'\r\n---\r\nOne\r\ntwo\r\n", "x")
    assert (doc.title, doc.date, doc.body) == ("CRLF", datetime(2024, 1, 2), "One two")


def test_markdown_front_matter_only_title_is_a_document():
    doc = parse_markdown("---\ntitle: A title only\n---\n", "x")
    assert (doc.title, doc.body) == ("A title only", "")


# -- JSON Lines ----------------------------------------------------------------------------


def test_jsonl_records(tmp_path):
    lines = [
        '{"id": "a", "title": "Alpha", "body": "Body A", "date": "2024-01-02T03:00:00+02:00",'
        ' "url": "https://x/a", "source": "Wire", "category": "news", "place": "Baku"}',
        "",
        '{"_id": 7, "title": "", "text": "BEIR text"}',
    ]
    path = write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    docs = list(read_source(SourceFile(str(tmp_path), str(path))))
    assert [(d.id, d.title, d.body) for d in docs] == [
        ("a", "Alpha", "Body A"),
        ("7", "", "BEIR text"),
    ]
    a = docs[0]
    assert (a.date, a.url, a.source, a.category, a.place) == (
        datetime(2024, 1, 2, 1),
        "https://x/a",
        "Wire",
        ("news",),
        "Baku",
    )
    assert a.hash == hashlib.sha1(lines[0].encode()).hexdigest()
    assert docs[1].hash == hashlib.sha1(lines[2].encode()).hexdigest()
    assert {d.path for d in docs} == {str(path)}


def test_jsonl_bad_lines_are_skipped_with_line_numbers():
    items = list(read_source(SourceFile(str(MALFORMED), str(MALFORMED / "records.jsonl"))))
    assert [d.id for d in items if isinstance(d, Document)] == ["rec-1", "42", "rec-8"]
    assert [(s.line, s.reason) for s in items if isinstance(s, Skipped)] == [
        (4, "line 4: not JSON (Expecting property name enclosed in double quotes at column 2)"),
        (5, "line 5: no text"),
        (6, "line 6: no id (expected 'id' or '_id')"),
        (7, "line 7: not a JSON object but an array"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": null, "text": "x"}', "no id"),
        ('{"id": "", "text": "x"}', "no id"),
        ('"just a string"', "not a JSON object but a string"),
        # An id is one line: the command line prints a result a line, [id] at its end.
        ('{"id": "a\\nb", "text": "x"}', "id 'a\\\\nb' holds a tab or line break"),
        ('{"id": "a\\tb", "text": "x"}', "holds a tab or line break"),
        ('{"id": "a\\u2028b", "text": "x"}', "holds a tab or line break"),
    ],
)
def test_jsonl_bad_records(line, reason):
    with pytest.raises(DocumentError, match=reason):
        parse_jsonl_line(line)


def test_jsonl_record_with_an_unreadable_date_is_indexed_undated():
    doc = parse_jsonl_line('{"id": 1, "text": "x", "date": "not a date"}')
    assert (doc.id, doc.date) == ("1", None)
    assert doc.warnings == ("unreadable date 'not a date'; indexed undated",)


def test_an_untitled_record_is_shown_titled_as_a_seed_is():
    body = "BAKU, Azerbaijan, December 17\n\nTalks held in Baku\n\nThe ministers met. More."
    assert shown_title("", body) == "Talks held in Baku"
    assert shown_title("", "The ministers met today. Then more.") == "The ministers met today."
    assert shown_title("Own title", body) == "Own title"


def test_bidirectional_overrides_are_dropped_from_every_field(tmp_path):
    # U+202E would show "Minister\u202e cba" reversed on a page, and run past the title.
    text = (
        '---\ntitle: "Minister \u202emeets\u202c envoy"\nsource: "\u2066Wire\u2069"\n---\n'
        "A \u202dbody.\n"
    )
    path = write(tmp_path / "r.md", text)
    (doc,) = read_source(SourceFile(str(tmp_path), str(path)))
    assert (doc.title, doc.source, doc.body.strip()) == ("Minister meets envoy", "Wire", "A body.")


def test_a_binary_yaml_value_is_read_as_its_text():
    doc = parse_markdown("---\ntitle: !!binary aGVsbG8=\nsource: !!binary V2lyZQ==\n---\nBody.\n")
    assert (doc.title, doc.source) == ("hello", "Wire")  # not "b'hello'"


def test_a_jsonl_body_given_as_a_list_of_paragraphs_keeps_them_all():
    doc = parse_jsonl_line('{"id": 1, "title": "T", "body": ["One.", "", "Two.", {"x": 1}, 3]}')
    assert doc.body == "One.\n\nTwo.\n\n3"  # it kept "One." alone


def test_jsonl_title_without_body_is_a_document():
    doc = parse_jsonl_line('{"id": 1, "title": "Only a\\nwrapped  title ."}')
    assert (doc.title, doc.body) == ("Only a wrapped title .", "")


def test_jsonl_bom_on_the_first_line(tmp_path):
    path = write(tmp_path / "c.jsonl", b'\xef\xbb\xbf{"id": "a", "text": "x"}\n')
    (doc,) = read_source(SourceFile(str(tmp_path), str(path)))
    assert doc.id == "a"


# -- bad input -----------------------------------------------------------------------------

MALFORMED_REASONS = {
    "bad-yaml.md": "broken front matter: invalid YAML (did not find expected ',' or ']' at line 3)",
    "binary.txt": "binary file (a NUL byte at offset 25)",
    "blank.md": "empty file",
    "empty.txt": "empty file",
    "koi8r.txt": "not UTF-8 (byte 0xf2 at offset 18), and not Western text in cp1252 either",
    "list-yaml.md": "broken front matter: YAML list, not a mapping",
    "notes.csv": "unsupported file type '.csv'",
    "unterminated.md": "broken front matter: no closing '---'",
}


def test_malformed_folder():
    docs, skipped = read_all(MALFORMED)
    whole_files = {Path(s.path).name: s.reason for s in skipped if s.line is None}
    assert whole_files == MALFORMED_REASONS
    assert sorted(s.line for s in skipped if s.line is not None) == [4, 5, 6, 7]
    # The good files beside the bad ones are all read.
    assert sorted(d.id for d in docs) == [
        "42",
        "bom-release",
        "good-note",
        "good-release",
        "latin1",
        "rec-1",
        "rec-8",
        "utf16",
    ]
    windows = ("rec-8", "latin1", "utf16")
    assert all("zanzibarite" in (d.title + d.body).lower() for d in docs if d.id not in windows)


def test_windows_exports_are_read():
    """A UTF-16 file by its byte order mark, silently; Latin-1 as cp1252, with a warning."""
    utf16 = read_one(MALFORMED / "utf16.txt")
    assert (utf16.title, utf16.date, utf16.warnings) == (
        "Written in UTF-16",
        datetime(2023, 1, 1),
        (),
    )
    latin1 = read_one(MALFORMED / "latin1.md")
    assert (latin1.title, latin1.body) == ("Café notes", "Déjà vu at the café.")
    assert latin1.warnings == ("not UTF-8 (4 bytes, the first 0xe9 at offset 14); read as cp1252",)


def test_bom_is_tolerated():
    doc = read_one(MALFORMED / "bom-release.md")
    assert doc.title == "A file that starts with a byte order mark"
    assert doc.date == datetime(2022, 7, 4)


def test_unreadable_file_is_skipped(tmp_path):
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    (item,) = read_source(SourceFile(str(tmp_path), str(folder)))
    assert isinstance(item, Skipped) and item.reason.startswith("cannot read file: ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: x\n", "broken front matter: no closing '---'"),
        ("---\ntitle: [x\n---\nBody", "broken front matter: invalid YAML"),
        ("---\njust a string\n---\nBody", "broken front matter: YAML str, not a mapping"),
        ("---\n---\n", "no text"),
    ],
)
def test_markdown_bad_front_matter(text, reason):
    with pytest.raises(DocumentError, match=reason.replace("[", r"\[")):
        parse_markdown(text, "x")


# -- discovering files ---------------------------------------------------------------------


def test_discover_walks_sorted_and_skips_hidden(tmp_path):
    for name in ["b.txt", "a/z.md", "a/c.jsonl", ".hidden.txt", ".git/x.txt", "a/.draft.md"]:
        write(tmp_path / name, "text")
    sources, skipped = discover([tmp_path])
    assert [os.path.relpath(s.path, tmp_path) for s in sources] == ["b.txt", "a/c.jsonl", "a/z.md"]
    assert {s.root for s in sources} == {str(tmp_path)}
    assert skipped == []


def test_discover_paths_that_are_files_missing_or_unsupported(tmp_path):
    f = write(tmp_path / "sub" / "one.md", "text")
    write(tmp_path / "sub" / "two.pdf", "text")
    sources, skipped = discover([f, tmp_path / "nope", tmp_path / "sub"])
    assert sources == [SourceFile(str(tmp_path / "sub"), str(f))]  # read once, not twice
    assert skipped == [
        Skipped(str(tmp_path / "nope"), "no such file or folder"),
        Skipped(str(tmp_path / "sub" / "two.pdf"), "unsupported file type '.pdf'"),
    ]


def test_discover_relative_paths_become_absolute(tmp_path, monkeypatch):
    write(tmp_path / "docs" / "a.txt", "text")
    monkeypatch.chdir(tmp_path)
    sources, _ = discover(["docs"])
    assert sources == [SourceFile(str(tmp_path / "docs"), str(tmp_path / "docs" / "a.txt"))]


def test_discover_symlinks(tmp_path):
    target = write(tmp_path / "elsewhere" / "real.txt", "text")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked.txt").symlink_to(target)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    sources, skipped = discover([root])
    assert [s.path for s in sources] == [str(root / "linked.txt")]
    assert skipped == [
        Skipped(str(root / "loop"), "symlinked folder, not followed"),
        Skipped(str(root / "dangling.txt"), "broken symlink"),
    ]


def test_doc_id():
    src = SourceFile("/data", "/data/statements-releases/2024-05/2024-05-01-some-slug.md")
    assert doc_id(src) == "statements-releases/2024-05/2024-05-01-some-slug"
    assert doc_id(SourceFile("/data", "/data/000_151069118a277199.txt")) == "000_151069118a277199"
    assert doc_id(SourceFile("/data", "/data/v1.2.release.md")) == "v1.2.release"


def test_docs_fixture_folder_reads_cleanly():
    docs, skipped = read_all(DOCS)
    assert skipped == []
    assert len(docs) == 8
    assert sum(d.date is None for d in docs) == 1
    assert {d.date.year for d in docs if d.date} == {2021, 2022, 2023, 2024}


def test_suffixes_pick_the_format(tmp_path):
    assert set(SUPPORTED_SUFFIXES) == {".txt", ".md", ".markdown", ".jsonl"}
    write(tmp_path / "a.markdown", "# Markdown heading\n\n*text*")
    write(tmp_path / "b.MD", "# Upper-case suffix\n\n*text*")
    write(tmp_path / "c.txt", "*not markdown*")
    docs, skipped = read_all(tmp_path)
    assert skipped == []
    assert [(d.id, d.title, d.body) for d in docs] == [
        ("a", "Markdown heading", "Markdown heading\n\ntext"),
        ("b", "Upper-case suffix", "Upper-case suffix\n\ntext"),
        ("c", "*not markdown*", "*not markdown*"),
    ]


# -- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2023-12-05", datetime(2023, 12, 5)),
        ("2025-05-22 10:28:32-04:00", datetime(2025, 5, 22, 14, 28, 32)),
        ("5 May 2023", datetime(2023, 5, 5)),
        ("2023-05", datetime(2023, 5, 1)),  # missing parts are fixed, not today's
        (20230115, datetime(2023, 1, 15)),  # YAML and JSON numbers are read as their digits
        (datetime(2020, 1, 1, 23, tzinfo=None), datetime(2020, 1, 1, 23)),
        # As people write dates in exports: read fuzzily, where the text names a year.
        ("Journal March, 1966", datetime(1966, 3, 1)),
        ("Bulletin, March 1966", datetime(1966, 3, 1)),
        ("Updated March 3, 2024 at 5:00 PM EST", datetime(2024, 3, 3, 22)),
        ("5 May 2023 14:00 CET", datetime(2023, 5, 5, 13)),
    ],
)
def test_lenient_date(value, expected):
    assert lenient_date(value) == (expected, ())


@pytest.mark.parametrize("value", ["2023", 2023, " 2023 "])
def test_a_year_alone_is_its_first_day_with_a_warning(value):
    assert lenient_date(value) == (
        datetime(2023, 1, 1),
        ("only the year given ('2023'); indexed as 2023-01-01",),
    )


@pytest.mark.parametrize(
    "value",
    ["not a date", "Volume 3", "2023-02-30", "someday in 1966 or 1967 maybe" * 4, [1], "May 5"],
)
def test_an_unreadable_date_is_a_warning_naming_the_value(value):
    when, (warning,) = lenient_date(value)
    assert when is None
    assert warning.startswith("unreadable date") and warning.endswith("; indexed undated")
    if isinstance(value, str):
        assert repr(value[:40]) in warning


def test_documents_are_frozen():
    doc = Document(id="x", title="t", body="b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.title = "other"  # type: ignore[misc]
