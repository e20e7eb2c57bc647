"""Writing a Whoosh index: how a Document becomes a row of the schema's fields."""

from __future__ import annotations

from searchsvc.reading import Document


def to_fields(doc: Document) -> dict[str, object]:
    """The field values Whoosh indexes for a document."""
    fields: dict[str, object] = {
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
