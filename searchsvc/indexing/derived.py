"""Fields derived from a release's text at index time: its countries, people, organisations.

    Document --with_entities (Recognizer)--> Document with country, person, organisation

When the lists behind them change (the manifest's mark differs from the Recognizer's
fingerprint), the next run re-derives them for every indexed release, from its stored
title and body, without reading any source file:

    live documents' stored fields --outdated()--> those whose entities differ, re-derived
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from searchsvc.entities import Recognizer
from searchsvc.reading import Document

MARK = "entities"  # the manifest's name for the Recognizer's fingerprint
FIELDS = ("country", "person", "organisation")  # the Document's fields derived here

_FIELDS = dataclasses.fields(Document)


def with_entities(doc: Document, recognizer: Recognizer) -> Document:
    """The document with the countries, people and organisations its text names."""
    return recognizer.annotate(doc)


def outdated(ix, recognizer: Recognizer, skip: set[str]) -> Iterator[Document]:
    """Each live document (not in skip) whose entities the recognizer now sees otherwise."""
    with ix.reader() as reader:
        for _, stored in reader.iter_docs():
            if stored.get("id") in skip:
                continue
            old = _document(stored)
            new = with_entities(old, recognizer)
            if (new.country, new.person, new.organisation) != (
                old.country,
                old.person,
                old.organisation,
            ):
                yield new


def _document(stored: dict) -> Document:
    """A Document back from its stored fields (a list stored for a tuple field)."""
    values = {}
    for f in _FIELDS:
        if f.name not in stored:
            continue
        value = stored[f.name]
        if isinstance(f.default, tuple):
            value = tuple(value) if isinstance(value, (list, tuple)) else _split(value)
        values[f.name] = value
    return Document(**values)


def _split(value: object) -> tuple[str, ...]:
    # A tuple field stored as one string: values joined by newlines.
    return tuple(v for v in str(value or "").split("\n") if v)
