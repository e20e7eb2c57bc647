"""`searchsvc serve`: the web app under gunicorn, a production WSGI server.

    options (defaulting from the settings) --no index?--> the backend indexes SEEDS_DIR first
    create_app(those settings) --gunicorn, N workers x T threads--> one access-log line each

The workers are gunicorn's threaded ones as searchsvc.cli.workers hardens them: a connection
costs a thread only once its request head is in, so slow or idle clients cannot stop the
service, and gunicorn's own errors answer the API's JSON envelope. The README's
Deployment section says why, and how to put nginx in front.

With --watch, one child process (`searchsvc index FOLDERS --watch`) follows the folders
and indexes their changes; the workers see each commit within REFRESH_INTERVAL.

Flask and gunicorn are imported inside the command, so `searchsvc --help` stays fast.
Each worker opens the index lazily on its first request and follows it as it changes.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Sequence

import click

from searchsvc import config
from searchsvc.backends import describe, open_backend
from searchsvc.cli.watch import print_report
from searchsvc.entities import ListError
from searchsvc.searching import BackendUnavailableError, IndexLockedError

ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


@click.command("serve")
@click.option("--host", default=config.DEFAULTS["HOST"], show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=config.DEFAULTS["PORT"], show_default=True, help="Port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=config.DEFAULTS["WORKERS"],
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=config.DEFAULTS["THREADS"],
    show_default=True,
    help="Threads per worker process (SEARCHSVC_THREADS).",
)
@click.option(
    "--index-dir",
    default=config.DEFAULTS["INDEX_DIR"],
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the index lives (SEARCHSVC_INDEX_DIR); built from seeds if missing.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Index the folders again within seconds of a change (one watcher process).",
)
@click.option(
    "--folder",
    "folders",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder to watch with --watch; repeatable (default: SEARCHSVC_SEEDS_DIR).",
)
@click.option(
    "--poll",
    is_flag=True,
    help="With --watch: scan every second instead of file events (network shares).",
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="With --watch: delete even when a folder empties (see `searchsvc index`).",
)
@click.pass_obj
def serve_cmd(
    settings: dict,
    host: str,
    port: int,
    workers: int,
    threads: int,
    index_dir: str,
    watch: bool,
    folders: tuple[str, ...],
    poll: bool,
    allow_delete: bool,
):
    """Serve the search page and JSON API (builds the index first if there is none, from
    the --folder's it will watch, else seeds/)."""
    if folders and not watch:
        raise click.UsageError("--folder names a folder to watch: add --watch")
    if poll and not watch:
        raise click.UsageError("--poll says how to watch: add --watch")
    _check_address(host, port)
    try:
        exists = open_backend(index_dir, settings).exists()
    except BackendUnavailableError as exc:
        raise click.ClickException(str(exc)) from None
    # The first index comes from what will be watched: the folders given, or the seeds.
    folders = folders or (str(settings["SEEDS_DIR"]),)
    if not exists:
        _build_first(index_dir, folders, settings, watch)
    settings = {**settings, "HOST": host, "PORT": port, "WORKERS": workers, "THREADS": threads}
    settings["INDEX_DIR"] = index_dir
    if watch:  # until the watcher's first run, the app says the index is being built
        settings["WATCHING"] = tuple(os.path.abspath(folder) for folder in folders)
    flags = [flag for flag, on in (("--poll", poll), ("--allow-delete", allow_delete)) if on]
    watcher = _start_watcher(index_dir, folders, flags) if watch else None
    try:
        _gunicorn(settings).run()
    finally:
        if watcher is not None:
            _stop_watcher(watcher)


def _check_address(host: str, port: int) -> None:
    """One line and a non-zero exit, before anything else, if host:port cannot be bound.

    gunicorn would otherwise retry for five seconds, logging each attempt, then exit.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is in use by another program: stop it, or serve "
                    f"on another port with --port (or SEARCHSVC_PORT)"
                ) from None
            raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror}") from None


def _start_watcher(index_dir: str, folders: Sequence[str], flags: list[str]) -> subprocess.Popen:
    """`searchsvc index FOLDERS --watch` as this server's one child beside gunicorn's workers.

    Not a thread of the gunicorn master: the master forks workers at any time (at start,
    and to replace one), and a fork during a run would hand the worker copies of the
    writer lock's descriptor (keeping the lock held) and of locks held by other threads.
    Its output goes where the server's does.
    """
    cmd = [sys.executable, "-m", "searchsvc", "index", *folders, "--index-dir", index_dir]
    cmd += ["--watch", "--exit-with", str(os.getpid()), *flags]
    return subprocess.Popen(cmd)


def _stop_watcher(watcher: subprocess.Popen) -> None:
    """SIGTERM: the watcher finishes the run in progress and exits (SIGKILL after a minute)."""
    if watcher.poll() is None:
        watcher.terminate()
    try:
        watcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        watcher.kill()
        watcher.wait()


def entity_lists(settings) -> dict:
    """The name lists the settings point to, as Backend.index takes them."""
    return {
        "people_file": settings["PEOPLE_FILE"] or None,
        "organisations_file": settings["ORGANISATIONS_FILE"] or None,
    }


def _build_first(index_dir: str, folders: Sequence[str], settings: dict, watch: bool) -> None:
    """Build the missing index from folders; refuse to serve nothing unless watching them."""
    where = ", ".join(f"{folder}/" for folder in folders)
    click.echo(f"No index at {describe(index_dir, settings)}; building one from {where}", err=True)
    missing = [folder for folder in folders if not os.path.exists(folder)]
    if missing:
        raise click.ClickException(
            f"{missing[0]} does not exist: create it, or name the folder of releases with "
            f"--watch --folder DIR (or SEARCHSVC_SEEDS_DIR)"
        )
    try:
        report = open_backend(index_dir, settings).index(list(folders), **entity_lists(settings))
    except (OSError, IndexLockedError, ListError) as exc:
        raise click.ClickException(f"Could not build the index: {exc}") from None
    print_report(report)  # each skipped file's reason, then the summary
    if report.total == 0 and watch:
        click.echo(f"searchsvc: nothing to serve until a release arrives in {where}", err=True)
    elif report.total == 0:
        raise click.ClickException(
            f"Nothing was indexed from {where}. Run: searchsvc index PATH --index-dir {index_dir}"
        )


def _announce(where: str):
    """gunicorn's when_ready hook: the line that says what is served, and at which address.

    Said once the socket is bound, so that it names the real port, even for --port 0.
    """

    def when_ready(server) -> None:
        for listener in server.LISTENERS:
            click.echo(f"searchsvc: serving {where} at {listener}/", err=True)

    return when_ready


def _gunicorn(settings: dict):
    """A gunicorn application that serves create_app(settings)."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    # Imported by the master, before it forks: a worker boots without importing Flask and
    # the web package again (0.3 s or more each), so its index starts opening at once.
    from searchsvc.web import create_app, prepare_backend

    class StderrLogger(Logger):
        """gunicorn's logger with the access log on stderr (gunicorn's '-' means stdout)."""

        def setup(self, cfg):
            super().setup(cfg)
            for handler in self.access_log.handlers:
                if getattr(handler, "stream", None) is sys.stdout:
                    handler.setStream(sys.stderr)

    class Server(BaseApplication):
        # gunicorn has no setting for it; searchsvc.cli.workers.SearchWorker reads it here.
        header_timeout = float(settings["HEADER_TIMEOUT"])

        def load_config(self):
            options = {
                "bind": f"{settings['HOST']}:{settings['PORT']}",
                "workers": settings["WORKERS"],
                "worker_class": "searchsvc.cli.workers.SearchWorker",
                "threads": int(settings["THREADS"]),
                "keepalive": int(settings["KEEPALIVE"]),
                "worker_connections": int(settings["CONNECTIONS"]),
                "accesslog": "-",
                "access_log_format": ACCESS_FORMAT,
                "errorlog": "-",
                "logger_class": StderrLogger,
                "proc_name": "searchsvc",
                # gunicorn 25+ opens a control socket at one fixed path under $HOME: two
                # servers would fight over it, and nothing here uses it.
                "control_socket_disable": True,
                # gunicorn's most (its default is 4094); a longer URL gets the envelope's 414
                # (searchsvc.cli.workers). 8190 bytes hold a query of 2,000 ASCII letters, or
                # some 1,300 Cyrillic ones (6 bytes each, percent-encoded).
                "limit_request_line": 8190,
                # gunicorn's defaults, named because the workers' error messages quote them.
                "limit_request_fields": 100,
                "limit_request_field_size": 8190,
            }
            for key, value in options.items():
                if key in self.cfg.settings:  # older gunicorns lack the newer settings
                    self.cfg.set(key, value)
            self.cfg.set("when_ready", _announce(describe(settings["INDEX_DIR"], settings)))

        def load(self):
            app = create_app(settings)
            # In the worker, as it boots: its index opens while the first requests arrive
            # (at 10x the White House corpus 10 s or more), not inside one's deadline.
            prepare_backend(app)
            return app

    return Server()
