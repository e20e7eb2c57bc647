"""The index's fields: what is stored, stemmed, kept exact, and counted as a facet.

Facets are declared once, in FACETS. Everything else derives from that tuple: the schema's
facet fields (below), FACET_FIELDS and QUERY_FIELDS, the filter parameters of SearchRequest
(and so the CLI's options, the API's query string and OpenAPI), the page's sidebar and
chips, the feed's and the export's filters. Adding a facet is one line here, plus the
index-time value: a facet named X reads ``Document.X`` (a str, or a tuple of str if
multi-valued) when the document is written (indexing/writing.py: to_fields).

Storage of a multi-valued facet: the stored field holds its values as a list of str; the
sortable column holds them sorted, de-duplicated and joined by "\\n" (a value never holds a
newline); the indexed text is the same joined string, so the field is searchable word by
word (``category:energy``). A single-valued facet stores and columns its one str.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

from searchsvc.analysis import exact_analyzer, stemming_analyzer

# Between the values of a multi-valued facet, in its column and indexed text.
VALUE_SEPARATOR = "\n"
# The value a document without any value of a facet is counted and filtered as.
NONE_VALUE = "(none)"


@dataclass(frozen=True)
class Facet:
    """One facet: a field counted per value, shown in the sidebar and filterable."""

    name: str  # the field, the filter parameter (?place=) and the CLI option (--place)
    label: str  # the page's heading and chip label: "Place"
    plural: str  # for the page's "Filter places…" and "Show more places"
    multi_valued: bool = False  # a document may have several values (tags)
    # year and month: derived from the date, drawn as the timeline (in date order), never
    # counted as (none); a filter on them narrows their own counts, as a date range does.
    timeline: bool = False
    help: str = ""  # one line for the CLI and OpenAPI; a default is made from the label


FACETS: tuple[Facet, ...] = (
    Facet("year", "Year", "years", timeline=True, help="Only this year, e.g. 2023."),
    Facet("month", "Month", "months", timeline=True, help="Only this month, e.g. 2023-05."),
    Facet("source", "Source", "sources"),
    Facet("category", "Category", "categories", multi_valued=True),
    Facet("place", "Place", "places"),
    # What a release names, recognised at index time (searchsvc.entities).
    Facet(
        "country",
        "Country",
        "countries",
        multi_valued=True,
        help="Only releases naming this country: a name or an ISO code (TM, Turkmenistan).",
    ),
    Facet(
        "person", "Person", "people", multi_valued=True, help="Only releases naming this person."
    ),
    Facet(
        "organisation",
        "Organisation",
        "organisations",
        multi_valued=True,
        help="Only releases naming this organisation.",
    ),
)

# Fields with facet counts; each is also stored as a column so counting never reads the text.
FACET_FIELDS = tuple(f.name for f in FACETS)
BY_FACET: dict[str, Facet] = {f.name: f for f in FACETS}
# Fields a user may name in a query as field:value (year and month too: see query.py).
QUERY_FIELDS = ("title", *(f.name for f in FACETS if not f.timeline))


class MultiText(TEXT):
    """A facet text field whose stored value may be a list of str.

    Whoosh gives the stored value to the column too, and its own fields column only the
    first item of a list; this one columns them all, sorted, de-duplicated, joined by "\\n".
    At module level: Whoosh pickles the schema into the index.
    """

    def to_column_value(self, value):
        if isinstance(value, (list, tuple)):
            value = join_values(value)
        return super().to_column_value(value)


def join_values(values: Iterable[str]) -> str:
    """Values as a multi-valued facet's column and indexed text hold them."""
    return VALUE_SEPARATOR.join(sorted({v for v in values if v}))


def split_values(text: str) -> list[str]:
    """A column's (or an old stored str's) values; [] for none."""
    return [v for v in text.split(VALUE_SEPARATOR) if v] if text else []


def stored_values(stored: Mapping, name: str) -> tuple[str, ...]:
    """A multi-valued facet's values from a stored document (a list, or a str if older)."""
    value = stored.get(name)
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(split_values(value))
    return tuple(str(v) for v in value if v)


def schema_changes(schema: Schema) -> list[str]:
    """How an index's schema differs from build_schema()'s: fields added, gone or retyped.

    An index written before a facet was declared (or made multi-valued) can still be
    searched, but not updated: its documents would lack the new field's values.
    """
    wanted = build_schema()
    changes = [f"new field {name}" for name in wanted.names() if name not in schema]
    changes += [f"no field {name} any more" for name in schema.names() if name not in wanted]
    changes += [
        f"field {name} is now {type(wanted[name]).__name__}"
        for name in wanted.names()
        if name in schema and type(schema[name]) is not type(wanted[name])
    ]
    return changes


def _facet_field(facet: Facet):
    if facet.timeline:
        return ID(stored=True, sortable=True)
    # Facet text fields: searchable word by word (source:trend), with the whole original
    # value(s) in a column for facet counts and exact filters.
    kind = MultiText if facet.multi_valued else TEXT
    return kind(analyzer=exact_analyzer(), stored=True, sortable=True)


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
        **{f.name: _facet_field(f) for f in FACETS},
        url=STORED(),
        path=ID(stored=True, sortable=True),
        hash=ID(stored=True, sortable=True),
    )
