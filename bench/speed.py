"""Speed benchmark: indexing, queries, memory and growth of searchsvc, beside SQLite FTS5.

corpus (default: the White House archive, unpacked to a temporary folder)
  --Backend.index, one process per core--> full build, no-op reindex, 50 documents added
the index --a seeded set of distinct queries (words, phrases, dated, faceted)-->
  Backend.search with size 10 (snippets and facet counts, as the API) in a fresh engine:
  first pass cold, second pass warm (no result cache in either); then repeated queries,
  answered from the result cache
the same documents --FTS5 table: bm25(), snippet(), per-year GROUP BY--> the same queries,
  all words required, then any word
a FACTOR x copy of the corpus (new ids, dates moved back) --build, same queries--> growth

python bench/speed.py [--corpus PATH] [--index-dir DIR --skip-build] [--skip-growth]
                      [--growth FACTOR] [--queries N] [--json]
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package for
# everything imported below: search the folder last, after the standard library.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable

from _common import (
    FTS5_TOKENIZE,
    fts5_connect,
    fts5_match,
    fts5_words,
    latency_ms,
    machine,
    machine_line,
    peak_rss_mb,
    ratio,
    table,
)
from _workload import KINDS, BenchQuery, first_category, make_queries, read_docs

from searchsvc.indexing import IndexReport, storage
from searchsvc.reading import discover
from searchsvc.searching import Backend, SearchError, open_backend

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = REPO.parent / "shared" / "corpora" / "wh-briefings.tar.gz"
NEW_DOCUMENTS = 50
# Copies of the corpus move their dates back by multiples of 8 years: past the corpus's
# 6-year span, and a multiple of 4, so 29 February stays a real date (1901-2099).
YEARS_PER_COPY = 8
_DATE_LINE = re.compile(r"^((?:date|published_time|modified_time):\s*'?)(\d{4})", re.M)


# -- the corpus -----------------------------------------------------------------------------


def prepare_corpus(given: str | None, tmp: Path) -> Path:
    """A folder of source files: the one given, or an archive unpacked into tmp."""
    source = Path(given) if given else DEFAULT_ARCHIVE
    if source.is_dir():
        return source.resolve()
    if not source.is_file():
        raise SystemExit(f"No corpus at {source}. Pass --corpus FOLDER or ARCHIVE.tar.gz")
    target = tmp / "corpus"
    target.mkdir()
    with tarfile.open(source) as archive:
        archive.extractall(target, filter="data")
    entries = [p for p in target.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def source_files(corpus: Path) -> list[Path]:
    """The files the indexer reads from the corpus, in its own order."""
    found, _ = discover([corpus])
    return [Path(s.path) for s in found]


def write_new_documents(corpus: Path, target: Path, n: int, seed: int = 7) -> list[Path]:
    """n copies of corpus files under new names, each with a changed title and text."""
    rng = random.Random(seed)
    picked = rng.sample(source_files(corpus), n)
    written = []
    for i, src in enumerate(picked, start=1):
        rel = src.relative_to(corpus)
        dest = target / rel.parent / f"{rel.stem}-bench-copy-{i}{rel.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = _retitle(src.read_text(encoding="utf-8"), f"Copy {i} of ")
        dest.write_text(f"{text}\n\nBenchmark copy {i} of {rel.name}.\n", encoding="utf-8")
        written.append(dest)
    return written


def _retitle(text: str, prefix: str) -> str:
    """The file's text with prefix put before its front-matter title."""
    head = re.compile(r"^title: ['\"]?", re.M)
    return head.sub(lambda m: m.group() + prefix, text, count=1)


def write_growth_corpus(corpus: Path, target: Path, factor: int) -> int:
    """factor - 1 copies of the corpus under target/copy-K, dates moved back K x 8 years."""
    files = source_files(corpus)
    for k in range(1, factor):
        shift = k * YEARS_PER_COPY
        for src in files:
            dest = target / f"copy-{k}" / src.relative_to(corpus)
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = src.read_text(encoding="utf-8")
            moved = _DATE_LINE.sub(lambda m, s=shift: f"{m.group(1)}{int(m.group(2)) - s}", text)
            dest.write_text(moved, encoding="utf-8")
    return len(files) * factor


# -- indexing -------------------------------------------------------------------------------


def indexing(corpus: Path, index_dir: Path, tmp: Path, skip_build: bool) -> dict:
    """Full build (unless skipped), no-op reindex, and 50 documents added; their reports."""
    procs = os.cpu_count() or 1
    out: dict = {"procs": procs}
    if not skip_build:
        out["full_build"] = _report(
            open_backend(index_dir).index([corpus], rebuild=True, procs=procs)
        )
    else:
        # Leave the given index as it was: update a copy of it.
        copy = tmp / "index-copy"
        shutil.copytree(index_dir, copy, symlinks=True)
        index_dir = copy
    out["noop_reindex"] = _report(open_backend(index_dir).index([corpus], procs=procs))
    extra = tmp / "new-documents"
    write_new_documents(corpus, extra, NEW_DOCUMENTS)
    out["add_50"] = _report(open_backend(index_dir).index([corpus, extra], procs=procs))
    return out


def _report(report: IndexReport) -> dict:
    return {
        "seconds": round(report.seconds, 2),
        "docs_per_second": round(report.docs_per_second),
        "added": report.added,
        "updated": report.updated,
        "deleted": report.deleted,
        "unchanged": report.unchanged,
        "skipped": len(report.skipped),
        "total": report.total,
    }


# -- our queries --------------------------------------------------------------------------------


def run_ours(index_dir: Path, queries: list[BenchQuery]) -> dict:
    """Each query through a fresh backend, twice: the first pass cold, the second warm.

    Neither pass uses the result cache, so every query is computed; a third pass, in an
    engine whose cache has seen every query once, measures repeated queries.
    """
    started = time.perf_counter()
    with open_backend(index_dir, cache_size=0) as engine:
        engine.snapshot()  # open the searcher and read the facet columns
        opened = time.perf_counter() - started
        passes = [_timed(queries, lambda bq: _ours_one(engine, bq)) for _ in range(2)]
    with open_backend(index_dir, cache_size=len(queries)) as engine:
        for _ in range(2):
            cached, _ = _timed(queries, lambda bq: _ours_one(engine, bq))
    return {
        "open_seconds": round(opened, 2),
        **_passes(passes, queries),
        "cached": latency_ms(cached),
    }


def _ours_one(engine: Backend, bq: BenchQuery) -> int:
    try:
        return engine.search(bq.request()).total
    except SearchError:
        return -1


def _timed(queries: list[BenchQuery], one: Callable[[BenchQuery], int]) -> tuple[list, list]:
    seconds, totals = [], []
    for bq in queries:
        t0 = time.perf_counter()
        totals.append(one(bq))
        seconds.append(time.perf_counter() - t0)
    return seconds, totals


def _passes(passes: list[tuple[list, list]], queries: list[BenchQuery]) -> dict:
    (cold, totals), (warm, _) = passes
    by_kind = {
        kind: latency_ms([s for s, q in zip(warm, queries, strict=True) if q.kind == kind])
        for kind in KINDS
    }
    return {
        "cold": latency_ms(cold),
        "warm": latency_ms(warm),
        "warm_by_kind": by_kind,
        "errors": sum(1 for t in totals if t < 0),
        "no_hits": sum(1 for t in totals if t == 0),
        "median_hits": sorted(totals)[len(totals) // 2] if totals else 0,
    }


# -- SQLite FTS5 ----------------------------------------------------------------------------


def load_fts5(index_dir: Path, db_path: Path) -> float:
    """Copy every stored document of the index into an FTS5 table; the seconds it took."""
    started = time.perf_counter()
    conn = fts5_connect(str(db_path))
    conn.executescript(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        f"CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='{FTS5_TOKENIZE}');"
        "CREATE TABLE meta(id INTEGER PRIMARY KEY, date TEXT, year TEXT, category TEXT);"
    )
    ix = storage.open_index(index_dir)
    with ix.reader() as reader:
        for n, f in enumerate(reader.all_stored_fields(), start=1):
            date = f.get("date")
            day = f"{date:%Y-%m-%d}" if date else None
            conn.execute(
                "INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)", (n, f["title"], f["body"])
            )
            conn.execute(
                "INSERT INTO meta VALUES (?, ?, ?, ?)",
                (n, day, day and day[:4], first_category(f)),
            )
    ix.close()
    conn.executescript(
        "INSERT INTO fts(fts) VALUES ('optimize'); CREATE INDEX meta_date ON meta(date);"
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def run_fts5(db_path: Path, queries: list[BenchQuery], operator: str) -> dict:
    """Each query in a fresh connection, twice: top 10 by bm25() with snippet(), per-year counts."""
    conn = fts5_connect(str(db_path))
    passes = [_timed(queries, lambda bq: _fts5_one(conn, bq, operator)) for _ in range(2)]
    conn.close()
    return _passes(passes, queries)


def _fts5_one(conn: sqlite3.Connection, bq: BenchQuery, operator: str) -> int:
    where, args = _fts5_where(bq, operator)
    if not args:
        return 0
    joined = f"FROM fts JOIN meta m ON m.id = fts.rowid WHERE {where}"
    conn.execute(
        "SELECT m.id, fts.title, snippet(fts, 1, '<mark>', '</mark>', '…', 32), bm25(fts) "
        f"{joined} ORDER BY bm25(fts) LIMIT 10",
        args,
    ).fetchall()
    years = conn.execute(f"SELECT m.year, count(*) {joined} GROUP BY m.year", args).fetchall()
    return sum(count for _, count in years)


def _fts5_where(bq: BenchQuery, operator: str) -> tuple[str, list]:
    if bq.kind == "phrase":
        words = fts5_words(bq.q)
        match = '"' + " ".join(words) + '"' if words else ""
    else:
        match = fts5_match(bq.q, operator)
    if not match:
        return "", []
    clauses, args = ["fts MATCH ?"], [match]
    for clause, value in (
        ("m.date >= ?", bq.date_from),
        ("m.date <= ?", bq.date_to),
        ("m.category = ?", bq.category),
    ):
        if value:
            clauses.append(clause)
            args.append(value)
    return " AND ".join(clauses), args


# -- growth ---------------------------------------------------------------------------------


def growth(corpus: Path, tmp: Path, factor: int, queries: list[BenchQuery]) -> dict:
    """Build a factor x corpus and run the same queries on it."""
    copies = tmp / "growth-corpus"
    started = time.perf_counter()
    write_growth_corpus(corpus, copies, factor)
    written = time.perf_counter() - started
    index_dir = tmp / "growth-index"
    # One root for the copies, so their ids (copy-K/...) differ from the originals'.
    report = open_backend(index_dir).index(
        [corpus, copies], rebuild=True, procs=os.cpu_count() or 1
    )
    result = {
        "factor": factor,
        "documents": report.total,
        "write_copies_seconds": round(written, 1),
        "build": _report(report),
        "queries": run_ours(index_dir, queries),
    }
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(copies, ignore_errors=True)
    return result


# -- the report -----------------------------------------------------------------------------


def benchmark(args: argparse.Namespace) -> dict:
    """Run every measure and gather the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="searchsvc-speed-"))
    try:
        return _benchmark(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _benchmark(args: argparse.Namespace, tmp: Path) -> dict:
    corpus = prepare_corpus(args.corpus, tmp)
    index_dir = Path(args.index_dir) if args.index_dir else tmp / "index"
    out: dict = {"corpus": str(corpus), "machine_before": machine()}
    _progress(args, f"indexing {corpus} into {index_dir}")
    out["indexing"] = indexing(corpus, index_dir, tmp, args.skip_build)
    if args.skip_build:
        out["index_dir"] = str(index_dir)
    docs = read_docs(index_dir)
    queries = make_queries(docs, args.queries, seed=args.seed)
    out["documents"] = len(docs)
    out["queries"] = {kind: sum(q.kind == kind for q in queries) for kind in KINDS}
    _progress(args, f"{len(queries)} queries through searchsvc")
    out["searchsvc"] = run_ours(index_dir, queries)
    out["peak_rss_mb_after_searchsvc"] = peak_rss_mb()
    _progress(args, "loading FTS5")
    out["fts5_load_seconds"] = round(load_fts5(index_dir, tmp / "fts5.db"), 1)
    out["fts5_and"] = run_fts5(tmp / "fts5.db", queries, "AND")
    out["fts5_or"] = run_fts5(tmp / "fts5.db", queries, "OR")
    out["peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_mb_index_workers"] = _children_rss_mb()
    if not args.skip_growth:
        _progress(args, f"growth: {args.growth}x corpus")
        out["growth"] = growth(corpus, tmp, args.growth, queries)
    out["machine_after"] = machine()
    return out


def _children_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(f"... {message}", file=sys.stderr, flush=True)


def print_report(r: dict) -> None:
    """Every figure as plain tables."""
    print(f"corpus: {r['corpus']} ({r['documents']:,} documents)")
    _print_indexing(r)
    _print_queries(r)
    if "growth" in r:
        _print_growth(r)
    print(
        f"\npeak RSS: {r['peak_rss_mb']:,.0f} MiB (this process; after searchsvc's queries "
        f"{r['peak_rss_mb_after_searchsvc']:,.0f} MiB); index workers "
        f"{r['peak_rss_mb_index_workers']:,.0f} MiB"
    )
    print(machine_line())


def _print_indexing(r: dict) -> None:
    ix = r["indexing"]
    rows = [
        (label, ix[key]["seconds"], ix[key]["docs_per_second"], _counts(ix[key]))
        for label, key in (
            ("full build", "full_build"),
            ("no-op reindex", "noop_reindex"),
            (f"add {NEW_DOCUMENTS} documents", "add_50"),
        )
        if key in ix
    ]
    rows.append(("FTS5 load (already parsed text)", r["fts5_load_seconds"], "", ""))
    print(f"\nIndexing ({ix['procs']} processes)")
    print(table(["", "seconds", "docs/s", "added/updated/unchanged/deleted"], rows))


def _counts(rep: dict) -> str:
    counts = f"{rep['added']}/{rep['updated']}/{rep['unchanged']}/{rep['deleted']}"
    return counts + (f", {rep['skipped']} skipped" if rep["skipped"] else "")


def _print_queries(r: dict) -> None:
    mix = ", ".join(f"{n} {kind}" for kind, n in r["queries"].items())
    print(f"\nQueries ({sum(r['queries'].values())}: {mix}; top 10 with snippets and facets), ms")
    rows = []
    for label, key in (
        ("searchsvc", "searchsvc"),
        ("FTS5 all words", "fts5_and"),
        ("FTS5 any word", "fts5_or"),
    ):
        for phase in ("cold", "warm"):
            t = r[key][phase]
            rows.append((f"{label}, {phase}", t["p50"], t["p95"], t["max"], r[key]["errors"]))
        if key == "searchsvc" and "cached" in r[key]:
            t = r[key]["cached"]
            rows.append(("searchsvc, repeated (result cache)", t["p50"], t["p95"], t["max"], ""))
    for label, key in (
        ("ratio searchsvc / FTS5 all words", "fts5_and"),
        ("ratio searchsvc / FTS5 any word", "fts5_or"),
    ):
        for phase in ("cold", "warm"):
            ours, theirs = r["searchsvc"][phase], r[key][phase]
            rows.append(
                (
                    f"{label}, {phase}",
                    *(ratio(ours[p], theirs[p]) for p in ("p50", "p95", "max")),
                    "",
                )
            )
    print(table(["", "p50", "p95", "max", "errors"], rows))
    kinds = [
        (
            kind,
            r["searchsvc"]["warm_by_kind"][kind]["p50"],
            r["searchsvc"]["warm_by_kind"][kind]["p95"],
            r["fts5_and"]["warm_by_kind"][kind]["p50"],
            r["fts5_and"]["warm_by_kind"][kind]["p95"],
        )
        for kind in KINDS
    ]
    print("\nWarm, by kind (ms)")
    print(table(["", "searchsvc p50", "p95", "FTS5 all words p50", "p95"], kinds))


def _print_growth(r: dict) -> None:
    g = r["growth"]
    base, big = r["searchsvc"], g["queries"]
    rows = [
        (
            "1x",
            r["documents"],
            base["cold"]["p50"],
            base["cold"]["p95"],
            base["warm"]["p50"],
            base["warm"]["p95"],
        ),
        (
            f"{g['factor']}x",
            g["documents"],
            big["cold"]["p50"],
            big["cold"]["p95"],
            big["warm"]["p50"],
            big["warm"]["p95"],
        ),
        (
            "growth",
            ratio(g["documents"], r["documents"]),
            *(ratio(big[ph][p], base[ph][p]) for ph in ("cold", "warm") for p in ("p50", "p95")),
        ),
    ]
    print(
        f"\nGrowth: {g['factor']}x corpus built in {g['build']['seconds']:,.0f} s "
        f"({g['build']['docs_per_second']:,} docs/s)"
    )
    print(table(["", "documents", "cold p50", "cold p95", "warm p50", "warm p95"], rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--corpus",
        help="folder of source files, or a .tar.gz of them "
        "(default: the White House archive in ../shared/corpora)",
    )
    parser.add_argument("--index-dir", help="index to use (with --skip-build: an existing one)")
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="no full build: query --index-dir (reindex runs on a copy of it)",
    )
    parser.add_argument("--skip-growth", action="store_true", help="no growth measure")
    parser.add_argument("--growth", type=int, default=10, help="growth factor (default 10)")
    parser.add_argument("--queries", type=int, default=300, help="how many queries (default 300)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the query set")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args(argv)
    if args.skip_build and not args.index_dir:
        parser.error("--skip-build needs --index-dir")
    report = benchmark(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
