"""How `searchsvc serve` holds up against slow, idle and malformed clients, and behind nginx.

Every test talks to a real server over loopback sockets; each wait is bounded. The server
runs with short timeouts (SEARCHSVC_HEADER_TIMEOUT, SEARCHSVC_KEEPALIVE) so that the
timeouts can be watched in a few seconds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import PROJECT, free_port

HEADER_TIMEOUT = 2.0
KEEPALIVE = 2
SHORT = {"SEARCHSVC_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "SEARCHSVC_KEEPALIVE": str(KEEPALIVE)}
# The worker checks its timeouts about once a second.
SLACK = 1.5
NGINX = Path("/usr/sbin/nginx")


def port_of(server) -> int:
    return int(server.base.rsplit(":", 1)[1])


def health_seconds(base: str) -> float:
    """How long /api/health takes to answer 200 (failing the test past 1 s)."""
    started = time.monotonic()
    with urllib.request.urlopen(base + "/api/health", timeout=1.0) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Send bytes as they are; the answer's status, headers and body (read to the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes sock (reading whatever it sends), or None."""
    started = time.monotonic()
    deadline = started + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except TimeoutError:
            return None
        except ConnectionResetError:
            return time.monotonic() - started
    return None


@contextlib.contextmanager
def idle_connections(port: int, count: int):
    """count open connections that send nothing, closed at the end."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="module")
def server(module_live_server, tmp_path_factory):
    """`searchsvc serve` (2 workers) on the seeds, with 2 s header and keep-alive timeouts."""
    from searchsvc.indexing import index_paths

    index_dir = tmp_path_factory.mktemp("deploy") / "index"
    index_paths(index_dir, [PROJECT / "seeds"], procs=1)
    return module_live_server(index_dir, env=SHORT)


# -- slow and idle clients ----------------------------------------------------------------------


@pytest.mark.slow
def test_idle_connections_do_not_stop_the_service(server):
    # 32 at once, twice: the second wave comes back after the first was closed.
    worst = 0.0
    for _wave in range(2):
        with idle_connections(port_of(server), 32) as socks:
            started = time.monotonic()
            while time.monotonic() - started < HEADER_TIMEOUT + SLACK:
                worst = max(worst, health_seconds(server.base))
                time.sleep(0.05)
            # Nothing was sent: the server closed them after the header timeout, silently.
            assert all(closed_within(sock, SLACK) is not None for sock in socks)
    assert worst < 1.0


@pytest.mark.slow
def test_slowloris_is_cut_off_after_the_header_timeout_and_blocks_nobody(server):
    # More dribbling clients than the service has threads (2 workers x 8).
    head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 200
    socks = [socket.create_connection(("127.0.0.1", port_of(server))) for _ in range(24)]
    answers: dict[int, bytes] = {}
    started = time.monotonic()
    try:
        for i in range(len(head)):
            waiting = [sock for n, sock in enumerate(socks) if n not in answers]
            if not waiting or time.monotonic() - started > HEADER_TIMEOUT + 2 * SLACK:
                break
            readable = select.select(waiting, [], [], 0)[0]
            for sock in waiting:
                if sock in readable:  # the server spoke, then closed: read all of it
                    answers[socks.index(sock)] = _read_all(sock)
                else:
                    with contextlib.suppress(OSError):
                        sock.send(head[i : i + 1])
            assert health_seconds(server.base) < 1.0
            time.sleep(0.2)
        took = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    assert len(answers) == len(socks), f"{len(socks) - len(answers)} still open after {took:.1f} s"
    assert took < HEADER_TIMEOUT + 2 * SLACK
    said = [a for a in answers.values() if a.startswith(b"HTTP/1.1 408 ")]
    assert said, "no connection was told 408"
    body = json.loads(said[0].partition(b"\r\n\r\n")[2])
    assert body == {
        "ok": False,
        "error": "The request's headers did not arrive within 2 s; send the whole request at once.",
        "status": 408,
    }


def _read_all(sock: socket.socket, timeout: float = 1.0) -> bytes:
    """What the server sends until it closes, or until timeout seconds pass."""
    data = b""
    sock.settimeout(timeout)
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.slow
def test_a_pipelined_request_left_unfinished_gets_the_header_timeout_too(server):
    first = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=5) as sock:
        sock.sendall(first + b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        started = time.monotonic()
        answer = _read_all(sock, timeout=HEADER_TIMEOUT + SLACK)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"HTTP/1.1 408 Request Timeout\r\n" in answer
    assert took < HEADER_TIMEOUT + SLACK


@pytest.mark.parametrize(
    ("head", "new_from", "complete"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, True),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 26, True),  # the end split across reads
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 20, False),
        (b"GET / HTTP/1.1\r\n", 15, False),  # CR, then LF in the next read
        (b"GET / HTTP/1.1\nHost", 10, True),  # a bare LF: gunicorn's parser says 400
    ],
)
def test_when_the_main_loop_hands_a_head_to_a_thread(head, new_from, complete):
    from searchsvc.cli.workers import _head_complete

    assert _head_complete(bytearray(head), new_from) is complete


@pytest.mark.slow
def test_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout(server):
    conn = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=5)
    try:
        conn.request("GET", "/api/health")
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection") == "keep-alive"
        conn.request("GET", "/api/health")  # the same connection serves a second request
        second = conn.getresponse()
        second.read()
        assert second.status == 200
        after = closed_within(conn.sock, KEEPALIVE + SLACK)
    finally:
        conn.close()
    assert after is not None and KEEPALIVE - 0.5 < after < KEEPALIVE + SLACK


# -- gunicorn's own errors ------------------------------------------------------------------------

HOST = b"Host: 127.0.0.1\r\n"
ERRORS = [
    (
        b"GET /api/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        414,
        "The URL is longer than 8,190 bytes; shorten the query.",
    ),
    (
        b"GET /?q=" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        414,
        "The URL is longer than 8,190 bytes; shorten the query.",
    ),
    (
        b"HELLO THERE\r\n" + HOST + b"\r\n",
        400,
        "The request line is not valid HTTP (Invalid HTTP request line: 'HELLO THERE'); "
        "send 'GET /api/search?q=words HTTP/1.1'.",
    ),
    (
        b"GET /api/health HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n",
        431,
        "A request header is longer than 8,190 bytes; send shorter headers (cookies, say).",
    ),
    (
        b"GET /api/health HTTP/1.1\r\n"
        + HOST
        + b"".join(b"X-H%d: 1\r\n" % n for n in range(120))
        + b"\r\n",
        431,
        "The request has more than 100 headers; send fewer.",
    ),
    (
        b"GET /api/health HTTP/1.1\r\n" + HOST + b"No colon here\r\n\r\n",
        400,
        "A request header is not valid HTTP (Invalid HTTP Header: 'No colon here'); "
        "send 'Name: value' lines ending in CRLF.",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("request_bytes", "status", "message"), ERRORS)
def test_gunicorn_errors_answer_the_envelope(server, request_bytes, status, message):
    got, headers, body = raw_request(port_of(server), request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert json.loads(body) == {"ok": False, "error": message, "status": status}
    assert b"<html>" not in body


@pytest.mark.slow
def test_gunicorn_errors_leave_no_traceback_in_the_log(server):
    for request_bytes, _, _ in ERRORS:
        raw_request(port_of(server), request_bytes)
    time.sleep(0.3)
    log = server.err.read_text()
    assert "Traceback" not in log and "[ERROR]" not in log
    assert "Invalid request from ip=127.0.0.1" in log


def test_a_page_path_gets_a_page_of_ours_with_the_message_escaped():
    from searchsvc.cli.workers import error_answer

    answer = error_answer(400, "Bad Request", "A <script> in 'x'", page=True)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Content-Type: text/html; charset=utf-8" in head
    assert b"Content-Length: %d" % len(body) in head
    assert b"A &lt;script&gt; in &#x27;x&#x27;" in body and b"<script>" not in body


def test_gunicorns_thread_worker_still_has_what_searchworker_overrides():
    # searchsvc.cli.workers relies on gthread internals; a new gunicorn may move them.
    import inspect

    from gunicorn.workers import gthread

    methods = ["accept", "on_client_socket_readable", "murder_pending", "finish_request"]
    methods += ["enqueue_req", "handle", "handle_request", "handle_error"]
    missing = [name for name in methods if not hasattr(gthread.ThreadWorker, name)]
    state = inspect.getsource(gthread.ThreadWorker.__init__)
    missing += [name for name in ("pending_conns", "keepalived_conns") if name not in state]
    conn = inspect.getsource(gthread.TConn)
    missing += [name for name in ("data_ready", "self.parser =") if name not in conn]
    handle = inspect.getsource(gthread.ThreadWorker.handle)
    missing += [s for s in ("not conn.initialized and not conn.data_ready",) if s not in handle]
    assert missing == [], f"gunicorn's gthread changed: {missing}"


# -- threads share one engine ----------------------------------------------------------------------

QUERIES = ["Turkmenistan", "strategic partnership", '"foreign affairs"', "partner*", "gas OR oil"]
QUERIES += ["turkmenstan~", "", "consultations", "energy AND (gas OR oil) NOT coal"]
SORTS = ("relevance", "newest")


def _answer(url: str) -> tuple[str, dict]:
    status, body = get(url)
    for volatile in ("took_ms", "age_seconds"):
        body.pop(volatile, None)
    return url, {"status": status, **body}


@pytest.mark.slow
def test_concurrent_requests_match_sequential_ones(server):
    urls = [f"{server.base}/api/search?q={quote(q)}&sort={s}" for q in QUERIES for s in SORTS]
    urls += [server.base + "/api/documents/000_151069118a277199", server.base + "/api/health"]
    expected = dict(map(_answer, urls))
    assert all(body["status"] == 200 for body in expected.values()), expected
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(_answer, urls * 5))
    assert [url for url, body in answers if body != expected[url]] == []


def test_the_backend_is_opened_once_under_threads(app, monkeypatch):
    from searchsvc.web import context

    made = []
    real = context.open_backend

    def counting(*args, **kwargs):
        made.append(1)
        time.sleep(0.05)  # widen the window a race would need
        return real(*args, **kwargs)

    monkeypatch.setattr(context, "open_backend", counting)
    barrier = threading.Barrier(8)

    def first_request():
        barrier.wait(timeout=5)
        return app.test_client().get("/api/health").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: first_request(), range(8)))
    assert statuses == [200] * 8 and len(made) == 1
    app.extensions[context.KEY].close()


# -- nginx in front, configured as the README says ---------------------------------------------


def readme_nginx_config() -> str:
    """The nginx block of the README's Deployment section."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    deployment = readme.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```nginx\n(.*?)```", deployment, re.S)
    assert len(blocks) == 1, "the Deployment section should hold one nginx block"
    return blocks[0]


def nginx_conf(tmp: Path, listen: int, upstream: int) -> str:
    """The README's block on loopback ports, inside a main config that writes only to tmp."""
    block = readme_nginx_config()
    for old, new in [
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
    ]:
        assert block.count(old) == 1, f"the README's nginx block no longer has {old!r}"
        block = block.replace(old, new)
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    temp += f"\n    uwsgi_temp_path {tmp / 'uwsgi'};\n    scgi_temp_path {tmp / 'scgi'};"
    # As root, nginx's workers would run as nobody, who cannot enter the test's directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {tmp / 'access.log'};\n{temp}\n{block}\n}}\n"
    )


@contextlib.contextmanager
def nginx(tmp: Path, upstream: int):
    """A real nginx on a free loopback port in front of upstream; stopped at the end."""
    tmp.mkdir()
    port = free_port()
    (tmp / "nginx.conf").write_text(nginx_conf(tmp, port, upstream), encoding="utf-8")
    cmd = [str(NGINX), "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    check = subprocess.run([*cmd, "-t"], capture_output=True, text=True, timeout=10)
    assert check.returncode == 0, check.stderr
    log = open(tmp / "nginx.out", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cmd, "-g", "daemon off;"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, (tmp / "nginx.out").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "nginx did not listen within 10 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)  # fast shutdown, workers included
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.mark.slow
@pytest.mark.skipif(not NGINX.exists(), reason="no /usr/sbin/nginx (apt-get install nginx)")
def test_nginx_as_the_readme_configures_it(live_server, seeds_index, tmp_path):
    backend = live_server(seeds_index)
    with nginx(tmp_path / "nginx", port_of(backend)) as front:
        status, body = get(front + "/api/search?q=Turkmenistan")
        assert status == 200 and body["ok"] is True and body["total"] == 5
        # Long URLs pass nginx (large_client_header_buffers) to searchsvc's envelope.
        status, body = get(front + "/api/search?q=" + "a" * 9000)
        assert status == 414 and body["error"].startswith("The URL is longer than 8,190 bytes")
        # The app's own errors pass through unchanged.
        assert get(front + "/api/search?size=0")[0] == 400
        # More than the README's limit_req allows one address (10 a second, bursts of 20).
        statuses = [get(front + "/api/health") for _ in range(60)]
        refused = [body for status, body in statuses if status == 429]
        assert refused and refused[0]["ok"] is False and refused[0]["status"] == 429
        time.sleep(0.5)  # a few requests' worth of allowance again
        backend.stop()
        status, body = get(front + "/api/health")
        assert status == 503 and body["ok"] is False and body["status"] == 503
