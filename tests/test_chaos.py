"""The quick cases of scripts/chaos.py: everyday faults against a real serve and index.

Each case runs as the script runs it (`chaos.py --case NAME`): its own process group and
temporary directory, its own time limit. The slower cases (a costly corpus, damaged
segments, a deadline) run only with the script itself; see the README's Reliability section.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent.parent / "scripts" / "chaos.py"
FAST = ["undated", "idle-connections", "empty-folder", "duplicate-ids", "alias-bomb"]


def test_the_fast_cases_are_the_scripts_fast_ones():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--list"], capture_output=True, text=True, timeout=30
    )
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.endswith("fast")]
    assert listed == FAST


@pytest.mark.parametrize("name", FAST)
def test_case_holds(name):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--case", name, "--max-seconds", "60"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"PASS {name} " in done.stdout
