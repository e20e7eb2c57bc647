"""The OpenSearch index: its analysis, its mapping (versioned), and a Document as a source.

The analysers mirror the embedded engine's (searchsvc.analysis), so that the same words
become the same terms on both backends:

    text --dots and apostrophes inside words dropped ("U.S." -> "US")--> the standard
         tokenizer (Unicode word breaks) --lowercase--> fold accents --(stemmed: drop our
         stop words, then the English Snowball stemmer)--> terms

The standard tokenizer, not a pattern one like our own regular expression: osmem-server
analyses text with a pattern tokenizer but indexes nothing through it. The standard
tokenizer keeps a word whole across a colon, comma or semicolon ("FACT SHEET:Biden",
"10:30", "1,000"), where ours ends it; those are made spaces first (BREAKS).

``exact`` keeps every word unstemmed with its position, for quoted phrases. Facets are
keywords (counted whole, as written) with a ``words`` subfield, so ``source:trend`` finds
"Trend News Agency" as the embedded engine does, and a ``key`` subfield that a chosen value
is matched on: the value lowercased and folded by a normalizer (lowercase, asciifolding,
which also makes ’ an '), as searching.value_key folds it, so ``country=cote d'ivoire``
finds "Côte d’Ivoire". The key is a subfield, not a normalizer on the facet itself: a
terms aggregation gives the normalized value, and the facet lists must show it as written.

A change to anything here that changes what is indexed must raise MAPPING_VERSION: a
backend refuses to write into an index of another version and says to run --rebuild.
"""

from __future__ import annotations

from typing import Any

from searchsvc import minhash
from searchsvc.analysis import STOP
from searchsvc.opensearch.names import release_names
from searchsvc.opensearch.stories import signature_fields
from searchsvc.reading import Document
from searchsvc.schema import FACETS

# 2: minhash, bands and story, for grouping syndicated copies (stories.py); names (names.py)
# 3: each facet's folded ``key`` subfield, that chosen values are matched on; BREAKS
MAPPING_VERSION = 3

# The facet subfield a chosen value is matched on (folded: the searchsvc_fold normalizer).
KEY = "key"

# Facet fields: keyword values, and their words for field:value queries.
# The declared facets' fields (schema.FACETS); year and month come from the date.
FACET_KEYWORDS = tuple(f.name for f in FACETS if not f.timeline)

BREAKS = (  # : ; , and their kin (Unicode's MidLetter and MidNum), the narrow no-break space
    "[:;,\u00b7\u0387\u05f4\u066c\u2027\u202f\ufe10\ufe13\ufe14\ufe50\ufe54\ufe55\uff0c\uff1a\uff1b]"
)

_ANALYSIS = {
    "char_filter": {
        # RE2 and Java both read this; no look-behind (osmem's engine has none). Run twice:
        # a match takes the letter after the mark, so "U.S.C" is "US.C" after one pass.
        "inword": {"type": "pattern_replace", "pattern": "(\\w)['’.](\\w)", "replacement": "$1$2"},
        # What the standard tokenizer keeps inside a word (Unicode's MidLetter and MidNum:
        # "SHEET:Biden", "1,000", "800\u202fper") and our words end at: a space.
        "breaks": {"type": "pattern_replace", "pattern": BREAKS, "replacement": " "},
        # Joiners and soft hyphens, which our words drop (analysis._INVISIBLE).
        "invisible": {
            "type": "pattern_replace",
            "pattern": "[\u00ad\u200c\u200d]",
            "replacement": "",
        },
    },
    "filter": {
        "searchsvc_stop": {"type": "stop", "stopwords": sorted(STOP)},
        "english_snowball": {"type": "snowball", "language": "English"},
    },
    # A facet value as searching.value_key compares it: any case, no accents, ’ as '.
    "normalizer": {"searchsvc_fold": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    "analyzer": {
        "searchsvc_stemmed": {
            "type": "custom",
            "char_filter": ["invisible", "inword", "inword", "breaks"],
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "searchsvc_stop", "english_snowball"],
        },
        "searchsvc_exact": {
            "type": "custom",
            "char_filter": ["invisible", "inword", "inword", "breaks"],
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        },
    },
}


def index_body(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings and mapping of a new physical index."""
    exact = {"type": "text", "analyzer": "searchsvc_exact"}
    stemmed = {"type": "text", "analyzer": "searchsvc_stemmed", "copy_to": "exact"}
    key = {"type": "keyword", "normalizer": "searchsvc_fold"}
    facet = {"type": "keyword", "fields": {"words": exact, KEY: key}}
    properties: dict[str, Any] = {
        "id": {"type": "keyword"},
        "title": stemmed,
        "body": stemmed,
        "exact": exact,
        "date": {"type": "date"},
        "year": {"type": "keyword"},
        "month": {"type": "keyword"},
        "url": {"type": "keyword", "index": False},
        "path": {"type": "keyword"},
        "hash": {"type": "keyword"},
        # Syndicated copies (stories.py): the signature kept, its bands found, the group.
        "minhash": {"type": "binary"},
        "bands": {"type": "keyword"},
        "story": {"type": "keyword"},
        # "Also try" (names.py): the release's words, aggregated (doc values), never searched.
        "names": {"type": "keyword", "index": False},
        **{name: facet for name in FACET_KEYWORDS},
    }
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "analysis": _ANALYSIS,
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"searchsvc_mapping": MAPPING_VERSION},
            "properties": properties,
        },
    }


def to_source(doc: Document) -> dict[str, Any]:
    """A Document as the JSON the index stores."""
    source: dict[str, Any] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "path": doc.path,
        "hash": doc.hash,
        # The signature of the same text as the embedded engine's (indexing/writing.py).
        **signature_fields(minhash.signature(doc.body or doc.title), doc.id),
        "names": release_names(doc.title, doc.body),
    }
    for name in FACET_KEYWORDS:
        value = getattr(doc, name)
        if value:  # a multi-valued facet: a JSON array, which a keyword field takes whole
            source[name] = value if isinstance(value, str) else list(value)
    if doc.date is not None:
        source["date"] = doc.date.isoformat()
        source["year"] = f"{doc.date:%Y}"
        source["month"] = f"{doc.date:%Y-%m}"
    return source
