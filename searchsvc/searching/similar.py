"""More like this: the releases most like one release, found by its own distinctive words.

    a document's stored title and body --the index's stemming analysis, its first
        MAX_TOKENS_PARSED words--> each stem and how often the document uses it (tf)
    stems used at least MIN_TERM_FREQ times, numbers aside --their document frequency (df)
        in the index, looked up once per index state--> tf x idf; stems in fewer than
        MIN_DOC_FREQ documents (or more than MAX_DOC_FREQ of them) left out
    the best MAX_QUERY_TERMS stems --one weighted OR query, each stem asked of title and
        body and boosted by its tf x idf over the best one's--> the Ranker, as a search
    scores --live documents, less the document itself, its near-duplicates (its group in
        the DuplicateTable) and any ids to exclude; each other group once, at its best
        member--> the best COUNT, best first

This is Lucene's MoreLikeThis (same order of steps, and its defaults where they fit; see
the constants), ranked by the same BM25F code as a search. The index keeps no term
vectors, so a document's words come from re-reading its stored text, which costs about a
millisecond. Looking up a word's df costs Whoosh 0.1 to 0.3 ms over several segments, so
each is looked up once per index state and kept (MoreLikeThis lives as long as its reader,
as the Speller does), and only the words a document uses MIN_TERM_FREQ times are looked up.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import numpy as np

from searchsvc.analysis import WORD_RE, fold, stem_term
from searchsvc.deadline import NEVER, Deadline
from searchsvc.scoring import Ranker, idf, top
from searchsvc.searching.duplicates import DuplicateTable
from searchsvc.searching.facets import FacetTable
from searchsvc.searching.query import weighted_words

# Lucene's MoreLikeThis defaults are minTermFreq 2, minDocFreq 5, maxDocFreq unlimited,
# maxQueryTerms 25, maxNumTokensParsed 5000, boost off. Ours differ where noted; boost is
# on (setBoost(true)): each word weighs its tf x idf over the best word's, so the words a
# release is most about count most.
MIN_TERM_FREQ = 2  # Lucene's: a word used once says little of what a release is about
# Lucene's 5 would leave a small index (the five seeds) nothing to search with. A word only
# this document holds cannot find another, so 2: in this one and at least one other.
MIN_DOC_FREQ = 2
# Lucene's (no limit): idf already weighs a common word little, and in a small index the
# words most releases share may be its subject ("Russia" in three of the five seeds).
MAX_DOC_FREQ = 1.0  # a share of the documents
MAX_QUERY_TERMS = 25  # Lucene's
MAX_TOKENS_PARSED = 5000  # Lucene's: the opening of a 250,000-character release is enough
# Releases too short to use MAX_QUERY_TERMS words twice fill up with words used once.
FILL_WITH_SINGLES = True
COUNT = 10  # similar releases listed
# Words that say nothing of a subject, beyond the index's stop words: pronouns, auxiliary
# verbs, conjunctions, prepositions, determiners, honorifics, and (as numbers are) dates.
# A speech uses "her" or "but" often enough for tf x idf to pick them (Lucene leaves this
# list to its caller).
_FUNCTION_WORDS = """
    that the i me my myself mine we our ours ourselves you yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves one ones
    what which who whom whose whoever whatever this these those there here where why how
    am was were been being has had having do does did doing done would should could ought
    might must shall can cannot wo ca
    but because although though while whereas unless until since so than then also too
    about above across after against along among around before behind below beneath beside
    between beyond during except inside into near off onto out outside over past through
    throughout toward towards under underneath upon within without via per
    all any both each either neither every few many more most much other others another
    some such no nor only own same very just even still again ever never now once
    up down further here rather quite yes okay oh well
    mr mrs ms dr sir madam
    say says said tell told get got go going gone let lot lots thing things way
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
# Beside the near-duplicate groups (which an index written before signatures lacks), a
# candidate is taken for the same release as the document (or as a release listed already)
# when it has the same URL, or the same title (folded) and the same day, or the same title
# and a score this close: the same words at the same length score the same, and a re-post
# a day later is a copy, not a sequel.
SAME_SCORE = 1e-4


# As stems, and as written ("that's" gives the stem "that", which the index's stop words let by).
_SKIP = FUNCTION_WORDS | {t for w in FUNCTION_WORDS if (t := stem_term(w)) is not None}


@dataclass(frozen=True)
class SimilarRelease:
    """One release like the one asked about, and how like it (the search's score)."""

    id: str
    title: str
    date: datetime | None
    source: str
    url: str
    score: float


@dataclass(frozen=True)
class SimilarResult:
    """The releases most like one release, best first, and the words that found them."""

    id: str
    terms: list[str]  # the distinctive stems searched, most distinctive first
    hits: list[SimilarRelease]
    took_ms: float


class MoreLikeThis:
    """Finds similar releases in one state of the index (one reader), keeping its dfs."""

    def __init__(
        self,
        searcher,
        ranker: Ranker,
        facets: FacetTable,
        duplicates: DuplicateTable | None = None,
    ):
        self.searcher = searcher
        self.duplicates = duplicates
        self.reader = searcher.reader()
        self.ranker = ranker
        self.facets = facets
        self.size = max(self.reader.doc_count_all(), 1)
        self._df: dict[str, int] = {}  # stem -> documents holding it in title or body
        self._lock = threading.Lock()

    def similar(
        self,
        doc_id: str,
        *,
        count: int = COUNT,
        exclude: Iterable[str] = (),
        deadline: Deadline | None = None,
    ) -> SimilarResult | None:
        """Up to count releases most like doc_id, without it and the ids in exclude.

        None if no live document has this id. Past `deadline` (None: no deadline) it
        raises DeadlineExceededError.
        """
        started = time.perf_counter()
        deadline = deadline or NEVER
        docnum = self.searcher.document_number(id=doc_id)
        if docnum is None:
            return None
        stored = self.searcher.stored_fields(docnum)
        weights = self.distinctive_terms(stored, deadline)
        hits = self._ranked(docnum, stored, weights, count, set(exclude), deadline)
        return SimilarResult(
            id=doc_id,
            terms=list(weights),
            hits=hits,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def distinctive_terms(self, stored: dict, deadline: Deadline = NEVER) -> dict[str, float]:
        """A document's most distinctive stems, each with its tf x idf, best first."""
        tf = term_frequencies(f"{stored.get('title', '')}\n{stored.get('body', '')}")
        often = [t for t, n in tf.items() if n >= MIN_TERM_FREQ]
        scored = self._scored(often, tf, deadline)
        if FILL_WITH_SINGLES and len(scored) < MAX_QUERY_TERMS:
            once = [t for t, n in tf.items() if n < MIN_TERM_FREQ]
            scored.update(self._scored(once, tf, deadline))
        # Equals in the order the document first uses them: its opening says what it is about.
        best = sorted(scored.items(), key=lambda kv: -kv[1])[:MAX_QUERY_TERMS]
        return dict(best)

    def _scored(self, terms: list[str], tf: Counter, deadline: Deadline) -> dict[str, float]:
        most = MAX_DOC_FREQ * self.size  # df counts deleted documents too, as size does
        out = {}
        for term in terms:
            deadline.check("similar terms")
            df = self.df(term)
            if MIN_DOC_FREQ <= df <= most:
                out[term] = tf[term] * idf(self.size, df)  # as the ranker weighs it
        return out

    def df(self, term: str) -> int:
        """How many documents hold term in their body (in their title, for a word no body
        holds): nearly always the documents holding it in either, at half the lookups."""
        found = self._df.get(term)
        if found is None:
            found = self.reader.doc_frequency("body", term)
            if not found:  # a word of a title alone, which its body does not repeat
                found = self.reader.doc_frequency("title", term)
            with self._lock:
                self._df[term] = found
        return found

    def _ranked(
        self,
        docnum: int,
        stored: dict,
        weights: dict[str, float],
        count: int,
        exclude: set[str],
        deadline: Deadline,
    ) -> list[SimilarRelease]:
        if not weights or count < 1:
            return []
        best = max(weights.values())
        q = weighted_words({t: w / best for t, w in weights.items()})
        match, scores = self.ranker.evaluate(q, deadline)
        match &= self.facets.live_mask
        match[docnum] = False
        for other in exclude:
            n = self.searcher.document_number(id=other)
            if n is not None:
                match[n] = False
        if self.duplicates is not None:
            match[self.duplicates.others(docnum)] = False
            match = self.duplicates.collapse(match, scores)  # each story once
        # The document itself, then each release listed: a candidate that is the same
        # release as one of them is passed over.
        kept = [identity(stored, float(scores[docnum]))]
        hits: list[SimilarRelease] = []
        for n in top(match, scores, count * 2):  # room for the copies passed over
            deadline.check("similar releases")
            found, score = self.searcher.stored_fields(int(n)), float(scores[n])
            this = identity(found, score)
            if any(same_release(this, other) for other in kept):
                continue
            kept.append(this)
            hits.append(similar_release(found, score))
            if len(hits) == count:
                break
        return hits


def term_frequencies(text: str) -> Counter:
    """How often each stem occurs among the first MAX_TOKENS_PARSED words of text.

    Numbers are left out (a year or a day of the month says when, not what about), and so
    are FUNCTION_WORDS.
    """
    # Words counted in C first, then each distinct word stemmed once: a release of 5,000
    # words has about 1,000 distinct ones. 20 characters a word is more than enough.
    words = WORD_RE.findall(text[: MAX_TOKENS_PARSED * 20])[:MAX_TOKENS_PARSED]
    out: Counter = Counter()
    for word, n in Counter(words).items():
        term = stem_term(word)
        if term is not None and term not in _SKIP and not term.isdigit():
            out[term] += n
    return out


class Identity(NamedTuple):
    """What tells one release from another: its URL, title (folded), day, and score."""

    url: str
    title: str
    day: date | None
    score: float


def identity(stored: dict, score: float) -> Identity:
    """A stored document's identity, for same_release."""
    when = stored.get("date")
    return Identity(
        _folded(stored.get("url")),
        _folded(stored.get("title")),
        when.date() if isinstance(when, datetime) else None,  # a re-post the same day: same
        score,
    )


def same_release(a: Identity, b: Identity) -> bool:
    """Whether two documents are one release under two ids: the same URL, or the same
    title and day, or the same title and (to SAME_SCORE) the same score."""
    if a.url and a.url == b.url:
        return True
    if not a.title or a.title != b.title:
        return False
    same_day = a.day is not None and a.day == b.day
    return same_day or math.isclose(a.score, b.score, rel_tol=SAME_SCORE)


def _folded(value: object) -> str:
    return " ".join(fold(value).split()) if isinstance(value, str) else ""


def more_like_this_settings() -> dict:
    """These choices as the parameters of OpenSearch's (Lucene's) more_like_this query."""
    return {
        "min_term_freq": MIN_TERM_FREQ,
        "min_doc_freq": MIN_DOC_FREQ,
        "max_query_terms": MAX_QUERY_TERMS,
        "stop_words": sorted(FUNCTION_WORDS),
    }


def similar_release(stored: dict, score: float) -> SimilarRelease:
    """A stored document as a similar release with its score."""
    return SimilarRelease(
        id=stored["id"],
        title=stored.get("title", ""),
        date=stored.get("date"),
        source=stored.get("source", ""),
        url=stored.get("url", ""),
        score=round(float(np.float64(score)), 4),
    )
