"""Helpers the benchmarks share: percentiles, the FTS5 side, tables and the machine.

The benchmark scripts run as plain files (``python bench/relevance.py``), so Python puts
``bench/`` first on the import path and they import this module as ``_common``.
"""

from __future__ import annotations

import math
import os
import platform
import re
import resource
import sqlite3
import subprocess
from collections.abc import Iterable, Sequence

# What FTS5 is configured with, everywhere: Porter stems over Unicode words, accents folded.
FTS5_TOKENIZE = "porter unicode61 remove_diacritics 2"

_WORD = re.compile(r"\w+")


# -- numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile by the nearest-rank method (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a list of durations, in milliseconds."""
    return {
        "p50": round(percentile(seconds, 50) * 1000, 2),
        "p95": round(percentile(seconds, 95) * 1000, 2),
        "p99": round(percentile(seconds, 99) * 1000, 2),
        "max": round(max(seconds, default=0.0) * 1000, 2),
        "n": len(seconds),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- SQLite FTS5 ----------------------------------------------------------------------------


def fts5_connect(path: str = ":memory:") -> sqlite3.Connection:
    """A connection to a SQLite that has FTS5 compiled in, or SystemExit saying it has not."""
    conn = sqlite3.connect(path)
    options = {row[0] for row in conn.execute("PRAGMA compile_options")}
    if "ENABLE_FTS5" not in options:
        raise SystemExit(f"This Python's SQLite {sqlite3.sqlite_version} has no FTS5.")
    return conn


def fts5_words(text: str, distinct: bool = True) -> list[str]:
    """The words of a query, lowercased, in order: each once, or as typed (repeats kept)."""
    words = [w.lower() for w in _WORD.findall(text)]
    return list(dict.fromkeys(words)) if distinct else words


def fts5_match(text: str, operator: str = "OR", distinct: bool = True) -> str:
    """An FTS5 MATCH expression: the query's words, each quoted, joined by operator.

    Quoting every word means no character of the user's text is read as FTS5 syntax. With
    distinct=False a repeated word is OR-ed again, and bm25() counts it each time, as
    Lucene and Anserini count a word as often as the query holds it.
    """
    return f" {operator} ".join(f'"{w}"' for w in fts5_words(text, distinct))


# -- output ---------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table, the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        first = row[0].ljust(widths[0])
        rest = [v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(ours: float, theirs: float) -> float | None:
    """ours / theirs, or None when theirs is zero."""
    return round(ours / theirs, 2) if theirs else None


# -- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    """What the figures were measured on: cores, CPU, memory, Python, load."""
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory": _total_memory(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_memory() -> str:
    try:
        out = subprocess.run(["free", "-h"], capture_output=True, text=True, check=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def machine_line(start: Sequence[float] | None = None, end: Sequence[float] | None = None) -> str:
    """The machine as one line, for a report: with the load average at a run's start and
    end when given (1, 5 and 15 minutes), else the load now."""
    m = machine()
    if start is None:
        load = "load average " + _loads(m["load_average"])  # type: ignore[arg-type]
    else:
        load = f"load average at the start {_loads(start)}, at the end {_loads(end or [])}"
    return (
        f"machine: {m['nproc']} cores, {m['cpu']}, {m['memory']} RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}; {load}"
    )


def _loads(values: Sequence[float]) -> str:
    return ", ".join(str(x) for x in values)
