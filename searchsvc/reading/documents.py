"""Source files to Documents: the readers at the start of the pipeline.

    paths --discover()--> SourceFiles --read_source()--> Documents, or Skipped with a reason

discover() (in discovery) finds the files, in a fixed order. read_source() picks the format
from the file's suffix, reads the bytes once, hashes them, decodes them (UTF-8, or the
encoding a byte order mark names, or cp1252 with a warning: decode_text), rejects what is
not text (empty, binary, or over MAX_FILE_SIZE), and hands the text to one parser per format:

- ``.txt``: the seed format, a `` date YYYY-MM-DD`` header, then free text from which the
  title, dateline place and news source are guessed (see release_text);
- ``.md`` and ``.markdown``: optional YAML front matter, then Markdown stripped to plain
  text (see markdown_text);
- ``.jsonl``: one JSON object per line, one Document each (BEIR corpora load as they are).

A parser raises DocumentError for bad content; read_source turns it into a Skipped record,
so one bad file (or JSONL line) never stops a build. Dates become naive UTC datetimes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

import yaml

from searchsvc import dates
from searchsvc.reading.discovery import (
    SUPPORTED_SUFFIXES,
    Skipped,
    SourceFile,
    doc_id,
    unreadable_kind,
)
from searchsvc.reading.markdown_text import markdown_to_text
from searchsvc.reading.release_text import find_source, shorten, tidy_paragraphs, title_and_place

# The largest of 14,396 White House releases is 0.25 MB. A bigger .txt or .md file (or JSONL
# record) is not a release: indexing 50 MB takes half a minute and 0.7 GB, for one document.
MAX_FILE_SIZE = 10 * 1024 * 1024


# The one date regex allowed: the seed header. dateutil reads the value itself.
_SEED_HEADER = re.compile(r"[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})(?!\d)[ \t]*")
_LINE_ENDS = re.compile(r"\r\n?")
_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    body: str  # plain text
    date: datetime | None = None  # naive datetime in UTC, or None
    source: str = ""
    place: str = ""
    url: str = ""
    category: tuple[str, ...] = ()  # every category (tag) given, in order, each once
    path: str = ""  # absolute path of the file it came from
    hash: str = ""  # sha1 hex of the raw bytes: the whole file, or for JSONL the record's line
    # What the release names, filled in by the indexer (searchsvc.entities), not by readers.
    country: tuple[str, ...] = ()
    person: tuple[str, ...] = ()
    organisation: tuple[str, ...] = ()
    # What was read leniently: "unreadable date 'not a date'; indexed undated". Reported, not
    # fatal: a release whose date cannot be read is still a release.
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A facet's value as a filter can name it: whitespace runs made one space (as a
        # request's values are), at most MAX_FACET_VALUE characters (a request's limit).
        for name in ("source", "place"):
            value = getattr(self, name)
            clean = facet_value(value)
            if clean != value:
                object.__setattr__(self, name, clean)
        category = tuple(dict.fromkeys(filter(None, map(facet_value, self.category))))
        if category != self.category:
            object.__setattr__(self, "category", category)


MAX_FACET_VALUE = 200  # characters of a source, place or category; the rest is cut


def facet_value(text: str) -> str:
    """text as a facet value: its words joined by one space, cut at MAX_FACET_VALUE."""
    clean = " ".join(text.split())
    return clean[:MAX_FACET_VALUE].rstrip() if len(clean) > MAX_FACET_VALUE else clean


class DocumentError(ValueError):
    """Content that cannot become a Document; the message is the Skipped reason."""


# -- reading files ------------------------------------------------------------------------


def read_source(
    src: SourceFile, advance: Callable[[int], None] | None = None
) -> Iterator[Document | Skipped]:
    """Read one file and yield its Documents (many for JSON Lines) or Skipped records.

    advance(n), if given, hears of the file's bytes as they are read: record by record in
    a JSON Lines file, at once for the others; in all, the file's size when it was read.
    """
    if advance is None:
        yield from _read_source(src, None)
        return
    told = [0]

    def tell(n: int) -> None:
        told[0] += n
        advance(n)

    try:
        yield from _read_source(src, tell)
    finally:
        try:
            rest = os.stat(src.path).st_size - told[0]
        except OSError:
            rest = 0
        if rest > 0:
            advance(rest)


def _read_source(
    src: SourceFile, advance: Callable[[int], None] | None
) -> Iterator[Document | Skipped]:
    kind = SUPPORTED_SUFFIXES.get(os.path.splitext(src.path)[1].lower())
    if kind is None:
        yield Skipped(src.path, unreadable_kind(src.path))
        return
    try:
        raw, size = _read_bytes(src.path, whole=kind == "jsonl")
    except OSError as e:
        yield Skipped(src.path, f"cannot read file: {e.strerror or e}")
        return
    except DocumentError as e:
        yield Skipped(src.path, str(e))
        return
    if raw is None:
        yield Skipped(src.path, _too_large("file", size))
        return
    try:
        text, note = decode_text(raw)  # a JSONL file too: binary or not text condemns it
        if kind == "jsonl":
            _check_jsonl_encoding(raw, note)
            yield from _read_jsonl(src.path, raw, advance)
            return
        parse = parse_markdown if kind == "markdown" else parse_text
        if "\r" in text:  # Windows' CRLF, and the old Mac's lone CR, as the front matter needs
            text = _LINE_ENDS.sub("\n", text)
        text = _without_controls(text)
        doc = parse(text, doc_id(src))
    except DocumentError as e:
        yield Skipped(src.path, str(e))
        return
    warnings = (note, *doc.warnings) if note else doc.warnings
    yield replace(doc, path=src.path, hash=_sha1(raw), warnings=warnings)


def _check_jsonl_encoding(raw: bytes, note: str) -> None:
    """JSON Lines is UTF-8 (RFC 8259 for JSON that travels): a guess would be per line."""
    if note:
        raise DocumentError(note.split(";")[0])
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise DocumentError("not UTF-8 (JSON Lines must be UTF-8; this file is UTF-16 or UTF-32)")


def _read_bytes(path: str, whole: bool) -> tuple[bytes | None, int]:
    """A regular file's bytes (None if over MAX_FILE_SIZE and not whole) and its size."""
    # O_NONBLOCK: a FIFO put in a file's place after discovery must not block the run forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with open(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError("not a regular file")
        # A JSON Lines file holds many records (a BEIR corpus, say): its lines are checked.
        size = info.st_size
        if not (whole or size <= MAX_FILE_SIZE):
            return None, size
        for _ in range(2):  # a file that changed while read is read again, once
            raw = f.read()
            after = os.fstat(fd)
            if (len(raw), after.st_size, after.st_mtime_ns) == (size, size, info.st_mtime_ns):
                return raw, size
            f.seek(0)
            info, size = after, after.st_size
        raise DocumentError("changing while read (being written?); left for the next run")


def decode_text(raw: bytes) -> tuple[str, str]:
    """The text of a file's bytes, and a note if part of it was guessed ("" if not).

    A byte order mark names the encoding (UTF-8, UTF-16 or UTF-32, either byte order).
    Without one, UTF-8; a byte that is not UTF-8 is read as cp1252 (Windows' Western
    encoding, a superset of Latin-1's printable characters; Latin-1 for the five bytes
    cp1252 leaves undefined), with a note, if the text looks Western: a cp1252 export, or
    a UTF-8 release with a pasted cp1252 line. NUL bytes (outside UTF-16 and UTF-32) or
    many control characters make a binary file.
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return _checked(_decode_bom(raw[len(bom) :], codec)), ""
    nul = raw.find(b"\0")
    if nul >= 0:
        raise DocumentError(f"binary file (a NUL byte at offset {nul})")
    try:
        return _checked(raw.decode("utf-8")), ""
    except UnicodeDecodeError as e:
        first = f"0x{raw[e.start]:02x} at offset {e.start}"
    text = raw.decode("utf-8", "surrogateescape")  # each byte that is not UTF-8: U+DC80-DCFF
    guessed = len(_ESCAPED.findall(text))
    letters = sum(len(word) for word in _LETTERS.findall(text))
    if guessed > MAX_GUESSED_SHARE * (guessed + letters):
        raise DocumentError(f"not UTF-8 (byte {first}), and not Western text in cp1252 either")
    text = _checked(text.translate(_CP1252))
    if guessed == 1:
        return text, f"not UTF-8 (byte {first}); read as cp1252"
    return text, f"not UTF-8 ({guessed} bytes, the first {first}); read as cp1252"


# UTF-32's little-endian mark starts with UTF-16's: it is looked for first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
)
_ESCAPED = re.compile("[\udc80-\udcff]")
_LETTERS = re.compile(r"[^\W\d_]+")
# surrogateescape's stand-in for each byte -> cp1252's character (Latin-1's where undefined).
_CP1252 = {0xDC00 + b: bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(0x80, 0x100)}
# Control characters other than whitespace: a text with many of them is not a release.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# What is dropped from every text: those, and the bidirectional embeddings, overrides and
# isolates, which could turn a title round on a page ("\u202egnp.exe") or run into the
# text around it.
_DROPPED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_CONTROL_SHARE = 0.1
# In Western European text most letters are ASCII (French 3%, German 2%, Icelandic 10%
# accented); KOI8-R, Shift-JIS, GB2312 or EBCDIC read as cp1252 are nearly all high bytes.
MAX_GUESSED_SHARE = 0.3


def _decode_bom(body: bytes, codec: str) -> str:
    try:
        return body.decode(codec)
    except UnicodeDecodeError as e:
        name = codec.upper()[:6]
        raise DocumentError(f"not {name} despite its byte order mark ({e.reason})") from None


def _checked(text: str) -> str:
    """text if it is a release's text: not empty, not binary."""
    if not text.strip():
        raise DocumentError("empty file")
    if "\0" in text:
        raise DocumentError(f"binary file (a NUL character at {text.index(chr(0))})")
    controls = len(_CONTROL.findall(text))
    if controls > MAX_CONTROL_SHARE * len(text):
        raise DocumentError(f"binary file ({controls / len(text):.0%} control characters)")
    return text


def _too_large(what: str, size: int) -> str:
    mb = 1024 * 1024
    return f"{what} too large ({size / mb:.1f} MB; the limit is {MAX_FILE_SIZE // mb} MB)"


def _sha1(raw: bytes) -> str:
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _read_jsonl(
    path: str, raw: bytes, advance: Callable[[int], None] | None = None
) -> Iterator[Document | Skipped]:
    # Split the bytes, not the text: each record's hash is of its own line's raw bytes.
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if advance is not None:
            advance(len(line) + 1)
        if not line.strip():
            continue  # blank lines separate nothing and mean nothing
        if len(line) > MAX_FILE_SIZE:
            yield Skipped(path, f"line {number}: {_too_large('record', len(line))}", number)
            continue
        try:
            doc = parse_jsonl_line(line.decode("utf-8").removeprefix("\ufeff"))
        except DocumentError as e:
            yield Skipped(path, f"line {number}: {e}", number)
            continue
        yield replace(doc, path=path, hash=_sha1(line))


# -- JSON Lines -----------------------------------------------------------------------------


def parse_jsonl_line(line: str) -> Document:
    """One JSON Lines record (id or _id, title, body or text, date, url...) as a Document."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise DocumentError(f"not JSON ({e.msg} at column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # a 5,000-digit number; arrays 100,000 deep
        raise DocumentError(f"not JSON ({str(e)[:60]})") from None
    if not isinstance(record, dict):
        raise DocumentError(f"not a JSON object but {_JSON_TYPES[type(record)]}")
    ident = _as_text(record.get("id", record.get("_id"))).strip()
    if not ident:
        raise DocumentError("no id (expected 'id' or '_id')")
    if any(c in ident for c in "\t\n\r\v\f\x85\u2028\u2029"):
        raise DocumentError(f"id {ident[:40]!r} holds a tab or line break: an id is one line")
    title = " ".join(_as_text(record.get("title")).split())  # BEIR titles hold newlines
    body = _as_body(record.get("body") or record.get("text"))
    if not (title.strip() or body.strip()):
        raise DocumentError("no text")
    when, warnings = lenient_date(record.get("date"))
    return Document(
        id=ident,
        title=title,
        body=body,
        date=when,
        warnings=warnings,
        source=_as_text(record.get("source")),
        place=_as_text(record.get("place")),
        url=_as_text(record.get("url")),
        category=_as_values(record.get("category") or record.get("categories")),
    )


_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


# -- Markdown with front matter --------------------------------------------------------------


def parse_markdown(text: str, id: str = "") -> Document:
    """A Markdown file, with optional YAML front matter, as a Document."""
    meta, markdown = split_front_matter(text)
    content = markdown_to_text(markdown)
    title = " ".join(_as_text(meta.get("title")).split())  # also folds non-breaking spaces
    title = title or content.heading or shorten(content.text.split("\n", 1)[0])
    if not (title or content.text):
        raise DocumentError("no text")
    # `date` is the date of record; published_time is a fallback carrying a timezone.
    when, warnings = lenient_date(meta.get("date"))
    fallback = meta.get("published_time")
    if when is None and fallback not in (None, ""):
        if not warnings:  # no date given
            when, warnings = lenient_date(fallback)
        elif (found := lenient_date(fallback))[0] is not None:  # date unreadable: use it
            why = warnings[0].removesuffix("; indexed undated")
            when, warnings = found[0], (f"{why}; dated by published_time", *found[1])
    return Document(
        id=id,
        title=title,
        body=content.text,
        date=when,
        warnings=warnings,
        source=_as_text(meta.get("source")),
        place=_as_text(meta.get("place")),
        url=_as_text(meta.get("source_url") or meta.get("url")),
        category=_as_values(meta.get("tags") or meta.get("categories") or meta.get("category")),
    )


def split_front_matter(text: str) -> tuple[dict, str]:
    """The YAML mapping between leading '---' lines, and the text after it."""
    first_line, _, rest = text.partition("\n")
    if first_line.rstrip() != "---":
        return {}, text
    end = _FENCE.search(rest)
    if end is None:
        raise DocumentError("broken front matter: no closing '---'")
    front = rest[: end.start()]
    if len(front) > MAX_FRONT_MATTER:
        raise DocumentError(f"broken front matter: longer than {MAX_FRONT_MATTER // 1024} KB")
    # The C loader (same safe semantics as yaml.safe_load) when PyYAML has it: much faster.
    # But libyaml recurses on the C stack, and nesting ~20,000 deep ("- - - ...") crashes
    # the process; text this short cannot nest that deep. Python's loader raises instead.
    loader = _YAML_LOADER if len(front) <= _C_LOADER_LIMIT else _SAFE_LOADER
    try:
        meta = _load_yaml(front, loader)
    except yaml.YAMLError as e:
        raise DocumentError(f"broken front matter: invalid YAML ({_yaml_problem(e)})") from None
    except RecursionError:
        raise DocumentError("broken front matter: nested too deeply") from None
    except DocumentError:
        raise
    except Exception as e:  # PyYAML's own constructors: date: 2023-02-30, !!float x, !!bool
        problem = f"{type(e).__name__}: {str(e)[:60]}"
        raise DocumentError(f"broken front matter: invalid YAML ({problem})") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise DocumentError(f"broken front matter: YAML {type(meta).__name__}, not a mapping")
    return meta, rest[end.end() :]


def _load_yaml(front: str, loader: type) -> object:
    """The YAML value of front matter, refusing aliases: a few hundred bytes of nested
    aliases (a "billion laughs") expand to gigabytes. Anchors alone are harmless."""
    if "*" in front:  # no alias without one; the events pass costs a second parse
        for event in yaml.parse(front, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                raise DocumentError("broken front matter: YAML aliases (*name) are not allowed")
    return yaml.load(front, Loader=loader)


def _scalars_as_written(base: type) -> type:
    """A YAML loader that leaves every unquoted scalar but null as the text written.

    Every front-matter field is text (dates are read by dates.read_release_date), and
    YAML 1.1's implicit types misread it: `date: 2023-02-30` failed the whole front matter
    (PyYAML builds a datetime while it parses), `title: 3.10` became 3.1, `title: 1:30`
    the number 90, `place: NO` (Norway) and `title: yes` booleans. Empty, `~` and `null`
    are still no value.
    """
    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag == "tag:yaml.org,2002:null"]
        for first, entries in base.yaml_implicit_resolvers.items()  # type: ignore[attr-defined]
    }
    return type(f"Textual{base.__name__}", (base,), {"yaml_implicit_resolvers": resolvers})


_SAFE_LOADER = _scalars_as_written(yaml.SafeLoader)
_YAML_LOADER = _scalars_as_written(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_SURROGATE = re.compile("[\ud800-\udfff]")
_C_LOADER_LIMIT = 4096  # characters; real front matter is under 1 KB
MAX_FRONT_MATTER = 64 * 1024


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
    mark = getattr(error, "problem_mark", None)
    # +2: the mark counts from 0, inside the front matter, which starts on the file's line 2.
    return f"{problem} at line {mark.line + 2}" if mark is not None else problem


# -- the seed text format -------------------------------------------------------------------


def parse_text(text: str, id: str = "") -> Document:
    """A seed-format text file (' date YYYY-MM-DD' header, then the release) as a Document."""
    text = text.replace("\r\n", "\n")
    when: datetime | None = None
    warnings: tuple[str, ...] = ()
    header = _SEED_HEADER.match(text)
    if header:
        when, warnings = lenient_date(header.group(1))
        text = text[header.end() :]
    body = tidy_paragraphs(text)
    if not body:
        raise DocumentError("no text")
    title, place = title_and_place(body.split("\n"))
    return Document(
        id=id,
        title=title,
        body=body,
        date=when,
        source=find_source(body),
        place=place,
        warnings=warnings,
    )


# -- values -------------------------------------------------------------------------------


def shown_title(title: str, body: str) -> str:
    """A document's title as shown: its own, or the one a seed without a headline gets
    from its first lines (a JSON Lines record without a title, say).

    Only shown: the index's title field keeps what the source gave, so the first sentence
    of an untitled record does not count twice in the ranking.
    """
    return title or title_and_place(tidy_paragraphs(body).split("\n"))[0]


def lenient_date(value: object) -> tuple[datetime | None, tuple[str, ...]]:
    """A release's date, or None and a warning naming the value when it cannot be read
    (or cannot be a release's: see dates.read_release_date); a warning too for a year alone."""
    try:
        when, note = dates.read_release_date(value)
    except dates.DateError as exc:
        return None, (f"{exc}; indexed undated",)
    return when, (note,) if note else ()


def _as_body(value: object) -> str:
    """A body as text; a list of paragraphs (as some exports give it) joined, each kept."""
    if isinstance(value, list):
        parts = (_as_text(v) for v in value if not isinstance(v, (list, dict)))
        return "\n\n".join(p for p in parts if p.strip())
    return _as_text(value)


def _as_values(value: object) -> tuple[str, ...]:
    """A list of tags, or a comma-separated string of them, as distinct clean values."""
    items = value if isinstance(value, list) else [value]
    values: list[str] = []
    for item in items:
        if isinstance(item, (list, dict)):
            continue  # nested structures are not tags
        text = _as_text(item)
        values.extend(text.split(",") if isinstance(item, str) else [text])
    # A value never holds a newline: the index joins a facet's values with them.
    cleaned = (" ".join(v.split()) for v in values)
    return tuple(dict.fromkeys(v for v in cleaned if v))


def _without_controls(text: str) -> str:
    """text without control characters (a bell, a terminal's escape, a DEL) or bidirectional
    overrides, which no page, feed or terminal should be handed; tabs and line breaks stay."""
    return _DROPPED.sub("", text) if _DROPPED.search(text) else text


def _as_text(value: object) -> str:
    # JSON gives numbers, booleans, lists, objects and nulls where text is expected (YAML
    # lists and mappings too). A mapping is no text: its repr is no title or place.
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON spells it, not Python's True
    if isinstance(value, list):
        return _as_text(value[0]) if value else ""
    if isinstance(value, bytes):  # YAML's !!binary: its text, not b'...'
        value = value.decode("utf-8", errors="replace")
    text = _without_controls(value if isinstance(value, str) else str(value))
    if text.isascii():
        return text
    # A JSON or YAML escape can spell a lone surrogate ("\ud800"), which no page can encode.
    return _SURROGATE.sub("\ufffd", text)
