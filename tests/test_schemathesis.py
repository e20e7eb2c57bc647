"""The API against its own OpenAPI document: schemathesis, every check, a bounded run.

The document must say exactly what each parameter accepts: a schema-valid request that is
refused, or a schema-invalid one that is accepted, is a failure, as is any 5xx or an answer
that does not match its schema.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ST = Path(sys.executable).parent / "st"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ST.exists(), reason="schemathesis is not installed"),
]


def test_the_api_keeps_its_openapi_document(live_server, seeds_index, tmp_path):
    server = live_server(seeds_index)
    cmd = [str(ST), "run", f"{server.base}/api/openapi.json", "--checks", "all"]
    cmd += ["--max-examples", "150", "--seed", "20261130", "--generation-database", "none"]
    cmd += ["--request-timeout", "10", "--no-color"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", report)
    assert generated and int(generated.group(1)) >= 200, report
    assert done.returncode == 0, report
