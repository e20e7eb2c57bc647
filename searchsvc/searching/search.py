"""Search: the one function that answers a SearchRequest over an open index.

The edges (pages, API, CLI, benchmarks) call the backend protocol (backend.py); the
embedded engine (engine.py) answers each request with this function, on the searcher,
ranker, facet table and speller it keeps for the current state of the index.

    SearchRequest --check--> filters (dates, facet values) as a boolean array over documents
                             (relative dates counted from the `today` the caller gives)
                  --build_query--> Whoosh query (or every document, for an empty query)
    query --the scoring wing--> which documents match and their scores, as arrays
    matches & filters & live --> total and facet counts (from in-memory columns)
                             --timeline.py: one histogram of their dates--> the timeline
                             --duplicates.py: each group of near-duplicates once-->
                             --top page, by score or date--> Hits with snippets, and their
                               other copies
    unknown words --spelling.py, the exact field's words--> a "did you mean" suggestion
    names --variants.py: the spellings of the variant lists, searched with the typed one
          --transliteration.py: other spellings the index holds--> "also try" queries

Every phase checks the request's deadline (deadline.py) before it starts, and every loop
whose length the query or the corpus sets checks it as it goes: past it, the search stops
with DeadlineExceededError instead of running on until a worker is killed.

Whoosh parses the query and holds the index; matching, scoring and facet counting run over
numpy arrays (scoring/, facets.py), because Whoosh's matchers and ``groupedby`` visit
every match through layers of Python objects (see WHOOSH-NOTES).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial

import numpy as np

from searchsvc.analysis import WORD_RE, exact_term, stem_term
from searchsvc.dates import DateError, DateRange, resolve_range
from searchsvc.deadline import NEVER, Deadline
from searchsvc.entities import country_label
from searchsvc.indexing import ForwardIndex, Opening
from searchsvc.reading import shown_title
from searchsvc.schema import BY_FACET, FACETS, NONE_VALUE, stored_values
from searchsvc.scoring import (
    PROXIMITY_DEPTH,
    Ranker,
    best_matches,
    proximity_bonuses,
    top,
)
from searchsvc.searching.duplicates import Copy, DuplicateTable
from searchsvc.searching.facets import FacetFilter, FacetTable, value_key
from searchsvc.searching.forgive import plain_quotes
from searchsvc.searching.query import (
    QueryError,
    QueryTerms,
    parse_forgiving,
    plain_words,
    query_terms,
    read_query,
    without_function_words,
)
from searchsvc.searching.request import (
    MAX_DEPTH,
    SearchError,
    SearchRequest,
    check_request,
    notice_of,
)
from searchsvc.searching.spelling import Speller
from searchsvc.searching.timeline import Timeline, timeline
from searchsvc.searching.transliteration import Transliterations
from searchsvc.searching.variants import Expansion, Variants
from searchsvc.snippets import highlight_all, snippet

MAX_FACET_VALUES = 50


@dataclass(frozen=True)
class Hit:
    """One result: a document's fields, its score and a marked-up snippet (HTML)."""

    id: str
    title: str
    date: datetime | None
    source: str
    category: tuple[str, ...]  # every category (tag), in the order the release gave them
    place: str
    url: str
    score: float
    snippet: str
    # The other releases of its group that the search matched, shown "also published as"
    # (none with group=false, which lists them as hits of their own).
    also: tuple[Copy, ...] = ()
    title_html: str = ""  # the title as HTML: escaped, the query's words in <mark>
    # What the release names (searchsvc.entities), each sorted.
    country: tuple[str, ...] = ()
    person: tuple[str, ...] = ()
    organisation: tuple[str, ...] = ()


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
    range: DateRange | None = None  # the days from and to resolved to; None: no date filter
    also_searched: tuple[str, ...] = ()  # other spellings of its names the query searched
    also_try: tuple[str, ...] = ()  # queries with other spellings the index holds
    timeline: Timeline | None = None  # the matches by day, week, month or year; None: undated
    stories: int | None = None  # the matches with each group of near-duplicates counted once

    @property
    def listed(self) -> int:
        """How many results the pages list: the stories, or with group=false every release."""
        if self.stories is None or not self.request.group:
            return self.total
        return self.stories

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at most MAX_DEPTH matches are reachable)."""
        reachable = min(self.listed, MAX_DEPTH)
        return max((reachable + self.request.size - 1) // self.request.size, 1)

    @property
    def has_next(self) -> bool:
        """Whether a next page exists and may be asked for."""
        nxt = self.request.page + 1
        return nxt <= self.pages and nxt * self.request.size <= MAX_DEPTH


def search(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    deadline: Deadline | None = None,
    speller: Speller | None = None,
    today: date | None = None,
    variants: Variants | None = None,
    transliterations: Transliterations | None = None,
    duplicates: DuplicateTable | None = None,
    forward: ForwardIndex | None = None,
) -> SearchResult:
    """Run a search request against a Whoosh searcher, its ranker and its facet table.

    Past `deadline` (None: no deadline) it raises DeadlineExceededError. `speller` is the
    reader's dictionary for the "did you mean" (without one, each search reads the words
    it needs from the index). Relative dates count from `today` (None: today in UTC).
    `variants` widens names to their other spellings (none without); `transliterations`
    offers other spellings the index holds as "also try" queries (none without).
    With `duplicates`, each group of near-duplicates is listed once (unless req.group is
    false) and counted in `stories`; facets count every release. The re-ranking reads the
    best documents' openings from `forward` (indexing/forward.py), else their stored text.
    """
    started = time.perf_counter()
    deadline = deadline or NEVER
    req = check_request(req)
    speller = speller if speller is not None else Speller(searcher.reader())
    expansion = expansion_for(variants, searcher, req, speller)
    found = _found(searcher, ranker, facets, req, deadline, speller, today, expansion)
    match, scores, terms, dates, reading = (
        found.match,
        found.scores,
        found.terms,
        found.dates,
        found.reading,
    )
    # The re-ranking reads the best documents' text; the page's snippets read it again.
    stored = lru_cache(maxsize=None)(searcher.stored_fields)
    deadline.check("grouping")
    shown = match
    if duplicates is not None:
        shown = duplicates.collapse(match, _best_first(req, scores, facets))
    listed = shown if req.group else match
    docnums = _page(stored, ranker, listed, scores, facets, req, terms, deadline, forward)
    hits = []
    for n in docnums:
        deadline.check("snippets")
        also = copies(stored, duplicates, int(n), match) if req.group else ()
        hits.append(_hit(stored(int(n)), scores[n], terms, also))
    deadline.check("facets")
    counts = _facet_counts(facets, found, req)
    suggestion = _suggestion(speller, req.q, expansion, deadline)
    drawn = timeline(facets.date_keys, match, *((dates.start, dates.end) if dates else ()))
    total, stories = int(np.count_nonzero(match)), int(np.count_nonzero(shown))
    return SearchResult(
        request=req,
        hits=hits,
        total=total,
        stories=stories,
        facets=counts,
        suggestion=suggestion,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notice=notice_of(req, reading, dates, stories if req.group else total),
        range=dates,
        also_searched=tuple(expansion.also_searched) if expansion else (),
        also_try=_also_try(transliterations, req.q, expansion, suggestion, deadline),
        timeline=drawn,
    )


@dataclass(frozen=True)
class _Found:
    """What matches a request: with every filter (match), and before its facet filters."""

    match: np.ndarray
    base: np.ndarray  # the query's live matches within the date range, no facet filter
    filters: dict[str, FacetFilter]
    scores: np.ndarray
    terms: QueryTerms | None
    dates: DateRange | None
    reading: str | None


def expansion_for(
    variants: Variants | None, searcher, req: SearchRequest, speller: Speller | None = None
) -> Expansion | None:
    """A fresh expansion of req's names (None: no variants, a verbatim or empty query).

    With the speller, whether the index holds a spelling's words is its cached count (a
    word asked of a 16-segment index's terms files cost 0.5 ms: a name of many spellings,
    "Biden", added 10 ms to each query at 10x the corpus)."""
    if variants is None or req.verbatim or not req.q:
        return None
    frequency = speller.doc_frequency if speller is not None else None
    return variants.expansion(searcher.reader(), req.q, frequency)


def _suggestion(
    speller: Speller, text: str, expansion: Expansion | None, deadline: Deadline
) -> str | None:
    """The "did you mean", leaving alone the names searched with their other spellings."""
    suggestion = speller.suggest(text, deadline)
    if suggestion is None or expansion is None or not expansion.widened:
        return suggestion
    typed, offered = plain_words(text), plain_words(suggestion)
    if len(typed) != len(offered):
        return suggestion
    kept = suggestion
    for word, other in zip(typed, offered, strict=True):
        if word != other and exact_term(word) in expansion.widened:
            kept = kept.replace(other, word, 1)
    return None if kept == text else kept


def _also_try(
    transliterations: Transliterations | None,
    text: str,
    expansion: Expansion | None,
    suggestion: str | None,
    deadline: Deadline,
) -> tuple[str, ...]:
    if transliterations is None or not text:
        return ()
    searched = expansion.words if expansion else ()
    found = transliterations.also_try(text, searched, deadline)
    said = (suggestion or "").casefold()
    return tuple(q for q in found if q.casefold() != said)


def matches(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    deadline: Deadline,
    speller: Speller,
    today: date | None = None,
    expansion: Expansion | None = None,
) -> tuple[np.ndarray, np.ndarray, QueryTerms | None, DateRange | None, str | None]:
    """Which live documents match a checked request and pass its filters, their scores, the
    query's terms (None for an empty query), the date range the request resolved to
    (relative dates counted from `today`), and how the query was read if not as typed.
    With an `expansion`, names are widened to their other spellings (it records which).

    SearchError for a bad date, and for a query that cannot be read as typed if the
    request is strict (otherwise its plain words are searched, and the notice says so).
    """
    found = _found(searcher, ranker, facets, req, deadline, speller, today, expansion)
    return found.match, found.scores, found.terms, found.dates, found.reading


def _found(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    deadline: Deadline,
    speller: Speller,
    today: date | None = None,
    expansion: Expansion | None = None,
) -> _Found:
    try:
        dates = resolve_range(req.date_from, req.date_to, today)
        start, end = dates.bounds() if dates else (None, None)
        q, reading = read_query(
            req.q, searcher.schema, searcher.reader(), deadline, speller, req.strict, expansion
        )
    except (DateError, QueryError) as exc:
        raise SearchError(str(exc)) from exc
    match, scores = ranker.evaluate(q, deadline, repeated_words(req.q))
    match &= facets.live_mask
    in_range = facets.allowed({}, start, end)
    if in_range is not None:
        match &= in_range
    base = match.copy()
    filters = req.filters()
    for name, wanted in filters.items():
        match &= facets.passing(name, wanted)
    terms = query_terms(q, searcher.reader()) if req.q else None
    return _Found(match, base, filters, scores, terms, dates, reading)


def repeated_words(text: str) -> dict[str, int]:
    """The stems a query's text holds more than once, and how often: each counts that often."""
    counts = Counter(stem for stem in map(stem_term, WORD_RE.findall(text)) if stem)
    return {stem: n for stem, n in counts.items() if n > 1}


def _page(
    stored, ranker, match, scores, facets: FacetTable, req: SearchRequest, terms, deadline, forward
):
    """The document numbers of the requested page, best first or by date."""
    depth = req.page * req.size
    if depth > MAX_DEPTH:
        return np.zeros(0, dtype=np.int64)
    ranked = ranking(stored, ranker, match, scores, facets, req, terms, deadline, depth, forward)
    return ranked[(req.page - 1) * req.size :]


def ranking(
    stored,
    ranker,
    match,
    scores,
    facets: FacetTable,
    req: SearchRequest,
    terms,
    deadline,
    depth,
    forward: ForwardIndex | None = None,
) -> np.ndarray:
    """The document numbers of the first `depth` matches, best first or by date."""
    deadline.check("sorting")
    if req.sort == "relevance" and req.q:
        idf_of = ranker.word_idfs(sorted(terms.stems), deadline)
        count = max(depth, PROXIMITY_DEPTH)
        read = _Openings(stored, forward)
        if idf_of:  # the forms bonus and feedback, scored where they can reach the top
            texts = partial(read, deadline=deadline, phase="feedback")
            words = sum(repeated_words(req.q).get(stem, 1) for stem in idf_of)
            forms = own_forms(req.q, idf_of)
            ranked = best_matches(ranker, match, scores, count, forms, texts, words, deadline)
        else:
            ranked = top(match, scores, count)
        return _by_proximity(read, ranked, scores, deadline, idf_of)[:depth]
    if req.sort == "oldest":
        return top(match, _undated_as(facets.date_keys, np.inf), depth, descending=False)
    # Newest first, and the order of an empty query; undated documents last.
    return top(match, _undated_as(facets.date_keys, -np.inf), depth)


def own_forms(text: str, idf_of) -> Counter[str]:
    """The query's ranked words as typed (folded, not stemmed), and how often it has each."""
    kept = " ".join(without_function_words(text.split()))
    return Counter(exact_term(w) for w in WORD_RE.findall(kept) if stem_term(w) in idf_of)


class _Openings:
    """The openings of documents as the re-ranking reads them: from the forward index, or
    (a segment without one) their stored title and body."""

    def __init__(self, stored, forward: ForwardIndex | None) -> None:
        self.stored, self.forward = stored, forward

    def __call__(self, docnums: np.ndarray, deadline: Deadline, phase: str) -> list:
        out: list[str | Opening] = []
        for n in docnums.tolist():
            deadline.check(phase)
            found = self.forward.opening(n) if self.forward is not None else None
            out.append(found if found is not None else _text(self.stored(n)))
        return out


def _by_proximity(
    read: _Openings,
    ranked: np.ndarray,
    scores: np.ndarray,
    deadline: Deadline,
    idf_of: dict[str, float],
):
    """Re-rank the best documents with the proximity bonus (their scores updated in place)."""
    if len(idf_of) < 2:
        return ranked
    head = ranked[:PROXIMITY_DEPTH]
    scores[head] += proximity_bonuses(read(head, deadline, "proximity"), idf_of, deadline)
    order = np.lexsort((head, -scores[head]))
    return np.concatenate([head[order], ranked[len(head) :]])


def _best_first(req: SearchRequest, scores: np.ndarray, facets: FacetTable) -> np.ndarray:
    """What makes a group's best member, in the order of the list: its score, or its date."""
    if req.sort == "relevance" and req.q:
        return scores
    if req.sort == "oldest":
        return -_undated_as(facets.date_keys, np.inf)
    return _undated_as(facets.date_keys, -np.inf)


def copies(
    stored, duplicates: DuplicateTable | None, n: int, match: np.ndarray | None = None
) -> tuple[Copy, ...]:
    """The other releases of document n's group (those in match, if given), oldest first."""
    if duplicates is None:
        return ()
    found = [listed_fields(stored(int(m))) for m in duplicates.others(n, match)]
    found.sort(key=lambda f: (f["date"] is None, f["date"] or datetime.min, f["id"]))
    keep = ("id", "title", "source", "date", "url")
    return tuple(Copy(**{k: f[k] for k in keep}) for f in found)


def _text(stored: dict) -> str:
    # As the exact field reads it, so word positions agree with the index's.
    return f"{stored.get('title', '')}\n{stored.get('body', '')}"


def _undated_as(keys: np.ndarray, value: float) -> np.ndarray:
    return np.where(np.isnan(keys), value, keys)


def listed_fields(stored: dict) -> dict:
    """The fields a result lists (a hit's, an export row's), from a stored document."""
    fields: dict = {"title": shown_title(stored.get("title", ""), stored.get("body", ""))}
    # The facets Hit has a field for (add one there, and to ExportRow, to list a facet).
    for facet in FACETS:
        if facet.name in Hit.__dataclass_fields__:
            name = facet.name
            multi = facet.multi_valued
            fields[name] = stored_values(stored, name) if multi else stored.get(name, "")
    return {"id": stored["id"], "date": stored.get("date"), **fields, "url": stored.get("url", "")}


def _hit(stored: dict, score: float | None, terms, also: tuple[Copy, ...] = ()) -> Hit:
    body = stored.get("body", "")
    fields = listed_fields(stored)
    return Hit(
        **fields,
        score=round(float(score or 0.0), 4),
        snippet=snippet(body, terms or QueryTerms()),
        also=also,
        title_html=highlight_all(fields["title"], terms or QueryTerms()),
    )


def _facet_counts(facets: FacetTable, found: _Found, req: SearchRequest):
    """Each facet's values among the matches, most frequent first (the timeline by date).

    A facet's own choice of values does not narrow its own counts (as in Kibana's and
    GOV.UK's finders, and Algolia's disjunctive facets): with place=ghana chosen, the
    other places still show how many releases each would add. Its exclusions, and every
    other facet's filter, do apply. The timeline (year, month) narrows, as dates do.
    """
    # Months only make sense within a chosen year or range: 60 bars say nothing (720 at
    # 10x the corpus, each counted and listed for nothing while they were dropped after).
    months = bool(found.filters.keys() & {"year", "month"} or req.date_from or req.date_to)
    counted_here = [f.name for f in FACETS if months or f.name != "month"]
    shared = facets.ranked(found.match, counted_here)
    out: dict[str, list[FacetCount]] = {}
    for facet in FACETS:
        name = facet.name
        own = found.filters.get(name)
        if name not in shared:
            out[name] = []
            continue
        if own and own.include and not facet.timeline:
            counted = facets.ranked(_without_choice(facets, found, name), [name])[name]
        else:
            counted = shared[name]
        out[name] = _listed(facet.timeline, counted, own)
    return out


def _without_choice(facets: FacetTable, found: _Found, name: str) -> np.ndarray:
    """The matches with every filter but the values chosen in facet `name`."""
    mask = found.base.copy()
    for other, wanted in found.filters.items():
        if other == name:
            wanted = FacetFilter(exclude=wanted.exclude)
        mask &= facets.passing(other, wanted)
    return mask


def _listed(
    timeline: bool, items: list[tuple[str, int]], own: FacetFilter | None
) -> list[FacetCount]:
    """`items` (FacetTable.ranked's): the most frequent first, ties by value."""
    if timeline:
        # A timeline reads in date order, newest last; undated releases have no bar.
        return [FacetCount(v, c) for v, c in sorted(items) if v]
    shown = items[:MAX_FACET_VALUES]
    # A chosen value stays listed (so it can be unchosen there) however rare it is.
    chosen = {value_key(v) for v in own.include} if own else set()
    if chosen:  # the values past the first 50 are thousands in a broad search: not read for none
        shown += [kv for kv in items[MAX_FACET_VALUES:] if value_key(_name(kv[0])) in chosen]
    return [FacetCount(_name(v), c) for v, c in shown]


def _name(value: str) -> str:
    return value or NONE_VALUE


@dataclass(frozen=True)
class FacetValues:
    """The values of one facet among a search's matches, for "show more" and its filter."""

    name: str
    values: list[FacetCount]  # the most frequent first, at most the limit asked for
    total: int  # how many distinct values (containing the text asked for) there are


def facet_values(
    searcher,
    ranker: Ranker,
    facets: FacetTable,
    req: SearchRequest,
    name: str,
    *,
    contains: str = "",
    limit: int = 100,
    deadline: Deadline | None = None,
    speller: Speller | None = None,
    today: date | None = None,
    variants: Variants | None = None,
) -> FacetValues:
    """The values of facet `name` among req's matches, counted as in its facet list,
    those whose text contains `contains` (without regard to case), most frequent first.
    `variants` widens names as the search does, so that the counts are the search's."""
    facet = BY_FACET.get(name)
    if facet is None:
        raise SearchError(f"There is no facet {name[:40]!r}; facets: {', '.join(BY_FACET)}.")
    deadline = deadline or NEVER
    req = check_request(req)
    speller = speller if speller is not None else Speller(searcher.reader())
    expansion = expansion_for(variants, searcher, req)
    found = _found(searcher, ranker, facets, req, deadline, speller, today, expansion)
    own = found.filters.get(name)
    narrowed = own and own.include and not facet.timeline
    match = _without_choice(facets, found, name) if narrowed else found.match
    counter = facets.count(match, [name])[name]
    wanted = value_key(" ".join(contains.split()))
    # A country is found by whatever country= takes for it too: TM, tkm, Russian Federation.
    named = country_label(contains) if name == "country" and wanted else None
    items = [
        (_name(v), c)
        for v, c in counter.items()
        if not (facet.timeline and not v) and (wanted in value_key(_name(v)) or _name(v) == named)
    ]
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    return FacetValues(name, [FacetCount(v, c) for v, c in items[:limit]], len(items))


def highlight_terms(searcher, text: str, variants: Variants | None = None) -> QueryTerms:
    """What the query text looks for, to mark in a document; nothing for a bad query.

    With `variants`, every spelling searched for a name is marked too.
    """
    text = plain_quotes(text)  # as check_request reads a search's q
    if not text.strip():
        return QueryTerms()
    try:
        q = parse_forgiving(text, searcher.schema)
        if variants is not None:
            q = variants.expansion(searcher.reader(), text).expand(q)
        return query_terms(q, searcher.reader())
    except QueryError:
        return QueryTerms()  # a query that cannot run just highlights nothing
