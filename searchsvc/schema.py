"""The index's fields: what is stored, stemmed, kept exact, and counted as a facet."""

from __future__ import annotations

from whoosh.fields import COLUMN, DATETIME, ID, STORED, TEXT, Schema

from searchsvc.analysis import exact_analyzer, stemming_analyzer

# Fields a user may name in a query as field:value.
QUERY_FIELDS = ("title", "source", "place", "category")

# Fields with facet counts; each is also stored as a column so counting never reads the text.
FACET_FIELDS = ("year", "month", "source", "category", "place")


def build_schema() -> Schema:
    """The Whoosh schema of a searchsvc index."""
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=stemming_analyzer(), stored=True),
        # The stemmed body needs no positions: phrases are answered by the exact field.
        body=TEXT(analyzer=stemming_analyzer(), stored=True, phrase=False),
        # Title and body again, every word kept and unstemmed, with positions for phrases.
        exact=TEXT(analyzer=exact_analyzer(), phrase=True),
        date=DATETIME(stored=True, sortable=True),
        year=ID(stored=True, sortable=True),
        month=ID(stored=True, sortable=True),
        # Facet text fields: searchable word by word (source:trend), with the whole original
        # value in a column for facet counts and exact filters.
        source=TEXT(analyzer=exact_analyzer(), stored=True, sortable=True),
        category=TEXT(analyzer=exact_analyzer(), stored=True, sortable=True),
        place=TEXT(analyzer=exact_analyzer(), stored=True, sortable=True),
        url=STORED(),
        path=ID(stored=True, sortable=True),
        hash=ID(stored=True, sortable=True),
        # The MinHash signature of the body (searchsvc.minhash), for grouping near-duplicates.
        minhash=COLUMN(),
    )
