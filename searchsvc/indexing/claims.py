"""Which file owns each document id, decided before anything is written.

Two sources can give one id: x.md beside x.txt, the same relative path under two folders
given together, two JSON Lines files (or two lines of one) with the same ``id``. The index
holds one document per id, and which one must not depend on the order files were found
in, nor on which worker read them first. So before a run writes anything, every source
claims its ids, and the lexicographically first path that gives a document wins:

    unchanged sources --their ids, from the manifest-->  claims
    sources to read   --doc_id() of the path; for JSON Lines, the ids its lines parse to--> claims
    claims --the smallest path per id--> owners
    an id claimed twice --its claimants read in path order (settle)--> the first giving a document

An empty or unreadable x.md beside a good x.txt gives its id up: the good file is indexed
and the bad one reported for what is wrong with it, not the good one for a collision.

A file that loses a claim is reported (a Skipped naming the id and the winner) and is never
recorded in the manifest, so every run reads it again, reports it again, and notices when
the winner is gone. Within one JSON Lines file, the first line with an id wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from searchsvc.reading import Document, Skipped, SourceFile, doc_id, printable, read_source

Owners = dict[str, str]  # document id -> the path of the file whose document is kept


def is_jsonl(src: SourceFile) -> bool:
    """Whether the file's records carry their own ids (JSON Lines)."""
    return os.path.splitext(src.path)[1].lower() == ".jsonl"


def source_ids(src: SourceFile) -> Iterable[str]:
    """The ids a file to be read would give: its path's, or its JSON Lines records'."""
    if not is_jsonl(src):
        return (doc_id(src),)
    return [item.id for item in read_source(src) if isinstance(item, Document)]


Claimants = dict[str, list[SourceFile]]  # document id -> every source claiming it


def claim(
    owners: Owners, ids: Iterable[str], src: SourceFile, claimants: Claimants | None = None
) -> None:
    """Record that src gives ids; the smallest path claiming an id owns it (until settle)."""
    for doc_id_ in ids:
        current = owners.get(doc_id_)
        if current is None or src.path < current:
            owners[doc_id_] = src.path
        if claimants is not None:
            claimants.setdefault(doc_id_, []).append(src)


def settle(owners: Owners, claimants: Claimants) -> None:
    """Give each id claimed by several sources to the first, by path, whose file gives a
    document (a JSON Lines file's ids were parsed from its records, so it does); if none
    does, the smallest path keeps it. Only contested ids are read here, once each file."""
    gives: dict[str, bool] = {}
    for doc_id_, sources in claimants.items():
        if len(sources) < 2:
            continue
        for src in sorted(sources, key=lambda s: s.path):
            if src.path not in gives:
                gives[src.path] = is_jsonl(src) or any(
                    isinstance(item, Document) for item in read_source(src)
                )
            if gives[src.path]:
                owners[doc_id_] = src.path
                break


def collision(path: str, doc_id_: str, owner: str) -> Skipped:
    """The report for a document passed over because another file owns its id."""
    shown = printable(doc_id_, 60)
    if owner == path:
        return Skipped(path, f"same document id '{shown}' twice in this file; the first is kept")
    return Skipped(path, f"same document id '{shown}' as {printable(owner)}; that one is kept")
