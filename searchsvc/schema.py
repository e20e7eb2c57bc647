"""The index's fields, and how a Document becomes a row of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

from searchsvc.analysis import exact_analyzer, stemming_analyzer

if TYPE_CHECKING:
    from searchsvc.reading.documents import Document

# A title word's weight against a body word's. A title still counts extra without a boost:
# a word in both title and body scores in each field (see ranking.py). On the relevance
# collections every boost above 1 lowered nDCG@10 (bench/README.md).
TITLE_BOOST = 1.0

# Fields a user may name in a query as field:value.
QUERY_FIELDS = ("title", "source", "place", "category")

# Fields with facet counts; each is also stored as a column so counting never reads the text.
FACET_FIELDS = ("year", "month", "source", "category", "place")


def build_schema() -> Schema:
    """The Whoosh schema of a searchsvc index."""
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=stemming_analyzer(), stored=True, field_boost=TITLE_BOOST),
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
    )


def to_fields(doc: Document) -> dict:
    """The field values Whoosh indexes for a document."""
    fields = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "exact": f"{doc.title}\n{doc.body}",
        "source": doc.source,
        "category": doc.category,
        "place": doc.place,
        "url": doc.url,
        "path": doc.path,
        "hash": doc.hash,
    }
    if doc.date is not None:
        fields["date"] = doc.date
        fields["year"] = f"{doc.date.year:04d}"
        fields["month"] = f"{doc.date.year:04d}-{doc.date.month:02d}"
    return fields
