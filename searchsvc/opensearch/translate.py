"""The project's parsed query (a Whoosh query tree) as OpenSearch's query DSL.

The query is parsed once, by searching's parser, on both backends: the same words, the
same stems (the tree's terms are already analysed), the same AND/OR/NOT. This module only
walks the tree and writes each node as its DSL twin; user text never reaches OpenSearch
as a ``query_string``.

    Term(body, "consult")      -> {"term": {"body": "consult"}}
    Phrase(exact, [a, b])      -> {"match_phrase": {"exact": "a b"}}
    And / Or / Not / AndNot    -> bool must / should / must_not
    Prefix, Wildcard, Fuzzy    -> prefix, wildcard, fuzzy (expanded by OpenSearch)
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq

from searchsvc.opensearch.mapping import FACET_KEYWORDS


class UntranslatableQuery(ValueError):
    """A query node with no DSL twin here; the message names it."""


def to_dsl(q: wq.Query) -> dict[str, Any]:
    """The DSL for a parsed query."""
    return _node(q)


def _field(name: str) -> str:
    # Facet fields match word by word, as the embedded engine's facet text fields do.
    return f"{name}.words" if name in FACET_KEYWORDS else name


def _boosted(clause: dict[str, Any], q: wq.Query) -> dict[str, Any]:
    boost = getattr(q, "boost", 1.0)
    if boost == 1.0:
        return clause
    return {"bool": {"must": [clause], "boost": boost}}


def _node(q: wq.Query) -> dict[str, Any]:
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return {"match_none": {}}
    if isinstance(q, wq.Every):
        return {"match_all": {}}
    if isinstance(q, wq.Term) and not isinstance(q, wq.MultiTerm):
        return _boosted({"term": {_field(q.fieldname): q.text}}, q)
    if isinstance(q, wq.Phrase):
        # Whoosh's slop 1 is words side by side: OpenSearch's slop 0.
        clause = {"match_phrase": {_field(q.fieldname): {"query": " ".join(q.words)}}}
        if q.slop > 1:
            clause["match_phrase"][_field(q.fieldname)]["slop"] = q.slop - 1
        return _boosted(clause, q)
    if isinstance(q, wq.FuzzyTerm):
        fuzzy = {"value": q.text, "fuzziness": q.maxdist, "prefix_length": q.prefixlength}
        return _boosted({"fuzzy": {_field(q.fieldname): fuzzy}}, q)
    if isinstance(q, wq.Prefix):
        return _boosted({"prefix": {_field(q.fieldname): q.text}}, q)
    if isinstance(q, wq.Wildcard):
        return _boosted({"wildcard": {_field(q.fieldname): q.text}}, q)
    if isinstance(q, wq.AndNot):
        return _boosted({"bool": {"must": [_node(q.a)], "must_not": [_node(q.b)]}}, q)
    if isinstance(q, wq.AndMaybe):
        return _boosted({"bool": {"must": [_node(q.a)], "should": [_node(q.b)]}}, q)
    if isinstance(q, wq.Require):
        return _boosted({"bool": {"must": [_node(q.a)], "filter": [_node(q.b)]}}, q)
    if isinstance(q, wq.Not):
        return {"bool": {"must": [{"match_all": {}}], "must_not": [_node(q.query)]}}
    if isinstance(q, wq.And):
        return _boosted({"bool": {"must": [_node(c) for c in q.subqueries]}}, q)
    if isinstance(q, wq.Or):
        should = [_node(c) for c in q.subqueries]
        return _boosted({"bool": {"should": should, "minimum_should_match": 1}}, q)
    raise UntranslatableQuery(f"{type(q).__name__} queries cannot be sent to OpenSearch")
