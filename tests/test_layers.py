"""The layering is checked by import-linter; a deliberate upward import must break it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "setup.cfg", "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT / "searchsvc", tmp_path / "searchsvc")
    shutil.copy(PROJECT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_contracts_hold(copy):
    done = lint(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # reading is upstream of searching: it may not know about it
        ("reading/documents.py", "from searchsvc.searching import Engine", "Wings along"),
        ("scoring/ranker.py", "import flask", "never imports Flask"),
        ("searching/search.py", "from searchsvc import config", "never imports Flask"),
        ("web/api.py", "from searchsvc.searching.engine import Engine", "through its face"),
        ("web/payload.py", "from searchsvc.web import api", "No import cycles"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(copy, module, line, contract):
    add_line(copy / "searchsvc" / module, line)
    done = lint(copy)
    assert done.returncode == 1, done.stdout
    broken = done.stdout.split("Broken contracts")[-1]
    assert contract in broken, done.stdout
