"""The project's parsed query (a Whoosh query tree) as OpenSearch's query DSL.

The query is parsed once, by searching's parser, on both backends: the same words, the
same stems (the tree's terms are already analysed), the same AND/OR/NOT. This module only
walks the tree and writes each node as its DSL twin; user text never reaches OpenSearch
as a ``query_string``.

    Term(body, "consult")      -> {"match": {"body": "consultations"}}: the word as typed,
                                  stemmed by OpenSearch's analyser, as its index was
    Phrase(exact, [a, b])      -> {"match_phrase": {"exact": "a b"}}; with a slop ("a b"~3),
                                  ordered span_near queries (see _near)
    And / Or / Not / AndNot    -> bool must / should / must_not
    Prefix, Wildcard, Fuzzy    -> prefix, wildcard, fuzzy (expanded by OpenSearch)
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from rapidfuzz.distance import OSA
from whoosh import query as wq

from searchsvc.analysis import WORD_RE, exact_term, stem_term
from searchsvc.opensearch.mapping import FACET_KEYWORDS


class UntranslatableQuery(ValueError):
    """A query node with no DSL twin here; the message names it."""


def to_dsl(q: wq.Query, typed: str = "") -> dict[str, Any]:
    """The DSL for a parsed query; typed is the text it was parsed from.

    A stemmed word is sent as the user typed it, for the cluster's own analyser to stem:
    the same stem our Snowball stemmer gives on OpenSearch, and on a server whose stemmer
    differs (osmem-server stems "gas" to "ga"), at least the stem its own index holds.
    """
    typed_as: dict[str, list[str]] = {}
    for word in WORD_RE.findall(typed):
        stem = stem_term(word)
        if stem is not None and word not in typed_as.setdefault(stem, []):
            typed_as[stem].append(word)
    return _Translator(typed_as).node(q)


def _field(name: str) -> str:
    # Facet fields match word by word, as the embedded engine's facet text fields do.
    return f"{name}.words" if name in FACET_KEYWORDS else name


def _boosted(clause: dict[str, Any], q: wq.Query) -> dict[str, Any]:
    boost = getattr(q, "boost", 1.0)
    if boost == 1.0:
        return clause
    return {"bool": {"must": [clause], "boost": boost}}


def expands(q: wq.Query) -> bool:
    """Whether the query holds prefix*, wildcard or fuzzy~ words (OpenSearch expands them)."""
    return any(isinstance(node, wq.MultiTerm) for node in [q, *q.leaves()])


def expanded_in(q: wq.Query, text: str) -> tuple[set[str], set[str]]:
    """The stems and exact words of text that the query's prefix*, wildcard and fuzzy~
    words stand for: what the embedded engine, which expands them over its lexicon, marks.

    Worked out from the hit's own words, not from the cluster's highlighter, whose marks
    osmem-server misplaces in text with multi-byte characters.
    """
    nodes = [n for n in [q, *q.leaves()] if isinstance(n, wq.MultiTerm)]
    if not nodes:
        return set(), set()
    exact = {exact_term(w) for w in WORD_RE.findall(text)}
    stems = {s for w in WORD_RE.findall(text) if (s := stem_term(w)) is not None}
    found: tuple[set[str], set[str]] = (set(), set())
    for node in nodes:
        stemmed = node.fieldname in STEMMED
        words = stems if stemmed else exact
        found[0 if stemmed else 1].update(w for w in words if _stands_for(node, w))
    return found


def _stands_for(node: wq.MultiTerm, word: str) -> bool:
    if isinstance(node, wq.FuzzyTerm):
        prefix = node.text[: node.prefixlength]
        return word.startswith(prefix) and OSA.distance(node.text, word) <= node.maxdist
    if isinstance(node, wq.Prefix):
        return word.startswith(node.text)
    if isinstance(node, wq.Wildcard):
        return fnmatchcase(word, node.text)
    return False


class _Translator:
    def __init__(self, typed_as: dict[str, list[str]]):
        self.typed_as = typed_as

    def term(self, q: wq.Term) -> dict[str, Any]:
        field = _field(q.fieldname)
        words = self.typed_as.get(q.text) if q.fieldname in STEMMED else None
        if not words:
            return {"term": {field: q.text}}
        clauses = [{"match": {field: {"query": w, "operator": "and"}}} for w in words]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses}}

    def node(self, q: wq.Query) -> dict[str, Any]:
        return _node(q, self)


STEMMED = ("title", "body")


def _near(field: str, words: list[str], between: int) -> dict[str, Any]:
    """A phrase with room: each word 0 to `between` words after the one before, in order,
    as the embedded engine matches "a b"~N (scoring/phrases.py, Whoosh's SpanNear2).

    Not match_phrase with a slop: that is an edit distance, which also accepts the words
    swapped ("president the" for "the president"~3). Ordered span_near queries over the
    phrase's terms (already analysed by our parser): the whole phrase within the sum of
    the gaps, each pair of neighbours within one gap. (Nested span_near would say it
    exactly; osmem-server refuses a span_near inside another.)
    """

    def span(ws: list[str], slop: int) -> dict[str, Any]:
        clauses = [{"span_term": {field: w}} for w in ws]
        return {"span_near": {"clauses": clauses, "slop": slop, "in_order": True}}

    whole = span(list(words), between * (len(words) - 1))
    if len(words) == 2:
        return whole
    pairs = [span([a, b], between) for a, b in zip(words, words[1:], strict=False)]
    return {"bool": {"must": [whole], "filter": pairs}}


def _node(q: wq.Query, t: _Translator) -> dict[str, Any]:
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return {"match_none": {}}
    if isinstance(q, wq.Every):
        return {"match_all": {}}
    if isinstance(q, wq.Term) and not isinstance(q, wq.MultiTerm):
        return _boosted(t.term(q), q)
    if isinstance(q, wq.Phrase):
        if q.slop > 1 and len(q.words) > 1:
            return _boosted(_near(_field(q.fieldname), q.words, q.slop - 1), q)
        # Whoosh's slop 1 is words side by side: OpenSearch's slop 0.
        return _boosted({"match_phrase": {_field(q.fieldname): {"query": " ".join(q.words)}}}, q)
    if isinstance(q, wq.FuzzyTerm):
        fuzzy = {"value": q.text, "fuzziness": q.maxdist, "prefix_length": q.prefixlength}
        return _boosted({"fuzzy": {_field(q.fieldname): fuzzy}}, q)
    if isinstance(q, wq.Prefix):
        return _boosted({"prefix": {_field(q.fieldname): q.text}}, q)
    if isinstance(q, wq.Wildcard):
        return _boosted({"wildcard": {_field(q.fieldname): q.text}}, q)
    if isinstance(q, wq.AndNot):
        return _boosted({"bool": {"must": [_node(q.a, t)], "must_not": [_node(q.b, t)]}}, q)
    if isinstance(q, wq.AndMaybe):
        return _boosted({"bool": {"must": [_node(q.a, t)], "should": [_node(q.b, t)]}}, q)
    if isinstance(q, wq.Require):
        return _boosted({"bool": {"must": [_node(q.a, t)], "filter": [_node(q.b, t)]}}, q)
    if isinstance(q, wq.Not):
        return {"bool": {"must": [{"match_all": {}}], "must_not": [_node(q.query, t)]}}
    if isinstance(q, wq.And):
        return _boosted({"bool": {"must": [_node(c, t) for c in q.subqueries]}}, q)
    if isinstance(q, wq.Or):
        should = [_node(c, t) for c in q.subqueries]
        return _boosted({"bool": {"should": should, "minimum_should_match": 1}}, q)
    raise UntranslatableQuery(f"{type(q).__name__} queries cannot be sent to OpenSearch")
