"""Groups of near-duplicates (syndicated copies), found when a searcher opens.

    the minhash column (one signature per release, written at index time: searchsvc.minhash),
        read from each segment's doc values (indexing/docvalues.py)
    --LSH: per band of ROWS values, releases sorted by the band; neighbours are candidates-->
    candidate pairs --minhash.same_story: similar, or contained--> edges --union-find-->
    components --cut where their dated members span more than WINDOW_DAYS--> groups
    a search's matches --collapse(): each group's best matching member only--> the list shown

Groups live with the searcher, never on disk: each state of the index (a commit, a rebuild)
opens a new searcher and so recomputes them from the signatures the index holds. A release
added, changed or removed is therefore grouped anew without any bookkeeping, and the
signatures themselves are ordinary Whoosh column data (and a copy in each segment's doc
values file), under the generation's commit, manifest and checksums like every other field.
On the White House corpus (14,396 releases) this takes about 0.05 s per searcher opened,
and 0.15 s at ten times it (143,960 releases, each with nine exact copies): the work goes
by signature class (a release and its exact copies), not by pair of releases (_edges says
how, and why the groups are the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from searchsvc.indexing import segment_values
from searchsvc.minhash import (
    BANDS,
    SIGNATURE_BYTES,
    WINDOW_DAYS,
    same_story,
    split,
    within_window,
)

_DAY = 86_400_000_000.0  # microseconds
NEIGHBOURS = 3  # in a band's sorted order, each release is compared with the next three


@dataclass(frozen=True)
class Copy:
    """Another release of the same story: "also published as"."""

    id: str
    title: str
    source: str
    date: datetime | None
    url: str


class DuplicateTable:
    """Which group each document belongs to, by document number."""

    def __init__(
        self,
        reader,
        live_mask: np.ndarray,
        date_keys: np.ndarray | None = None,
        files: bool = True,
    ):
        """date_keys: each document's date in microseconds since 1970 (NaN: undated);
        files=False: the signatures read from every segment's column, not its doc values."""
        size = len(live_mask)
        signatures, present = _read_signatures(reader, size, files)
        present &= live_mask
        days = np.full(size, np.nan) if date_keys is None else date_keys / _DAY
        # Each document's group label: the smallest document number of its group.
        self.label = group_labels(signatures, present, days)
        counts = np.bincount(self.label, minlength=size)
        self.grouped = counts[self.label] > 1  # in a group of two or more

    @property
    def groups(self) -> int:
        """How many groups of two or more releases there are."""
        labels = self.label[self.grouped]
        return len(np.unique(labels))

    def collapse(self, match: np.ndarray, key: np.ndarray) -> np.ndarray:
        """match with only the best member of each group left (highest key; ties: lowest number)."""
        members = np.flatnonzero(match & self.grouped)
        if not len(members):
            return match
        # Each group's best key, then its lowest number holding it: two passes over the
        # members (6 ms for 100,000 members in 14,000 groups, where sorting took 86 ms).
        labels, keys = self.label[members], key[members]
        best = np.full(len(self.label), -np.inf)
        np.maximum.at(best, labels, keys)
        at_best = keys == best[labels]
        first = np.full(len(self.label), len(self.label))
        np.minimum.at(first, labels[at_best], members[at_best])
        out = match.copy()
        out[members[first[labels] != members]] = False
        return out

    def others(self, docnum: int, among: np.ndarray | None = None) -> np.ndarray:
        """The other members of docnum's group (only those in among, if given)."""
        if not self.grouped[docnum]:
            return np.zeros(0, dtype=np.int64)
        same = self.label == self.label[docnum]
        if among is not None:
            same &= among
        same[docnum] = False
        return np.flatnonzero(same)


def _read_signatures(reader, size: int, files: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every document's signature as a row of bytes, and whether it has one (from each
    segment's doc values: its file, or its column; files=False: every segment's column)."""
    signatures = np.zeros((size, SIGNATURE_BYTES), dtype=np.uint8)
    present = np.zeros(size, dtype=bool)
    for base, values in segment_values(reader, facets=False, files=files):
        assert values.present is not None and values.signatures is not None
        held = np.flatnonzero(values.present) + base
        signatures[held] = values.signatures
        present[held] = True
    return signatures, present


def group_labels(signatures: np.ndarray, present: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Each row's group, as the row number of its first member: the rows are signatures
    (present: which are), days their dates in days (NaN: undated). The OpenSearch
    backend groups a region of its cluster with it, as this module groups an index.

    Pairs are joined only within WINDOW_DAYS of each other, but a chain of them is not: a
    template renewed every three weeks (a drawdown memorandum, a monthly notice), each
    issue close to the next, would make one group of months. So a group whose dated
    members span more than WINDOW_DAYS is cut into runs that each span at most that,
    from its earliest (its undated members join the first run): _within_window.
    """
    return _within_window(_group_labels(signatures, present, days), days)


def _group_labels(signatures: np.ndarray, present: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Each document's group: the smallest document number among its near-duplicates."""
    label = np.arange(len(present))
    docs = np.flatnonzero(present)
    if len(docs) < 2:
        return label
    sigs, counts = split(signatures, docs)
    first, second = _edges(sigs, counts, days[docs])
    # docs ascend, so the smallest row of a group is its smallest document number
    label[docs] = docs[_components(len(docs), first, second)]
    return label


def _within_window(label: np.ndarray, days: np.ndarray) -> np.ndarray:
    """label with each group whose dated members span more than WINDOW_DAYS cut into runs
    by date, each spanning at most WINDOW_DAYS from its first member; a run's label is its
    smallest document number. Only the wide groups are walked (a few in a real corpus)."""
    size = len(label)
    dated = ~np.isnan(days)
    lo = np.full(size, np.inf)
    hi = np.full(size, -np.inf)
    np.minimum.at(lo, label[dated], days[dated])
    np.maximum.at(hi, label[dated], days[dated])
    wide = hi - lo > WINDOW_DAYS  # by label
    if not wide.any():
        return label
    members = np.flatnonzero(wide[label])
    when = np.where(dated[members], days[members], -np.inf)  # undated first
    order = np.lexsort((members, when, label[members]))
    members, when, group = members[order], when[order], label[members[order]]
    out = label.copy()
    bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        rows, dates = members[start:end], when[start:end]
        at = int(np.searchsorted(dates, -np.inf, side="right"))  # the first dated member
        piece = 0  # the first run takes the undated members too
        while at < len(rows):
            stop = int(np.searchsorted(dates, dates[at] + WINDOW_DAYS, side="right"))
            run = rows[piece:stop]
            out[run] = run.min()
            piece = at = stop
    return out


def _edges(sigs: np.ndarray, counts: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (row indices, first < second) that are one story: the edges of the
    module's graph, each once, found a signature class at a time.

    A class is the rows of one signature, byte for byte (a release and its exact copies).
    In a band, a run of equal keys that holds one class only is that class's rows in order,
    so its candidate pairs are each row and the next NEIGHBOURS of its class; in a run with
    other classes, rows of one class are further apart in the run than in their class, so
    the run adds no pair within a class that such a band did not give. Hence a class alone
    in some band (all but 18 of 14,236 classes of the White House corpus) has exactly those
    pairs within it, made once; the runs with two or more classes (200 a band) are laid
    out row by row as the sorted band would hold them, for the pairs across classes (and
    within the classes never alone). same_story splits into a part on the two signatures
    (the same for every pair of rows of two classes: compared once per pair of classes) and
    one on the two dates (minhash.within_window), compared per pair of rows.
    """
    n = len(sigs)
    words = sigs.view(np.uint64)  # band b's key is word b: ROWS (4) 16-bit values, as before
    cls, rep, members, starts = _classes(words, counts)
    m = len(rep)
    keys = np.ascontiguousarray(words[rep])
    alone = np.zeros(m, dtype=bool)  # alone in its run in some band
    shared: list[tuple[np.ndarray, np.ndarray]] = []  # per band: classes in runs with others, run
    for band in range(BANDS):
        key = keys[:, band]
        order = np.argsort(key)
        ordered = key[order]
        same = ordered[1:] == ordered[:-1]
        in_run = np.zeros(m, dtype=bool)
        in_run[1:] = same
        in_run[:-1] |= same
        alone[order[~in_run]] = True
        if in_run.any():
            run = np.cumsum(np.concatenate(([0], ~same)))
            shared.append((order[in_run], run[in_run]))
    first: list[np.ndarray] = []
    second: list[np.ndarray] = []
    # Within classes alone somewhere: each row and the next NEIGHBOURS of its class.
    values, class_counts = sigs[rep], counts[rep]
    self_same = same_story(values, class_counts, values, class_counts)
    by_class = cls[members]
    for step in range(1, NEIGHBOURS + 1):
        pair = by_class[step:] == by_class[:-step]
        pair &= alone[by_class[step:]] & self_same[by_class[step:]]
        first.append(members[:-step][pair])
        second.append(members[step:][pair])
    # Runs of two or more classes, row by row in the band's sorted order (row ascending in a run).
    # Each pair as one number, a * n + b: the same pair comes from many bands (59.7 million
    # pairs, 15.8 million distinct, at 1,000,000 synthetic releases), so they are kept as
    # one array, not two, and sorted in place.
    cross: list[np.ndarray] = []
    sizes = np.diff(starts)
    for classes, run in shared:
        size = sizes[classes]
        at = np.repeat(starts[classes] - np.cumsum(size) + size, size) + np.arange(size.sum())
        laid = np.sort(np.repeat(run, size) * n + members[at])
        rows, run_of = laid % n, laid // n
        for step in range(1, NEIGHBOURS + 1):
            pair = run_of[step:] == run_of[:-step]
            a, b = rows[:-step][pair], rows[step:][pair]
            keep = (cls[a] != cls[b]) | ~alone[cls[a]]  # not already among the pairs above
            cross.append(a[keep] * n + b[keep])  # a < b: rows ascend in a run
    if cross:
        pairs = np.concatenate(cross)
        del cross[:]
        pairs.sort()
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
        a, b = pairs // n, pairs % n
        ca, cb = cls[a], cls[b]
        classes_pairs, which = np.unique(ca * m + cb, return_inverse=True)
        x, y = classes_pairs // m, classes_pairs % m
        similar = _same_stories(values, class_counts, x, y)
        keep = similar[which.reshape(-1)]
        first.append(a[keep])
        second.append(b[keep])
    a, b = np.concatenate(first), np.concatenate(second)
    near = within_window(days[a] - days[b])
    return a[near], b[near]


# Pairs of classes compared a block at a time. The gathers of both classes' values for
# every pair at once took 7.9 GB at 1,000,000 synthetic releases (15.4 million pairs of
# classes: each release and its ~70 copies with shuffled sentences), and most of the two
# minutes a new serve worker spent opening that index, in the kernel, faulting it in.
_PAIRS_AT_ONCE = 1 << 16


def _same_stories(values: np.ndarray, counts: np.ndarray, x: np.ndarray, y: np.ndarray):
    """same_story of classes x[i] and y[i], for each i (values, counts: the classes')."""
    out = np.empty(len(x), dtype=bool)
    for lo in range(0, len(x), _PAIRS_AT_ONCE):
        a, b = x[lo : lo + _PAIRS_AT_ONCE], y[lo : lo + _PAIRS_AT_ONCE]
        out[lo : lo + len(a)] = same_story(values[a], counts[a], values[b], counts[b])
    return out


def _classes(words: np.ndarray, counts: np.ndarray):
    """Rows with the same signature, byte for byte: each row's class, each class's first
    row, the rows ordered by class (row ascending within one), and where each class starts
    in that order (and the end). By a hash of the signature checked against each class's
    first row, or, should two signatures share a hash (2**-64 a pair), by the bytes."""
    mix = np.arange(1, 2 * words.shape[1] + 2, 2, dtype=np.uint64) * _ODD
    with np.errstate(over="ignore"):
        hashed = words @ mix[:-1] + counts.astype(np.uint64) * mix[-1]
    cls, rep, order, starts = _runs(hashed)
    first = rep[cls]
    checked = np.array_equal(counts, counts[first]) and all(
        np.array_equal(words[at : at + _CHECK], words[first[at : at + _CHECK]])
        for at in range(0, len(words), _CHECK)  # a few MB at a time: half the time of all at once
    )
    if checked:
        return cls, rep, order, starts
    rows = np.ascontiguousarray(np.column_stack((words, counts.astype(np.uint64))))
    _, code = np.unique(rows.view(np.dtype((np.void, rows.shape[1] * 8))), return_inverse=True)
    return _runs(code.reshape(-1))


def _runs(key: np.ndarray):
    """_classes's four arrays for rows whose class is their key."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    cls = np.empty(len(order), dtype=np.int64)
    cls[order] = np.cumsum(new) - 1
    starts = np.append(np.flatnonzero(new), len(order))
    return cls, order[starts[:-1]], order, starts


_ODD = np.uint64(0x9E3779B97F4A7C15)
_CHECK = 8192  # rows compared with their class's first at a time


def _components(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Each of n rows' component under the edges first-second, as its smallest row. In numpy,
    all edges at a time: each root with an edge to another hooks onto the smallest such
    root, then pointer jumping (parent = parent[parent]) until every row points at its root;
    again with the edges whose ends still differ, until none do (two rounds at 10x)."""
    parent = np.arange(n)
    while len(first):
        a, b = parent[first], parent[second]  # roots: every row points at its root
        apart = a != b
        first, second, a, b = first[apart], second[apart], a[apart], b[apart]
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))
        while True:  # each row to its root (pointers only go down: no cycle)
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent
