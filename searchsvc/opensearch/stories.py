"""Syndicated copies on the cluster: each release's story, kept up to date by the indexer.

The embedded engine groups near-duplicates when a searcher opens, over every signature at
once (searching/duplicates.py). A cluster of millions of releases cannot be read whole at
each search, so here the group is written into each document, as ``story`` (the smallest
id of its group; a release alone is its own story), and a search collapses on it:

    a release indexed --its MinHash signature (searchsvc.minhash, as the embedded engine
        makes it)--> minhash (stored), bands (its 32 LSH bands, as keywords), story: itself
    after each run, around what it added, changed or deleted:
        the releases sharing a band with them (a terms query on bands) --same_story-->
        those that are copies, and every member of each story met, until none is new
        --the embedded engine's grouping over that region (duplicates.group_labels)-->
        story ids --> an update of each release whose story changed
    a rebuild: every signature read once (a scroll), grouped at once, as the engine does

The region is closed: each of its releases had its band neighbours compared and every
member of its old story brought in, so a copy removed splits its group and a copy added
joins (or merges) groups exactly as a fresh grouping would. Where a band holds more than
CANDIDATES releases (a template sent thousands of times) only that many are compared.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from searchsvc.minhash import BANDS, MIN_SHINGLES, ROWS, SIGNATURE_BYTES, same_story, split
from searchsvc.searching import group_labels

CANDIDATES = 1000  # releases compared with one, at most, from its bands
FETCH = 500  # documents a request reads
SOURCE = ["id", "minhash", "date", "story"]
_DAY = 86_400.0

Search = Callable[[dict], dict]  # a search request body -> the cluster's answer
Searches = Callable[[list[dict]], list[dict]]  # several bodies -> their answers (msearch)
BATCH = 100  # band queries sent in one multi-search


def signature_fields(signature: bytes, doc_id: str) -> dict:
    """What a document stores for grouping: its signature, its bands, itself as its story."""
    fields: dict = {"story": doc_id}
    if len(signature) != SIGNATURE_BYTES:
        return fields
    fields["minhash"] = base64.b64encode(signature).decode("ascii")
    values, counts = split(np.frombuffer(signature, dtype=np.uint8).reshape(1, -1))
    if counts[0] >= MIN_SHINGLES:  # a shorter text is never grouped: no need to find it
        fields["bands"] = bands(values[0])
    return fields


def bands(values: np.ndarray) -> list[str]:
    """A signature's LSH bands as keywords: band number and its ROWS values, in hex."""
    rows = values.reshape(BANDS, ROWS).astype(np.uint64)
    return [f"{b:02d}" + "".join(f"{int(v):04x}" for v in rows[b]) for b in range(BANDS)]


@dataclass
class Member:
    """What grouping needs of one release."""

    id: str
    signature: bytes  # b"" if it has none
    day: float  # days since 1970 (NaN: undated)
    story: str


def member(source: dict) -> Member:
    """A Member from a document's stored source."""
    raw = source.get("minhash")
    signature = base64.b64decode(raw) if raw else b""
    when = source.get("date")
    day = _day(when) if when else float("nan")
    return Member(source["id"], signature, day, source.get("story") or source["id"])


def _day(text: str) -> float:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is not None:
        return when.timestamp() / _DAY
    return (when - datetime(1970, 1, 1)).total_seconds() / _DAY


def stories(members: list[Member]) -> dict[str, str]:
    """Each member's story: the smallest id of its group, grouped as the engine groups."""
    members = sorted(members, key=lambda m: m.id)
    size = len(members)
    signatures = np.zeros((size, SIGNATURE_BYTES), dtype=np.uint8)
    present = np.zeros(size, dtype=bool)
    for i, m in enumerate(members):
        if len(m.signature) == SIGNATURE_BYTES:
            signatures[i] = np.frombuffer(m.signature, dtype=np.uint8)
            present[i] = True
    days = np.array([m.day for m in members], dtype=np.float64)
    label = group_labels(signatures, present, days)
    return {m.id: members[int(label[i])].id for i, m in enumerate(members)}


def changes(members: Iterable[Member]) -> list[dict]:
    """Update operations for the members whose story is not what grouping says."""
    members = list(members)
    wanted = stories(members)
    return [
        {"_op_type": "update", "_id": m.id, "doc": {"story": wanted[m.id]}}
        for m in members
        if m.story != wanted[m.id]
    ]


def region(
    search: Search, searches: Searches, changed: Iterable[str], old_stories: Iterable[str]
) -> list[Member]:
    """The releases whose story may change when `changed` were written or deleted (and
    the stories they belonged to, `old_stories`): closed under copies and stories."""
    found: dict[str, Member] = {}
    todo = set(changed)
    stories_todo, stories_done = set(old_stories), set()
    while todo or stories_todo:
        if stories_todo:
            todo |= {m.id for m in _query(search, {"terms": {"story": sorted(stories_todo)}})}
            stories_done |= stories_todo
            stories_todo = set()
        fresh = _query(search, {"ids": {"values": sorted(todo - found.keys())}}) if todo else []
        todo = set()
        for m in fresh:
            found[m.id] = m
        for m in fresh:
            if m.story not in stories_done:
                stories_todo.add(m.story)
        for i in range(0, len(fresh), BATCH):
            for copies in copies_of(searches, fresh[i : i + BATCH]):
                todo |= {c.id for c in copies if c.id not in found}
        stories_todo -= stories_done
    return list(found.values())


def copies_of(searches: Searches, members: list[Member]) -> list[list[Member]]:
    """For each member, the releases sharing a band with it that are copies of it (by
    same_story): one multi-search for them all."""
    asked, bodies = [], []
    for m in members:
        if len(m.signature) != SIGNATURE_BYTES:
            continue
        values, counts = split(np.frombuffer(m.signature, dtype=np.uint8).reshape(1, -1))
        if counts[0] < MIN_SHINGLES:
            continue
        query = {
            "bool": {
                "filter": [{"terms": {"bands": bands(values[0])}}],
                "must_not": [{"ids": {"values": [m.id]}}],
            }
        }
        asked.append((m, values, counts))
        bodies.append({"query": query, "size": CANDIDATES, "_source": SOURCE})
    answers = iter(searches(bodies) if bodies else [])
    out: list[list[Member]] = []
    for m in members:
        if not asked or asked[0][0] is not m:
            out.append([])
            continue
        _, values, counts = asked.pop(0)
        hits = next(answers)["hits"]["hits"]
        found = [member(h["_source"]) for h in hits]
        out.append(_copies(values, counts, m.day, found))
    return out


def _copies(values, counts, day: float, found: list[Member]) -> list[Member]:
    found = [c for c in found if len(c.signature) == SIGNATURE_BYTES]
    if not found:
        return []
    theirs = np.stack([np.frombuffer(c.signature, dtype=np.uint8) for c in found])
    their_values, their_counts = split(theirs)
    apart = np.array([day - c.day for c in found])
    ours = np.repeat(values, len(found), axis=0)
    same = same_story(ours, np.repeat(counts, len(found)), their_values, their_counts, apart)
    return [c for c, s in zip(found, same.tolist(), strict=True) if s]


def _query(search: Search, query: dict, limit: int | None = None) -> list[Member]:
    """The members a query finds (all of them, a page at a time; or the first limit)."""
    out: list[Member] = []
    after = None
    while True:
        size = FETCH if limit is None else min(FETCH, limit - len(out))
        body: dict = {"query": query, "size": size, "_source": SOURCE, "sort": [{"id": "asc"}]}
        if after is not None:
            body["search_after"] = after
        hits = search(body)["hits"]["hits"]
        out += [member(h["_source"]) for h in hits]
        if len(hits) < size or limit is not None and len(out) >= limit:
            return out
        after = hits[-1]["sort"]


def everything(search: Search) -> list[Member]:
    """Every release of the index (a rebuild groups them all at once, as the engine does)."""
    return _query(search, {"match_all": {}})
