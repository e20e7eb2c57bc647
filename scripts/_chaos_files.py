"""chaos.py's cases of `searchsvc index`, `check` and `search` on odd input.

An emptied, vanished or unreadable folder, duplicate ids, a YAML alias bomb, and damaged
segments: what `searchsvc index` keeps, and what `check`, `search` and `serve` say.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402
from _chaos import (  # noqa: E402
    NO_DAC,
    Checks,
    Ran,
    case,
    copy_seeds,
    documents,
    index,
    segment_files,
    stored_title,
    write_jsonl,
)

# -- 5. an empty, a vanished and an unreadable folder --------------------------------------------


@case(5, "empty-folder", seconds=60, fast=True)
def empty_folder(work: Path, checks: Checks) -> None:
    kept = []
    # Emptied (or an unmounted share: the mount point is an empty folder).
    folder, index_dir = copy_seeds(work / "share"), work / "index"
    index(index_dir, folder)
    for path in folder.iterdir():
        path.unlink()
    ran = index(index_dir, folder)
    n = documents(index_dir)
    kept.append(f"emptied {n}/5")
    checks.expect(ran.status != 0 and "--allow-delete" in ran.output,
                  f"an emptied folder: exit {ran.status}, the message names --allow-delete",
                  ran.tail())  # fmt: skip
    checks.expect(n == 5, f"an emptied folder: {n} of 5 documents kept")
    if n != 5:  # already deleted: index them again, so that --allow-delete has work to do
        shutil.rmtree(folder)
        index(index_dir, copy_seeds(folder))
        for path in folder.iterdir():
            path.unlink()
    ran = index(index_dir, folder, extra=("--allow-delete",))
    n = documents(index_dir)
    checks.expect(n == 0, f"--allow-delete then deletes them: {n} left (exit {ran.status}, "
                  f"{ran.summary})", ran.tail())  # fmt: skip
    # Vanished: the folder itself is gone.
    folder, index_dir = copy_seeds(work / "gone"), work / "index-gone"
    index(index_dir, folder)
    shutil.rmtree(folder)
    ran = index(index_dir, folder)
    n = documents(index_dir)
    kept.append(f"vanished {n}/5")
    checks.expect(n == 5, f"a vanished folder: {n} of 5 documents kept (exit {ran.status})",
                  ran.tail())  # fmt: skip
    # Unreadable: mode 000, indexed by a process without root's power to read anyway.
    folder, index_dir = copy_seeds(work / "locked"), work / "index-locked"
    index(index_dir, folder)
    (folder / "sub").mkdir()
    try:
        folder.chmod(0)
        ran = index(index_dir, folder, prefix=NO_DAC)
        n = documents(index_dir)
        kept.append(f"unreadable {n}/5")
        checks.expect(n == 5, f"an unreadable folder: {n} of 5 documents kept (exit "
                      f"{ran.status}: {ran.tail(160)})")  # fmt: skip
    finally:
        folder.chmod(0o755)
    # An unreadable subfolder among readable files.
    folder, index_dir = copy_seeds(work / "mixed"), work / "index-mixed"
    sub = folder / "sub"
    sub.mkdir()
    for path in sorted(folder.glob("*.txt"))[:3]:
        path.rename(sub / path.name)
    index(index_dir, folder)
    try:
        sub.chmod(0)
        ran = index(index_dir, folder, prefix=NO_DAC)
        n = documents(index_dir)
        kept.append(f"unreadable subfolder {n}/5")
        checks.expect(n == 5, f"an unreadable subfolder: {n} of 5 documents kept (exit "
                      f"{ran.status}: {ran.tail(160)})")  # fmt: skip
    finally:
        sub.chmod(0o755)
    checks.figure = "documents kept: " + ", ".join(kept)


# -- 6. duplicate ids ----------------------------------------------------------------------------


@case(6, "duplicate-ids", seconds=40, fast=True)
def duplicate_ids(work: Path, checks: Checks) -> None:
    folder = work / "feeds"
    write_jsonl(folder / "a.jsonl", [
        {"id": "dup-1", "title": "First copy", "body": "papaya forum", "date": "2024-01-01"},
        {"id": "alpha-1", "title": "Alpha", "body": "energy talks", "date": "2024-01-02"},
    ])  # fmt: skip
    write_jsonl(folder / "b.jsonl", [
        {"id": "beta-1", "title": "Beta", "body": "gas talks", "date": "2024-01-03"},
        {"id": "dup-1", "title": "Second copy", "body": "papaya summit", "date": "2024-01-04"},
    ])  # fmt: skip
    kept = []
    ran = index(work / "index", folder)
    checks.expect(ran.status == 0, f"first run: {ran.summary}", ran.tail())
    checks.expect("dup-1" in ran.output and "skipped 1" in ran.summary,
                  "the collision is reported, naming dup-1", ran.tail())  # fmt: skip
    for n, index_dir in enumerate([work / "index", work / "index-2"]):
        if n:
            ran = index(index_dir, folder)
            checks.expect(ran.status == 0, f"a fresh index: {ran.summary}", ran.tail())
        kept.append(stored_title(index_dir, "dup-1"))
        total = documents(index_dir)
        checks.expect(total == 3, f"3 documents: {total}")
    ran = index(work / "index", folder, extra=("--rebuild",))
    kept.append(stored_title(work / "index", "dup-1"))
    checks.note(f"--rebuild: {ran.summary}")
    for path in (folder / "b.jsonl", folder / "a.jsonl"):  # re-read one file, then the other
        os.utime(path, (time.time() + 5, time.time() + 5))
        ran = index(work / "index", folder)
        kept.append(stored_title(work / "index", "dup-1"))
        nothing = all(f"{w} 0," in ran.summary for w in ("added", "updated", "deleted"))
        checks.expect(nothing, f"touch {path.name}, run again: nothing changed ({ran.summary})")
    checks.expect(len(set(kept)) == 1, f"the same one kept on every run: {kept}")
    checks.expect(documents(work / "index") == 3, "still 3 documents")
    checks.figure = f"kept {kept[0]!r} on {kept.count(kept[0])} of {len(kept)} runs"


# -- 7. a YAML alias bomb ------------------------------------------------------------------------


def alias_bomb() -> str:
    """A 'billion laughs': nine levels of nine aliases, 9**9 strings once expanded.

    YAML shares the aliased lists, so loading is quick; the bomb goes off in whatever walks
    the value, such as str() of a mapping where text is expected.
    """
    lines = ["a: &a [" + ",".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    front = "\n".join([*lines, "title: Laughs", "source: {laughs: *i}"])
    return f"---\n{front}\n---\n\nLaughing matter.\n"


def run_measured(cmd: list[str], timeout: float, memory: int) -> tuple[int | None, str, float, int]:
    """Run cmd with an address-space limit: its status, output, seconds and peak RSS (bytes)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    killed = False
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_harness.env(), preexec_fn=limit)
        while True:  # wait4, not poll(): it also gives the child's peak memory
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                killed = True
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        text = out.read(1_000_001).decode("utf-8", errors="replace")
    return (None if killed else proc.returncode), text, seconds, usage.ru_maxrss * 1024


@case(7, "alias-bomb", seconds=40, fast=True)
def yaml_alias_bomb(work: Path, checks: Checks) -> None:
    folder = copy_seeds(work / "docs")
    for n in range(2):
        text = f"---\ntitle: Good note {n}\ndate: 2024-02-0{n + 1}\n---\n\nMango forum {n}.\n"
        (folder / f"good-{n}.md").write_text(text, encoding="utf-8")
    bomb = alias_bomb()
    (folder / "bomb.md").write_text(bomb, encoding="utf-8")
    checks.note(f"bomb.md: {len(bomb)} bytes, front matter and body, among 7 good files")
    cmd = [*_harness.CLI, "index", str(folder), "--index-dir", str(work / "index")]
    status, output, seconds, rss = run_measured(cmd, timeout=20, memory=3 << 30)
    mb = rss / 2**20
    checks.expect(status is not None and seconds < 10, f"the run ends in {seconds:.1f} s (< 10 s)")
    checks.expect(mb < 400, f"peak memory {mb:.0f} MB (< 400 MB)")
    checks.expect(len(output) < 4000, f"output {len(output):,} characters (< 4,000)",
                  output[:200])  # fmt: skip
    reasons = [line for line in output.splitlines() if "bomb.md" in line]
    checks.expect(len(reasons) == 1 and len(reasons[0]) < 300,
                  f"the bomb skipped with a one-line reason: {reasons[:1]}")  # fmt: skip
    total = documents(work / "index")
    checks.expect(total == 7, f"the good files indexed: {total} of 7 documents")
    checks.figure = f"{seconds:.1f} s, peak {mb:.0f} MB, {len(output):,} characters of output"


# -- 8. a truncated and an overwritten segment ---------------------------------------------------


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
        else:  # 4 KB of noise in the middle
            f.seek(size // 2 - 2048)
            f.write(random.Random(8).randbytes(4096))


@case(8, "damaged-segment", seconds=90)
def damaged_segment(work: Path, checks: Checks) -> None:
    refused = 0
    for how in ("truncated", "overwritten"):
        index_dir = work / f"index-{how}"
        index(index_dir, copy_seeds(work / f"seeds-{how}"))
        segment = segment_files((index_dir / "current").resolve())[0]
        damage(segment, how)
        checks.note(f"{how}: {segment.name} ({segment.stat().st_size:,} bytes now)")
        ran = Ran(_harness.run_cli("check", "--index-dir", str(index_dir), timeout=60))
        checks.expect(ran.status == 1 and segment.name in ran.output,
                      f"{how}: `searchsvc check` exits 1 naming the file (exit {ran.status})",
                      ran.tail())  # fmt: skip
        ran = Ran(_harness.run_cli("search", "energy", "--index-dir", str(index_dir), timeout=60))
        named = segment.name in ran.output and "--rebuild" in ran.output
        refused += ran.status != 0 and named
        checks.expect(ran.status != 0 and named,
                      f"{how}: `searchsvc search` refuses, naming the file and --rebuild "
                      f"(exit {ran.status})", ran.tail())  # fmt: skip
    # An intact previous generation (the one before a --rebuild) to fall back to.
    index_dir, seeds = work / "index-fallback", copy_seeds(work / "seeds-fallback")
    index(index_dir, seeds)
    ran = index(index_dir, seeds, extra=("--rebuild",))
    live = (index_dir / "current").resolve()
    damage(segment_files(live)[0], "truncated")
    checks.note(f"after --rebuild: {live.name} live, truncated; "
                f"{sorted(p.name for p in index_dir.glob('gen-*'))} on disk")  # fmt: skip
    ran = Ran(_harness.run_cli("search", "Turkmenistan", "--index-dir", str(index_dir)))
    fell_back = ran.status == 0 and "5 results" in ran.done.stdout and ran.done.stderr.strip()
    warning = ran.done.stderr.strip()[:200]
    checks.expect(bool(fell_back), f"`searchsvc search` falls back with a warning (exit "
                  f"{ran.status}, stderr {warning!r})", ran.tail())  # fmt: skip
    with _harness.serve(index_dir, work, healthy=False) as server:
        status, body = _harness.get_json(server.port, "/api/search?q=Turkmenistan")
        served = status == 200 and body and body.get("total") == 5
        checks.expect(bool(served), "serve answers from the previous generation",
                      f"{status} {str(body)[:200]}")  # fmt: skip
        status, health = _harness.get_json(server.port, "/api/health")
        warned = status == 200 and health and health.get("ok") is True and health.get("warning")
        checks.expect(bool(warned), "/api/health: ok with a warning", f"{status} {health}")
    checks.figure = (f"search refused {refused} of 2 damaged segments; fallback: search "
                     f"{'yes' if fell_back else 'no'}, serve {'yes' if served else 'no'}, "
                     f"health warning {'yes' if warned else 'no'}")  # fmt: skip
