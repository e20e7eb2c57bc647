"""The targets of issue 15, each beside the figure speed.py reached: pass, miss, or stated.

    speed.py's figures (a dict) --targets()--> rows: measure, reached, target, mark
    a figure the run did not measure (--skip-http, --skip-growth, no --million): "not run"

The growth rows are named after the factor run (10x unless --growth says otherwise); the
targets are the issue's, whatever the factor.
"""

from __future__ import annotations

from _common import ratio, table

PASS, MISS, STATED, NOT_RUN = "pass", "MISS", "stated", "not run"
BUILD_RATE = 1000  # releases/s, 2 processes
NOOP_RATE = 20_000
QUERY_RATIO = 1.0  # p50 against FTS5's, all words required
GROWTH_P95 = 3.0  # p95 at 10x against 1x
HTTP_RATIO = 1.4  # req/s against the FTS5 app's, concurrency 16
WORKER_RSS_MB = 1024
COLD_START_S = 2.0


def _row(measure: str, reached: str, target: str, ok: bool | None) -> dict:
    mark = STATED if ok is None else (PASS if ok else MISS)
    return {"measure": measure, "reached": reached, "target": target, "mark": mark}


def _not_run(measure: str, target: str, why: str) -> dict:
    return {"measure": measure, "reached": why, "target": target, "mark": NOT_RUN}


def targets(r: dict) -> list[dict]:
    """Every target of the issue's table, in its order."""
    rows = _building(r) + _queries(r) + _growth(r) + _http(r) + _million(r)
    return rows


def _building(r: dict) -> list[dict]:
    ix, fb = r["indexing"], r["fts5_build"]
    rows = []
    if "full_build" in ix:
        ours = ix["full_build"]["docs_per_second"]
        x = ratio(ours, fb["releases_per_second"])
        rows.append(
            _row(
                f"full build, {ix['procs']} processes, releases/s",
                f"{ours:,}",
                f">= {BUILD_RATE:,}",
                ours >= BUILD_RATE,
            )
        )
        rows.append(
            _row(
                "full build against the FTS5 app's, end to end",
                f"{ours:,} against {fb['releases_per_second']:,}/s: {x}x",
                ">= 1x",
                x is not None and x >= 1,
            )
        )
    else:
        rows.append(_not_run("full build, releases/s", f">= {BUILD_RATE:,}", "--skip-build"))
    noop = ix["noop_reindex"]["docs_per_second"]
    rows.append(
        _row("no-op reindex, releases/s", f"{noop:,}", f">= {NOOP_RATE:,}", noop >= NOOP_RATE)
    )
    return rows


def _queries(r: dict) -> list[dict]:
    rows = []
    n = sum(r["queries"].values())
    for phase in ("cold", "warm"):
        ours, theirs = r["searchsvc"][phase], r["fts5_and"][phase]
        x = ratio(ours["p50"], theirs["p50"])
        rows.append(
            _row(
                f"query p50, {phase}, {n} distinct, against FTS5 all words",
                f"{ours['p50']} against {theirs['p50']} ms: {x}x "
                f"(p95 {ours['p95']} against {theirs['p95']} ms)",
                f"<= {QUERY_RATIO:g}x",
                x is not None and x <= QUERY_RATIO,
            )
        )
    return rows


def _growth(r: dict) -> list[dict]:
    g = r.get("growth")
    if not g:
        return [
            _not_run("query p95 at 10x against 1x", f"<= {GROWTH_P95:g}x", "--skip-growth"),
            _not_run("query p95 at 10x against FTS5's at 10x", "<= 1x", "--skip-growth"),
        ]
    label = f"{g['factor']}x"
    rows = []
    for phase in ("cold", "warm"):
        big, base = g["queries"][phase]["p95"], r["searchsvc"][phase]["p95"]
        x = ratio(big, base)
        rows.append(
            _row(
                f"query p95, {phase}, at {label} against 1x",
                f"{big} against {base} ms: {x}x",
                f"<= {GROWTH_P95:g}x",
                x is not None and x <= GROWTH_P95,
            )
        )
    for phase in ("cold", "warm"):
        big, theirs = g["queries"][phase]["p95"], g["fts5_and"][phase]["p95"]
        x = ratio(big, theirs)
        rows.append(
            _row(
                f"query p95, {phase}, at {label} against FTS5 all words at {label}",
                f"{big} against {theirs} ms: {x}x",
                "<= 1x",
                x is not None and x <= 1,
            )
        )
    return rows


def _http(r: dict) -> list[dict]:
    g = r.get("growth") or {}
    sides = [("1x", r.get("http"), "--skip-http")]
    sides.append(
        (f"{g.get('factor', 10)}x", g.get("http"), "--skip-growth" if not g else "--skip-http")
    )
    rows = []
    for label, h, why in sides:
        measure = f"HTTP at {label}, distinct queries, c=16, req/s against the FTS5 app"
        if not h:
            rows.append(_not_run(measure, f">= {HTTP_RATIO:g}x, 0 errors", why))
            continue
        ours, theirs = h["searchsvc"]["levels"][0], h["fts5"]["levels"][0]
        x = ratio(ours["req_per_s"], theirs["req_per_s"])
        rows.append(
            _row(
                measure,
                f"{ours['req_per_s']} against {theirs['req_per_s']}: {x}x; "
                f"errors {ours['errors']} (FTS5 {theirs['errors']})",
                f">= {HTTP_RATIO:g}x, 0 errors",
                x is not None and x >= HTTP_RATIO and ours["errors"] == 0,
            )
        )
    for label, h, why in sides:
        measure = f"first query after serve starts, at {label}"
        if not h:
            rows.append(_not_run(measure, f"< {COLD_START_S:g} s", why))
            continue
        cold = h["searchsvc"]["cold_start"]
        rows.append(
            _row(
                measure,
                f"{cold['first_query_s']} s ({cold['launch_to_answer_s']} s from launch, "
                f"{cold.get('refusals', 0)} 503s before it; FTS5 "
                f"app {h['fts5']['cold_start']['first_query_s']} s)",
                f"< {COLD_START_S:g} s",
                cold["first_query_s"] < COLD_START_S,
            )
        )
    label, h, why = sides[1]
    measure = f"peak RSS of a serve worker at {label}"
    if not h:
        rows.append(_not_run(measure, f"<= {WORKER_RSS_MB:,} MiB", why))
    else:
        peak = h["searchsvc"]["worker_peak_rss_mb"]
        rows.append(
            _row(
                measure,
                f"{peak:,.0f} MiB (FTS5 app {h['fts5']['worker_peak_rss_mb']:,.0f})",
                f"<= {WORKER_RSS_MB:,} MiB",
                peak <= WORKER_RSS_MB,
            )
        )
    return rows


def _million(r: dict) -> list[dict]:
    m, x = r.get("million"), r.get("extrapolated_10m")
    if not m:
        return [_not_run("synthetic 1M: build, size, query p50/p95", "stated", "no --million")]
    b, q = m["build"], m["queries"]
    rows = [
        _row(
            f"synthetic {b['total']:,}: build, index size",
            f"{b['seconds']:,.0f} s ({b['docs_per_second']:,}/s), {b['index_mb'] / 1024:,.2f} GiB",
            "stated",
            None,
        ),
        _row(
            f"synthetic {b['total']:,}: query p50 / p95, cold; warm",
            f"{q['cold']['p50']} / {q['cold']['p95']} ms; "
            f"{q['warm']['p50']} / {q['warm']['p95']} ms",
            "stated",
            None,
        ),
    ]
    if x:
        rows.append(
            _row(
                "extrapolated to 10M: build, size, p50 / p95 warm",
                f"{x['build_seconds']:,} s, {x['index_gb']:,} GiB, "
                f"{x.get('warm_p50_ms', '?')} / {x.get('warm_p95_ms', '?')} ms",
                "stated",
                None,
            )
        )
    return rows


def print_targets(rows: list[dict]) -> None:
    """The targets as a table, then how many passed."""
    print(
        table(
            ["measure", "reached", "target", ""],
            [(t["measure"], t["reached"], t["target"], t["mark"]) for t in rows],
        )
    )
    marks = [t["mark"] for t in rows]
    print(
        f"{marks.count(PASS)} passed, {marks.count(MISS)} missed, {marks.count(STATED)} stated, "
        f"{marks.count(NOT_RUN)} not run"
    )
