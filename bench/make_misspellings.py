"""Write the spelling test sets from an index of the White House corpus, reproducibly.

    python bench/make_misspellings.py [INDEX_DIR]     # default /tmp/wh-ix

    the exact field's words --letters only, 5 to 12 long, not stop words, by the number of
        releases holding them--> the 2,000 most common
    SEED --random.Random--> 150 of them, one edit each, in turn a substitution, a deletion,
        an insertion and a swap of two neighbouring letters, never at the first letter
        (the corrector keeps it, as most typists do)
    a misspelling is kept only if it is no word: it occurs nowhere in the index (as a
        word, or as the stem of one), so it is neither another real word nor a typo the
        corpus holds; and it differs from its word
    --> bench/misspellings.tsv (misspelling, word, edit): the first 120 kept
    SEED + 1 --> bench/correct-queries.txt: 200 of the 2,000 common words and 20 queries
        of 2 or 3 of them: correctly spelled, never to be "corrected"

The sets are committed; rerun this only to rebuild them (the same index and seed give the
same files).
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import random
import string

from searchsvc.analysis import STOP, stem_term
from searchsvc.indexing import storage
from searchsvc.searching.spelling import read_words

SEED = 13
COMMON = 2000
DRAWN = 150
KEPT = 120
EDITS = ("substitution", "deletion", "insertion", "swap")


def main(argv: list[str] | None = None) -> int:
    """Write bench/misspellings.tsv and bench/correct-queries.txt."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index_dir", nargs="?", default="/tmp/wh-ix")
    args = ap.parse_args(argv)
    ix = storage.open_index_at(storage.current_generation(args.index_dir))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        common = _common(reader)
        pairs = _misspellings(reader, common)
        correct = _correct(common)
    (_BENCH / "misspellings.tsv").write_text(
        "misspelling\tword\tedit\n" + "".join(f"{m}\t{w}\t{e}\n" for m, w, e in pairs)
    )
    (_BENCH / "correct-queries.txt").write_text("".join(q + "\n" for q in correct))
    print(f"{len(pairs)} misspellings, {len(correct)} correctly spelled queries")
    return 0


def _common(reader) -> list[str]:
    words = [
        w
        for w in read_words(reader, "exact")
        if w.isascii() and w.isalpha() and 5 <= len(w) <= 12 and w not in STOP
    ]
    words.sort(key=lambda w: (-reader.doc_frequency("exact", w), w))
    return sorted(words[:COMMON])


def _misspellings(reader, common: list[str]) -> list[tuple[str, str, str]]:
    rng = random.Random(SEED)
    kept = []
    for n, word in enumerate(rng.sample(common, DRAWN)):
        edit = EDITS[n % len(EDITS)]
        typo = _edit(rng, word, edit)
        if typo == word or _is_word(reader, typo):
            continue
        kept.append((typo, word, edit))
    return kept[:KEPT]


def _edit(rng: random.Random, word: str, edit: str) -> str:
    i = rng.randrange(1, len(word) - (edit == "swap"))
    letter = rng.choice(string.ascii_lowercase)
    if edit == "substitution":
        return word[:i] + letter + word[i + 1 :]
    if edit == "deletion":
        return word[:i] + word[i + 1 :]
    if edit == "insertion":
        return word[:i] + letter + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _is_word(reader, typo: str) -> bool:
    stem = stem_term(typo)
    return reader.doc_frequency("exact", typo) > 0 or (
        stem is not None and reader.doc_frequency("body", stem) > 0
    )


def _correct(common: list[str]) -> list[str]:
    rng = random.Random(SEED + 1)
    words = rng.sample(common, 200)
    queries = [" ".join(rng.sample(common, rng.choice((2, 3)))) for _ in range(20)]
    return words + queries


if __name__ == "__main__":
    sys.exit(main())
