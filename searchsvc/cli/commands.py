"""The `searchsvc` command: index, search, similar, export, stats, check and serve.

A thin click layer over the library: it reads options (defaulting from the same settings
as the web app), calls one library function, and turns every expected error into one
line that says what to do next. Never a traceback. A warning of the engine (an older
generation served because the live one is damaged) goes to stderr.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import urlencode

import click

from searchsvc import config
from searchsvc.cli.serve import entity_lists, serve_cmd
from searchsvc.cli.watch import disk_error, follow, print_report
from searchsvc.entities import ListError
from searchsvc.searching import (
    EXPORT_FIELDS,
    DeadlineExceededError,
    DeleteRefusedError,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
)

# Options whose default is a setting of another name than their own (--size: PAGE_SIZE).
SETTING_OF = {"size": "PAGE_SIZE", "timeout": "REQUEST_TIMEOUT", "limit": "EXPORT_LIMIT"}


class SettingsGroup(click.Group):
    """A group that reads the settings when it starts, not at import.

    Every option named after a setting (--index-dir: INDEX_DIR, --port: PORT, ...) takes its
    default from it, through click's default_map, so `--help` shows the values in force.
    A setting that does not parse stops here with one line that names it.
    """

    def make_context(self, info_name, args, parent=None, **extra):
        if parent is None and "obj" not in extra:
            try:
                settings = config.load()
            except config.ConfigError as exc:
                raise click.ClickException(str(exc)) from None
            extra["obj"] = settings
            extra.setdefault("default_map", self._default_map(settings))
        return super().make_context(info_name, args, parent=parent, **extra)

    def _default_map(self, settings: dict) -> dict:
        defaults: dict[str, dict] = {}
        for name, command in self.commands.items():
            for param in command.params:
                setting = SETTING_OF.get(param.name or "", (param.name or "").upper())
                if setting in settings:
                    defaults.setdefault(name, {})[param.name] = settings[setting]
        return defaults


def _index_dir_option(f):
    return click.option(
        "--index-dir",
        default=config.DEFAULTS["INDEX_DIR"],
        show_default=True,
        type=click.Path(file_okay=False),
        help="Where the index lives (SEARCHSVC_INDEX_DIR).",
    )(f)


def _json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")(f)


def _timeout_option(what: str):
    """--timeout: the seconds `what` may take, defaulting from SEARCHSVC_REQUEST_TIMEOUT."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=config.DEFAULTS["REQUEST_TIMEOUT"],
        show_default=True,
        callback=_finite,
        help=f"Seconds {what} may take; 0: no limit (SEARCHSVC_REQUEST_TIMEOUT).",
    )


def _finite(ctx, param, value: float) -> float:
    """Refuse nan and inf, which FloatRange lets through (and which mean no deadline)."""
    if not math.isfinite(value):
        zero = "; 0 means no limit" if param.name == "timeout" else ""
        raise click.BadParameter(f"{value} is not a number of seconds{zero}.")
    return value


@contextmanager
def _friendly_errors(index_dir: str):
    """Turn the library's expected errors into one-line messages with a fix."""
    from searchsvc.searching import BackendUnavailableError, SearchError

    try:
        yield
    except IndexNotFoundError as exc:
        if "Run:" in str(exc):  # the backend says where and how (OpenSearch: which alias)
            raise click.ClickException(str(exc)) from None
        raise click.ClickException(
            f"No index at {index_dir}/. Run: searchsvc index --index-dir {index_dir}"
        ) from None
    except (
        IndexLockedError,
        IndexDamagedError,
        SearchError,
        DeadlineExceededError,
        DeleteRefusedError,
        BackendUnavailableError,
    ) as exc:
        raise click.ClickException(str(exc)) from None
    except ListError as exc:
        raise click.ClickException(f"{exc}. Fix the list, or unset the setting.") from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise  # stdout's reader went away (| head): click stops quietly, as Unix tools do
        line = disk_error(exc, index_dir) or f"{exc.strerror or exc}: {exc.filename or ''}"
        raise click.ClickException(line) from None


@click.group(cls=SettingsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="searchsvc")
def main():
    """Full-text search for press releases: index folders, then search them."""


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@_index_dir_option
@click.option("--rebuild", is_flag=True, help="Build a new index and swap it in atomically.")
@click.option("--strict", is_flag=True, help="Exit non-zero if any file was skipped.")
@click.option("--procs", type=click.IntRange(1, 64), help="Worker processes (default: cores).")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    callback=_finite,
    help="Seconds to wait for another indexer to finish.",
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="Delete even when that empties a folder or takes more than 20% of the index.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: index again within seconds whenever files under PATHS change.",
)
@click.option(
    "--poll",
    is_flag=True,
    help="With --watch: scan every second instead of file events (network shares).",
)
@click.option("--exit-with", type=int, hidden=True, help="With --watch: stop when PID exits.")
@click.pass_obj
def index_cmd(
    settings, paths, index_dir, rebuild, strict, procs, wait, allow_delete, watch, poll, exit_with
):
    """Index PATHS (files or folders; default: the bundled seeds/)."""
    from searchsvc.backends import open_backend

    if poll and not watch:
        raise click.UsageError("--poll says how to watch: add --watch")
    if not paths and not os.path.exists(settings["SEEDS_DIR"]):  # as PATH's exists=True
        raise click.UsageError(
            f"The default folder {settings['SEEDS_DIR']} (SEARCHSVC_SEEDS_DIR) does not "
            "exist: give a PATH, or set SEARCHSVC_SEEDS_DIR to a folder of releases."
        )
    paths = paths or (settings["SEEDS_DIR"],)
    options = dict(rebuild=rebuild, procs=procs, wait=wait, allow_delete=allow_delete)
    options.update(entity_lists(settings))
    if watch:
        follow(index_dir, paths, options, poll=poll, exit_with=exit_with, settings=settings)
        return
    try:
        with _friendly_errors(index_dir), _progress() as progress:
            report = open_backend(index_dir, settings).index(paths, progress=progress, **options)
    except KeyboardInterrupt:
        click.echo(
            f"Interrupted: the index at {index_dir} stays as its last commit left it. "
            "Run the same command again to finish.",
            err=True,
        )
        sys.exit(130)  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped
    print_report(report)
    if report.skipped and strict:
        sys.exit(1)
    if report.total == 0 and not report.deleted:  # emptied on purpose, with --allow-delete
        raise click.ClickException(f"Nothing was indexed from {', '.join(paths)}.")


@contextmanager
def _progress():
    """A progress bar on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="indexing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _search_options(f, params=None):
    """The search parameters' options, from their one declaration (searching/request.py)."""
    from searchsvc.searching import PARAMS, SearchRequest

    for p in reversed(PARAMS if params is None else params):
        if p.name == "q":
            continue  # the QUERY argument
        default = SearchRequest.__dataclass_fields__[p.attr].default
        if p.kind is bool:  # a flag: --strict; one on by default also has --no-group
            flag = f"--{p.name}/--no-{p.name}" if default else f"--{p.name}"
            f = click.option(flag, p.attr, is_flag=True, default=default, help=p.help)(f)
            continue
        if p.multiple:  # a facet: --place ghana --place nigeria --place -usa
            f = click.option(f"--{p.name}", p.attr, multiple=True, metavar="VALUE", help=p.help)(f)
            continue
        kind = click.Choice(p.choices) if p.choices else p.kind
        show = default not in (None, "")
        f = click.option(
            f"--{p.name}", p.attr, type=kind, default=default, show_default=show, help=p.help
        )(f)
    return f


@main.command("search")
@click.argument("query", default="")
@_search_options
@_json_option
@_timeout_option("the search")
@_index_dir_option
@click.pass_obj
def search_cmd(settings, query, index_dir, as_json, timeout, **params):
    """Search the index for QUERY and print the ranked results."""
    from searchsvc.backends import open_backend
    from searchsvc.deadline import Deadline
    from searchsvc.searching import SearchRequest
    from searchsvc.web import search_payload

    today = config.today(settings)  # what relative dates count from
    with _friendly_errors(index_dir), open_backend(index_dir, settings) as backend:
        backend.freshness()  # the deadline starts once the index is open, as in a server
        result = backend.search(SearchRequest(q=query, **params), Deadline(timeout), today)
        _warn(backend)
    if as_json:
        args = replace(result.request, page=1).query_args()  # the page last, as the API
        args["page"] = str(result.request.page + 1)
        next_url = f"/api/search?{urlencode(args, doseq=True)}"
        payload = search_payload(result, next_url if result.has_next else None)
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    _print_result(result)


@main.command("similar")
@click.argument("doc_id", metavar="ID")
@_json_option
@_timeout_option("finding them")
@_index_dir_option
@click.pass_obj
def similar_cmd(settings, doc_id, as_json, timeout, index_dir):
    """List up to 10 releases most like the document ID (more like this)."""
    from searchsvc.backends import open_backend
    from searchsvc.cli.format import format_similar
    from searchsvc.deadline import Deadline
    from searchsvc.web import similar_payload

    with _friendly_errors(index_dir), open_backend(index_dir, settings) as backend:
        backend.freshness()  # the deadline starts once the index is open, as in a server
        result = backend.similar(doc_id, deadline=Deadline(timeout))
        _warn(backend)
    if result is None:
        raise click.ClickException(
            f"No document has the id {doc_id!r}. Find ids with: searchsvc search QUERY"
        )
    if as_json:
        click.echo(json.dumps(similar_payload(result), indent=2, ensure_ascii=False))
        return
    for line in format_similar(result):
        click.echo(line)


def _export_options(f):
    """The search parameters that mean something to an export: all but page and size."""
    from searchsvc.searching import EXPORT_PARAMS

    return _search_options(f, EXPORT_PARAMS)


@main.command("export")
@click.argument("query", default="")
@_export_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV for a spreadsheet, or JSON Lines (one object a line) for a program.",
)
@click.option(
    "--fields",
    default="",
    help=f"Columns, comma-separated, of {', '.join(EXPORT_FIELDS)} (default: all but body).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE, not stdout.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=config.DEFAULTS["EXPORT_LIMIT"],
    show_default=True,
    help="Rows at most; past it a last line says so (SEARCHSVC_EXPORT_LIMIT).",
)
@_timeout_option("finding and ordering the matches")
@_index_dir_option
@click.pass_obj
def export_cmd(settings, query, fmt, fields, output, limit, timeout, index_dir, **params):
    """Write every release matching QUERY (not one page) as CSV or JSON Lines."""
    from searchsvc.backends import open_backend
    from searchsvc.deadline import Deadline
    from searchsvc.searching import SearchRequest, parse_fields
    from searchsvc.web import export_chunks, truncation_message

    today = config.today(settings)
    with _friendly_errors(index_dir), open_backend(index_dir, settings) as backend:
        columns = parse_fields(fields)
        backend.freshness()  # the deadline starts once the index is open, as in a server
        request = SearchRequest(q=query, **params)
        export = backend.export(request, limit=limit, deadline=Deadline(timeout), today=today)
        with contextlib.closing(export.rows), click.open_file(output or "-", "wb") as out:
            for chunk in export_chunks(export, fmt, columns):
                out.write(chunk)
        _warn(backend)
    where = f" to {output}" if output else ""
    click.echo(f"{len(export.rows):,} rows{where}, {export.order} first", err=True)
    if export.truncated:
        click.echo(f"warning: {truncation_message(export)}", err=True)


def _print_result(result) -> None:
    from searchsvc.cli.format import format_result

    for line in format_result(result):
        click.echo(line)


@main.command("stats")
@_index_dir_option
@click.pass_obj
def stats_cmd(settings, index_dir):
    """Show how many documents the index holds, their dates, and its size."""
    from searchsvc.backends import open_backend

    with _friendly_errors(index_dir):
        backend = open_backend(index_dir, settings)
        stats = backend.stats()
        _warn(backend)
    first = stats.first_date.date().isoformat() if stats.first_date else "-"
    last = stats.last_date.date().isoformat() if stats.last_date else "-"
    click.echo(f"documents: {stats.documents} ({stats.undated} undated)")
    click.echo(f"dates: {first} .. {last}")
    click.echo("per year: " + ", ".join(f"{y}:{n}" for y, n in stats.per_year.items()))
    click.echo(f"index size: {stats.size_bytes / 1e6:.1f} MB at {stats.path}")
    click.echo(f"updated: {stats.updated_at:%Y-%m-%d %H:%M:%S}")


def _warn(backend) -> None:
    """Print the backend's warning, if any (an older state answers), to stderr."""
    warning = backend.freshness().warning
    if warning:
        click.echo(f"warning: {warning}", err=True)


@main.command("check")
@_index_dir_option
@click.pass_obj
def check_cmd(settings, index_dir):
    """Verify every file of the live index generation against its checksums."""
    from searchsvc.backends import open_backend

    with _friendly_errors(index_dir), open_backend(index_dir, settings) as backend:
        report = backend.verify()
    click.echo(
        f"checked {report.files} files, {report.bytes:,} bytes of {report.path} "
        f"in {report.seconds:.2f} s"
    )
    if report.unverified:
        click.echo(
            f"{len(report.unverified)} files have no checksum yet (the next "
            f"`searchsvc index` lists them): {', '.join(report.unverified)}"
        )
    if not report.problems:
        verified = report.files - len(report.unverified)
        if not report.unverified:
            click.echo("intact")
        elif verified:
            click.echo(f"no damage in the {verified} files verified; the rest are not verified")
        else:
            click.echo("nothing verified: no file has a checksum yet")
        return
    for line in report.problems:
        click.echo(f"damaged: {line}", err=True)
    click.echo(f"run: searchsvc index PATH --rebuild --index-dir {index_dir}", err=True)
    sys.exit(1)


main.add_command(serve_cmd, "serve")


if __name__ == "__main__":
    main()
