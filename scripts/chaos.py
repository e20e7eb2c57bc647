#!/usr/bin/env python3
"""Everyday faults against a real `searchsvc serve` and `searchsvc index`; exit 1 if any harms.

    python scripts/chaos.py [--case NAME ...] [--fast] [--list] [--max-seconds 300]

Each case runs in a process group of its own, in a temporary directory of its own, on
loopback only, under its own time limit; at its end (or its timeout) the whole group is
killed and the directory removed. Nothing touches the project's index/ or seeds/.

  undated            undated and dated releases added incrementally: every endpoint stays 200
  corrupt-commit     a commit whose new segment is truncated lands under a running server:
                     searches keep answering, /api/health says ok with a warning
  idle-connections   32 TCP connections that send nothing: /api/health still within 1 s
  expensive-queries  2 clients loop costly queries, a third asks cheap ones: each < 200 ms
  empty-folder       an emptied, a vanished and an unreadable folder delete nothing unless
                     --allow-delete says so
  duplicate-ids      two JSON Lines files with one id: reported, one kept, always the same
  alias-bomb         a YAML "billion laughs" in front matter: skipped fast, memory bounded
  damaged-segment    a truncated and an overwritten segment: `check` and `search` name the
                     file; with an intact previous generation, search and serve fall back
  deadline           SEARCHSVC_REQUEST_TIMEOUT: a 503 envelope, the worker survives

One line per case, PASS or FAIL with its figure, after the lines of what it tried.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _chaos_files  # noqa: E402, F401 - registers its cases
import _chaos_serving  # noqa: E402, F401 - registers its cases
import _harness  # noqa: E402
from _chaos import CASES, Checks, in_order  # noqa: E402

# -- running cases -------------------------------------------------------------------------------


def run_here(name: str, workdir: Path) -> int:
    """Run one case in this process (the parent gave it its own group and directory)."""
    checks = Checks(name)
    started = time.monotonic()
    try:
        CASES[name].run(workdir, checks)
    except SystemExit as exc:  # the harness gave up, on a server that never came up, say
        checks.failures.append(f"gave up: {str(exc)[:300]}")
    except Exception as exc:  # a case that crashes has found something, or is broken: say so
        import traceback

        checks.failures.append(f"crashed: {exc!r}")
        checks.note("".join(traceback.format_exc()).rstrip().replace("\n", "\n    "))
    seconds = time.monotonic() - started
    verdict = "FAIL" if checks.failures else "PASS"
    figure = checks.figure or "; ".join(checks.failures)
    print(f"{verdict} {name} ({seconds:.1f} s): {figure}", flush=True)
    return 1 if checks.failures else 0


def run_bounded(name: str, seconds: float) -> bool:
    """Run a case in a child process group with a time limit; remove its directory after."""
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))
    try:
        cmd = [sys.executable, __file__, "--in-process", name, "--workdir", str(workdir)]
        status, output = _harness.run_group(cmd, timeout=seconds)
        print(output.rstrip("\n"), flush=True)
        if status is None:
            print(f"FAIL {name}: timed out after {seconds:.0f} s; its processes were killed")
        return status == 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--case", action="append", choices=[c.name for c in in_order()], help="only this case"
    )
    parser.add_argument("--fast", action="store_true", help="only the quick cases")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--max-seconds", type=float, default=300, help="the whole run's limit")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        return run_here(args.in_process, args.workdir)
    if args.list:
        for c in in_order():
            print(f"{c.name:18} {c.seconds:3.0f} s{'  fast' if c.fast else ''}")
        return 0
    chosen = [c for c in in_order() if not args.case or c.name in args.case]
    chosen = [c for c in chosen if c.fast or not args.fast]
    started = time.monotonic()
    passed, failed = [], []
    for c in chosen:
        left = args.max_seconds - (time.monotonic() - started)
        print(f"{c.name}:", flush=True)
        if left < 5:
            print(f"FAIL {c.name}: not run, the run's {args.max_seconds:.0f} s were used up")
            failed.append(c.name)
            continue
        (passed if run_bounded(c.name, min(c.seconds, left)) else failed).append(c.name)
    seconds = time.monotonic() - started
    print(f"chaos: {len(chosen)} cases in {seconds:.0f} s, {len(passed)} passed, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
