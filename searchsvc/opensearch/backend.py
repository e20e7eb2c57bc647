"""The OpenSearch backend: the Backend protocol over an OpenSearch cluster.

    cluster.py: the options, the client, every call bounded; writing.py: index(paths)
    search(request) --searching's parser--> a Whoosh query tree --translate--> query DSL
        + facet filters, date range, sort, paging, terms and date_histogram aggregations
        (names widened: names.py; each story once: a collapse on story, stories.py)
        --> hits --snippets wing (the same code as the embedded engine)--> SearchResult

Every call to the cluster is bounded by the request's deadline: the client's timeout is
what is left of it, and a node that is down or slow becomes BackendUnavailableError (a
503 at the edges), after retries that stop when the deadline would be passed.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from opensearchpy import exceptions as os_errors

from searchsvc.analysis import exact_term
from searchsvc.dates import DateError, resolve_range
from searchsvc.deadline import NEVER, Deadline
from searchsvc.opensearch import names
from searchsvc.opensearch.cluster import PAGE, OpenSearchOptions
from searchsvc.opensearch.mapping import FACET_KEYWORDS, KEY, MAPPING_VERSION
from searchsvc.opensearch.translate import UntranslatableQuery, expanded_in, to_dsl
from searchsvc.opensearch.writing import Writing
from searchsvc.reading import Document, shown_title
from searchsvc.schema import BY_FACET, FACETS, NONE_VALUE, build_schema, stored_values
from searchsvc.searching import (
    BUILTIN,
    MAX_DEPTH,
    MAX_FACET_VALUES,
    SIMILAR_COUNT,
    BackendUnavailableError,
    Copy,
    Export,
    FacetCount,
    FacetFilter,
    FacetValues,
    Freshness,
    Hit,
    IndexStats,
    QueryError,
    Rows,
    SearchError,
    SearchRequest,
    SearchResult,
    SimilarResult,
    Timeline,
    VariantTable,
    Verification,
    check_request,
    identity,
    listed_fields,
    more_like_this_settings,
    notice_of,
    parse_forgiving,
    plain_quotes,
    plain_words,
    query_terms,
    read_query,
    same_release,
    similar_release,
    timeline_of,
    value_key,
)
from searchsvc.snippets import QueryTerms, highlight_all, snippet

MAX_COPIES = 100  # other releases of one story listed at most


@dataclass(frozen=True)
class _Names:
    """A search's names: their expansion, the frequencies asked, the words "also try" reads."""

    expansion: Any  # searching's Expansion, or None
    reader: names.Frequencies
    words: list[str]  # the words "also try" looks at
    pending: list[tuple[str, str]]  # frequencies it needs, not asked yet
    words_of: dict[str, set[str]]  # the lists' stems and the words that give them


class OpenSearchBackend(Writing):
    """searchsvc over an OpenSearch cluster (or a server that speaks its API).

    variants: the files of name spellings searched together, as the embedded engine's
    (``builtin``: the shipped lists), read again when they change.
    """

    def __init__(
        self,
        options: OpenSearchOptions,
        variants: Sequence[str | Path] = (BUILTIN,),
        check_interval: float = 1.0,
    ):
        super().__init__(options)
        self.variants = VariantTable(variants, check_interval)
        self._stems_for: tuple[int, dict[str, set[str]]] = (-1, {})
        self._schema = build_schema()

    # -- searching --------------------------------------------------------------------------

    def search(
        self, request: SearchRequest, deadline: Deadline | None = None, today: date | None = None
    ) -> SearchResult:
        """Answer a search request as the embedded engine does (scores and close order aside)."""
        started = time.perf_counter()
        deadline = deadline or NEVER
        req = check_request(request)
        spelled = self._spelled(req.q, req.verbatim, deadline)
        body, q, terms, notice, dates = self._body(req, today, True, spelled.expansion)
        # Past MAX_DEPTH the page is empty, as the embedded engine answers it (and as the
        # cluster's max_result_window would refuse it); totals and facets are still counted.
        deep = req.page * req.size > MAX_DEPTH
        start, size = (0, 0) if deep else ((req.page - 1) * req.size, req.size)
        body |= {"from": start, "size": size, "aggs": self._aggs(req)}
        body["track_total_hits"] = True
        if spelled.pending or spelled.words:  # what "also try" needs (names.py), all releases
            body["aggs"]["names"] = _frequency_aggs(spelled.pending, spelled.words_of)
            body["aggs"]["names"]["aggs"] |= names.candidate_aggs(spelled.words)
        if req.group:  # each story once, at its best member (stories.py)
            body["collapse"] = {"field": "story"}
        answer = self._search(deadline, body)
        spelled.reader.known.update(_frequencies_found(spelled.pending, answer))
        candidates = names.candidates_found(spelled.words, answer)
        found = answer.get("aggregations", {}).get("timeline", {})
        total = int(answer["hits"]["total"]["value"])
        stories = int(found.get("stories", {}).get("value", total))
        raw = answer["hits"]["hits"]
        grouped = req.group and stories < total
        also = self._also(req, today, raw, deadline, spelled.expansion) if grouped else {}
        hits = [self._hit(h, terms, q, also.get(h["_id"], ())) for h in raw]
        drawn = _timeline(found, dates)
        suggestion = self._suggest(req, spelled, deadline)
        also_try = self._also_try(req.q, spelled, candidates, suggestion, deadline)
        return SearchResult(
            timeline=drawn,
            request=req,
            hits=hits,
            total=total,
            stories=stories,
            facets=self._facets(answer.get("aggregations", {}), req),
            suggestion=suggestion,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            notice=notice_of(req, notice, dates, stories if req.group else total),
            range=dates,
            also_searched=tuple(spelled.expansion.also_searched) if spelled.expansion else (),
            also_try=also_try,
        )

    def _also(self, req, today, raw, deadline, expansion) -> dict[str, tuple[Copy, ...]]:
        """The other matches of each listed hit's story, oldest first: "also published as"."""
        page = {h["_id"]: h["_source"].get("story") or h["_id"] for h in raw}
        body = self._body(req, today, False, expansion)[0]
        query = {
            "bool": {
                "must": [body["query"]],
                "filter": [{"terms": {"story": sorted(set(page.values()))}}],
                "must_not": [{"ids": {"values": sorted(page)}}],
            }
        }
        sort = [{"date": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
        size = min(MAX_COPIES * len(page), 10_000)
        found = self._search(deadline, {"query": query, "sort": sort, "size": size})
        by_story: dict[str, list[Copy]] = {}
        for h in found["hits"]["hits"]:
            stored = _stored(h)
            by_story.setdefault(stored.get("story") or h["_id"], []).append(_copy(stored))
        return {i: tuple(by_story.get(story, ())[:MAX_COPIES]) for i, story in page.items()}

    def _body(self, req: SearchRequest, today: date | None, split: bool = False, expansion=None):
        """The query body, the parsed query, its terms, notice and dates; with split, the
        facet filters apart, as a post_filter, so that the aggregations (see _aggs) can
        count each facet without its own chosen values. With an expansion, names are
        widened to their other spellings (names.py)."""
        try:
            dates = resolve_range(req.date_from, req.date_to, today)
        except DateError as exc:
            raise SearchError(str(exc)) from exc
        q, notice = self._query(req, expansion)
        terms = query_terms(q, None) if req.q else QueryTerms()
        # The other spellings' words, to be sent as words (stemmed by the cluster).
        typed = " ".join([req.q, *(expansion.also_searched if expansion else ())])
        try:
            dsl = to_dsl(q, typed)
        except UntranslatableQuery as exc:
            raise SearchError(str(exc)) from exc
        filters: list[dict[str, Any]] = []
        if dates is not None:
            start, end = dates.bounds()
            span: dict[str, str] = {}
            if start is not None:
                span["gte"] = start.isoformat()
            if end is not None:
                span["lte"] = end.isoformat()
            filters.append({"range": {"date": span}})
        facet_filters = _facet_clauses(req.filters())
        if not split:
            filters += facet_filters
        query = {"bool": {"must": [dsl], "filter": filters}} if filters else dsl
        body: dict[str, Any] = {"query": query, "sort": self._sort(req)}
        if split and facet_filters:
            body["post_filter"] = {"bool": {"filter": facet_filters}}
        return body, q, terms, notice, dates

    def _query(self, req: SearchRequest, expansion=None):
        """The parsed query and how it was read, exactly as the embedded engine reads it.

        No lexicon is given: prefix* and fuzzy~ words go to OpenSearch unexpanded.
        """
        try:
            return read_query(req.q, self._schema, None, strict=req.strict, variants=expansion)
        except QueryError as exc:
            raise SearchError(str(exc)) from exc

    # -- names spelled many ways (names.py) -----------------------------------------------

    def _spelled(self, text: str, verbatim: bool, deadline: Deadline) -> _Names:
        """The expansion of text's names (None: verbatim, or nothing typed), and a reader
        of the document frequencies it needs, asked in one request (none if no word of
        text is a spelling of the lists). What "also try" will need, the frequencies of
        the words typed, is left in .pending, for the search to ask with its own request."""
        variants = self.variants.current()
        widen = bool(text) and not verbatim
        noting = names.Noting()
        if widen and variants.spellings:
            with contextlib.suppress(QueryError):  # a first pass notes what it asks
                read_query(text, self._schema, None, variants=variants.expansion(noting, text))
        words_of = self._words_of(variants)

        def ask(pairs) -> dict[tuple[str, str], int]:
            return self._frequencies(list(pairs), words_of, deadline)

        reader = names.Frequencies(ask(noting.asked) if noting.asked else {}, ask)
        expansion = variants.expansion(reader, text) if widen else None
        words = names.typed_names(text)[: names.MAX_WORDS] if text else []
        pending = sorted({("exact", exact_term(w)) for w in words} - reader.known.keys())
        return _Names(expansion, reader, words, pending, words_of)

    def _words_of(self, variants) -> dict[str, set[str]]:
        if self._stems_for[0] != variants.version:
            self._stems_for = (variants.version, names.words_of_stems(variants.spellings))
        return self._stems_for[1]

    def _frequencies(self, pairs, words_of, deadline: Deadline) -> dict[tuple[str, str], int]:
        """How many documents hold each (field, term): one filters aggregation."""
        body = {"size": 0, "aggs": {"names": _frequency_aggs(pairs, words_of)}}
        answer = self._search(deadline, body)
        return _frequencies_found(pairs, answer)

    @staticmethod
    def _sort(req: SearchRequest) -> list[Any]:
        if req.sort == "relevance" and req.q:
            return ["_score", {"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        order = "asc" if req.sort == "oldest" else "desc"
        return [{"date": {"order": order, "missing": "_last"}}, {"id": "asc"}]

    @staticmethod
    def _aggs(req: SearchRequest, months: bool = False) -> dict[str, Any]:
        """Each facet's values and its (none), among the matches that pass every facet
        filter but its own chosen values (its exclusions apply); the timeline: all (the
        months only when a year, month or dates are chosen, or asked for: months)."""
        chosen = req.filters()
        aggs: dict[str, Any] = {}
        for facet in FACETS:
            if facet.timeline:
                continue
            own = chosen.get(facet.name)
            others = {k: v for k, v in chosen.items() if k != facet.name}
            if own is not None:
                others[facet.name] = FacetFilter(exclude=own.exclude)
            aggs[facet.name] = {
                "filter": {"bool": {"filter": _facet_clauses(others)}},
                "aggs": {
                    "values": {"terms": {"field": facet.name, "size": MAX_FACET_VALUES}},
                    "none": {"missing": {"field": facet.name}},
                },
            }
            if own is not None and own.include:  # listed even beyond the top values
                aggs[facet.name]["aggs"]["chosen"] = _chosen_aggs(facet.name, own.include)
        timeline = _facet_clauses(chosen)
        aggs |= {"timeline": {"filter": {"bool": {"filter": timeline}}, "aggs": {}}}
        dated = aggs["timeline"]["aggs"]
        # The chart's bars are drawn from the matches' days, as the engine draws them from
        # its date column (timeline.py chooses the unit and the calendar edges).
        dated["days"] = {
            "date_histogram": {"field": "date", "calendar_interval": "day", "min_doc_count": 1}
        }
        dated["undated"] = {"missing": {"field": "date"}}
        # The matches with each story counted once (exact up to 40,000 stories, the most
        # a cardinality aggregation counts exactly; an estimate within about 1% beyond).
        dated["stories"] = {"cardinality": {"field": "story", "precision_threshold": 40_000}}
        dated["year"] = {
            "date_histogram": {
                "field": "date",
                "calendar_interval": "year",
                "format": "yyyy",
                "min_doc_count": 1,
            }
        }
        if months or chosen.keys() & {"year", "month"} or req.date_from or req.date_to:
            dated["month"] = {
                "date_histogram": {
                    "field": "date",
                    "calendar_interval": "month",
                    "format": "yyyy-MM",
                    "min_doc_count": 1,
                }
            }
        return aggs

    @staticmethod
    def _facets(aggs: dict, req: SearchRequest, every: bool = False) -> dict[str, list[FacetCount]]:
        out: dict[str, list[FacetCount]] = {}
        for facet in FACETS:
            name = facet.name
            found = aggs.get("timeline" if facet.timeline else name, {})
            buckets = found.get(name if facet.timeline else "values", {}).get("buckets", [])
            values = [(b.get("key_as_string", b["key"]), int(b["doc_count"])) for b in buckets]
            if facet.timeline:
                values.sort()
            else:
                values += _chosen_found(found, values, req.filters().get(name))
                values.append((NONE_VALUE, int(found.get("none", {}).get("doc_count", 0))))
                values.sort(key=lambda kv: (-kv[1], kv[0]))
                if not every:
                    values = _with_chosen(values, req.filters().get(name))
            out[name] = [FacetCount(str(v), c) for v, c in values if v and c]
        return out

    def _hit(self, raw: dict, terms: QueryTerms, q=None, also: tuple[Copy, ...] = ()) -> Hit:
        stored = _stored(raw)
        if q is not None:
            text = f"{stored.get('title', '')}\n{stored.get('body', '')}"
            stems, exact = expanded_in(q, text)
            if stems or exact:
                terms = QueryTerms(terms.stems | stems, terms.exact | exact, list(terms.phrases))
        return Hit(
            **listed_fields(stored),
            score=round(float(raw.get("_score") or 0.0), 4),
            snippet=snippet(stored.get("body", ""), terms),
            title_html=highlight_all(stored.get("title", ""), terms),
            also=also,
        )

    def _suggest(self, req: SearchRequest, found: _Names, deadline: Deadline) -> str | None:
        """A "did you mean" from OpenSearch's term suggester over the exact words, leaving
        alone the names searched with their other spellings."""
        words = plain_words(req.q)
        if not words:
            return None
        body = {
            "size": 0,
            "suggest": {
                "text": " ".join(words),
                "w": {"term": {"field": "exact", "suggest_mode": "missing"}},
            },
        }
        try:
            answer = self._call(
                deadline, "suggest", self.client.search, index=self.alias, body=body
            )
        except (BackendUnavailableError, os_errors.TransportError):
            return None
        widened = found.expansion.widened if found.expansion else set()
        fixes = {
            entry["text"]: entry["options"][0]["text"]
            for entry in answer.get("suggest", {}).get("w", [])
            if entry.get("options") and exact_term(entry["text"]) not in widened
        }
        fixed = re.sub(r"\w+", lambda m: fixes.get(m.group().lower(), m.group()), req.q)
        return fixed if fixed != req.q else None

    def _also_try(self, text, found: _Names, candidates, suggestion, deadline) -> tuple[str, ...]:
        """Other spellings the index holds, offered as queries (transliteration.py)."""
        counts = {("exact", w) for words in candidates.values() for w in words}
        if counts - found.reader.known.keys():  # how many releases hold each: one request
            asked = sorted(counts - found.reader.known.keys())
            try:
                found.reader.known.update(self._frequencies(asked, found.words_of, deadline))
            except BackendUnavailableError:
                return ()  # a hint, like the "did you mean": the answer goes without it
        searched = found.expansion.words if found.expansion else ()
        offered = names.Keyed(found.reader, candidates).also_try(text, searched, deadline)
        said = (suggestion or "").casefold()
        return tuple(q for q in offered if q.casefold() != said)

    # -- documents, export, terms --------------------------------------------------------------

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        try:
            raw = self._call(NEVER, "get", self.client.get, index=self.alias, id=doc_id)
        except os_errors.NotFoundError:
            return None
        stored = _stored(raw)
        fields = {k: stored.get(k, "") for k in ("body", "source", "place", "url", "path", "hash")}
        return Document(
            id=stored["id"],
            title=shown_title(stored.get("title", ""), stored.get("body", "")),
            date=stored.get("date"),
            category=stored_values(stored, "category"),
            country=stored_values(stored, "country"),
            person=stored_values(stored, "person"),
            organisation=stored_values(stored, "organisation"),
            **fields,
        )

    def similar(
        self, doc_id: str, *, count: int = SIMILAR_COUNT, deadline: Deadline | None = None
    ) -> SimilarResult | None:
        """Up to count releases most like doc_id: the cluster's own more_like_this, with
        the embedded engine's choices (searching/similar.py); the same copies left out.

        The cluster does not say which words it chose, so terms is empty.
        """
        started = time.perf_counter()
        deadline = deadline or NEVER
        try:
            raw = self._call(deadline, "get", self.client.get, index=self.alias, id=doc_id)
        except os_errors.NotFoundError:
            return None
        stored = _stored(raw)
        like = f"{stored.get('title', '')}\n{stored.get('body', '')}"
        mlt = {"fields": ["title", "body"], "like": like, **more_like_this_settings()}
        query = {"more_like_this": mlt}
        body = {
            "size": count * 2,  # room for the copies passed over
            "query": {
                "bool": {
                    "must": [query],
                    # Nor its copies: its story (listed apart, "also published as").
                    "must_not": [
                        {"ids": {"values": [doc_id]}},
                        {"term": {"story": stored.get("story") or doc_id}},
                    ],
                }
            },
        }
        kept = [identity(stored, math.inf)]
        hits = []
        for found in self._search(deadline, body)["hits"]["hits"]:
            other, score = _stored(found), float(found.get("_score") or 0.0)
            this = identity(other, score)
            if any(same_release(this, seen) for seen in kept):
                continue
            kept.append(this)
            hits.append(similar_release(other, score))
            if len(hits) == count:
                break
        took = round((time.perf_counter() - started) * 1000, 2)
        return SimilarResult(id=doc_id, terms=[], hits=hits, took_ms=took)

    def duplicates(self, doc_id: str) -> list[Copy]:
        """The other releases of the document's story (stories.py), oldest first."""
        try:
            raw = self._call(NEVER, "get", self.client.get, index=self.alias, id=doc_id)
        except os_errors.NotFoundError:
            return []
        story = raw["_source"].get("story") or doc_id
        query = {
            "bool": {
                "filter": [{"term": {"story": story}}],
                "must_not": [{"ids": {"values": [doc_id]}}],
            }
        }
        sort = [{"date": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
        body = {"query": query, "sort": sort, "size": MAX_COPIES}
        return [_copy(_stored(h)) for h in self._search(NEVER, body)["hits"]["hits"]]

    def facet_values(
        self,
        request: SearchRequest,
        name: str,
        *,
        contains: str = "",
        limit: int = 100,
        deadline: Deadline | None = None,
        today: date | None = None,
    ) -> FacetValues:
        """One facet's values among request's matches, counted as in its facet list, those
        containing `contains` (any case), most frequent first: read from a terms
        aggregation of up to MAX_FACET_SCAN values, filtered here."""
        facet = BY_FACET.get(name)
        if facet is None:
            raise SearchError(f"There is no facet {name[:40]!r}; facets: {', '.join(BY_FACET)}.")
        deadline = deadline or NEVER
        req = check_request(request)
        body = self._body(req, today, split=True)[0]
        body.pop("post_filter", None)
        body |= {"size": 0, "aggs": self._aggs(req, months=name == "month"), "sort": []}
        if not facet.timeline:  # the timeline's histograms have every year and month
            body["aggs"][name]["aggs"]["values"]["terms"]["size"] = MAX_FACET_SCAN
        answer = self._search(deadline, body)
        listed = self._facets(answer.get("aggregations", {}), req, every=True)[name]
        wanted = value_key(" ".join(contains.split()))  # as the engine: any case or accent
        found = [f for f in listed if wanted in value_key(f.value)]
        found.sort(key=lambda f: (-f.count, f.value))  # the timeline too, as the engine's
        return FacetValues(name, found[:limit], len(found))

    def export(
        self,
        request: SearchRequest,
        *,
        limit: int,
        deadline: Deadline | None = None,
        today: date | None = None,
    ) -> Export:
        """Every match (paging aside), up to limit, in the search's order."""
        if limit < 1:
            raise SearchError(f"An export's limit must be 1 or more, not {limit}")
        deadline = deadline or NEVER
        req = check_request(request)
        expansion = self._spelled(req.q, req.verbatim, deadline).expansion  # as the engine's
        body = self._body(req, today, False, expansion)[0]
        body["track_total_hits"] = True
        rows: list[dict] = []
        total = 0
        after = None
        while len(rows) < limit:
            page = body | {"size": min(PAGE, limit - len(rows))}
            if after is not None:
                page["search_after"] = after
            answer = self._search(deadline, page)
            total = int(answer["hits"]["total"]["value"])
            batch = answer["hits"]["hits"]
            rows.extend(_stored(h) for h in batch)
            if len(batch) < page["size"]:
                break
            after = batch[-1]["sort"]
        order = req.sort if req.q or req.sort != "relevance" else "newest"
        return Export(req, total, limit, order, Rows(rows.__getitem__, np.arange(len(rows))))

    def query_terms(self, text: str) -> QueryTerms:
        """What a query looks for, to mark its words in a document; nothing if it is bad."""
        text = plain_quotes(text)  # as check_request reads a search's q
        if not text.strip():
            return QueryTerms()
        try:
            q = parse_forgiving(text, self._schema)
            expansion = self._spelled(text, False, NEVER).expansion
            return query_terms(expansion.expand(q) if expansion else q, None)
        except (QueryError, BackendUnavailableError):
            return QueryTerms()

    # -- health ---------------------------------------------------------------------------

    def stats(self) -> IndexStats:
        """Document count, date range, per-year counts, size and age of the index."""
        physical = self._physical()
        body = {
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "first": {"min": {"field": "date"}},
                "last": {"max": {"field": "date"}},
                "undated": {"missing": {"field": "date"}},
                "year": {
                    "date_histogram": {
                        "field": "date",
                        "calendar_interval": "year",
                        "format": "yyyy",
                        "min_doc_count": 1,
                    }
                },
            },
        }
        answer = self._search(NEVER, body)
        aggs = answer["aggregations"]
        size = self._size(physical)
        return IndexStats(
            documents=int(answer["hits"]["total"]["value"]),
            undated=int(aggs["undated"]["doc_count"]),
            first_date=_millis(aggs["first"].get("value")),
            last_date=_millis(aggs["last"].get("value")),
            per_year={b["key_as_string"]: int(b["doc_count"]) for b in aggs["year"]["buckets"]},
            size_bytes=size,
            updated_at=datetime.now(),
            path=f"{self.options.url.rstrip('/')}/{physical}",
        )

    def _size(self, physical: str) -> int:
        try:
            answer = self._call(NEVER, "stats", self.client.indices.stats, index=physical)
            return int(answer["indices"][physical]["total"]["store"]["size_in_bytes"])
        except (KeyError, TypeError, os_errors.TransportError):
            return 0

    def freshness(self) -> Freshness:
        """The physical index behind the alias answers; a rebuild makes a new one."""
        physical = self._physical()
        return Freshness(generation=physical, commit=self._count(NEVER), updated_at=datetime.now())

    def verify(self) -> Verification:
        """The cluster's health of the index: red (a primary shard lost) is a problem."""
        started = time.perf_counter()
        physical = self._physical()
        health = self._call(NEVER, "health", self.client.cluster.health, index=physical)
        problems = (
            []
            if health.get("status") in ("green", "yellow")
            else [f"{physical}: cluster health {health.get('status')}"]
        )
        version = self._meta(physical).get("searchsvc_mapping")
        if version != MAPPING_VERSION:  # searched as before, chosen facet values unfolded
            problems.append(
                f"{physical}: mapping version {version}, this searchsvc writes "
                f"{MAPPING_VERSION}. Run: searchsvc index PATH --rebuild"
            )
        return Verification(
            path=f"{self.options.url.rstrip('/')}/{physical}",
            files=0,
            bytes=self._size(physical),
            seconds=time.perf_counter() - started,
            unverified=[],
            problems=problems,
        )

    def __enter__(self) -> OpenSearchBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare(self) -> None:
        """Nothing to open ahead: the cluster holds the index."""

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


MAX_FACET_SCAN = 10_000  # values of one facet that facet_values reads from the cluster


def _facet_clauses(filters: dict[str, FacetFilter]) -> list[dict[str, Any]]:
    """Filter clauses: any of a facet's chosen values, none of its excluded ones."""
    clauses: list[dict[str, Any]] = []
    for name, wanted in filters.items():
        if wanted.include:
            should = [_value_clause(name, v) for v in wanted.include]
            clauses.append({"bool": {"should": should, "minimum_should_match": 1}})
        if wanted.exclude:
            clauses.append({"bool": {"must_not": [_value_clause(name, v) for v in wanted.exclude]}})
    return clauses


def _value_clause(name: str, value: str) -> dict[str, Any]:
    """Documents with the value, compared as the embedded engine compares (value_key)."""
    if value_key(value) == NONE_VALUE:
        return {"bool": {"must_not": [{"exists": {"field": name}}]}}
    written = {"term": {name: {"value": value, "case_insensitive": True}}}
    if name not in FACET_KEYWORDS:  # year and month: digits
        return written
    # On the folded key (mapping 3). An index written by an older searchsvc has no key
    # (a term on it matches nothing) and is matched as before, on the value as written,
    # until `searchsvc index --rebuild` (which `searchsvc index` and `verify` ask for).
    folded = {"term": {f"{name}.{KEY}": value_key(value)}}
    return {"bool": {"should": [folded, written], "minimum_should_match": 1}}


def _chosen_aggs(name: str, include: tuple[str, ...]) -> dict[str, Any]:
    """The values of the documents with a chosen value: the values chosen among them, as
    written, however few hold them (each such document holds one: they lead its list)."""
    should = [_value_clause(name, v) for v in include]
    return {
        "filter": {"bool": {"should": should, "minimum_should_match": 1}},
        "aggs": {"values": {"terms": {"field": name, "size": MAX_FACET_VALUES}}},
    }


def _chosen_found(found: dict, values: list, own: FacetFilter | None) -> list[tuple[str, int]]:
    """The chosen values (compared by value_key) that the top values left out."""
    if own is None:
        return []
    wanted = {value_key(v) for v in own.include}
    listed = {v for v, _ in values}
    buckets = found.get("chosen", {}).get("values", {}).get("buckets", [])
    return [
        (b["key"], int(b["doc_count"]))
        for b in buckets
        if b["key"] not in listed and value_key(b["key"]) in wanted
    ]


def _with_chosen(values: list[tuple[str, int]], own: FacetFilter | None) -> list:
    """The top values, and any chosen value beyond them (as the embedded engine lists)."""
    chosen = {value_key(v) for v in own.include} if own else set()
    top = values[:MAX_FACET_VALUES]
    return top + [kv for kv in values[MAX_FACET_VALUES:] if value_key(kv[0]) in chosen]


def _frequency_aggs(pairs, words_of) -> dict[str, Any]:
    """A global filters aggregation: how many documents hold each (field, term)."""
    clauses = {str(i): names.clause(f, t, words_of) for i, (f, t) in enumerate(pairs)}
    if not clauses:
        return {"global": {}, "aggs": {}}
    return {"global": {}, "aggs": {"n": {"filters": {"filters": clauses}}}}


def _frequencies_found(pairs, answer: dict) -> dict[tuple[str, str], int]:
    if not pairs:
        return {}
    buckets = answer["aggregations"]["names"]["n"]["buckets"]
    return {pair: int(buckets[str(i)]["doc_count"]) for i, pair in enumerate(pairs)}


def _copy(stored: dict) -> Copy:
    fields = listed_fields(stored)
    return Copy(**{k: fields[k] for k in ("id", "title", "source", "date", "url")})


def _stored(raw: dict) -> dict:
    source = dict(raw.get("_source", {}))
    when = source.get("date")
    source["date"] = _iso(when) if when else None
    return source


def _iso(text: str) -> datetime:
    # Stored as written: naive UTC (an index written by another tool may say +00:00).
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None)


def _millis(value: float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, timezone.utc).replace(tzinfo=None)


def _timeline(found: dict, dates) -> Timeline | None:
    """The timeline from the day histogram: each day's key as often as it has matches."""
    buckets = found.get("days", {}).get("buckets", [])
    days = np.array([b["key"] * 1000.0 for b in buckets], dtype=np.float64)  # microseconds
    counts = np.array([int(b["doc_count"]) for b in buckets], dtype=np.int64)
    undated = int(found.get("undated", {}).get("doc_count", 0))
    keys = np.concatenate([np.repeat(days, counts), np.full(undated, np.nan)])
    bounds = (dates.start, dates.end) if dates else ()
    return timeline_of(keys, np.ones(keys.size, dtype=bool), *bounds)
