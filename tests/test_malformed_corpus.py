"""A malformed corpus: about a hundred bad files of many kinds among good ones.

Empty and binary files, five encodings that are neither UTF-8 nor Western text in cp1252,
UTF-16, UTF-32 and cp1252 files (read; a guessed cp1252 with a warning), broken front
matter, YAML that nests too deep for libyaml, a 5 MB single line (good), a 50 MB file,
symlink loops, broken symlinks, FIFOs and sockets, folders named like files, two files with
one id, and JSON Lines with good and bad lines mixed. Every good document is indexed; every
bad file (or line) is named with its reason, by the library and by `searchsvc index`.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.indexing import index_paths
from searchsvc.reading.documents import MAX_FILE_SIZE
from searchsvc.searching import Engine

GOOD_MD = "---\ntitle: Good {n}\ndate: 2024-01-{d:02d}\n---\n\nThe goodword{n} release.\n"
GOOD_TXT = " date 2024-02-{d:02d}\n\nGood seed {n}\n\nASHGABAT. The goodword{n} release.\n"
TEXT = "The ministry discussed energy cooperation with its partners. " * 4

# name -> (bytes, the reason it is skipped with). None: written specially below.
BAD: dict[str, tuple[bytes, str]] = {
    "empty/zero.txt": (b"", "empty file"),
    "empty/zero-markdown.md": (b"", "empty file"),
    "empty/zero.jsonl": (b"", "empty file"),
    "empty/spaces.txt": (b"   \n\t\n  ", "empty file"),
    "empty/newlines.md": (b"\n" * 1000, "empty file"),
    "empty/bom-only.txt": (b"\xef\xbb\xbf\n", "empty file"),
    "binary/nul.txt": (b"some text\x00more text", "binary file (a NUL byte at offset 9)"),
    "binary/png.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    "binary/elf.txt": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "binary file"),
    "binary/gzip.jsonl": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "binary file"),
    "binary/random.md": (bytes((i * 7919) % 256 for i in range(4096)), "binary file"),
    "binary/utf16-no-bom.md": ("Aşgabat text".encode("utf-16-le"), "binary file"),
    "binary/controls.txt": (bytes(range(1, 9)) * 50 + b"a few words", "binary file (97% control"),
    "binary/utf16-odd.txt": (b"\xff\xfe" + "Aşgabat".encode("utf-16-le")[:-1], "not UTF-16"),
    "binary/utf16-surrogate.md": (b"\xff\xfe\x00\xd8a\x00", "not UTF-16 despite its byte"),
    "binary/utf32-cut.txt": ("Aşgabat".encode("utf-32")[:-3], "not UTF-32 despite its byte"),
    "binary/utf8-bom-bad.md": (b"\xef\xbb\xbfbad \xe9 byte", "not UTF-8 despite its byte"),
    "empty/bom16-only.txt": (b"\xff\xfe\n\x00", "empty file"),
    "encoding/koi8r.txt": ("Привет из Ашхабада".encode("koi8-r"), "not UTF-8"),
    "encoding/shift-jis.md": ("日本語のプレスリリース".encode("shift_jis"), "not UTF-8"),
    "encoding/gb2312.txt": ("中文新闻稿".encode("gb2312"), "not UTF-8"),
    "encoding/cp500.md": ("EBCDIC release text".encode("cp500"), "not UTF-8"),
    "encoding/truncated-utf8.txt": ("Aşgabat".encode()[:2], "not UTF-8"),
    "encoding/latin1.jsonl": ('{"id": "x", "title": "Café"}'.encode("latin-1"), "not UTF-8"),
    "encoding/utf16.jsonl": ('{"id": "y", "title": "T"}'.encode("utf-16"), "not UTF-8"),
    "front/unclosed.md": (b"---\ntitle: No end\n\nBody text", "broken front matter: no closing"),
    "front/fence-only.md": (b"---\n", "broken front matter: no closing"),
    "front/bad-yaml.md": (b"---\ntitle: [unclosed\n---\nBody", "broken front matter: invalid YAML"),
    "front/tab-indent.md": (b"---\na:\n\t- b\n---\nBody", "broken front matter: invalid YAML"),
    "front/list.md": (b"---\n- a\n- b\n---\nBody", "broken front matter: YAML list"),
    "front/scalar.md": (b"---\njust words\n---\nBody", "broken front matter: YAML str"),
    "front/python-tag.md": (
        b"---\ntitle: !!python/object/apply:os.system [ls]\n---\nBody",
        "broken front matter: invalid YAML",
    ),
    "front/deep-block.md": (
        b"---\n" + b"- " * 20_000 + b"x\n---\nBody",
        "broken front matter: nested too deeply",
    ),
    "front/deep-flow.md": (
        b"---\n" + b"[" * 30_000 + b"\n---\nBody",
        "broken front matter: nested too deeply",
    ),
    "front/huge.md": (
        b"---\ntitle: x\n" + b"k: v\n" * 20_000 + b"---\nBody",
        "broken front matter: longer than 64 KB",
    ),
    "front/only.md": (b"---\ndate: 2024-01-01\n---\n", "no text"),
    "dates/tag.md": (b"---\ndate: !!timestamp x\n---\nBody", "broken front matter: invalid YAML"),
    "dates/float-tag.md": (b"---\n- !!float\n---\nBody", "broken front matter: invalid YAML"),
    "dates/bool-tag.md": (b"---\ntitle: !!bool\n---\nBody", "broken front matter: invalid YAML"),
    "text/header-only.txt": (b" date 2024-01-01\n", "no text"),
    "types/report.pdf": (b"%PDF-1.4", "unsupported file type '.pdf'"),
    "types/page.html": (b"<html></html>", "unsupported file type '.html'"),
    "types/notes.docx": (b"PK\x03\x04", "unsupported file type '.docx'"),
    "types/README": (b"no suffix", "unsupported file type (none)"),
    "types/data.json": (b"{}", "unsupported file type '.json'"),
    "types/archive.txt.gz": (b"\x1f\x8b", "unsupported file type '.gz'"),
}
for _n in range(14):  # many more of the common kinds, each a separate file
    BAD[f"many/empty-{_n}.txt"] = (b"", "empty file")
    BAD[f"many/binary-{_n}.md"] = (b"\x00\x01\x02" * (_n + 1), "binary file")
    BAD[f"many/koi8r-{_n}.txt"] = (f"Релиз {_n}: кафе".encode("koi8-r"), "not UTF-8")

# Windows exports: a byte order mark names the encoding (no warning); a file that is not
# UTF-8 and has none is read as cp1252, with a warning. name -> (bytes, text, warning).
CP1252 = "not UTF-8 ({}); read as cp1252"
ENCODED: dict[str, tuple[bytes, str, str]] = {
    "encoding/utf16-le.txt": ("Aşgabat talks".encode("utf-16"), "Aşgabat talks", ""),
    "encoding/utf16-be.md": (
        b"\xfe\xff" + "# Aşgabat\n\nBE text".encode("utf-16-be"),
        "BE text",
        "",
    ),
    "encoding/utf32-le.txt": ("Aşgabat 32".encode("utf-32"), "Aşgabat 32", ""),
    "encoding/utf32-be.md": (
        b"\x00\x00\xfe\xff" + "Aşgabat 32 BE".encode("utf-32-be"),
        "Aşgabat 32 BE",
        "",
    ),
    "encoding/utf8-bom.md": (b"\xef\xbb\xbf---\ntitle: BOM\n---\nWith a BOM", "With a BOM", ""),
    "encoding/latin1.txt": (
        "Café in Aşgabat".encode("latin-1", "replace"),
        "Café in A?gabat",
        CP1252.format("byte 0xe9 at offset 3"),
    ),
    "encoding/cp1252.md": (
        "---\ntitle: “Quoted”\n---\n“Quoted” — release".encode("cp1252"),
        "“Quoted” — release",
        CP1252.format("5 bytes, the first 0x93 at offset 11"),
    ),
    "encoding/cp1252-undefined.txt": (
        b"Caf\xe9 \x81 in the undefined corner of cp1252",
        "Café  in",  # Latin-1 reads 0x81 as a control character, which is dropped
        CP1252.format("2 bytes, the first 0xe9 at offset 3"),
    ),
    "encoding/mixed.md": (
        "Привет из Ашхабада: ".encode() + "the café".encode("cp1252"),
        "Привет из Ашхабада: the café",
        CP1252.format("byte 0xe9 at offset 43"),
    ),
    "encoding/overlong.md": (
        b"slash \xc0\xaf here",
        "slash À¯ here",
        CP1252.format("2 bytes, the first 0xc0 at offset 6"),
    ),
}
for _n in range(14):
    ENCODED[f"many/latin1-{_n}.txt"] = (
        f"Release {_n}: café".encode("latin-1"),
        f"Release {_n}: café",
        CP1252.format(f"byte 0xe9 at offset {13 + len(str(_n))}"),
    )

# A date that cannot be read costs the release its date, not its place in the index: it is
# indexed undated, and the run names the value in a warning.
UNDATED = {
    "dates/feb-30.md": (b"---\ntitle: T\ndate: 2023-02-30\n---\nBody", "'2023-02-30'"),
    "dates/year-zero.txt": (b" date 0000-01-01\n\nTitle\n\nBody", "'0000-01-01'"),
    "dates/month-13.txt": (b" date 2023-13-01\n\nTitle\n\nBody", "'2023-13-01'"),
    "dates/tz-before-year-1.md": (
        b"---\ntitle: T\ndate: 0001-01-01T00:00:00+05:00\n---\nBody",
        "'0001-01-01T00:00:00+05:00'",
    ),
    "dates/words.md": (b"---\ntitle: T\ndate: next tuesday-ish\n---\nBody", "'next tuesday-ish'"),
    "dates/number.md": (b"---\ntitle: T\ndate: 1700000000\n---\nBody", "'1700000000'"),
    "dates/no-year.md": (b"---\ntitle: T\ndate: May 5\n---\nBody", "'May 5' (no year)"),
    "dates/list.md": (b"---\ntitle: T\ndate: [2024-01-01]\n---\nBody", "(a list, not a date)"),
}
UNDATED_LINES = [
    ({"id": "bad-date", "body": "x", "date": "2023-02-30"}, "'2023-02-30'"),
    ({"id": "tz", "body": "x", "date": "0001-01-01T00:00:00+05:00"}, "'0001-01-01T00:00:00+05:00'"),
    ({"id": "words", "body": "x", "date": "not a date"}, "'not a date'"),
]

BAD_LINES = [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object but an array"),
    ('"a string"', "not a JSON object but a string"),
    ("42", "not a JSON object but a number"),
    ("null", "not a JSON object but null"),
    ('{"title": "no id", "body": "x"}', "no id"),
    ('{"id": "", "body": "x"}', "no id"),
    ('{"id": "empty"}', "no text"),
    ('{"id": "num", "body": ' + "9" * 5000 + "}", "not JSON"),
    ("[" * 100_000, "not JSON"),
    ('{"id": "trunc", "body": "cut off', "not JSON"),
    ('{"id": "x", "body": "y"} trailing', "not JSON"),
]
GOOD_LINES = [
    {"id": "jl-1", "title": "JSON good one", "body": "goodwordjl1"},
    {"id": "jl-2", "title": "Lone \ud800 surrogate escape", "body": "goodwordjl2 \udfff"},
    {"id": "jl-3", "title": "NUL \u0000 escape", "body": "goodwordjl3 a\u0000b"},
    {"_id": "jl-4", "text": "goodwordjl4 as BEIR writes it", "title": "BEIR"},
    {"id": 5, "title": "a number id", "body": "goodwordjl5", "date": "5 May 2023"},
]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _corpus(root: Path) -> tuple[set[str], dict[tuple[str, int | None], str]]:
    """Write the corpus under root; return the good ids, and (path, line) -> reason."""
    good: set[str] = set()
    bad: dict[tuple[str, int | None], str] = {}
    for name, (data, *_) in [*UNDATED.items(), *ENCODED.items()]:
        _write(root / name, data)
        good.add(name.rsplit(".", 1)[0])
    for n in range(30):
        _write(root / "good" / f"release-{n:02d}.md", GOOD_MD.format(n=n, d=n % 28 + 1).encode())
        _write(root / "good" / f"seed-{n:02d}.txt", GOOD_TXT.format(n=n, d=n % 28 + 1).encode())
        good |= {f"good/release-{n:02d}", f"good/seed-{n:02d}"}
    for name, (data, reason) in BAD.items():
        _write(root / name, data)
        bad[(name, None)] = reason
    # JSON Lines: good and bad lines mixed; a CRLF, a BOM, blank lines.
    lines = [json.dumps(GOOD_LINES[0]), ""]
    for text, reason in BAD_LINES:
        lines.append(text)
        bad[("mixed.jsonl", len(lines))] = reason
    lines += [json.dumps(r) for r in GOOD_LINES[1:]]
    lines += [json.dumps(record) for record, _ in UNDATED_LINES]
    good |= {record["id"] for record, _ in UNDATED_LINES}
    record = json.dumps({"id": "jl-huge", "body": "x" * (MAX_FILE_SIZE + 1)})
    lines.append(record)
    bad[("mixed.jsonl", len(lines))] = "record too large (10.0 MB; the limit is 10 MB)"
    _write(root / "mixed.jsonl", ("\ufeff" + "\r\n".join(lines)).encode())
    good |= {"jl-1", "jl-2", "jl-3", "jl-4", "5"}
    # Big: a 5 MB line is a (strange) release; 50 MB is not one.
    _write(root / "big" / "one-line.txt", (" date 2024-03-01 " + TEXT * 20_000).encode())
    good.add("big/one-line")
    with open(root / "big" / "fifty.txt", "wb") as f:
        for _ in range(50 * 1024 * 1024 // len(TEXT) + 1):
            f.write(TEXT.encode())
    bad[("big/fifty.txt", None)] = "file too large (50.0 MB; the limit is 10 MB)"
    # Links: loops, broken ones, and a good file reached through one.
    (root / "links").mkdir()
    (root / "links" / "loop").symlink_to("..", target_is_directory=True)
    (root / "links" / "self").symlink_to(root / "links", target_is_directory=True)
    (root / "links" / "to-root").symlink_to("/", target_is_directory=True)
    (root / "links" / "self-file.md").symlink_to("self-file.md")
    (root / "links" / "dangling.txt").symlink_to(root / "nowhere.txt")
    (root / "links" / "dangling-dir.md").symlink_to(root / "no-dir", target_is_directory=True)
    (root / "links" / "good.md").symlink_to(root / "good" / "release-00.md")
    good.add("links/good")
    for name in ("loop", "self", "to-root"):
        bad[(f"links/{name}", None)] = "symlinked folder, not followed"
    for name in ("self-file.md", "dangling.txt", "dangling-dir.md"):
        bad[(f"links/{name}", None)] = "broken symlink"
    # Unreadable as a file: a FIFO (reading it would block), a socket, a device.
    os.mkfifo(root / "special" / "fifo.txt") if (root / "special").mkdir() is None else None
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "special" / "socket.md"))
    listener.close()
    (root / "special" / "null.md").symlink_to("/dev/null")
    for name in ("fifo.txt", "socket.md", "null.md"):
        bad[(f"special/{name}", None)] = "not a regular file"
    # A folder where a file is expected: it is a folder, and its files are read.
    _write(root / "folder.md" / "inside.txt", GOOD_TXT.format(n=99, d=9).encode())
    good.add("folder.md/inside")
    # Two files, one id: the first (in sorted order) wins.
    _write(root / "twins" / "same.md", GOOD_MD.format(n=77, d=7).encode())
    _write(root / "twins" / "same.txt", GOOD_TXT.format(n=78, d=8).encode())
    good.add("twins/same")
    bad[("twins/same.txt", None)] = "same document id 'twins/same' as"
    return good, bad


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("malformed")
    docs = root / "docs"
    docs.mkdir()
    good, bad = _corpus(docs)
    report = index_paths(root / "index", [docs], procs=1)
    return docs, root / "index", good, bad, report


def _relative(docs: Path, path: str) -> str:
    return os.path.relpath(path, docs)


def test_about_a_hundred_bad_files_among_the_good(corpus):
    _, _, good, bad, _ = corpus
    assert len({path for path, _ in bad}) >= 100 and len(good) >= 60


def test_every_good_document_is_indexed(corpus):
    _, index_dir, good, _, report = corpus
    with Engine(index_dir) as engine:
        reader = engine.snapshot().searcher.reader()
        ids = {reader.stored_fields(n)["id"] for n in engine.snapshot().facets.live}
    assert ids == good
    assert report.total == len(good)


def test_every_bad_file_and_line_is_named_with_its_reason(corpus):
    docs, _, _, bad, report = corpus
    named = {(_relative(docs, s.path), s.line): s.reason for s in report.skipped}
    assert set(named) == set(bad)
    wrong = {key: (named[key], want) for key, want in bad.items() if want not in named[key]}
    assert wrong == {}


def test_an_unreadable_date_is_a_warning_and_the_release_is_indexed_undated(corpus):
    docs, index_dir, _, _, report = corpus
    warned = {(_relative(docs, w.path), w.reason) for w in report.warnings}
    want = {
        (name, f"unreadable date {value}; indexed undated") for name, (_, value) in UNDATED.items()
    }
    want |= {
        ("mixed.jsonl", f"id {record['id']}: unreadable date {value}; indexed undated")
        for record, value in UNDATED_LINES
    }
    want |= {(name, warning) for name, (_, _, warning) in ENCODED.items() if warning}
    assert warned == want
    with Engine(index_dir) as engine:
        for doc_id in [*(n.rsplit(".", 1)[0] for n in UNDATED), "bad-date", "tz", "words"]:
            assert engine.document(doc_id).date is None, doc_id


def test_windows_encodings_are_read(corpus):
    _, index_dir, _, _, _ = corpus
    with Engine(index_dir) as engine:
        for name, (_, text, _) in ENCODED.items():
            doc = engine.document(name.rsplit(".", 1)[0])
            assert text in doc.title + "\n" + doc.body, name


def test_a_file_saved_again_as_utf8_is_updated(tmp_path, runner):
    """The content hash is of the bytes: the same text saved as UTF-8 is a new version."""
    docs = tmp_path / "docs"
    _write(docs / "a.md", "---\ntitle: Café\n---\nDéjà vu".encode("cp1252"))
    ix = str(tmp_path / "ix")
    first = runner.invoke(main, ["index", str(docs), "--index-dir", ix])
    assert f"warning {docs / 'a.md'}: not UTF-8 (3 bytes, the first 0xe9 at offset 14)" in (
        first.output
    )
    _write(docs / "a.md", "---\ntitle: Café\n---\nDéjà vu".encode())
    again = runner.invoke(main, ["index", str(docs), "--index-dir", ix])
    assert "warning" not in again.output and "updated 1, deleted 0, unchanged 0" in again.output
    with Engine(tmp_path / "ix") as engine:
        assert (engine.document("a").title, engine.document("a").body) == ("Café", "Déjà vu")


def test_good_text_survives_in_the_index(corpus):
    _, index_dir, _, _, _ = corpus
    from searchsvc.searching import SearchRequest

    with Engine(index_dir) as engine:
        assert engine.search(SearchRequest(q="goodword17")).total == 2
        assert (
            engine.search(SearchRequest(q="goodwordjl2")).hits[0].title == "Lone � surrogate escape"
        )
        assert engine.search(SearchRequest(q="ministry cooperation")).total == 1  # one-line.txt
        assert engine.document("5").date is not None


def test_cli_names_every_skipped_file_and_keeps_going(corpus, runner):
    docs, index_dir, good, bad, _ = corpus
    result = runner.invoke(main, ["index", str(docs), "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert (
        f"unchanged {len(good)}" in result.output
        and f"total {len(good)} documents" in result.output
    )
    for (path, line), reason in bad.items():
        where = f"line {line}: " if line else ""
        assert f"skipped {docs / path}: {where}{reason}" in result.output


def test_a_file_replaced_by_a_folder(tmp_path):
    docs = tmp_path / "docs"
    _write(docs / "a.txt", GOOD_TXT.format(n=1, d=1).encode())
    assert index_paths(tmp_path / "ix", [docs], procs=1).total == 1
    (docs / "a.txt").unlink()
    _write(docs / "a.txt" / "b.txt", GOOD_TXT.format(n=2, d=2).encode())
    report = index_paths(tmp_path / "ix", [docs], procs=1)
    assert (report.added, report.deleted, report.total, report.skipped) == (1, 1, 1, [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_unreadable_permissions(tmp_path):
    docs = tmp_path / "docs"
    _write(docs / "locked.txt", GOOD_TXT.format(n=1, d=1).encode())
    _write(docs / "shut" / "inside.txt", GOOD_TXT.format(n=2, d=2).encode())
    _write(docs / "open.txt", GOOD_TXT.format(n=3, d=3).encode())
    (docs / "locked.txt").chmod(0)
    (docs / "shut").chmod(0)
    try:
        report = index_paths(tmp_path / "ix", [docs], procs=1)
    finally:
        (docs / "shut").chmod(0o755)
    reasons = {_relative(docs, s.path): s.reason for s in report.skipped}
    assert reasons == {
        "locked.txt": "cannot read file: Permission denied",
        "shut": "cannot read folder: Permission denied",
    }
    assert report.total == 1
