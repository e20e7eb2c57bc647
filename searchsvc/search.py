"""Search: one function that the CLI, the web pages, the API and the benchmarks all call.

    SearchRequest --check--> filters (dates, facet values) as a boolean array over documents
                  --parse--> Whoosh query (or every document, for an empty query)
    query --ranker.py--> which documents match and their scores, as arrays
    matches & filters & live --> total and facet counts (from in-memory columns)
                             --top page, by score or date--> Hits with snippets
    unknown words --spelling.py, the exact field's words--> a "did you mean" suggestion

Every phase checks the request's deadline (deadline.py) before it starts, and every loop
whose length the query or the corpus sets checks it as it goes: past it, the search stops
with DeadlineExceededError instead of running on until a worker is killed.

Whoosh parses the query and holds the index; matching, scoring and facet counting run over
numpy arrays (ranker.py, facets.py), because Whoosh's matchers and ``groupedby`` visit
every match through layers of Python objects (see WHOOSH-NOTES).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from itertools import islice

import numpy as np
from whoosh import query as wq

from searchsvc import proximity
from searchsvc.analysis import exact_term
from searchsvc.dates import DateError, date_bounds
from searchsvc.deadline import NEVER, Deadline
from searchsvc.facets import FacetTable
from searchsvc.highlight import snippet
from searchsvc.query import QueryError, QueryTerms, parse_query, plain_words, query_terms
from searchsvc.ranker import Ranker, top
from searchsvc.schema import FACET_FIELDS
from searchsvc.spelling import Speller

SORTS = ("relevance", "newest", "oldest")
MAX_SIZE = 100
MAX_DEPTH = 10_000  # page x size: deeper pages are refused, not computed
MAX_FACET_VALUES = 50
MAX_EXPANSIONS = 500  # words one prefix*, wildcard or fuzzy~ term may stand for


class SearchError(ValueError):
    """A request that cannot be answered as asked; the message says why."""


@dataclass(frozen=True)
class SearchRequest:
    """What to search for, filter by, sort by and which page to return."""

    q: str = ""
    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None
    category: str | None = None
    place: str | None = None
    year: str | None = None
    month: str | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = 10

    def filters(self) -> dict[str, str]:
        """The facet filters that are set."""
        return {f: getattr(self, f) for f in FACET_FIELDS if getattr(self, f)}

    def to_dict(self) -> dict:
        """The request as plain values, for JSON."""
        return asdict(self)


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
    terms: object = field(default=None, repr=False, compare=False)

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


def check_request(req: SearchRequest) -> SearchRequest:
    """Raise SearchError for out-of-range paging or sort; return the request normalised."""
    if req.sort not in SORTS:
        raise SearchError(f"sort must be one of {', '.join(SORTS)}, not {req.sort!r}")
    if not 1 <= req.size <= MAX_SIZE:
        raise SearchError(f"size must be between 1 and {MAX_SIZE}, not {req.size}")
    if req.page < 1:
        raise SearchError(f"page must be 1 or more, not {req.page}")
    if req.page * req.size > MAX_DEPTH:
        raise SearchError(
            f"page {req.page} of size {req.size} is deeper than the first {MAX_DEPTH} "
            "results; narrow the search with dates or facets"
        )
    return replace(req, q=req.q.strip())


def search(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    deadline: Deadline | None = None,
    speller: Speller | None = None,
) -> SearchResult:
    """Run a search request against a Whoosh searcher, its ranker and its facet table.

    Past `deadline` (None: no deadline) it raises DeadlineExceededError. `speller` is the
    reader's dictionary for the "did you mean" (without one, each search reads the words
    it needs from the index).
    """
    started = time.perf_counter()
    deadline = deadline or NEVER
    req = check_request(req)
    try:
        start, end = date_bounds(req.date_from, req.date_to)
        q = parse_query(req.q, searcher.schema) if req.q else wq.Every()
    except (DateError, QueryError) as exc:
        raise SearchError(str(exc)) from exc
    if q is wq.NullQuery and plain_words(req.q):
        q = _exact_fallback(req.q)  # only stop words: look for them as written
    deadline.check("parsing")
    speller = speller if speller is not None else Speller(searcher.reader())
    q = _expand_multiterms(q, searcher.reader(), deadline, speller)
    match, scores = ranker.evaluate(q, deadline)
    match &= facets.live_mask
    allowed = facets.allowed(req.filters(), start, end)
    if allowed is not None:
        match &= allowed
    terms = query_terms(q, searcher.reader()) if req.q else None
    # The re-ranking reads the best documents' text; the page's snippets read it again.
    stored = lru_cache(maxsize=None)(searcher.stored_fields)
    docnums = _page(stored, ranker, match, scores, facets, req, terms, deadline)
    hits = []
    for n in docnums:
        deadline.check("snippets")
        hits.append(_hit(stored(int(n)), scores[n], terms))
    deadline.check("facets")
    counts = _facet_counts(facets, match, req)
    return SearchResult(
        request=req,
        hits=hits,
        total=int(np.count_nonzero(match)),
        facets=counts,
        suggestion=speller.suggest(req.q, deadline),
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        terms=terms,
    )


def _expand_multiterms(
    q: wq.Query, reader, deadline: Deadline | None = None, speller: Speller | None = None
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
            raise SearchError(
                f"{node} stands for more than {MAX_EXPANSIONS} words; add letters to narrow it"
            )
        terms = [wq.Term(f, t.decode("utf-8") if isinstance(t, bytes) else t) for f, t in words]
        return wq.Or(terms, boost=node.boost) if terms else wq.NullQuery

    return q.accept(expand).normalize()


def _exact_fallback(text: str) -> wq.Query:
    words = [exact_term(w) for w in plain_words(text)]
    return wq.Term("exact", words[0]) if len(words) == 1 else wq.Phrase("exact", words)


def _page(stored, ranker, match, scores, facets: FacetTable, req: SearchRequest, terms, deadline):
    """The document numbers of the requested page, best first or by date."""
    depth = req.page * req.size
    deadline.check("sorting")
    if req.sort == "relevance" and req.q:
        ranked = top(match, scores, max(depth, proximity.DEPTH))
        ranked = _by_proximity(stored, ranker, ranked, scores, terms, deadline)[:depth]
    elif req.sort == "oldest":
        ranked = top(match, _undated_as(facets.date_keys, np.inf), depth, descending=False)
    else:  # newest first, and the order of an empty query; undated documents last
        ranked = top(match, _undated_as(facets.date_keys, -np.inf), depth)
    return ranked[(req.page - 1) * req.size :]


def _by_proximity(
    stored, ranker: Ranker, ranked: np.ndarray, scores: np.ndarray, terms, deadline: Deadline
):
    """Re-rank the best documents with the proximity bonus (their scores updated in place)."""
    idf_of = ranker.word_idfs(sorted(terms.stems), deadline)
    if len(idf_of) < 2:
        return ranked
    head = ranked[: proximity.DEPTH]
    texts = []
    for n in head:
        deadline.check("proximity")
        texts.append(_text(stored(int(n))))
    scores[head] += proximity.bonuses(texts, idf_of, deadline)
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
