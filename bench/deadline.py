"""Time expensive queries, and how soon a deadline stops them.

    python bench/deadline.py --index-dir /tmp/wh-ix [--deadline 0.05]

For each query: its time with no deadline (best of --repeat, no result cache), then with
the given deadline: whether it finished or stopped, when, and in which phase. Against an
older checkout (run with its own virtualenv's python) that has no deadlines, only the
first column.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package for
# everything imported below: search the folder last, after the standard library.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import inspect
import time

from searchsvc.searching import Engine, SearchRequest, open_backend

# The README's limits table, then a query of unknown words.
LONG = " ".join(["energy cooperation partnership infrastructure investment"] * 36)[:2000]
QUERIES = [
    "pre*",
    LONG,
    '"the president said"',
    "infrastrcture~2 bidn~",
    "sdfghjklqw cvbnmqwert pqwertyuio mnbvcxzlkj asdfghjklp scxzqwerty cpoiuytrew",
    "energy",
]


def main(argv: list[str] | None = None) -> int:
    """Print each query's time, and what the deadline does to it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--deadline", type=float, default=0.05, help="seconds")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if "deadline" in inspect.signature(Engine.search).parameters:
        from searchsvc.deadline import Deadline, DeadlineExceededError
    else:  # an older checkout
        Deadline = None  # noqa: N806
    with open_backend(args.index_dir, cache_size=0) as engine:
        engine.search(SearchRequest(q="energy"))  # open the index first
        for q in QUERIES:
            best = min(_time(lambda q=q: engine.search(SearchRequest(q=q))) for _ in range(3))
            line = f"{best * 1000:8.1f} ms  "
            if Deadline is not None:
                started = time.perf_counter()
                try:
                    engine.search(SearchRequest(q=q), Deadline(args.deadline))
                    outcome = "finished"
                except DeadlineExceededError as exc:
                    outcome = f"stopped in {exc.phase}"
                took = (time.perf_counter() - started) * 1000
                line += f"deadline {args.deadline * 1000:.0f} ms: {outcome} at {took:6.1f} ms  "
            print(line + repr(q if len(q) < 60 else q[:40] + f"... ({len(q)} characters)"))
    return 0


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
