"""Searching: the one search function, and the engine that serves it from an open index.

SearchRequest (request: every parameter declared once)
  --engine (a reused searcher per index state, a result cache)--> search()
  --query, dates, facets, scoring, snippets--> SearchResult
  --export()--> every match in order, as rows read one document at a time
a document --similar (its most distinctive words, ranked as a search)--> SimilarResult
"""

from searchsvc.schema import FACET_FIELDS, FACETS, NONE_VALUE, Facet
from searchsvc.searching.backend import (
    Backend,
    BackendUnavailableError,
    DeadlineExceededError,
    DeleteRefusedError,
    Freshness,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    IndexStats,
    Verification,
)
from searchsvc.searching.duplicates import Copy, group_labels
from searchsvc.searching.engine import Engine, open_backend
from searchsvc.searching.export import (
    DEFAULT_FIELDS,
    EXPORT_FIELDS,
    EXPORT_PARAMS,
    FIELDS_PATTERN,
    Export,
    ExportRow,
    Rows,
    parse_fields,
)
from searchsvc.searching.facets import FacetFilter, value_key
from searchsvc.searching.forgive import plain_quotes
from searchsvc.searching.query import (
    QueryError,
    exact_fallback,
    parse_forgiving,
    parse_query,
    plain_words,
    query_terms,
    read_query,
)
from searchsvc.searching.request import (
    MAX_DEPTH,
    MAX_FILTER_VALUES,
    PARAMS,
    SORTS,
    Param,
    SearchError,
    SearchRequest,
    check_request,
    notice_of,
    request_from_args,
)
from searchsvc.searching.search import (
    MAX_FACET_VALUES,
    FacetCount,
    FacetValues,
    Hit,
    SearchResult,
    listed_fields,
)
from searchsvc.searching.similar import (
    COUNT as SIMILAR_COUNT,
)
from searchsvc.searching.similar import (
    SimilarRelease,
    SimilarResult,
    identity,
    more_like_this_settings,
    same_release,
    similar_release,
)
from searchsvc.searching.timeline import UNITS, Bucket, Timeline
from searchsvc.searching.timeline import timeline as timeline_of
from searchsvc.searching.transliteration import Transliterations, listed, name_words
from searchsvc.searching.transliteration import key as transliteration_key
from searchsvc.searching.transliteration import keys as transliteration_keys
from searchsvc.searching.variants import BUILTIN, BUILTIN_FILES, VariantTable

__all__ = [
    "BUILTIN",
    "BUILTIN_FILES",
    "Transliterations",
    "VariantTable",
    "listed",
    "name_words",
    "transliteration_key",
    "transliteration_keys",
    "FACETS",
    "FACET_FIELDS",
    "NONE_VALUE",
    "Facet",
    "MAX_FILTER_VALUES",
    "Backend",
    "BackendUnavailableError",
    "MAX_FACET_VALUES",
    "QueryError",
    "Rows",
    "exact_fallback",
    "parse_forgiving",
    "listed_fields",
    "parse_query",
    "plain_words",
    "query_terms",
    "read_query",
    "DeadlineExceededError",
    "DeleteRefusedError",
    "Freshness",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexNotFoundError",
    "open_backend",
    "Copy",
    "group_labels",
    "DEFAULT_FIELDS",
    "EXPORT_FIELDS",
    "EXPORT_PARAMS",
    "FIELDS_PATTERN",
    "Export",
    "ExportRow",
    "parse_fields",
    "MAX_DEPTH",
    "PARAMS",
    "SORTS",
    "Engine",
    "FacetCount",
    "FacetFilter",
    "FacetValues",
    "Hit",
    "IndexStats",
    "Verification",
    "Param",
    "SearchError",
    "SearchRequest",
    "SearchResult",
    "SIMILAR_COUNT",
    "SimilarRelease",
    "SimilarResult",
    "identity",
    "more_like_this_settings",
    "same_release",
    "similar_release",
    "Bucket",
    "Timeline",
    "timeline_of",
    "UNITS",
    "check_request",
    "notice_of",
    "plain_quotes",
    "value_key",
    "request_from_args",
]
