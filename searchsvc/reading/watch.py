"""Following folders: file events, batched, become one call of a callback (an indexing run).

    file events (watchdog: inotify, or polling) --Batch.add()--> changed paths
    no event for QUIET s, or MAX_DELAY s since the first --> due
    due --each changed path's size and mtime, checked twice SETTLE s apart--> stable?
        no: check again in SETTLE s (at most MAX_SETTLE s in all, then run anyway: a file
            still growing is picked up by the run after its next write)
        yes --> on_batch(paths), in the watcher's own thread

A burst (a thousand files copied in at once) is one run; a file still being written is not
read half-written. Opening and reading files raises no event here, so the indexer reading
the folder does not wake the watcher; events under `ignore` (the index directory, if it
lies inside a watched folder) are dropped. Batch is pure logic on an injected clock and
stat; Watcher adds the observer thread and the loop.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from searchsvc.reading.discovery import SUPPORTED_SUFFIXES

# Events that mean a file's content, name or presence changed; opening, reading and closing
# unwritten (what the indexer itself does) are not among them.
CHANGES = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_ATTRIB,  # chmod, touch: a file may become readable
}

POLL_INTERVAL = 1.0  # seconds between two scans of the polling observer
STOP_CHECK = 0.25  # the loop looks at its stop event at least this often

Clock = Callable[[], float]
StatKey = tuple[int, int] | None  # (size, mtime_ns), or None for a path that is gone


@dataclass(frozen=True)
class Timings:
    """How long a watcher waits before a run."""

    quiet: float = 1.0  # run once no event came for this long...
    max_delay: float = 5.0  # ...or this long after the first event of a burst
    settle: float = 1.0  # changed files keep their size and mtime across checks this far apart
    max_settle: float = 60.0  # past this since the first event, run even if a file still changes


def stat_key(path: str) -> StatKey:
    """A path's size and mtime, or None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


_UNSEEN = object()


class Batch:
    """The changed paths since the last run, and when they are ready for the next one."""

    def __init__(self, timings: Timings = Timings(), stat: Callable[[str], StatKey] = stat_key):
        self.timings = timings
        self.stat = stat
        self.paths: set[str] = set()
        self.first: float | None = None  # when the first event of this batch came
        self.last = 0.0  # when the latest came
        self.checked: dict[str, object] = {}  # path -> its stat at the previous check
        self.next_check = 0.0

    def add(self, path: str, now: float) -> None:
        """Note a changed path."""
        self.paths.add(path)
        if self.first is None:
            self.first = now
        self.last = now

    def poll(self, now: float) -> tuple[set[str] | None, float | None]:
        """(the paths to run on now, or None; seconds until the next poll, None: on an event)."""
        if self.first is None:
            return None, None
        t = self.timings
        due = max(min(self.last + t.quiet, self.first + t.max_delay), self.next_check)
        if now < due:
            return None, due - now
        if self._unsettled() and now < self.first + t.max_settle:
            self.next_check = now + t.settle
            return None, t.settle
        paths = self.paths
        self.paths, self.first, self.checked, self.next_check = set(), None, {}, 0.0
        return paths, None

    def _unsettled(self) -> bool:
        """Stat every changed path; whether any differs from the previous check."""
        now = {p: self.stat(p) for p in self.paths}
        unsettled = any(self.checked.get(p, _UNSEEN) != key for p, key in now.items())
        self.checked = dict(now)
        return unsettled


class _Handler(FileSystemEventHandler):
    """Passes each change under a root and outside `ignore` to the watcher."""

    def __init__(self, notice: Callable[[str], None], roots: Sequence[str], ignore: Sequence[str]):
        self.notice = notice
        self.roots = [os.path.abspath(p) for p in roots]
        self.ignore = [os.path.abspath(p) for p in ignore]

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES:
            return
        for raw in (event.src_path, event.dest_path):
            path = os.fsdecode(raw)
            if not path or (not event.is_directory and not _may_be_read(path)):
                continue
            full = os.path.abspath(path)
            # A file given as a root is watched through its folder: not its neighbours.
            if any(_under(full, r) for r in self.roots) and not any(
                _under(full, i) for i in self.ignore
            ):
                self.notice(path)


def _may_be_read(path: str) -> bool:
    """Whether a file at path would be indexed by its name: a log appended beside the
    releases (or an editor's temporary file) makes no run of its own."""
    return os.path.splitext(path)[1].lower() in SUPPORTED_SUFFIXES


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Roots:
    """The watches of the paths given, scheduled again when a path comes back or is remounted.

    An observer loses a folder that is removed or unmounted (inotify drops its watch), and
    never learns of the one mounted in its place: each path's (device, inode) is checked
    every ROOT_CHECK seconds, and a change reschedules its watch and counts as an event.
    """

    def __init__(self, paths: Sequence[str], handler: _Handler):
        self.paths, self.handler = paths, handler
        self.known: dict[str, tuple[object, object]] = {}  # path -> (its key, its watch)

    def check(self, observer, notice: Callable[[str], None]) -> None:
        """Schedule each path whose identity changed; OSError if the observer cannot."""
        for path in self.paths:
            folder, recursive = (path, True) if os.path.isdir(path) else _parent(path)
            key = _identity(folder)
            old_key, watch = self.known.get(path, (_UNSEEN, None))
            if key == old_key:
                continue
            if watch is not None:
                observer.unschedule(watch)
                watch = None
            if key is not None:
                try:
                    watch = observer.schedule(self.handler, folder, recursive=recursive)
                except (FileNotFoundError, NotADirectoryError):  # gone again meanwhile
                    key = None
            if old_key is not _UNSEEN:
                notice(path)  # it came, went or was remounted: a run looks at it
            self.known[path] = (key, watch)


def _parent(path: str) -> tuple[str, bool]:
    # A file is watched through its folder (editors replace files by renaming).
    return os.path.dirname(os.path.abspath(path)), False


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


ROOT_CHECK = 2.0  # seconds between two checks that each path given is the one watched


class Watcher:
    """Calls on_batch(changed paths) once each burst of changes under paths has settled.

    With poll=False it uses the system's events (inotify on Linux) and falls back to
    polling every POLL_INTERVAL s if they cannot be had (no inotify, its limits reached);
    `method` says which. Network shares deliver no inotify events for others' writes: poll.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        on_batch: Callable[[set[str]], None],
        *,
        timings: Timings = Timings(),
        poll: bool = False,
        ignore: Iterable[str | Path] = (),
        clock: Clock = time.monotonic,
        stat: Callable[[str], StatKey] = stat_key,
    ):
        self.paths = [str(p) for p in paths]
        self.on_batch = on_batch
        self.clock = clock
        self.batch = Batch(timings, stat)
        self.poll = poll
        self.method = ""
        self._handler = _Handler(self._notice, self.paths, [str(p) for p in ignore])
        self._changed = threading.Condition()

    def _notice(self, path: str) -> None:
        with self._changed:
            self.batch.add(path, self.clock())
            self._changed.notify()

    def run(
        self,
        stop: threading.Event,
        catch_up: bool = False,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """Watch until stop is set; call on_batch from this thread (its errors propagate).

        on_start is called once the observer runs (`method` says how it watches). With
        catch_up, on_batch(set()) follows at once: a run then sees every change made while
        nobody watched, and none made during it is missed.
        """
        observer, roots = self._start()
        try:
            if on_start:
                on_start()
            if catch_up:
                self.on_batch(set())
            checked = self.clock()
            while not stop.is_set():
                if self.clock() - checked >= ROOT_CHECK:
                    with contextlib.suppress(OSError):  # inotify's limits: the next check retries
                        roots.check(observer, self._notice)
                    checked = self.clock()
                with self._changed:
                    paths, wait = self.batch.poll(self.clock())
                    if paths is None:
                        self._changed.wait(min(wait or STOP_CHECK, STOP_CHECK))
                        continue
                self.on_batch(paths)  # events meanwhile make the next batch
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _start(self):
        """Start an observer of every path: the system's events, else polling."""
        if self.poll:
            return self._observe(PollingObserver(timeout=POLL_INTERVAL), "polling")
        observer = Observer()
        # InotifyObserver -> "inotify" (FSEventsObserver on macOS, ...)
        name = type(observer).__name__.removesuffix("Observer").lower()
        try:
            return self._observe(observer, name)
        except OSError as exc:  # no inotify, or its limits reached
            method = f"polling (file events unavailable: {exc.strerror or exc})"
            return self._observe(PollingObserver(timeout=POLL_INTERVAL), method)

    def _observe(self, observer, method: str):
        observer.start()
        roots = _Roots(self.paths, self._handler)
        try:
            roots.check(observer, self._notice)
        except BaseException:
            observer.stop()
            observer.join(timeout=5)
            raise
        self.method = method
        return observer, roots
