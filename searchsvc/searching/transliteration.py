"""Spellings the variant lists do not know: "also try" from transliteration-folded words.

    word --Turkmen letters to their Latin stand-ins (ş sh, ç ch, ž zh, ň n, ý y, ä a, ö o,
        ü u), accents folded--> folded spellings (sh, ch, zh may also stand for ş, ç, ž,
        which the index folds to s, c, z)
    folded spelling --dzh, dj, zh -> j; kh -> h; q -> k; w -> v; y between a vowel and e
        dropped, then y -> i; double letters single--> keys
    keys --the index's words with the same key (the exact field's, through the speller's
        dictionary, a first letter at a time, once per index state)--> "also try" queries

Nothing is searched silently: each other spelling the index holds is offered as a query
to try. Only words that look like names are looked at: typed with a capital or a letter
outside ASCII, or found nowhere in the index. A word the index holds is offered only the
spellings it holds more often ("Meredow": try "Meredov"; "Biden": not its typo "Bidden"),
and its sh, ch, zh are not read as ş, ç, ž ("Shell" offers no "Sell"). Excluded words
(after NOT) and fielded, quoted and wildcard words are left alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

from searchsvc.analysis import exact_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.searching.query import QueryError, check_syntax
from searchsvc.searching.spelling import DocFrequencies, Speller

MIN_LENGTH = 4  # shorter words have too many look-alikes
MAX_WORDS = 10  # of a query, the first ones are looked at
MAX_QUERIES = 5  # "also try" queries offered at most
MAX_VARIANTS = 8  # folded spellings of one word at most (each sh, ch, zh read two ways)

_TURKMEN = {"ň": "n", "ş": "sh", "ý": "y", "ä": "a", "ž": "zh", "ç": "ch", "ö": "o", "ü": "u"}
_TURKMEN_MAP = str.maketrans({**_TURKMEN, **{k.upper(): v.title() for k, v in _TURKMEN.items()}})
_DIGRAPHS = re.compile("sh|ch|zh")
_RULES = (
    (re.compile("dzh|dj|zh"), "j"),
    (re.compile("kh"), "h"),
    (re.compile("q"), "k"),
    (re.compile("w"), "v"),
    (re.compile("(?<=[aeiou])y(?=e)"), ""),
    (re.compile("y"), "i"),
    (re.compile(r"(\w)\1+"), r"\1"),
)
# The first letters of the index words whose key may start with a letter (kh -> h, ...).
_FIRST = {"j": "jdz", "h": "hk", "k": "kq", "v": "vw", "i": "iy"}
_NEGATING = {"NOT", "ANDNOT"}


def key(term: str) -> str:
    """The transliteration-folded key of a folded word (an exact field term)."""
    for pattern, replacement in _RULES:
        term = pattern.sub(replacement, term)
    return term


def keys(word: str) -> set[str]:
    """The keys of a word as typed: Turkmen letters read both ways, sh/ch/zh as ş/ç/ž too."""
    spellings = {exact_term(word), exact_term(word.translate(_TURKMEN_MAP))}
    for spelling in list(spellings):
        spots = [m.start() for m in _DIGRAPHS.finditer(spelling)][:3]
        for mask in range(1, min(2 ** len(spots), MAX_VARIANTS)):
            chars = list(spelling)
            for bit, at in enumerate(spots):
                if mask >> bit & 1:
                    chars[at + 1] = ""  # sh -> s: as the index folds ş
            spellings.add("".join(chars))
    return {key(s) for s in spellings}


class Transliterations:
    """The index's words by key, built a first letter at a time from the speller's words."""

    def __init__(self, speller: Speller):
        self.speller = speller
        self.reader = speller.reader
        self._by_letter: dict[str, dict[str, list[str]]] = {}
        self._lock = threading.Lock()
        self._frequencies = DocFrequencies(self.reader, speller.files)

    def frequency(self, term: str) -> int:
        """How many releases hold term in the speller's field; cached for the reader."""
        return self._frequencies.of(self.speller.fieldname, term)

    def spellings(self, word: str, deadline: Deadline | None = None) -> list[str]:
        """The index's words with a key of word's, most frequent first: for a word the index
        holds, only those it holds more often (its typos are not worth offering), and
        sh, ch, zh not read as ş, ç, ž (Shell is no Şell)."""
        field, term = self.speller.fieldname, exact_term(word)
        typed = self.frequency(term)
        stand_ins = {key(term), key(exact_term(word.translate(_TURKMEN_MAP)))}
        found = self.with_keys(stand_ins if typed else keys(word), word, deadline or NEVER)
        found.discard(term)
        counts = {w: self.reader.doc_frequency(field, w) for w in found}
        return sorted((w for w in found if counts[w] > typed), key=lambda w: (-counts[w], w))

    def with_keys(self, wanted: set[str], word: str, deadline: Deadline) -> set[str]:
        """The index's words (of MIN_LENGTH letters or more) with one of the keys wanted.

        (The OpenSearch backend finds them otherwise: opensearch/names.py.)
        """
        found: set[str] = set()
        for k in wanted:
            for letter in _FIRST.get(k[:1], k[:1]):
                found.update(self._table(letter, deadline).get(k, ()))
        return found

    def also_try(
        self, text: str, searched: Iterable[str] = (), deadline: Deadline | None = None
    ) -> list[str]:
        """Queries that replace a name of text by another spelling the index holds.

        `searched`: folded words already searched (the variants' spellings), not offered,
        nor a spelling of their key that fewer releases hold (Zelenskiy searches Zelenskyy:
        the typo Zelenskky is not worth trying).
        """
        deadline = deadline or NEVER
        skip = set(searched)
        held: dict[str, int] = {}
        for word in skip:
            held[key(word)] = max(held.get(key(word), 0), self.frequency(word))
        out: list[str] = []
        for word in name_words(text)[:MAX_WORDS]:
            deadline.check("also try")
            if not _looks_like_name(word, self.frequency):
                continue
            for spelling in self.spellings(word, deadline):
                if spelling not in skip and self.frequency(spelling) > held.get(key(spelling), 0):
                    out.append(_replace(text, word, _cased(spelling, word)))
        return list(dict.fromkeys(out))[:MAX_QUERIES]

    def _table(self, letter: str, deadline: Deadline) -> dict[str, list[str]]:
        table = self._by_letter.get(letter)
        if table is None:
            table = {}
            for n, word in enumerate(self.speller.words(letter, deadline)):
                if not n % 4096:
                    deadline.check("also try")
                if listed(word):
                    table.setdefault(key(word), []).append(word)
            with self._lock:
                table = self._by_letter.setdefault(letter, table)
        return table


def listed(word: str) -> bool:
    """Whether an index word may be offered: MIN_LENGTH letters or more, letters only."""
    return len(word) >= MIN_LENGTH and word.isalpha()


def name_words(text: str) -> list[str]:
    """The words of a query that may be names: plain, not excluded, looked for as typed."""
    try:
        tokens = check_syntax(text)
    except QueryError:
        return []
    words: list[str] = []
    depth, negated, skipping = 0, False, None  # skipping: the depth a NOT ( opened at
    for tok in tokens:
        if skipping is not None:
            depth += (tok == "(") - (tok == ")")
            skipping = None if depth <= skipping else skipping
            continue
        if tok in _NEGATING:
            negated = True
            continue
        if negated:
            negated = False
            if tok == "(":
                skipping, depth = depth, depth + 1
            continue
        depth += (tok == "(") - (tok == ")")
        if re.fullmatch(r"\w+", tok) and len(tok) >= MIN_LENGTH and not tok.isdigit():
            words.append(tok)
    return words


def _looks_like_name(word: str, frequency: Callable[[str], int]) -> bool:
    return word[:1].isupper() or not word.isascii() or not frequency(exact_term(word))


def _cased(spelling: str, typed: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return spelling.upper()
    return spelling.capitalize() if typed[:1].isupper() else spelling


def _replace(text: str, word: str, spelling: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", lambda _: spelling, text, count=1)
