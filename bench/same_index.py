"""Whether two indexes hold the same thing, document by id: for proving a speed-only change.

    python bench/same_index.py INDEX_A INDEX_B [--show 10] [--files]

Reads the live generation of each index directory and compares, by document id (not by
segment and document number, which differ between a parallel build's workers): every
stored field of every document; each document's length in every scorable field; every
term of every indexed field with its postings (document, weight and value: positions or
frequency). Prints how many of each were compared, the first differences, and exits 1 if
there are any. Build both indexes from the same folder (say, a sample of the White House
corpus: bench/README.md), one with each version of the code.

--files also compares the segments' files byte for byte (each member of a compound file,
and the posting and forward files beside it), the segment's id masked, the segments paired
in the order of their first documents' ids: for two builds made alike (one process). A file
that differs is named; it does not count as a difference of what the index holds.
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


def segment_files(index_dir: Path) -> dict[str, bytes]:
    """Each segment's files, named "k:MAIN_SEG.ext" (k: the segment's rank by first id)."""
    gen = storage.current_generation(index_dir)
    assert gen is not None
    ix = storage.open_index(index_dir)
    out: dict[str, bytes] = {}
    try:
        with ix.reader() as reader:
            leaves = sorted(
                (leaf.stored_fields(0)["id"], leaf.segment().segment_id())
                for leaf, _ in reader.leaf_readers()
            )
    finally:
        ix.close()
    for k, (_, sid) in enumerate(leaves):
        for path in sorted(gen.glob(f"{sid}.*")):
            if path.suffix == ".seg":
                out.update(_members(path, sid, k))
            else:
                out[f"{k}:" + path.name.replace(sid, "SEG")] = path.read_bytes()
    return out


def _members(path: Path, sid: str, k: int) -> dict[str, bytes]:
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.filestore import FileStorage

    compound = CompoundStorage(FileStorage(str(path.parent)).open_file(path.name), use_mmap=False)
    out = {}
    for name in compound.list():
        f = compound.open_file(name)
        out[f"{k}:" + name.replace(sid, "SEG")] = f.read()
        f.close()
    compound.close()
    return out


def compare_files(a: Path, b: Path) -> list[str]:
    """A line per segment file: its sizes in a and b, and whether its bytes are the same."""
    left, right = segment_files(a), segment_files(b)
    lines = []
    for name in sorted(left.keys() | right.keys()):
        x, y = left.get(name), right.get(name)
        same = "identical" if x == y else "DIFFERENT"
        if x != y and x and y and name.endswith(".trm") and _same_terms(x, y):
            same = "DIFFERENT: only where each term's postings start and end"
        lines.append(f"{name:28} {len(x or b''):>12,} {len(y or b''):>12,}  {same}")
    return lines


def _same_terms(x: bytes, y: bytes) -> bool:
    """Whether two terms files hold the same terms with the same infos but for their last
    12 bytes (a term's postings: offset and length, W3TermInfo.to_bytes)."""
    from whoosh.filedb.filetables import OrderedHashReader
    from whoosh.filedb.structfile import BufferFile

    def infos(data: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v[:-12]) for k, v in OrderedHashReader(BufferFile(data), len(data)).items()]

    return infos(x) == infos(y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--show", type=int, default=10, help="differences printed")
    parser.add_argument("--files", action="store_true", help="segment files byte for byte")
    args = parser.parse_args()
    if args.files:
        lines = compare_files(args.a, args.b)
        print("\n".join(lines))
        same = sum(line.endswith("identical") for line in lines)
        print(f"{same} of {len(lines)} segment files byte for byte the same")
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
