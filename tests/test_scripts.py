"""The reliability scripts under scripts/: each has help, and the README says how to run it.

The scripts themselves run for minutes (see the README's Reliability section); here they
are only imported and asked for --help, so that they cannot rot unseen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
SCRIPTS = [
    "fuzz_api.py",
    "crash_index.py",
    "load_reindex.py",
    "chaos.py",
    "opensearch_groups.py",
    "opensearch_parity.py",
]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_has_help(name):
    done = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / name), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_is_in_the_readme_reliability_section(name):
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Reliability\n", 1)[1].split("\n## ", 1)[0]
    assert f"python scripts/{name}" in section
