"""How two clients asking for misspelled queries slow a third asking for a plain word.

    SEARCHSVC_RESULT_CACHE=0 searchsvc serve --index-dir /tmp/wh-ix --port 8001 &
    python bench/contention.py http://127.0.0.1:8001 --seconds 20

Two threads ask, back to back, for 5 random unknown 10-letter words (every query new, so
every one needs a "did you mean"); a third asks for `energy` every 50 ms. Prints the
latency of each kind and the status codes seen.
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
import random
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter


def main(argv: list[str] | None = None) -> int:
    """Run the clients against a server for --seconds; print latencies."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the server, e.g. http://127.0.0.1:8001")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args(argv)
    stop = time.monotonic() + args.seconds
    rng = random.Random(1)
    lock = threading.Lock()
    heavy: list[tuple[int, float]] = []
    light: list[tuple[int, float]] = []

    def unknown_words() -> str:
        with lock:
            return " ".join(
                rng.choice("scpam") + "".join(rng.choices("qwrtzxvbnmlkjh", k=9)) for _ in range(5)
            )

    def ask_heavy() -> None:
        while time.monotonic() < stop:
            heavy.append(_get(args.base, unknown_words()))

    def ask_light() -> None:
        while time.monotonic() < stop:
            light.append(_get(args.base, "energy"))
            time.sleep(0.05)

    threads = [threading.Thread(target=ask_heavy) for _ in range(2)]
    threads.append(threading.Thread(target=ask_light))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _summary("energy", light)
    _summary("5 unknown words", heavy)
    return 0


def _get(base: str, q: str) -> tuple[int, float]:
    url = f"{base}/api/search?" + urllib.parse.urlencode({"q": q})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.monotonic() - started


def _summary(what: str, answers: list[tuple[int, float]]) -> None:
    ms = sorted(t * 1000 for _, t in answers)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    codes = dict(Counter(status for status, _ in answers))
    print(
        f"{what}: {len(ms)} requests {codes}, p50 {statistics.median(ms):.0f} ms, "
        f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
