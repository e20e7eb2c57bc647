"""Finding the files to read: the paths given to a build in, SourceFiles out.

    paths --absolute; a folder walked, a file taken as it is--> candidate files
        (folder by folder in name order; hidden entries and symlinked folders left out)
    candidates --the suffix, then one stat unless the folder listing told--> regular files
    files --doc_id(): the path under its root, without the extension--> one file per id

The order is fixed, so the same paths always give the same files and, where two files
would have one id (x.md beside x.txt), the same one wins. A file named twice (a folder and
a file in it) is taken once. Whatever is passed over becomes a Skipped record with a
reason: a missing path, an unsupported suffix, a broken symlink, a FIFO or device, a
folder that cannot be listed, a symlinked folder (it could loop), a clashing id. JSON Lines
files carry their records' own ids and are not checked for clashes. Hidden files are left
out silently. Reading what is found is documents.read_source's job.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".jsonl": "jsonl"}
MAX_REASON = 200  # characters of a Skipped reason

# Characters that would break a report line or a terminal: C0 and C1 controls, line and
# paragraph separators, bidirectional overrides, and the surrogates that stand for the
# bytes of a name that is not UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str  # short and human: "empty file", "line 3: not JSON (...)"
    line: int | None = None  # JSONL line number (1-based) where relevant
    folder: bool = False  # a folder (or what may be one) passed over: its documents stay

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", printable(self.reason, MAX_REASON))


def printable(text: str, limit: int | None = None) -> str:
    """text with control characters escaped (a byte that is not UTF-8 as \\xff), cut at limit."""
    if _UNPRINTABLE.search(text):
        text = _UNPRINTABLE.sub(_escape, text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for a byte that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return match.group().encode("unicode_escape").decode("ascii")


def name_problem(name: str) -> str:
    """Why a file or folder name cannot be indexed ('' if it can)."""
    if _SURROGATE.search(name):
        return "name is not UTF-8"
    return "name holds control characters" if _UNPRINTABLE.search(name) else ""


@dataclass(frozen=True)
class SourceFile:
    root: str  # absolute folder the id is relative to
    path: str  # absolute file path


def discover(
    paths: Iterable[str | Path], leave_out: Iterable[str | Path] = ()
) -> tuple[list[SourceFile], list[Skipped]]:
    """The readable files under paths, in a fixed order, and the paths passed over.

    Folders in leave_out (the index itself, kept in the folder it indexes) are not walked,
    and not reported.
    """
    skip = {os.path.abspath(p) for p in leave_out}
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for given in paths:
        path = os.path.abspath(given)
        kind = _path_kind(path)
        if kind == "folder":
            candidates: Iterable[tuple[SourceFile, bool]] = _walk(path, skipped, skip)
        elif kind == "file":
            candidates = [(SourceFile(os.path.dirname(path), path), False)]
        else:
            skipped.append(Skipped(path, kind, folder=kind.startswith("cannot")))
            continue
        for src, regular in candidates:
            if src.path in seen:  # overlapping paths (a folder and a file in it) read it once
                continue
            seen.add(src.path)
            problem = name_problem(src.path) or unreadable_kind(src.path, regular)
            if problem:
                skipped.append(Skipped(src.path, problem))
            else:
                found.append(src)
    return found, skipped


def _path_kind(path: str) -> str:
    """'folder', 'file' (anything else that exists), or why the path cannot be used."""
    try:
        return "folder" if stat.S_ISDIR(os.stat(path).st_mode) else "file"
    except FileNotFoundError:
        return "file" if os.path.lexists(path) else "no such file or folder"  # a broken link
    except OSError as error:  # a stale network mount, a folder above it that cannot be read
        return f"cannot read: {error.strerror or error}"


def _walk(
    root: str, skipped: list[Skipped], leave_out: frozenset[str] | set[str] = frozenset()
) -> Iterator[tuple[SourceFile, bool]]:
    """Files under root, folder by folder in name order, and whether each is a plain file
    (the folders in leave_out, and what they hold, passed over)."""
    # os.walk(root, followlinks=False), but with its entries: they tell a plain file (not a
    # symlink) without a stat() each. A symlinked folder could loop back on itself.
    folders = [root]
    while folders:
        dirs, files = _list_folder(folders.pop(), skipped)
        for entry in files:
            yield SourceFile(root, entry.path), entry.is_file(follow_symlinks=False)
        folders.extend(reversed([d for d in dirs if d not in leave_out]))


def _list_folder(folder: str, skipped: list[Skipped]) -> tuple[list[str], list[os.DirEntry]]:
    """A folder's entries but hidden ones, by name: (the folders to walk, the rest)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((e for e in listing if e.name[0] != "."), key=lambda e: e.name)
    except OSError as error:
        reason = f"cannot read folder: {error.strerror or error}"
        skipped.append(Skipped(folder, reason, folder=True))
        return [], []
    dirs, files = [], []
    for entry in entries:
        kind = _entry_kind(entry)
        if kind == "file":
            files.append(entry)  # symlinked files are read
        elif kind != "folder":
            skipped.append(Skipped(entry.path, kind, folder=True))
        elif entry.is_symlink():
            skipped.append(Skipped(entry.path, "symlinked folder, not followed"))
        elif name_problem(entry.name):
            skipped.append(Skipped(entry.path, f"folder {name_problem(entry.name)}", folder=True))
        else:
            dirs.append(entry.path)
    return dirs, files


def _entry_kind(entry: os.DirEntry) -> str:
    """'folder' (a symlink to one too), 'file' (anything else), or why it cannot be told."""
    try:
        return "folder" if entry.is_dir() else "file"
    except FileNotFoundError:
        return "file"  # a broken symlink: unreadable_kind names it
    except OSError as error:  # a stale mount, a symlink loop
        if error.errno == errno.ELOOP:
            return "file"
        return f"cannot read: {error.strerror or error}"


def unreadable_kind(path: str, regular: bool = False) -> str:
    """Why path cannot be read ('' if it can); regular: the folder listing saw a plain file."""
    suffix = os.path.splitext(path)[1]
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"unsupported file type '{suffix}'" if suffix else "unsupported file type (none)"
    if regular:  # known from the folder listing
        return ""
    try:
        mode = os.stat(path).st_mode  # one stat, not exists() and isfile(): two
    except (OSError, ValueError):
        return "broken symlink"
    if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
        return "not a regular file"
    return ""


def doc_id(src: SourceFile) -> str:
    """The file's path relative to src.root, without its extension, with '/' separators."""
    return os.path.splitext(_relative(src.path, src.root))[0].replace(os.sep, "/")


def _relative(path: str, root: str) -> str:
    # os.path.relpath costs ~10 us a file: a third of a no-op reindex of 14,000 files. For
    # normalized absolute paths, as discover() makes them, cutting off the root is the same.
    prefix = _normal_prefix(root)
    relative = path[len(prefix) :]
    cut = prefix and path.startswith(prefix) and relative[:1] not in ("", os.sep)
    return relative if cut and os.path.normpath(path) == path else os.path.relpath(path, root)


@functools.lru_cache(maxsize=64)
def _normal_prefix(root: str) -> str:
    """root and one separator if root is absolute and normalized, else ''."""
    normal = os.path.isabs(root) and os.path.normpath(root) == (root.rstrip(os.sep) or os.sep)
    return root.rstrip(os.sep) + os.sep if normal else ""
