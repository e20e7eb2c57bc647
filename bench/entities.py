"""What entity recognition costs an index build: recognition time against the whole run.

    python bench/entities.py --corpus /tmp/wh/wh-briefings --sample 2000

Copies a sample of the corpus's files into a temporary folder, builds an index of them in
one process, and times every Recognizer.recognise call inside that same run. Times are the
process's CPU time (procs=1: one process), so other work on the machine does not inflate
them. Prints the run's time, the recognition time, the share, the matcher's one-off
build, and what the sample's releases name most.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http: the bench folder goes last.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import json
import tempfile
import time
from collections import Counter

from searchsvc.entities import Entities, Recognizer
from searchsvc.indexing import index_paths

SUFFIXES = (".md", ".markdown", ".txt")


class TimedRecognizer(Recognizer):
    """A Recognizer that adds up the time spent in recognise (and its one-off build)."""

    seconds = 0.0  # CPU seconds of this process: the other sessions' load does not count
    calls = 0
    build = 0.0
    found: Counter = Counter()

    def prepare(self) -> Recognizer:
        if self._matcher is None:
            started = time.process_time()
            super().prepare()
            self.build = time.process_time() - started
        return self

    def recognise(self, title: str, body: str) -> Entities:
        self.prepare()
        started = time.process_time()
        found = super().recognise(title, body)
        self.seconds += time.process_time() - started
        self.calls += 1
        self.found.update(f"country:{c}" for c in found.countries)
        self.found.update(f"person:{p}" for p in found.people)
        return found


def sample(corpus: Path, size: int) -> list[Path]:
    """Every n-th release file of the corpus, in path order, size of them."""
    files = sorted(p for p in corpus.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    step = max(1, len(files) // size)
    return files[::step][:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/wh/wh-briefings"))
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = sample(args.corpus, args.sample)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        for i, path in enumerate(files):
            target = folder / f"{i:05d}" / path.name
            target.parent.mkdir(parents=True)
            target.write_bytes(path.read_bytes())
        rec = TimedRecognizer()
        started, wall = time.process_time(), time.perf_counter()
        report = index_paths(Path(tmp) / "ix", [folder], procs=1, recognizer=rec)
        total, wall = time.process_time() - started, time.perf_counter() - wall
    without = total - rec.seconds - rec.build
    figures = {
        "documents": report.total,
        "run_wall_s": round(wall, 2),
        "run_cpu_s": round(total, 2),
        "recognition_s": round(rec.seconds, 3),
        "matcher_build_s": round(rec.build, 3),
        "ms_per_doc_indexing_without_recognition": round(without / rec.calls * 1000, 2),
        "ms_per_doc_recognition": round(rec.seconds / rec.calls * 1000, 3),
        "share_of_build_without_it_pct": round(100 * (rec.seconds + rec.build) / without, 2),
        "top": rec.found.most_common(15),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:45} {value}")


if __name__ == "__main__":
    main()
