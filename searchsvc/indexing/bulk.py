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
import pickle
import struct
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from isal import isal_zlib
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.fields import UnknownFieldError
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchsvc import analysis
from searchsvc.indexing import docvalues, forward, postfile

# (module.class, attribute): what this module reads that Whoosh does not publish; see
# tests/test_whoosh_adapters.py. The file format itself is W3's: the test of old against
# new (tests/test_bulk.py) fails if a Whoosh upgrade changes it.
PRIVATE_NAMES = (
    ("whoosh.codec.whoosh3.W3Codec", "_blocklimit"),
    ("whoosh.codec.whoosh3.W3Codec", "_compression"),
    ("whoosh.codec.whoosh3.W3TermInfo", "_struct"),  # its layout, which _TERM_INFO repeats
    # The terms file's writer, whose records _add_terms writes many at a time.
    ("whoosh.filedb.filetables.HashWriter", "dbfile"),
    ("whoosh.filedb.filetables.HashWriter", "hashfn"),
    ("whoosh.filedb.filetables.HashWriter", "buckets"),
    ("whoosh.filedb.filetables.OrderedHashWriter", "index"),
    ("whoosh.filedb.filetables.OrderedHashWriter", "lastkey"),
    # The stored fields' column writer, whose deflater _deflate_stored_by_isal sets.
    ("whoosh.codec.whoosh3.W3PerDocWriter", "_colwriters"),
    ("whoosh.columns.WrappedColumnWriter", "_child"),
    ("whoosh.columns.CompressedBytesColumn.Writer", "_compress"),
    ("whoosh.columns.CompressedBytesColumn.Writer", "_level"),
)

BLOCK = W3Codec()._blocklimit  # postings per block, as W3's postings writer cuts them
COMPRESSION = W3Codec()._compression  # zlib level of a block's pickle, as W3 writes it
# Bytes of pickle below which a block is stored as it is: half the blocks of a segment are
# under 100 bytes (a term in one or two documents), and deflating them saves little.
MIN_COMPRESSED = 256
# The pickle protocol of a block's data. W3 pickles it with protocol 2, where a bytes object
# (each posting's Positions value) is pickled as a call of codecs.encode on its latin-1 text:
# read back, the same (ids, weights, values). Protocol 4 pickles bytes as bytes: on a block of
# 128 postings of a White House release, 7.5 against 60 us, and 1.7 against 3.0 KB deflated.
# A reader unpickles either (pickle.loads reads every protocol).
DATA_PROTOCOL = 4
# ISA-L's level for a document's stored fields (Whoosh's column deflates them with zlib at
# level 3): on 2,000 White House releases' pickles, 34 against 125 us a document, 2,356
# against 2,368 bytes, and inflated in half the time.
STORED_LEVEL = 3
# ISA-L's level for a block: on the blocks of 2,000 White House releases, 0.32 s against
# 0.94 s for zlib at W3's level 3, and 21.3 MB against 19.9 MB (its level 3: 0.41 s, 21.1 MB).
DEFLATE_LEVEL = 1
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
        self.fields: dict[str, _Postings] = {}
        self.lexicon = _Lexicon()  # the segment's words, numbered once for every field
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
        words = _DocumentWords(self.lexicon)
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

    def _postings(self, name: str, field) -> _Postings:
        postings = self.fields.get(name)
        if postings is None:
            terms = analysis.term_function(field.analyzer)
            kind = type(field.format)
            if terms is not None and kind in (formats.Positions, formats.Frequency):
                postings = _Words(field, self.lexicon.terms(terms))
            else:
                postings = _Terms(field)
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
                infos = _write_postings(posts, table, fmt, doc_lengths)
                _add_terms(tindex, [prefix + key for key in table.keys], infos)
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


# -- one field's postings, as documents add them ---------------------------------------------


class _Table:
    """A field's postings ordered by (term, document): what the postings file holds."""

    def __init__(self, keys: list[bytes], starts: np.ndarray, docs: np.ndarray) -> None:
        self.keys = keys  # each term's bytes, ascending
        self.starts = starts  # where each term's postings begin; one more at the end
        self.docs = docs  # document numbers
        self.weights: np.ndarray = np.zeros(0)  # float64, as given
        # The values: None (the format stores none), fixed-size bytes back to back, or
        # variable-size bytes with where each posting's begin (one more at the end).
        self.fixed: bytes | None = None
        self.blob: bytes | None = None
        self.offsets: np.ndarray | None = None
        # Each posting's positions (int32), posting after posting: the posting file's.
        self.positions: np.ndarray | None = None


class _Postings:
    """A field's postings, collected a document at a time."""

    def add(self, docnum: int, value, words: _DocumentWords) -> int:
        """Analyse value as the document's field; its length (tokens counted)."""
        raise NotImplementedError

    def discard(self, docnum: int) -> None:
        """Forget what add() kept of document docnum (a document that failed)."""
        raise NotImplementedError

    def lengths(self, doccount: int) -> np.ndarray:
        """Each document's length in this field (0 where it has none)."""
        raise NotImplementedError

    def table(self, doccount: int) -> _Table | None:
        """The postings ordered by term and document, or None if there are none."""
        raise NotImplementedError


class _Words(_Postings):
    """A field our word tokenizer analyses (Positions or Frequency): words to term ids.

    A document costs its texts' word ids (the lexicon's, looked up once a text for every
    field: _DocumentWords), a count of those without a term, and an append to one array;
    the word ids become this field's term ids, and the postings are grouped, once for the
    whole segment, by table().
    """

    def __init__(self, field, terms: _TermIds) -> None:
        self.terms = terms
        self.positions = type(field.format) is formats.Positions
        self.boost = float(field.format.field_boost)
        self.scorable = field.scorable
        self.docnums: list[int] = []
        self.doc_lengths: list[int] = []  # per document, its words with a term
        self.doc_words: list[int] = []  # ... and all its words
        self.ids = array("i")  # every word's id in the lexicon, document after document

    def add(self, docnum: int, value, words: _DocumentWords) -> int:
        seq = words(value)
        length = len(seq) - self.terms.without_term(seq)  # stop words: no term, no position
        if not length:
            return 0
        self.ids.extend(seq)
        self.docnums.append(docnum)
        self.doc_lengths.append(length)
        self.doc_words.append(len(seq))
        return length if self.scorable else 0

    def discard(self, docnum: int) -> None:
        if self.docnums and self.docnums[-1] == docnum:
            for kept in (self.docnums, self.doc_lengths):
                kept.pop()
            del self.ids[len(self.ids) - self.doc_words.pop() :]

    def lengths(self, doccount: int) -> np.ndarray:
        out = np.zeros(doccount, dtype=np.int64)
        out[self.docnums] = self.doc_lengths
        return out

    def table(self, doccount: int) -> _Table | None:
        if not self.docnums:
            return None
        names, rank = self.terms.ranked()
        tids = self.terms.of(np.frombuffer(self.ids, dtype=np.intc))
        lengths = np.array(self.doc_lengths, dtype=np.int64)
        docs = np.repeat(np.array(self.docnums, dtype=np.int32), lengths)
        if len(tids) > len(docs):
            tids = tids[tids >= 0]  # stop words: no term, no position
        count = len(tids)
        if count >= 1 << 31:
            raise ValueError(f"{count} tokens in one field of a segment")
        # One stable sort of every token by term: the tokens lie in (document, position)
        # order, so postings come by (term, document), positions ascending in each.
        key, order = _sort_by_term(rank[tids], len(names))
        docs = docs[order]
        change = np.empty(count, dtype=bool)
        change[0] = True
        np.not_equal(key[1:], key[:-1], out=change[1:])
        change[1:] |= docs[1:] != docs[:-1]
        first = np.flatnonzero(change)  # each posting's first token
        freqs = np.diff(first, append=count)
        term = key[first]
        used = np.flatnonzero(np.r_[True, term[1:] != term[:-1]])
        table = _Table(
            [names[k].encode("utf-8") for k in term[used].tolist()],
            np.r_[used, len(term)],
            docs[first].astype(np.int64),
        )
        table.weights = freqs * self.boost
        if self.positions:
            # Each token's position in its document, in the sorted order: posting after
            # posting, ascending within each.
            starts = (np.cumsum(lengths) - lengths).astype(np.int32)
            positions = np.arange(count, dtype=np.int32)
            positions -= np.repeat(starts, lengths)
            table.positions = positions[order]
            del positions, order, key
            table.blob, offsets = _encode_in_chunks(table.positions, freqs)
            table.offsets = offsets
        else:
            table.fixed = freqs.astype(">u4").tobytes()  # Frequency's pack_uint(freq)
        return table


class _Lexicon:
    """A segment's words, each numbered once for all its fields (word -> word id), and the
    terms of each term function the fields use (_TermIds: word id -> term id).

    The exact field holds the title and the body again, and the stemmed fields the same
    words: a word is looked up once a text, and a word new to the segment is given its
    term by every term function at once (stemmed and folded).
    """

    def __init__(self) -> None:
        self.word_ids = analysis.WordIds(self._new_word)  # in word id order, as inserted
        self.functions: dict[Callable[[str], str | None], _TermIds] = {}

    def of(self, words: list[str]) -> tuple[int, ...]:
        """Each word's id, in order."""
        return self.word_ids.of(words)

    def terms(self, term_of: Callable[[str], str | None]) -> _TermIds:
        """The terms term_of gives the lexicon's words, kept as words are added."""
        found = self.functions.get(term_of)
        if found is None:
            found = _TermIds(term_of)
            for term in map(term_of, self.word_ids):
                found.append(term)
            self.functions[term_of] = found
        return found

    def _new_word(self, word: str) -> int:
        # Every function's term first: one that fails (the document fails) leaves the
        # lexicon as it was, each function's ids still one a word.
        terms = [(found, found.term_of(word)) for found in self.functions.values()]
        for found, term in terms:
            found.append(term)
        return len(self.word_ids)  # the next id: the word is inserted on return


class _TermIds:
    """One term function's terms of a lexicon's words: word id -> term id (-1: none)."""

    def __init__(self, term_of: Callable[[str], str | None]) -> None:
        self.term_of = term_of
        self.vocab: dict[str, int] = {}  # term -> term id
        self.ids = array("i")  # word id -> term id, -1 for a word without a term
        self.none: list[int] = []  # word id -> 1 if it has no term, else 0
        self.nones = 0  # words without a term (none: nothing to count)
        self._ranked: tuple[list[str], np.ndarray] | None = None

    def append(self, term: str | None) -> None:
        """The next word id's term (None: the word has none)."""
        if term is None:
            self.ids.append(-1)
            self.none.append(1)
            self.nones += 1
        else:
            self.ids.append(self.vocab.setdefault(term, len(self.vocab)))
            self.none.append(0)
        self._ranked = None

    def without_term(self, seq: tuple[int, ...]) -> int:
        """How many of the word ids in seq have no term (stop words)."""
        if not self.nones or not seq:
            return 0
        if len(seq) > 1:
            return sum(itemgetter(*seq)(self.none))
        return self.none[seq[0]]

    def of(self, word_ids: np.ndarray) -> np.ndarray:
        """Each word id's term id (-1: none)."""
        return np.array(self.ids, dtype=np.intc)[word_ids]

    def ranked(self) -> tuple[list[str], np.ndarray]:
        """The terms in order (str order is UTF-8 byte order), and each term id's rank."""
        if self._ranked is None:
            names = sorted(self.vocab)
            rank = np.empty(len(names), dtype=np.int32)
            rank[[self.vocab[n] for n in names]] = np.arange(len(names), dtype=np.int32)
            self._ranked = names, rank
        return self._ranked


RADIX_TERMS = 1 << 16  # the most terms whose ranks fit in 16 bits


def _sort_by_term(key: np.ndarray, terms: int) -> tuple[np.ndarray, np.ndarray]:
    """The keys (term ranks, below terms) sorted stably, and the order that sorts them."""
    if terms <= RADIX_TERMS:
        # numpy's stable sort of 16-bit keys is a radix sort: 7x the sort below on 3
        # million tokens (a worker's segment of the White House corpus: 64,000 terms).
        small = key.astype(np.uint16)
        order = np.argsort(small, kind="stable")
        return small[order], order
    # Each key with its index below it: one sort of distinct 64-bit integers is stable.
    key = key.astype(np.int64)
    key <<= 32
    key |= np.arange(len(key), dtype=np.int64)
    key.sort()
    order = key & 0xFFFFFFFF
    key >>= 32
    return key, order


class _DocumentWords:
    """words(text): the lexicon's word ids of the texts of one document, each text split
    and looked up once.

    A text that is another one after a newline (the exact field: title, newline, body)
    splits only what comes before: no word spans a newline (analysis.WORD_RE), so the
    words of a + "\n" + b are the words of a, then those of b.
    """

    def __init__(self, lexicon: _Lexicon) -> None:
        self.lexicon = lexicon
        self.seen: dict[str, tuple[int, ...]] = {}

    def __call__(self, text: str) -> tuple[int, ...]:
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = self._ids(text)
        return found

    def _ids(self, text: str) -> tuple[int, ...]:
        for known, found in self.seen.items():
            n = len(known)
            if n and len(text) > n and text[-n - 1] == "\n" and text.endswith(known):
                return self(text[: -n - 1]) + found
        return self.lexicon.of(analysis.words(text))


class _Terms(_Postings):
    """Any other indexed field: Whoosh's field.index(value), once per document."""

    def __init__(self, field) -> None:
        self.field = field
        self.vocab: dict[bytes, int] = {}
        self.docnums: list[int] = []
        self.tids: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []
        self.doc_lengths: dict[int, int] = {}

    def add(self, docnum: int, value, words: _DocumentWords) -> int:
        length = 0
        vocab = self.vocab
        for tbytes, freq, weight, vbytes in self.field.index(value):
            self.docnums.append(docnum)
            self.tids.append(vocab.setdefault(tbytes, len(vocab)))
            self.weights.append(weight)
            self.values.append(vbytes or b"")
            if self.field.scorable:
                length += freq
        if length:
            self.doc_lengths[docnum] = length
        return length

    def discard(self, docnum: int) -> None:
        while self.docnums and self.docnums[-1] == docnum:
            for kept in (self.docnums, self.tids, self.weights, self.values):
                kept.pop()
        self.doc_lengths.pop(docnum, None)

    def lengths(self, doccount: int) -> np.ndarray:
        out = np.zeros(doccount, dtype=np.int64)
        out[list(self.doc_lengths)] = list(self.doc_lengths.values())
        return out

    def table(self, doccount: int) -> _Table | None:
        if not self.docnums:
            return None
        names = sorted(self.vocab)
        rank = np.empty(len(names), dtype=np.int64)
        rank[[self.vocab[n] for n in names]] = np.arange(len(names))
        key = rank[np.array(self.tids, dtype=np.int64)]
        # By term, then document (the documents were added in order), as Whoosh's pool sorts.
        order = np.argsort(key, kind="stable")
        key = key[order]
        used = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        table = _Table(
            [names[k] for k in key[used].tolist()],
            np.r_[used, len(key)],
            np.array(self.docnums, dtype=np.int64)[order],
        )
        table.weights = np.array(self.weights, dtype=np.float64)[order]
        values = [self.values[i] for i in order.tolist()]
        size = self.field.format.fixed_value_size()
        if size is None or size < 0:
            table.blob = b"".join(values)
            offsets = np.r_[0, np.cumsum([len(v) for v in values])].astype(np.int64)
            table.offsets = offsets
        elif size > 0:
            table.fixed = b"".join(values)
        return table


# -- positions as W3's Positions format encodes them, for a whole field at once ------------
#
# A posting's value is pack_uint(count) + pickle.dumps(gaps, 2): the count (4 bytes,
# big-endian), the pickle's start (PROTO 2, EMPTY_LIST, BINPUT 0), a MARK if it holds more
# than one gap, each gap as BININT1, BININT2 or BININT and its 1, 2 or 4 bytes
# (little-endian), then APPENDS (or APPEND for one gap) and STOP. Every piece fits a row of
# five bytes: the count and PROTO, the rest of the start and the MARK, a row per gap, the
# end. The rows are written column by column with numpy, in the order the bytes come, each
# with its length; the value bytes are the rows' first bytes up to their lengths.
_MARK, _APPENDS, _APPEND, _STOP = ord("("), ord("e"), ord("a"), ord(".")
_BININT1, _BININT2, _BININT = ord("K"), ord("M"), ord("J")
_PICKLE_BATCH = 1000  # the pickler's batch of appends: a longer list falls back to pickle
_ROW_BYTES = 5
_ROW = np.dtype({"names": ["op", "value"], "formats": ["u1", "<u4"], "itemsize": _ROW_BYTES})
_COUNT_ROW = np.dtype(
    {"names": ["count", "proto"], "formats": [">u4", "u1"], "itemsize": _ROW_BYTES}
)
_PROTO = 0x80  # then 2: pickle's protocol, the first byte of the next row
_START = int.from_bytes(bytes([0x5D, 0x71, 0x00, _MARK]), "little")  # ] q 0 (: after the 2
_OPCODE = np.array([0, 0, _BININT1, _BININT2, 0, _BININT], dtype=np.uint8)  # by a row's length
# Each length's row mask (its first `length` bytes), as one 5-byte item to gather.
_KEPT = (
    (np.arange(_ROW_BYTES) < np.arange(_ROW_BYTES + 1)[:, None]).astype(np.uint8).view("V5")[:, 0]
)


def encode_positions(pos: np.ndarray, counts: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Each posting's value as formats.Positions.encode gives it, back to back.

    pos holds every posting's positions (ascending within each), posting after posting;
    counts how many each has. Returns the bytes and the n + 1 offsets of the postings.
    """
    n = len(counts)
    counts = counts.astype(np.int64)
    run = np.cumsum(counts) - counts  # where each posting's positions begin in pos
    posting = np.repeat(np.arange(n), counts)  # the posting of each position
    gaps = pos.copy()
    gaps[1:] -= pos[:-1]
    firsts = run[counts > 0]
    gaps[firsts] = pos[firsts]
    size = (gaps >= 256).view(np.int8) + np.int8(2)  # opcode and bytes: 2, 3 or 5
    wide = gaps >= 65536
    if wide.any():
        size[wide] = 5
    # Posting i's rows: its head in two (from head[i]), a row per gap, its end (tail[i]).
    head = run + 3 * np.arange(n)
    tail = head + counts + 2
    rows = np.zeros(len(pos) + 3 * n, dtype=_ROW)
    lengths = np.empty(len(rows), dtype=np.int8)
    first = rows.view(_COUNT_ROW)
    first["count"][head] = counts
    first["proto"][head] = _PROTO
    lengths[head] = 5
    rows["op"][head + 1] = 2
    rows["value"][head + 1] = _START
    lengths[head + 1] = 4 + (counts > 1)
    at = posting * 3 + 2
    at += np.arange(len(pos))
    rows["op"][at] = _OPCODE[size]
    rows["value"][at] = gaps
    lengths[at] = size
    rows["op"][tail] = np.where(counts > 1, _APPENDS, _APPEND)
    rows["value"][tail] = _STOP
    lengths[tail] = 2
    slow: dict[int, bytes] = {}
    for i in np.flatnonzero(counts > _PICKLE_BATCH).tolist():  # pickled in batches
        lengths[head[i] : tail[i] + 1] = 0
        slow[i] = _encode_slowly(pos[run[i] : run[i] + counts[i]])
    sizes = np.add.reduceat(lengths, head, dtype=np.int64) if n else np.zeros(0, np.int64)
    for i, value in slow.items():
        sizes[i] = len(value)
    kept = _KEPT[lengths].view(np.bool_)
    out = rows.view(np.uint8)[kept]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if not slow:
        return out.tobytes(), offsets
    parts: list[bytes] = []  # out lacks the slow ones: each put in at its offset
    done = shift = 0
    for i, value in slow.items():
        start = int(offsets[i]) - shift
        parts += (out[done:start].tobytes(), value)
        done, shift = start, shift + len(value)
    parts.append(out[done:].tobytes())
    return b"".join(parts), offsets


def _encode_in_chunks(
    pos: np.ndarray, counts: np.ndarray, chunk: int = 1 << 21
) -> tuple[bytes, np.ndarray]:
    """encode_positions over about chunk positions at a time: its temporaries stay small."""
    ends = np.cumsum(counts)
    blobs, offsets = [], [np.zeros(1, dtype=np.int64)]
    first, done, size = 0, 0, 0
    while first < len(counts):
        stop = max(first + 1, int(np.searchsorted(ends, done + chunk, side="right")))
        end = int(ends[stop - 1])
        blob, at = encode_positions(pos[done:end].astype(np.int64), counts[first:stop])
        blobs.append(blob)
        offsets.append(at[1:] + size)
        first, done, size = stop, end, size + len(blob)
    return b"".join(blobs), np.concatenate(offsets)


def _encode_slowly(positions: np.ndarray) -> bytes:
    return formats.Positions().encode(positions.tolist())


# -- blocks -------------------------------------------------------------------------------


def _compress(data: bytes) -> tuple[bytes, int]:
    """A block's pickle, deflated (and W3's level, for its header: a reader only asks
    whether it is 0), or as it is if short."""
    if len(data) < MIN_COMPRESSED or not COMPRESSION:
        return data, 0
    return isal_zlib.compress(data, DEFLATE_LEVEL), COMPRESSION


@dataclass
class _Blocks:
    """A field's postings cut into blocks, with each block's statistics (numpy reductions)."""

    bounds: np.ndarray  # block j holds postings bounds[j]:bounds[j + 1]
    first: np.ndarray  # each term's first block; one more at the end
    last_id: np.ndarray
    uniform: np.ndarray  # every weight of the block equal (as float32)
    max_weight: np.ndarray  # as given, at least 0 (as W3's postings writer keeps it)
    min_length: np.ndarray  # length bytes: the least non-zero (0 if none), and the greatest
    max_length: np.ndarray

    @classmethod
    def of(cls, table: _Table, w32: np.ndarray, doc_lengths: np.ndarray | None) -> _Blocks:
        """Cut each term's postings every BLOCK, as W3's postings writer does."""
        counts = np.diff(table.starts)
        per_term = (counts + BLOCK - 1) // BLOCK
        first = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(per_term, out=first[1:])
        term = np.repeat(np.arange(len(counts)), per_term)
        starts = table.starts[:-1][term] + (np.arange(len(term)) - first[:-1][term]) * BLOCK
        bounds = np.r_[starts, len(table.docs)]
        uniform = np.minimum.reduceat(w32, starts) == np.maximum.reduceat(w32, starts)
        max_weight = np.maximum(np.maximum.reduceat(table.weights, starts), 0.0)
        if doc_lengths is None:  # a field without lengths: W3 writes 0 for both
            min_length = max_length = np.zeros(len(starts), dtype=np.int64)
        else:
            lb = doc_lengths[table.docs]  # each posting's document's length byte
            max_length = np.maximum.reduceat(lb, starts)
            min_length = np.minimum.reduceat(np.where(lb > 0, lb, 256), starts)
            min_length[min_length == 256] = 0
        last_id = table.docs[bounds[1:] - 1]
        return cls(bounds, first, last_id, uniform, max_weight, min_length, max_length)


# A term's info in the terms file (W3TermInfo.to_bytes of a term whose postings are not
# inlined): flags, total weight, documents, length bytes, greatest weight, first and last
# document, then the offset and size of its postings (pack_long, pack_int).
_TERM_INFO = np.dtype(
    [
        ("flags", "u1"),
        ("weight", ">f4"),
        ("df", ">u4"),
        ("min_length", "u1"),
        ("max_length", "u1"),
        ("max_weight", ">f4"),
        ("min_id", ">u4"),
        ("max_id", ">u4"),
        ("offset", ">i8"),
        ("size", ">i4"),
    ]
)
assert _TERM_INFO.itemsize == W3TermInfo._struct.size + 12  # noqa: S101 - the layout is W3's
# length_to_byte(byte_to_length(b)): what a block's length byte becomes in its term's info.
_LENGTH_BYTE = np.array([length_to_byte(byte_to_length(b)) for b in range(256)], np.int64)


def _write_postings(postfile, table: _Table, fmt, doc_lengths: np.ndarray | None) -> list[bytes]:
    """Write a field's posting lists to postfile; each term's info (W3TermInfo's bytes)."""
    w32 = table.weights.astype(np.float32)  # W3 keeps weights in an array("f")
    blocks = _Blocks.of(table, w32, doc_lengths)
    data = _block_data(table, fmt, blocks, w32)  # each block's, as it is asked for
    heads = zip(
        np.diff(blocks.bounds).tolist(),
        blocks.last_id.tolist(),
        blocks.max_weight.tolist(),
        blocks.min_length.tolist(),
        blocks.max_length.tolist(),
        strict=True,
    )
    # Each term's bytes: the magic number, then per block its size (negative for the
    # term's last), its header (pickled as W3 does) and its data; written a few thousand
    # terms at a time.
    first = blocks.first.tolist()
    sizes = np.zeros(len(table.keys), dtype=np.int64)
    start = postfile.tell()
    pending: list[bytes] = []
    for t in range(len(table.keys)):
        chunks = [WHOOSH3_HEADER_MAGIC]
        last = first[t + 1] - 1
        for j in range(first[t], last + 1):
            block, comp = next(data)
            count, last_id, top, lo, hi = next(heads)
            head = pickle.dumps((count, last_id, top, comp, lo, hi), 2)
            size = len(head) + len(block)
            chunks += (pack_int(-size if j == last else size), head, block)
        term_bytes = b"".join(chunks)
        sizes[t] = len(term_bytes)
        pending.append(term_bytes)
        if len(pending) >= 4096:
            postfile.write(b"".join(pending))
            pending = []
    postfile.write(b"".join(pending))
    infos = _term_infos(table, blocks, w32, sizes, start)
    size = _TERM_INFO.itemsize
    return [infos[at : at + size] for at in range(0, len(infos), size)]


def _term_infos(
    table: _Table, blocks: _Blocks, w32: np.ndarray, sizes: np.ndarray, start: int
) -> bytes:
    """Every term's W3TermInfo bytes, back to back (their statistics from its blocks)."""
    starts = table.starts
    first = blocks.first[:-1]
    out = np.zeros(len(table.keys), dtype=_TERM_INFO)
    out["weight"] = np.add.reduceat(w32.astype(np.float64), starts[:-1])
    out["df"] = np.diff(starts)
    shortest = np.minimum.reduceat(np.where(blocks.min_length > 0, blocks.min_length, 256), first)
    out["min_length"] = np.where(shortest == 256, 0, _LENGTH_BYTE[np.minimum(shortest, 255)])
    out["max_length"] = _LENGTH_BYTE[np.maximum.reduceat(blocks.max_length, first)]
    out["max_weight"] = np.maximum.reduceat(blocks.max_weight, first)
    out["min_id"] = table.docs[starts[:-1]]
    out["max_id"] = table.docs[starts[1:] - 1]
    out["offset"] = start + np.cumsum(sizes) - sizes
    out["size"] = sizes
    return out.tobytes()


# A record of the terms file: the sizes of its key and value (HashWriter's), then both.
_RECORD_HEAD = struct.Struct("!ii")


def _add_terms(tindex: OrderedHashWriter, keys: list[bytes], infos: list[bytes]) -> None:
    """tindex.add(key, info) for each key (ascending, after any added before): the same
    records and hash entries, the records written in one call."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    dbfile, hashfn, buckets, index = tindex.dbfile, tindex.hashfn, tindex.buckets, tindex.index
    at = dbfile.tell()
    records: list[bytes] = []
    pack = _RECORD_HEAD.pack
    for key, info in zip(keys, infos, strict=True):
        index.append(at)
        h = hashfn(key)
        buckets[h & 255].append((h, at))
        records += (pack(len(key), len(info)), key, info)
        at += _RECORD_HEAD.size + len(key) + len(info)
    dbfile.write(b"".join(records))
    tindex.lastkey = keys[-1]


def _block_data(
    table: _Table, fmt, blocks: _Blocks, w32: np.ndarray
) -> Iterator[tuple[bytes, int]]:
    """Each block's pickle of (ids, weights, values) as W3 writes it, compressed or not,
    and its zlib level (0: stored as it is)."""
    docs = table.docs
    gaps = docs.copy()
    gaps[1:] -= docs[:-1]
    starts = blocks.bounds[:-1]
    gaps[starts] = docs[starts]  # W3 delta-encodes the ids of each block from 0
    gap_list, w_list = gaps.tolist(), w32.tolist()
    values = _block_values(table, fmt)
    bounds = blocks.bounds.tolist()
    for j, uniform in enumerate(blocks.uniform.tolist()):
        a, b = bounds[j], bounds[j + 1]
        # One weight for the block (None: 1.0) where all are equal, as W3's _mini_weights.
        weights = (None if w_list[a] == 1.0 else w_list[a]) if uniform else tuple(w_list[a:b])
        yield _compress(pickle.dumps((tuple(gap_list[a:b]), weights, values(a, b)), DATA_PROTOCOL))


_VALUES_AT_ONCE = 1 << 16  # postings' values cut out of a field's blob at a time


def _block_values(table: _Table, fmt) -> Callable[[int, int], object]:
    """values(a, b): what W3 pickles as the values of postings a to b (its _mini_values)."""
    size = fmt.fixed_value_size()
    if size is None or size < 0:  # each posting's bytes (W3's Positions)
        blob = table.blob
        assert blob is not None and table.offsets is not None
        at = table.offsets.tolist()
        window: list = [0, 0, []]  # postings w0 to w1 cut out of the blob, as asked (in order)

        def values(a: int, b: int) -> tuple[bytes, ...]:
            w0, w1, parts = window
            if b > w1:
                w0, w1 = a, min(len(at) - 1, max(b, a + _VALUES_AT_ONCE))
                parts = [blob[s:e] for s, e in zip(at[w0:w1], at[w0 + 1 : w1 + 1], strict=True)]
                window[:] = (w0, w1, parts)
            return tuple(parts[a - w0 : b - w0])

        return values
    if size == 0:
        return lambda a, b: None
    fixed = table.fixed
    assert fixed is not None
    return lambda a, b: fixed[a * size : b * size]  # back to back (W3's Frequency)
