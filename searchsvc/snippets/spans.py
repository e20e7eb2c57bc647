"""Where a query's words are in a text: the matches the highlighter marks.

    text --a regex per first letter of the query's words, in C: where a word that may
           match opens--> a few words
    a few words --the index's own term functions--> word matches
    text --a regex per phrase word, in C: the first, then each next after its gap--> phrase
           matches

Words are matched through the same cached functions the index used (``stem_term``,
``exact_term``), so the query ``meeting`` marks ``Meetings`` and ``"meetings"`` does not
mark ``meeting``. Reading every word of a long release through them cost milliseconds; so
regexes, kept across queries, find in C the few places where a match may be, and only the
words there are read. The matches are those of reading every word by the rules below (the
tests compare the two).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

import numpy as np

from searchsvc.analysis import MARKS, WORD_CHAR, WORD_RE, exact_term, stem_term
from searchsvc.snippets.terms import QueryTerms

# Only a text's first characters are read: this bounds the cost of a 250,000-character release.
SCAN_LIMIT = 100_000

Span = tuple[int, int, str]  # start, end, the term it matched (for counting distinct terms)

# A word (WORD_RE) is runs of word characters joined by single dots or apostrophes ("U.S.").
_SEPS = ".'’"
# [.'’] as a choice that re does not fold into one class: a class holding a character past
# Latin-1 compiles to a 64K-bit map, half a millisecond each time a query's regex has one.
_SEP = "(?:[.']|’{1})"
_IS_WORD_CHAR = re.compile(WORD_CHAR)
# Where no word goes on: checked apart from a phrase word's own regex (_phrase_word).
_ENDS_WORD = re.compile(f"(?!{WORD_CHAR}|{_SEP}{WORD_CHAR})")
_GAP_RE = re.compile(f"[^\\w{MARKS}]+")  # what lies between two words
# Outside ASCII, any character but the no-break space and General Punctuation (quotes,
# dashes, the narrow no-break space), less the joiners in it, may be a word's (_past_ascii).
# The White House releases hold 85 no-break spaces on average (12,089 of 14,396 hold one),
# each a turn of _odd_words' loop while it was in.
_PUNCTUATION = (0x2000, 0x206F)
_JOINERS = (0x200C, 0x200D)
_NO_WORD_CHAR = re.compile(f"[^\\w{MARKS}{_SEPS}]")  # a character no word holds
# Snowball keeps a word's first two letters, except in its exceptional forms: dying -> die.
_IRREGULAR = {"die": "dy", "lie": "ly", "tie": "ty"}


def find_matches(text: str, terms: QueryTerms, limit: int = SCAN_LIMIT) -> list[Span]:
    """The spans of text[:limit] that match the query's terms, in order."""
    if not terms:
        return []
    text = text[:limit]
    phrases = tuple(p for p in terms.phrases if p)  # an empty phrase matches nothing
    strict = not terms.phrases
    plan = _finders(frozenset(terms.stems), frozenset(terms.exact), phrases, strict)
    odd = _odd_words(text)
    spans = _word_spans(text, terms, plan.words, odd, strict)
    for phrase, finder in zip(phrases, plan.phrases, strict=True):
        spans.extend(_phrase_spans(text, phrase, finder, odd))
    return spans if strict else _merge(spans)


# Which words are read:
# - with a phrase in the query, every word: so any word whose stem may be a query stem
#   (it starts with the stem's first two letters) or whose exact term may be a query word
#   (its first three);
# - without, a word that opens after no dot or apostrophe and that starts with a term's
#   first three letters, or has a dot or apostrophe inside (whose stem may be any). So
#   "try" (stem "tri") and "'Meeting'" are not marked: kept as it was, for the same output.
# Both: any word with a letter or mark outside ASCII, which folds (_odd_words). Dots and
# apostrophes vanish from terms ("U.S." is "us"), so the regexes allow them between letters.


@dataclass(frozen=True)
class _Finders:
    """A query's compiled regexes, built once per query."""

    # Where a word that may match a stem or exact word opens: a regex for each prefix and
    # case of its first letter (kept across queries, see _finder).
    words: tuple[re.Pattern, ...]
    phrases: tuple[_PhraseFinder | None, ...]


@dataclass(frozen=True)
class _PhraseFinder:
    """Where a phrase's words follow one another, when they are all ASCII."""

    first: re.Pattern  # its first word (_ascii_phrases checks that it opens a word)
    rest: tuple[re.Pattern, ...]  # each next word, matched after the gap before it
    overlaps: bool  # whether one match can start inside another ("a a" in "a a a")


@lru_cache(maxsize=1024)
def _finders(stems: frozenset, exact: frozenset, phrases: tuple, strict: bool) -> _Finders:
    words = _word_finders(stems, exact, strict) if stems or exact else ()
    return _Finders(words, tuple(_phrase_finder(phrase) for phrase in phrases))


# Compiling a query's regex cost milliseconds, each distinct query again; so the regexes are
# built a case of a first letter at a time, with the prefixes that open with it (most often
# one word's), and kept: distinct queries share their words. One opening with a literal
# letter, re looks for it as fast as str.find does; a run over the text per letter and case
# (a regex per prefix ran over the text a third more often). Where one of them matches,
# the alternation of them all would, and what a run skips inside its match is inside a
# word, where no word may open.
MAX_FINDERS = 8192


def _word_finders(stems: frozenset, exact: frozenset, strict: bool) -> tuple[re.Pattern, ...]:
    short = {s[:2] for s in stems} | {_IRREGULAR[s] for s in stems if s in _IRREGULAR}
    full = {t[:3] for t in (*stems, *exact)}
    if not strict:
        alts = [_spelled(p) for p in _ascii(short | {e[:3] for e in exact})]
    else:
        alts = [_spelled(p) for p in _ascii(full)]
        for p in _ascii(short - full):  # a word with a dot or apostrophe whose stem may be p
            alts.append((p[0], f"{_SEP}{_char(p[1])}"))
            # \w, not WORD_CHAR: a word holding a mark is odd, read whatever the finders find
            # (and a class of marks costs a tenth of a millisecond to compile).
            alts.append((p[0], f"{_char(p[1])}\\w*{_SEP}\\w"))
    rests: dict[str, set[str]] = {}  # by first letter, each case
    for first, rest in alts:
        for c in {first, first.upper()}:
            rests.setdefault(c, set()).add(rest)
    return tuple(_finder(c, tuple(sorted(r)), strict) for c, r in sorted(rests.items()))


def _ascii(prefixes: set[str]) -> list[str]:
    # A word that may match a prefix outside ASCII holds a letter outside ASCII: it is odd.
    return sorted(p for p in prefixes if p and p.isascii())


def _spelled(word: str) -> tuple[str, str]:
    # The first letter, and a pattern of the rest, a dot or apostrophe allowed before each.
    return word[0], "".join(f"{_SEP}?{_char(c)}" for c in word[1:])


def _char(c: str) -> str:
    return f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c)


@lru_cache(maxsize=MAX_FINDERS)
def _finder(first: str, rests: tuple[str, ...], strict: bool) -> re.Pattern:
    # The letter, a look back that no word goes on (less the characters past ASCII that
    # _LATE_BEFORE checks: cheaper there than compiled), the rest of any of the prefixes.
    before = "[\\w.']" if strict else "\\w"
    rest = rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})"
    return re.compile(f"{re.escape(first)}(?<!{before}.){rest}")


# What else no word opens after, past ASCII: combining marks and joiners (a strict finder
# also a curly apostrophe).
_LATE_BEFORE = {True: re.compile(f"[{MARKS}’]"), False: re.compile(f"[{MARKS}]")}


@lru_cache(maxsize=1024)
def _phrase_finder(phrase: tuple[str, ...]) -> _PhraseFinder | None:
    # Terms are lowercase, with no dots or apostrophes; a word that is not ASCII can only
    # be matched by an odd word.
    if not all(word and word.isascii() and word == word.lower() for word in phrase):
        return None
    n = len(phrase)
    overlaps = any(phrase[j:] == phrase[: n - j] for j in range(1, n))
    rest = tuple(_phrase_word(word) for word in phrase[1:])
    return _PhraseFinder(_phrase_word(phrase[0]), rest, overlaps)


# A phrase's regex was its words' joined by gaps, compiled anew for each distinct phrase (2
# ms for two words: each word character class past Latin-1 compiles to a map). Matched one
# word at a time, a regex per word is kept across phrases. The same matches: from a given
# start there is one way to match the joined regex (a gap takes every character up to
# the next word, an optional dot or apostrophe is taken when there is one, as a letter
# cannot be one), so it matches there exactly when its words match one after another.
@lru_cache(maxsize=MAX_FINDERS)
def _phrase_word(word: str) -> re.Pattern:
    # Its letters only: where the word ends (_ENDS_WORD) and, for a phrase's first word,
    # that no word character is before it are checked apart, by regexes compiled once.
    # Each held a class of every word character past ASCII (WORD_CHAR), compiled to a
    # 64K-bit map: 360-450 us a word, a new phrase word in a fifth of distinct queries.
    # From a given start the letters match one way only, so the checks after the match
    # accept what the regex with them in would have matched there.
    first, rest = _spelled(word)
    return re.compile(f"{_char(first)}{rest}")


def _odd_words(text: str) -> list[re.Match]:
    """The words holding a letter or mark outside ASCII, in order."""
    words: list[re.Match] = []
    if text.isascii():
        return words
    places = _past_ascii(text)
    k = floor = 0
    while k < len(places):
        pos = places[k]
        if not _IS_WORD_CHAR.match(text, pos):
            k += 1
            continue
        word = _word_at(text, pos, floor)
        words.append(word)
        floor = word.end()
        k = bisect_left(places, floor, k)
    return words


def _past_ascii(text: str) -> list[int]:
    """Where text holds a character past ASCII that is not the no-break space or General
    Punctuation (less its joiners): every word character past ASCII is at one of them.

    In numpy, over the text's code points: a regex of that class took three times as long
    (re checks a negated class at every character)."""
    codes = np.array([text]).view(np.uint32)
    places = np.flatnonzero(codes > 0x7F)
    found = codes[places]
    kept = (found != 0xA0) & ((found < _PUNCTUATION[0]) | (found > _PUNCTUATION[1]))
    kept |= (found == _JOINERS[0]) | (found == _JOINERS[1])
    return places[kept].tolist()


def _word_at(text: str, pos: int, floor: int) -> re.Match:
    # Words read from just after a space, or from the end of a word (floor), are the words
    # of the whole text: no word holds a space, and the next word opens after an end.
    start = max(text.rfind(" ", floor, pos), text.rfind("\n", floor, pos)) + 1
    return next(w for w in WORD_RE.finditer(text, max(start, floor)) if w.end() > pos)


def _opens_word(text: str, i: int) -> bool:
    # The regex has checked that no word character is at i - 1; a dot or apostrophe there
    # is inside a word if a word character is before it.
    return i < 2 or text[i - 1] not in _SEPS or not _IS_WORD_CHAR.match(text, i - 2)


def _after_sep(text: str, i: int) -> bool:
    return i > 0 and text[i - 1] in _SEPS


def _word_spans(
    text: str,
    terms: QueryTerms,
    finders: tuple[re.Pattern, ...],
    odd: list[re.Match],
    strict: bool,
) -> list[Span]:
    if not (terms.stems or terms.exact):
        return []
    words = {w.start(): w for w in odd if not (strict and _after_sep(text, w.start()))}
    late = _LATE_BEFORE[strict]
    for finder in finders:
        for hit in finder.finditer(text):
            i = hit.start()
            if i in words or not (strict or _opens_word(text, i)):
                continue
            if i and not text[i - 1].isascii() and late.match(text, i - 1):
                continue
            if w := WORD_RE.match(text, i):
                words[i] = w
    spans = []
    for i in sorted(words):
        word = words[i].group()
        stem = stem_term(word) if terms.stems else None
        if stem is not None and stem in terms.stems:
            spans.append((i, words[i].end(), stem))
        elif terms.exact and exact_term(word) in terms.exact:
            spans.append((i, words[i].end(), exact_term(word)))
    return spans


def _phrase_spans(
    text: str, phrase: tuple[str, ...], finder: _PhraseFinder | None, odd: list[re.Match]
) -> list[Span]:
    """Where the phrase's words follow one another, in order."""
    found = dict(_ascii_phrases(text, finder)) if finder else {}
    # An odd word may be any word of the phrase: look around it.
    for j, term in enumerate(phrase):
        for word in odd:
            if exact_term(word.group()) == term and (span := _phrase_at(text, phrase, j, word)):
                found[span[0]] = span[1]
    key = " ".join(phrase)
    return [(start, found[start], key) for start in sorted(found)]


def _ascii_phrases(text: str, finder: _PhraseFinder) -> Iterator[tuple[int, int]]:
    pos = 0
    while match := finder.first.search(text, pos):
        start = match.start()
        if not _ENDS_WORD.match(text, match.end()) or (
            start and _IS_WORD_CHAR.match(text, start - 1)
        ):
            pos = start + 1  # inside a word, or one that goes on: not the first word
            continue
        end = _phrase_end(text, finder.rest, match.end())
        if end is None:
            pos = start + 1  # the next place the first word is
            continue
        if _opens_word(text, start):
            yield start, end
        # A match that overlaps no other can be passed whole.
        pos = start + 1 if finder.overlaps else end


def _phrase_end(text: str, words: tuple[re.Pattern, ...], pos: int) -> int | None:
    """Where the words end if each follows the one before (pos: where the first ended)."""
    for word in words:
        gap = _GAP_RE.match(text, pos)
        found = gap and word.match(text, gap.end())
        if not found or not _ENDS_WORD.match(text, found.end()):
            return None
        pos = found.end()
    return pos


def _phrase_at(text: str, phrase: tuple[str, ...], j: int, word: re.Match) -> tuple | None:
    """The phrase's span if `word` is its j-th word there."""
    n = len(phrase)
    after = islice(WORD_RE.finditer(text, word.end()), n - 1 - j)
    words = [*_words_before(text, word.start(), j), word, *after]
    if len(words) == n and [exact_term(w.group()) for w in words] == list(phrase):
        return words[0].start(), words[-1].end()
    return None


def _words_before(text: str, end: int, k: int) -> list[re.Match]:
    """The last k words before `end`, where a word opens (fewer at the text's start)."""
    reach = 40 * k
    while k:
        start = max(end - reach, 0)
        sync = _NO_WORD_CHAR.search(text, start, end) if start else None
        if sync or not start:  # words are read from a point no word spans
            words = list(WORD_RE.finditer(text, sync.end() if sync else 0, end))
            if len(words) >= k or not start:
                return words[-k:]
        reach *= 4
    return []


def _merge(spans: list[Span]) -> list[Span]:
    # Phrase spans may cover word spans; keep the widest, in order.
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and span[0] < merged[-1][1]:
            continue
        merged.append(span)
    return merged
