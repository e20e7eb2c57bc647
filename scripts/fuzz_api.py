#!/usr/bin/env python3
"""Fuzz a real `searchsvc serve` with 10,000+ odd requests; exit 1 on any server error.

    python scripts/fuzz_api.py [--requests 10000] [--seconds 300] [--seed 1] [--clients 8]

It indexes a copy of the seeds plus releases full of markup into a temporary directory,
starts the server (gunicorn) on a loopback port, and sends every parameter of /api/search
and of the search page, and the ids of /api/documents/<id> and /doc/<id>, odd values: query
syntax fragments, unbalanced quotes and parentheses, huge and negative numbers, dates that
do not exist, control characters, NUL, invalid UTF-8 and lone surrogates as bytes, very
long values; and odd methods and paths. Every answer is checked:

- no 5xx, no connection error, and no traceback in a body or in the server's log;
- under /api/: JSON, and every error exactly {"ok": false, "error": str, "status": N};
- pages: HTML with no tag the templates do not write, no event handler, no javascript: link;
- Content-Security-Policy and X-Content-Type-Options: nosniff on every answer.

It prints what it sent and what failed, and stops the server at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

REQUEST_LINE_LIMIT = 8190  # bytes; longer request lines are answered by gunicorn itself

SYNTAX = [
    "energy", "Turkmenistan", "strategic", "partnership", "AND", "OR", "NOT", "ANDNOT",
    "ANDMAYBE", "(", ")", '"', '"solar panels"', "title:", "source:", "place:", "year:",
    "month:", "category:", "body:", "date:", "exact:", "ab*", "par*", "a*", "*", "?", "te?t",
    "~", "~2", "~9", "turkmenstan~", "x~2/1", "^", "^2", "[", "]", "{", "}", "TO",
    "[a TO z]", "\\", ":", "-", "+", "!", "&&", "||", "/", "'", "`", "%", "%00", "&amp;",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "\x00", "\t", "\n", "\r", "\x7f", "\u200b", "\u202e", "\ufeff", "Aşgabat", "Ашхабад",
    "عشق آباد", "🇹🇲", "ﬁ", "İ", "ß", "zanzibar", "script", "NOT NOT", "a~ b~ c~ d~ e~ f~",
]  # fmt: skip
NUMBERS = [
    "0", "1", "-1", "2", "100", "101", "10000", "-0", "+3", " 7 ", "1.5", "1e3", "0x10",
    "1_000", "١٢", "９", "NaN", "inf", "", "9" * 20, "9" * 5000, "-" + "9" * 30,
    "18446744073709551616", "\x00", "½",
]  # fmt: skip
DATES = [
    "2023", "2023-05", "2023-05-04", "5 May 2023", "December 2023", "2023-02-29", "2024-02-30",
    "2023-13-01", "2023-00-10", "0000", "0001-01-01", "9999-12-31", "10000", "99999-01-01",
    "-2023", "2023-05-04T25:61:61", "2023-05-04T12:00+05:00", "0001-01-01T00:00+05:00",
    "9999-12-31T23:00-05:00", "31 Febtember", "yesterday", "May", "1e9", "2023/05/04",
    "٢٠٢٣", "2023\x00", "x" * 100,
]  # fmt: skip
PARAMS = ["q", "from", "to", "sort", "page", "size", "source", "category", "place", "year",
          "month"]  # fmt: skip
SORTS = ["relevance", "newest", "oldest", "", "RELEVANCE", "random", "\x00"]
RAW = [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"%", b"%zz", b"\x00", b"&q=1", b"#x", b"+"]
METHODS = ["GET"] * 40 + ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
OTHER_PATHS = ["/api", "/api/", "/api/nope", "/api/health", "/api/openapi.json", "/nope",
               "/static/style.css", "/static/../setup.cfg", "/doc/", "/api/documents/",
               "//api/search", "/api/search/", "/%2e%2e/%2e%2e/etc/passwd"]  # fmt: skip
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "span", "form", "label",
    "input", "button", "main", "div", "section", "ul", "ol", "li", "h1", "h2", "h3", "p",
    "nav", "time", "aside", "footer", "code", "article", "dl", "dt", "dd", "mark",
}  # fmt: skip
HOSTILE = """---
title: "Zanzibar <script>alert(1)</script> <img src=x onerror=alert(2)>"
date: 2024-03-01
source: "<b>Bold</b> Agency"
source_url: "javascript:alert(3)"
---

Zanzibar `<svg/onload=alert(4)>` and &lt;script&gt; and "><script>alert(5)</script>.
"""


# -- generating requests -------------------------------------------------------------------------


class Generator:
    """Odd requests, reproducible from a seed."""

    def __init__(self, seed: int, ids: list[str]):
        self.rng = random.Random(seed)
        self.ids = ids

    def text(self, longest: int = 40) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.5:
            return " ".join(rng.choice(SYNTAX) for _ in range(rng.randint(1, 8)))
        if kind < 0.7:
            return "".join(rng.choice(SYNTAX) for _ in range(rng.randint(1, 5)))
        if kind < 0.95:  # any code point but surrogates, which only go out as raw bytes
            size = rng.randint(0, longest)
            return "".join(chr(rng.choice(_CODEPOINTS)) for _ in range(size))
        return rng.choice(["x" * 2000, "x " * 1000, "y" * 2001, "(" * 1000, '"' * 1001])

    def value(self, name: str) -> str | bytes:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.choice(RAW)
        if name == "q":
            return self.text()
        if name in ("from", "to"):
            return rng.choice(DATES) if rng.random() < 0.8 else self.text()
        if name in ("page", "size"):
            return rng.choice(NUMBERS) if rng.random() < 0.8 else str(rng.randint(-(10**9), 10**9))
        if name == "sort":
            return rng.choice(SORTS)
        if name in ("year", "month"):
            return rng.choice(["2023", "2023-05", "2023-13", "0", "-1", "99999"] + [self.text()])
        return rng.choice(["nCa", "Trend", "<b>Bold</b> Agency", ""] + [self.text()])

    def query_string(self) -> str:
        rng = self.rng
        names = rng.sample(PARAMS, rng.randint(1, 6))
        pairs = [f"{name}={encode(self.value(name))}" for name in names]
        if rng.random() < 0.2:
            noise = rng.choice(["_external", "_scheme", "_anchor", "doc_id", "q", "", "page "])
            pairs.append(f"{encode(noise)}={encode(self.value('q'))}")
        return "&".join(pairs)

    def request(self) -> tuple[str, str]:
        """(method, path) of the next request."""
        rng = self.rng
        method = rng.choice(METHODS)
        kind = rng.random()
        if kind < 0.5:
            path = "/api/search?" + self.query_string()
        elif kind < 0.8:
            path = "/?" + self.query_string()
        elif kind < 0.95:
            doc_id = rng.choice(self.ids) if rng.random() < 0.4 else self.text()
            prefix = rng.choice(["/api/documents/", "/doc/"])
            raw = rng.choice(RAW) if rng.random() < 0.1 else doc_id
            path = prefix + encode(raw).replace("%2F", "/") + "?q=" + encode(self.text())
        else:
            path = rng.choice(OTHER_PATHS)
        if len(f"{method} {path} HTTP/1.1") > REQUEST_LINE_LIMIT:
            path = "/api/search?q=" + encode(self.text())
        return method, path


_CODEPOINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c % 7 == 0]
_CODEPOINTS += list(range(0, 0x80)) * 200  # and plenty of ASCII, controls included


def encode(value: str | bytes) -> str:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(data, safe="")


# -- checking answers ----------------------------------------------------------------------------


class PageCheck(HTMLParser):
    """Tags the templates never write, event handlers and javascript: links in a page."""

    def __init__(self, html: str):
        super().__init__()
        self.problems: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag not in PAGE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=>")
            link = "".join(ch for ch in (value or "") if ord(ch) > 0x20).lower()
            if name in ("href", "src", "action") and link.startswith(("javascript:", "data:")):
                self.problems.append(f"<{tag} {name}={value!r}>")


def check(method: str, path: str, response: _harness.Response) -> list[tuple[str, str]]:
    """The problems with one answer, as (kind, detail) pairs."""
    found = []
    text = response.body.decode("utf-8", "replace")
    if response.status >= 500:
        found.append(("server error", f"{response.status}"))
    if "Traceback (most recent call last)" in text or 'File "/' in text:
        found.append(("traceback", text[:200]))
    if response.headers.get("x-content-type-options") != "nosniff" or (
        "default-src 'self'" not in response.headers.get("content-security-policy", "")
    ):
        found.append(("missing header", "CSP or nosniff"))
    kind = response.headers.get("content-type", "")
    is_api = path == "/api" or path.startswith("/api/")
    if method == "HEAD" or (method == "OPTIONS" and response.status == 200):
        return found
    if 300 <= response.status < 400:  # werkzeug's redirect of //a to /a, say
        return found + ([] if "location" in response.headers else [("envelope", "no Location")])
    if is_api:
        found += _check_envelope(response, kind, text)
    elif kind.startswith("text/html"):
        found += [("unsafe page", p) for p in PageCheck(text).problems]
    return found


def _check_envelope(response, kind: str, text: str) -> list[tuple[str, str]]:
    if not kind.startswith("application/json"):
        return [("envelope", f"{response.status} answered {kind!r}")]
    try:
        body = json.loads(text)
    except ValueError:
        return [("envelope", f"{response.status} answered bad JSON")]
    if response.status < 400:
        return (
            []
            if isinstance(body, dict) and (body.get("ok") is True or "openapi" in body)
            else [("envelope", f"{response.status} without ok: true")]
        )
    envelope = isinstance(body, dict) and set(body) == {"ok", "error", "status"}
    if not (envelope and body["ok"] is False and body["status"] == response.status):
        return [("envelope", f"{response.status}: {text[:120]}")]
    if not (isinstance(body["error"], str) and body["error"]):
        return [("envelope", f"{response.status}: empty error")]
    return []


# -- running -------------------------------------------------------------------------------------


class Tally:
    """Counts and the first examples of each kind of failure, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.failures: Counter = Counter()
        self.examples: dict[str, str] = {}
        self.sent = 0
        self.taken = 0  # requests handed to a client, sent or not yet

    def take(self, total: int) -> bool:
        """Whether a client may send one more request."""
        with self.lock:
            self.taken += 1
            return self.taken <= total

    def add(self, method, path, response, problems) -> None:
        with self.lock:
            self.sent += 1
            if response is not None:
                self.statuses[response.status] += 1
            for kind, detail in problems:
                self.failures[kind] += 1
                self.examples.setdefault(kind, f"{method} {path[:150]} -> {detail[:200]}")


def client(port: int, generator: Generator, tally: Tally, stop_at: float, total: int) -> None:
    while time.monotonic() < stop_at and tally.take(total):
        with tally.lock:
            method, path = generator.request()
        try:
            response = _harness.request(port, path, method)
        except Exception as exc:  # a refused or dropped connection is a failure too
            tally.add(method, path, None, [("connection error", repr(exc))])
            continue
        tally.add(method, path, response, check(method, path, response))


def build_index(work: Path) -> tuple[Path, list[str]]:
    """An index of the seeds and two hostile releases; the ids it holds."""
    from searchsvc.indexing import index_paths

    docs = work / "docs"
    shutil.copytree(_harness.SEEDS, docs)
    (docs / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    records = [{"id": "<script>alert(6)</script>", "title": "Zanzibar", "body": "zanzibar x",
                "url": "javascript:alert(7)", "source": "<i>x</i>"}]  # fmt: skip
    (docs / "hostile.jsonl").write_text("\n".join(map(json.dumps, records)), encoding="utf-8")
    report = index_paths(work / "index", [docs], procs=1)
    ids = [p.stem for p in _harness.SEEDS.glob("*.txt")] + ["hostile", records[0]["id"]]
    assert report.total == len(ids) and not report.skipped, report.summary()
    return work / "index", ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=10_000, help="how many to send")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop sending after this")
    parser.add_argument("--seed", type=int, default=1, help="the random seed of the values")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fuzz-api-") as tmp:
        work = Path(tmp)
        index_dir, ids = build_index(work)
        with _harness.serve(index_dir, work, workers=args.workers) as server:
            print(f"fuzz: searchsvc serve (gunicorn, {args.workers} workers) at "
                  f"127.0.0.1:{server.port} over {len(ids)} documents; sending "
                  f"{args.requests:,} requests from {args.clients} clients, seed {args.seed}, "
                  f"at most {args.seconds:.0f} s")  # fmt: skip
            tally, started = Tally(), time.monotonic()
            generator = Generator(args.seed, ids)
            threads = [
                threading.Thread(
                    target=client,
                    args=(server.port, generator, tally, started + args.seconds, args.requests),
                )
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            log_problems = server.log_problems()
            long_line = _over_long_request(server.port)
    return report(args, tally, elapsed, log_problems, long_line)


def _over_long_request(port: int) -> str:
    # Past gunicorn's request-line limit the app is never reached: gunicorn answers itself.
    response = _harness.request(port, "/api/search?q=" + "x" * REQUEST_LINE_LIMIT)
    return f"{response.status} {response.headers.get('content-type', '')}"


def report(args, tally: Tally, elapsed: float, log_problems: list[str], long_line: str) -> int:
    s = tally.statuses
    print(f"sent {tally.sent:,} requests in {elapsed:.1f} s ({tally.sent / elapsed:,.0f} req/s)")
    by_status = ", ".join(f"{code}: {n:,}" for code, n in sorted(s.items()))
    print(f"  answers by status: {by_status}")
    ok = sum(n for c, n in s.items() if c < 400)
    client_errors = sum(n for c, n in s.items() if 400 <= c < 500)
    server_errors = sum(n for c, n in s.items() if c >= 500)
    print(f"  2xx/3xx {ok:,}, 4xx {client_errors:,}, 5xx {server_errors:,}")
    for kind in ("server error", "connection error", "traceback", "envelope", "unsafe page",
                 "missing header"):  # fmt: skip
        print(f"  {kind + 's:':20} {tally.failures[kind]:,}")
    print(f"  server log problems: {len(log_problems)}")
    for line in log_problems[:5]:
        print(f"    {line[:200]}")
    for kind, example in tally.examples.items():
        print(f"  first {kind}: {example}")
    limit = f"a request line over {REQUEST_LINE_LIMIT} bytes"
    print(f"  ({limit} is refused by gunicorn itself, before the app: {long_line})")
    failed = sum(tally.failures.values()) + len(log_problems)
    if tally.sent < args.requests:
        print(f"FAIL: only {tally.sent:,} of {args.requests:,} requests in {args.seconds:.0f} s")
        return 1
    print(f"{'FAIL' if failed else 'OK'}: {tally.sent:,} requests, {server_errors} server errors, "
          f"{failed} failures")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
