"""The query language: user text -> checked -> Whoosh query -> the terms to highlight.

    text --check_syntax (syntax.py)--> (QueryError with a message on malformed input)
         --split--> words to rank, +required units, -excluded units (and NOT units)
    words to rank --two Whoosh parsers--> all-words query OR any-word query
    required, excluded --> (required ANDMAYBE ranked) ANDNOT (any excluded)
         --query_terms--> stems, exact words and phrases for the highlighter
    text that cannot be read as typed --mend (forgive.py)--> a text that can, and why

Plain words search the stemmed title and body, so ``consultation`` finds
``consultations``. A "quoted phrase" searches the exact field, where every word keeps its
form and position. AND, OR, NOT, parentheses, ``field:value``, ``prefix*`` and ``fuzzy~``
work as in Whoosh; ``-word`` excludes and ``+word`` requires, as in web search. Documents
with all the words rank first: the query is an OR of every word, plus a boosted AND of
them all. Words that are all stop words ("the of and") are looked for as written, in the
exact field, the same way. The function words of a question or request ("what", "have",
"been": analysis.QUERY_STOP) are left out of the words to rank, unless nothing else is left.

Whoosh's parser never raises: malformed input comes back as an odd query. So the text is
checked first, and the parsed query is checked for the error markers Whoosh leaves.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from itertools import islice
from typing import Protocol

from whoosh import query as wq
from whoosh.qparser import (
    AndGroup,
    FuzzyTermPlugin,
    MultifieldParser,
    OrGroup,
    PhrasePlugin,
    syntax,
)
from whoosh.qparser.plugins import Plugin

from searchsvc.analysis import WORD_RE, exact_term, query_stop_word, stem_term, words
from searchsvc.deadline import NEVER, Deadline
from searchsvc.searching.forgive import MAX_EDITS as MAX_EDITS  # the limits, re-exported
from searchsvc.searching.forgive import MAX_FUZZY as MAX_FUZZY
from searchsvc.searching.forgive import MAX_FUZZY_LENGTH as MAX_FUZZY_LENGTH
from searchsvc.searching.forgive import MAX_QUERY_LENGTH as MAX_QUERY_LENGTH
from searchsvc.searching.forgive import mend
from searchsvc.searching.syntax import (
    _OPERATORS,
    FIELDS,
    QueryError,
    check_syntax,
    plain_words,
    split,
)
from searchsvc.searching.syntax import (
    correctable_words as correctable_words,
)
from searchsvc.snippets import QueryTerms

MAX_EXPANSIONS = 500  # words one prefix*, wildcard or fuzzy~ term may stand for
# Boost of the AND of all the words over the OR of any: all-word matches rank first.
ALL_WORDS_BOOST = 3.0
# More plain words than this read as a natural-language query; no all-words clause.
MAX_ALL_WORDS = 8
# A fuzzy~ word allows at most MAX_EDITS edits, keeps its first FUZZY_PREFIX letters unless
# ~N/P says otherwise, has at most MAX_FUZZY_LENGTH letters, and a query has at most
# MAX_FUZZY of them: each is compared with every indexed word of its field that shares the
# prefix, at a cost that grows with its length (with no prefix: 4 s on 14,000 releases).
# The limits themselves live with the forgiving reading (forgive.py), which mends past them.
FUZZY_PREFIX = 1


class _Speller(Protocol):
    """What expanding a fuzzy~ word needs of the spelling dictionary (spelling.Speller)."""

    def within(
        self, field: str, text: str, maxdist: int, prefixlength: int, deadline: Deadline
    ) -> Iterable[str]: ...


class _Variants(Protocol):
    """What widening names to their other spellings needs (variants.Expansion)."""

    def expand(self, q: wq.Query) -> wq.Query: ...


class _FuzzyPlugin(FuzzyTermPlugin):
    """word~ and word~2, which keep their first letter unless word~N/P says otherwise."""

    def create(self, parser, match):
        node = super().create(parser, match)
        if not match.group("prefix"):
            node.prefixlength = FUZZY_PREFIX
        return node


class _ExactPhrasePlugin(Plugin):
    """Sends unfielded phrases to the exact field, before they are spread over fields."""

    def filters(self, parser):
        return [(self._route, 105)]

    def _route(self, parser, group):
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self._route(parser, node)
            elif isinstance(node, PhrasePlugin.PhraseNode) and node.fieldname is None:
                node.set_fieldname("exact")
        return group


_WORD_FIELDS = ("title", "body")  # where the parser sends an unfielded word


def _parser(schema, group) -> MultifieldParser:
    parser = MultifieldParser(list(_WORD_FIELDS), schema, group=group)
    parser.add_plugin(_FuzzyPlugin())
    parser.add_plugin(_ExactPhrasePlugin())
    return parser


def parse_query(text: str, schema) -> wq.Query:
    """Parse user text into the Whoosh query that ranks all-word matches first.

    +word (+"phrase", +(group)) must occur and -word, or NOT word, must not; the other
    words rank as usual. Words that are all stop words are looked for as written.
    """
    main, required, excluded = split(check_syntax(_EXACT_SLOP_RE.sub('"', text)))
    main = [_stemless_compounds_quoted(token) for token in main]
    required = [_stemless_compounds_quoted(unit) for unit in required]
    excluded = [_stemless_compounds_quoted(unit) for unit in excluded]
    q = _ranked(main, schema)
    if required:
        needed = _and([_part(unit, schema, AndGroup) for unit in required])
        q = needed if q is wq.NullQuery else wq.AndMaybe(needed, q)
    if excluded:
        positive = wq.Every() if q is wq.NullQuery and not main else q
        q = wq.AndNot(positive, _or([_part(unit, schema, OrGroup) for unit in excluded]))
    return q


# "a b"~0: Lucene's and Elasticsearch's exact phrase. Whoosh's slop counts from 1 (its ~1
# is the phrase itself) and leaves ~0 behind as the word 0; read as the phrase.
_EXACT_SLOP_RE = re.compile(r'"~0+(?![\d.])')
# A word of parts joined by a symbol (AT&T, R&D, S&P, Q&A, B&B): each part a single letter
# or a stop word, so the stemmed fields hold none of them and the word would search nothing.
_COMPOUND_RE = re.compile(r"\w+(?:[&+/'’.-]+\w+)+\.?")


def _stemless_compounds_quoted(token: str) -> str:
    """token with each compound whose parts the stemmed fields do not hold (AT&T) quoted:
    searched as typed, in the exact field, as "AT&T" is (a phrase of its parts)."""
    if '"' in token or ":" in token:
        return token
    pieces = token.split(" ")
    for i, piece in enumerate(pieces):
        if _COMPOUND_RE.fullmatch(piece):
            parts = words(piece)
            if len(parts) > 1 and not any(map(stem_term, parts)):
                pieces[i] = f'"{piece}"'
    return " ".join(pieces)


def parse_forgiving(text: str, schema) -> wq.Query:
    """parse_query of text, or of text mended (forgive.py) if it cannot be read as typed."""
    try:
        return parse_query(text, schema)
    except QueryError:
        return parse_query(mend(text, FIELDS).text, schema)


def _ranked(tokens: list[str], schema) -> wq.Query:
    if not tokens:
        return wq.NullQuery
    tokens = without_function_words(tokens)
    text = " ".join(tokens)
    any_words = _part(text, schema, OrGroup)
    plain = [t for t in tokens if t not in _OPERATORS and t not in "()"]
    if len(plain) < 2 or len(plain) > MAX_ALL_WORDS:
        return any_words
    all_words = _part(text, schema, AndGroup)
    if all_words == any_words or all_words is wq.NullQuery:
        return any_words
    return wq.Or([_boosted(all_words, ALL_WORDS_BOOST), any_words])


def _boosted(q: wq.Query, boost: float) -> wq.Query:
    """q.with_boost(boost), the query itself copied only one level deep: Whoosh's copies
    the whole tree (copy.deepcopy), a percent of a served search. Queries that pass a boost
    on to their children (wrappers, binary queries) still do, by their own with_boost."""
    if type(q).with_boost is not wq.Query.with_boost:
        return q.with_boost(boost)
    boosted = copy.copy(q)
    boosted.boost = boost
    return boosted


# A plain word as a token: letters and digits, inner apostrophes, trailing punctuation; or
# a word with a question mark, as split() reads it: "( how OR how? )".
_PLAIN_WORD_RE = re.compile(r"(\w+(?:['’]\w+)*)[.,;:!]*|\( (\w+) OR \2\? \)")


def without_function_words(tokens: list[str]) -> list[str]:
    """The tokens to rank less the function words of a natural-language query (QUERY_STOP).

    Only bare words go, never one beside an operator (a AND what), nor a phrase, field or
    group; if nothing else would be left to search for, every token stays.
    """
    kept = []
    for i, tok in enumerate(tokens):
        plain = _PLAIN_WORD_RE.fullmatch(tok)
        beside = tokens[max(i - 1, 0) : i + 2]
        word = plain and (plain.group(1) or plain.group(2))
        if word and query_stop_word(word) and not set(beside) & _OPERATORS:
            continue
        kept.append(tok)
    words = (w for tok in kept if tok not in _OPERATORS for w in WORD_RE.findall(tok))
    return kept if any(map(stem_term, words)) else tokens


def _part(text: str, schema, group) -> wq.Query:
    """One part of a query; if it is all stop words, those words as written."""
    q = _plain_words_query(text, schema, group)
    if q is None:
        q = _parse(_parser(schema, group), text)
    if q is wq.NullQuery and plain_words(text):
        return exact_fallback(text, group is AndGroup)
    return q


# A token Whoosh's parser reads as one word and nothing else: word characters, dots, commas,
# hyphens and curly apostrophes, a straight apostrophe only between word characters (one
# after a space or a dot may open a 'quoted' term), no leading + or - (_OPERATORS aside).
_PLAIN_TOKEN_RE = re.compile(r"(?![+-])[\w.,’-]+(?:(?<=\w)'(?=\w)[\w.,’-]+)*")


def _plain_words_query(text: str, schema, group) -> wq.Query | None:
    """What Whoosh's parser makes of text, made without its tagging, if text is plain words
    only (None otherwise).

    The parser tries each of its 17 taggers at every character of the text (half of its
    time), to find the words between whitespace. For plain words those are the tokens
    split() gives: each becomes the OR of its query in each field, from the parser's own
    term_query (analysis, stop words, multi-token words as Whoosh joins them), the words
    joined by the group's class, normalized as parse() does. tests/test_query.py compares
    the two on the benchmark's queries and on made-up ones.
    """
    tokens = text.split()
    if not tokens or not all(_PLAIN_TOKEN_RE.fullmatch(t) for t in tokens):
        return None
    if any(t in _OPERATORS for t in tokens):
        return None
    parser = _term_parser(schema, group)
    words = []
    for token in tokens:
        fields = [parser.term_query(name, token, parser.termclass) for name in _WORD_FIELDS]
        words.append([q for q in fields if q is not None])
    if group is OrGroup and all(type(q) is wq.Term for fields in words for q in fields):
        # What normalize() makes of an OR of ORs of terms, without its copies: one flat
        # OR of the terms, each once (the first kept), a lone term as itself.
        terms = list(dict.fromkeys(q for fields in words for q in fields))
        return wq.Or(terms) if len(terms) > 1 else terms[0] if terms else wq.NullQuery
    q = group.qclass([wq.Or(fields) for fields in words]).normalize()
    return q or wq.NullQuery


# A parser for term_query, one per schema and group (a word the analysis splits, such as
# "covid-19", is joined by the group's class): it keeps nothing between calls, and building
# one with its plugins took 17 us, twice a query. Each state of the index opened brings its
# own schema object: a few are kept, then all forgotten at once (no schema kept for ever).
_TERM_PARSERS: dict[tuple[int, type], tuple[object, MultifieldParser]] = {}
MAX_TERM_PARSERS = 8


def _term_parser(schema, group) -> MultifieldParser:
    key = (id(schema), group)
    found = _TERM_PARSERS.get(key)
    if found is None or found[0] is not schema:
        if len(_TERM_PARSERS) >= MAX_TERM_PARSERS:
            _TERM_PARSERS.clear()
        found = _TERM_PARSERS[key] = (schema, _parser(schema, group))
    return found[1]


def _and(queries: list[wq.Query]) -> wq.Query:
    return queries[0] if len(queries) == 1 else wq.And(queries)


def _or(queries: list[wq.Query]) -> wq.Query:
    return queries[0] if len(queries) == 1 else wq.Or(queries)


def _parse(parser: MultifieldParser, text: str) -> wq.Query:
    q = parser.parse(text)
    for node in [q, *q.leaves()]:
        error = getattr(node, "error", None)
        if error:
            raise QueryError(f"Could not read the query: {error}")
    return _hoist_nots(q)


def _hoist_nots(q: wq.Query) -> wq.Query:
    """Turn ``a OR b OR NOT c`` into ``(a OR b) ANDNOT c``.

    With OR as the default operator Whoosh reads ``a NOT c`` as ``a OR (NOT c)``, which
    matches nearly everything; a user means "a, but not c".
    """
    q = q.apply(_hoist_nots) if q.children() else q
    if not isinstance(q, wq.Or):
        return q
    negatives = [c.query for c in q.subqueries if isinstance(c, wq.Not)]
    positives = [c for c in q.subqueries if not isinstance(c, wq.Not)]
    if not negatives or not positives:
        return q
    pos = positives[0] if len(positives) == 1 else wq.Or(positives, boost=q.boost)
    neg = negatives[0] if len(negatives) == 1 else wq.Or(negatives)
    return wq.AndNot(pos, neg)


def query_terms(q: wq.Query, reader) -> QueryTerms:
    """The stems, exact words and phrases a query looks for, NOT clauses left out."""
    terms = QueryTerms()
    _collect(q, terms, reader)
    return terms


def _collect(q: wq.Query, terms: QueryTerms, reader) -> None:
    if isinstance(q, wq.Not):
        return
    if isinstance(q, wq.AndNot):
        _collect(q.a, terms, reader)
        return
    if isinstance(q, wq.Phrase):
        if q.fieldname == "exact":
            terms.phrases.append(tuple(q.words))
        elif q.fieldname in ("title", "body"):
            terms.stems.update(q.words)
        return
    if isinstance(q, wq.Term):
        _add_term(terms, q.fieldname, q.text)
    elif isinstance(q, wq.MultiTerm) and reader is not None:  # None: no lexicon to expand in
        for fieldname, btext in q.existing_terms(reader, expand=True):
            _add_term(terms, fieldname, btext.decode("utf-8"))
    for child in q.children():
        _collect(child, terms, reader)


def _add_term(terms: QueryTerms, fieldname: str, text) -> None:
    if fieldname in ("title", "body"):
        terms.stems.add(text)
    elif fieldname == "exact":
        terms.exact.add(text)


def read_query(
    text: str,
    schema,
    reader,
    deadline: Deadline | None = None,
    speller: _Speller | None = None,
    strict: bool = False,
    variants: _Variants | None = None,
) -> tuple[wq.Query, str | None]:
    """The query to run for text, and a notice when it was not read as typed.

    A query that cannot be read as typed (an unknown field, an unclosed quote or
    parenthesis, a dangling operator, a wildcard standing for too many words) is mended
    (forgive.py: as close to what was meant as can be) or, failing that, read as its plain
    words, and the notice says how; with strict, it raises QueryError instead.
    """
    try:
        q = build_query(text, schema, reader, deadline, speller, variants)
        if q is wq.NullQuery and text.strip():
            return q, f"Nothing to search for: {_quoted(text)} holds no word that is indexed."
        return q, None
    except QueryError as exc:
        if strict:
            raise
        error = exc
    mended = mend(text, FIELDS)
    if mended.reasons and mended.text:
        shown = mended.text if len(mended.text) <= 200 else f"{mended.text[:200]}…"
        notice = f"Searched for {shown}: {'; '.join(mended.reasons)}."
        try:
            return build_query(mended.text, schema, reader, deadline, speller, variants), notice
        except QueryError as again:  # a wildcard for too many words, say
            error = again
    words = [w for w in WORD_RE.findall(text) if w not in _OPERATORS]
    if not words:
        return wq.NullQuery, f"Nothing to search for: {error}"
    plain = " ".join(words)
    notice = f"Searched for {plain}: {error}"
    try:
        return build_query(plain, schema, reader, deadline, speller, variants), notice
    except QueryError as again:  # only limits of the whole text can fail plain words
        return wq.NullQuery, f"{notice} {again}"


def _quoted(text: str, most: int = 60) -> str:
    """text for a notice: its visible characters, cut at most, in quotes."""
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text.strip())
    return f"“{shown[:most]}…”" if len(shown) > most else f"“{shown}”"


def build_query(
    text: str,
    schema,
    reader,
    deadline: Deadline | None = None,
    speller: _Speller | None = None,
    variants: _Variants | None = None,
) -> wq.Query:
    """The query to run for text: every document for none, its words expanded otherwise.

    With variants, names are widened to their other spellings before prefix*, wildcards
    and fuzzy~ words are expanded, so that those stay as typed.
    """
    if not text:
        return wq.Every()
    q = parse_query(text, schema)
    if variants is not None:
        q = variants.expand(q)
    (deadline or NEVER).check("parsing")
    if reader is None:  # no lexicon here (a cluster expands prefix* and fuzzy~ itself)
        return q
    return expand_multiterms(q, reader, deadline, speller)


def expand_multiterms(
    q: wq.Query, reader, deadline: Deadline | None = None, speller: _Speller | None = None
) -> wq.Query:
    """Replace each prefix*, wildcard and fuzzy~ term by an OR of the words it stands for.

    Expanded once here, the words are then counted, ranked and highlighted as plain terms,
    instead of each step walking the lexicon again; and "a*" over a large lexicon, which
    would stand for thousands of words, is refused. A fuzzy~ word is compared, in C, with
    the speller's words of its field and first letter (Whoosh computes each edit distance
    in Python on an index of several segments: 0.1 to 0.2 s a word on the White House
    corpus, with no deadline check until a word matches); the same words either way.
    """
    deadline = deadline or NEVER

    def expand(node: wq.Query) -> wq.Query:
        if not isinstance(node, wq.MultiTerm):
            return node
        deadline.check("expanding wildcards")
        if isinstance(node, wq.FuzzyTerm) and speller is not None:
            words = [
                (node.fieldname, w)
                for w in speller.within(
                    node.fieldname, node.text, node.maxdist, node.prefixlength, deadline
                )
            ]
        else:
            words = []
            for word in islice(node.expanded_terms(reader), MAX_EXPANSIONS + 1):
                deadline.check("expanding wildcards")
                words.append(word)
        if len(words) > MAX_EXPANSIONS:
            raise QueryError(
                f"{node} stands for more than {MAX_EXPANSIONS} words; add letters to narrow it"
            )
        terms = [wq.Term(f, t.decode("utf-8") if isinstance(t, bytes) else t) for f, t in words]
        return wq.Or(terms, boost=node.boost) if terms else wq.NullQuery

    if not any(isinstance(leaf, wq.MultiTerm) for leaf in q.leaves()):
        return q.normalize()  # nothing to expand: not rebuilt node by node first
    return q.accept(expand).normalize()


def exact_fallback(text: str, every: bool = False) -> wq.Query:
    """Words that are all stop words ("the of and"), looked for as written in the exact
    field: any of them (every one, if `every`), as any other words would be."""
    words = list(dict.fromkeys(exact_term(w) for w in plain_words(text)))
    terms = [wq.Term("exact", w) for w in words]
    if len(terms) == 1:
        return terms[0]
    return wq.And(terms) if every else wq.Or(terms)


def weighted_words(weights: dict[str, float]) -> wq.Query:
    """Any of these stems, each asked of title and body (one BM25F word) and boosted by its
    weight: the query of a "more like this"."""
    return wq.Or(
        [wq.Or([wq.Term("title", t), wq.Term("body", t)], boost=w) for t, w in weights.items()]
    )
