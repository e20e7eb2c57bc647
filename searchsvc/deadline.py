"""Deadlines: how long one request may take, checked between and inside its phases.

    the edge (web, API, CLI) --Deadline(seconds)--> Engine.search(request, deadline)
    each phase (parsing, expansion, ranking, proximity, snippets, facets, suggestion)
        --deadline.check(phase)--> goes on, or raises DeadlineExceededError

Python cannot stop a computation from outside without killing the process (which is what
gunicorn does to a worker past its own timeout: the client gets an HTML 500). So the work
itself looks at the clock: between phases, and in every loop whose length depends on the
query or the corpus. A check costs one clock read (about 50 ns), so loops check per item.
The edges turn the error into a 503 with a message that says how to narrow the query.

The library never reads the setting: the edges pass the seconds in (``REQUEST_TIMEOUT``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]

ADVICE = (
    "narrow the query: fewer words, more letters before a *, fewer fuzzy~ words, "
    "or a date range or filter"
)


class DeadlineExceededError(Exception):
    """A request ran past its deadline; the message says how to narrow it."""

    def __init__(self, seconds: float, phase: str = ""):
        self.seconds = seconds
        self.phase = phase
        super().__init__(f"The search took too long (over {seconds:g} s); {ADVICE}.")


class Deadline:
    """A point in time a request must finish by, on a monotonic clock."""

    __slots__ = ("seconds", "_clock", "_end")

    def __init__(self, seconds: float | None, clock: Clock = time.monotonic):
        """A deadline `seconds` from now; None, 0 or less (or infinity) means none."""
        self.seconds = seconds if seconds and seconds > 0 and math.isfinite(seconds) else None
        self._clock = clock
        self._end = math.inf if self.seconds is None else clock() + self.seconds

    @classmethod
    def never(cls) -> Deadline:
        """A deadline that never passes, for callers that want none."""
        return cls(None)

    def remaining(self) -> float:
        """Seconds left (never below 0; infinity for no deadline)."""
        if self.seconds is None:
            return math.inf
        return max(self._end - self._clock(), 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.seconds is not None and self._clock() >= self._end

    def check(self, phase: str = "") -> None:
        """Raise DeadlineExceededError if the deadline has passed; phase names where."""
        if self.seconds is not None and self._clock() >= self._end:
            raise DeadlineExceededError(self.seconds, phase)

    def __repr__(self) -> str:
        if self.seconds is None:
            return "Deadline.never()"
        return f"Deadline({self.seconds:g} s, {self.remaining():.3f} s left)"


NEVER = Deadline.never()
