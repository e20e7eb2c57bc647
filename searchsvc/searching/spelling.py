"""Spelling: a "did you mean" from the index's own words, in milliseconds.

    a reader (one state of the index) --every word of the exact field, read once when
        the Engine opens it--> sorted lists of words, by first letter
    query --its plain and +required words (never operators, fields, phrases, excluded
        words)--> words that occur nowhere (nor their stem), or in at most RARE releases
    each such word --rapidfuzz: OSA distance (a swap of two letters is one edit) to every
        word with the same first letter, cut off at 2, in C--> candidates one edit away
        (two, if none of those will do)
    candidates --noisy channel: log(releases holding the word) - WEIGHT x the edits' cost,
        where a swap, a doubled or undoubled letter, c/k, s/z and vowel for vowel cost
        less than other edits--> the best, never a word rarer than the one typed
    fuzzy~ word --the same distance, over its field's words (read a first letter at a
        time)--> every word within its edits, as Whoosh's terms_within lists them

Whoosh's corrector, on an index of several segments, computes an edit distance in Python
for every indexed word with the same first letter: 0.1 to 0.7 s for a misspelled query on
the White House corpus, and seconds for a query of ten unknown words. The dictionary
(84,000 words in 8 segments) takes 0.6 to 1.2 s to read and 5.5 MB; a lookup is under a
millisecond a word. symspellpy answers in 0.1 ms but needs 30 s and 125 MB to build its
680,000 deletes; Whoosh's own automata take 300 ms a word over 8 segments.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from searchsvc.analysis import exact_term, stem_term
from searchsvc.caching import LruCache
from searchsvc.deadline import NEVER, Deadline
from searchsvc.indexing import PostingFiles
from searchsvc.searching.query import correctable_words

FIELD = "exact"  # every word as written (lowercased, accents folded), not stemmed
MAX_DISTANCE = 2
MIN_LENGTH = 3  # shorter words are left alone: too many words are one edit away
MAX_LENGTH = 40
MAX_WORDS = 10  # of a query, the first ones of a sensible length are looked at
# The noisy channel: a candidate's score is log(its document frequency) - WEIGHT x the cost
# of the edits from it to the word typed (see edit_cost). At 10, one cheap edit (0.6: opek
# for opec) beats one plain edit (1.0: opek for open) unless the plain one's word is e^4 =
# 55 times more frequent. Words two edits away are scored only when none one edit away will
# do (a word two edits away would need to be 7 to 22,000 times more frequent to win: measured,
# the same answers, and the frequencies of dozens of words fewer to read). Chosen on
# bench/misspellings.tsv and a few well-known typos (bench/README.md), checked on sets drawn
# with other seeds.
WEIGHT = 10.0
# A word that occurs (or whose stem does) is respelled only if it is in at most RARE
# releases, and a word one plain edit away is in at least RATIO times as many: a typo the
# corpus holds (goverment), not a rare real word.
RARE = 10
RATIO = 300


class DocFrequencies:
    """How many of a reader's documents hold a term, asked once per term and kept (the
    most recently asked MAX_FREQUENCIES): queries repeat their words.

    With the reader's posting `files`, each segment's count is its file's two offsets of
    the term (one pread after a search of the vocabulary in memory); Whoosh's lookup in
    every segment's terms file took 0.6 ms a word at 10x the corpus (16 segments), most of
    a cold query's spelling check. A segment without a usable file is asked of Whoosh.
    """

    def __init__(self, reader, files: PostingFiles | None = None) -> None:
        self.reader = reader
        self.files = files
        self._counts: LruCache[tuple[str, str], int] = LruCache(MAX_FREQUENCIES)

    def of(self, fieldname: str, term: str) -> int:
        """The number of documents whose fieldname holds term."""
        key = (fieldname, term)
        found = self._counts.get(key)
        if found is None:
            found = self._counted(fieldname, term)
            self._counts.put(key, found)
        return found

    def _counted(self, fieldname: str, term: str) -> int:
        if self.files is None:
            return self.reader.doc_frequency(fieldname, term)
        total = 0
        for k, (leaf, _) in enumerate(self.reader.leaf_readers()):
            count = self.files.doc_frequency(k, fieldname, term)
            total += leaf.doc_frequency(fieldname, term) if count is None else count
        return total


MAX_FREQUENCIES = 100_000


class Speller:
    """The words of one reader's fields, for suggestions (exact) and fuzzy~ words (any).

    ``preload()`` reads every word of the exact field at once (what the Engine does when
    it opens an index state); otherwise each first letter's words of a field are read the
    first time a word with that letter needs them. Either way they are kept for the life
    of the reader.
    """

    def __init__(self, reader, fieldname: str = FIELD, files: PostingFiles | None = None):
        """files: the reader's posting files, to read words from (see read_words)."""
        self.reader = reader
        self.fieldname = fieldname
        self.files = files
        self._words: dict[tuple[str, str], list[str]] = {}  # (field, first letter) -> words
        self._complete: set[str] = set()  # fields read whole: a letter not in _words has none
        self._lock = threading.Lock()
        self._frequencies = DocFrequencies(reader, files)

    def preload(self, deadline: Deadline | None = None) -> Speller:
        """Read every word of the field now, in one pass over each segment; return self.

        Past `deadline` (None: no deadline) it raises DeadlineExceededError, keeping none.
        """
        groups: dict[tuple[str, str], list[str]] = {}
        for word in read_words(
            self.reader, self.fieldname, deadline=deadline or NEVER, files=self.files
        ):
            groups.setdefault((self.fieldname, word[:1]), []).append(word)
        with self._lock:
            self._words.update(groups)
            self._complete.add(self.fieldname)
        return self

    def suggest(self, text: str, deadline: Deadline | None = None) -> str | None:
        """The query with misspelled words replaced by close, frequent ones, or None.

        A word is left as it is if it, or its stem, occurs in more than RARE releases
        (consultation: consultations), or if it has fewer than MIN_LENGTH letters. Past
        `deadline` (None: no deadline) it raises DeadlineExceededError.
        """
        deadline = deadline or NEVER
        words = [w for w in correctable_words(text) if len(w[2]) <= MAX_LENGTH][:MAX_WORDS]
        suggestion = text
        for start, end, word in reversed(words):
            deadline.check("spelling")
            term = exact_term(word)
            if len(term) < MIN_LENGTH:
                continue
            typed = max(self.frequency(term), self.stem_frequency(word))
            if typed > RARE:
                continue
            found = self.correct(term, deadline, typed)
            if found is not None:
                suggestion = suggestion[:start] + _cased(found, word) + suggestion[end:]
        return suggestion if suggestion != text else None

    def correct(self, term: str, deadline: Deadline | None = None, typed: int = 0) -> str | None:
        """The indexed word most likely meant by term (which `typed` releases hold), with
        its first letter and within 2 edits, or None.

        The noisy channel over the words one edit away (two, if none will do): the most
        frequent word at the least cost (see WEIGHT), never one in no more releases than the
        word typed; among equals the first alphabetically.
        """
        words = self.words(term[:1], deadline)
        if not words:
            return None
        distances = process.cdist(
            [term], words, scorer=OSA.distance, score_cutoff=MAX_DISTANCE, dtype=np.int32
        )[0]
        best: tuple[float, str] | None = None
        for distance in range(1, MAX_DISTANCE + 1):
            if best is not None:  # words two edits away only if none one edit away will do
                break
            close = [words[i] for i in np.flatnonzero(distances == distance)]
            best = self._best(term, close, distance, typed, best)
        if best is None:
            return None
        found = best[1]
        if typed == 0 and self.frequency(found) <= RARE:  # a typo the corpus holds (coovid)?
            return self.correct(found, deadline, self.frequency(found)) or found
        return found

    def _best(self, term, close, distance, typed, best):
        """The best of `close` words (`distance` edits away) and `best` so far."""
        candidates = []
        for word in close:
            freq = self.frequency(word)
            if freq <= typed or typed and freq < RATIO * typed:
                continue
            # The best score this word could reach, at the cheapest cost per edit.
            candidates.append((math.log(freq) - WEIGHT * CHEAP * distance, word, freq))
        for bound, word, freq in sorted(candidates, key=lambda c: (-c[0], c[1])):
            if best is not None and bound < best[0]:
                break
            cost = edit_cost(term, word)
            if typed and cost > 1.0:
                continue
            score = math.log(freq) - WEIGHT * cost
            if best is None or score > best[0] or score == best[0] and word < best[1]:
                best = (score, word)
        return best

    def doc_frequency(self, fieldname: str, term: str) -> int:
        """How many documents' fieldname holds term (cached, as frequency is)."""
        return self._frequencies.of(fieldname, term)

    def frequency(self, word: str) -> int:
        """How many releases hold word (in the exact field); cached for the reader."""
        return self._frequencies.of(self.fieldname, word)

    def stem_frequency(self, word: str) -> int:
        """How many releases hold word's stem (in the body); cached for the reader.

        "consultation" is no typo when "consultations" is indexed: its stem matches.
        """
        stem = stem_term(word)
        return 0 if stem is None else self._frequencies.of("body", stem)

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
            found = read_words(self.reader, fieldname, letter, deadline or NEVER, self.files)
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


def read_words(
    reader,
    fieldname: str,
    prefix: str = "",
    deadline: Deadline = NEVER,
    files: PostingFiles | None = None,
) -> list[str]:
    """The words of a field that start with prefix, from every segment, sorted.

    With the reader's posting `files`, a segment's words are its file's vocabulary (the
    same terms as Whoosh's terms file, split at once); else, and for a segment without
    one, Whoosh's terms, one at a time.
    """
    if fieldname not in reader.schema.names():
        return []
    field = reader.schema[fieldname]
    words: set[bytes] = set()
    for k, (leaf, _) in enumerate(reader.leaf_readers()):
        deadline.check("spelling")
        held = None if files is None else files.words(k, fieldname, prefix.encode("utf-8"))
        if held is not None:
            words.update(held)
            continue
        for n, btext in enumerate(leaf.expand_prefix(fieldname, prefix), 1):
            words.add(btext)
            if not n % 4096:
                deadline.check("spelling")
    return sorted(field.from_bytes(b) for b in words)


def _cased(found: str, typed: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return found.upper()
    return found.capitalize() if typed[:1].isupper() else found


# The costs of the noisy channel's edits, from the word meant to the word typed: what
# people slip on costs less than a random edit.
CHEAP = 0.6
VOWEL = 0.9
KEY = 0.9
_VOWELS = set("aeiouy")
_SOUNDS = {frozenset(p) for p in ("ck", "kq", "cs", "sz", "iy", "gj", "fv", "mn", "dt", "bp")}
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEYS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if frozenset((a, b)) in _SOUNDS:
        return CHEAP
    if a in _VOWELS and b in _VOWELS:
        return VOWEL
    ka, kb = _KEYS.get(a), _KEYS.get(b)
    if ka and kb and abs(ka[0] - kb[0]) <= 1 and abs(ka[1] - kb[1]) <= 1:
        return KEY  # a neighbouring key
    return 1.0


def _gap(word: str, i: int) -> float:
    """The cost of word[i] being there in one word and not in the other."""
    doubled = (i and word[i - 1] == word[i]) or (i + 1 < len(word) and word[i + 1] == word[i])
    return CHEAP if doubled else 1.0


def edit_cost(typed: str, meant: str) -> float:
    """The weighted optimal-string-alignment distance from meant to typed."""
    rows, cols = len(typed) + 1, len(meant) + 1
    d = [[0.0] * cols for _ in range(rows)]
    for i in range(1, rows):
        d[i][0] = d[i - 1][0] + _gap(typed, i - 1)
    for j in range(1, cols):
        d[0][j] = d[0][j - 1] + _gap(meant, j - 1)
    for i in range(1, rows):
        a = typed[i - 1]
        for j in range(1, cols):
            b = meant[j - 1]
            cost = min(
                d[i - 1][j] + _gap(typed, i - 1),
                d[i][j - 1] + _gap(meant, j - 1),
                d[i - 1][j - 1] + _substitution(a, b),
            )
            if i > 1 and j > 1 and a == meant[j - 2] and typed[i - 2] == b and a != b:
                cost = min(cost, d[i - 2][j - 2] + CHEAP)
            d[i][j] = cost
    return d[-1][-1]
