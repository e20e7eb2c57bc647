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
with the key; a cluster has no such list, so here the candidates are the words the term
suggester finds within two edits of the word typed (ordered by frequency, at most
SUGGESTIONS), kept when their key is the typed word's and counted as the engine counts
them. A spelling three or more edits away (Berdymukhammedov for Berdimuhamedov) is not
offered here; the variant lists search the common ones anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace

from searchsvc.analysis import exact_term, stem_term
from searchsvc.deadline import Deadline
from searchsvc.searching import Transliterations, listed, name_words, transliteration_key

STEMMED = ("title", "body")
SUGGESTIONS = 50  # candidate words the term suggester gives for one typed word
MAX_WORDS = 10  # of a query, the first ones are looked at (as transliteration.py)
# The term suggester's candidates for "also try": any word within two edits, any first letter.
SUGGESTER = {
    "field": "exact",
    "suggest_mode": "always",
    "max_edits": 2,
    "prefix_length": 0,
    "min_word_length": 4,
    "size": SUGGESTIONS,
    "sort": "frequency",
    # A word in more than 1% of releases (the default) is not looked at otherwise: the
    # engine looks at any word (an absolute count, from 1 up).
    "max_term_freq": 2_000_000_000,
}

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


class Suggested(Transliterations):
    """Transliterations whose candidates come from the term suggester (see the module)."""

    def __init__(self, reader, candidates: dict[str, set[str]]):
        super().__init__(SimpleNamespace(reader=reader, fieldname="exact"))  # type: ignore[arg-type]
        self.candidates = candidates  # a typed word's exact term -> the words suggested

    def with_keys(self, wanted: set[str], word: str, deadline: Deadline) -> set[str]:
        """The words suggested for word that have one of the keys wanted."""
        found = self.candidates.get(exact_term(word), set())
        return {w for w in found if listed(w) and transliteration_key(w) in wanted}


def typed_names(text: str) -> list[str]:
    """The words of a query that "also try" looks at (transliteration.name_words)."""
    return name_words(text)
