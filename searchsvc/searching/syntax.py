"""The query language's syntax: tokens, checked, split into what is required and excluded.

    text --_TOKEN_RE--> tokens: words, "phrases", field:value, parentheses, operators, each
         word, phrase or group with an optional + (required) or - (excluded) in front
    tokens --check_syntax--> QueryError with a message on malformed input
           --split--> the tokens to rank, the units required, the units excluded

Whoosh's parser reads the tokens to rank (query.py); + and - are this module's, as web
search engines read them: -word, -"a phrase", -title:x and -(a group) exclude, +word
requires. A hyphen inside a word (anti-corruption, COVID-19, 2019-2021) and a negative
number (-5) exclude nothing.
"""

from __future__ import annotations

import re

from searchsvc.schema import QUERY_FIELDS
from searchsvc.searching.forgive import (
    BINARY,
    MAX_EDITS,
    MAX_FUZZY,
    MAX_FUZZY_LENGTH,
    MAX_QUERY_LENGTH,
    MIN_PREFIX,
    OPERATORS,
    tidy_operators,
)

FIELDS = (*QUERY_FIELDS, "year", "month")

# A fielded phrase, a phrase, a field name opening a group, a parenthesis, a word, a stray ";
# each but ) and " may carry a + (required) or - (excluded) in front.
_TOKEN_RE = re.compile(
    r'[-+]?\w+:"[^"]*"~?\d*|[-+]?"[^"]*"~?\d*|[-+]?\w+:(?=\()|[-+]?\(|\)|[^\s()"]+|"'
)
_OPERATORS = OPERATORS
_BINARY = BINARY
_FIELD_RE = re.compile(r"^(\w+):(.*)$", re.S)
_FUZZY_RE = re.compile(r'(?<=[^\s"])~(\d?)')  # as Whoosh's FuzzyTermPlugin reads it
# -word, -"a phrase", -title:x, -(a group) exclude; +word requires. Not a hyphen inside a
# word (anti-corruption, COVID-19, 2019-2021), nor a negative number (-5, -0.5).
_SIGNED_RE = re.compile(r'^([-+])(?=[^\W\d]|["(])')


class QueryError(ValueError):
    """A query the user typed that cannot be run; the message says what to fix."""


def check_syntax(text: str) -> list[str]:
    """Raise QueryError if text is malformed; return its tokens."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"The query is {len(text):,} characters long; the limit is {MAX_QUERY_LENGTH:,}."
        )
    if text.count('"') % 2:
        raise QueryError('Unbalanced quote: close the phrase with another ".')
    tokens = _TOKEN_RE.findall(text)
    depth = 0
    for i, tok in enumerate(tokens):
        depth += tok.endswith("(") - (tok == ")")
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
    tok = _unsigned(tok)[1]
    if tok in _BINARY and (prev is None or prev in _OPERATORS or prev.endswith("(")):
        raise QueryError(f"{tok} needs a word on each side, as in: partnership {tok} energy.")
    if tok == ")" and (prev in _OPERATORS or (prev or "").endswith("(")):
        raise QueryError("Empty parentheses, or an operator just before ).")
    if tok == "NOT" and nxt == "NOT":  # Whoosh's parser fails on it (IndexError)
        raise QueryError("NOT NOT: one NOT is enough, as in: energy NOT coal.")
    m = _FIELD_RE.match(tok)
    if m:
        name, value = m.groups()
        if name not in FIELDS:
            raise QueryError(f"Unknown field {name!r}; you can search {', '.join(FIELDS)}.")
        if not value and not (nxt or "").endswith("("):
            raise QueryError(f"{name}: needs a value, as in {name}:word.")
        if value and not value.startswith('"'):
            _check_word(value)
    elif not tok.startswith('"') and tok not in "()":
        _check_word(tok)


def _unsigned(tok: str) -> tuple[str, str]:
    """The sign of a token (+ required, - excluded, or none) and the token without it."""
    m = _SIGNED_RE.match(tok)
    return (m.group(1), tok[1:]) if m else ("", tok)


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


def split(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The tokens to rank, the units required (+) and the units excluded (- or NOT).

    Only at the top level: inside parentheses +word is a word and -word is NOT word.
    """
    tokens = [piece for tok in tokens for piece in _questioned(tok)]
    main: list[str] = []
    required: list[str] = []
    excluded: list[str] = []
    i = 0
    while i < len(tokens):
        sign, tok = _unsigned(tokens[i])
        if tok == "NOT" and i + 1 < len(tokens):
            sign, tokens[i + 1] = "-", _unsigned(tokens[i + 1])[1]
            i += 1
            tok = tokens[i]
        end = _unit_end(tokens, i)
        unit = join_tokens(_inner([tok, *tokens[i + 1 : end]]))
        if sign == "+":
            required.append(unit)
        elif sign == "-":
            excluded.append(unit)
        else:
            main.append(unit)
        i = end
    return tidy_operators(main), required, excluded


_QUESTION_RE = re.compile(rf"^([-+]?(?:\w+:)?)(\w{{{MIN_PREFIX},}})\?$")


def _questioned(tok: str) -> list[str]:
    """word? as (word OR word?): a pasted question mark finds the word itself too."""
    m = _QUESTION_RE.match(tok)
    if not m:
        return [tok]
    head, word = m.groups()
    field = head.lstrip("+-")
    return [f"{head[: len(head) - len(field)]}(", field + word, "OR", f"{field}{word}?", ")"]


def _unit_end(tokens: list[str], i: int) -> int:
    """Where the unit starting at tokens[i] (a word, a phrase, a group) ends."""
    if not tokens[i].endswith("(") and not (
        tokens[i].endswith(":") and i + 1 < len(tokens) and tokens[i + 1].endswith("(")
    ):
        return i + 1
    depth, j = 0, i
    while j < len(tokens):
        depth += tokens[j].endswith("(") - (tokens[j] == ")")
        j += 1
        if depth == 0 and tokens[j - 1] == ")":
            return j
    return j


def join_tokens(tokens: list[str]) -> str:
    """Tokens as text again: a field opening a group (title:) stays glued to its (, or
    Whoosh would read the field's name as a word and the group as unfielded."""
    return " ".join(tokens).replace(": (", ":(")


def _inner(tokens: list[str]) -> list[str]:
    """Tokens inside a group: +word is a word, -word is NOT word."""
    out = [tokens[0]]
    for tok in tokens[1:]:
        sign, bare = _unsigned(tok)
        out += ["NOT", bare] if sign == "-" else [bare]
    return out


def plain_words(text: str) -> list[str]:
    """The unquoted, unfielded words of a query, as typed."""
    words = []
    for tok in _TOKEN_RE.findall(text):
        if tok in _OPERATORS or tok in "()" or tok.startswith('"') or ":" in tok:
            continue
        if re.fullmatch(r"\w+", tok):
            words.append(tok)
    return words


def correctable_words(text: str) -> list[tuple[int, int, str]]:
    """The words a "did you mean" may respell, with where each is in text.

    Plain words and +required words only: never an operator, a field name or value, a
    phrase, a wildcard or fuzzy~ word, nor an excluded word (-word, NOT word).
    """
    found = []
    after_not = False
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        sign, bare = _unsigned(tok)
        if sign != "-" and not after_not and bare not in _OPERATORS and re.fullmatch(r"\w+", bare):
            start = m.start() + len(sign)
            found.append((start, start + len(bare), bare))
        after_not = tok == "NOT"
    return found
