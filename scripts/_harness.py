"""Shared by the reliability scripts: a real `searchsvc serve`, HTTP requests, corpora.

Each script runs the package from this checkout (PYTHONPATH), in temporary directories,
and never touches the project's own index/ or seeds/.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
CLI = [sys.executable, "-m", "searchsvc"]


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess that imports searchsvc from this checkout."""
    path = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def free_port() -> int:
    """A loopback port nobody listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, path: str, method: str = "GET", timeout: float = 30.0) -> Response:
    """Send one request with the path exactly as given (already percent-encoded)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Response(response.status, headers, body)
    finally:
        conn.close()


def get_json(port: int, path: str, timeout: float = 30.0) -> tuple[int, dict | None]:
    """GET path; the status and the JSON body (None if the body is not JSON)."""
    response = request(port, path, timeout=timeout)
    try:
        return response.status, json.loads(response.body)
    except ValueError:
        return response.status, None


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    def log_problems(self) -> list[str]:
        """Lines of the server's log that show a failure: tracebacks, timeouts, errors."""
        signs = ("Traceback", "WORKER TIMEOUT", "[ERROR]", "Exception on ")
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if any(s in line for s in signs)]


@contextlib.contextmanager
def serve(
    index_dir: Path,
    workdir: Path,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    healthy: bool = True,
) -> Iterator[Server]:
    """Run `searchsvc serve` on a free loopback port until the block ends.

    It is up once /api/health answers 200; with healthy=False, once it answers at all.
    """
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with open(log, "wb") as out:
        cmd = [*CLI, "serve", "--port", str(port), "--index-dir", str(index_dir)]
        cmd += ["--workers", str(workers)]
        proc = subprocess.Popen(cmd, cwd=workdir, env=env(extra_env), stdout=out, stderr=out)
        server = Server(proc, port, log)
        try:
            _wait_until_up(server, healthy)
            yield server
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process we started, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(server: Server, healthy: bool = True, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"serve exited {server.proc.returncode}:\n{server.log.read_text()}")
        with contextlib.suppress(OSError):
            if request(server.port, "/api/health", timeout=2).status == 200 or not healthy:
                return
        time.sleep(0.1)
    raise SystemExit(f"serve did not answer within {seconds} s:\n{server.log.read_text()}")


def children(pid: int) -> list[int]:
    """The processes whose parent is pid (an indexer's or a server's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def index_open_in(pid: int, index_dir: Path) -> bool:
    """Whether process pid holds a file of the index open or mapped (its searcher is open)."""
    root = str(Path(index_dir).resolve())
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return root in maps or any(target.startswith(root) for target in fds)


def run_cli(
    *args: str, timeout: float = 600.0, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run a searchsvc command to its end; its output is kept.

    prefix goes before the interpreter: a command such as setpriv that runs it differently.
    """
    cmd = [*prefix, *CLI, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env())


def run_group(cmd: list[str], timeout: float) -> tuple[int | None, str]:
    """Run cmd in a process group of its own; after timeout, SIGKILL the whole group.

    Returns its exit status (None if it was killed at the timeout) and its output. Anything
    it started and left behind in its group is killed too, at the end either way.
    """
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env(), start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = None
        kill_group(proc.pid)
        out, _ = proc.communicate()
    finally:
        kill_group(proc.pid)
    return status, out.decode("utf-8", errors="replace")


def kill_group(pgid: int) -> None:
    """SIGKILL the process group pgid (one that we started), if anything is left in it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# -- generated releases --------------------------------------------------------------------------

_VOCABULARY = """
    ministry president delegation cooperation energy gas pipeline partnership agreement
    summit talks trade investment security region development forum council minister
    foreign affairs economic cultural humanitarian transport logistics caspian digital
    education health agriculture water climate finance bank project memorandum signed
    meeting visit official capital international relations national strategy program
"""
WORDS = _VOCABULARY.split()
PLACES = ["ASHGABAT", "BAKU", "ASTANA", "TASHKENT", "WASHINGTON", "BRUSSELS", "ANKARA"]


def release(n: int, rng: random.Random, paragraphs: int = 6, extra: str = "") -> str:
    """A generated seed-format release: a title, a dateline, and a marker word kumquat<n>."""
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    year = 2015 + n % 10
    title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
    body = []
    for _ in range(paragraphs):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 80)))
        body.append(sentence.capitalize() + ".")
    place = rng.choice(PLACES)
    lead = f"{place}, {day} May {year}. Release kumquat{n} {extra}".strip()
    return f" date {year}-{month:02d}-{day:02d}\n\n{title}\n\n{lead}\n\n" + "\n\n".join(body) + "\n"


def write_releases(folder: Path, numbers: range, seed: int = 0, **kwargs) -> list[Path]:
    """Write generated releases numbered `numbers` into folder, 100 to a subfolder."""
    rng = random.Random(seed)
    paths = []
    for n in numbers:
        path = folder / f"batch-{n // 100:04d}" / f"release-{n:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(release(n, rng, **kwargs), encoding="utf-8")
        paths.append(path)
    return paths
