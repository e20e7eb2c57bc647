"""Syndicated copies on both backends: the same sample, grouped by each, compared.

A sample of a corpus (the releases sharing a title or URL with another, which are the
likeliest copies, and others at random) is indexed by the embedded engine and, through
osmem-server (started here), by the OpenSearch backend. The groups each finds, and the
totals and stories of a few searches, are printed side by side; exit 1 if they differ.

    .venv/bin/python scripts/opensearch_groups.py --index-dir /tmp/wh-ix \
        --corpus /tmp/wh/wh-briefings
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

QUERIES = ["", "trump effect", "pipeline", "fact sheet", "delegation"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", required=True, help="an index of the corpus (to sample)")
    parser.add_argument("--corpus", required=True, help="the folder that index was built from")
    parser.add_argument("--sample", type=int, default=1000, help="releases in the sample")
    parser.add_argument("--alike", type=int, default=600, help="of which sharing a title or URL")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from opensearchpy.helpers import scan
    from osmem_server import OsmemServer

    from searchsvc.indexing import index_paths
    from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions
    from searchsvc.searching import Engine, SearchRequest

    work = Path(tempfile.mkdtemp(prefix="os-groups-"))
    try:
        chosen = _sample(Engine, Path(args.index_dir), args.sample, args.alike, args.seed)
        root = Path(args.corpus)
        for path in chosen:
            target = work / "sample" / Path(path).relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        print(f"sample: {len(chosen)} releases, seed {args.seed}")
        report = index_paths(work / "index", [work / "sample"], procs=1)
        print(f"embedded:   {report.summary()}")
        server = OsmemServer.start()
        try:
            options = OpenSearchOptions(url=server.url, index="groups", timeout=120)
            cluster = OpenSearchBackend(options, variants=[])
            started = time.monotonic()
            report = cluster.index([work / "sample"])
            print(f"opensearch: {report.summary()} ({time.monotonic() - started:.1f} s)")
            theirs: dict[str, set[str]] = defaultdict(set)
            for hit in scan(cluster.client, index="groups", query={"_source": ["story"]}):
                theirs[hit["_source"]["story"]].add(hit["_id"])
            with Engine(work / "index", variants=[]) as engine:
                ours = _groups(engine)
                differ = 0
                for q in QUERIES:
                    a, b = (x.search(SearchRequest(q=q)) for x in (engine, cluster))
                    same = (a.total, a.stories) == (b.total, b.stories)
                    differ += not same
                    print(
                        f"{q!r:16} total, stories: embedded {a.total}, {a.stories}; "
                        f"opensearch {b.total}, {b.stories}{'' if same else '  DIFFER'}"
                    )
            cluster.close()
        finally:
            server.close()
        os_groups = {frozenset(g) for g in theirs.values() if len(g) > 1}
        print(
            f"groups: embedded {len(ours)} holding {sum(map(len, ours))}; opensearch "
            f"{len(os_groups)} holding {sum(map(len, os_groups))}; the same {len(ours & os_groups)}"
        )
        for name, only in (("embedded", ours - os_groups), ("opensearch", os_groups - ours)):
            for group in sorted(sorted(g) for g in only)[:5]:
                print(f"only {name}: {group}")
        return 1 if differ or ours != os_groups else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sample(engine_class, index_dir: Path, size: int, alike: int, seed: int) -> list[str]:
    """Paths: up to `alike` releases sharing a title or URL with another, then random ones."""
    keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    paths = []
    with engine_class(index_dir) as engine:
        snap = engine.snapshot()
        reader = snap.searcher.reader()
        for n in range(reader.doc_count_all()):
            if not snap.facets.live_mask[n]:
                continue
            stored = reader.stored_fields(n)
            paths.append(stored["path"])
            for key in ("url", "title"):
                if stored.get(key):
                    keys[(key, stored[key])].append(stored["path"])
    close = sorted({p for found in keys.values() if 1 < len(found) <= 4 for p in found})[:alike]
    rest = sorted(set(paths) - set(close))
    return close + random.Random(seed).sample(rest, max(0, min(size - len(close), len(rest))))


def _groups(engine) -> set[frozenset[str]]:
    snap = engine.snapshot()
    table, reader = snap.duplicates, snap.searcher.reader()
    found: dict[int, set[str]] = defaultdict(set)
    for n in range(len(table.label)):
        if table.grouped[n] and snap.facets.live_mask[n]:
            found[int(table.label[n])].add(reader.stored_fields(n)["id"])
    return {frozenset(g) for g in found.values()}


if __name__ == "__main__":
    sys.exit(main())
