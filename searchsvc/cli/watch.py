"""`searchsvc index --watch`: index, then index again each time the folders change.

    start the watcher --> one run now (catch up) --> each settled burst of changes --> one run
    each run: the backend's index() under the writer lock, its summary and skipped files
    printed as `searchsvc index` prints them; a refusal of the delete guard (an emptied or
    unmounted folder), a lock held too long or a damaged index is one line, and the watch
    goes on

`searchsvc serve --watch` runs this command as its one child process (see serve.py). It
stops on SIGTERM or SIGINT, after the run in progress, and with the server that started
it (--exit-with PID).
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Mapping, Sequence

import click

from searchsvc.backends import open_backend
from searchsvc.reading import Watcher, printable
from searchsvc.searching import DeleteRefusedError, IndexDamagedError, IndexLockedError

# A watched run waits this long for another indexer (a manual `searchsvc index`) to finish.
LOCK_WAIT = 30.0


def follow(
    index_dir: str,
    paths: Sequence[str],
    options: dict,
    *,
    poll: bool,
    exit_with: int | None,
    settings: Mapping[str, object] | None = None,
) -> None:
    """Index paths now and on every settled change, until SIGTERM, SIGINT or exit_with dies."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if exit_with:
        # The server's child lives as long as the server: a hangup of the terminal reaches
        # the whole group, and gunicorn's master survives it (HUP reloads its workers).
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        threading.Thread(target=_stop_with, args=(exit_with, stop), daemon=True).start()
    backend = open_backend(index_dir, settings)
    options = {**options, "wait": max(options.get("wait") or 0.0, LOCK_WAIT)}
    first = {"rebuild": options.pop("rebuild", False)}

    def run(changed: set[str]) -> None:
        _run(backend, paths, {**options, **first})
        first["rebuild"] = False  # only the first run rebuilds

    # The index directory may lie inside a watched folder: its writes are not news.
    watcher = Watcher(paths, run, poll=poll, ignore=[index_dir])
    try:
        watcher.run(stop, catch_up=True, on_start=lambda: _watching(watcher, paths, index_dir))
    finally:
        backend.close()
    click.echo("searchsvc: stopped watching", err=True)


def _watching(watcher: Watcher, paths: Sequence[str], index_dir: str) -> None:
    where = ", ".join(printable(p) for p in paths)
    click.echo(
        f"searchsvc: watching {where} ({watcher.method}) for {printable(index_dir)}, "
        f"pid {os.getpid()}",
        err=True,
    )


def _run(backend, paths: Sequence[str], options: dict) -> None:
    """One indexing run, reported as `searchsvc index` reports it; errors are one line."""
    try:
        # A refusal holds the deletions back: new and changed releases are still indexed.
        report = backend.index(paths, hold_deletes=not options.get("rebuild"), **options)
    except (DeleteRefusedError, IndexLockedError, IndexDamagedError) as exc:
        click.echo(f"searchsvc: not indexed: {exc} Still watching.", err=True)
        return
    except OSError as exc:
        index_dir = str(getattr(backend, "index_dir", ""))
        line = disk_error(exc, index_dir) or f"{exc!r:.300}."
        click.echo(f"searchsvc: not indexed: {line} Still watching.", err=True)
        return
    except Exception as exc:  # noqa: BLE001 - a watch outlives one bad run, and says why
        click.echo(f"searchsvc: not indexed: {exc!r:.300}. Still watching.", err=True)
        return
    print_report(report)


def disk_error(exc: OSError, index_dir: str) -> str | None:
    """The fix-it line for a disk that cannot take the index's writes (full, read-only)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what, fix = "No space left on the disk", "free some space"
    elif exc.errno == errno.EROFS:
        what, fix = "The disk is read-only", "mount it writable"
    else:
        return None
    return (
        f"{what} of the index at {index_dir} ({exc.strerror}). The index stays as its last "
        f"commit left it (searchsvc check verifies it); {fix}, or give --index-dir a "
        f"folder on another disk, then run again."
    )


def print_report(report) -> None:
    """A run's skipped files and warnings (stderr, one line each) and its summary (stdout)."""
    for skipped in report.skipped:
        # One line each: a name's control characters are escaped; reasons name JSONL lines.
        click.echo(f"skipped {printable(skipped.path)}: {skipped.reason}", err=True)
    for warning in report.warnings:
        click.echo(f"warning {printable(warning.path)}: {warning.reason}", err=True)
    click.echo(report.summary())
    if report.held:  # a watch's run: what it kept, and how to let it go
        click.echo(
            f"held back: {report.held_because.removesuffix(_AGAIN)} To let them go, run "
            "`searchsvc index` with the same paths and --allow-delete once; the watch goes "
            "on, indexing new and changed releases meanwhile.",
            err=True,
        )


_AGAIN = " If that is intended, run again with --allow-delete."


def _stop_with(pid: int, stop: threading.Event) -> None:
    """Set stop once the process pid is no longer this one's parent (it died)."""
    while not stop.wait(1.0):
        if os.getppid() != pid:
            stop.set()
