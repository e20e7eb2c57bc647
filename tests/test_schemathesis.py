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

# A URL past gunicorn's 8,190 bytes (a query of 2,000 four-byte letters, percent-encoded,
# is 24,000) is refused before the app sees it, with a 414 in the envelope: a rejection as
# good as a 400.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "404", "405", "414", "422"]
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ST.exists(), reason="schemathesis is not installed"),
]


def test_the_api_keeps_its_openapi_document(live_server, seeds_index, tmp_path):
    server = live_server(seeds_index)
    (tmp_path / "schemathesis.toml").write_text(CONFIG, encoding="utf-8")
    cmd = [
        str(ST),
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "run",
        f"{server.base}/api/openapi.json",
        "--checks",
        "all",
    ]
    cmd += ["--max-examples", "150", "--seed", "20261130", "--generation-database", "none"]
    cmd += ["--request-timeout", "10", "--no-color"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", report)
    assert generated and int(generated.group(1)) >= 200, report
    assert done.returncode == 0, report
