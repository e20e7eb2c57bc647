"""A Recognizer: the gazetteer and the name lists, ready to read releases.

    countries.yaml + data packages --gazetteer--\\
    people.yaml, organisations.yaml --lists------> spellings --> Matcher (built when first used)
    title, body --recognise--> Entities: country labels, people, organisations

Its fingerprint digests the files and the packages' versions without building anything,
so an indexing run with nothing to read stays cheap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

from searchsvc.entities.gazetteer import CONTEXT_KEYS, cached_gazetteer, spellings
from searchsvc.entities.lists import (
    COUNTRIES_FILE,
    ORGANISATIONS_FILE,
    PEOPLE_FILE,
    fingerprint,
    read_names,
    read_yaml,
)
from searchsvc.entities.matcher import (
    COUNTRY,
    IGNORE,
    ORGANISATION,
    PERSON,
    SHORT,
    Entry,
    Matcher,
    Rule,
    context_words,
    fold,
)
from searchsvc.reading import Document


@dataclass(frozen=True)
class Entities:
    """What a release names: country labels, people and organisations, each sorted."""

    countries: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()


class Recognizer:
    """Finds the countries, people and organisations a release names."""

    def __init__(
        self,
        people_file: str | Path | None = None,
        organisations_file: str | Path | None = None,
        countries_file: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ):
        self.people_file = Path(people_file or PEOPLE_FILE)
        self.cache_dir = Path(cache_dir) if cache_dir else None  # for the built gazetteer
        self.organisations_file = Path(organisations_file or ORGANISATIONS_FILE)
        self.countries_file = Path(countries_file or COUNTRIES_FILE)
        self._fingerprint: str | None = None
        self._matcher: Matcher | None = None
        self._labels: dict[str, str] = {}

    @property
    def fingerprint(self) -> str:
        """A digest of everything recognition depends on (ListError if a file is unreadable)."""
        if self._fingerprint is None:
            files = (self.countries_file, self.people_file, self.organisations_file)
            self._fingerprint = fingerprint(*files)
        return self._fingerprint

    def prepare(self) -> Recognizer:
        """Read the lists and build the matcher now (before forking workers, say)."""
        if self._matcher is None:
            self._matcher, self._labels = self._build()
        return self

    def recognise(self, title: str, body: str) -> Entities:
        """The entities a release with this title and body names."""
        found = self.prepare()._matcher.find(f"{title}\n{body}")  # type: ignore[union-attr]
        labels = self._labels
        countries = sorted({labels.get(code, code) for code in found.countries})
        return Entities(tuple(countries), found.people, found.organisations)

    def annotate(self, doc: Document) -> Document:
        """The document with the countries, people and organisations its text names."""
        found = self.recognise(doc.title, doc.body)
        return dataclasses.replace(
            doc, country=found.countries, person=found.people, organisation=found.organisations
        )

    def _build(self) -> tuple[Matcher, dict[str, str]]:
        gaz = cached_gazetteer(self.countries_file, self.cache_dir)
        table: dict[str, list[Entry]] = {}
        for name, code in gaz.names.items():
            _add(table, name, COUNTRY, code)
        for name, code in gaz.confirm.items():
            _add(table, name, COUNTRY, code, weak=True)
        for phrase in gaz.ignore:
            _add(table, str(phrase), IGNORE, "")
        for kind, path in ((PERSON, self.people_file), (ORGANISATION, self.organisations_file)):
            for canonical, variants in read_names(path).items():
                for name in dict.fromkeys([canonical, *variants]):
                    _add(table, name, kind, canonical)
        rules: dict[str, list[Rule]] = {}
        for confirms, found in ((False, gaz.not_country), (True, gaz.confirmed_by)):
            for raw in found:
                rule = Rule(confirms, *(_words(raw.get(k)) for k in CONTEXT_KEYS))
                for name in raw["names"]:
                    for spelling in spellings(name):
                        rules.setdefault(fold(spelling), []).append(rule)
        return Matcher(table, rules), gaz.labels


def _words(phrases: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(context_words(p) for p in phrases or ()))


def _add(table: dict[str, list[Entry]], name: str, kind: str, target: str, weak=False) -> None:
    # A name in capitals only (US, UN) matches only so; so does a short one in mixed case
    # (Xi): "XI" is a Roman numeral (Title XI, Pius XI), not the name.
    letters = sum(c.isalpha() for c in name)
    exact_case = kind != IGNORE and (not any(c.islower() for c in name) or letters <= SHORT)
    for spelling in spellings(name):
        capital = not spelling[:1].islower()
        entry = Entry(kind, target, spelling if exact_case else None, weak, capital)
        entries = table.setdefault(fold(spelling), [])
        if entry not in entries:
            entries.append(entry)


def country_label(value: str) -> str:
    """The facet label of a country given by label, name, ISO code or one of the aliases the
    recogniser knows it by (UK, America, Ivory Coast, Burma); value if none fits."""
    text = value.strip()
    labels = _labels()
    if text.upper() in labels:  # a code pycountry lacks (XK: Kosovo)
        return labels[text.upper()]
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        folded = text.casefold()
        code = _aliases().get(folded)
        if code in labels:
            return labels[code]
        return next((label for label in labels.values() if label.casefold() == folded), text)
    return labels.get(country.alpha_2, text)


_LABELS: dict[str, str] = {}


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    """countries.yaml's aliases, folded, each to its ISO code (read once, whole)."""
    data = read_yaml(COUNTRIES_FILE)
    found = (data.get("aliases") if isinstance(data, dict) else None) or {}
    aliases: dict[str, str] = {}
    for code, names in found.items():
        for name in names or ():
            aliases.setdefault(str(name).casefold(), str(code))
    return aliases


def _labels() -> dict[str, str]:
    if not _LABELS:
        data = read_yaml(COUNTRIES_FILE)
        display = (data.get("display") if isinstance(data, dict) else None) or {}
        for c in pycountry.countries:
            _LABELS[c.alpha_2] = display.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
        for code, label in display.items():  # codes pycountry lacks (XK: Kosovo)
            _LABELS.setdefault(str(code), str(label))
    return _LABELS
