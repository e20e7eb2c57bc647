"""How right the "did you mean" is: misspellings corrected, correct words left alone.

    python bench/spelling.py [INDEX_DIR]          # default /tmp/wh-ix (the White House corpus)
    python bench/spelling.py INDEX_DIR --json     # every figure as JSON
    python bench/spelling.py INDEX_DIR --show     # also each miss and each wrong correction

bench/misspellings.tsv (from bench/make_misspellings.py): each misspelling is asked of the
Speller the Engine keeps (every word of the index preloaded), and counts as corrected if the
suggestion is its word. bench/correct-queries.txt: each correctly spelled query counts as
wrongly "corrected" if any suggestion comes back. Prints both shares (targets: at least 90%
and at most 2%), the share by kind of edit, and the time of a suggestion.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import json
import time
from collections import Counter

from _common import latency_ms

from searchsvc.indexing import storage
from searchsvc.searching.spelling import Speller


def main(argv: list[str] | None = None) -> int:
    """Print the share of misspellings corrected and of correct queries left alone."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index_dir", nargs="?", default="/tmp/wh-ix")
    ap.add_argument("--pairs", default=str(_BENCH / "misspellings.tsv"))
    ap.add_argument("--correct", default=str(_BENCH / "correct-queries.txt"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", action="store_true", help="print each miss")
    args = ap.parse_args(argv)
    rows = [line.split("\t") for line in Path(args.pairs).read_text().splitlines()[1:]]
    correct = [q for q in Path(args.correct).read_text().splitlines() if q.strip()]
    ix = storage.open_index_at(storage.current_generation(args.index_dir))
    with ix.searcher() as searcher:
        speller = Speller(searcher.reader()).preload()
        figures, misses = _measure(speller, rows, correct)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"misspellings corrected right: {figures['corrected']:.1%} "
        f"({figures['corrected_n']} of {len(rows)}; target at least 90%)"
    )
    for edit, share in figures["by_edit"].items():
        print(f"  {edit:<13} {share:.1%}")
    print(
        f"correct queries wrongly corrected: {figures['wrongly_corrected']:.1%} "
        f"({figures['wrongly_corrected_n']} of {len(correct)}; target at most 2%)"
    )
    t = figures["suggestion_ms"]
    print(f"suggestion: p50 {t['p50']} ms, p95 {t['p95']} ms, max {t['max']} ms")
    if args.show:
        for line in misses:
            print("  " + line)
    return 0


def _measure(speller: Speller, rows: list[list[str]], correct: list[str]):
    times: list[float] = []

    def suggest(q: str) -> str | None:
        started = time.perf_counter()
        found = speller.suggest(q)
        times.append(time.perf_counter() - started)
        return found

    right: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    misses = []
    for typo, word, edit in rows:
        found = suggest(typo)
        asked[edit] += 1
        if found == word:
            right[edit] += 1
        else:
            misses.append(f"{typo} ({edit} of {word}) -> {found}")
    wrong = 0
    for q in correct:
        found = suggest(q)
        if found is not None:
            wrong += 1
            misses.append(f"{q} (correct) -> {found}")
    figures = {
        "corrected": sum(right.values()) / len(rows),
        "corrected_n": sum(right.values()),
        "by_edit": {e: right[e] / asked[e] for e in sorted(asked)},
        "wrongly_corrected": wrong / len(correct),
        "wrongly_corrected_n": wrong,
        "suggestion_ms": latency_ms(times),
    }
    return figures, misses


if __name__ == "__main__":
    sys.exit(main())
