"""Hostile files: one bad file never aborts nor floods a run.

YAML alias bombs, deep and huge front matter, names that are not UTF-8 or hold control
characters and newlines, FIFOs, sockets, device nodes and broken symlinks: each is skipped
with one line of bounded length, its name escaped, and every good file beside it is indexed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
from pathlib import Path

import pytest

from searchsvc.cli import main
from searchsvc.indexing import index_paths
from searchsvc.reading.discovery import MAX_REASON, SourceFile, printable
from searchsvc.reading.documents import read_source, split_front_matter
from searchsvc.searching import Engine

GOOD = "---\ntitle: Good {n}\ndate: 2024-01-01\n---\n\nThe hostilegood{n} release.\n"


def laughs(levels: int, width: int) -> str:
    """Front matter of nested YAML aliases: width ** levels strings from a few hundred bytes."""
    lines = ["a0: &a0 lol"]
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return (
        "---\n" + "\n".join(lines) + f"\ntitle: *a{levels - 1}\ndate: *a{levels - 1}\n---\nBody\n"
    )


BOMB = laughs(9, 8)  # 382 bytes: 8 ** 8 = 16.8 million strings, for title and for date
HOSTILE_YAML = {
    "bomb.md": (BOMB.encode(), "broken front matter: YAML aliases (*name) are not allowed"),
    "alias-date.md": (
        b"---\nx: &d 2024-01-01\ndate: *d\n---\nBody\n",
        "broken front matter: YAML aliases (*name) are not allowed",
    ),
    "deep.md": (b"---\n" + b"- " * 20_000 + b"x\n---\nBody", "nested too deeply"),
    "huge-scalar.md": (
        b"---\ntitle: " + b"x" * 70_000 + b"\n---\nBody",
        "broken front matter: longer than 64 KB",
    ),
    # Unquoted scalars are text (a 50,000-digit date is an unreadable date: test_front_matter);
    # tagged as a number, it passes Python's limit of 4,300 digits.
    "huge-number.md": (b"---\ndate: !!int " + b"9" * 50_000 + b"\n---\nBody", "invalid YAML"),
    "huge-error.md": (b"---\ntitle: '" + b"x" * 60_000 + b"\n---\nBody", "invalid YAML"),
}


def test_a_huge_date_is_one_short_warning(tmp_path):
    path = tmp_path / "huge-date.md"
    path.write_bytes(b"---\ndate: '" + b"9" * 50_000 + b"'\n---\nBody")
    [doc] = list(read_source(SourceFile(str(tmp_path), str(path))))
    (warning,) = doc.warnings
    assert doc.date is None and warning.startswith("unreadable date '999")
    assert len(warning) <= MAX_REASON


def test_the_bomb_is_a_few_hundred_bytes():
    assert 300 <= len(BOMB) <= 400


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_front_matter_is_one_short_reason(tmp_path, name):
    data, reason = HOSTILE_YAML[name]
    path = tmp_path / name
    path.write_bytes(data)
    [item] = list(read_source(SourceFile(str(tmp_path), str(path))))
    assert reason in item.reason and len(item.reason) <= MAX_REASON


def test_anchors_without_aliases_are_fine():
    meta, body = split_front_matter("---\ntitle: &t Anchored\n---\nBody")
    assert meta == {"title": "Anchored"} and body == "\nBody"


def test_a_star_that_is_not_an_alias_is_fine():
    meta, _ = split_front_matter("---\ntitle: '*Starred* and *a'\n---\nBody")
    assert meta == {"title": "*Starred* and *a"}


ODD_NAMES = {
    b"bad\xffname.md": "name is not UTF-8",
    b"latin\xe9.txt": "name is not UTF-8",
    b"new\nline.md": "name holds control characters",
    b"skipped: forged.md": "",  # printable: an ordinary (if odd) name, indexed
    b"esc\x1b[2Jclear.md": "name holds control characters",
    b"bell\x07.txt": "name holds control characters",
    b"rtl\xe2\x80\xaeoverride.md": "name holds control characters",  # U+202E
}


def _hostile_folder(root: Path) -> tuple[set[str], dict[str, str]]:
    """Good files among hostile ones; return the good ids and name -> reason of the bad."""
    root.mkdir()
    good = set()
    for n in range(3):
        (root / f"good-{n}.md").write_text(GOOD.format(n=n), encoding="utf-8")
        good.add(f"good-{n}")
    bad = {}
    for name, (data, reason) in HOSTILE_YAML.items():
        (root / name).write_bytes(data)
        bad[name] = reason
    for raw, reason in ODD_NAMES.items():
        path = os.path.join(os.fsencode(root), raw)
        with open(path, "wb") as f:
            f.write(GOOD.format(n=len(bad)).encode())
        if reason:
            bad[os.fsdecode(raw)] = reason
        else:
            good.add(os.path.splitext(os.fsdecode(raw))[0])
    odd_folder = os.path.join(os.fsencode(root), b"folder\xfe")
    os.mkdir(odd_folder)
    with open(os.path.join(odd_folder, b"inside.md"), "wb") as f:
        f.write(GOOD.format(n=99).encode())
    bad[os.fsdecode(b"folder\xfe")] = "folder name is not UTF-8"
    os.mkfifo(root / "fifo.md")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "socket.txt"))
    listener.close()
    (root / "broken.md").symlink_to(root / "nowhere.md")
    bad.update({"fifo.md": "not a regular file", "socket.txt": "not a regular file"})
    bad["broken.md"] = "broken symlink"
    try:
        os.mknod(root / "device.md", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null
        bad["device.md"] = "not a regular file"
    except PermissionError:
        pass  # not root: no device node, the rest still counts
    return good, bad


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    good, bad = _hostile_folder(base / "docs")
    return base / "docs", base / "ix", good, bad


def test_every_hostile_file_is_skipped_and_every_good_one_indexed(hostile):
    docs, ix, good, bad = hostile
    report = index_paths(ix, [docs], procs=1)
    reasons = {os.path.relpath(s.path, docs): s.reason for s in report.skipped}
    assert set(reasons) == set(bad)
    assert {name: r for name, r in reasons.items() if bad[name] not in r} == {}
    assert all(len(r) <= MAX_REASON and r.isprintable() for r in reasons.values())
    assert report.total == len(good)
    with Engine(ix) as engine:
        assert {engine.document(i).id for i in good} == good


def test_cli_prints_one_escaped_line_per_hostile_file(hostile, runner):
    docs, ix, good, bad = hostile
    result = runner.invoke(main, ["index", str(docs), "--index-dir", str(ix)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert len(skipped) == len(bad) and len(lines) == len(bad) + 1
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", result.output)
    assert f"skipped {docs}/bad\\xffname.md: name is not UTF-8" in skipped
    assert f"skipped {docs}/new\\nline.md: name holds control characters" in skipped
    assert f"skipped {docs}/esc\\x1b[2Jclear.md: name holds control characters" in skipped
    assert all(len(line) <= len(str(docs)) + 40 + MAX_REASON for line in skipped)
    assert lines[-1].startswith(f"added 0, updated 0, deleted 0, unchanged {len(good)},")


def test_a_fifo_put_in_a_files_place_does_not_block(tmp_path):
    # discovery saw a plain file; by the time it is read, it is a FIFO with no writer.
    path = tmp_path / "race.md"
    os.mkfifo(path)
    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(5)
    try:
        items = list(read_source(SourceFile(str(tmp_path), str(path))))
    finally:
        signal.alarm(0)
    assert [i.reason for i in items] == ["not a regular file"]


def _timeout(signum, frame):
    raise AssertionError("reading a FIFO blocked")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain name.md", "plain name.md"),
        ("new\nline", "new\\nline"),
        ("esc\x1b[31m", "esc\\x1b[31m"),
        (os.fsdecode(b"bad\xff"), "bad\\xff"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Aşgabat Ашхабад 🎉", "Aşgabat Ашхабад 🎉"),
    ],
)
def test_printable(text, shown):
    assert printable(text) == shown


def test_printable_cuts_long_text():
    assert printable("x" * 500, 200) == "x" * 199 + "…"
