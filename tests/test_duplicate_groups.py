"""The grouping of near-duplicates gives, for every input, the groups the plain way gave.

searching/duplicates.py finds a group's edges a signature class at a time (exact copies
together) rather than pair by pair over every band; the plain way it replaced is kept here
as the reference: every band's sorted order, each release compared with its next NEIGHBOURS
in it, the pairs made distinct, same_story on each, a union-find. Both must give the same
label to every document, on random signatures with planted near-duplicates and copies
(dates near and far apart, undated, absent), on signatures that share bands far more often
than real ones do, and on the White House corpus's own signatures with copies added.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import white_house_releases

from searchsvc import minhash
from searchsvc.minhash import BANDS, NUM_PERM, ROWS, SIGNATURE_BYTES, same_story, split
from searchsvc.reading.documents import parse_markdown
from searchsvc.searching import duplicates
from searchsvc.searching.duplicates import _DAY, NEIGHBOURS, _edges, _group_labels


def reference_labels(signatures: np.ndarray, present: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The grouping as it was before classes (searching/duplicates.py at 95cd504)."""
    size = len(present)
    docs = np.flatnonzero(present)
    sigs, counts = split(signatures[docs])
    first, second = reference_candidates(sigs)
    similar = np.zeros(len(first), dtype=bool)
    for at in range(0, len(first), 50_000):
        a, b = first[at : at + 50_000], second[at : at + 50_000]
        apart = days[docs[a]] - days[docs[b]]
        similar[at : at + 50_000] = same_story(sigs[a], counts[a], sigs[b], counts[b], apart)
    parent = list(range(len(docs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(first[similar].tolist(), second[similar].tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    label = np.arange(size)
    if len(docs):
        roots = np.array([root(i) for i in range(len(docs))])
        label[docs] = docs[roots]
    return label


def reference_candidates(sigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (first < second) of rows within NEIGHBOURS of each other in some band's
    stable sorted order and agreeing on that band: the LSH candidates."""
    found = []
    for band in range(BANDS):
        key = np.ascontiguousarray(sigs[:, band * ROWS : (band + 1) * ROWS]).view(np.uint64)
        key = key.reshape(-1)
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        for step in range(1, NEIGHBOURS + 1):
            same = ordered[step:] == ordered[:-step]
            found.append(np.stack([order[:-step][same], order[step:][same]]))
    pairs = np.concatenate(found, axis=1) if found else np.zeros((2, 0), dtype=np.int64)
    pairs.sort(axis=0)
    pairs = np.unique(pairs, axis=1)
    return pairs[0], pairs[1]


def as_rows(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Signature rows (n x SIGNATURE_BYTES uint8) from values and shingle counts."""
    raw = b"".join(
        v.astype("<u2").tobytes() + np.array([c], dtype="<u4").tobytes()
        for v, c in zip(values, counts, strict=True)
    )
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), SIGNATURE_BYTES).copy()


def planted(rng, n: int, alphabet: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n signatures: new ones, exact copies (the same bytes, or another shingle count) and
    near-duplicates (a few values or many changed) of earlier ones, dated near or far from
    them or undated, some absent. A small alphabet makes unrelated signatures share bands."""
    values = np.zeros((n, NUM_PERM), dtype=np.uint16)
    counts = np.zeros(n, dtype=np.int64)
    days = np.full(n, np.nan)
    for i in range(n):
        kind = rng.choice(["new", "copy", "copy", "near", "far"]) if i else "new"
        if kind == "new":
            values[i] = rng.integers(0, alphabet, NUM_PERM)
            counts[i] = rng.choice([rng.integers(5, 30), rng.integers(30, 2000)])
            days[i] = rng.choice([np.nan, rng.uniform(0, 400)])
            continue
        of = rng.integers(0, i)
        values[i], counts[i] = values[of], counts[of]
        if kind == "near":  # similar: a few values differ
            changed = rng.choice(NUM_PERM, rng.integers(1, 16), replace=False)
            values[i, changed] = rng.integers(0, alphabet, len(changed))
        elif kind == "far":  # contained in a longer text, or merely alike
            changed = rng.choice(NUM_PERM, rng.integers(16, 70), replace=False)
            values[i, changed] = rng.integers(0, alphabet, len(changed))
            counts[i] = counts[of] * rng.choice([1, 2, 5])
        elif rng.random() < 0.2:
            counts[i] = rng.integers(1, 3000)  # the same values, another count
        shift = rng.choice([0.0, 3.5, 31.0, 31.5, 45.0, 400.0, np.nan])
        days[i] = days[of] + rng.choice([-1, 1]) * shift
    present = rng.random(n) > 0.05
    return as_rows(values, counts), present, days


@pytest.mark.parametrize("block", [None, 7])  # pairs of classes compared at once; 7: many blocks
@pytest.mark.parametrize("seed", range(12))
def test_groups_equal_the_plain_ways_on_planted_duplicates(seed, block, monkeypatch):
    if block:
        monkeypatch.setattr(duplicates, "_PAIRS_AT_ONCE", block)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 600))
    alphabet = int(rng.choice([2, 3, 16, 65_536]))
    signatures, present, days = planted(rng, n, alphabet)
    expected = reference_labels(signatures, present, days)
    got = _group_labels(signatures, present, days)
    assert got.tolist() == expected.tolist()
    assert (np.bincount(expected) > 1).sum() >= (n > 60)  # there were groups to find
    # More than the same groups: the same edges, each once.
    docs = np.flatnonzero(present)
    sigs, counts = split(signatures[docs])
    first, second = reference_candidates(sigs)
    apart = days[docs[first]] - days[docs[second]]
    edge = same_story(sigs[first], counts[first], sigs[second], counts[second], apart)
    a, b = _edges(sigs, counts, days[docs])
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == sorted(
        zip(first[edge].tolist(), second[edge].tolist(), strict=True)
    )


def test_groups_equal_the_plain_ways_when_no_signature_is_alone_in_a_band():
    # Class i differs from a common signature in band i % 8 and in band 8 + i // 8: in every
    # band it shares its key with other classes, so its pairs come from mixed runs only.
    rng = np.random.default_rng(99)
    values = np.repeat(rng.integers(2, 65_536, NUM_PERM).astype(np.uint16)[None, :], 40, axis=0)
    for i in range(40):
        values[i, (i % 8) * ROWS] = values[i, (8 + i // 8) * ROWS] = 1
    keys = values.view(np.uint64)  # one band a column
    for band in range(BANDS):
        assert all((keys[:, band] == keys[i, band]).sum() > 1 for i in range(40))
    order = rng.permutation(120) % 40  # three rows a class, interleaved
    days = (order % 2) * 100.0 + rng.choice([0.0, 20.0, 40.0], 120)
    signatures, present = as_rows(values[order], np.full(120, 100)), np.ones(120, dtype=bool)
    expected = reference_labels(signatures, present, days)
    assert _group_labels(signatures, present, days).tolist() == expected.tolist()
    assert len(np.unique(expected)) == 2  # the dates split it in two


def test_edge_cases_equal_the_plain_ways():
    rng = np.random.default_rng(1)
    signatures, present, days = planted(rng, 50, 65_536)
    for mask in (np.zeros(50, dtype=bool), np.eye(1, 50, 7, dtype=bool).reshape(-1)):
        assert _group_labels(signatures, mask, days).tolist() == list(range(50))
    copies = np.repeat(signatures[:1], 30, axis=0)  # one signature, thirty times
    for when in (np.zeros(30), np.arange(30) * 20.0, np.full(30, np.nan)):
        expected = reference_labels(copies, np.ones(30, dtype=bool), when)
        assert _group_labels(copies, np.ones(30, dtype=bool), when).tolist() == expected.tolist()


def test_a_hash_collision_falls_back_to_the_bytes(monkeypatch):
    # Every signature one hash: the check against each class's first row fails.
    monkeypatch.setattr(duplicates, "_ODD", np.uint64(0))
    rng = np.random.default_rng(7)
    signatures, present, days = planted(rng, 300, 3)
    expected = reference_labels(signatures, present, days)
    assert _group_labels(signatures, present, days).tolist() == expected.tolist()


def test_groups_equal_the_plain_ways_on_the_white_house_corpus():
    rows, days, signed = [], [], []
    for name, text in white_house_releases(1500):
        doc = parse_markdown(text, name)
        raw = minhash.signature(doc.body or doc.title)
        signed.append(len(raw) == SIGNATURE_BYTES)  # EMPTY: no signature, as the index reads it
        rows.append(np.frombuffer(raw.ljust(SIGNATURE_BYTES, b"\0"), dtype=np.uint8))
        days.append(doc.date.timestamp() * 1e6 / _DAY if doc.date else np.nan)
    n = len(rows)
    # Three copies of each, as at 10x the corpus: the same day, 0 or 40 days on, undated.
    rng = np.random.default_rng(4)
    signatures = np.concatenate([np.array(rows)] * 4)
    when = np.array(days)
    shifted = np.concatenate([when, when, when + rng.choice([0.0, 40.0], n), np.full(n, np.nan)])
    present = np.concatenate([np.array(signed)] * 4)
    present[rng.choice(len(signatures), 50, replace=False)] = False
    expected = reference_labels(signatures, present, shifted)
    got = _group_labels(signatures, present, shifted)
    assert got.tolist() == expected.tolist()
    assert (np.bincount(expected) > 1).sum() > n // 2
