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

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

import ahocorasick

COUNTRY, PERSON, ORGANISATION, IGNORE = "country", "person", "organisation", "ignore"

# A short name in capitals (US, UN) is skipped when a word beside it is in capitals too
# ("JOIN US FOR", "Please JOIN US for"), unless that word is a name itself ("US-EU").
SHORT = 3
_WORD_BEFORE = re.compile(r"([A-Za-z]+)[^A-Za-z\n]{0,3}$")
_WORD_AFTER = re.compile(r"[^A-Za-z\n]{0,3}([A-Za-z]+)")

# How far a rule of context looks on each side of a name, in characters.
CONTEXT = 60
# Words after "in" or "into" that leave a language a language: "in Spanish for parents",
# "in Spanish and English" (but "in Chinese hands" is China).
ENDING_WORDS = frozenset(
    "and or for at to with so as on by from again too but is was "  # noqa: SIM905
    "are were when while because if than then which that who the a an".split()
)
# Separators of a list of countries: "Egypt, Iraq, and Jordan", "Benin and Niger".
_LIST_GAP = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or)\s+|\s*/\s*)$")
# Names that do not confirm a neighbour in a list: in American text the US stands beside
# its states ("Atlanta, Georgia", "Georgia and America").
NOT_LIST_EVIDENCE = frozenset({"US"})


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
    """text lowercased, without accents and with one kind of space, letter for letter (the
    same length)."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lowercase is longer (İ: i + a dot)
        low = "".join(c.lower()[0] for c in text)
    # A name may break across a line or a no-break space ("Papua New\nGuinea").
    low = low.replace("\n", " ").replace("\xa0", " ").replace("\t", " ")
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
class Rule:
    """The company in which a name names no country (or, for a weak name, counts alone):
    words just before it, just after it, or just before it when nothing but punctuation or
    a small word follows ("in Spanish." but not "in Chinese hands"); each folded."""

    confirms: bool  # False: the name names no country here; True: a weak name counts
    preceded_by: tuple[str, ...] = ()
    followed_by: tuple[str, ...] = ()
    ending_after: tuple[str, ...] = ()


def context_words(phrase: str) -> str:
    """phrase as rules compare it: folded, hyphens as spaces, one space between words."""
    return " ".join(fold(phrase).replace("\u2019", "'").replace("-", " ").split())


@dataclass(frozen=True)
class Found:
    """The names one text mentions, each tuple sorted."""

    countries: tuple[str, ...] = ()  # ISO codes
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()


class Matcher:
    """An automaton over every spelling, and the rules that pick what a text names."""

    def __init__(
        self, spellings: dict[str, list[Entry]], rules: dict[str, list[Rule]] | None = None
    ):
        self.automaton = ahocorasick.Automaton()
        for key, entries in spellings.items():
            self.automaton.add_word(key, (len(key), tuple(entries)))
        self.automaton.make_automaton()
        self.rules = rules or {}  # folded name -> its rules of context
        self.acronyms = frozenset(
            e.exact for entries in spellings.values() for e in entries if e.exact
        )

    def find(self, text: str) -> Found:
        """The countries, people and organisations text names."""
        low = fold(text)
        picked = _longest(self._candidates(text, low))
        return _resolve(self._in_context(low, picked))

    def _candidates(self, text: str, low: str) -> list[tuple[int, int, list[Entry]]]:
        out = []
        size = len(low)
        for end, (length, entries) in self.automaton.iter(low):
            start = end - length + 1
            if (start and low[start - 1].isalnum()) or (end + 1 < size and low[end + 1].isalnum()):
                continue
            kept = [e for e in entries if _case_fits(e, text, start, end + 1, self.acronyms)]
            if kept:
                out.append((start, end + 1, kept))
        return out

    def _in_context(self, low: str, picked: list) -> list[list[Entry]]:
        """The picked groups, with the rules of context applied: a name in the company of
        a not_country rule names nothing (nor does a language listed after one: "speaks
        Spanish and French"); a weak name in the company of a confirmed_by rule, or listed
        beside another country ("Egypt, Iraq, and Jordan"), counts alone."""
        groups: list[list[Entry]] = []
        dropped_at = -1  # the end of the last name a rule dropped
        for i, (start, end, entries) in enumerate(picked):
            rules = self.rules.get(low[start:end])
            if rules and any(e.kind == COUNTRY for e in entries):
                before = _before(low, start)
                after = _after(low, end)
                if any(not r.confirms and _fits(r, before, after) for r in rules) or (
                    dropped_at >= 0 and _LIST_GAP.fullmatch(low[dropped_at:start])
                ):
                    groups.append([])
                    dropped_at = end
                    continue
                if any(e.weak for e in entries) and any(
                    r.confirms and _fits(r, before, after) for r in rules
                ):
                    entries = _confirmed(entries)
            if any(e.weak for e in entries) and _listed(low, picked, i):
                entries = _confirmed(entries)
            groups.append(entries)
        return groups


def _case_fits(
    entry: Entry, text: str, start: int, end: int, acronyms: frozenset[str] = frozenset()
) -> bool:
    if entry.kind == IGNORE:
        return True
    if entry.exact is None:
        return text[start].isupper() or not entry.capital
    if text[start:end] != entry.exact:
        return False
    if sum(c.isalpha() for c in entry.exact) > SHORT:
        return True
    return not _shouted(text, start, end, acronyms)


def _shouted(text: str, start: int, end: int, acronyms: frozenset[str]) -> bool:
    """Whether a word beside text[start:end] (on its line) is written in capitals and is
    not a name itself: "JOIN US FOR", "Please JOIN US for"; not "the US and", "US-EU"."""
    near = (
        _WORD_BEFORE.search(text, max(0, start - 30), start),
        _WORD_AFTER.match(text, end, end + 30),
    )
    for m in near:
        word = m.group(1) if m else ""
        if len(word) > 1 and word.isupper() and word not in acronyms:
            return True
    return False


def _before(low: str, start: int) -> str:
    return " " + context_words(low[max(0, start - CONTEXT) : start])


def _ends_with(before: str, words: tuple[str, ...]) -> bool:
    return any(before.endswith(w) and not before[-len(w) - 1].isalnum() for w in words)


def _after(low: str, end: int) -> str:
    return context_words(low[end : end + CONTEXT]) + " "


def _fits(rule: Rule, before: str, after: str) -> bool:
    """Whether the folded words before and after a name are the rule's company."""
    if _ends_with(before, rule.preceded_by):
        return True
    if any(after.startswith(w) and not after[len(w)].isalnum() for w in rule.followed_by):
        return True
    if _ends_with(before, rule.ending_after):
        head = after[:1]
        if not head.isalnum():  # punctuation or the end: "in Spanish.", "(Speaks Spanish.)"
            return head != " " or not after.strip()
        return after.split(" ", 1)[0] in ENDING_WORDS
    return False


def _confirmed(entries: list[Entry]) -> list[Entry]:
    return [dataclasses.replace(e, weak=False) if e.weak else e for e in entries]


def _listed(low: str, picked: list, i: int) -> bool:
    """Whether picked[i] stands in a list beside a strong country name (not the US)."""
    for j in (i - 1, i + 1):
        if not 0 <= j < len(picked):
            continue
        a, b = (picked[j][1], picked[i][0]) if j < i else (picked[i][1], picked[j][0])
        if b - a > 12 or not _LIST_GAP.fullmatch(low[a:b]):
            continue
        if any(
            e.kind == COUNTRY and not e.weak and e.target not in NOT_LIST_EVIDENCE
            for e in picked[j][2]
        ):
            return True
    return False


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
