"""Text analysis: how raw text becomes index terms.

The pipeline for the main (``stemmed``) fields is::

    text --split into words--> lowercase --fold accents--> drop stop words --Snowball stem--> terms

The ``exact`` pipeline stops after folding: it keeps every word, stop words included, in its
original form, so positions are the true word positions and a quoted phrase matches only
the words as written ("meetings" does not match "meeting").

Both pipelines run in a single Whoosh tokenizer that looks each distinct word up in a dict
once, instead of a chain of filters per token: the chain costs a Python generator frame per
filter per token, and the corpus has tens of millions of tokens. The same normalisation is
exported as plain functions (``stem_term``, ``exact_term``) so the highlighter and the query
side use exactly what the index used; the bulk indexer (indexing/bulk.py) takes a field's
``words`` and ``term_function`` from here, so it gives the very tokens the tokenizer gives.

The analyzers are classes at module level, because Whoosh pickles the schema into the index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter

from nltk.stem.snowball import SnowballStemmer
from whoosh.analysis import Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS

# Characters inside words that \w leaves out: combining marks (decomposed accents, Arabic
# vowel signs, Hebrew points, Devanagari signs), zero-width joiners and the soft hyphen.
MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0900-\u0903\u093a-\u094f\u200c\u200d\u00ad"
)
WORD_CHAR = f"[\\w{MARKS}]"
# A word: letters and digits, with inner apostrophes or dots ("U.S.", "don't") kept together.
# No word spans a newline (the bulk indexer relies on it).
WORD_RE = re.compile(f"{WORD_CHAR}+(?:[.'’]{WORD_CHAR}+)*")
_INVISIBLE = str.maketrans("", "", "\u200c\u200d\u00ad'’.")

# Whoosh's list, less "us": in press releases it is far more often the US than the pronoun.
STOP = frozenset(STOP_WORDS) - {"us"}
_STEMMER = SnowballStemmer("english")

# Function words left out of a query's ranked words, never out of the index: NLTK's English
# list (no nouns in it), less "who" (the WHO) and what STOP already drops. "what problems of
# heat conduction in composite slabs have been solved so far" is about heat conduction and
# slabs; "what", "been" and "so" are rare in the documents, so BM25 would weigh them as
# heavily as the subject. Worth +0.017 nDCG@10 on cisi, +0.004 on cranfield, 0 on npl and
# scifact (bench/README.md). A query made only of such words keeps them (query.py).
_FUNCTION_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which whom whose
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about into through
    to from in on then here there when where why how all any both each other some such so can
    will just should now would could shall may might must also no nor not more most than
    between against before after above below up down over under during few same only own off
    out further again once too very
"""
QUERY_STOP = frozenset(_FUNCTION_WORDS.split()) - STOP

# Letters that NFKD does not decompose but a reader expects to fold.
_EXTRA_FOLD = str.maketrans(
    {"ı": "i", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"}
)


def fold(text: str) -> str:
    """Lowercase and strip accents, so ``Türkmenistan`` and ``turkmenistan`` are one word."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text).translate(_EXTRA_FOLD)
    return "".join(c for c in text if not unicodedata.combining(c))


def _normalise_word(word: str) -> str:
    # Apostrophes and dots inside words ("U.S.", "Turkmenistan's") are dropped so that
    # "US"/"U.S." and "Turkmenistan's"/"Turkmenistans" meet; so are joiners and soft hyphens.
    return fold(word).translate(_INVISIBLE)


@lru_cache(maxsize=500_000)
def exact_term(word: str) -> str:
    """The term a word becomes in the exact field: folded, not stemmed."""
    return _normalise_word(word)


@lru_cache(maxsize=500_000)
def stem_term(word: str) -> str | None:
    """The term a word becomes in the stemmed fields, or None for a stop word."""
    term = _normalise_word(word)
    if term in STOP or len(term) < 2 and not term.isdigit():
        return None
    return _STEMMER.stem(term)


def words(text: str) -> list[str]:
    """The words of a text, in order, as the tokenizers find them (before their terms):
    WORD_RE.findall(text), a long text's split by str methods in fewer steps (_split)."""
    return WORD_RE.findall(text) if len(text) < _SPLIT_FROM else _split(text)


# A text this long or longer is split by _split: a release's body in about two thirds of
# findall's time (the pattern's character class is tried at every character; translate and
# split run in C, the pattern only at joiners).
_SPLIT_FROM = 64
_JOINERS = ".'’"  # joined between word characters: "U.S.", "don't"
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD_CHAR_RE = re.compile(WORD_CHAR)
# Each ASCII byte that is not a word character nor a joiner, to a space; other bytes kept.
_TO_SPACE = bytes(
    b if b >= 128 or chr(b) in _JOINERS or re.match(r"\w", chr(b)) else 32 for b in range(256)
)
# A joiner not between two word characters (after one that is not, or before one).
_LOOSE = re.compile(f"[{_JOINERS}](?:(?<!{WORD_CHAR}[{_JOINERS}])|(?!{WORD_CHAR}))")
_STAYS: dict[str, bool] = {}  # a character outside ASCII: whether it is a word character or ’


def _split(text: str) -> list[str]:
    """WORD_RE.findall(text): every character that is neither a word character nor a
    joiner made a space, then every joiner not between two word characters; what is left
    between spaces is a run of word characters with single joiners inside: a word."""
    if not text.isascii():
        for c in set(_NOT_ASCII.findall(text)):
            stays = _STAYS.get(c)
            if stays is None:
                stays = _STAYS[c] = c == "’" or _WORD_CHAR_RE.fullmatch(c) is not None
            if not stays:
                text = text.replace(c, " ")
    # Only ASCII bytes change, so the UTF-8 stays whole (lone surrogates pass through);
    # a full stop before a space (most loose joiners: a sentence's end) goes at once.
    data = text.encode("utf-8", "surrogatepass").translate(_TO_SPACE).replace(b". ", b"  ")
    text = data.decode("utf-8", "surrogatepass")
    if "." in text or "'" in text or "’" in text:
        text = _LOOSE.sub(" ", text)
    return text.split()


class WordIds(dict):
    """word -> id, for the index writers' segments (indexing/bulk.py, forward.py): a word
    looked up for the first time is given new(word) (its __missing__), once.

    of(words) looks a document's words up in one C loop (itemgetter); a word not seen
    before calls new from within it, without an exception or a second lookup.
    """

    __slots__ = ("new",)

    def __init__(self, new: Callable[[str], int]) -> None:
        super().__init__()
        self.new = new

    def __missing__(self, word: str) -> int:
        value = self[word] = self.new(word)
        return value

    def of(self, found: list[str]) -> tuple[int, ...]:
        """Each word's id, in order."""
        if len(found) > 1:
            return itemgetter(*found)(self)
        return tuple(self[w] for w in found)


def term_function(analyzer: object):
    """The word -> term (or None) function of one of our analyzers, or None for another.

    A field analysed by it has, for each word of words(text) whose term is not None, that
    term at the next position (0, 1, ...): what the tokenizer yields in "index" mode.
    """
    if isinstance(analyzer, _WordTokenizer):
        return stem_term if analyzer.stemmed else exact_term
    return None


def query_stop_word(word: str) -> bool:
    """Whether a word of a query is a function word its ranking leaves out (QUERY_STOP)."""
    return exact_term(word) in QUERY_STOP


class _WordTokenizer(Tokenizer):
    """Splits text into words and maps each through a cached term function."""

    stemmed = True

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Wildcard and fuzzy query text: one token, folded but not stemmed.
            token.text = exact_term(value)
            token.stopped = False
            token.boost = 1.0
            token.pos, token.startchar, token.endchar = (
                start_pos,
                start_char,
                start_char + len(value),
            )
            yield token
            return
        term_of = stem_term if self.stemmed else exact_term
        pos = start_pos
        for match in WORD_RE.finditer(value):
            word = match.group()
            term = term_of(word)
            if term is None:
                # Stop words are dropped; with removestops=False (the highlighter's mode)
                # they are passed through as stopped tokens, as Whoosh's StopFilter does.
                if removestops:
                    continue
                token.stopped = True
                term = word.lower()
            else:
                token.stopped = False
            token.text = term
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class StemmingTokenizer(_WordTokenizer):
    """Words -> lowercase -> folded -> stop words dropped -> Snowball stems."""

    stemmed = True


class ExactTokenizer(_WordTokenizer):
    """Words -> lowercase -> folded; every word kept, in its own position."""

    stemmed = False


def stemming_analyzer() -> StemmingTokenizer:
    """The analyzer of the title and body fields."""
    return StemmingTokenizer()


def exact_analyzer() -> ExactTokenizer:
    """The analyzer of the exact field and the facet text fields."""
    return ExactTokenizer()
