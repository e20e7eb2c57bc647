"""A field's postings, collected as documents are added, then grouped by term.

    a document's texts --DocumentWords--> the Lexicon's word ids (each text split and
        looked up once for every field) --Words.add--> one array of word ids a field
    table() --word ids to the field's term ids (TermIds), one stable sort by term-->
        Table: postings by (term, document), weights, and each posting's positions

Fields our word tokenizer does not analyse (ids, dates) go through Whoosh's own
field.index(value), once a document (Terms). The bulk writer (indexing/bulk.py) keeps one
Postings a field and writes each Table with indexing/w3blocks.py.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from operator import itemgetter

import numpy as np
from whoosh import formats

from searchsvc import analysis
from searchsvc.indexing.w3blocks import Table, encode_in_chunks


class Postings:
    """A field's postings, collected a document at a time."""

    def add(self, docnum: int, value, words: DocumentWords) -> int:
        """Analyse value as the document's field; its length (tokens counted)."""
        raise NotImplementedError

    def discard(self, docnum: int) -> None:
        """Forget what add() kept of document docnum (a document that failed)."""
        raise NotImplementedError

    def lengths(self, doccount: int) -> np.ndarray:
        """Each document's length in this field (0 where it has none)."""
        raise NotImplementedError

    def table(self, doccount: int) -> Table | None:
        """The postings ordered by term and document, or None if there are none."""
        raise NotImplementedError


class Words(Postings):
    """A field our word tokenizer analyses (Positions or Frequency): words to term ids.

    A document costs its texts' word ids (the lexicon's, looked up once a text for every
    field: DocumentWords), a count of those without a term, and an append to one array;
    the word ids become this field's term ids, and the postings are grouped, once for the
    whole segment, by table().
    """

    def __init__(self, field, terms: TermIds) -> None:
        self.terms = terms
        self.positions = type(field.format) is formats.Positions
        self.boost = float(field.format.field_boost)
        self.scorable = field.scorable
        self.docnums: list[int] = []
        self.doc_lengths: list[int] = []  # per document, its words with a term
        self.doc_words: list[int] = []  # ... and all its words
        self.ids = array("i")  # every word's id in the lexicon, document after document

    def add(self, docnum: int, value, words: DocumentWords) -> int:
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

    def table(self, doccount: int) -> Table | None:
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
        key, order = sort_by_term(rank[tids], len(names))
        docs = docs[order]
        change = np.empty(count, dtype=bool)
        change[0] = True
        np.not_equal(key[1:], key[:-1], out=change[1:])
        change[1:] |= docs[1:] != docs[:-1]
        first = np.flatnonzero(change)  # each posting's first token
        freqs = np.diff(first, append=count)
        term = key[first]
        used = np.flatnonzero(np.r_[True, term[1:] != term[:-1]])
        table = Table(
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
            table.blob, offsets = encode_in_chunks(table.positions, freqs)
            table.offsets = offsets
        else:
            table.fixed = freqs.astype(">u4").tobytes()  # Frequency's pack_uint(freq)
        return table


class Lexicon:
    """A segment's words, each numbered once for all its fields (word -> word id), and the
    terms of each term function the fields use (TermIds: word id -> term id).

    The exact field holds the title and the body again, and the stemmed fields the same
    words: a word is looked up once a text, and a word new to the segment is given its
    term by every term function at once (stemmed and folded).
    """

    def __init__(self) -> None:
        self.word_ids = analysis.WordIds(self._new_word)  # in word id order, as inserted
        self.functions: dict[Callable[[str], str | None], TermIds] = {}

    def of(self, words: list[str]) -> tuple[int, ...]:
        """Each word's id, in order."""
        return self.word_ids.of(words)

    def terms(self, term_of: Callable[[str], str | None]) -> TermIds:
        """The terms term_of gives the lexicon's words, kept as words are added."""
        found = self.functions.get(term_of)
        if found is None:
            found = TermIds(term_of)
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


class TermIds:
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


def sort_by_term(key: np.ndarray, terms: int) -> tuple[np.ndarray, np.ndarray]:
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


class DocumentWords:
    """words(text): the lexicon's word ids of the texts of one document, each text split
    and looked up once.

    A text that is another one after a newline (the exact field: title, newline, body)
    splits only what comes before: no word spans a newline (analysis.WORD_RE), so the
    words of a + "\n" + b are the words of a, then those of b.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.seen: dict[str, tuple[int, ...]] = {}

    def __call__(self, text: str) -> tuple[int, ...]:
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = self._looked_up(text)
        return found

    def _looked_up(self, text: str) -> tuple[int, ...]:
        for known, found in self.seen.items():
            n = len(known)
            if n and len(text) > n and text[-n - 1] == "\n" and text.endswith(known):
                return self(text[: -n - 1]) + found
        return self.lexicon.of(analysis.words(text))


class Terms(Postings):
    """Any other indexed field: Whoosh's field.index(value), once per document."""

    def __init__(self, field) -> None:
        self.field = field
        self.vocab: dict[bytes, int] = {}
        self.docnums: list[int] = []
        self.tids: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []
        self.doc_lengths: dict[int, int] = {}

    def add(self, docnum: int, value, words: DocumentWords) -> int:
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

    def table(self, doccount: int) -> Table | None:
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
        table = Table(
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
