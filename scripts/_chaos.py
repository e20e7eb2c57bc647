"""Shared by the cases of chaos.py: the registry, checks, commands and corpora."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

# Run as root, a process still cannot list a folder of mode 000 once it lacks these two.
NO_DAC = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


# -- cases and their checks ----------------------------------------------------------------------


class Checks:
    """What one case tried: a line per check, the failures, and the figure it reports."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.figure = ""

    def note(self, line: str) -> None:
        print(f"    {line}", flush=True)

    def expect(self, ok: bool, what: str, detail: str = "") -> bool:
        """Record a check: what should hold, and, if it did not, what was seen."""
        if ok:
            self.note(f"ok    {what}")
        else:
            self.failures.append(what)
            self.note(f"FAIL  {what}" + (f": {detail}" if detail else ""))
        return ok


@dataclass(frozen=True)
class Case:
    number: int  # its place in a run: the order of the Trust issue's list
    name: str
    run: Callable[[Path, Checks], None]
    seconds: float  # its own time limit
    fast: bool  # part of the quick subset that the test suite runs


CASES: dict[str, Case] = {}


def case(number: int, name: str, seconds: float, fast: bool = False):
    """Register the decorated function as case `name`, run with a limit of `seconds`."""

    def register(run):
        CASES[name] = Case(number, name, run, seconds, fast)
        return run

    return register


def in_order() -> list[Case]:
    """Every registered case, in the order of a run."""
    return sorted(CASES.values(), key=lambda c: c.number)


# -- helpers -------------------------------------------------------------------------------------


def copy_seeds(target: Path) -> Path:
    shutil.copytree(_harness.SEEDS, target)
    return target


def index(index_dir: Path, *paths: Path, extra: tuple[str, ...] = (), prefix=()) -> Ran:
    """Run `searchsvc index` as a user would (its own process)."""
    args = ["index", *map(str, paths), "--index-dir", str(index_dir), "--wait", "10", *extra]
    return Ran(_harness.run_cli(*args, timeout=60, prefix=prefix))


@dataclass
class Ran:
    """A finished command: its exit status and output."""

    done: subprocess.CompletedProcess

    @property
    def status(self) -> int:
        return self.done.returncode

    @property
    def output(self) -> str:
        return self.done.stdout + self.done.stderr

    @property
    def summary(self) -> str:
        lines = self.done.stdout.strip().splitlines()
        return lines[-1] if lines else "(no summary)"

    def tail(self, chars: int = 300) -> str:
        return " | ".join(self.output.strip().splitlines())[-chars:]


def documents(index_dir: Path) -> int | str:
    """How many documents the index answers with (in this process), or why it cannot."""
    from searchsvc.searching import Engine

    try:
        with Engine(index_dir) as engine:
            return engine.stats().documents
    except Exception as exc:  # the point: a failure to open is a finding, not a crash
        return f"error {exc!r:.200}"


def stored_title(index_dir: Path, doc_id: str) -> str | None:
    from searchsvc.searching import Engine

    with Engine(index_dir) as engine:
        doc = engine.document(doc_id)
        return doc.title if doc else None


def ok_json(port: int, path: str, timeout: float = 10.0) -> tuple[bool, str]:
    """Whether path answers 200 (and, under /api/, ok: true); and what it answered."""
    try:
        response = _harness.request(port, path, timeout=timeout)
    except Exception as exc:  # refused, reset, timed out: all failures
        return False, f"{path}: {exc!r}"
    if response.status != 200:
        return False, f"{path}: {response.status} {response.body[:160]!r}"
    if path.startswith("/api/"):
        try:
            ok = json.loads(response.body).get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            return False, f"{path}: {response.body[:160]!r}"
    return True, ""


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def counts(port: int, documents: int, times: int = 6) -> bool:
    """/api/health counts `documents` in `times` answers running."""

    def one() -> int | None:
        with contextlib.suppress(Exception):
            return (_harness.get_json(port, "/api/health", timeout=5)[1] or {}).get("documents")

    return all(one() == documents for _ in range(times))


def served(checks: Checks, port: int, documents: int) -> None:
    """Wait (10 s at most) until the workers serve the new document count."""
    # A worker looks for a changed index at most once a second (SEARCHSVC_REFRESH_INTERVAL):
    # until a second has passed, one that looked just before the commit rightly answers
    # from the state before it. After that, its next request looks.
    time.sleep(1.2)
    found = wait_for(lambda: counts(port, documents), 10)
    checks.expect(found, f"/api/health counts {documents} documents within 10 s")
    if not found:
        time.sleep(1.5)  # still, every worker has looked at the index by now


def open_everywhere(server: _harness.Server, index_dir: Path, seconds: float = 10) -> bool:
    """Search from 4 clients at once until every worker process has the index open."""

    def every_worker() -> bool:
        workers = _harness.children(server.proc.pid)
        return bool(workers) and all(_harness.index_open_in(p, index_dir) for p in workers)

    def four_at_once() -> bool:
        clients = [
            threading.Thread(target=ok_json, args=(server.port, f"/api/search?q=energy&page={n}"))
            for n in range(1, 5)
        ]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        return every_worker()

    return wait_for(four_at_once, seconds)


def segment_files(gen: Path) -> list[Path]:
    return sorted(p for p in gen.iterdir() if p.suffix == ".seg")


def log_lines(server: _harness.Server) -> list[str]:
    return server.log.read_text(encoding="utf-8", errors="replace").splitlines()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# -- a corpus where some queries cost hundreds of ms -----------------------------------------------

PREFIXES = ["pre", "con", "pro", "sta"]


def costly_corpus(folder: Path, count: int = 500) -> None:
    """Releases with 1,800 made-up words, 450 to each of four prefixes: pre* stands for 450."""
    rng = random.Random(3)
    vocabulary = []
    for prefix in PREFIXES:
        words: set[str] = set()
        while len(words) < 450:
            words.add(prefix + "".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(6)))
        vocabulary += sorted(words)
    folder.mkdir(parents=True)
    for n in range(count):
        extra = " ".join(rng.choice(vocabulary) for _ in range(250))
        text = _harness.release(n, rng, paragraphs=3) + "\n" + extra + ".\n"
        (folder / f"costly-{n:04d}.txt").write_text(text, encoding="utf-8")


def costly_index(work: Path) -> Path:
    from searchsvc.indexing import index_paths

    costly_corpus(work / "costly")
    report = index_paths(work / "index", [work / "costly"], procs=2)
    print(f"    costly corpus: {report.summary()}", flush=True)
    return work / "index"


EXPENSIVE = [
    "pre* con* pro* sta*", "pro* sta*", "pre* AND con*", "pre* OR con* OR pro* OR sta* OR energy~2",
    "prexabc~2 conabc~2 proabc~2 staabc~2 preklm~2",
]  # fmt: skip


def long_unknown_query(rng: random.Random) -> str:
    """2,000 characters of words the index does not have."""
    words = ("zq" + "".join(rng.choice("xyzwq") for _ in range(6)) for _ in range(230))
    return " ".join(words)[:2000]
