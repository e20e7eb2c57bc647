"""What a demanding operator did to searchsvc, and what it now answers.

Each test is a defect found by running the product the way an operator does (the CLI, a
first `serve`, a watched folder, a bad setting, Ctrl-C, a full disk), on a real index on
disk, with real subprocesses where the operator would meet one.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import pytest
from conftest import SEEDS, Server, free_port

from searchsvc.cli import main
from searchsvc.indexing import current_generation

RELEASE = " date 2024-06-01\n\nQuoxwell forum opens\n\nThe quoxwell forum opened.\n"


def _serve(tmp_path, index_dir, *args, env=None):
    """`searchsvc serve` that is expected to stop by itself (refusing to start)."""
    cmd = [sys.executable, "-m", "searchsvc", "serve", "--port", "0", "--index-dir"]
    cmd += [str(index_dir), *args]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=30, env=env)


# -- a first run that finds nothing leaves no empty index to be served --------------------


def test_a_first_index_of_an_empty_folder_leaves_no_index(tmp_path, runner):
    empty, index_dir = tmp_path / "empty", tmp_path / "ix"
    empty.mkdir()
    result = runner.invoke(main, ["index", str(empty), "--index-dir", str(index_dir)])
    assert result.exit_code == 1
    assert f"Nothing was indexed from {empty}." in result.output
    assert current_generation(index_dir) is None
    assert not list(index_dir.glob("gen-*"))
    # Once there is something to index, the first real run builds it.
    (empty / "one.txt").write_text(RELEASE, encoding="utf-8")
    result = runner.invoke(main, ["index", str(empty), "--index-dir", str(index_dir)])
    assert result.exit_code == 0 and "added 1," in result.output


@pytest.mark.slow
def test_serve_refuses_a_missing_seeds_folder_every_time_and_says_which(tmp_path):
    index_dir, missing = tmp_path / "ix", tmp_path / "no-such-seeds"
    env = {**os.environ, "SEARCHSVC_SEEDS_DIR": str(missing)}
    for _ in range(2):  # before: the first refusal left an empty index the second served
        done = _serve(tmp_path, index_dir, env=env)
        assert done.returncode == 1, done.stderr
        assert f"Error: {missing} does not exist: create it" in done.stderr
        assert "serving" not in done.stderr
    assert current_generation(index_dir) is None


# -- serve --watch builds its first index from the folders it watches ---------------------


@pytest.mark.slow
def test_serve_watch_builds_its_first_index_from_the_watched_folder(live_server, tmp_path):
    folder, seeds = tmp_path / "releases", tmp_path / "seeds-elsewhere"
    folder.mkdir()
    (folder / "quox.txt").write_text(RELEASE, encoding="utf-8")
    shutil.copytree(SEEDS, seeds)  # the default seeds: not what the operator asked for
    server = live_server(
        tmp_path / "ix",
        env={"SEARCHSVC_SEEDS_DIR": str(seeds)},
        args=["--watch", "--folder", str(folder)],
    )
    with urllib.request.urlopen(server.base + "/api/health", timeout=10) as response:
        assert json.loads(response.read())["documents"] == 1  # the folder's one release
    assert f"building one from {folder}/" in server.err.read_text()
    assert f"searchsvc: serving {tmp_path / 'ix'} at {server.base}/" in server.err.read_text()


def _get(url: str) -> tuple[int, str, str]:
    """status, Retry-After and body of a GET that may answer 503."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return (
                response.status,
                response.headers.get("Retry-After", ""),
                response.read().decode(),
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Retry-After", ""), exc.read().decode()


@contextlib.contextmanager
def _serving_nothing_yet(tmp_path, *args):
    """`searchsvc serve ARGS` on a free port, once it answers at all (503 included)."""
    port = free_port()
    err = tmp_path / "serve.err"
    cmd = [sys.executable, "-m", "searchsvc", "serve", "--port", str(port), "--workers", "1"]
    with open(err, "wb") as log:
        proc = subprocess.Popen([*cmd, *args], cwd=tmp_path, stdout=log, stderr=log)
    server = Server(proc, f"http://127.0.0.1:{port}", err, err, [])
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            try:
                _get(server.base + "/api/health")
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_serve_watch_of_an_empty_folder_says_the_index_is_being_built(tmp_path):
    """Before: the 503 said 'Run: searchsvc index ...', though the watcher builds it."""
    folder = tmp_path / "releases"
    folder.mkdir()
    with _serving_nothing_yet(
        tmp_path, "--index-dir", str(tmp_path / "ix"), "--watch", "--folder", str(folder)
    ) as server:
        _answers_being_built(server, tmp_path, folder)


def _answers_being_built(server, tmp_path, folder) -> None:
    built = (
        f"The index at {tmp_path / 'ix'} is being built from the watched folder {folder}/: "
        "searching starts once its first release is indexed. If it is empty, add releases "
        "there (.txt, .md or .jsonl files)."
    )
    status, retry, body = _get(server.base + "/api/search?q=quoxwell")
    assert (status, retry, json.loads(body)) == (
        503,
        "5",
        {"ok": False, "error": built, "status": 503},
    )
    status, retry, page = _get(server.base + "/?q=quoxwell")
    assert (status, retry) == (503, "5")
    assert "Index being built" in page and html.escape(built) in page
    assert "Run: searchsvc index" not in page
    (folder / "quox.txt").write_text(RELEASE, encoding="utf-8")
    deadline = time.monotonic() + 20
    while _get(server.base + "/api/search?q=quoxwell")[0] != 200:
        assert time.monotonic() < deadline, server.err.read_text()
        time.sleep(0.2)
    assert json.loads(_get(server.base + "/api/search?q=quoxwell")[2])["total"] == 1


def test_without_watch_the_missing_index_still_names_the_command(tmp_path):
    from searchsvc.web import create_app

    index_dir = tmp_path / "none"
    client = create_app({"TESTING": True, "INDEX_DIR": str(index_dir)}).test_client()
    response = client.get("/api/search?q=x")
    assert response.status_code == 503 and "Retry-After" not in response.headers
    assert response.get_json()["error"] == (
        f"No index at {index_dir}. Run: searchsvc index --index-dir {index_dir}"
    )
    watching = {"TESTING": True, "INDEX_DIR": str(index_dir), "WATCHING": ("/a", "/b")}
    response = create_app(watching).test_client().get("/api/health")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "watched folders /a/, /b/: " in response.get_json()["error"]
    assert "If they are empty, add releases there" in response.get_json()["error"]


@pytest.mark.slow
def test_folder_without_watch_is_a_usage_error(tmp_path):
    done = _serve(tmp_path, tmp_path / "ix", "--folder", str(tmp_path))
    assert done.returncode == 2  # before: --folder was ignored and the seeds served
    assert "Error: --folder names a folder to watch: add --watch" in done.stderr


# -- a setting or option of nan or inf is refused, not taken for "no deadline" ------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEARCHSVC_HEADER_TIMEOUT", "nan"),  # before: a slow client was never cut off
        ("SEARCHSVC_REQUEST_TIMEOUT", "inf"),  # before: no deadline at all
        ("SEARCHSVC_REQUEST_TIMEOUT", "NaN"),
        ("SEARCHSVC_REFRESH_INTERVAL", "-inf"),
        ("SEARCHSVC_PORT", "inf"),
    ],
)
def test_a_setting_of_nan_or_inf_is_refused_in_one_line(variable, value):
    env = {"PATH": "/usr/bin:/bin", variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "searchsvc", "stats"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    what = "a whole number" if variable == "SEARCHSVC_PORT" else "a finite number"
    assert done.stderr == f"Error: {variable} must be {what}, not {value!r}\n"


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_timeout_of_nan_or_inf_is_a_usage_error(runner, tmp_path, value):
    args = ["search", "energy", "--timeout", value, "--index-dir", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert "is not a number of seconds; 0 means no limit." in result.output


@pytest.mark.parametrize(("value", "says"), [("nan", "is not a number of seconds."), ("-5", ">=0")])
def test_a_wait_that_is_no_number_of_seconds_is_a_usage_error(runner, tmp_path, value, says):
    # nan never passed (a deadline of now + nan is never reached): the run waited for ever.
    args = ["index", str(tmp_path), "--wait", value, "--index-dir", str(tmp_path / "ix")]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "--wait" in result.output and says in result.output


def test_a_default_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    env = {**os.environ, "SEARCHSVC_SEEDS_DIR": str(tmp_path / "nowhere")}
    args = [sys.executable, "-m", "searchsvc", "index", "--index-dir", str(tmp_path / "ix")]
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"The default folder {tmp_path / 'nowhere'} (SEARCHSVC_SEEDS_DIR) does not" in (
        done.stderr
    )
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("command", ["index", "serve"])
def test_poll_without_watch_is_a_usage_error(runner, tmp_path, command):
    result = runner.invoke(main, [command, "--poll", "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 2 and "--poll says how to watch: add --watch" in result.output
    assert not (tmp_path / "ix").exists()


# -- a full disk: one line that says what to do, and nothing left behind ------------------


def _full_disk_after(monkeypatch, module, name: str) -> None:
    """Make module.name do its work, then fail as a full disk does."""
    original = getattr(module, name)

    def write_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(module, name, write_then_fail)


def test_a_full_disk_mid_commit_says_what_to_do_and_leaves_no_stray_files(
    tmp_path, runner, monkeypatch
):
    from searchsvc.indexing import postfile, storage

    folder, index_dir = tmp_path / "releases", tmp_path / "ix"
    shutil.copytree(SEEDS, folder)
    assert runner.invoke(main, ["index", str(folder), "--index-dir", str(index_dir)]).exit_code == 0
    gen = current_generation(index_dir)
    before = sorted(p.name for p in gen.iterdir())

    (folder / "900_new.txt").write_text(RELEASE, encoding="utf-8")
    with monkeypatch.context() as patched:
        _full_disk_after(patched, postfile.Builder, "write")  # the new segment's last file
        result = runner.invoke(main, ["index", str(folder), "--index-dir", str(index_dir)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: No space left on the disk of the index at {index_dir} (No space left on "
        "device). The index stays as its last commit left it (searchsvc check verifies it); "
        "free some space, or give --index-dir a folder on another disk, then run again.\n"
    )
    # Before: the half-committed segment's files and MAIN.tmp stayed, filling the disk.
    assert sorted(p.name for p in gen.iterdir()) == before
    check = runner.invoke(main, ["check", "--index-dir", str(index_dir)])
    assert check.exit_code == 0 and check.output.endswith("intact\n")

    # The manifest cannot be replaced either: no half-written copy stays beside it.
    with monkeypatch.context() as patched:
        patched.setattr(storage.Path, "write_text", _enospc)
        result = runner.invoke(main, ["index", str(folder), "--index-dir", str(index_dir)])
    assert result.exit_code == 1 and "No space left on the disk" in result.output
    assert not [p.name for p in gen.iterdir() if p.name.startswith(".manifest")]

    # Space freed: the same process (a watcher) writes again; Whoosh's lock was released.
    from searchsvc.indexing import index_paths

    report = index_paths(index_dir, [folder], procs=1)
    assert report.total == 6
    assert runner.invoke(main, ["check", "--index-dir", str(index_dir)]).exit_code == 0


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- Ctrl-C in the middle of a run in several processes ----------------------------------


def _children(pid: int) -> list[int]:
    kids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(proc.name))
    return kids


@pytest.mark.slow
def test_ctrl_c_mid_run_is_one_line_exit_130_and_the_index_as_it_was(tmp_path, runner):
    folder, index_dir = tmp_path / "releases", tmp_path / "ix"
    shutil.copytree(SEEDS, folder)
    assert runner.invoke(main, ["index", str(folder), "--index-dir", str(index_dir)]).exit_code == 0
    before = sorted(p.name for p in current_generation(index_dir).iterdir())
    body = "The council met on trade, energy and water. " * 40
    for n in range(1500):  # enough to be read by two worker processes for a few seconds
        (folder / f"{n:04d}_bulk.txt").write_text(
            f" date 2024-01-01\n\nBulk release {n}\n\n{body}\n", encoding="utf-8"
        )
    cmd = [sys.executable, "-m", "searchsvc", "index", str(folder), "--index-dir"]
    cmd += [str(index_dir), "--procs", "2"]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A terminal's Ctrl-C, even where the suite itself runs with SIGINT ignored (a
        # shell's background job: the command would inherit it and never be interrupted).
        preexec_fn=partial(signal.signal, signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while len(_children(proc.pid)) < 2 and proc.poll() is None:  # the workers are reading
        assert time.monotonic() < deadline, "no worker processes within 30 s"
        time.sleep(0.02)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    # Before: 'Process ForkPoolWorker-2:', a traceback from each worker, 'Aborted!', exit 1.
    assert err == (
        f"Interrupted: the index at {index_dir} stays as its last commit left it. "
        "Run the same command again to finish.\n"
    )
    assert sorted(p.name for p in current_generation(index_dir).iterdir()) == before
    assert runner.invoke(main, ["check", "--index-dir", str(index_dir)]).exit_code == 0
    stats = runner.invoke(main, ["stats", "--index-dir", str(index_dir)]).output
    assert stats.startswith("documents: 5 ")


# -- a hangup (an ssh session closed) reaches the server and its watcher ------------------


def _watchers(server_pid: int) -> list[int]:
    pids = []
    for pid in _children(server_pid):  # gunicorn's workers have serve's argv, --watch too
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--watch" in argv and b"index" in argv:
            pids.append(pid)
    return pids


@pytest.mark.slow
def test_a_hangup_of_the_group_leaves_serve_watch_watching(live_server, tmp_path):
    folder = tmp_path / "releases"
    shutil.copytree(SEEDS, folder)
    server = live_server(tmp_path / "ix", args=["--watch", "--folder", str(folder)])
    deadline = time.monotonic() + 20
    while "searchsvc: watching" not in server.err.read_text():
        assert time.monotonic() < deadline, server.err.read_text()
        time.sleep(0.1)
    (watcher,) = _watchers(server.proc.pid)
    # What closing the terminal does: SIGHUP to each process of the group. gunicorn's
    # master reloads its workers and goes on; before, the watcher died with no word.
    os.kill(watcher, signal.SIGHUP)
    os.kill(server.proc.pid, signal.SIGHUP)
    time.sleep(1)
    assert _watchers(server.proc.pid) == [watcher]
    (folder / "900_new.txt").write_text(RELEASE, encoding="utf-8")
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(server.base + "/api/search?q=quoxwell", timeout=5) as r:
                if json.loads(r.read())["total"] == 1:
                    break
        except OSError:
            pass  # a worker being replaced after the HUP
        assert time.monotonic() < deadline, "the new release was not indexed within 15 s"
        time.sleep(0.2)


# -- the index folder removed under a running server, then built again at the same path ---


def test_an_index_removed_and_built_again_at_its_path_is_served_anew(tmp_path):
    from searchsvc.indexing import index_paths
    from searchsvc.web import create_app

    seeds, other, index_dir = tmp_path / "seeds", tmp_path / "other", tmp_path / "ix"
    shutil.copytree(SEEDS, seeds)
    other.mkdir()
    (other / "quox.txt").write_text(RELEASE, encoding="utf-8")
    index_paths(index_dir, [seeds], procs=1)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "REFRESH_INTERVAL": 0})
    client = app.test_client()
    assert client.get("/api/health").get_json()["documents"] == 5

    shutil.rmtree(index_dir)  # an operator starting over
    response = client.get("/api/health")  # before: a FileNotFoundError, a 500
    assert response.status_code == 200
    body = response.get_json()
    assert body["documents"] == 5 and f"No index at {index_dir} any more" in body["warning"]

    index_paths(index_dir, [other], procs=1)  # gen-000001 and _MAIN_1.toc again
    # Before: a worker that had the old index open served it (5 releases) for good.
    body = client.get("/api/health").get_json()
    assert body["documents"] == 1 and body["warning"] is None
    assert client.get("/api/search?q=quoxwell").get_json()["total"] == 1


@pytest.mark.parametrize("variable", ["SEARCHSVC_SEEDS_DIR", "SEARCHSVC_INDEX_DIR"])
def test_an_empty_folder_setting_is_refused_not_taken_for_the_working_directory(tmp_path, variable):
    # Before: SEARCHSVC_SEEDS_DIR= made `searchsvc index` index every file under the
    # working directory; SEARCHSVC_INDEX_DIR= said 'No index at /. Run: ... --index-dir '.
    (tmp_path / "stray.txt").write_text(RELEASE, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", variable: ""}
    done = subprocess.run(
        [sys.executable, "-m", "searchsvc", "index", "--index-dir", str(tmp_path / "ix")],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == f"Error: {variable} must be a folder's path, not ''\n"
    assert not (tmp_path / "ix").exists()
