"""Doc values: each segment's facet codes, date keys and near-duplicate signatures as arrays.

    a segment's documents: their facet columns (schema.FACETS), date and minhash signature
        --Builder.add, document by document (the bulk writer: the values it writes), or
        from_columns (Whoosh's writer and merges: the columns written)--> SegmentValues
        --write--> MAIN_<segment id>.docvalues, before the table of contents names it
    a searcher's segments --segment_values(reader)--> each one's SegmentValues: its file,
        memory-mapped, or (no usable file) its columns, read document by document
    --> FacetTable (searching/facets.py) and the signatures of DuplicateTable
        (searching/duplicates.py), assembled across segments with numpy

What Lucene calls doc values. Reading the same values through Whoosh's column readers when
a searcher opens walked every document of every column in Python: 2.8 s per serving worker
at 10x the White House corpus (143,960 releases).

A facet's values in a segment: its distinct values (labels, sorted, "" among them when a
document has none) and a code per document (single-valued), or for a multi-valued facet
each document's run of codes (CSR: offsets, document count + 1, then the codes; a document
without a value has a run of one, the code of ""). The date: a float64 key per document,
microseconds since 1970 (date_key), NaN for an undated one. The signatures: a present
flag per document and the rows of those present (minhash.SIGNATURE_BYTES bytes each).

The file is numpy .npy arrays one after another (as forward.py's): a header (FORMAT, the
segment's document count, SIGNATURE_BYTES, the number of facets), the facets' names
(UTF-8, "name" or "name*" for a multi-valued one, joined by newlines), then per facet, in
FACETS' order: the end of each label in the next array (int64), the labels' UTF-8 bytes
one after another, the offsets (int64; empty for a single-valued facet) and the codes
(int32); then the date keys (float64), the present flags (uint8) and the signatures
(uint8, rows one after another). Every document of the segment has its values, deleted
ones too, so a segment's document number is the row.

Whoosh names a segment's files ``MAIN_<id>.<ext>``: its clean-up removes this one with its
segment, and the checksums (integrity.py, checksums.json) list it. A segment written by
an older version has none; a file of another FORMAT, another list of facets, another
document count or signature size, or one that cannot be read counts as none: that segment
(only) is read from its columns, with the same values.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from searchsvc.indexing.forward import read_vector_header, write_vectors
from searchsvc.indexing.segments import column_values, reader_folder
from searchsvc.minhash import SIGNATURE_BYTES
from searchsvc.schema import FACETS, split_values

EXT = ".docvalues"
FORMAT = 1
SIGNATURE_FIELD = "minhash"  # the schema's column of near-duplicate signatures
DATE_FIELD = "date"
DATED_BY = "year"  # a document without a year has no date: its date column holds a filler
_LAYOUT = "\n".join(f.name + ("*" if f.multi_valued else "") for f in FACETS)
_EPOCH = datetime(1970, 1, 1)


def date_key(d: datetime) -> float:
    """A date as a date key: microseconds since 1970 (exact for every date a release can
    carry, and sortable)."""
    return (d - _EPOCH) / timedelta(microseconds=1)


def key_date(key: float) -> datetime:
    """The date of a date key (exact for whole seconds, and for any date near 1970)."""
    return _EPOCH + timedelta(microseconds=key)


@dataclass
class FacetCodes:
    """One facet's values in a segment: its labels and each document's code(s)."""

    labels: list[str]  # distinct values, sorted; "" (no value) among them if any
    codes: np.ndarray  # int32 indexes into labels: one per document, or each run's
    offsets: np.ndarray | None = None  # multi-valued: document k's run is offsets[k:k + 2]

    def rows(self) -> np.ndarray:
        """The document (row) of each code, as int64."""
        if self.offsets is None:
            return np.arange(len(self.codes), dtype=np.int64)
        runs = np.diff(self.offsets)
        return np.repeat(np.arange(len(runs), dtype=np.int64), runs)


@dataclass
class SegmentValues:
    """A segment's doc values (those asked for: the others are left empty)."""

    count: int
    facets: dict[str, FacetCodes] = field(default_factory=dict)
    date_keys: np.ndarray | None = None  # float64 per document, NaN: undated
    present: np.ndarray | None = None  # bool per document: has a signature
    signatures: np.ndarray | None = None  # uint8 (present documents, SIGNATURE_BYTES)


# -- encoding, document by document -----------------------------------------------------------


class _FacetEncoder:
    """A facet's codes as raw column values come (provisional ids, sorted at the end)."""

    def __init__(self, convert: Callable | None, multi: bool) -> None:
        self.convert, self.multi = convert, multi
        self.known: dict = {}  # raw column value -> its provisional id(s)
        self.ids: dict[str, int] = {}  # label -> provisional id
        self.codes: list[int] = []
        self.runs: list[int] = []

    def add(self, raw) -> None:
        got = self.known.get(raw)
        if got is None:
            got = self.known[raw] = self._encode(raw)
        if self.multi:
            self.codes.extend(got)
            self.runs.append(len(got))
        else:
            self.codes.append(got)

    def _encode(self, raw):
        # As FacetTable read columns before: the converted value, "" for none.
        value = (self.convert(raw) if raw is not None and self.convert else None) or ""
        if not self.multi:
            return self.ids.setdefault(value, len(self.ids))
        return tuple(self.ids.setdefault(v, len(self.ids)) for v in split_values(value) or [""])

    def finish(self) -> FacetCodes:
        labels = sorted(self.ids)
        remap = _ranks(self.ids, labels)  # provisional id -> code
        codes = remap[np.array(self.codes, dtype=np.int64)] if self.codes else remap[:0]
        if not self.multi:
            return FacetCodes(labels, codes.astype(np.int32))
        offsets = np.zeros(len(self.runs) + 1, dtype=np.int64)
        np.cumsum(np.array(self.runs, dtype=np.int64), out=offsets[1:])
        return FacetCodes(labels, codes.astype(np.int32), offsets)


def _ranks(ids: Mapping[str, int], labels: list[str]) -> np.ndarray:
    """Each provisional id's place among the sorted labels."""
    rank = {label: k for k, label in enumerate(labels)}
    return np.fromiter((rank[label] for label in ids), np.int32, len(labels))


class Builder:
    """A segment's doc values as documents are added (in document-number order)."""

    def __init__(self, schema) -> None:
        self.facets = {
            f.name: _FacetEncoder(_converter(schema, f.name), f.multi_valued) for f in FACETS
        }
        self._date = _converter(schema, DATE_FIELD)
        self._dated: dict = {}  # a raw date column value -> its key
        self.keys: list[float] = []
        self.present: list[bool] = []
        self.rows: list[bytes] = []

    def add(self, columns: Mapping[str, object]) -> None:
        """Add the next document: its raw column values by field (as Whoosh writes them;
        a field it lacks: none)."""
        for name, encoder in self.facets.items():
            encoder.add(columns.get(name))
        year = self.facets[DATED_BY]
        self.add_date(columns.get(DATE_FIELD), year.codes[-1] != year.ids.get(""))
        self.add_signature(columns.get(SIGNATURE_FIELD))

    def add_date(self, raw, dated: bool) -> None:
        """The next document's date, from its raw column value (dated: it has a year)."""
        key = np.nan
        if dated and raw is not None and self._date is not None:
            known = self._dated.get(raw)
            key = self._dated[raw] = date_key(self._date(raw)) if known is None else known
        self.keys.append(key)

    def add_signature(self, raw) -> None:
        """The next document's signature, from its raw column value (or none)."""
        ok = isinstance(raw, bytes) and len(raw) == SIGNATURE_BYTES
        self.present.append(ok)
        if ok:
            self.rows.append(raw)

    def finish(self) -> SegmentValues:
        """The segment's values."""
        facets = {name: encoder.finish() for name, encoder in self.facets.items()}
        return SegmentValues(
            len(self.keys),
            facets,
            np.array(self.keys, dtype=np.float64),
            np.array(self.present, dtype=bool),
            np.frombuffer(b"".join(self.rows), dtype=np.uint8).reshape(-1, SIGNATURE_BYTES),
        )

    def write(self, folder: str | Path, segment_id: str) -> Path:
        """Write the file of segment_id into folder (before a table of contents names it)."""
        return write(self.finish(), folder, segment_id)


def _converter(schema, name: str) -> Callable | None:
    return schema[name].from_column_value if name in schema else None


def from_columns(leaf, facets: bool = True, signatures: bool = True) -> SegmentValues:
    """A segment's values read from its Whoosh columns (those asked for), document by
    document: a segment written without its file, and the files of Whoosh's writer."""
    count = leaf.doc_count_all()
    out = SegmentValues(count)
    builder = Builder(leaf.schema)
    if facets:
        for name, encoder in builder.facets.items():
            for raw in _raw_column(leaf, name, count):
                encoder.add(raw)
            out.facets[name] = encoder.finish()
        year = out.facets[DATED_BY]
        has_year = np.array([bool(label) for label in year.labels], dtype=bool)
        dated = has_year[year.codes].tolist() if len(year.labels) else [False] * count
        for raw, is_dated in zip(_raw_column(leaf, DATE_FIELD, count), dated, strict=True):
            builder.add_date(raw, is_dated)
        out.date_keys = np.array(builder.keys, dtype=np.float64)
    if signatures:
        for raw in _raw_column(leaf, SIGNATURE_FIELD, count):
            builder.add_signature(raw)
        part = builder.finish()
        out.present, out.signatures = part.present, part.signatures
    return out


def _raw_column(leaf, name: str, count: int) -> Iterable:
    """Every document's raw column value; None for each when the segment has no column
    (written before any document had the field, or before the field existed)."""
    # Whoosh's has_column raises KeyError for a field the schema lacks.
    if name not in leaf.schema or not leaf.has_column(name):
        return [None] * count
    return column_values(leaf, name)


# -- the file ------------------------------------------------------------------------------------


def write(values: SegmentValues, folder: str | Path, segment_id: str) -> Path:
    """Write a segment's values (all of them) as its file in folder."""
    assert values.date_keys is not None and values.present is not None
    assert values.signatures is not None
    header = np.array([FORMAT, values.count, SIGNATURE_BYTES, len(FACETS)], dtype=np.int64)
    arrays = [header, _utf8(_LAYOUT)]
    for facet in FACETS:
        codes = values.facets[facet.name]
        encoded = [label.encode("utf-8") for label in codes.labels]
        ends = np.cumsum(np.array([len(b) for b in encoded], dtype=np.int64))
        offsets = np.zeros(0, dtype=np.int64) if codes.offsets is None else codes.offsets
        arrays += [ends, np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets, codes.codes]
    arrays += [values.date_keys, values.present.astype(np.uint8), values.signatures.reshape(-1)]
    return write_vectors(folder, segment_id, EXT, arrays)


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def read(
    path: Path, count: int, facets: bool = True, signatures: bool = True
) -> SegmentValues | None:
    """A segment's values from its file (those asked for), or None if it has no usable one."""
    with contextlib.suppress(OSError, ValueError):
        arrays = _arrays(path)
        return _parsed(arrays, count, facets, signatures)
    return None


def _arrays(path: Path) -> list[np.ndarray]:
    """Every array of the file, each a read-only view of one memory map of it."""
    spans = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        while f.tell() < size:
            length, dtype = read_vector_header(f, f"{path.name}: doc values")
            spans.append((f.tell(), length, dtype))
            f.seek(length * dtype.itemsize, os.SEEK_CUR)
        if f.tell() != size:
            raise ValueError(f"{path.name}: cut short")
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    return [np.frombuffer(mapped, dtype, length, start) for start, length, dtype in spans]


def _parsed(arrays, count: int, facets: bool, signatures: bool) -> SegmentValues | None:
    expected = 2 + 4 * len(FACETS) + 3
    if len(arrays) != expected or arrays[0].tolist() != [
        FORMAT,
        count,
        SIGNATURE_BYTES,
        len(FACETS),
    ]:
        return None
    if arrays[1].tobytes().decode("utf-8") != _LAYOUT:
        return None
    keys, present, rows = arrays[-3:]
    if len(keys) != count or len(present) != count:
        return None
    out = SegmentValues(count)
    if facets:
        for k, facet in enumerate(FACETS):
            ends, blob, offsets, codes_of = arrays[2 + 4 * k : 6 + 4 * k]
            codes = _facet(ends, blob, offsets, codes_of, count, facet.multi_valued)
            if codes is None:
                return None
            out.facets[facet.name] = codes
        out.date_keys = keys
    if signatures:
        out.present = present.view(bool)
        held = int(np.count_nonzero(present))
        if len(rows) != held * SIGNATURE_BYTES:
            return None
        out.signatures = rows.reshape(held, SIGNATURE_BYTES)
    return out


def _facet(ends, blob, offsets, codes, count: int, multi: bool) -> FacetCodes | None:
    if (len(ends) and ends[-1] != len(blob)) or (len(codes) and codes.max() >= len(ends)):
        return None
    if multi:
        if len(offsets) != count + 1 or offsets[0] != 0 or offsets[-1] != len(codes):
            return None
    elif len(offsets) or len(codes) != count:
        return None
    data = blob.tobytes()
    starts = [0, *ends[:-1].tolist()]
    labels = [data[a:b].decode("utf-8") for a, b in zip(starts, ends.tolist(), strict=True)]
    return FacetCodes(labels, codes, offsets if multi else None)


# -- a searcher's segments ------------------------------------------------------------------------


def segment_values(
    reader, facets: bool = True, signatures: bool = True, files: bool = True
) -> list[tuple[int, SegmentValues]]:
    """Each segment of a reader with documents: its first document number and its values
    (those asked for), from its file or, without a usable one (or files=False), its columns."""
    folder = reader_folder(reader) if files else None
    out = []
    for leaf, base in reader.leaf_readers():
        count = leaf.doc_count_all()
        if not count:
            continue
        values = None
        if folder is not None:
            name = f"{leaf.segment().segment_id()}{EXT}"
            values = read(folder / name, count, facets, signatures)
        if values is None:
            values = from_columns(leaf, facets, signatures)
        out.append((base, values))
    return out


def live_mask(reader) -> np.ndarray:
    """Which documents of a reader are not deleted (a boolean array by document number)."""
    mask = np.ones(reader.doc_count_all(), dtype=bool)
    for leaf, base in reader.leaf_readers():
        if leaf.doc_count_all() and leaf.has_deletions():
            gone = np.fromiter(_deleted(leaf), np.int64)
            mask[base + gone] = False
    return mask


def _deleted(leaf) -> Iterable[int]:
    segment = getattr(leaf, "segment", None)
    if segment is not None and hasattr(segment(), "deleted_docs"):
        return segment().deleted_docs()
    return (n for n in range(leaf.doc_count_all()) if leaf.is_deleted(n))
