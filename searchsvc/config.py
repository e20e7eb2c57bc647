"""Settings: each declared once, with its type, default and help.

    DEFAULTS --SEARCHSVC_* environment--> --explicit values--> load() --> a checked dict

Only the edges read settings, when they start (the CLI in its group, the web app in
create_app); the library takes paths and values as arguments. A value that does not parse
is a ConfigError whose one line names the variable and the type it wants.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from searchsvc.dates import today_in

PREFIX = "SEARCHSVC_"
BACKENDS = ("whoosh", "opensearch")


class ConfigError(ValueError):
    """A setting whose value cannot be used; the message names it and what it takes."""


@dataclass(frozen=True)
class Setting:
    """One setting: its name (without the prefix), default, type and help."""

    name: str
    default: str | int | float
    help: str
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[str], str | None] | None = None  # a text's problem, or None if none

    @property
    def variable(self) -> str:
        """The environment variable that sets it."""
        return PREFIX + self.name

    def parse(self, raw: object, source: str) -> str | int | float:
        """The value raw stands for, checked; raise ConfigError naming source if it cannot."""
        if isinstance(self.default, str):
            problem = self.check(str(raw)) if self.check else None
            if problem:
                raise ConfigError(f"{source} must be {problem}, not {str(raw)[:40]!r}")
            return str(raw)
        text = raw.strip() if isinstance(raw, str) else str(raw)
        kind = int if isinstance(self.default, int) else float
        try:
            value: int | float = kind(text)
        except (TypeError, ValueError):
            what = "a whole number" if isinstance(self.default, int) else "a number"
            raise ConfigError(f"{source} must be {what}, not {str(raw)[:40]!r}") from None
        if not math.isfinite(value):  # nan or inf would silently turn a deadline off
            raise ConfigError(f"{source} must be a finite number, not {str(raw)[:40]!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{source} must be at least {self.minimum:g}, not {value}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{source} must be at most {self.maximum:g}, not {value}")
        return value


def _time_zone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, malformed, too long
        return "a time zone such as UTC or Europe/Berlin"
    return None


def _list_file(path: str) -> str | None:
    if path and not os.path.isfile(path):
        return "a readable YAML file (or empty for the list shipped with searchsvc)"
    return None


def _folder(path: str) -> str | None:
    # Empty (an unset variable in a unit file) would mean the working directory: every file
    # under it indexed, or an index written into it.
    return None if path.strip() else "a folder's path"


SETTINGS: tuple[Setting, ...] = (
    Setting("INDEX_DIR", "index", "Where the index lives.", check=_folder),
    Setting(
        "SEEDS_DIR",
        "seeds",
        "What `searchsvc index` and a first `serve` index by default.",
        check=_folder,
    ),
    Setting("HOST", "127.0.0.1", "The address `searchsvc serve` binds."),
    Setting("PORT", 8000, "The port `searchsvc serve` listens on.", minimum=0, maximum=65535),
    Setting("WORKERS", 2, "Worker processes of `searchsvc serve`.", minimum=1, maximum=64),
    Setting("PAGE_SIZE", 10, "Results per page when a request names no size.", 1, 100),
    Setting(
        "REFRESH_INTERVAL",
        1.0,
        "Seconds between a server's checks for a changed index.",
        minimum=0,
    ),
    Setting(
        "RESULT_CACHE",
        1024,
        "Answers kept per worker for repeated requests, emptied whenever the index changes "
        "(0: none).",
        minimum=0,
    ),
    Setting("THREADS", 8, "Threads per worker process of `searchsvc serve`.", 1, 256),
    Setting(
        "KEEPALIVE",
        5,
        "Seconds an idle kept-alive connection stays open for its next request.",
        minimum=0,
    ),
    Setting(
        "HEADER_TIMEOUT",
        10.0,
        "Seconds a client has, from connecting (or its last answer), to send its headers.",
        minimum=0.1,
    ),
    Setting(
        "REQUEST_TIMEOUT",
        5.0,
        "Seconds a search may take; past it a 503 that says how to narrow it (0: none).",
        minimum=0,
    ),
    Setting(
        "CONNECTIONS",
        1000,
        "Open connections per worker process; beyond it new ones wait to be accepted.",
        minimum=1,
    ),
    Setting(
        "TIMEZONE",
        "UTC",
        "The time zone whose date `today`, `last 7 days` and the other relative dates count "
        "from, when each search runs.",
        check=_time_zone,
    ),
    Setting(
        "PEOPLE_FILE",
        "",
        "The people recognised in releases: a YAML mapping of canonical name to variant "
        "spellings (see People and organisations); empty: the starter list shipped.",
        check=_list_file,
    ),
    Setting(
        "ORGANISATIONS_FILE",
        "",
        "The organisations recognised in releases, in the same format; empty: the starter "
        "list shipped.",
        check=_list_file,
    ),
    Setting(
        "VARIANTS",
        "builtin",
        "Files of name spellings searched together, separated by `:` (`builtin`: the shipped "
        "lists; empty: none). Read again when they change, no reindex.",
    ),
    Setting(
        "BACKEND",
        "whoosh",
        "The search engine: `whoosh` (embedded, the index in INDEX_DIR) or `opensearch` (a "
        "cluster at OPENSEARCH_URL).",
        check=lambda v: None if v in BACKENDS else "whoosh or opensearch",
    ),
    Setting("OPENSEARCH_URL", "http://localhost:9200", "The OpenSearch cluster's address."),
    Setting(
        "OPENSEARCH_INDEX",
        "searchsvc",
        "The alias searchsvc reads and writes on the cluster (each rebuild makes a new index "
        "behind it).",
    ),
    Setting("OPENSEARCH_USER", "", "User name for the cluster's basic authentication."),
    Setting("OPENSEARCH_PASSWORD", "", "Password for the cluster's basic authentication."),
    Setting(
        "OPENSEARCH_SHARDS",
        1,
        "Primary shards of the index a rebuild (or the first run) creates (see Scaling out).",
        minimum=1,
        maximum=1024,
    ),
    Setting(
        "OPENSEARCH_REPLICAS",
        0,
        "Replicas of each shard in that index: 1 or more for a cluster that must survive a "
        "node lost.",
        minimum=0,
        maximum=16,
    ),
    Setting(
        "EXPORT_LIMIT",
        100000,
        "Rows an export gives at most; past it the answer says it was cut short.",
        minimum=1,
    ),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
DEFAULTS: dict[str, object] = {s.name: s.default for s in SETTINGS}


def load(
    explicit: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Defaults overridden by SEARCHSVC_* variables, overridden by explicit values, checked."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for s in SETTINGS:
        raw = environ.get(s.variable)
        if raw is not None:
            settings[s.name] = s.parse(raw, s.variable)
    for name, value in (explicit or {}).items():
        setting = BY_NAME.get(name)
        settings[name] = setting.parse(value, name) if setting else value
    return settings


def today(settings: Mapping[str, object]) -> date:
    """Today in the settings' TIMEZONE, which relative dates count from.

    A CLOCK entry (a function giving an aware datetime, as tests pass in) stands in for the
    system clock.
    """
    clock = settings.get("CLOCK")
    now = clock() if callable(clock) else None
    return today_in(str(settings["TIMEZONE"]), now)
