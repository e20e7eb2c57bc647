"""Names spelled many ways, over the cluster: the embedded engine's widening, unchanged.

The variant lists (searching/variants.py) widen a query's names to the other spellings the
index holds; "holds" is a document frequency, which the embedded engine reads from its
own lexicon. Here it is asked of the cluster, in one request however many spellings:

    query --the same Expansion, over a reader that notes every (field, word) asked and
        answers "present"--> the spellings it may add
    those (field, word) --one search: a filters aggregation, a clause each--> frequencies
    query --the same Expansion again, over those frequencies--> the widened query and its
        also_searched (the same walk: what it asks the second time it asked the first)

A stem is asked as the words of the lists that give it (the cluster stems them with its own
analyser, as translate.py sends typed words), so a server whose stemmer differs still finds
what it indexed.

"Also try" (transliteration.py) offers other spellings the index holds, found by their
transliteration key. The embedded engine reads every word of its lexicon to find those
with the key; a cluster lists no words, so each release also keeps its words of four
letters or more (``names``: a keyword field with doc values only, not searched), and for
each word typed the search's own request carries an aggregation, over every release:

    word typed --transliteration.keys--> its keys --key_pattern: a regular expression every
        word with one of those keys matches--> releases with a word that matches it but
        not the word typed (a regexp query on the exact field; few, even for a common
        word) --the terms of their ``names`` that match it--> candidate words
    candidates of the right key --one filters aggregation, only if there are any-->
        how many releases hold each --the same Transliterations rule--> also try

A spelling found only in releases that also hold the word typed is missed, and rightly
left out: it cannot be in more releases than the word typed, which also try requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from types import SimpleNamespace

from searchsvc.analysis import WORD_RE, exact_term, stem_term
from searchsvc.deadline import Deadline
from searchsvc.searching import (
    Transliterations,
    listed,
    name_words,
    transliteration_key,
    transliteration_keys,
)

STEMMED = ("title", "body")
MAX_WORDS = 10  # of a query, the first ones are looked at (as transliteration.py)
CANDIDATES = 100  # words of one key (most frequent first) read from the cluster, at most
# What a letter of a key may have been written as (transliteration.key's rules, undone);
# each may repeat (double letters are made single), and a y may stand before an e.
_SOURCES = {"j": "(dzh|dj|zh|j)", "h": "(kh|h)", "k": "(k|q)", "v": "(w|v)", "i": "(y|i)"}

Pair = tuple[str, str]  # (field, term), as Whoosh's reader.doc_frequency takes them
Count = Callable[[list[dict]], list[int]]  # filter clauses -> how many documents each


class Noting:
    """A reader that answers every word present, noting what it was asked."""

    def __init__(self) -> None:
        self.asked: set[Pair] = set()

    def doc_frequency(self, field: str, term: str) -> int:
        """1, and the question noted (for a stem, in title and body both)."""
        fields = STEMMED if field in STEMMED else (field,)
        self.asked.update((f, term) for f in fields)
        return 1


class Frequencies:
    """A reader that answers from frequencies the cluster gave, asking it for any other."""

    def __init__(self, known: dict[Pair, int], ask: Callable[[Iterable[Pair]], dict[Pair, int]]):
        self.known, self.ask = known, ask

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents hold term in field (asked of the cluster if not known)."""
        pair = (field, term)
        if pair not in self.known:
            self.known.update(self.ask([pair]))
        return self.known[pair]


def clause(field: str, term: str, words_of: dict[str, set[str]]) -> dict:
    """The filter that finds the documents holding term in field."""
    if field in STEMMED:
        words = sorted(words_of.get(term, ()))
        if words:
            return {"bool": {"should": [{"match": {field: w}} for w in words]}}
        return {"term": {field: term}}
    if field == "exact":
        return {"term": {"exact": term}}
    return {"term": {f"{field}.words": term}}  # a facet's words (place:...)


def words_of_stems(spellings: Iterable[tuple[str, ...]]) -> dict[str, set[str]]:
    """Each stem of the lists' spellings, and the folded words that give it."""
    found: dict[str, set[str]] = {}
    for words in spellings:
        for word in words:
            stem = stem_term(word)
            if stem is not None:
                found.setdefault(stem, set()).add(word)
    return found


class Keyed(Transliterations):
    """Transliterations whose candidates the cluster found by key (see the module)."""

    def __init__(self, reader, candidates: dict[str, set[str]]):
        super().__init__(SimpleNamespace(reader=reader, fieldname="exact", files=None))  # type: ignore[arg-type]
        self.candidates = candidates  # a typed word's exact term -> words found by its keys

    def with_keys(self, wanted: set[str], word: str, deadline: Deadline) -> set[str]:
        """The words found for word that have one of the keys wanted."""
        found = self.candidates.get(exact_term(word), set())
        return {w for w in found if listed(w) and transliteration_key(w) in wanted}


def key_pattern(key: str) -> str:
    """A regular expression (Lucene's syntax) matched by every word with this key (and a
    few others, which the key itself then tells apart)."""
    out = []
    for letter in key:
        if letter == "e":
            out.append("y*")
        out.append(f"{_SOURCES.get(letter, re.escape(letter))}+")
    return "".join(out)


def word_pattern(word: str) -> str:
    """The pattern of every key a typed word may stand for (as typed, or not indexed)."""
    term = exact_term(word)
    wanted = transliteration_keys(word) | {transliteration_key(term)}
    return "|".join(f"({key_pattern(k)})" for k in sorted(wanted) if k)


def candidate_aggs(words: list[str]) -> dict:
    """Aggregations (under a global one) finding, for each word, the words of its keys."""
    aggs = {}
    for i, word in enumerate(words):
        pattern = word_pattern(word)
        terms = {"field": "names", "include": pattern, "size": CANDIDATES}
        others = {
            "bool": {
                "filter": [{"regexp": {"exact": pattern}}],
                "must_not": [{"term": {"exact": exact_term(word)}}],
            }
        }
        aggs[f"t{i}"] = {"filter": others, "aggs": {"w": {"terms": terms}}}
    return aggs


def candidates_found(words: list[str], answer: dict) -> dict[str, set[str]]:
    """Each word's candidates from the answer: words of the index with one of its keys."""
    found: dict[str, set[str]] = {}
    aggs = answer.get("aggregations", {}).get("names", {})
    for i, word in enumerate(words):
        wanted = transliteration_keys(word) | {transliteration_key(exact_term(word))}
        for bucket in aggs.get(f"t{i}", {}).get("w", {}).get("buckets", []):
            if listed(bucket["key"]) and transliteration_key(bucket["key"]) in wanted:
                found.setdefault(exact_term(word), set()).add(bucket["key"])
    return found


def release_names(title: str, body: str) -> list[str]:
    """The words a release keeps for "also try": those Transliterations may offer."""
    terms = {exact_term(w) for w in WORD_RE.findall(f"{title}\n{body}")}
    return sorted(t for t in terms if listed(t))


def typed_names(text: str) -> list[str]:
    """The words of a query that "also try" looks at (transliteration.name_words)."""
    return name_words(text)
