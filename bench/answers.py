"""Every answer of the speed workload, as JSON: to show two versions of the code answer alike.

    python bench/answers.py INDEX OUT.json [--from-index INDEX1X]
    /path/to/other/checkout/.venv/bin/python bench/answers.py INDEX OTHER.json
    cmp OUT.json OTHER.json

For each of bench/speed.py's 300 queries (drawn from --from-index, default INDEX, as
speed.py --growth draws them from the 1x index): the total, the stories, each hit's id and
score, the suggestion and every facet's counts. A change meant to make queries faster and
leave the ranking alone must give the same file. With --snippets, each hit's snippet and
marked title too (a change to the highlighter must give the same file with it).

Run the other checkout with its own virtualenv, not with PYTHONPATH: the README's install
is editable (pip install -e), and its import hook finds the installed checkout's searchsvc
before PYTHONPATH is looked at, so both files would come from the same code.
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import json

from _workload import make_queries, read_docs

from searchsvc.searching import SearchError, open_backend


def answers(index_dir: str, queries, snippets: bool = False) -> list:
    """Each query's answer as plain data (an error's message for a refused query); with
    snippets, each hit's snippet and marked title too."""
    out: list = []
    with open_backend(index_dir, cache_size=0) as engine:
        for bq in queries:
            try:
                r = engine.search(bq.request())
            except SearchError as exc:
                out.append(str(exc))
                continue
            facets = {k: [(c.value, c.count) for c in v] for k, v in r.facets.items()}
            hits = [
                (h.id, h.score, h.snippet, h.title_html) if snippets else (h.id, h.score)
                for h in r.hits
            ]
            out.append([r.total, r.stories, hits, r.suggestion, facets])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("index")
    parser.add_argument("out")
    parser.add_argument("--from-index", help="index to draw the queries from (default: index)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--snippets", action="store_true", help="each hit's snippet too")
    args = parser.parse_args(argv)
    queries = make_queries(read_docs(args.from_index or args.index), args.queries, args.seed)
    found = answers(args.index, queries, args.snippets)
    Path(args.out).write_text(json.dumps(found), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
