"""Recognising countries, people and organisations in a release: one pass over its text.

    every name of the gazetteer and the lists, folded --> one Aho-Corasick automaton
    a text, folded (lowercase, no accents: one letter for one) --automaton-->
        every occurrence of every name (C, one pass)
        --> whole words only, case rules --> leftmost longest, no overlaps
        --> countries (weak names need a strong one), people (shared names resolved)

Case rules: a name in capitals only (US, UN) matches only as written, and not inside a
stretch of capitals (a shouted "JOIN US"); any other name needs a capital first letter
("Turkey", "BAKU"; not "turkey") unless it is listed without one ("von der Leyen").
Ignored phrases ("China clay") match in any case and name nothing, hiding the names
inside them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ahocorasick

COUNTRY, PERSON, ORGANISATION, IGNORE = "country", "person", "organisation", "ignore"

# A short name in capitals (US, UN) is skipped with no lowercase letter this near.
SHOUT_WINDOW = 24
SHORT = 3


def _fold_table() -> dict[int, str]:
    # Latin letters with accents to their base letter, one for one (ş -> s, Ý -> y), so
    # that "Aşgabat" and "Türkmen" match "Asgabat" and "Turkmen" and offsets stay put.
    table = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0].lower()
        if base.isascii() and base.isalpha():
            table[code] = base
    return table


_FOLD = _fold_table()
_ACCENTED = re.compile("[\u00c0-\u024f]")


def fold(text: str) -> str:
    """text lowercased and without accents, letter for letter (the same length)."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lowercase is longer (İ: i + a dot)
        low = "".join(c.lower()[0] for c in text)
    # Only the accented letters are looked up (translate() would look up all: 2 ms).
    return _ACCENTED.sub(_unaccent, low)


def _unaccent(m: re.Match) -> str:
    return _FOLD.get(ord(m.group()), m.group())


@dataclass(frozen=True)
class Entry:
    """What one spelling stands for."""

    kind: str  # COUNTRY, PERSON, ORGANISATION or IGNORE
    target: str  # ISO code, canonical name, or "" for IGNORE
    exact: str | None = None  # a name in capitals only: the only form that matches
    weak: bool = False  # a country name that needs another name of the country
    capital: bool = True  # whether the name starts with a capital ("von der Leyen" does not)


@dataclass(frozen=True)
class Found:
    """The names one text mentions, each tuple sorted."""

    countries: tuple[str, ...] = ()  # ISO codes
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()


class Matcher:
    """An automaton over every spelling, and the rules that pick what a text names."""

    def __init__(self, spellings: dict[str, list[Entry]]):
        self.automaton = ahocorasick.Automaton()
        for key, entries in spellings.items():
            self.automaton.add_word(key, (len(key), tuple(entries)))
        self.automaton.make_automaton()

    def find(self, text: str) -> Found:
        """The countries, people and organisations text names."""
        low = fold(text)
        picked = _longest(self._candidates(text, low))
        return _resolve([entries for _, _, entries in picked])

    def _candidates(self, text: str, low: str) -> list[tuple[int, int, list[Entry]]]:
        out = []
        size = len(low)
        for end, (length, entries) in self.automaton.iter(low):
            start = end - length + 1
            if (start and low[start - 1].isalnum()) or (end + 1 < size and low[end + 1].isalnum()):
                continue
            kept = [e for e in entries if _case_fits(e, text, start, end + 1)]
            if kept:
                out.append((start, end + 1, kept))
        return out


def _case_fits(entry: Entry, text: str, start: int, end: int) -> bool:
    if entry.kind == IGNORE:
        return True
    if entry.exact is None:
        return text[start].isupper() or not entry.capital
    if text[start:end] != entry.exact:
        return False
    if sum(c.isalpha() for c in entry.exact) > SHORT:
        return True
    around = text[max(0, start - SHOUT_WINDOW) : start] + text[end : end + SHOUT_WINDOW]
    return any(c.islower() for c in around)


def _longest(candidates: list[tuple[int, int, list[Entry]]]) -> list:
    """The leftmost longest candidates that do not overlap."""
    candidates.sort(key=lambda c: (c[0], c[0] - c[1]))
    picked, reach = [], 0
    for cand in candidates:
        if cand[0] >= reach:
            picked.append(cand)
            reach = cand[1]
    return picked


def _resolve(groups: list[list[Entry]]) -> Found:
    """What the picked spellings name, each spelling's entries a group."""
    countries: set[str] = set()
    people: set[str] = set()
    shared: list[frozenset[str]] = []
    orgs: set[str] = set()
    for group in groups:
        if any(e.kind == IGNORE for e in group):
            continue
        for e in group:
            if e.kind == COUNTRY:
                if not e.weak:
                    countries.add(e.target)
            elif e.kind == ORGANISATION:
                orgs.add(e.target)
        named = frozenset(e.target for e in group if e.kind == PERSON)
        if len(named) == 1:
            people |= named
        elif named:
            shared.append(named)
    for names in shared:  # "Berdimuhamedov": the Berdimuhamedov the release names in full
        if len(names & people) == 1:
            people |= names & people
    # A weak name (Georgia, Jordan) counts only beside a strong one (Tbilisi, Jordanian),
    # which names the country already: weak names add nothing, but hide what is inside them.
    return Found(tuple(sorted(countries)), tuple(sorted(people)), tuple(sorted(orgs)))
