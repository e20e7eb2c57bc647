"""Spelling: a "did you mean" from the index's own words, in milliseconds.

    a reader (one state of the index) --every word of the exact field, read once when
        the Engine opens it--> sorted lists of words, by first letter
    query --its plain words; those that occur nowhere, nor does their stem--> unknown words
    unknown word --rapidfuzz: edit distance (a swap of two letters is one edit) to every
        word with the same first letter, cut off at 2, in C--> the closest words
    closest words --their frequency in the index--> one edit before two, the more
        frequent among equals, then the first alphabetically
    fuzzy~ word --the same, over its field's words (read a first letter at a time)-->
        every word within its edits, as Whoosh's terms_within lists them

Whoosh's corrector, on an index of several segments, computes an edit distance in Python
for every indexed word with the same first letter: 0.1 to 0.7 s for a misspelled query on
the White House corpus, and seconds for a query of ten unknown words. The dictionary
(84,000 words in 8 segments) takes 0.6 to 1.2 s to read and 5.5 MB; a lookup is under a
millisecond a word. symspellpy answers in 0.1 ms but needs 30 s and 125 MB to build its
680,000 deletes; Whoosh's own automata take 300 ms a word over 8 segments.
"""

from __future__ import annotations

import threading
from bisect import bisect_left

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from searchsvc.analysis import exact_term, stem_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.searching.query import plain_words

FIELD = "exact"  # every word as written (lowercased, accents folded), not stemmed
MAX_DISTANCE = 2
MIN_LENGTH = 3  # shorter words are left alone: too many words are one edit away
MAX_LENGTH = 40
MAX_WORDS = 10  # of a query, the first ones of a sensible length are looked at


class Speller:
    """The words of one reader's fields, for suggestions (exact) and fuzzy~ words (any).

    ``preload()`` reads every word of the exact field at once (what the Engine does when
    it opens an index state); otherwise each first letter's words of a field are read the
    first time a word with that letter needs them. Either way they are kept for the life
    of the reader.
    """

    def __init__(self, reader, fieldname: str = FIELD):
        self.reader = reader
        self.fieldname = fieldname
        self._words: dict[tuple[str, str], list[str]] = {}  # (field, first letter) -> words
        self._complete: set[str] = set()  # fields read whole: a letter not in _words has none
        self._lock = threading.Lock()

    def preload(self) -> Speller:
        """Read every word of the field now, in one pass over each segment; return self."""
        groups: dict[tuple[str, str], list[str]] = {}
        for word in read_words(self.reader, self.fieldname):
            groups.setdefault((self.fieldname, word[:1]), []).append(word)
        with self._lock:
            self._words.update(groups)
            self._complete.add(self.fieldname)
        return self

    def suggest(self, text: str, deadline: Deadline | None = None) -> str | None:
        """The query with words that occur nowhere replaced by close, frequent ones.

        A word is left as it is if it, or its stem, occurs (consultation: consultations),
        or if it has fewer than MIN_LENGTH letters. Past `deadline` (None: no deadline) it
        raises DeadlineExceededError.
        """
        deadline = deadline or NEVER
        words = [w for w in plain_words(text) if len(w) <= MAX_LENGTH][:MAX_WORDS]
        suggestion, changed = text, False
        for word in words:
            deadline.check("spelling")
            term = exact_term(word)
            if len(term) < MIN_LENGTH or _occurs(self.reader, self.fieldname, word, term):
                continue
            found = self.correct(term, deadline)
            if found is not None:
                suggestion = suggestion.replace(word, found, 1)
                changed = True
        return suggestion if changed else None

    def correct(self, term: str, deadline: Deadline | None = None) -> str | None:
        """The indexed word closest to term, with its first letter, or None within 2 edits.

        One edit (a swap of two neighbouring letters counts as one) beats two; among
        equally close words the more frequent wins, then the first alphabetically.
        """
        words = self.words(term[:1], deadline)
        if not words:
            return None
        distances = process.cdist(
            [term], words, scorer=OSA.distance, score_cutoff=MAX_DISTANCE, dtype=np.int32
        )[0]
        for distance in range(1, MAX_DISTANCE + 1):
            close = np.flatnonzero(distances == distance)
            if len(close):
                return self._most_frequent([words[i] for i in close])
        return None

    def words(
        self, letter: str, deadline: Deadline | None = None, fieldname: str | None = None
    ) -> list[str]:
        """The words of the field (exact by default) that start with letter, sorted.

        An empty letter stands for every word. Read once, then kept.
        """
        fieldname = fieldname or self.fieldname
        key = (fieldname, letter)
        found = self._words.get(key)
        if found is None:
            if fieldname in self._complete and letter:
                return []
            found = read_words(self.reader, fieldname, letter, deadline or NEVER)
            with self._lock:
                found = self._words.setdefault(key, found)
        return found

    def within(
        self,
        fieldname: str,
        text: str,
        maxdist: int,
        prefixlength: int = 1,
        deadline: Deadline | None = None,
    ) -> list[str]:
        """The words of a field within maxdist edits of text that share its first
        prefixlength letters, sorted: what a fuzzy~ word stands for."""
        prefix = text[:prefixlength]
        words = self.words(prefix[:1], deadline, fieldname)
        if len(prefix) > 1:  # the run of words with the longer prefix, in sorted words
            words = words[bisect_left(words, prefix) : bisect_left(words, prefix + "\U0010ffff")]
        if not words:
            return []
        distances = process.cdist(
            [text], words, scorer=OSA.distance, score_cutoff=maxdist, dtype=np.int32
        )[0]
        return [words[i] for i in np.flatnonzero(distances <= maxdist)]

    def _most_frequent(self, words: list[str]) -> str:
        # Sorted words, and max() keeps the first of equals: the first alphabetically.
        return max(words, key=lambda w: self.reader.frequency(self.fieldname, w))


def read_words(reader, fieldname: str, prefix: str = "", deadline: Deadline = NEVER) -> list[str]:
    """The words of a field that start with prefix, from every segment, sorted."""
    if fieldname not in reader.schema.names():
        return []
    field = reader.schema[fieldname]
    words: set[bytes] = set()
    for leaf, _ in reader.leaf_readers():
        deadline.check("spelling")
        for n, btext in enumerate(leaf.expand_prefix(fieldname, prefix), 1):
            words.add(btext)
            if not n % 4096:
                deadline.check("spelling")
    return sorted(field.from_bytes(b) for b in words)


def _occurs(reader, fieldname: str, word: str, term: str) -> bool:
    # "consultation" is no typo when "consultations" is indexed: its stem matches.
    if reader.doc_frequency(fieldname, term):
        return True
    stem = stem_term(word)
    return stem is not None and reader.doc_frequency("body", stem) > 0
