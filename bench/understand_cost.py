"""What understanding the news costs a build: entities and near-duplicate signatures.

    python bench/understand_cost.py FOLDER [--procs 2] [--rounds 1] [--keep DIR]

Builds FOLDER (the White House corpus: see bench/README.md) from scratch twice per round,
in one run: as the product does (countries, people and organisations recognised, MinHash
signatures written), and with both switched off (a recognizer that finds nothing, the
writing adapter's SIGNATURES off). Prints wall and CPU seconds of each build (CPU: this
process and its worker processes) and the difference. Order alternates between rounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The project, in place of bench/ (whose http.py would shadow the standard library's).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from searchsvc.entities import Recognizer  # noqa: E402
from searchsvc.indexing import index_paths, writing  # noqa: E402
from searchsvc.reading import Document  # noqa: E402


class NoRecognizer(Recognizer):
    """Finds nothing: a build without entity recognition."""

    def annotate(self, doc: Document) -> Document:
        return doc


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build(
    folder: Path, procs: int, understand: bool, keep: Path | None = None
) -> tuple[float, float, int]:
    """Wall and CPU seconds of a full build, and the documents it holds (the index is
    removed after, unless keep names where to move it)."""
    index_dir = Path(tempfile.mkdtemp(prefix="understand-cost-"))
    writing.SIGNATURES = understand
    recognizer = Recognizer() if understand else NoRecognizer()
    try:
        cpu, wall = _cpu(), time.perf_counter()
        report = index_paths(index_dir, [folder], procs=procs, recognizer=recognizer)
        return time.perf_counter() - wall, _cpu() - cpu, report.total
    finally:
        writing.SIGNATURES = True
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.move(str(index_dir), keep)
        else:
            shutil.rmtree(index_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the last index built with both here")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    runs: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    for r in range(args.rounds):
        for understand in (False, True) if r % 2 == 0 else (True, False):
            keep = args.keep if understand else None
            wall, cpu, docs = build(args.folder, args.procs, understand, keep)
            runs[understand].append((wall, cpu, docs))
            what = "with entities + signatures" if understand else "without either"
            print(f"round {r + 1}, {what}: {docs:,} releases, {wall:.1f} s wall, {cpu:.1f} s CPU")
    base = [min(x[i] for x in runs[False]) for i in (0, 1)]
    full = [min(x[i] for x in runs[True]) for i in (0, 1)]
    for i, name in enumerate(("wall", "CPU")):
        print(
            f"{name}: {base[i]:.1f} s without, {full[i]:.1f} s with: "
            f"{(full[i] / base[i] - 1) * 100:+.1f}%"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
