"""Request deadlines: the Deadline object, where the search checks it, and the edges' 503.

Every test drives the clock by hand (a Deadline takes a clock), so none depends on how
fast the machine is: a deadline that has passed has passed at its first check.
"""

from __future__ import annotations

import itertools
import math
import shutil
from html import unescape

import pytest
from conftest import SEEDS
from test_api import check_schema

from searchsvc import config, web
from searchsvc import deadline as deadline_module
from searchsvc.cli import main
from searchsvc.deadline import Deadline, DeadlineExceededError
from searchsvc.indexing import index_paths
from searchsvc.searching import Engine, SearchRequest
from searchsvc.searching import engine as engine_module
from searchsvc.web import context as web_context

MESSAGE = (
    "The search took too long (over 5 s); narrow the query: fewer words, more letters "
    "before a *, fewer fuzzy~ words, or a date range or filter."
)
# A query that expands, ranks several words, re-ranks, highlights and suggests.
EXPENSIVE = "pre* strategic partnrship"


class Clock:
    """A clock that moves only when told to, or by `tick` at every reading."""

    def __init__(self, tick: float = 0.0):
        self.now = 100.0
        self.tick = tick
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        now = self.now
        self.now += self.tick
        return now


def passed(seconds: float = 5.0) -> Deadline:
    """A deadline of `seconds` that has already passed."""
    clock = Clock()
    deadline = Deadline(seconds, clock=clock)
    clock.now += seconds
    return deadline


def after_checks(n: int) -> Deadline:
    """A deadline that passes after n more readings of its clock (each a check)."""
    return Deadline(n - 0.5, clock=Clock(tick=1.0))


# -- the object --------------------------------------------------------------------------------


def test_a_deadline_passes_at_its_time():
    clock = Clock()
    deadline = Deadline(2.0, clock=clock)
    assert deadline.remaining() == 2.0 and not deadline.expired()
    deadline.check("ranking")
    clock.now += 1.5
    assert deadline.remaining() == pytest.approx(0.5)
    clock.now += 0.5
    assert deadline.expired() and deadline.remaining() == 0.0
    with pytest.raises(DeadlineExceededError) as caught:
        deadline.check("ranking")
    assert caught.value.phase == "ranking" and caught.value.seconds == 2.0
    assert str(caught.value).startswith("The search took too long (over 2 s); narrow the query")


@pytest.mark.parametrize("seconds", [None, 0, -1.0, math.inf])
def test_no_deadline(seconds):
    clock = Clock(tick=1e9)
    for deadline in (Deadline(seconds, clock=clock), Deadline.never()):
        deadline.check()
        assert not deadline.expired() and deadline.remaining() == math.inf


def test_the_message_says_what_to_do():
    assert str(DeadlineExceededError(5.0)) == MESSAGE
    assert str(DeadlineExceededError(0.25)).startswith("The search took too long (over 0.25 s);")


def test_the_setting_comes_from_the_environment():
    assert config.load(environ={})["REQUEST_TIMEOUT"] == 5.0
    assert config.load(environ={"SEARCHSVC_REQUEST_TIMEOUT": "0.5"})["REQUEST_TIMEOUT"] == 0.5


# -- the engine --------------------------------------------------------------------------------


@pytest.fixture
def seeds_copy(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    index_paths(tmp_path / "ix", [tmp_path / "seeds"], procs=1)
    return tmp_path / "ix"


@pytest.fixture
def counted(monkeypatch) -> list[SearchRequest]:
    """Every request the engine computes (rather than answers from its cache)."""
    asked: list[SearchRequest] = []
    real = engine_module.search

    def search(*args, **options):
        asked.append(args[3])
        return real(*args, **options)

    monkeypatch.setattr(engine_module, "search", search)
    return asked


def test_a_search_past_its_deadline_raises_and_is_not_cached(seeds_copy, counted):
    req = SearchRequest(q=EXPENSIVE)
    with Engine(seeds_copy) as engine:
        with pytest.raises(DeadlineExceededError, match="took too long"):
            engine.search(req, passed())
        assert engine.search(req).total > 0  # computed again: nothing was kept
        assert engine.search(req, passed()).total > 0  # now from the cache: no work to stop
    assert counted == [req, req]


def test_an_answer_that_finished_late_is_returned_but_not_cached(seeds_copy, monkeypatch):
    clock = Clock()
    real = engine_module.search

    def slow(*args, **options):
        result = real(*args, **options)
        clock.now += 10.0  # past the deadline after its last check
        return result

    monkeypatch.setattr(engine_module, "search", slow)
    req = SearchRequest(q="turkmenistan")
    with Engine(seeds_copy) as engine:
        late = engine.search(req, Deadline(5.0, clock=clock))
        assert late.total == 5
        assert engine.snapshot().results.get((req, None)) is None
        engine.search(req, Deadline(5.0, clock=clock))
    assert clock.now == 120.0  # computed twice


def test_a_normal_query_under_the_default_deadline(seeds_engine):
    result = seeds_engine.search(SearchRequest(q=EXPENSIVE), Deadline(5.0))
    assert result.total > 0 and result.suggestion == "pre* strategic partnership"


def test_every_phase_checks_the_deadline(seeds_index):
    # A deadline that passes after 1, 2, 3, ... checks stops the search at each check in
    # turn: the phases it stops in are every phase of this query.
    req = SearchRequest(q=EXPENSIVE, size=3)
    phases = []
    with Engine(seeds_index, cache_size=0) as engine:
        for n in itertools.count(1):
            try:
                engine.search(req, after_checks(n))
            except DeadlineExceededError as exc:
                phases.append(exc.phase)
                continue
            break
    assert set(phases) == {
        "parsing",
        "expanding wildcards",
        "ranking",
        "grouping",
        "sorting",
        "feedback",
        "proximity",
        "snippets",
        "facets",
        "spelling",
        "also try",
    }
    assert phases.count("expanding wildcards") > 3  # per word the prefix stands for
    assert phases.count("snippets") == 3  # per hit
    assert phases.count("spelling") == 2  # per plain word


def test_a_phrase_checks_per_word(seeds_engine):
    req = SearchRequest(q='"strategic partnership"', size=1)
    phases = []
    with Engine(seeds_engine.index_dir, cache_size=0) as engine:
        for n in range(1, 12):
            try:
                engine.search(req, after_checks(n))
            except DeadlineExceededError as exc:
                phases.append(exc.phase)
    assert phases.count("phrases") >= 2


# -- the edges ---------------------------------------------------------------------------------


@pytest.fixture
def too_slow(monkeypatch):
    """Every request's deadline has passed by its first check."""
    monkeypatch.setattr(web_context, "Deadline", lambda seconds: passed(seconds))


def test_api_answers_503_in_the_envelope(client, too_slow):
    response = client.get("/api/search?q=pre*")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = check_schema(response, "/api/search")
    assert body == {"ok": False, "error": MESSAGE, "status": 503}


def test_api_uses_the_configured_timeout(seeds_index, monkeypatch):
    made = []
    monkeypatch.setattr(
        web_context, "Deadline", lambda seconds: made.append(seconds) or passed(seconds)
    )
    app = web.create_app({"TESTING": True, "INDEX_DIR": str(seeds_index), "REQUEST_TIMEOUT": 0.25})
    response = app.test_client().get("/api/search?q=energy")
    assert made == [0.25] and response.status_code == 503
    assert response.get_json()["error"].startswith("The search took too long (over 0.25 s)")
    assert response.headers["Retry-After"] == "1"


def test_a_tiny_real_deadline_is_a_503(seeds_index):
    # One nanosecond: parsing the query alone takes longer, on any machine.
    app = web.create_app({"TESTING": True, "INDEX_DIR": str(seeds_index), "REQUEST_TIMEOUT": 1e-9})
    response = app.test_client().get("/api/search?q=pre*")
    assert response.status_code == 503 and response.get_json()["status"] == 503


def test_page_shows_the_message_in_place_with_503(client, too_slow):
    response = client.get("/?q=pre*+energy")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert MESSAGE in unescape(html)
    assert 'value="pre* energy"' in html
    assert "Traceback" not in html


def test_a_normal_query_answers_under_the_default_deadline(client):
    response = client.get("/api/search?q=energy")
    assert response.status_code == 200 and response.get_json()["total"] > 0
    assert client.get("/?q=energy").status_code == 200


def test_cli_prints_one_line_and_exits_1(runner, seeds_index, monkeypatch):
    monkeypatch.setattr(deadline_module, "Deadline", lambda seconds: passed(seconds))
    result = runner.invoke(main, ["search", "pre*", "--index-dir", str(seeds_index)])
    assert result.exit_code == 1
    assert result.output == f"Error: {MESSAGE}\n"


def test_cli_timeout_option(runner, seeds_index, monkeypatch):
    made = []
    monkeypatch.setattr(deadline_module, "Deadline", lambda s: made.append(s) or Deadline(s))
    args = ["search", "energy", "--index-dir", str(seeds_index), "--timeout", "0"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0 and made == [0.0]
    result = runner.invoke(main, ["search", "energy", "--index-dir", str(seeds_index)])
    assert result.exit_code == 0 and made == [0.0, 5.0]
