"""A refresh swaps in a new state of the index only once it verifies, opens and answers a probe;
otherwise the engine keeps serving its last good snapshot, says why, and retries no more
often than its retry interval. The opening runs in a thread: a request with a deadline is
answered from the state it has (or, with none yet, told the index is still being opened).
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import SEEDS, unlist
from test_integrity import ZEBRA, damage

from searchsvc import indexing, web
from searchsvc.deadline import Deadline
from searchsvc.indexing import index_paths, storage
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching import engine as engine_module
from searchsvc.web import create_app

ZEBRA_Q = SearchRequest(q="zebra")


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    index_paths(tmp_path / "ix", [tmp_path / "seeds"], procs=1)
    return tmp_path


@pytest.fixture
def opens(monkeypatch) -> list[Path]:
    """Every generation the engines verify (each try to open one)."""
    seen: list[Path] = []
    real = storage.verify_generation

    def verify(gen, **how):
        seen.append(gen)
        return real(gen, **how)

    monkeypatch.setattr(indexing, "verify_generation", verify)  # as the engine calls it
    return seen


def _commit_zebra(root: Path) -> set[str]:
    """Add a release in an incremental commit; return the files it created."""
    gen = storage.current_generation(root / "ix")
    before = {p.name for p in gen.iterdir()}
    (root / "seeds" / "zebra.md").write_text(ZEBRA, encoding="utf-8")
    index_paths(root / "ix", [root / "seeds"], procs=1)
    return {p.name for p in gen.iterdir()} - before


def _new(gen: Path, names: set[str], suffix: str) -> Path:
    return next(gen / n for n in names if n.endswith(suffix))


@pytest.mark.parametrize("what", ["segment truncated", "segment overwritten", "toc overwritten"])
def test_a_damaged_commit_is_not_swapped_in(seeds_copy, opens, what):
    ix = seeds_copy / "ix"
    with Engine(ix, check_interval=0, retry_interval=3600) as engine:
        assert engine.search(ZEBRA_Q).total == 0
        created = _commit_zebra(seeds_copy)
        gen = storage.current_generation(ix)
        kind, how = what.split()
        damage(_new(gen, created, ".seg" if kind == "segment" else ".toc"), how)
        opens.clear()
        for _ in range(5):  # every request answers, from the last good snapshot
            assert engine.search(SearchRequest(q="turkmenistan")).total == 5
            assert engine.search(ZEBRA_Q).total == 0
        health = engine.freshness()
    assert len(opens) == 1  # tried once, not on every request
    assert health.generation == gen.name
    assert "is damaged" in health.warning
    assert "Meanwhile serving the last good state, gen-000001 (commit 1)" in health.warning


def test_an_unopenable_commit_without_checksums_is_not_swapped_in(seeds_copy):
    # Checksums cannot catch damage to files not listed yet: the open or the probe does.
    ix = seeds_copy / "ix"
    with Engine(ix, check_interval=0, retry_interval=3600) as engine:
        assert engine.search(ZEBRA_Q).total == 0
        created = _commit_zebra(seeds_copy)
        gen = storage.current_generation(ix)
        unlist(gen, lambda name: name in created)
        damage(_new(gen, created, ".seg"), "truncated")
        assert engine.search(SearchRequest(q="turkmenistan")).total == 5
        warning = engine.freshness().warning
    assert "cannot be opened" in warning and "gen-000001 (commit 1)" in warning


def test_the_state_is_retried_after_the_retry_interval(seeds_copy, opens, monkeypatch):
    from searchsvc.searching import engine as engine_module

    clock = [1000.0]
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: clock[0])
    ix = seeds_copy / "ix"
    with Engine(ix, check_interval=0, retry_interval=5) as engine:
        engine.search(ZEBRA_Q)
        created = _commit_zebra(seeds_copy)
        segment = _new(storage.current_generation(ix), created, ".seg")
        saved = segment.read_bytes()
        damage(segment, "overwritten")
        opens.clear()
        engine.search(ZEBRA_Q)
        clock[0] += 4
        engine.search(ZEBRA_Q)
        assert len(opens) == 1
        clock[0] += 2
        engine.search(ZEBRA_Q)
        assert len(opens) == 2
        segment.write_bytes(saved)  # repaired (same size, new mtime: hashed again)
        clock[0] += 6
        assert engine.search(ZEBRA_Q).total == 1
        assert engine.freshness().warning is None


def test_a_new_state_is_tried_at_once_even_within_the_retry_interval(seeds_copy):
    ix = seeds_copy / "ix"
    with Engine(ix, check_interval=0, retry_interval=3600) as engine:
        engine.search(ZEBRA_Q)
        created = _commit_zebra(seeds_copy)
        damage(_new(storage.current_generation(ix), created, ".seg"), "truncated")
        assert engine.search(ZEBRA_Q).total == 0 and engine.freshness().warning
        index_paths(ix, [seeds_copy / "seeds"], procs=1, rebuild=True)
        assert engine.search(ZEBRA_Q).total == 1
        state = engine.freshness()
        assert (state.generation, state.warning) == ("gen-000002", None)


def test_health_warns_while_the_last_good_snapshot_is_served(seeds_copy):
    ix = seeds_copy / "ix"
    app = create_app({"TESTING": True, "INDEX_DIR": str(ix), "REFRESH_INTERVAL": 0})
    client = app.test_client()
    assert client.get("/api/health").get_json()["warning"] is None
    created = _commit_zebra(seeds_copy)
    damage(_new(storage.current_generation(ix), created, ".seg"), "overwritten")
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["documents"] == 5
    assert "sha256 differs" in body["warning"] and "last good state" in body["warning"]
    assert client.get("/api/search?q=zebra").get_json()["total"] == 0


def test_commits_while_the_engine_verifies_are_never_called_damage(seeds_copy):
    # Whoosh deletes merged segments and old tables of contents at each commit: a file the
    # engine was verifying may vanish. That is a newer state, not damage.
    import threading

    ix = seeds_copy / "ix"
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(12):
                note = seeds_copy / "seeds" / f"note{n}.md"
                note.write_text(ZEBRA.replace("Zebra", f"Zebra{n}"), encoding="utf-8")
                index_paths(ix, [seeds_copy / "seeds"], procs=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    warnings = []
    with Engine(ix, check_interval=0, retry_interval=0) as engine:
        while not done.is_set():
            engine.search(SearchRequest(q="turkmenistan"))
            if engine.freshness().warning:
                warnings.append(engine.freshness().warning)
        writer.join()
        assert engine.search(ZEBRA_Q).total == 12
    assert not errors and not warnings


def test_stats_and_freshness_while_commits_remove_old_files(seeds_copy):
    # A watched folder commits every few seconds while the page and /api/health ask for the
    # index's size and age: a file listed a moment ago may be gone when it is stat()ed.
    import threading

    ix = seeds_copy / "ix"
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(15):
                note = seeds_copy / "seeds" / f"note{n}.md"
                note.write_text(ZEBRA.replace("Zebra", f"Zebra{n}"), encoding="utf-8")
                index_paths(ix, [seeds_copy / "seeds"], procs=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    calls = 0
    with Engine(ix, check_interval=0, retry_interval=0) as engine:
        try:
            while not done.is_set():
                assert engine.stats().size_bytes > 0
                engine.freshness()
                calls += 1
        finally:
            writer.join()
        assert engine.stats().documents == 20
    assert not errors and calls > 10


# -- opening in a thread: a request never pays an opening inside its deadline ------------------


@pytest.fixture
def slow_opens(monkeypatch) -> threading.Event:
    """Every opening (verify, open, probe) waits until the returned event is set."""
    go = threading.Event()
    real = Engine._open

    def held(self, gen):
        assert threading.current_thread().name == "searchsvc-open"
        go.wait(30)
        return real(self, gen)

    monkeypatch.setattr(Engine, "_open", held)
    return go


def test_a_request_is_answered_from_the_state_it_has_while_a_new_one_opens(seeds_copy, slow_opens):
    ix = seeds_copy / "ix"
    with Engine(ix, check_interval=0) as engine:
        slow_opens.set()
        assert engine.search(ZEBRA_Q).total == 0  # the first state, opened
        slow_opens.clear()
        _commit_zebra(seeds_copy)
        started = time.monotonic()
        assert engine.search(ZEBRA_Q, Deadline(5.0)).total == 0  # the state it had
        waited = time.monotonic() - started
        assert Engine.REFRESH_WAIT <= waited < Engine.REFRESH_WAIT + 2.5
        slow_opens.set()
        assert engine.search(ZEBRA_Q).total == 1  # no deadline: waits for the new state
        assert engine.search(ZEBRA_Q, Deadline(5.0)).total == 1


def test_a_first_state_still_opening_at_the_deadline_is_a_503_that_says_so(seeds_copy, slow_opens):
    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_copy / "ix"), "REQUEST_TIMEOUT": 0.5})
    client = app.test_client()
    response = client.get("/api/search?q=zebra")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.get_json()
    assert body["ok"] is False and "is still being opened" in body["error"]
    assert "took too long" not in body["error"]
    page = client.get("/?q=zebra")
    assert page.status_code == 503 and b"still being opened" in page.data
    slow_opens.set()
    deadline = time.monotonic() + 20
    while (response := client.get("/api/search?q=turkmenistan")).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert response.get_json()["total"] == 5


def test_a_server_worker_starts_opening_before_its_first_request(seeds_copy, opens):
    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_copy / "ix")})
    web.prepare_backend(app)
    deadline = time.monotonic() + 20
    while not opens:  # the opening thread verifies the generation: no request has come
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert app.test_client().get("/api/search?q=turkmenistan").get_json()["total"] == 5
    assert len(opens) == 1  # the request found it open (or opening), and opened nothing


def test_preparing_without_an_index_leaves_the_503_for_the_request(tmp_path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")})
    web.prepare_backend(app)
    response = app.test_client().get("/api/search?q=zebra")
    assert response.status_code == 503 and "No index at" in response.get_json()["error"]


def test_closing_during_an_opening_closes_what_it_opens(seeds_copy, slow_opens, monkeypatch):
    closed = []
    real_close = engine_module._Snapshot.close
    monkeypatch.setattr(
        engine_module._Snapshot, "close", lambda snap: closed.append(snap) or real_close(snap)
    )
    engine = Engine(seeds_copy / "ix")
    engine.prepare()
    opening = engine._opening
    assert opening is not None and not opening.done.is_set()
    engine.close()
    slow_opens.set()
    assert opening.done.wait(20)
    assert len(closed) == 1 and engine._snapshot is None
