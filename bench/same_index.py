"""Whether two indexes hold the same thing, document by id: for proving a speed-only change.

    python bench/same_index.py INDEX_A INDEX_B [--show 10]

Reads the live generation of each index directory and compares, by document id (not by
segment and document number, which differ between a parallel build's workers): every
stored field of every document; each document's length in every scorable field; every
term of every indexed field with its postings (document, weight and value: positions or
frequency). Prints how many of each were compared, the first differences, and exits 1 if
there are any. Build both indexes from the same folder (say, a sample of the White House
corpus: bench/README.md), one with each version of the code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

# The project, in place of bench/ (whose http.py would shadow the standard library's).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from searchsvc.indexing import storage  # noqa: E402


def contents(index_dir: Path) -> Iterator[tuple[tuple, object]]:
    """(key, value) of everything the index holds, keyed by document id."""
    ix = storage.open_index(index_dir)
    try:
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers():
                live = [n for n in range(leaf.doc_count_all()) if not leaf.is_deleted(n)]
                ids = {n: leaf.stored_fields(n)["id"] for n in live}
                scorable = [name for name in ix.schema.names() if ix.schema[name].scorable]
                for n, doc_id in ids.items():
                    yield ("stored", doc_id), leaf.stored_fields(n)
                    for name in scorable:
                        yield ("length", name, doc_id), leaf.doc_field_length(n, name)
                for name in ix.schema.names():
                    if not ix.schema[name].indexed:
                        continue
                    for term in leaf.lexicon(name):
                        matcher = leaf.postings(name, term)
                        while matcher.is_active():
                            if matcher.id() in ids:
                                key = ("posting", name, term, ids[matcher.id()])
                                yield key, (matcher.weight(), matcher.value())
                            matcher.next()
    finally:
        ix.close()


def compare(a: Path, b: Path) -> tuple[dict[str, int], list[str]]:
    """What was compared (by kind), and the differences found."""
    left = dict(contents(a))
    right = dict(contents(b))
    counts: dict[str, int] = {}
    for key in left:
        counts[key[0]] = counts.get(key[0], 0) + 1
    problems = [f"only in {a}: {key}" for key in left.keys() - right.keys()]
    problems += [f"only in {b}: {key}" for key in right.keys() - left.keys()]
    problems += [
        f"differs: {key}: {left[key]!r:.200} != {right[key]!r:.200}"
        for key in left.keys() & right.keys()
        if left[key] != right[key]
    ]
    return counts, sorted(problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--show", type=int, default=10, help="differences printed")
    args = parser.parse_args()
    counts, problems = compare(args.a, args.b)
    docs = counts.get("stored", 0)
    print(
        f"compared {docs:,} documents' stored fields, {counts.get('length', 0):,} field "
        f"lengths and {counts.get('posting', 0):,} postings: {len(problems):,} differences"
    )
    for problem in problems[: args.show]:
        print(" ", problem)
    sys.exit(1 if problems or not docs else 0)


if __name__ == "__main__":
    main()
