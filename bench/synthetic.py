"""Write a synthetic corpus: N releases made from the White House ones, all different.

    the corpus (default: the White House archive) --release i = source i mod n-->
      its sentences shuffled (poured back into its paragraphs' sizes), a title of its own
      first half and another release's second half, a random date 1990-01-01..2026-08-21,
      a URL of its own, its category kept --> DIR/sNNNN/DATE-NNNNNNNN.md (1,000 a folder)

The same arguments write the same files; a hidden mark (.synthetic.json) lets a later run
(or `speed.py --million DIR`) reuse the folder instead of writing it again. 1,000,000
releases take about 12 GB, and their index two to three times that: it checks the space
the files need.

    python bench/synthetic.py DIR [--releases 1000000] [--corpus PATH] [--seed 11] [--procs 2]
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
import os
import tempfile
import time

from _corpus import prepare_corpus, write_synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dir", type=Path, help="where to write the releases")
    parser.add_argument("--releases", type=int, default=1_000_000, help="how many (1,000,000)")
    parser.add_argument("--corpus", help="source folder or .tar.gz (default: White House)")
    parser.add_argument("--seed", type=int, default=11, help="seed (default 11)")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="processes")
    args = parser.parse_args(argv)
    if args.releases < 1:
        parser.error("--releases needs a positive number")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="searchsvc-synthetic-") as tmp:
        corpus = prepare_corpus(args.corpus, Path(tmp))
        made = write_synthetic(corpus, args.dir, args.releases, args.seed, args.procs)
    verb = "reused" if made["reused"] else "wrote"
    seconds = time.perf_counter() - started
    print(f"{verb} {args.releases:,} releases in {args.dir} ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
