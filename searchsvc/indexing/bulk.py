"""Writing a Whoosh segment in bulk, from arrays: the fast writing side of a large build.

    documents --add_document--> stored fields, lengths and columns (Whoosh's own per-document
        writer, one call per field); each indexed field's words --term ids--> arrays
    finish --per field: one stable numpy sort by term, then by document-->
        postings in blocks of 128, written in Whoosh's W3 format --> the terms file
        --> one compound segment file, committed by the parent like any other segment
        (a segment that reaches MAX_SEGMENT_TOKENS is finished and another begun)

Whoosh's SegmentWriter pushes every posting through a Python sort pool, merges it back one
posting at a time and asks the per-document reader for its length: most of a build's time
(see bench/README.md). Here a document is analysed once: each word of its texts maps,
through a dict kept for the segment (the lexicon, shared by every field), to a word id, and
each word id to a term id of each field's term function (the term from
analysis.term_function: the tokenizer's own definition); the postings are grouped with
numpy. At the end, a stable argsort by term rank orders each field's postings by (term,
document); block statistics come from numpy reductions; a posting's positions are encoded
for the whole field at once (encode_positions: the bytes W3's Positions format pickles,
made by array arithmetic, a row of five bytes per piece). Python then runs once per block
and once per term: pickle the block, compress it, add the term's info to the terms file. A
word's first time in a segment costs its terms (stemmed and folded); a document's words
are found and looked up once, shared by fields whose text contains another's (the exact
field is the title, a newline and the body).

This module holds the writer and the segment's other files; indexing/collect.py collects
a field's postings and groups them into a Table; indexing/w3blocks.py writes a Table as
W3's postings and terms.

What Whoosh reads is unchanged: the same terms, postings (ids, weights, values), block
size, block headers, term infos, lengths, stored fields and columns. Three choices differ
in bytes but not in what is read: a block's (ids, weights, values) is pickled with protocol
4 (DATA_PROTOCOL), not W3's 2, which pickles each posting's bytes as a call that decodes
them from text: the same objects unpickled, in an eighth of the time and three fifths of
the bytes deflated. A block whose pickle is short (MIN_COMPRESSED) is stored
uncompressed, its header saying so, as W3 allows: deflating costs ~13 us a block, and half
a segment's blocks hold a term of one or two documents. The others are deflated by ISA-L
(isal, the reading side's inflater too) at its level DEFLATE_LEVEL, not by zlib at W3's:
a zlib stream all the same (zlib.decompress reads it), made in a third of the time, about
7% longer (bench/README.md); so a term's postings start elsewhere in the file.

A field analysed by another analyzer (ID, DATETIME, any field another helper adds) goes
through Whoosh's own field.index(value), once per document, and is grouped the same way.
A schema with term vectors or separate spelling fields is not supported (supports()).
Columns and stored values go through Whoosh's per-document writer, so any column the
schema declares is written as SegmentWriter writes it.
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

import numpy as np
from isal import isal_zlib
from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import UnknownFieldError
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length

from searchsvc import analysis
from searchsvc.indexing import docvalues, forward, postfile
from searchsvc.indexing.collect import DocumentWords, Lexicon, Postings, Terms, Words
from searchsvc.indexing.w3blocks import add_terms, write_postings

# (module.class, attribute): what this module reads that Whoosh does not publish; see
# tests/test_whoosh_adapters.py (and w3blocks.PRIVATE_NAMES: the postings and terms files).
PRIVATE_NAMES = (
    # The stored fields' column writer, whose deflater _deflate_stored_by_isal sets.
    ("whoosh.codec.whoosh3.W3PerDocWriter", "_colwriters"),
    ("whoosh.columns.WrappedColumnWriter", "_child"),
    ("whoosh.columns.CompressedBytesColumn.Writer", "_compress"),
    ("whoosh.columns.CompressedBytesColumn.Writer", "_level"),
)

# ISA-L's level for a document's stored fields (Whoosh's column deflates them with zlib at
# level 3): on 2,000 White House releases' pickles, 34 against 125 us a document, 2,356
# against 2,368 bytes, and inflated in half the time.
STORED_LEVEL = 3
# A field's length is kept as a byte (length_to_byte): the lengths each byte stands for.
_BYTE_CUTS = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


def supports(schema) -> bool:
    """Whether the bulk writer can write every field of schema as SegmentWriter does."""
    return not any(
        schema[name].vector or schema[name].separate_spelling() for name in schema.names()
    )


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """length_to_byte of each length, at once (its bisection over the same table)."""
    return np.where(
        lengths >= 106374, 255, np.searchsorted(_BYTE_CUTS, lengths, side="left")
    ).astype(np.int64)


# Tokens (of all fields) a segment holds in memory before it is written and another begun:
# its arrays and their sorts stay under about 0.5 GB. A worker's half of the White House
# corpus (7,200 releases, 21 million tokens) is one segment; ten times that, seven.
MAX_SEGMENT_TOKENS = 24_000_000


class BulkSegmentWriter:
    """New segments of ix, written in bulk: add_document(**fields) as Whoosh's writers take
    it, then finish() for the segments to commit (one, unless it held more than
    max_tokens; none if nothing was added)."""

    def __init__(
        self, ix, codec: W3Codec | None = None, max_tokens: int = MAX_SEGMENT_TOKENS
    ) -> None:
        self.codec = codec or W3Codec()
        self.ix, self.storage, self.schema = ix, ix.storage, ix.schema
        if not supports(self.schema):
            raise ValueError("the bulk writer writes no term vectors or spelling fields")
        self.max_tokens = max_tokens
        self.written: list = []  # segments finished because they were full
        self._begin()

    def _begin(self) -> None:
        self.segment = self.codec.new_segment(self.storage, self.ix.indexname)
        self.perdoc: Any = None  # Whoosh's per-document writer, opened by the first document
        self.docnum = 0
        self.tokens = 0
        self.fields: dict[str, Postings] = {}
        self.lexicon = Lexicon()  # the segment's words, numbered once for every field
        self.forward = forward.Builder()  # the openings of its documents (forward.py)
        self.docvalues = docvalues.Builder(self.schema)  # facet codes, dates, signatures

    def add_document(self, **fields) -> None:
        """Add one document: fields as SegmentWriter.add_document takes them."""
        names = sorted(name for name in fields if not name.startswith("_"))
        for name in names:
            if name not in self.schema:
                raise UnknownFieldError(f"No field named {name!r} in {self.schema}")
        # Everything that may fail first (analysis, column values), so that a document
        # that fails leaves nothing behind: Whoosh's cancel_doc() keeps its lengths.
        rows = []
        words = DocumentWords(self.lexicon)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = self.schema[name]
                postings = self._postings(name, field) if field.indexed else None
                length = postings.add(self.docnum, value, words) if postings else 0
                self.tokens += length
                custom = fields.get(f"_stored_{name}", value)
                columned = bool(field.column_type) and custom is not None
                column = field.to_column_value(custom) if columned else None
                stored = custom if field.stored else None
                rows.append((name, field, stored, length, columned, column))
        except Exception:
            for postings in self.fields.values():
                postings.discard(self.docnum)
            raise
        if self.perdoc is None:
            self.perdoc = self.codec.per_document_writer(self.storage, self.segment)
            _deflate_stored_by_isal(self.perdoc)
        perdoc = self.perdoc
        perdoc.start_doc(self.docnum)
        for name, field, stored, length, columned, column in rows:
            perdoc.add_field(name, field, stored, length)
            if columned:
                perdoc.add_column_value(name, field.column_type, column)
        perdoc.finish_doc()
        self.forward.add(fields.get("title"), fields.get("body"))
        self.docvalues.add({row[0]: row[5] for row in rows if row[4]})
        self.docnum += 1
        if self.tokens >= self.max_tokens:
            self.written.append(self._finish_segment())
            self._begin()

    def _postings(self, name: str, field) -> Postings:
        postings = self.fields.get(name)
        if postings is None:
            terms = analysis.term_function(field.analyzer)
            kind = type(field.format)
            if terms is not None and kind in (formats.Positions, formats.Frequency):
                postings = Words(field, self.lexicon.terms(terms))
            else:
                postings = Terms(field)
            self.fields[name] = postings
        return postings

    def finish(self) -> list:
        """Write the last segment's files; the segments to commit (none if all are empty)."""
        last = self._finish_segment() if self.perdoc is not None else None
        return self.written + ([last] if last is not None else [])

    def _finish_segment(self):
        self.perdoc.close()  # stored fields, lengths and columns
        if not self.docnum:
            self._remove_files()
            return None
        lengths = self._length_bytes()
        terms_file = self.segment.create_file(self.storage, W3Codec.TERMS_EXT)
        posts = self.segment.create_file(self.storage, W3Codec.POSTS_EXT)
        tindex = OrderedHashWriter(terms_file)
        fieldmap: dict[str, int] = {}
        tindex.extras["fieldmap"] = fieldmap
        postings = postfile.Builder(self.docnum)  # the query path's arrays (postfile.py)
        try:
            for name in sorted(self.fields):
                table = self.fields[name].table(self.docnum)
                if table is None:
                    continue
                fieldmap[name] = len(fieldmap)
                prefix = pack_ushort(fieldmap[name])
                fmt = self.schema[name].format
                doc_lengths = lengths.get(name)
                infos = write_postings(posts, table, fmt, doc_lengths)
                add_terms(tindex, [prefix + key for key in table.keys], infos)
                if name in postfile.FIELDS:
                    postings.add_field(
                        name, table.keys, table.starts, table.docs, table.weights, table.positions
                    )
        finally:
            tindex.close()
            posts.close()
        self.segment.set_doc_count(self.docnum)
        self.segment.create_compound_file(self.storage)
        # Beside the compound file, not in it: read as an array of its own (memory-mapped).
        self.forward.write(self.storage.folder, self.segment.segment_id())
        self.docvalues.write(self.storage.folder, self.segment.segment_id())
        postings.write(self.storage.folder, self.segment.segment_id())
        return self.segment

    def _length_bytes(self) -> dict[str, np.ndarray]:
        """Each scorable field's length byte per document, as the length column holds it."""
        out = {}
        for name, postings in self.fields.items():
            if self.schema[name].scorable:
                out[name] = length_bytes(postings.lengths(self.docnum))
        return out

    def cancel(self) -> None:
        """Remove whatever files the segments have written."""
        if self.perdoc is not None and not self.perdoc.is_closed:
            self.perdoc.close()
        for segment in [*self.written, self.segment]:
            self._remove_files(segment)
        self.written = []

    def _remove_files(self, segment=None) -> None:
        for name in (segment or self.segment).list_files(self.storage):
            with contextlib.suppress(OSError):
                self.storage.delete_file(name)


def _deflate_stored_by_isal(perdoc) -> None:
    """Have W3's per-document writer deflate stored fields with ISA-L at STORED_LEVEL: a
    zlib stream all the same, which Whoosh's reader (zlib.decompress) and ours read."""
    stored = getattr(perdoc, "_colwriters", {}).get("_stored")
    deflater: Any = getattr(stored, "_child", None)
    if getattr(deflater, "_compress", None) is zlib.compress:
        deflater._compress = isal_zlib.compress  # called as _compress(value, level)
        deflater._level = STORED_LEVEL
