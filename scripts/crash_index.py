#!/usr/bin/env python3
"""Kill `searchsvc index` with SIGKILL at 10 moments of large builds; check nothing is lost.

    python scripts/crash_index.py [--corpus generated|wh] [--docs 6000] [--kills 10]

A baseline index holds the first part of a corpus (generated releases by default, or the
White House briefings at --wh-path). Then the rest of the corpus is added, and each trial
restores the baseline, starts `searchsvc index` (incremental for the first half of the
kills, --rebuild for the second), and SIGKILLs it at a point spread over the build (20% to
95% of its measured length), while its worker processes are reading and writing segments.
After each kill:

- the index opens and answers with the previous content: the same document count and the
  same totals for known queries (or, if the kill came after the commit, the complete new
  content; never anything in between);
- the killed run's worker processes exit by themselves (they watch their parent);
- its writer lock is free at once: the next run, started right away without --wait,
  neither hangs nor fails, and completes with every document;
- no orphan generation is left behind.

One line per kill, then "N kills, N intact indexes". Exit 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

FRACTIONS = [0.2, 0.4, 0.6, 0.8, 0.95]  # of a complete build, start-up included


@dataclass(frozen=True)
class State:
    """What an index answers: its document count and the totals of known queries."""

    documents: int
    totals: tuple[int, ...]


def read_state(index_dir: Path, queries: list[str]) -> State:
    """Open the index (in this process, as a server would) and ask it."""
    from searchsvc.searching import Engine, SearchRequest

    with Engine(index_dir) as engine:
        totals = tuple(engine.search(SearchRequest(q=q)).total for q in queries)
        return State(engine.stats().documents, totals)


# -- corpora -------------------------------------------------------------------------------------


def generated_corpus(docs: Path, total: int, baseline: int) -> tuple[list[str], callable]:
    """Write the baseline releases now; return known queries and a function adding the rest."""
    _harness.write_releases(docs, range(baseline))
    queries = ["ministry", "kumquat7", f"kumquat{baseline + 7}", "energy AND pipeline"]
    return queries, lambda: _harness.write_releases(docs, range(baseline, total), seed=1)


def wh_corpus(docs: Path, source: Path, limit: int | None) -> tuple[list[str], callable, int]:
    """Copy the first fifth of the White House files now; the rest when asked."""
    files = sorted(p for p in source.rglob("*.md") if p.is_file())[:limit]
    if not files:
        raise SystemExit(f"No .md files under {source}")
    cut = len(files) // 5

    def copy(part):
        for path in part:
            target = docs / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)

    copy(files[:cut])
    queries = ["president", "economy", "climate AND energy"]
    return queries, lambda: copy(files[cut:]), len(files)


# -- one trial -----------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], seconds: float) -> tuple[list[int], float]:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        left = [p for p in pids if alive(p)]
        if not left:
            return [], time.monotonic() - started
        time.sleep(0.05)
    return [p for p in pids if alive(p)], seconds


def index_cmd(docs: Path, index_dir: Path, rebuild: bool) -> list[str]:
    args = [*_harness.CLI, "index", str(docs), "--index-dir", str(index_dir)]
    return args + (["--rebuild"] if rebuild else [])


@dataclass
class Trial:
    number: int
    rebuild: bool
    delay: float
    lines: list[str]
    ok: bool = True

    def fail(self, message: str) -> None:
        self.ok = False
        self.lines.append(f"    FAIL: {message}")


def run_trial(trial: Trial, ctx: dict) -> Trial:
    """Restore the baseline, start a build, kill it at trial.delay, check everything."""
    index_dir, baseline_copy = ctx["index_dir"], ctx["baseline_copy"]
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.copytree(baseline_copy, index_dir, symlinks=True)
    log = open(ctx["work"] / f"kill-{trial.number}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        index_cmd(ctx["docs"], index_dir, trial.rebuild),
        stdout=log,
        stderr=log,
        env=_harness.env(),
    )
    time.sleep(trial.delay)
    if proc.poll() is not None:
        log.close()
        return trial  # finished before the kill: the caller retries earlier
    workers = _harness.children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    left, gone_after = wait_gone(workers, 15.0)
    mode = "rebuild" if trial.rebuild else "incremental"
    head = (
        f"kill {trial.number:2d} [{mode:11}] SIGKILL at {trial.delay:5.2f} s "
        f"({trial.delay / ctx['build_seconds'][trial.rebuild]:4.0%} of a build), "
        f"{len(workers)} workers then"
    )
    if left:
        trial.fail(f"workers {left} outlived the killed indexer by 15 s")
        for pid in left:  # ours: started by the indexer this script started
            os.kill(pid, signal.SIGKILL)
    else:
        head += f", gone {gone_after:.1f} s later" if workers else ""
    trial.lines.append(head)
    check_after_kill(trial, ctx, proc.pid)
    return trial


def check_after_kill(trial: Trial, ctx: dict, killed_pid: int) -> None:
    index_dir, queries = ctx["index_dir"], ctx["queries"]
    try:
        state = read_state(index_dir, queries)
    except Exception as exc:  # the point: any failure to open is a lost index
        trial.fail(f"the index does not open: {exc!r}")
        return
    if state == ctx["before"]:
        content = "the previous content"
    elif state == ctx["after"]:
        content = "the complete new content (killed after its commit)"
    else:
        trial.fail(f"the index answers {state}, neither {ctx['before']} nor {ctx['after']}")
        content = "MIXED content"
    trial.lines.append(f"    index opens: {state.documents} docs, totals {state.totals}: {content}")
    trial.lines.append(f"    {lock_state(index_dir, killed_pid, trial)}")
    # The next run, at once and without --wait: a lock still held would fail it.
    started = time.monotonic()
    try:
        done = subprocess.run(
            index_cmd(ctx["docs"], index_dir, trial.rebuild),
            capture_output=True,
            text=True,
            timeout=ctx["next_run_timeout"],
            env=_harness.env(),
        )
    except subprocess.TimeoutExpired:
        trial.fail(f"the next run hung for {ctx['next_run_timeout']:.0f} s")
        return
    seconds = time.monotonic() - started
    if done.returncode != 0:
        trial.fail(f"the next run failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        return
    final = read_state(index_dir, queries)
    generations = sorted(p.name for p in index_dir.glob("gen-*"))
    trial.lines.append(
        f"    next run completed in {seconds:.1f} s: {final.documents} docs, totals "
        f"{final.totals}; generations {generations}"
    )
    if final != ctx["after"]:
        trial.fail(f"after the next run the index answers {final}, not {ctx['after']}")
    if len(generations) > 2:
        trial.fail(f"orphan generations left: {generations}")


def lock_state(index_dir: Path, killed_pid: int, trial: Trial) -> str:
    """Whether the killed run left its lock file, and whether the lock can be taken now."""
    from searchsvc.indexing import IndexLockedError, writer_lock

    lock = index_dir / ".writer.lock"
    holder = lock.read_text().strip() if lock.exists() else ""
    left = (
        f"stale lock file naming the killed pid {holder}"
        if holder == str(killed_pid)
        else "the killed run had not taken the lock yet"
    )
    try:
        with writer_lock(index_dir, wait=0):
            return f"{left}; the lock is free at once"
    except IndexLockedError as exc:
        trial.fail(f"the lock is still held: {exc}")
        return f"{left}; the lock is STILL HELD"


# -- the whole run -------------------------------------------------------------------------------


def calibrate(ctx: dict) -> None:
    """Time one complete build of each kind from the baseline; learn the final state."""
    for rebuild in (False, True):
        shutil.rmtree(ctx["index_dir"], ignore_errors=True)
        shutil.copytree(ctx["baseline_copy"], ctx["index_dir"], symlinks=True)
        started = time.monotonic()
        done = subprocess.run(
            index_cmd(ctx["docs"], ctx["index_dir"], rebuild),
            capture_output=True,
            text=True,
            env=_harness.env(),
        )
        if done.returncode != 0:
            raise SystemExit(f"a complete build failed: {done.stderr}")
        ctx["build_seconds"][rebuild] = time.monotonic() - started
        summary = done.stdout.strip().splitlines()[-1]
        print(f"complete {'rebuild' if rebuild else 'incremental'} build: {summary}")
    ctx["after"] = read_state(ctx["index_dir"], ctx["queries"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", choices=["generated", "wh"], default="generated")
    parser.add_argument("--docs", type=int, default=6000, help="generated releases in all")
    parser.add_argument("--baseline", type=int, default=1000, help="of them in the baseline")
    parser.add_argument("--wh-path", type=Path, default=Path("/tmp/wh/wh-briefings"))
    parser.add_argument("--wh-limit", type=int, help="use only the first N White House files")
    parser.add_argument("--kills", type=int, default=10, help="half incremental, half rebuild")
    parser.add_argument("--max-seconds", type=float, default=1800, help="give up after this")
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds

    with tempfile.TemporaryDirectory(prefix="crash-index-") as tmp:
        work = Path(tmp)
        docs = work / "docs"
        if args.corpus == "wh":
            queries, add_rest, total = wh_corpus(docs, args.wh_path, args.wh_limit)
        else:
            queries, add_rest = generated_corpus(docs, args.docs, args.baseline)
            total = args.docs
        ctx = {
            "work": work,
            "docs": docs,
            "index_dir": work / "index",
            "baseline_copy": work / "baseline-index",
            "queries": queries,
            "build_seconds": {},
        }
        from searchsvc.indexing import index_paths

        report = index_paths(ctx["baseline_copy"], [docs])
        ctx["before"] = read_state(ctx["baseline_copy"], queries)
        print(f"corpus: {args.corpus}, {total} documents; baseline index: {report.summary()}")
        print(f"known queries {queries}: before {ctx['before']}")
        add_rest()
        calibrate(ctx)
        print(f"known queries after a complete build: {ctx['after']}")
        ctx["next_run_timeout"] = 10 * max(ctx["build_seconds"].values()) + 60
        results = []
        for number in range(1, args.kills + 1):
            if time.monotonic() > deadline:
                print(f"FAIL: out of time after {number - 1} kills")
                break
            rebuild = number > args.kills // 2
            fraction = FRACTIONS[(number - 1) % len(FRACTIONS)]
            trial = None
            for attempt in range(4):  # a build that finished before the kill: try earlier
                delay = ctx["build_seconds"][rebuild] * fraction * 0.75**attempt
                trial = run_trial(Trial(number, rebuild, delay, []), ctx)
                if trial.lines:
                    break
            if not trial.lines:
                trial.fail("every build finished before it could be killed")
            print("\n".join(trial.lines), flush=True)
            results.append(trial)
    intact = sum(t.ok for t in results)
    print(f"{len(results)} kills, {intact} intact indexes")
    return 0 if intact == len(results) == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
