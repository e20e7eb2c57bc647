"""The OpenSearch backend, for real: one behavioural table on both backends, faults, serve.

The cluster is osmem-server (an OpenSearch-compatible server in one wheel, from the test
extra), started once for the module; with SEARCHSVC_TEST_OPENSEARCH_URL set, the same
tests run against that cluster instead (see the README's "Scaling out").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from searchsvc.deadline import Deadline
from searchsvc.searching import (
    BackendUnavailableError,
    Engine,
    SearchError,
    SearchRequest,
)

pytest.importorskip("opensearchpy", reason="opensearch-py is missing (pip install '.[test]')")
from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions  # noqa: E402

HERE = Path(__file__).parent
SEEDS = HERE.parent / "seeds"
REAL_CLUSTER = os.environ.get("SEARCHSVC_TEST_OPENSEARCH_URL", "")


class Cluster:
    """Where the tests' OpenSearch is, and how to stop and start it again (osmem only)."""

    def __init__(self, url: str, server=None):
        self.url, self.server = url, server


@pytest.fixture(scope="module")
def cluster():
    if REAL_CLUSTER:
        yield Cluster(REAL_CLUSTER)
        return
    osmem = pytest.importorskip("osmem_server", reason="osmem-server is missing")
    server = osmem.OsmemServer.start()
    try:
        yield Cluster(server.url, server)
    finally:
        _stop(server)


def _stop(server) -> None:
    """Stop an osmem-server and close its pipes (its own close() leaves stdout open)."""
    server.close()
    for pipe in (server.process.stdin, server.process.stdout):
        if pipe is not None:
            pipe.close()


def _alias(name: str) -> str:
    return f"searchsvc-test-{name}-{os.getpid()}"


@pytest.fixture(scope="module")
def seeds_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("os-seeds")
    shutil.copytree(SEEDS, root / "seeds")
    return root / "seeds"


@pytest.fixture(scope="module")
def backends(cluster, seeds_copy, tmp_path_factory):
    """The two backends over the same five seeds: {"whoosh": Engine, "opensearch": ...}."""
    from searchsvc.indexing import index_paths

    index_dir = tmp_path_factory.mktemp("os-whoosh") / "index"
    index_paths(index_dir, [seeds_copy], procs=1)
    cluster_backend = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("seeds")))
    report = cluster_backend.index([seeds_copy])
    assert (report.added, report.total, report.skipped) == (5, 5, [])
    with Engine(index_dir) as engine:
        yield {"whoosh": engine, "opensearch": cluster_backend}
    cluster_backend.close()


# -- one behavioural table, both backends ------------------------------------------------------

# (request, total it must find). Matching sets, totals and facet counts must agree too.
TABLE = [
    (SearchRequest(q="Turkmenistan"), 5),
    (SearchRequest(q="energy"), 1),
    (SearchRequest(q="consultations"), None),
    (SearchRequest(q='"foreign ministers"'), 1),
    (SearchRequest(q="energy NOT gas"), 1),
    (SearchRequest(q="Turkmenistan AND (gas OR energy)"), None),
    (SearchRequest(q="consult*"), 3),
    (SearchRequest(q="turkmenstan~"), 5),
    (SearchRequest(q="source:trend"), 1),
    (SearchRequest(q="title:meeting"), 1),
    (SearchRequest(q=""), 5),
    (SearchRequest(q="", year="2023"), 3),
    (SearchRequest(q="Turkmenistan", date_from="2023-05", date_to="2023-05"), None),
    (SearchRequest(q="Turkmenistan", date_from="2021"), None),
    (SearchRequest(q="", place="Baku, Azerbaijan"), 1),
    (SearchRequest(q="", source="nca"), 1),  # a facet filter ignores case
    # Any of several values, NOT a value, (none); a facet's own choice leaves its counts.
    (SearchRequest(q="", source=("trend", "nca")), 2),
    (SearchRequest(q="", source=("-trend",)), 4),
    (SearchRequest(q="", place=("(none)",)), 4),
    (SearchRequest(q="Turkmenistan", source=("nca", "-(none)")), 1),
    (SearchRequest(q="", source=("(none)", "report"), place=("-baku, azerbaijan",)), 3),
    (SearchRequest(q="Note: the ministers (met"), 4),  # read as words, with a notice
    (SearchRequest(q="the of and"), None),
    (SearchRequest(q="zzzqqq"), 0),
    # Names spelled many ways (the shipped variant lists): widened, and said so.
    (SearchRequest(q="Ashkhabad"), 2),  # also searched: Ashgabat
    (SearchRequest(q="Ashkhabad", verbatim=True), 0),
    (SearchRequest(q='"Ashkhabad Turkmenistan"'), None),
    (SearchRequest(q="Berdymukhammedov"), 3),  # also searched: Berdimuhamedov
    (SearchRequest(q="Hajiyev"), None),
    (SearchRequest(q="title:Turkmenia"), None),
    (SearchRequest(q="Ashkhabad NOT Berdymukhammedov"), None),
    # Also try: other spellings the index holds, offered (transliteration.py).
    (SearchRequest(q="Bayramow Sharifow"), 0),
    (SearchRequest(q="Meredow"), 1),  # also searched: Meredov
]


@pytest.mark.parametrize("name", ["whoosh", "opensearch"])
def test_more_like_this_on_both_backends(backends, name):
    backend = backends[name]
    ids = {p.stem for p in SEEDS.glob("*.txt")}
    for doc_id in sorted(ids):
        result = backend.similar(doc_id)
        found = [hit.id for hit in result.hits]
        assert found and doc_id not in found and set(found) <= ids, (name, doc_id, found)
        scores = [hit.score for hit in result.hits]
        assert scores == sorted(scores, reverse=True)
    assert backend.similar("no/such/id") is None


def _facets(result) -> dict:
    return {name: [(f.value, f.count) for f in values] for name, values in result.facets.items()}


def _marked(result) -> dict[str, set[str]]:
    return {h.id: set(re.findall(r"<mark>(.*?)</mark>", h.snippet.lower())) for h in result.hits}


@pytest.mark.parametrize(("request_", "total"), TABLE, ids=[repr(r) for r, _ in TABLE])
def test_both_backends_answer_alike(backends, request_, total):
    ours = backends["whoosh"].search(request_)
    theirs = backends["opensearch"].search(request_)
    if total is not None:
        assert ours.total == total
    assert theirs.total == ours.total
    assert {h.id for h in theirs.hits} == {h.id for h in ours.hits}
    assert _facets(theirs) == _facets(ours)
    assert _marked(theirs) == _marked(ours)
    assert theirs.notice == ours.notice
    assert theirs.range == ours.range
    assert theirs.timeline == ours.timeline
    assert theirs.also_searched == ours.also_searched
    assert theirs.also_try == ours.also_try
    assert theirs.stories == ours.stories
    assert [h.also for h in theirs.hits] == [() for _ in theirs.hits]  # the seeds: no copies


def test_the_table_widens_names(backends):
    """The variants rows are not vacuous: the embedded engine widens and offers them."""
    engine = backends["whoosh"]
    assert engine.search(SearchRequest(q="Ashkhabad")).also_searched == ("Ashgabat",)
    assert engine.search(SearchRequest(q="Berdymukhammedov")).also_searched == ("Berdimuhamedov",)
    assert engine.search(SearchRequest(q="Meredow")).also_searched
    offered = engine.search(SearchRequest(q="Bayramow Sharifow")).also_try
    assert offered == ("Bayramov Sharifow", "Bayramow Sharifov")


@pytest.mark.parametrize("name", ["whoosh", "opensearch"])
def test_the_document_page_marks_every_spelling_searched(backends, name):
    terms = backends[name].query_terms("Ashkhabad")
    assert "ashgabat" in terms.stems | terms.exact


@pytest.mark.parametrize(
    "req",
    [
        SearchRequest(q="", year=("2023",), date_from="2024"),  # a year the dates leave out
        SearchRequest(q="C++"),  # nothing the index holds
        SearchRequest(q="", date_from="2024", date_to="2023"),
        SearchRequest(q="", year="abc"),
    ],
)
def test_both_backends_say_the_same_of_a_request(backends, req):
    said = {name: backend.search(req) for name, backend in backends.items()}
    assert said["whoosh"].notice and said["opensearch"].notice == said["whoosh"].notice
    assert said["opensearch"].hits == said["whoosh"].hits == []


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_both_backends_sort_and_page_alike(backends, sort):
    pages = {
        name: [
            [h.id for h in backend.search(SearchRequest(q="", sort=sort, size=2, page=p)).hits]
            for p in (1, 2, 3)
        ]
        for name, backend in backends.items()
    }
    assert pages["opensearch"] == pages["whoosh"]
    assert sum(len(p) for p in pages["whoosh"]) == 5


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(q="energy", date_from="not a date"),
        SearchRequest(q="Note: (the ministers", strict=True),
        SearchRequest(q="energy", sort="sideways"),
    ],
)
def test_both_backends_refuse_alike(backends, request_):
    messages = []
    for backend in backends.values():
        with pytest.raises(SearchError) as caught:
            backend.search(request_)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_documents_stats_and_export_agree(backends):
    ours, theirs = backends["whoosh"], backends["opensearch"]
    for hit in ours.search(SearchRequest(q="", size=5)).hits:
        a, b = ours.document(hit.id), theirs.document(hit.id)
        assert b is not None and (a.id, a.title, a.date, a.body) == (b.id, b.title, b.date, b.body)
    assert theirs.document("no-such-id") is None
    s1, s2 = ours.stats(), theirs.stats()
    assert (s1.documents, s1.undated, s1.first_date, s1.last_date, s1.per_year) == (
        s2.documents,
        s2.undated,
        s2.first_date,
        s2.last_date,
        s2.per_year,
    )
    e1 = ours.export(SearchRequest(q="", sort="oldest"), limit=3)
    e2 = theirs.export(SearchRequest(q="", sort="oldest"), limit=3)
    assert (e2.total, e2.truncated) == (e1.total, e1.truncated) == (5, True)
    assert [r.id for r in e2.rows] == [r.id for r in e1.rows]
    e1, e2 = (
        b.export(SearchRequest(q="Ashkhabad", sort="oldest"), limit=9) for b in (ours, theirs)
    )
    assert [r.id for r in e2.rows] == [r.id for r in e1.rows] and e1.total == 2  # widened
    assert theirs.verify().problems == []


# -- indexing: the incremental rule, the alias swap ---------------------------------------------


def test_incremental_runs_skip_update_and_delete_by_hash(cluster, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    backend = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("incr")))
    assert backend.index([docs]).added == 5
    again = backend.index([docs])
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 5, 0)
    first = sorted(docs.iterdir())[0]
    first.write_text(first.read_text() + "\nA new closing line about zanzibar.\n")
    sorted(docs.iterdir())[1].unlink()
    changed = backend.index([docs])
    assert (changed.updated, changed.deleted, changed.total) == (1, 1, 4)
    assert backend.search(SearchRequest(q="zanzibar")).total == 1
    before = backend.freshness().generation
    rebuilt = backend.index([docs], rebuild=True)
    assert rebuilt.total == 4 and backend.freshness().generation != before
    assert backend.search(SearchRequest(q="zanzibar")).total == 1


def test_an_emptied_folder_deletes_nothing_without_confirmation(cluster, tmp_path):
    from searchsvc.searching import DeleteRefusedError

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    backend = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("guard")))
    backend.index([docs])
    for path in docs.iterdir():
        path.unlink()
    with pytest.raises(DeleteRefusedError):
        backend.index([docs])
    assert backend.search(SearchRequest(q="")).total == 5
    extra = tmp_path / "extra"  # a second folder watched, with a new release
    extra.mkdir()
    shutil.copy(SEEDS / next(iter(sorted(p.name for p in SEEDS.iterdir()))), extra / "x.txt")
    held = backend.index([docs, extra], hold_deletes=True)  # a watch's run: the rest written
    assert (held.added, held.deleted, held.held) == (1, 0, 5)
    assert backend.search(SearchRequest(q="")).total == 6


# -- faults: a node that is down, or slow ---------------------------------------------------------


def _silent_server():
    """A port that accepts connections and never answers: a node that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def test_a_slow_node_is_a_503_within_the_deadline():
    listener, held = _silent_server()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    backend = OpenSearchBackend(OpenSearchOptions(url=url, index="slow"))
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="did not answer"):
        backend.search(SearchRequest(q="energy"), Deadline(0.5))
    assert time.monotonic() - started < 2.0
    listener.close()
    for conn in held:
        conn.close()


@pytest.mark.skipif(bool(REAL_CLUSTER), reason="stops and restarts the test's own osmem-server")
def test_a_node_that_goes_down_gives_503s_and_the_service_recovers(seeds_copy, tmp_path):
    osmem = pytest.importorskip("osmem_server", reason="osmem-server is missing")
    from searchsvc.web import create_app

    server = osmem.OsmemServer.start()
    port = server.url.rsplit(":", 1)[1]
    settings = {
        "TESTING": True,
        "INDEX_DIR": str(tmp_path / "unused"),
        "BACKEND": "opensearch",
        "OPENSEARCH_URL": server.url,
        "OPENSEARCH_INDEX": "down",
        "REQUEST_TIMEOUT": 2.0,
    }
    client = create_app(settings).test_client()
    OpenSearchBackend(OpenSearchOptions(url=server.url, index="down")).index([seeds_copy])
    assert client.get("/api/search?q=Turkmenistan").get_json()["total"] == 5
    server.process.kill()
    _stop(server)
    started = time.monotonic()
    down = client.get("/api/search?q=Turkmenistan")
    assert down.status_code == 503 and time.monotonic() - started < 3.0
    body = down.get_json()
    assert body["ok"] is False and "did not answer" in body["error"]
    assert down.headers["Retry-After"] == "5"
    assert client.get("/?q=Turkmenistan").status_code == 503
    # Back on the same address (osmem keeps nothing: the index is built again).
    again = osmem.OsmemServer.start(addr=f"127.0.0.1:{port}")
    try:
        OpenSearchBackend(OpenSearchOptions(url=again.url, index="down")).index([seeds_copy])
        assert client.get("/api/search?q=Turkmenistan").get_json()["total"] == 5
    finally:
        _stop(again)


# -- the product over OpenSearch: CLI, serve, the page in Chromium --------------------------------


def _env(cluster, alias: str) -> dict[str, str]:
    return {
        **os.environ,
        "SEARCHSVC_BACKEND": "opensearch",
        "SEARCHSVC_OPENSEARCH_URL": cluster.url,
        "SEARCHSVC_OPENSEARCH_INDEX": alias,
    }


@pytest.mark.slow
def test_cli_index_search_and_stats_over_opensearch(cluster, seeds_copy, tmp_path):
    env = _env(cluster, _alias("cli"))
    run = [sys.executable, "-m", "searchsvc"]
    missing = subprocess.run([*run, "search", "energy"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == (
        f"Error: No OpenSearch index {_alias('cli')!r} at {cluster.url} "
        "(SEARCHSVC_OPENSEARCH_INDEX, SEARCHSVC_OPENSEARCH_URL). "
        "Run: SEARCHSVC_BACKEND=opensearch searchsvc index [PATH ...]\n"
    )
    done = subprocess.run([*run, "index", str(seeds_copy)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "added 5" in done.stdout and not (tmp_path / "index").exists()
    done = subprocess.run(
        [*run, "search", "Turkmenistan", "--json"], env=env, capture_output=True, text=True
    )
    assert json.loads(done.stdout)["total"] == 5
    done = subprocess.run([*run, "stats"], env=env, capture_output=True, text=True)
    assert "documents: 5 (0 undated)" in done.stdout


@pytest.mark.slow
@pytest.mark.browser
def test_the_search_page_over_opensearch_in_chromium(cluster, seeds_copy, live_server, tmp_path):
    from test_browser import ARGS, CHROMIUM, DESKTOP

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing")
    env = _env(cluster, _alias("serve"))
    subprocess.run(
        [sys.executable, "-m", "searchsvc", "index", str(seeds_copy)], env=env, check=True
    )
    server = live_server(tmp_path / "never-built", env={k: env[k] for k in env if "SEARCHSVC" in k})
    with urllib.request.urlopen(server.base + "/api/search?q=Turkmenistan") as answer:
        assert json.load(answer)["total"] == 5
    assert not (tmp_path / "never-built").exists()  # nothing was built from seeds locally
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP)
            page.goto(server.base + "/")
            page.get_by_label("Search press releases").fill("foreign ministers")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(lambda url: "q=foreign" in url)
            results = page.locator("li.result")
            assert results.count() >= 1
            assert page.locator("li.result mark").count() >= 1
            results.first.locator("h2 a").click()
            page.wait_for_url(lambda url: "/doc/" in url)
            assert page.locator("h1.document-title").inner_text()
            # A name spelled another way: widened over the cluster, said, every spelling marked.
            page.goto(server.base + "/?q=Ashkhabad")
            assert (
                page.locator("p.also-searched").inner_text().startswith("also searched: Ashgabat")
            )
            assert page.locator("li.result").count() == 2
            assert "Ashgabat" in page.locator("li.result mark").all_inner_texts()
            page.goto(server.base + "/?q=Ashkhabad&verbatim=true")
            assert page.locator("li.result").count() == 0
        finally:
            browser.close()


@pytest.mark.parametrize(
    ("request_", "name", "contains"),
    [
        (SearchRequest(q=""), "source", ""),
        (SearchRequest(q="", source=("trend",)), "source", "N"),
        (SearchRequest(q="Turkmenistan"), "place", "baku"),
        (SearchRequest(q=""), "year", "202"),
    ],
)
def test_both_backends_list_a_facets_values_alike(backends, request_, name, contains):
    ours, theirs = (
        backends[k].facet_values(request_, name, contains=contains, limit=3)
        for k in ("whoosh", "opensearch")
    )
    assert ours.total == theirs.total > 0
    assert ours.values == theirs.values


# -- syndicated copies: one story, on both backends ---------------------------------------------


def _copies_corpus(root: Path) -> Path:
    """test_duplicates' corpus: one release under two paths and re-posted with a header and
    footer (one story of three), and another release with the same boilerplate."""
    from test_duplicates import FOOTER, GRAIN, HEADER, SOLAR, ministry, release

    for folder in ("press", "archive", "wire"):
        (root / folder).mkdir(parents=True)
    grain = ministry("Winter wheat harvest completed", "2024-06-13", GRAIN)
    (root / "press" / "grain.md").write_text(grain, encoding="utf-8")
    (root / "archive" / "grain.md").write_text(grain, encoding="utf-8")
    wire = release("Turkmenistan completes wheat harvest", "2024-06-14", "Trend", "")
    wire = wire.replace("\n\n\n", f"\n\n{HEADER}{GRAIN}\n\n{FOOTER}\n")
    (root / "wire" / "grain.md").write_text(wire, encoding="utf-8")
    solar = ministry("Solar station opens in the south", "2024-06-11", SOLAR)
    (root / "press" / "solar.md").write_text(solar, encoding="utf-8")
    return root


@pytest.fixture
def copies(cluster, tmp_path):
    """Both backends over the copies corpus, and the folder (to change it)."""
    from searchsvc.indexing import index_paths

    corpus = _copies_corpus(tmp_path / "docs")
    index_paths(tmp_path / "index", [corpus], procs=1)
    alias = _alias(f"copies-{tmp_path.name}")
    theirs = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=alias))
    theirs.index([corpus])
    with Engine(tmp_path / "index", check_interval=0) as ours:
        yield {"whoosh": ours, "opensearch": theirs}, corpus
    theirs.close()


def _groups(result) -> set[frozenset[str]]:
    """The stories listed: each hit with the copies it also stands for."""
    return {frozenset({h.id, *(c.id for c in h.also)}) for h in result.hits}


GROUPING = [
    SearchRequest(q="wheat harvest"),
    SearchRequest(q="ministry"),  # in the boilerplate of both ministry releases
    SearchRequest(q="wheat harvest", group=False),
    SearchRequest(q="", sort="newest"),
    SearchRequest(q="", sort="oldest", size=1, page=2),
    SearchRequest(q="", source=("trend",)),  # one copy of the story matches: listed alone
]


def _compare_grouping(backends) -> None:
    ours, theirs = backends["whoosh"], backends["opensearch"]
    for request in GROUPING:
        a, b = ours.search(request), theirs.search(request)
        assert (b.total, b.stories, b.pages) == (a.total, a.stories, a.pages), request
        assert _groups(b) == _groups(a), request
        if request.sort != "relevance" or not request.q:  # by date: the same stories in order
            # (which member of a story stands for it, among copies of one date, may differ)
            listed = [{h.id, *(c.id for c in h.also)} for h in a.hits]
            assert [{h.id, *(c.id for c in h.also)} for h in b.hits] == listed, request
    for hit in ours.search(SearchRequest(q="", group=False, size=20)).hits:
        assert theirs.duplicates(hit.id) == ours.duplicates(hit.id), hit.id


def test_both_backends_group_copies_alike(copies):
    backends, _ = copies
    _compare_grouping(backends)
    result = backends["opensearch"].search(SearchRequest(q="wheat harvest"))
    assert (result.total, result.stories, len(result.hits)) == (3, 1, 1)  # not vacuous
    also = result.hits[0].also
    assert len(also) == 2 and all(c.title and c.date for c in also)
    assert backends["opensearch"].duplicates("press/solar") == []
    # More like this leaves the document's own story out on both.
    for backend in backends.values():
        found = backend.similar("press/grain")
        assert not {h.id for h in found.hits} & {"archive/grain", "wire/grain"}


def test_copies_added_changed_and_removed_regroup_on_both_backends(copies):
    backends, corpus = copies
    grain = corpus / "archive" / "grain.md"
    text = grain.read_text(encoding="utf-8")
    steps = [
        lambda: grain.unlink(),  # a copy removed: a story of two
        lambda: grain.write_text(text, encoding="utf-8"),  # back: three again
        lambda: (corpus / "press" / "grain.md").write_text(  # the best member changed away
            text.replace("winter wheat", "spring barley").replace("grain", "barley")[:900],
            encoding="utf-8",
        ),
    ]
    seen = []
    for step in steps:
        step()
        for backend in backends.values():
            backend.index([corpus], allow_delete=True)
        _compare_grouping(backends)
        seen.append(backends["opensearch"].search(SearchRequest(q="")).stories)
    assert seen == [2, 2, 3]


# -- entities follow the lists, as on the embedded engine ----------------------------------------


def test_a_changed_people_list_is_re_derived_on_the_next_run_without_a_rebuild(cluster, tmp_path):
    import yaml

    from searchsvc.entities import PEOPLE_FILE

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    people = tmp_path / "people.yaml"
    shutil.copy(PEOPLE_FILE, people)
    lists = {"people_file": str(people)}
    backend = OpenSearchBackend(OpenSearchOptions(url=cluster.url, index=_alias("lists")))
    assert backend.index([docs], **lists).added == 5
    doc = "002_77df0451d7f08fe1"
    assert backend.document(doc).person == ("Serdar Berdimuhamedov", "Vladimir Putin")
    generation = backend.freshness().generation

    changed = yaml.safe_load(people.read_text(encoding="utf-8"))
    changed["V. V. Putin"] = changed.pop("Vladimir Putin") + ["Vladimir Putin"]
    people.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    report = backend.index([docs], **lists)
    assert (report.added, report.updated, report.unchanged, report.rederived) == (0, 0, 5, 1)
    assert backend.document(doc).person == ("Serdar Berdimuhamedov", "V. V. Putin")
    assert backend.freshness().generation == generation  # no rebuild
    assert backend.search(SearchRequest(q="", person=("V. V. Putin",))).total == 1
    assert backend.search(SearchRequest(q="", person=("Vladimir Putin",))).total == 0
    assert backend.index([docs], **lists).rederived == 0  # once


# -- bulk writes: retried on 429 and 503 ----------------------------------------------------------


class FaultyProxy:
    """An HTTP proxy in front of the cluster that answers some bulk requests itself: the
    whole request with a 503, or 200 with every item refused (429 or 503)."""

    def __init__(self, upstream: str, faults: list[int]):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.faults = list(faults)  # for each bulk request in turn: 503, 429 (items) or 0
        self.bulks = 0
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.path.split("?")[0].endswith("/_bulk"):
                    proxy.bulks += 1
                    fault = proxy.faults.pop(0) if proxy.faults else 0
                    if fault == 503:
                        return self._answer(503, {"error": "unavailable", "status": 503})
                    if fault:
                        return self._answer(200, _refused(body or b"", fault))
                import http.client

                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                conn.request(self.command, self.path, body, headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _refused(body: bytes, status: int) -> dict:
    """A bulk answer refusing every operation of body with status."""
    items, lines = [], iter(body.decode().splitlines())
    for line in lines:
        ((kind, meta),) = json.loads(line).items()
        if kind in ("index", "create", "update"):
            next(lines)
        error = {"type": "es_rejected_execution_exception", "reason": "queue full"}
        items.append({kind: {"_id": meta["_id"], "status": status, "error": error}})
    return {"took": 1, "errors": True, "items": items}


@pytest.fixture
def quick_backoff(monkeypatch):
    import searchsvc.opensearch.bulk as bulk

    monkeypatch.setattr(bulk, "BACKOFF", 0.05)


def test_bulk_writes_are_retried_on_503_and_on_items_refused_with_429_or_503(
    cluster, seeds_copy, quick_backoff
):
    proxy = FaultyProxy(cluster.url, [503, 503, 429, 503, 0])
    try:
        backend = OpenSearchBackend(OpenSearchOptions(url=proxy.url, index=_alias("retry")))
        report = backend.index([seeds_copy])
        assert (report.added, report.total, report.skipped) == (5, 5, [])
        assert proxy.bulks == 5 and not proxy.faults  # four refused, the fifth taken
        assert backend.search(SearchRequest(q="Turkmenistan")).total == 5
    finally:
        proxy.close()


def test_a_cluster_that_keeps_refusing_ends_the_run_within_its_budget(cluster, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    proxy = FaultyProxy(cluster.url, [503] * 1000)
    try:
        options = OpenSearchOptions(url=proxy.url, index=_alias("refusing"), retry_seconds=1.0)
        backend = OpenSearchBackend(options)
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="kept answering 429 or 503"):
            backend.index([docs])
        assert time.monotonic() - started < 5
        assert 2 <= proxy.bulks <= 6
        assert not backend.exists()  # the half-built index was dropped, no alias made
    finally:
        proxy.close()


def test_the_api_and_page_say_which_alias_is_missing_and_how_to_build_it(cluster, tmp_path):
    from searchsvc.web import create_app

    alias = _alias("never-built")
    settings = {
        "TESTING": True,
        "INDEX_DIR": str(tmp_path / "unused"),
        "BACKEND": "opensearch",
        "OPENSEARCH_URL": cluster.url,
        "OPENSEARCH_INDEX": alias,
    }
    client = create_app(settings).test_client()
    answer = client.get("/api/search?q=energy")
    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error.startswith(f"No OpenSearch index {alias!r} at {cluster.url}")
    assert "Run: SEARCHSVC_BACKEND=opensearch searchsvc index" in error
    page = client.get("/?q=energy")
    assert page.status_code == 503 and f"at {cluster.url}" in page.get_data(as_text=True)


def test_the_settings_choose_shards_and_replicas(cluster, seeds_copy):
    from searchsvc import config
    from searchsvc.backends import open_backend

    alias = _alias("sized")
    settings = config.load(
        {
            "BACKEND": "opensearch",
            "OPENSEARCH_URL": cluster.url,
            "OPENSEARCH_INDEX": alias,
            "OPENSEARCH_SHARDS": "3",
            "OPENSEARCH_REPLICAS": "1",
        }
    )
    with open_backend("unused", settings) as backend:
        backend.index([seeds_copy])
        physical = backend.freshness().generation
        index = backend.client.indices.get_settings(index=physical)[physical]["settings"]["index"]
    assert (str(index["number_of_shards"]), str(index["number_of_replicas"])) == ("3", "1")


@pytest.fixture(scope="module")
def folding_only(backends, cluster):
    """Both backends over the seeds with no variant list: "also try" from the folding alone."""
    from searchsvc.searching import open_backend as open_engine

    engine = open_engine(backends["whoosh"].index_dir, variants=[])
    options = backends["opensearch"].options
    with engine, OpenSearchBackend(options, variants=[]) as theirs:
        yield engine, theirs


@pytest.mark.parametrize(
    "query",
    [
        "Bayramow",
        "Hajiyev",
        "Gurbanow",
        "Vepa Hajiyew",  # three edits from Hadjiev: no edit-distance suggester finds it
        "Berdymukhammedov",
        "Bayramow Sharifow",
        "Ashgabat NOT Hajiyev",
        "partnership",
        "consultatons",
    ],
)
def test_also_try_from_the_folding_alone_on_both_backends(folding_only, query):
    ours, theirs = (b.search(SearchRequest(q=query)) for b in folding_only)
    assert theirs.also_try == ours.also_try
    if query in ("Vepa Hajiyew", "Berdymukhammedov"):
        assert ours.also_try  # not vacuous
    assert theirs.also_searched == ours.also_searched == ()
