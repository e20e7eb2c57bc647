"""Shared fixtures: a session-scoped index of tests/data/docs, then engine, app, client, runner.

Tests never touch the project's own index/ or seeds/: every index here lives in a
temporary directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
PROJECT = HERE.parent
SEEDS = PROJECT / "seeds"
SHARED = PROJECT.parent / "shared"


@pytest.fixture(scope="session")
def docs_index(tmp_path_factory) -> Path:
    """An index of the small test documents in tests/data/docs."""
    from searchsvc.indexer import index_paths

    index_dir = tmp_path_factory.mktemp("docs-index")
    report = index_paths(index_dir, [DATA / "docs"], procs=1)
    assert report.total > 0 and not report.skipped
    return index_dir


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory) -> Path:
    """An index of a copy of the five seed releases."""
    from searchsvc.indexer import index_paths

    root = tmp_path_factory.mktemp("seeds")
    shutil.copytree(SEEDS, root / "seeds")
    index_dir = root / "index"
    report = index_paths(index_dir, [root / "seeds"], procs=1)
    assert report.total == 5 and not report.skipped
    return index_dir


@pytest.fixture(scope="session")
def seeds_engine(seeds_index):
    from searchsvc.engine import Engine

    return Engine(seeds_index)


@pytest.fixture(scope="session")
def docs_engine(docs_index):
    from searchsvc.engine import Engine

    return Engine(docs_index)


@pytest.fixture
def app(seeds_index):
    """The Flask app over the seeds index."""
    from searchsvc.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(seeds_index)})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()
