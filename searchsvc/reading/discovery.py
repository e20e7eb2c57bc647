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

import functools
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str  # short and human: "empty file", "line 3: not JSON (...)"
    line: int | None = None  # JSONL line number (1-based) where relevant


@dataclass(frozen=True)
class SourceFile:
    root: str  # absolute folder the id is relative to
    path: str  # absolute file path


def discover(paths: Iterable[str | Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """The readable files under paths, in a fixed order, and the paths passed over."""
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    ids: dict[str, str] = {}  # document id -> the file that has it (x.md and x.txt clash)
    for given in paths:
        path = os.path.abspath(given)
        if os.path.isdir(path):
            candidates: Iterable[tuple[SourceFile, bool]] = _walk(path, skipped)
        elif os.path.lexists(path):
            candidates = [(SourceFile(os.path.dirname(path), path), False)]
        else:
            skipped.append(Skipped(path, "no such file or folder"))
            continue
        for src, regular in candidates:
            if src.path in seen:  # overlapping paths (a folder and a file in it) read it once
                continue
            seen.add(src.path)
            problem = unreadable_kind(src.path, regular) or _id_taken(src, ids)
            if problem:
                skipped.append(Skipped(src.path, problem))
            else:
                found.append(src)
    return found, skipped


def _id_taken(src: SourceFile, ids: dict[str, str]) -> str:
    if src.path.lower().endswith(".jsonl"):
        return ""  # its records carry their own ids
    first = ids.setdefault(doc_id(src), src.path)
    return f"same document id as {first}; rename one of them" if first != src.path else ""


def _walk(root: str, skipped: list[Skipped]) -> Iterator[tuple[SourceFile, bool]]:
    """Files under root, folder by folder in name order, and whether each is a plain file."""
    # os.walk(root, followlinks=False), but with its entries: they tell a plain file (not a
    # symlink) without a stat() each. A symlinked folder could loop back on itself.
    folders = [root]
    while folders:
        dirs, files = _list_folder(folders.pop(), skipped)
        for entry in files:
            yield SourceFile(root, entry.path), entry.is_file(follow_symlinks=False)
        folders.extend(reversed(dirs))


def _list_folder(folder: str, skipped: list[Skipped]) -> tuple[list[str], list[os.DirEntry]]:
    """A folder's entries but hidden ones, by name: (the folders to walk, the rest)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((e for e in listing if e.name[0] != "."), key=lambda e: e.name)
    except OSError as error:
        skipped.append(Skipped(str(error.filename), f"cannot read folder: {error.strerror}"))
        return [], []
    dirs, files = [], []
    for entry in entries:
        if not _is_dir(entry):
            files.append(entry)  # symlinked files are read
        elif entry.is_symlink():
            skipped.append(Skipped(entry.path, "symlinked folder, not followed"))
        else:
            dirs.append(entry.path)
    return dirs, files


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # a symlink to a folder too
    except OSError:  # as os.walk does
        return False


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
