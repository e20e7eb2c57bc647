"""Indexing into the cluster: the embedded engine's rule, written through the bulk API.

index(paths) --the same readers--> Documents --by content hash: skip, update, delete-->
    bulk.py: batches, retried on 429 and 503 --> the alias's index
    the entity lists changed since (the index's _meta keeps their fingerprint) -->
        every other release's entities derived again from its stored text
    stories.py: the groups of copies around what changed, written as each one's story
index(paths, rebuild=True) --> a new physical index, filled, then the alias swapped in
    one atomic update_aliases call, as the embedded engine swaps generations
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opensearchpy import exceptions as os_errors

from searchsvc.deadline import NEVER
from searchsvc.entities import Recognizer
from searchsvc.indexing import DeleteGuard, DeleteRefusedError, IndexReport
from searchsvc.opensearch import stories as stories_module
from searchsvc.opensearch.bulk import BulkWriter
from searchsvc.opensearch.cluster import PAGE, Cluster
from searchsvc.opensearch.mapping import MAPPING_VERSION, index_body, to_source
from searchsvc.reading import Skipped, discover, read_source
from searchsvc.searching import BackendUnavailableError, SearchError

ENTITIES = ("country", "person", "organisation")  # derived from the text (entities wing)
ENTITIES_MARK = "searchsvc_entities"  # _meta: the fingerprint of the lists they came from


class Writing(Cluster):
    """The Backend protocol's index() over the cluster."""

    def _create(self, physical: str) -> None:
        body = index_body(self.options.shards, self.options.replicas)
        self._call(NEVER, "create index", self.client.indices.create, index=physical, body=body)

    def index(
        self,
        paths: Sequence[str | Path],
        *,
        rebuild: bool = False,
        procs: int | None = None,
        wait: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
        allow_delete: bool = False,
        people_file: str | None = None,
        organisations_file: str | None = None,
        hold_deletes: bool = False,
    ) -> IndexReport:
        """Bring the alias's index up to date with the files under paths (see the module).

        Each new or changed release gets the countries, people and organisations the lists
        (people_file, organisations_file; None: those shipped) find in it; when the lists
        changed since the index was written (its _meta keeps their fingerprint), every
        other release's are derived again from its stored text, as the embedded engine
        does. Then the stories around what changed are grouped again (stories.py).
        """
        recognizer = Recognizer(people_file, organisations_file)
        mark = recognizer.fingerprint  # before writing: an unreadable list changes nothing
        self._recognizer = recognizer
        started = time.perf_counter()
        report = IndexReport()
        existed = self.exists()
        previous = self._existing() if existed else {}
        current = self._current_or_none() if existed else None
        if current is not None and not rebuild:
            physical = current
            meta = self._meta(physical)
            version = meta.get("searchsvc_mapping")
            if version != MAPPING_VERSION:
                raise SearchError(
                    f"The OpenSearch index {physical} has mapping version {version}, this "
                    f"searchsvc writes {MAPPING_VERSION}. Run: searchsvc index PATH --rebuild"
                )
        else:
            physical, meta = f"{self.alias}-v{MAPPING_VERSION}-{time.time_ns()}", {}
            self._create(physical)
        fresh = physical != current
        known = {} if fresh else previous
        sources, report.skipped = discover(paths)
        guard = None if allow_delete else DeleteGuard(paths)
        writer = BulkWriter(
            self.client, physical, self.options.url, retry_seconds=self.options.retry_seconds
        )
        try:
            seen, keep, actions = self._read(sources, known, report, progress)
            doomed = self._doomed(paths, previous, seen, keep, rebuild)
            if guard is not None:
                try:
                    guard.check(previous, doomed, [s.path for s in sources], gives=len(seen))
                except DeleteRefusedError as exc:
                    if not hold_deletes or fresh:
                        raise
                    report.held, report.held_because, doomed = len(doomed), str(exc), []
            deletions = [] if fresh else doomed
            self._write(writer, actions, deletions, report)
            report.deleted = len(doomed)
            self._refresh(physical)
            if not fresh and meta.get(ENTITIES_MARK) != mark:
                written = {a["_id"] for a in actions}
                report.rederived = self._rederive(writer, physical, recognizer, written, report)
            self._group(writer, physical, fresh, actions, deletions, previous, report)
            self._set_meta(physical, {**meta, ENTITIES_MARK: mark})
            if fresh:
                self._swap(physical)
        except BaseException:
            if fresh:  # the half-built index goes (if the cluster answers: else it stays unused)
                with contextlib.suppress(os_errors.TransportError):
                    self.client.indices.delete(index=physical, ignore_unavailable=True)
            raise
        report.total = self._count(NEVER)
        report.seconds = time.perf_counter() - started
        return report

    def _meta(self, physical: str) -> dict[str, Any]:
        mapping = self._call(NEVER, "mapping", self.client.indices.get_mapping, index=physical)
        return dict(mapping[physical]["mappings"].get("_meta", {}))

    def _set_meta(self, physical: str, meta: dict[str, Any]) -> None:
        body = {"_meta": {**meta, "searchsvc_mapping": MAPPING_VERSION}}
        self._call(NEVER, "mapping", self.client.indices.put_mapping, index=physical, body=body)

    def _existing(self) -> dict[str, tuple[str, str]]:
        """id -> (hash, path) of every indexed document; their stories in self._stories."""
        hits = self._scan(
            index=self.alias,
            query={"query": {"match_all": {}}, "_source": ["hash", "path", "story"]},
            size=PAGE,
        )
        found, self._stories = {}, {}
        for h in hits:
            source = h["_source"]
            found[h["_id"]] = (source.get("hash", ""), source.get("path", ""))
            self._stories[h["_id"]] = source.get("story") or h["_id"]
        return found

    def _read(self, sources, known, report: IndexReport, progress):
        """Read every source; the bulk actions for new and changed documents."""
        seen: set[str] = set()
        keep: set[str] = {s.path for s in report.skipped}
        actions: list[dict[str, Any]] = []
        for done, src in enumerate(sources, start=1):
            for item in read_source(src):
                if isinstance(item, Skipped):
                    report.skipped.append(item)
                    keep.add(item.path)
                    continue
                if item.id in seen:
                    report.skipped.append(
                        Skipped(src.path, f"same document id {item.id!r} as a file before")
                    )
                    continue
                seen.add(item.id)
                report.undated += item.date is None
                report.warnings.extend(Skipped(src.path, w) for w in item.warnings)
                old = known.get(item.id)
                if old is None:
                    report.added += 1
                elif old[0] != item.hash:
                    report.updated += 1
                else:
                    report.unchanged += 1
                    continue
                source = to_source(self._recognizer.annotate(item))
                actions.append({"_op_type": "index", "_id": item.id, "_source": source})
            if progress:
                progress(done, len(sources))
        return seen, keep, actions

    @staticmethod
    def _doomed(paths, previous, seen, keep, rebuild) -> list[str]:
        roots = tuple(os.path.abspath(p).rstrip(os.sep) + os.sep for p in paths)
        exact = {os.path.abspath(p) for p in paths}
        doomed = []
        for doc_id, (_, path) in previous.items():
            if doc_id in seen or path in keep:
                continue
            if rebuild or path in exact or path.startswith(roots):
                doomed.append(doc_id)
        return doomed

    @staticmethod
    def _write(writer: BulkWriter, actions, deletions, report: IndexReport) -> None:
        """Index the actions and delete the deletions; each document refused, reported."""
        ops = actions + [{"_op_type": "delete", "_id": i} for i in deletions]
        for refused in writer.write(ops):
            report.skipped.append(
                Skipped(refused.id, f"rejected by OpenSearch ({refused.status}): {refused.reason}")
            )
            report.added -= refused.op == "index"

    def _rederive(self, writer, physical, recognizer, written: set[str], report) -> int:
        """Derive every other release's entities again from its stored text, as the lists
        changed; how many changed."""
        hits = self._scan(
            index=physical,
            query={"query": {"match_all": {}}, "_source": ["id", "title", "body", *ENTITIES]},
            size=PAGE,
        )
        updates = []
        for h in hits:
            if h["_id"] in written:
                continue
            source = h["_source"]
            found = recognizer.recognise(source.get("title", ""), source.get("body", ""))
            new = dict(
                zip(ENTITIES, (found.countries, found.people, found.organisations), strict=True)
            )
            if any(tuple(_listed(source.get(k))) != tuple(v) for k, v in new.items()):
                doc = {k: list(v) for k, v in new.items()}
                updates.append({"_op_type": "update", "_id": h["_id"], "doc": doc})
        self._write(writer, updates, [], report)
        if updates:
            self._refresh(physical)
        return len(updates)

    def _group(self, writer, physical, fresh, actions, deletions, previous, report) -> None:
        """Write the stories that the documents written and deleted changed (stories.py)."""

        def search(body: dict) -> dict:
            return self._call(NEVER, "stories", self.client.search, index=physical, body=body)

        def searches(bodies: list[dict]) -> list[dict]:
            lines: list[dict] = []
            for body in bodies:
                lines += [{"index": physical}, body]
            answer = self._call(NEVER, "stories", self.client.msearch, body=lines)
            for found in answer["responses"]:
                if "error" in found:
                    raise BackendUnavailableError(
                        f"OpenSearch at {self.options.url} could not group copies: "
                        f"{str(found['error'])[:200]}"
                    )
            return answer["responses"]

        if fresh:
            members = stories_module.everything(search)
        else:
            touched = [a["_id"] for a in actions] + list(deletions)
            if not touched:
                return
            old = {self._stories[i] for i in touched if i in previous}
            members = stories_module.region(search, searches, [a["_id"] for a in actions], old)
        updates = stories_module.changes(members)
        if updates:
            self._write(writer, updates, [], report)
            self._refresh(physical)

    def _swap(self, physical: str) -> None:
        old = self._current_or_none()
        actions: list[dict[str, Any]] = [{"add": {"index": physical, "alias": self.alias}}]
        if old is not None:
            actions.insert(0, {"remove": {"index": old, "alias": self.alias}})
        self._call(
            NEVER, "swap alias", self.client.indices.update_aliases, body={"actions": actions}
        )
        if old is not None:
            self.client.indices.delete(index=old, ignore_unavailable=True)


def _listed(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
