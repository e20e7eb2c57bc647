"""The mass-delete guard: a run never deletes a large part of the index by surprise.

Deleting is how a run follows files that were removed, and an empty folder looks the same
as an unmounted share. So before anything is written (and once more after reading, before
the commit), the documents a run would delete are weighed against what the index holds:

    doomed ids --a path given that yields no documents now, with documents under it--> refuse
               --every document of the index, and nothing new--> refuse
               --a folder below, more than SMALL_DELETE documents, every one doomed--> refuse
               --more than SMALL_DELETE documents and more than max_share of the index--> refuse
               --else--> delete

Deleting up to SMALL_DELETE documents (a few removed releases) needs no confirmation unless
it empties a path given to the run. A refusal raises DeleteRefusedError, whose message
names the folder and the counts and says how to confirm (allow_delete=True in the library,
--allow-delete on the command line).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from searchsvc.reading import printable

MAX_DELETE_SHARE = 0.2  # of the index's documents, deleted by one run without confirmation
SMALL_DELETE = 10  # documents one run may always delete, unless they empty a path given
_EMPTY = "it yields no documents now (empty or unmounted?)"


class DeleteRefusedError(Exception):
    """A run would delete more than it may without confirmation; nothing was written."""


class DeleteGuard:
    """Refuses surprising deletions for one run over the given paths."""

    def __init__(self, paths: Sequence[str | Path], max_share: float = MAX_DELETE_SHARE):
        self.roots = [(str(p), os.path.abspath(p)) for p in paths]
        self.max_share = max_share

    def check(
        self,
        previous: Mapping[str, tuple[str, str]],
        doomed: Collection[str],
        found: list[str],
        gives: int,
    ) -> None:
        """Raise DeleteRefusedError if deleting doomed (ids in previous) needs confirmation.

        previous: id -> (hash, path) of the index before the run; found: the paths of the
        files the run found to read or keep; gives: how many documents the run gives.
        """
        if not doomed:
            return
        gone = [previous[i][1] for i in doomed]
        for shown, root in self.roots:
            if not any(_under(p, root) for p in found):
                count = sum(_under(p, root) for p in gone)
                if count:
                    total = sum(_under(path, root) for _, path in previous.values())
                    raise self._refusal(count, total, _shown_folder(shown, root, gone), _EMPTY)
        if len(doomed) == len(previous) and not gives:
            raise self._refusal(len(doomed), len(previous), "", "it would leave the index empty")
        if len(doomed) <= SMALL_DELETE:
            return
        self._check_folders(previous, gone)
        if len(doomed) > self.max_share * len(previous):
            why = f"more than {self.max_share:.0%} (and {SMALL_DELETE} documents) in one run"
            raise self._refusal(len(doomed), len(previous), "", why)

    def check_unread(
        self, previous: Mapping[str, tuple[str, str]], doomed: Collection[str], unread: Iterable
    ) -> None:
        """Raise DeleteRefusedError if a rebuild would drop documents whose file or folder it
        could not read (unread: Skipped records): no run deletes what it cannot see."""
        reasons = {os.path.abspath(s.path): s.reason for s in unread}
        if not reasons or not doomed:
            return
        lost: dict[str, str] = {}  # a doomed document's path -> the unread path holding it
        for doc_id in doomed:
            path = previous[doc_id][1]
            at = next((f for f in _self_and_folders(path) if f in reasons), None)
            if at is not None:
                lost[path] = at
        if lost:
            at = lost[min(lost)]
            raise DeleteRefusedError(
                f"Refusing to drop {len(lost)} of {len(previous)} documents whose files could "
                f"not be read this time ({printable(at)}: {reasons[at]}): a rebuild keeps only "
                "what it reads. Fix them, or, if that is intended, run again with --allow-delete."
            )

    def _check_folders(self, previous: Mapping[str, tuple[str, str]], gone: list[str]) -> None:
        """Refuse if a folder of more than SMALL_DELETE documents loses every one."""
        lost = Counter(f for p in gone for f in self._folders(p))
        big = {folder: n for folder, n in lost.items() if n > SMALL_DELETE}
        if not big:
            return
        paths = [path for _, path in previous.values()]
        emptied = sorted((f for f, n in big.items() if _count_under(paths, f) == n), key=len)
        if emptied:
            folder = emptied[0]  # the topmost
            why = _EMPTY if any(_under(folder, r) for _, r in self.roots) else _NOT_GIVEN
            raise self._refusal(big[folder], big[folder], printable(folder) + os.sep, why)

    def _folders(self, path: str) -> Iterable[str]:
        """The folders holding path, up to (not including) its root or the top."""
        roots = {r for _, r in self.roots}
        folder = os.path.dirname(path)
        while folder not in roots and os.path.dirname(folder) != folder:
            yield folder
            folder = os.path.dirname(folder)

    def _refusal(self, count: int, total: int, where: str, why: str) -> DeleteRefusedError:
        scope = f"indexed from {where}" if where else "in the index"
        return DeleteRefusedError(
            f"Refusing to delete {count} of {total} documents ({count / total:.0%}) {scope}: "
            f"{why}. If that is intended, run again with --allow-delete."
        )


_NOT_GIVEN = "it is not among the paths given (a rebuild keeps only those)"


def _self_and_folders(path: str) -> Iterable[str]:
    """path, then each folder holding it, up to the top."""
    yield path
    folder = os.path.dirname(path)
    while True:
        yield folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _count_under(paths: list[str], folder: str) -> int:
    prefix = folder.rstrip(os.sep) + os.sep
    return sum(p.startswith(prefix) for p in paths)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _shown_folder(shown: str, root: str, gone: list[str]) -> str:
    """The path as the user gave it, with a trailing '/' when it held a folder's files."""
    is_folder = any(p != root for p in gone if _under(p, root))
    return printable(shown.rstrip(os.sep) + os.sep if is_folder else shown)
