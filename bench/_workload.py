"""The benchmark's query workload: a fixed, seeded set of distinct queries drawn from an index.

    index --stored title, date, category (and the body's opening)--> DocInfo, in a fixed order
    DocInfo --seeded random choices--> BenchQuery: words, "phrases", dated, faceted

The same seed and the same index give the same queries, whatever order the parallel
indexer wrote the documents in: documents are sorted before any choice is made.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from searchsvc.analysis import STOP, WORD_RE
from searchsvc.indexing import storage
from searchsvc.searching import SearchRequest

KINDS = ("words", "phrase", "dated", "faceted")
# Share of each kind in a workload: 1-3 word queries, phrases, date ranges, facet filters.
SHARES = {"words": 0.4, "phrase": 0.2, "dated": 0.2, "faceted": 0.2}
LEAD_CHARS = 1500

_CONTENT = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class DocInfo:
    """What the workload needs of a document."""

    title: str
    date: datetime | None
    category: str
    lead: str  # the body's opening, for corpora whose titles are too few


@dataclass(frozen=True)
class BenchQuery:
    """One query of the workload: text, and the filters a user could add."""

    kind: str
    q: str
    date_from: str | None = None
    date_to: str | None = None
    category: str | None = None

    def request(self, size: int = 10) -> SearchRequest:
        """The SearchRequest the API would build for it."""
        return SearchRequest(
            q=self.q,
            date_from=self.date_from,
            date_to=self.date_to,
            category=self.category,
            size=size,
        )

    def params(self) -> dict[str, str]:
        """The API's query-string parameters for it."""
        pairs = {"q": self.q, "from": self.date_from, "to": self.date_to}
        pairs["category"] = self.category
        return {k: v for k, v in pairs.items() if v}


def first_category(stored: dict) -> str:
    """A release's first category: the workload filters by one (stored: a list, or a str
    in an index written before categories were multi-valued)."""
    value = stored.get("category") or ""
    return value if isinstance(value, str) else (value[0] if value else "")


def read_docs(index_dir: str | Path) -> list[DocInfo]:
    """Every live document's title, date, category and lead, sorted for determinism."""
    ix = storage.open_index(index_dir)
    try:
        with ix.reader() as reader:
            docs = [
                DocInfo(
                    f.get("title", ""),
                    f.get("date"),
                    first_category(f),
                    f.get("body", "")[:LEAD_CHARS],
                )
                for f in reader.all_stored_fields()
            ]
    finally:
        ix.close()
    return sorted(docs, key=lambda d: (d.date or datetime.min, d.title, d.category, d.lead))


def content_words(text: str) -> list[str]:
    """Words a user would type: letters only, three or more, not stop words; lowercased."""
    return [w for w in (m.lower() for m in _CONTENT.findall(text)) if w not in STOP]


def make_queries(
    docs: list[DocInfo], n: int = 300, seed: int = 42, from_body: bool = False
) -> list[BenchQuery]:
    """n distinct queries in the SHARES mix (fewer if the corpus cannot give that many)."""
    rng = random.Random(seed)
    wanted = {kind: round(n * share) for kind, share in SHARES.items()}
    wanted["words"] += n - sum(wanted.values())
    out: list[BenchQuery] = []
    seen: set[BenchQuery] = set()
    for kind, count in wanted.items():
        for query in _distinct(_draw(kind, docs, rng, from_body), count, seen):
            out.append(query)
    rng.shuffle(out)
    return out


def _distinct(draws: Iterator[BenchQuery | None], count: int, seen: set) -> list[BenchQuery]:
    found: list[BenchQuery] = []
    misses = 0
    for query in draws:
        if len(found) == count or misses > 50 * count + 1000:
            break
        if query is None or query in seen:
            misses += 1
            continue
        seen.add(query)
        found.append(query)
    return found


def _draw(kind: str, docs: list[DocInfo], rng: random.Random, from_body: bool):
    while True:
        doc = rng.choice(docs)
        text = f"{doc.title}\n{doc.lead}" if from_body else doc.title
        yield _QUERY_MAKERS[kind](doc, text, rng)


def _words_query(doc: DocInfo, text: str, rng: random.Random) -> BenchQuery | None:
    words = list(dict.fromkeys(content_words(text)))
    k = rng.randint(1, 3)
    if len(words) < k:
        return None
    picked = sorted(rng.sample(range(len(words)), k))
    return BenchQuery("words", " ".join(words[i] for i in picked))


def _phrase_query(doc: DocInfo, text: str, rng: random.Random) -> BenchQuery | None:
    words = [m.group() for m in WORD_RE.finditer(text)]
    k = rng.randint(2, 3)
    if len(words) < k:
        return None
    start = rng.randrange(len(words) - k + 1)
    phrase = words[start : start + k]
    if not content_words(" ".join(phrase)):
        return None
    return BenchQuery("phrase", '"' + " ".join(phrase) + '"')


def _dated_query(doc: DocInfo, text: str, rng: random.Random) -> BenchQuery | None:
    base = _few_words(text, rng)
    if base is None or doc.date is None:
        return None
    start = doc.date - timedelta(days=rng.randint(0, 180))
    end = start + timedelta(days=rng.randint(30, 365))
    return BenchQuery("dated", base, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")


def _faceted_query(doc: DocInfo, text: str, rng: random.Random) -> BenchQuery | None:
    base = _few_words(text, rng)
    if base is None or not doc.category:
        return None
    return BenchQuery("faceted", base, category=doc.category)


def _few_words(text: str, rng: random.Random) -> str | None:
    words = list(dict.fromkeys(content_words(text)))
    k = rng.randint(1, 2)
    return " ".join(rng.sample(words, k)) if len(words) >= k else None


_QUERY_MAKERS = {
    "words": _words_query,
    "phrase": _phrase_query,
    "dated": _dated_query,
    "faceted": _faceted_query,
}


def query_pool(docs: list[DocInfo], size: int, seed: int = 42) -> list[BenchQuery]:
    """size distinct queries drawn from titles; from the text too if titles give too few.

    A small corpus cannot give that many: asking 40 a document at most spares make_queries
    minutes of draws that can only repeat (the seeds' 5 documents, a --sample).
    """
    size = min(size, 40 * len(docs))
    pool = make_queries(docs, size, seed=seed)
    if len(pool) < size // 2:  # a small corpus, such as the seeds
        pool = make_queries(docs, size, seed=seed, from_body=True)
    return pool
