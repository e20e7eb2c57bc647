"""The peer: a Flask + SQLite FTS5 search app, as a small newsroom would write one.

    Markdown files --read, front matter by PyYAML--> rows --one transaction--> FTS5 table
      fts(title, body) and meta(id, path, date, year, category), then FTS5's 'optimize'
    GET /api/search?q=&from=&to=&category= --all words required ("a phrase" when quoted)-->
      top 10 by bm25() with snippet(), per-year counts by GROUP BY, as JSON
    served by gunicorn's sync workers (one request at a time each)

The build is end to end, from the same files searchsvc indexes: reading each file and
parsing its front matter is part of the time, as it is of ours. The body is kept as the
file has it (Markdown and all): such an app does not convert it. PyYAML's C loader is
used where PyYAML has it, as searchsvc's reader does, so the parsing costs the same.

    python bench/fts5_app.py build FOLDER DB          # prints releases and seconds
    python bench/fts5_app.py serve DB --port P [--workers 2]
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
import os
import re
import sqlite3
import time
from dataclasses import dataclass

import yaml
from _common import FTS5_TOKENIZE, fts5_connect, fts5_match, fts5_words

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FENCE = re.compile(r"^---[ \t]*$", re.M)
SUFFIXES = (".md", ".markdown", ".txt")
PAGE = 10


# -- the build ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildReport:
    """What one build of the peer did."""

    releases: int
    skipped: int
    seconds: float

    @property
    def releases_per_second(self) -> float:
        return self.releases / self.seconds if self.seconds > 0 else 0.0

    def figures(self) -> dict:
        """The report as JSON-ready figures."""
        return {
            "releases": self.releases,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "releases_per_second": round(self.releases_per_second),
        }


def markdown_files(folders: list[Path]) -> list[Path]:
    """Every Markdown or text file under the folders, in a stable order."""
    found = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            found += [Path(root, f) for f in sorted(files) if f.endswith(SUFFIXES)]
    return found


def parse(text: str) -> tuple[dict, str]:
    """The front matter (a mapping, {} if none or unreadable) and the body."""
    if not text.startswith("---"):
        return {}, text
    first, _, rest = text.partition("\n")
    end = _FENCE.search(rest)
    if first.rstrip() != "---" or end is None:
        return {}, text
    try:
        meta = yaml.load(rest[: end.start()], Loader=_LOADER)
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), rest[end.end() :]


def row(path: Path, root: Path) -> tuple | None:
    """(path, title, body, date, year, category) of one file, or None if unreadable."""
    try:
        meta, body = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    day = str(meta.get("date") or "")[:10] or None
    tags = meta.get("tags") or meta.get("category") or ""
    category = tags[0] if isinstance(tags, list) and tags else tags
    title = str(meta.get("title") or path.stem)
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return rel, title, body.strip(), day, day and day[:4], str(category or "")


def build(folders: list[Path], db_path: Path) -> BuildReport:
    """A new database at db_path from every file under the folders, end to end."""
    started = time.perf_counter()
    db_path.unlink(missing_ok=True)
    conn = fts5_connect(str(db_path))
    conn.executescript(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        f"CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='{FTS5_TOKENIZE}');"
        "CREATE TABLE meta(id INTEGER PRIMARY KEY, path TEXT, date TEXT, year TEXT,"
        " category TEXT);"
    )
    releases = skipped = 0
    with conn:
        for folder in folders:
            for path in markdown_files([folder]):
                values = row(path, folder)
                if values is None:
                    skipped += 1
                    continue
                releases += 1
                rel, title, body, day, year, category = values
                conn.execute(
                    "INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)", (releases, title, body)
                )
                conn.execute(
                    "INSERT INTO meta VALUES (?, ?, ?, ?, ?)",
                    (releases, rel, day, year, category),
                )
    conn.executescript(
        "INSERT INTO fts(fts) VALUES ('optimize');"
        "CREATE INDEX meta_date ON meta(date); CREATE INDEX meta_category ON meta(category);"
    )
    conn.close()
    return BuildReport(releases, skipped, time.perf_counter() - started)


# -- a search -------------------------------------------------------------------------------


def match_expression(q: str, operator: str = "AND") -> str:
    """FTS5 MATCH text for a query: a quoted query is a phrase, else its words joined."""
    stripped = q.strip()
    if len(stripped) > 1 and stripped.startswith('"') and stripped.endswith('"'):
        words = fts5_words(stripped)
        return '"' + " ".join(words) + '"' if words else ""
    return fts5_match(q, operator)


def search(
    conn: sqlite3.Connection,
    q: str,
    date_from: str | None = None,
    date_to: str | None = None,
    category: str | None = None,
    operator: str = "AND",
) -> dict:
    """Top 10 by bm25() with snippets, the total and per-year counts, as the API answers."""
    match = match_expression(q, operator)
    if not match:
        return {"total": 0, "hits": [], "years": []}
    clauses, args = ["fts MATCH ?"], [match]
    for clause, value in (
        ("m.date >= ?", date_from),
        ("m.date <= ?", date_to),
        ("m.category = ?", category),
    ):
        if value:
            clauses.append(clause)
            args.append(value)
    joined = f"FROM fts JOIN meta m ON m.id = fts.rowid WHERE {' AND '.join(clauses)}"
    hits = conn.execute(
        "SELECT m.path, fts.title, m.date, snippet(fts, 1, '<mark>', '</mark>', '…', 32),"
        f" bm25(fts) {joined} ORDER BY bm25(fts) LIMIT {PAGE}",
        args,
    ).fetchall()
    years = conn.execute(
        f"SELECT m.year, count(*) {joined} GROUP BY m.year ORDER BY m.year", args
    ).fetchall()
    return {
        "total": sum(count for _, count in years),
        "hits": [
            {"id": p, "title": t, "date": d, "snippet": s, "score": -b} for p, t, d, s, b in hits
        ],
        "years": [{"value": y, "count": c} for y, c in years],
    }


# -- the web app ------------------------------------------------------------------------------


def create_app(db_path: str):
    """The Flask app: GET /api/search and GET /api/health, JSON envelopes."""
    from flask import Flask, g, jsonify, request

    app = Flask("fts5_app")

    def get_db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        return g.db

    @app.teardown_appcontext
    def close_db(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/api/search")
    def api_search():
        args = request.args
        q = args.get("q", "")
        if not q.strip():
            return jsonify(ok=False, error="q is required", status=400), 400
        try:
            found = search(get_db(), q, args.get("from"), args.get("to"), args.get("category"))
        except sqlite3.OperationalError as exc:
            return jsonify(ok=False, error=str(exc), status=400), 400
        return jsonify(ok=True, query=q, **found)

    @app.get("/api/health")
    def api_health():
        (n,) = get_db().execute("SELECT count(*) FROM meta").fetchone()
        return jsonify(ok=True, documents=n)

    return app


def serve(db_path: str, host: str, port: int, workers: int) -> None:
    """gunicorn's sync workers over create_app(db_path), until SIGTERM."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "sync",
                "errorlog": "-",
                "proc_name": "fts5-peer",
                "control_socket_disable": True,
            }.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            return create_app(db_path)

    Server().run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build DB from the files under FOLDER")
    b.add_argument("folders", nargs="+", type=Path)
    b.add_argument("db", type=Path)
    s = sub.add_parser("serve", help="serve DB with gunicorn's sync workers")
    s.add_argument("db")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if args.command == "build":
        report = build(args.folders, args.db)
        print(
            f"{report.releases:,} releases ({report.skipped} skipped) in {report.seconds:.1f} s, "
            f"{report.releases_per_second:,.0f} releases/s"
        )
    else:
        if not Path(args.db).is_file():
            raise SystemExit(f"No database at {args.db}. Run: python bench/fts5_app.py build")
        serve(args.db, args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
