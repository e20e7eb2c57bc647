"""A full build, the old way (Whoosh's SegmentWriter) and the bulk way, in one run.

    python bench/build.py FOLDER [--procs 2] [--rounds 1] [--only bulk|old]

Builds FOLDER (the White House corpus: see bench/README.md) from scratch with each writer
(indexer.BULK off, then on; the order alternates between rounds) and prints, per build:
releases, wall and CPU seconds (this process and its workers), releases a second, and the
parent's serial part: before the workers start (discovery, stat, claims), the commit (one
Whoosh table of contents over the workers' segments), the manifest, the checksums (sha256
of every file) and the swap, all measured in the parent. The load average before each
build says how busy the machine's cores were.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# The project, in place of bench/ (whose http.py would shadow the standard library's).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from searchsvc.indexing import index_paths, indexer, storage, writing  # noqa: E402

Timings = dict[str, float]


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(owner, name: str, spent: Timings, key: str) -> None:
    """Wrap owner.name so that its wall time adds up in spent[key]."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def build(folder: Path, procs: int, bulk: bool) -> tuple[float, float, int, Timings]:
    """Wall and CPU seconds of a full build, its documents, and the parent's parts."""
    index_dir = Path(tempfile.mkdtemp(prefix="bench-build-"))
    spent: Timings = defaultdict(float)
    saved = {
        (indexer, "_build"): indexer._build,
        (writing, "commit"): writing.commit,
        (storage, "write_manifest"): storage.write_manifest,
        (storage, "write_checksums"): storage.write_checksums,
        (storage, "swap_in"): storage.swap_in,
    }
    for (owner, name), _ in saved.items():
        _timed(owner, name, spent, name)
    indexer.BULK = bulk
    try:
        cpu, wall = _cpu(), time.perf_counter()
        report = index_paths(index_dir, [folder], procs=procs)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    finally:
        indexer.BULK = True
        for (owner, name), original in saved.items():
            setattr(owner, name, original)
        shutil.rmtree(index_dir, ignore_errors=True)
    spent["the rest"] = wall - sum(
        spent[k] for k in ("_build", "commit", "write_manifest", "write_checksums", "swap_in")
    )
    return wall, cpu, report.total, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", choices=("bulk", "old"))
    args = parser.parse_args()
    ways = [args.only == "bulk"] if args.only else [False, True]
    for r in range(args.rounds):
        for bulk in ways if r % 2 == 0 else ways[::-1]:
            load = os.getloadavg()[0]
            wall, cpu, docs, spent = build(args.folder, args.procs, bulk)
            name = "bulk writer" if bulk else "SegmentWriter"
            print(
                f"round {r + 1}, {name}: {docs:,} releases, {wall:.1f} s wall "
                f"({docs / wall:,.0f} releases/s), {cpu:.1f} s CPU; load average before {load:.1f}"
            )
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"  peak RSS of a worker so far (any build of this run): {rss:,.0f} MiB")
            serial = spent["the rest"] + sum(
                spent[k] for k in ("commit", "write_manifest", "write_checksums", "swap_in")
            )
            print(
                f"  parent, serial: {serial:.2f} s = discovery, stat, claims "
                f"{spent['the rest']:.2f} + commit {spent['commit']:.2f} + manifest "
                f"{spent['write_manifest']:.2f} + checksums {spent['write_checksums']:.2f} + swap "
                f"{spent['swap_in']:.2f}; reading and writing (workers) {spent['_build']:.1f}"
            )


if __name__ == "__main__":
    main()
