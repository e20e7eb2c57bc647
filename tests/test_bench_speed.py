"""The speed benchmark's own parts: the FTS5 peer app, the synthetic corpus, the targets.

bench/speed.py compares searchsvc with a Flask + FTS5 app and grows the corpus to a
million releases; if the peer searched the wrong thing, or the synthetic releases were
copies of one another, its figures would compare nothing. These run the parts on a few
files; the figures themselves come from full runs, never from the test suite.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench"

RELEASES = {
    "a/2023-01/2023-01-05-solar.md": (
        "---\ndate: '2023-01-05'\ntags: fact-sheets\ntitle: Solar panels for schools\n---\n\n"
        "The plan puts solar panels on schools. It starts in May! Schools apply online.\n\n"
        "Funding comes from the grant. The grant ends in 2025."
    ),
    "a/2024-03/2024-03-02-wind.md": (
        "---\ndate: '2024-03-02'\ntags: [statements-releases]\ntitle: Wind farms at sea\n---\n\n"
        "Wind farms at sea will power homes. Solar power helps too."
    ),
    "b/2024-06/broken.md": "---\ntitle: [unclosed\n---\n\nSolar text under broken YAML.",
    "b/plain.txt": "A plain note about panels and wind, with no front matter at all.",
}


@pytest.fixture(scope="module")
def mods():
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))  # last: bench/http.py must not shadow the standard library
    names = ("fts5_app", "_corpus", "_serving", "_targets")
    return {name: importlib.import_module(name) for name in names}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    for rel, text in RELEASES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def peer_db(mods, corpus, tmp_path_factory):
    db = tmp_path_factory.mktemp("peer") / "peer.db"
    report = mods["fts5_app"].build([corpus], db)
    assert (report.releases, report.skipped) == (4, 0)
    return db


def _search(mods, db, *args, **kwargs):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return mods["fts5_app"].search(conn, *args, **kwargs)


@pytest.mark.parametrize(
    ("q", "kwargs", "titles"),
    [
        ("solar panels", {}, {"Solar panels for schools"}),  # all words required
        (
            "solar panels",
            {"operator": "OR"},
            {"Solar panels for schools", "Wind farms at sea", "broken", "plain"},
        ),
        ('"farms at sea"', {}, {"Wind farms at sea"}),
        ('"sea farms"', {}, set()),  # a phrase keeps its order
        ("solar", {"date_from": "2024-01-01"}, {"Wind farms at sea"}),
        ("solar", {"category": "fact-sheets"}, {"Solar panels for schools"}),
        ("broken yaml", {}, {"broken"}),  # unreadable front matter: the file's name
        ("'; DROP TABLE meta; --", {}, set()),  # every word quoted: no FTS5 syntax
    ],
)
def test_the_peer_searches_as_an_fts5_app_would(mods, peer_db, q, kwargs, titles):
    found = _search(mods, peer_db, q, **kwargs)
    assert {h["title"] for h in found["hits"]} == titles
    assert found["total"] == len(titles) == sum(y["count"] for y in found["years"])


def test_the_peer_keeps_dates_years_and_snippets(mods, peer_db):
    found = _search(mods, peer_db, "grant")
    (hit,) = found["hits"]
    assert hit["date"] == "2023-01-05"
    assert "<mark>grant</mark>" in hit["snippet"]
    assert found["years"] == [{"value": "2023", "count": 1}]


def test_the_peer_app_answers_json_envelopes(mods, peer_db):
    client = mods["fts5_app"].create_app(str(peer_db)).test_client()
    ok = client.get("/api/search", query_string={"q": "wind", "from": "2024-01-01"}).get_json()
    assert ok["ok"] is True and ok["total"] == 1
    missing = client.get("/api/search?q=%20")
    assert missing.status_code == 400 and missing.get_json()["ok"] is False
    assert client.get("/api/health").get_json() == {"ok": True, "documents": 4}


def test_synthetic_releases_differ_and_keep_their_sentences(mods, corpus):
    c = mods["_corpus"]
    sources = c.read_sources(corpus)
    made = [c.synthetic_release(sources, i, seed=3) for i in range(8)]
    assert made == [c.synthetic_release(sources, i, seed=3) for i in range(8)]  # seeded
    assert len({text for _, text in made}) == len({rel for rel, _ in made}) == 8
    for i, (_, text) in enumerate(made):
        meta, body = c._split(text)
        assert meta["source_url"].endswith(f"{i:08d}")
        assert c.SYNTHETIC_FIRST_DAY.isoformat() <= meta["date"] <= "2026-08-21"
        _, source_body = sources[i % len(sources)]
        assert sorted(_sentences(c, body)) == sorted(_sentences(c, source_body))


def _sentences(c, body: str) -> list[str]:
    return [s for p in c._PARAGRAPH.split(body.strip()) for s in c._SENTENCE_END.split(p.strip())]


def test_a_synthetic_corpus_is_written_once_then_reused(mods, corpus, tmp_path):
    c = mods["_corpus"]
    target = tmp_path / "synthetic"
    first = c.write_synthetic(corpus, target, 12, seed=5)
    files = sorted(target.rglob("*.md"))
    assert not first["reused"] and len(files) == 12
    assert json.loads((target / c.SYNTHETIC_MARK).read_text())["releases"] == 12
    assert c.write_synthetic(corpus, target, 12, seed=5)["reused"]
    assert not c.write_synthetic(corpus, target, 12, seed=6)["reused"]  # another seed


def test_a_sample_spreads_over_the_corpus(mods, corpus, tmp_path):
    c = mods["_corpus"]
    picked = c.sample_corpus(corpus, tmp_path / "sample", 2)
    assert len(c.source_files(picked)) == 2
    assert len(c.source_files(c.sample_corpus(corpus, tmp_path / "all", 99))) == 4


def test_a_servers_workers_memory_is_read_from_proc(mods):
    s = mods["_serving"]
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; subprocess.run(['sleep', '5'])"]
    )
    try:
        for _ in range(100):
            workers = s.worker_memory_mb(s.Server(parent, 0))
            if workers:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert len(workers) == 1 and workers[0]["peak_mb"] > 0
    finally:
        parent.kill()
        parent.wait()


def _figures(http_ratio_ours: float, errors: int) -> dict:
    level = {"req_per_s": http_ratio_ours, "errors": errors}
    side = {"levels": [level], "cold_start": {"first_query_s": 0.5, "launch_to_answer_s": 1.0}}
    peer = {"levels": [{"req_per_s": 1.0, "errors": 0}], "cold_start": side["cold_start"]}
    timing = {"p50": 10.0, "p95": 20.0}
    return {
        "indexing": {
            "procs": 2,
            "full_build": {"docs_per_second": 1200},
            "noop_reindex": {"docs_per_second": 19_000},
        },
        "fts5_build": {"releases_per_second": 1500},
        "queries": {"words": 3},
        "searchsvc": {"cold": timing, "warm": timing},
        "fts5_and": {"cold": timing, "warm": {"p50": 9.0, "p95": 20.0}},
        "http": {"searchsvc": side, "fts5": peer},
    }


@pytest.mark.parametrize(
    ("ours", "errors", "mark"), [(1.5, 0, "pass"), (1.3, 0, "MISS"), (1.5, 1, "MISS")]
)
def test_each_target_is_marked_against_the_issues_threshold(mods, ours, errors, mark):
    rows = {t["measure"]: t["mark"] for t in mods["_targets"].targets(_figures(ours, errors))}
    assert rows["full build, 2 processes, releases/s"] == "pass"  # 1,200 >= 1,000
    assert rows["full build against the FTS5 app's, end to end"] == "MISS"  # 0.8x
    assert rows["no-op reindex, releases/s"] == "MISS"  # 19,000 < 20,000
    assert rows["query p50, cold, 3 distinct, against FTS5 all words"] == "pass"  # 1x
    assert rows["query p50, warm, 3 distinct, against FTS5 all words"] == "MISS"  # 1.11x
    assert rows["HTTP at 1x, distinct queries, c=16, req/s against the FTS5 app"] == mark
    assert rows["first query after serve starts, at 1x"] == "pass"
    assert rows["query p95 at 10x against 1x"] == "not run"


@pytest.mark.slow
def test_speed_py_runs_end_to_end_on_a_small_corpus(tmp_path):
    """Every part of bench/speed.py, on the test documents: the harness still fits the
    engine it measures (its figures here mean nothing; a quiet full run gives them)."""
    corpus = Path(__file__).parent / "data" / "docs"
    cmd = [sys.executable, str(BENCH / "speed.py"), "--corpus", str(corpus), "--json"]
    cmd += ["--growth", "2", "--http-duration", "1", "--queries", "20"]
    cmd += ["--million", str(tmp_path / "synthetic"), "--million-releases", "30"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    n = report["documents"]
    assert n == report["fts5_build"]["releases"] > 0  # the same releases on both sides
    assert report["growth"]["documents"] == 2 * n
    assert report["million"]["build"]["total"] == 30
    for h in (report["http"], report["growth"]["http"]):
        assert h["searchsvc"]["levels"][0]["errors"] == h["fts5"]["levels"][0]["errors"] == 0
        assert h["searchsvc"]["worker_peak_rss_mb"] > 0
    marks = {t["mark"] for t in report["targets"]}
    assert marks <= {"pass", "MISS", "stated"}  # every target measured
    assert len(report["targets"]) == 17
