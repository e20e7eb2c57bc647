"""Speed benchmark: searchsvc beside a Flask + SQLite FTS5 app, on 1x and 10x the corpus, one run.

corpus (default: the White House archive, unpacked to a temporary folder; --sample N: N files)
  --Backend.index, one process per core--> full build, no-op reindex, 50 documents added
  --bench/fts5_app.py build--> the FTS5 app's end-to-end build from the same files
the index --a seeded set of distinct queries (words, phrases, dated, faceted)-->
  Backend.search with size 10 (snippets and facet counts, as the API) in a fresh engine:
  first pass cold, second pass warm (no result cache in either); repeated queries last
  the FTS5 app's search (top 10 by bm25() with snippet(), per-year counts), all words
  required, then any word
searchsvc serve and the FTS5 app under gunicorn --distinct queries, concurrency 16-->
  req/s and errors of each; the first query after each starts; workers' peak RSS
a FACTOR x copy of the corpus (new ids, dates moved back) --the same again--> growth (each
  engine's queries and HTTP right after its own build: the page cache holds only one)
--million DIR: a synthetic corpus of 1,000,000 releases (bench/synthetic.py) --build,
  queries--> build time, index size, p50/p95, and their extrapolation to 10M

Every figure of the targets table of issue 15 is printed beside its target, with the load
average at the start and the end of the run.

python bench/speed.py [--corpus PATH] [--sample N] [--index-dir DIR --skip-build]
                      [--skip-growth] [--growth FACTOR] [--skip-http] [--http-duration S]
                      [--million DIR [--million-releases N]] [--queries N] [--json]
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
import contextlib
import json
import math
import os
import resource
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator

import _serving
import fts5_app
from _common import fts5_connect, latency_ms, machine, machine_line, peak_rss_mb, ratio, table
from _corpus import (
    prepare_corpus,
    sample_corpus,
    write_growth_corpus,
    write_new_documents,
    write_synthetic,
)
from _targets import print_targets, targets
from _workload import KINDS, BenchQuery, make_queries, query_pool, read_docs

from searchsvc.indexing import IndexReport
from searchsvc.searching import (
    Backend,
    DeleteRefusedError,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    SearchError,
    open_backend,
)

NEW_DOCUMENTS = 50
HTTP_CONCURRENCY = 16
HTTP_POOL = 20_000
MILLION = 1_000_000


# -- indexing -------------------------------------------------------------------------------


def indexing(corpus: Path, index_dir: Path, tmp: Path, skip_build: bool, procs: int) -> dict:
    """Full build (unless skipped), no-op reindex, then 50 documents added to a copy.

    The copy keeps the measured index what the full build made, the same releases as the
    FTS5 app's. A given index (--skip-build) is left as it was: both reindex on a copy.
    """
    out: dict = {"procs": procs}
    copy = tmp / "index-copy"
    if not skip_build:
        out["full_build"] = build(index_dir, [corpus], procs)
        out["noop_reindex"] = _report(open_backend(index_dir).index([corpus], procs=procs))
        shutil.copytree(index_dir, copy, symlinks=True)
    else:
        shutil.copytree(index_dir, copy, symlinks=True)
        out["noop_reindex"] = _report(open_backend(copy).index([corpus], procs=procs))
    extra = tmp / "new-documents"
    write_new_documents(corpus, extra, NEW_DOCUMENTS)
    out["add_50"] = _report(open_backend(copy).index([corpus, extra], procs=procs))
    shutil.rmtree(copy, ignore_errors=True)
    shutil.rmtree(extra, ignore_errors=True)
    return out


def build(index_dir: Path, roots: list[Path], procs: int) -> dict:
    """A full build of the roots into index_dir: its report, and the index's size."""
    report = _report(open_backend(index_dir).index(roots, rebuild=True, procs=procs))
    return {**report, "index_mb": folder_mb(index_dir)}


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


def folder_mb(folder: Path) -> float:
    """What the files under folder take, in MiB (symlinks not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return round(total / 2**20, 1)


def fts5_build(roots: list[Path], db_path: Path) -> dict:
    """The FTS5 app's end-to-end build of the same files, and its database's size."""
    figures = fts5_app.build(roots, db_path).figures()
    return {**figures, "db_mb": round(db_path.stat().st_size / 2**20, 1)}


# -- queries ----------------------------------------------------------------------------------


def run_ours(index_dir: Path, queries: list[BenchQuery], repeated: bool = True) -> dict:
    """Each query through a fresh backend, twice: the first pass cold, the second warm.

    Neither pass uses the result cache, so every query is computed; a third pass, in an
    engine whose cache has seen every query once, measures repeated queries.
    """
    started = time.perf_counter()
    with open_backend(index_dir, cache_size=0) as engine:
        engine.snapshot()  # open the searcher and read the facet columns
        opened = time.perf_counter() - started
        passes = [_timed(queries, lambda bq: _ours_one(engine, bq)) for _ in range(2)]
    out = {"open_seconds": round(opened, 2), **_passes(passes, queries)}
    if repeated:
        with open_backend(index_dir, cache_size=len(queries)) as engine:
            for _ in range(2):
                cached, _ = _timed(queries, lambda bq: _ours_one(engine, bq))
        out["cached"] = latency_ms(cached)
    return out


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


def run_fts5(db_path: Path, queries: list[BenchQuery], operator: str) -> dict:
    """Each query through the FTS5 app's search in a fresh connection, twice: cold, warm."""
    conn = fts5_connect(str(db_path))
    passes = [_timed(queries, lambda bq: _fts5_one(conn, bq, operator)) for _ in range(2)]
    conn.close()
    return _passes(passes, queries)


def _fts5_one(conn: sqlite3.Connection, bq: BenchQuery, operator: str) -> int:
    try:
        found = fts5_app.search(conn, bq.q, bq.date_from, bq.date_to, bq.category, operator)
    except sqlite3.OperationalError:
        return -1
    return found["total"]


# -- HTTP -------------------------------------------------------------------------------------


def http(
    index_dir: Path, db_path: Path, pool: list[BenchQuery], args: argparse.Namespace, tmp: Path
) -> dict:
    """searchsvc serve, then the FTS5 app, at concurrency 16 on the same distinct queries."""
    return {**http_ours(index_dir, pool, args, tmp), **http_peer(db_path, pool, args, tmp)}


def http_ours(index_dir: Path, pool: list[BenchQuery], args: argparse.Namespace, tmp: Path) -> dict:
    """searchsvc serve at concurrency 16 on the distinct queries."""
    workers, duration = args.workers, args.http_duration
    _progress(args, f"HTTP: searchsvc serve, {duration:g} s at concurrency {HTTP_CONCURRENCY}")
    ours = _serving.measure_searchsvc(
        index_dir,
        pool,
        [HTTP_CONCURRENCY],
        duration,
        workers,
        tmp / "serve.log",
        result_cache=False,
    )
    return {"workers": workers, "duration_s": duration, "searchsvc": ours}


def http_peer(db_path: Path, pool: list[BenchQuery], args: argparse.Namespace, tmp: Path) -> dict:
    """The FTS5 app under gunicorn at concurrency 16 on the distinct queries."""
    workers, duration = args.workers, args.http_duration
    _progress(args, f"HTTP: the FTS5 app, {duration:g} s at concurrency {HTTP_CONCURRENCY}")
    peer = _serving.measure_peer(
        db_path, pool, [HTTP_CONCURRENCY], duration, workers, tmp / "peer.log"
    )
    return {"workers": workers, "duration_s": duration, "fts5": peer}


# -- growth and the synthetic corpus -------------------------------------------------------------


def growth(
    corpus: Path,
    tmp: Path,
    queries: list[BenchQuery],
    pool: list[BenchQuery] | None,
    args: argparse.Namespace,
    procs: int,
) -> dict:
    """Build a factor x corpus, ours and the FTS5 app's; the same queries and HTTP pool.

    The copies hold the same titles (their dates moved), so the 1x pool is the pool a
    draw from the larger index would give, without reading its stored fields again.
    """
    factor = args.growth
    copies = tmp / "growth-corpus"
    started = time.perf_counter()
    write_growth_corpus(corpus, copies, factor)
    written = time.perf_counter() - started
    index_dir, db = tmp / "growth-index", tmp / "growth-fts5.db"
    # One root for the copies, so their ids (copy-K/...) differ from the originals'.
    _progress(args, f"growth: building the {factor}x corpus")
    report = build(index_dir, [corpus, copies], procs)
    out: dict = {
        "factor": factor,
        "documents": report["total"],
        "write_copies_seconds": round(written, 1),
        "build": report,
    }
    # Each engine is measured right after its own build, finding in the page cache what
    # its build left there. At 10x the two indexes (4.5 and 2 GB) do not both fit in this
    # machine's page cache (about 2 GB), and the FTS5 app's build between searchsvc's
    # build and its queries had searchsvc's read from disk, the FTS5 app's not.
    _progress(args, f"growth: {len(queries)} queries through searchsvc")
    out["queries"] = run_ours(index_dir, queries, repeated=False)
    if pool:
        out["http"] = http_ours(index_dir, pool, args, tmp)
    shutil.rmtree(index_dir, ignore_errors=True)
    _progress(args, f"growth: the FTS5 app's build of the {factor}x corpus, its queries")
    out["fts5_build"] = fts5_build([corpus, copies], db)
    out["fts5_and"] = run_fts5(db, queries, "AND")
    if pool:
        out["http"].update(http_peer(db, pool, args, tmp))
    shutil.rmtree(copies, ignore_errors=True)
    db.unlink(missing_ok=True)
    return out


def million(
    corpus: Path, tmp: Path, queries: list[BenchQuery], args: argparse.Namespace, procs: int
) -> dict:
    """A synthetic corpus (made once in --million DIR): build, size, queries; 10M by rule."""
    target = Path(args.million)
    _progress(args, f"synthetic: {args.million_releases:,} releases in {target}")
    started = time.perf_counter()
    made = write_synthetic(corpus, target, args.million_releases, procs=procs)
    made["seconds"] = round(time.perf_counter() - started, 1)
    index_dir = Path(args.million_index) if args.million_index else tmp / "million-index"
    _progress(args, f"synthetic: building the index in {index_dir}")
    out = {"corpus": made, "build": build(index_dir, [target], procs)}
    # The 1x queries: the synthetic titles are halves of the same titles, its dates span
    # theirs, and the figures stay comparable with 1x and 10x.
    _progress(args, f"synthetic: {len(queries)} queries")
    out["queries"] = run_ours(index_dir, queries, repeated=False)
    if not args.million_index:
        shutil.rmtree(index_dir, ignore_errors=True)
    return out


def extrapolate(r: dict) -> dict | None:
    """10M releases from the synthetic run: build time and size in proportion; latency by
    the power law through the 1x and the synthetic corpus's p50 and p95."""
    m = r.get("million")
    if not m:
        return None
    n_big, n_small = m["build"]["total"], r["documents"]
    scale = 10_000_000 / n_big if n_big else 0.0
    out = {
        "releases": 10_000_000,
        "build_seconds": round(m["build"]["seconds"] * scale),
        "index_gb": round(m["build"]["index_mb"] * scale / 1024, 1),
    }
    for phase in ("cold", "warm"):
        for p in ("p50", "p95"):
            small, big = r["searchsvc"][phase][p], m["queries"][phase][p]
            if small > 0 and big > 0 and n_big > n_small:
                slope = math.log(big / small) / math.log(n_big / n_small)
                out[f"{phase}_{p}_ms"] = round(big * scale**slope, 1)
                out[f"{phase}_{p}_exponent"] = round(slope, 3)
    return out


# -- the run ----------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace) -> dict:
    """Run every measure and gather the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="searchsvc-speed-"))
    try:
        return _benchmark(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _benchmark(args: argparse.Namespace, tmp: Path) -> dict:
    out: dict = {"machine_before": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    phases = out["phase_seconds"] = {}
    run_started = time.perf_counter()
    with _phase(phases, "corpus"):
        corpus = prepare_corpus(args.corpus, tmp)
        if args.sample:
            corpus = sample_corpus(corpus, tmp / "sample", args.sample)
    out["corpus"], out["sample"] = str(corpus), args.sample
    procs = args.workers
    index_dir = Path(args.index_dir) if args.index_dir else tmp / "index"
    _progress(args, f"indexing {corpus} into {index_dir}")
    with _phase(phases, "indexing"):
        out["indexing"] = indexing(corpus, index_dir, tmp, args.skip_build, procs)
    out["index_mb"] = folder_mb(index_dir)
    _progress(args, "the FTS5 app's end-to-end build")
    db = tmp / "fts5.db"
    with _phase(phases, "fts5_build"):
        out["fts5_build"] = fts5_build([corpus], db)
    docs = read_docs(index_dir)
    queries = make_queries(docs, args.queries, seed=args.seed)
    out["documents"] = len(docs)
    out["queries"] = {kind: sum(q.kind == kind for q in queries) for kind in KINDS}
    _progress(args, f"{len(queries)} queries through searchsvc, then the FTS5 app's search")
    with _phase(phases, "queries"):
        out["searchsvc"] = run_ours(index_dir, queries)
        out["peak_rss_mb_after_searchsvc"] = peak_rss_mb()
        out["fts5_and"] = run_fts5(db, queries, "AND")
        out["fts5_or"] = run_fts5(db, queries, "OR")
    out["peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_mb_index_workers"] = _children_rss_mb()
    pool = None if args.skip_http else query_pool(docs, HTTP_POOL, args.seed)
    if pool:
        with _phase(phases, "http"):
            out["http"] = http(index_dir, db, pool, args, tmp)
    db.unlink(missing_ok=True)
    if not args.skip_growth:
        with _phase(phases, "growth"):
            out["growth"] = growth(corpus, tmp, queries, pool, args, procs)
    if args.million:
        with _phase(phases, "million"):
            out["million"] = million(corpus, tmp, queries, args, procs)
        out["extrapolated_10m"] = extrapolate(out)
    out["machine_after"] = machine()
    out["run_seconds"] = round(time.perf_counter() - run_started)
    out["targets"] = targets(out)
    return out


@contextlib.contextmanager
def _phase(phases: dict, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = round(time.perf_counter() - started, 1)


def _children_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(f"... {message}", file=sys.stderr, flush=True)


# -- the report -------------------------------------------------------------------------------


def print_report(r: dict) -> None:
    """Every figure as plain tables, then the targets with a pass or miss each."""
    sample = f", a sample of {r['sample']:,} files" if r["sample"] else ""
    print(f"corpus: {r['corpus']} ({r['documents']:,} documents{sample})")
    print(machine_line(r["machine_before"]["load_average"], r["machine_after"]["load_average"]))
    _print_indexing(r)
    _print_queries(r)
    if "http" in r or "http" in r.get("growth", {}):
        _print_http(r)
    if "growth" in r:
        _print_growth(r)
    if "million" in r:
        _print_million(r)
    print(
        f"\npeak RSS: {r['peak_rss_mb']:,.0f} MiB (this process; after searchsvc's queries "
        f"{r['peak_rss_mb_after_searchsvc']:,.0f} MiB); index workers "
        f"{r['peak_rss_mb_index_workers']:,.0f} MiB"
    )
    spent = ", ".join(f"{k} {v:,.0f} s" for k, v in r["phase_seconds"].items())
    busy = max(r["machine_before"]["load_average"][0], r["machine_after"]["load_average"][0])
    if busy > 0.5 * (r["machine_before"]["nproc"] or 1):
        print(
            f"\nWARNING: a load average of {busy} on {r['machine_before']['nproc']} cores: other "
            "work shared the machine, and every figure below is slower than a quiet run's."
        )
    print(f"\nTargets (issue 15), run of {r['run_seconds']:,} s started {r['started']} ({spent})")
    print_targets(r["targets"])
    print(machine_line(r["machine_before"]["load_average"], r["machine_after"]["load_average"]))


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
    fb = r["fts5_build"]
    rows.append(
        (
            "FTS5 app: full build, end to end (1 process)",
            fb["seconds"],
            fb["releases_per_second"],
            f"{fb['releases']}/0/0/0" + (f", {fb['skipped']} skipped" if fb["skipped"] else ""),
        )
    )
    if "full_build" in ix:
        rows.append(
            (
                "ratio searchsvc / FTS5 app (releases/s)",
                "",
                ratio(ix["full_build"]["docs_per_second"], fb["releases_per_second"]),
                "",
            )
        )
    print(
        f"\nIndexing ({ix['procs']} processes; index {r['index_mb']:,} MiB, FTS5 {fb['db_mb']:,})"
    )
    print(table(["", "seconds", "releases/s", "added/updated/unchanged/deleted"], rows))


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


def _print_http(r: dict) -> None:
    sides = [("1x", r.get("http"))]
    if "growth" in r:
        sides.append((f"{r['growth']['factor']}x", r["growth"].get("http")))
    rows = []
    for label, h in sides:
        if not h:
            continue
        for name, key in (("searchsvc serve", "searchsvc"), ("FTS5 app", "fts5")):
            s = h[key]
            lv = s["levels"][0]
            rows.append(
                (
                    f"{label}, {name}",
                    lv["requests"],
                    lv["req_per_s"],
                    lv["p50_ms"],
                    lv["p95_ms"],
                    lv["errors"],
                    s["cold_start"]["first_query_s"],
                    s["cold_start"]["launch_to_answer_s"],
                    s["worker_peak_rss_mb"],
                )
            )
        ours, theirs = h["searchsvc"]["levels"][0], h["fts5"]["levels"][0]
        rows.append((f"{label}, ratio", "", ratio(ours["req_per_s"], theirs["req_per_s"])))
    first = next(h for _, h in sides if h)
    print(
        f"\nHTTP: distinct queries at concurrency {HTTP_CONCURRENCY}, {first['duration_s']:g} s, "
        f"{first['workers']} workers each (searchsvc: its threaded workers, result cache off; "
        "FTS5 app: gunicorn sync workers)"
    )
    headers = ["", "requests", "req/s", "p50 ms", "p95 ms", "errors", "first query s"]
    headers += ["launch to answer s", "worker peak RSS MiB"]
    print(table(headers, [row + ("",) * (len(headers) - len(row)) for row in rows]))
    for _, h in sides:
        for key in ("searchsvc", "fts5"):
            if h and h[key]["levels"][0]["first_error"]:
                print(f"  first error ({key}): {h[key]['levels'][0]['first_error']}")


def _print_growth(r: dict) -> None:
    g = r["growth"]
    base, big = r["searchsvc"], g["queries"]
    fa, fa_big = r["fts5_and"], g["fts5_and"]

    def row(label, docs, ours, theirs):
        return (
            label,
            docs,
            *(ours[ph][p] for ph in ("cold", "warm") for p in ("p50", "p95")),
            *(theirs[ph]["p95"] for ph in ("cold", "warm")),
        )

    rows = [
        row("1x", r["documents"], base, fa),
        row(f"{g['factor']}x", g["documents"], big, fa_big),
        (
            "growth",
            ratio(g["documents"], r["documents"]),
            *(ratio(big[ph][p], base[ph][p]) for ph in ("cold", "warm") for p in ("p50", "p95")),
            *(ratio(fa_big[ph]["p95"], fa[ph]["p95"]) for ph in ("cold", "warm")),
        ),
        (
            f"{g['factor']}x, searchsvc / FTS5",
            "",
            *(ratio(big[ph][p], fa_big[ph][p]) for ph in ("cold", "warm") for p in ("p50", "p95")),
            "",
            "",
        ),
    ]
    b, fb = g["build"], g["fts5_build"]
    print(
        f"\nGrowth: {g['factor']}x corpus built in {b['seconds']:,.0f} s "
        f"({b['docs_per_second']:,} releases/s, index {b['index_mb']:,} MiB); the FTS5 app's "
        f"build {fb['seconds']:,.0f} s ({fb['releases_per_second']:,} releases/s, "
        f"{fb['db_mb']:,} MiB)"
    )
    headers = ["", "documents", "cold p50", "cold p95", "warm p50", "warm p95"]
    headers += ["FTS5 cold p95", "FTS5 warm p95"]
    print(table(headers, rows))


def _print_million(r: dict) -> None:
    m, x = r["million"], r["extrapolated_10m"]
    b, q = m["build"], m["queries"]
    made = m["corpus"]
    how = "reused" if made.get("reused") else f"written in {made['seconds']:,.0f} s"
    print(
        f"\nSynthetic corpus: {b['total']:,} releases ({how}); built in {b['seconds']:,.0f} s "
        f"({b['docs_per_second']:,} releases/s), index {b['index_mb'] / 1024:,.2f} GiB"
    )
    rows = [
        ("measured", b["total"], q["cold"]["p50"], q["cold"]["p95"], q["warm"]["p50"])
        + (q["warm"]["p95"], b["seconds"], round(b["index_mb"] / 1024, 2)),
    ]
    if x:
        rows.append(
            ("extrapolated", x["releases"])
            + tuple(x.get(f"{ph}_{p}_ms", "") for ph in ("cold", "warm") for p in ("p50", "p95"))
            + (x["build_seconds"], x["index_gb"])
        )
    headers = ["", "releases", "cold p50", "cold p95", "warm p50", "warm p95", "build s", "GiB"]
    print(table(headers, rows))
    print(
        "10M: build time and size in proportion to the releases; latency by the power law "
        "through 1x and this corpus (exponents: "
        + ", ".join(f"{k[:-9]} {v}" for k, v in (x or {}).items() if k.endswith("_exponent"))
        + ")"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--corpus",
        help="folder of source files, or a .tar.gz of them "
        "(default: the White House archive in ../shared/corpora)",
    )
    parser.add_argument("--sample", type=int, help="use N files of the corpus, evenly spread")
    parser.add_argument("--index-dir", help="index to use (with --skip-build: an existing one)")
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="no full build: query --index-dir (reindex runs on a copy of it)",
    )
    parser.add_argument("--skip-growth", action="store_true", help="no growth measure")
    parser.add_argument("--growth", type=int, default=10, help="growth factor (default 10)")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP measure")
    parser.add_argument(
        "--http-duration", type=float, default=20.0, help="seconds of HTTP load per server"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="index processes and server workers (default: one per core)",
    )
    parser.add_argument(
        "--million",
        metavar="DIR",
        help="the synthetic corpus's folder: written there once (about 12 GB), then reused",
    )
    parser.add_argument(
        "--million-releases",
        type=int,
        default=MILLION,
        help=f"releases of the synthetic corpus (default {MILLION:,})",
    )
    parser.add_argument(
        "--million-index", metavar="DIR", help="keep the synthetic corpus's index there"
    )
    parser.add_argument("--queries", type=int, default=300, help="how many queries (default 300)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the query set")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args(argv)
    if args.skip_build and not args.index_dir:
        parser.error("--skip-build needs --index-dir")
    if args.skip_build and args.sample:
        parser.error("--sample builds its own index: leave out --skip-build")
    if args.sample is not None and args.sample < 1:
        parser.error("--sample needs a positive number of files")
    if args.growth < 2:
        parser.error("--growth needs a factor of 2 or more")
    try:
        report = benchmark(args)
    except (IndexDamagedError, IndexLockedError, IndexNotFoundError, DeleteRefusedError) as exc:
        raise SystemExit(f"speed.py: {exc}") from None
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
