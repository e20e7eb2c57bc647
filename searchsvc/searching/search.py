"""Search: one function that the CLI, the web pages, the API and the benchmarks all call.

    SearchRequest --check--> filters (dates, facet values) as a boolean array over documents
                  --parse--> Whoosh query (or every document, for an empty query)
    query --ranker.py--> which documents match and their scores, as arrays
    matches & filters & live --> total and facet counts (from in-memory columns)
                             --top page, by score or date--> Hits with snippets
    unknown words --the exact field's lexicon--> a "did you mean" suggestion

Whoosh parses the query and holds the index; matching, scoring and facet counting run over
numpy arrays (ranker.py, facets.py), because Whoosh's matchers and ``groupedby`` visit
every match through layers of Python objects (see WHOOSH-NOTES).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice

import numpy as np
from whoosh import query as wq

from searchsvc.analysis import exact_term, stem_term
from searchsvc.dates import DateError, date_bounds
from searchsvc.schema import FACET_FIELDS
from searchsvc.scoring import PROXIMITY_DEPTH, Ranker, proximity_bonuses, top
from searchsvc.searching.facets import FacetTable
from searchsvc.searching.query import QueryError, QueryTerms, parse_query, plain_words, query_terms
from searchsvc.searching.request import MAX_DEPTH, SearchError, SearchRequest, check_request
from searchsvc.snippets import snippet

MAX_FACET_VALUES = 50
MAX_EXPANSIONS = 500  # words one prefix*, wildcard or fuzzy~ term may stand for


@dataclass(frozen=True)
class Hit:
    """One result: a document's fields, its score and a marked-up snippet (HTML)."""

    id: str
    title: str
    date: datetime | None
    source: str
    category: str
    place: str
    url: str
    score: float
    snippet: str


@dataclass(frozen=True)
class FacetCount:
    """One facet value and how many matches have it."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """The answer to a SearchRequest."""

    request: SearchRequest
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetCount]]
    suggestion: str | None
    took_ms: float
    notice: str | None = None  # how the request was read, when not quite as asked

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at most MAX_DEPTH matches are reachable)."""
        reachable = min(self.total, MAX_DEPTH)
        return max((reachable + self.request.size - 1) // self.request.size, 1)

    @property
    def has_next(self) -> bool:
        """Whether a next page exists and may be asked for."""
        nxt = self.request.page + 1
        return nxt <= self.pages and nxt * self.request.size <= MAX_DEPTH


def search(searcher, ranker: Ranker, facets: FacetTable, req: SearchRequest) -> SearchResult:
    """Run a search request against a Whoosh searcher, its ranker and its facet table."""
    started = time.perf_counter()
    req = check_request(req)
    try:
        start, end = date_bounds(req.date_from, req.date_to)
        q = parse_query(req.q, searcher.schema) if req.q else wq.Every()
    except (DateError, QueryError) as exc:
        raise SearchError(str(exc)) from exc
    if q is wq.NullQuery and plain_words(req.q):
        q = _exact_fallback(req.q)  # only stop words: look for them as written
    q = _expand_multiterms(q, searcher.reader())
    match, scores = ranker.evaluate(q)
    match &= facets.live_mask
    allowed = facets.allowed(req.filters(), start, end)
    if allowed is not None:
        match &= allowed
    terms = query_terms(q, searcher.reader()) if req.q else None
    # The re-ranking reads the best documents' text; the page's snippets read it again.
    stored = lru_cache(maxsize=None)(searcher.stored_fields)
    docnums = _page(stored, ranker, match, scores, facets, req, terms)
    return SearchResult(
        request=req,
        hits=[_hit(stored(int(n)), scores[n], terms) for n in docnums],
        total=int(np.count_nonzero(match)),
        facets=_facet_counts(facets, match, req),
        suggestion=suggest(searcher, req.q),
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notice=_notice(req),
    )


def _notice(req: SearchRequest) -> str | None:
    if req.page * req.size > MAX_DEPTH:
        return (
            f"Only the first {MAX_DEPTH:,} results can be paged through; "
            "narrow the search with dates or facets."
        )
    return None


def _expand_multiterms(q: wq.Query, reader) -> wq.Query:
    """Replace each prefix*, wildcard and fuzzy~ term by an OR of the words it stands for.

    Expanded once here, the words are then counted, ranked and highlighted as plain terms,
    instead of each step walking the lexicon again; and "a*" over a large lexicon, which
    would stand for thousands of words, is refused.
    """

    def expand(node: wq.Query) -> wq.Query:
        if not isinstance(node, wq.MultiTerm):
            return node
        words = list(islice(node.expanded_terms(reader), MAX_EXPANSIONS + 1))
        if len(words) > MAX_EXPANSIONS:
            raise SearchError(
                f"{node} stands for more than {MAX_EXPANSIONS} words; add letters to narrow it"
            )
        terms = [wq.Term(f, t.decode("utf-8") if isinstance(t, bytes) else t) for f, t in words]
        return wq.Or(terms, boost=node.boost) if terms else wq.NullQuery

    return q.accept(expand).normalize()


def _exact_fallback(text: str) -> wq.Query:
    words = [exact_term(w) for w in plain_words(text)]
    return wq.Term("exact", words[0]) if len(words) == 1 else wq.Phrase("exact", words)


def _page(stored, ranker, match, scores, facets: FacetTable, req: SearchRequest, terms):
    """The document numbers of the requested page, best first or by date."""
    depth = req.page * req.size
    if depth > MAX_DEPTH:
        return np.zeros(0, dtype=np.int64)
    if req.sort == "relevance" and req.q:
        ranked = top(match, scores, max(depth, PROXIMITY_DEPTH))
        ranked = _by_proximity(stored, ranker, ranked, scores, terms)[:depth]
    elif req.sort == "oldest":
        ranked = top(match, _undated_as(facets.date_keys, np.inf), depth, descending=False)
    else:  # newest first, and the order of an empty query; undated documents last
        ranked = top(match, _undated_as(facets.date_keys, -np.inf), depth)
    return ranked[(req.page - 1) * req.size :]


def _by_proximity(stored, ranker: Ranker, ranked: np.ndarray, scores: np.ndarray, terms):
    """Re-rank the best documents with the proximity bonus (their scores updated in place)."""
    idf_of = ranker.word_idfs(sorted(terms.stems))
    if len(idf_of) < 2:
        return ranked
    head = ranked[:PROXIMITY_DEPTH]
    texts = [_text(stored(int(n))) for n in head]
    scores[head] += proximity_bonuses(texts, idf_of)
    order = np.lexsort((head, -scores[head]))
    return np.concatenate([head[order], ranked[len(head) :]])


def _text(stored: dict) -> str:
    # As the exact field reads it, so word positions agree with the index's.
    return f"{stored.get('title', '')}\n{stored.get('body', '')}"


def _undated_as(keys: np.ndarray, value: float) -> np.ndarray:
    return np.where(np.isnan(keys), value, keys)


def _hit(stored: dict, score: float | None, terms) -> Hit:
    body = stored.get("body", "")
    return Hit(
        id=stored["id"],
        title=stored.get("title", ""),
        date=stored.get("date"),
        source=stored.get("source", ""),
        category=stored.get("category", ""),
        place=stored.get("place", ""),
        url=stored.get("url", ""),
        score=round(float(score or 0.0), 4),
        snippet=snippet(body, terms or QueryTerms()),
    )


def _facet_counts(facets: FacetTable, match: np.ndarray, req: SearchRequest):
    counts = facets.count(match)
    out = {}
    for name in FACET_FIELDS:
        counter: Counter = counts[name]
        if name in ("year", "month"):
            # A timeline reads in date order, newest last; other facets by count.
            items = sorted(counter.items())
        else:
            items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES]
        out[name] = [FacetCount(v, c) for v, c in items if v]
    if not (req.year or req.month or req.date_from or req.date_to):
        # Months only make sense within a chosen year or range: 60 bars say nothing.
        out["month"] = []
    return out


def highlight_terms(searcher, text: str) -> QueryTerms:
    """What the query text looks for, to mark in a document; nothing for a bad query."""
    if not text.strip():
        return QueryTerms()
    try:
        return query_terms(parse_query(text, searcher.schema), searcher.reader())
    except QueryError:
        return QueryTerms()  # a query that cannot run just highlights nothing


def suggest(searcher, text: str) -> str | None:
    """The query with words that occur nowhere replaced by close, frequent ones."""
    # Each unknown word is compared with every indexed word (23 s for 250 words, 37 s for
    # one of 2,000 letters): only the first ten words of a sensible length are looked at.
    words = [w for w in plain_words(text) if len(w) <= 40][:10]
    if not words:
        return None
    reader = searcher.reader()
    corrector = searcher.corrector("exact")
    suggestion = text
    changed = False
    for word in words:
        term = exact_term(word)
        if len(term) < 3 or reader.doc_frequency("exact", term) or _stem_found(reader, word):
            continue
        for maxdist in (1, 2):
            found = corrector.suggest(term, limit=1, maxdist=maxdist, prefix=1)
            if found:
                suggestion = suggestion.replace(word, found[0], 1)
                changed = True
                break
    return suggestion if changed else None


def _stem_found(reader, word: str) -> bool:
    # "consultation" is no typo when "consultations" is indexed: its stem matches.
    stem = stem_term(word)
    return stem is not None and reader.doc_frequency("body", stem) > 0
