"""Near-duplicate groups of an index: the same-URL pairs, the other groups, a sample to judge.

    python bench/duplicates.py --index-dir /tmp/dups-ix              # the figures
    python bench/duplicates.py --index-dir /tmp/dups-ix --sample 30 --show /tmp/sample.txt
    python bench/duplicates.py --cost /tmp/dups-wh/wh-briefings       # signature CPU time
    python bench/duplicates.py --build CORPUS --index-dir DIR [--no-signatures]

Figures: releases, groups of two or more and the releases in them; the pairs of releases
that share a source URL (front matter `source_url`) and how many of them one group holds;
the groups holding none of them; how long the groups take to compute when a searcher opens.
`--sample N` draws N of the other groups (seeded) and writes their members' titles, dates,
estimated similarity and opening words to `--show FILE`, for a person to judge.
`--cost` times minhash.signature() over every release of a folder, in one process.
`--build` times a full build (procs 2) of a folder into a fresh index, with signatures or
(`--no-signatures`) without: the cost of duplicate detection at index time.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

# bench/http.py would shadow the standard library's http: the folder goes last.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

from searchsvc import minhash  # noqa: E402
from searchsvc.indexing import index_paths, writing  # noqa: E402
from searchsvc.reading import Document, discover, read_source  # noqa: E402
from searchsvc.searching import Engine  # noqa: E402
from searchsvc.searching.duplicates import DuplicateTable, _read_signatures  # noqa: E402


def groups_of(table: DuplicateTable, live: list[int]) -> dict[int, list[int]]:
    """Groups of two or more live documents, by label."""
    out: dict[int, list[int]] = defaultdict(list)
    for n in live:
        if table.grouped[n]:
            out[int(table.label[n])].append(n)
    return dict(out)


def figures(index_dir: str, sample: int, show: str | None, seed: int) -> dict:
    with Engine(index_dir) as engine:
        snap = engine.snapshot()
        reader = snap.searcher.reader()
        started = time.perf_counter()
        table = DuplicateTable(reader, snap.facets.live_mask, snap.facets.date_keys)
        seconds = time.perf_counter() - started
        live = snap.facets.live
        stored = snap.searcher.stored_fields
        groups = groups_of(table, live)
        by_url: dict[str, list[int]] = defaultdict(list)
        for n in live:
            url = stored(n).get("url", "")
            if url:
                by_url[url].append(n)
        pairs = [docs for docs in by_url.values() if len(docs) > 1]
        together = [docs for docs in pairs if len({int(table.label[n]) for n in docs}) == 1]
        url_groups = {int(table.label[docs[0]]) for docs in pairs}
        paired_groups = {int(table.label[docs[0]]) for docs in together}
        others = sorted(label for label in groups if label not in url_groups)
        result = {
            "releases": len(live),
            "groups": len(groups),
            "releases_in_groups": sum(len(g) for g in groups.values()),
            "largest_group": max((len(g) for g in groups.values()), default=0),
            "same_url_pairs": len(pairs),
            "same_url_pairs_grouped": len(together),
            "groups_holding_them": len(paired_groups),
            "same_url_pairs_apart": [
                [stored(n)["id"] for n in docs] for docs in pairs if docs not in together
            ],
            "other_groups": len(others),
            "group_seconds": round(seconds, 3),
        }
        if sample and others:
            chosen = random.Random(seed).sample(others, min(sample, len(others)))
            result["sample"] = [[stored(n)["id"] for n in groups[label]] for label in chosen]
            if show:
                _write_sample(show, chosen, groups, stored, reader, len(table.label))
        return result


def _write_sample(path, chosen, groups, stored, reader, size) -> None:
    signatures, _ = _read_signatures(reader, size)
    with open(path, "w", encoding="utf-8") as out:
        for i, label in enumerate(chosen, start=1):
            members = groups[label]
            head = signatures[members[0]].tobytes()
            out.write(f"=== group {i}: {len(members)} releases\n")
            for n in members:
                doc = stored(n)
                sim = minhash.similarity(head, signatures[n].tobytes())
                words = " ".join(doc.get("body", "").split()[:60])
                out.write(f"--- {doc['id']} | {doc.get('date')} | J~{sim:.2f}\n")
                out.write(f"    {doc.get('title', '')}\n    {words}\n")
            out.write("\n")


def cost(folder: str) -> dict:
    sources, _ = discover([folder])
    docs = [d for s in sources for d in read_source(s) if isinstance(d, Document)]
    started, cpu = time.perf_counter(), time.process_time()
    for doc in docs:
        minhash.signature(doc.body or doc.title)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "releases": len(docs),
        "signature_seconds": round(seconds, 2),
        "signature_cpu_seconds": round(cpu, 2),
        "cpu_ms_per_release": round(cpu / max(len(docs), 1) * 1000, 3),
    }


def build(folder: str, index_dir: str, signatures: bool) -> dict:
    shutil.rmtree(index_dir, ignore_errors=True)
    writing.SIGNATURES = signatures  # inherited by the forked workers
    started, cpu = time.perf_counter(), time.process_time()
    report = index_paths(index_dir, [folder], procs=2)
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "signatures": signatures,
        "releases": report.total,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu + children.ru_utime + children.ru_stime, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", default="index")
    parser.add_argument("--sample", type=int, default=0, help="other groups to draw")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--show", help="write the sample's texts to this file")
    parser.add_argument("--cost", metavar="FOLDER", help="time the signatures of FOLDER")
    parser.add_argument("--build", metavar="FOLDER", help="time a full build of FOLDER")
    parser.add_argument("--no-signatures", action="store_true", help="with --build")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cost:
        out = cost(args.cost)
    elif args.build:
        out = build(args.build, args.index_dir, not args.no_signatures)
    else:
        out = figures(args.index_dir, args.sample, args.show, args.seed)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for key, value in out.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
