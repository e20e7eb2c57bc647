"""Whoosh's private names live in two adapters, and the pinned Whoosh still has each of them.

If an upgrade of Whoosh renames or drops one, this test names it, before anything fails
in a way that is hard to read.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from isal import isal_zlib

from searchsvc.indexing import (
    bulk,
    current_generation,
    open_for_search,
    segments,
    shared_storage,
    w3blocks,
    writing,
)

PACKAGE = Path(__file__).parent.parent / "searchsvc"

# The modules that may import Whoosh: the vocabulary that defines the index (analysis,
# schema), the reading adapter (segments, and shared_storage: its files for many threads),
# the writing adapter and the bulk segment writer (it writes W3's files from arrays, so it
# must know their format: see indexing/bulk.py, collect.py and w3blocks.py), the three
# that build and walk Whoosh's query objects (query, ranker, variants), and the one that
# writes that tree as OpenSearch's query DSL.
MAY_IMPORT_WHOOSH = {
    "analysis.py",
    "schema.py",
    "indexing/segments.py",
    "indexing/shared_storage.py",
    "indexing/writing.py",
    "indexing/bulk.py",
    "indexing/collect.py",
    "indexing/w3blocks.py",
    "searching/query.py",
    "searching/variants.py",
    "scoring/ranker.py",
    "opensearch/translate.py",
}


def _resolve(dotted: str):
    module, _, rest = dotted.partition(".")
    obj = importlib.import_module(module)
    for part in rest.split(".") if rest else []:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        *segments.PRIVATE_NAMES,
        *shared_storage.PRIVATE_NAMES,
        *writing.PRIVATE_NAMES,
        *bulk.PRIVATE_NAMES,
        *w3blocks.PRIVATE_NAMES,
    ],
    ids=lambda v: v,
)
def test_the_pinned_whoosh_has_every_private_name_the_adapters_use(owner, name):
    try:
        found = _resolve(owner)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"Whoosh no longer has {owner} ({exc}); the adapters need it")
    # An instance attribute is set in the class's source rather than found on the class.
    present = hasattr(found, name) or (
        isinstance(found, type) and f"self.{name} =" in inspect.getsource(found)
    )
    assert present, f"Whoosh's {owner} no longer has {name}; the adapters need it"


def test_only_the_adapters_and_the_query_modules_import_whoosh():
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n == "whoosh" or n.startswith("whoosh.") for n in names):
                importers.add(path.relative_to(PACKAGE).as_posix())
    assert importers == MAY_IMPORT_WHOOSH


def test_private_names_appear_only_in_the_adapters():
    # A Whoosh private name used outside the adapters would escape this test's check.
    names = (
        *segments.PRIVATE_NAMES,
        *shared_storage.PRIVATE_NAMES,
        *writing.PRIVATE_NAMES,
        *bulk.PRIVATE_NAMES,
        *w3blocks.PRIVATE_NAMES,
    )
    private = {name for _, name in names if name.startswith("_")}  # public names are fine
    adapters = {
        "indexing/segments.py",
        "indexing/shared_storage.py",
        "indexing/writing.py",
        "indexing/bulk.py",
        "indexing/w3blocks.py",
    }
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in adapters:
            continue
        text = path.read_text(encoding="utf-8")
        used = sorted(name for name in private if f".{name}" in text)
        assert not used, f"{rel} uses Whoosh's private {used}; move it into an adapter"


def test_stored_fields_inflated_by_isal_are_the_same(seeds_index):
    gen = current_generation(seeds_index)
    ix = open_for_search(gen)
    try:
        with ix.searcher() as searcher:
            reader = searcher.reader()
            before = [searcher.stored_fields(n) for n in range(reader.doc_count_all())]
            segments.inflate_stored_fields_by_isal(reader)
            inflaters = {
                leaf._perdoc._cached_reader("_stored", None)._child._decompress
                for leaf, _ in reader.leaf_readers()
            }
            after = [searcher.stored_fields(n) for n in range(reader.doc_count_all())]
    finally:
        ix.storage.close()
    assert inflaters == {isal_zlib.decompress}
    assert after == before and len(before) == 5
