"""The query language: user text -> checked -> Whoosh query -> the terms to highlight.

    text --check_syntax--> (QueryError with a message on malformed input)
         --two Whoosh parsers--> all-words query OR any-word query
         --query_terms--> stems, exact words and phrases for the highlighter

Plain words search the stemmed title and body, so ``consultation`` finds
``consultations``. A "quoted phrase" searches the exact field, where every word keeps its
form and position. AND, OR, NOT, parentheses, ``field:value``, ``prefix*`` and ``fuzzy~``
work as in Whoosh. Documents with all the words rank first: the query is an OR of every
word, plus a boosted AND of them all.

Whoosh's parser never raises: malformed input comes back as an odd query. So the text is
checked first, and the parsed query is checked for the error markers Whoosh leaves.
"""

from __future__ import annotations

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

from searchsvc.analysis import WORD_RE, exact_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.schema import QUERY_FIELDS
from searchsvc.snippets import QueryTerms

FIELDS = (*QUERY_FIELDS, "year", "month")
MAX_EXPANSIONS = 500  # words one prefix*, wildcard or fuzzy~ term may stand for
MAX_QUERY_LENGTH = 2000  # long enough for a pasted paragraph
# Boost of the AND of all the words over the OR of any: all-word matches rank first.
ALL_WORDS_BOOST = 3.0
# More plain words than this read as a natural-language query; no all-words clause.
MAX_ALL_WORDS = 8
MIN_PREFIX = 2
# A fuzzy~ word allows at most this many edits, keeps its first FUZZY_PREFIX letters unless
# ~N/P says otherwise, has at most MAX_FUZZY_LENGTH letters, and a query has at most
# MAX_FUZZY of them: each is compared with every indexed word of its field that shares the
# prefix, at a cost that grows with its length (with no prefix: 4 s on 14,000 releases).
MAX_EDITS = 2
FUZZY_PREFIX = 1
MAX_FUZZY = 5
MAX_FUZZY_LENGTH = 40

# A fielded phrase, a phrase, a field name opening a group, a parenthesis, a word, a stray ".
_TOKEN_RE = re.compile(r'\w+:"[^"]*"~?\d*|"[^"]*"~?\d*|\w+:(?=\()|\(|\)|[^\s()"]+|"')
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
_BINARY = _OPERATORS - {"NOT"}
_FIELD_RE = re.compile(r"^(\w+):(.*)$", re.S)
_FUZZY_RE = re.compile(r'(?<=[^\s"])~(\d?)')  # as Whoosh's FuzzyTermPlugin reads it


class _Speller(Protocol):
    """What expanding a fuzzy~ word needs of the spelling dictionary (spelling.Speller)."""

    def within(
        self, field: str, text: str, maxdist: int, prefixlength: int, deadline: Deadline
    ) -> Iterable[str]: ...


class QueryError(ValueError):
    """A query the user typed that cannot be run; the message says what to fix."""


def check_syntax(text: str) -> list[str]:
    """Raise QueryError if text is malformed; return its tokens."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"The query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}."
        )
    if text.count('"') % 2:
        raise QueryError('Unbalanced quote: close the phrase with another ".')
    tokens = _TOKEN_RE.findall(text)
    depth = 0
    for i, tok in enumerate(tokens):
        depth += (tok == "(") - (tok == ")")
        if depth < 0:
            raise QueryError("Unbalanced parenthesis: a ) has no matching (.")
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        _check_token(tok, prev, nxt)
    if depth:
        raise QueryError("Unbalanced parenthesis: a ( is never closed.")
    fuzzy = sum(len(_FUZZY_RE.findall(t)) for t in tokens if not t.endswith('"'))
    if fuzzy > MAX_FUZZY:
        raise QueryError(f"The query has {fuzzy} fuzzy~ words; the limit is {MAX_FUZZY}.")
    if tokens and tokens[-1] in _OPERATORS:
        raise QueryError(f"{tokens[-1]} at the end of the query needs a word after it.")
    return tokens


def _check_token(tok: str, prev: str | None, nxt: str | None) -> None:
    if tok in _BINARY and (prev is None or prev in _OPERATORS or prev == "("):
        raise QueryError(f"{tok} needs a word on each side, as in: partnership {tok} energy.")
    if tok == ")" and (prev in _OPERATORS or prev == "("):
        raise QueryError("Empty parentheses, or an operator just before ).")
    if tok == "NOT" and nxt == "NOT":  # Whoosh's parser fails on it (IndexError)
        raise QueryError("NOT NOT: one NOT is enough, as in: energy NOT coal.")
    m = _FIELD_RE.match(tok)
    if m:
        name, value = m.groups()
        if name not in FIELDS:
            raise QueryError(f"Unknown field {name!r}; you can search {', '.join(FIELDS)}.")
        if not value and nxt != "(":
            raise QueryError(f"{name}: needs a value, as in {name}:word.")
        if value and not value.startswith('"'):
            _check_word(value)
    elif not tok.startswith('"') and tok not in "()":
        _check_word(tok)


def _check_word(word: str) -> None:
    for edits in _FUZZY_RE.findall(word):
        if edits and int(edits) > MAX_EDITS:
            raise QueryError(f"{word!r}: a fuzzy~ word allows at most {MAX_EDITS} edits.")
        if len(word) > MAX_FUZZY_LENGTH:
            raise QueryError(f"A fuzzy~ word may have at most {MAX_FUZZY_LENGTH} letters.")
    if "*" in word or "?" in word:
        stem = re.split(r"[*?]", word, maxsplit=1)[0]
        if len(stem) < MIN_PREFIX:
            raise QueryError(
                f"{word!r}: put at least {MIN_PREFIX} letters before a wildcard, as in partner*."
            )


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


def _parser(schema, group) -> MultifieldParser:
    parser = MultifieldParser(["title", "body"], schema, group=group)
    parser.add_plugin(_FuzzyPlugin())
    parser.add_plugin(_ExactPhrasePlugin())
    return parser


def parse_query(text: str, schema) -> wq.Query:
    """Parse user text into the Whoosh query that ranks all-word matches first."""
    tokens = check_syntax(text)
    any_words = _parse(_parser(schema, OrGroup), text)
    plain = [t for t in tokens if t not in _OPERATORS and t not in "()"]
    if len(plain) < 2 or len(plain) > MAX_ALL_WORDS:
        return any_words
    all_words = _parse(_parser(schema, AndGroup), text)
    if all_words == any_words or all_words is wq.NullQuery:
        return any_words
    return wq.Or([all_words.with_boost(ALL_WORDS_BOOST), any_words])


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


def plain_words(text: str) -> list[str]:
    """The unquoted, unfielded words of a query, as typed (for spelling suggestions)."""
    words = []
    for tok in _TOKEN_RE.findall(text):
        if tok in _OPERATORS or tok in "()" or tok.startswith('"') or ":" in tok:
            continue
        if re.fullmatch(r"\w+", tok):
            words.append(tok)
    return words


def read_query(
    text: str,
    schema,
    reader,
    deadline: Deadline | None = None,
    speller: _Speller | None = None,
    strict: bool = False,
) -> tuple[wq.Query, str | None]:
    """The query to run for text, and a notice when it was not read as typed.

    A query that cannot be read as typed (an unknown field, an unclosed quote or
    parenthesis, a dangling operator, a wildcard standing for too many words) is read as
    its plain words, and the notice says so; with strict, it raises QueryError instead.
    """
    try:
        return build_query(text, schema, reader, deadline, speller), None
    except QueryError as exc:
        if strict:
            raise
        words = [w for w in WORD_RE.findall(text) if w not in _OPERATORS]
        if not words:
            return wq.NullQuery, f"Nothing to search for: {exc}"
        plain = " ".join(words)
        notice = f"Searched for {plain}: {exc}"
        try:
            return build_query(plain, schema, reader, deadline, speller), notice
        except QueryError as again:  # only limits of the whole text can fail plain words
            return wq.NullQuery, f"{notice} {again}"


def build_query(
    text: str, schema, reader, deadline: Deadline | None = None, speller: _Speller | None = None
) -> wq.Query:
    """The query to run for text: every document for none, its words expanded otherwise."""
    if not text:
        return wq.Every()
    q = parse_query(text, schema)
    if q is wq.NullQuery and plain_words(text):
        q = exact_fallback(text)  # only stop words: look for them as written
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

    return q.accept(expand).normalize()


def exact_fallback(text: str) -> wq.Query:
    """A query of only stop words, looked for as written in the exact field."""
    words = [exact_term(w) for w in plain_words(text)]
    return wq.Term("exact", words[0]) if len(words) == 1 else wq.Phrase("exact", words)
