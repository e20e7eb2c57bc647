"""The `searchsvc` command: index, search, stats and serve.

A thin click layer over the library: it reads options (defaulting from the same settings
as the web app), calls one library function, and turns every expected error into one
line that says what to do next. Never a traceback. A warning of the engine (an older
generation served because the live one is damaged) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from searchsvc import config
from searchsvc.serve import serve_cmd
from searchsvc.storage import IndexDamagedError, IndexLockedError, IndexNotFoundError

SETTINGS = config.load()


def _index_dir_option(f):
    return click.option(
        "--index-dir",
        default=SETTINGS["INDEX_DIR"],
        show_default=True,
        type=click.Path(file_okay=False),
        help="Where the index lives (SEARCHSVC_INDEX_DIR).",
    )(f)


@contextmanager
def _friendly_errors(index_dir: str):
    """Turn the library's expected errors into one-line messages with a fix."""
    from searchsvc.deadline import DeadlineExceededError
    from searchsvc.search import SearchError

    try:
        yield
    except IndexNotFoundError:
        raise click.ClickException(
            f"No index at {index_dir}/. Run: searchsvc index --index-dir {index_dir}"
        ) from None
    except (IndexLockedError, IndexDamagedError, SearchError, DeadlineExceededError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="searchsvc")
def main():
    """Full-text search for press releases: index folders, then search them."""


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@_index_dir_option
@click.option("--rebuild", is_flag=True, help="Build a new index and swap it in atomically.")
@click.option("--strict", is_flag=True, help="Exit non-zero if any file was skipped.")
@click.option("--procs", type=click.IntRange(1, 64), help="Worker processes (default: cores).")
@click.option(
    "--wait", type=float, default=0.0, help="Seconds to wait for another indexer to finish."
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="Delete even when that empties a folder or takes more than 20% of the index.",
)
def index_cmd(paths, index_dir, rebuild, strict, procs, wait, allow_delete):
    """Index PATHS (files or folders; default: the bundled seeds/)."""
    from searchsvc.deletions import DeleteRefusedError
    from searchsvc.discovery import printable
    from searchsvc.indexer import index_paths

    paths = paths or (SETTINGS["SEEDS_DIR"],)
    options = dict(rebuild=rebuild, procs=procs, wait=wait, allow_delete=allow_delete)
    with _friendly_errors(index_dir), _progress() as progress:
        try:
            report = index_paths(index_dir, paths, progress=progress, **options)
        except DeleteRefusedError as exc:
            raise click.ClickException(str(exc)) from None
    for skipped in report.skipped:
        # One line each: a name's control characters are escaped; reasons name JSONL lines.
        click.echo(f"skipped {printable(skipped.path)}: {skipped.reason}", err=True)
    click.echo(report.summary())
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


@main.command("search")
@click.argument("query", default="")
@click.option("--from", "date_from", help="Earliest date: 2023, 2023-05, 5 May 2023.")
@click.option("--to", "date_to", help="Latest date, read the same way.")
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--size", type=int, default=SETTINGS["PAGE_SIZE"], show_default=True)
@click.option("--source", help="Only this source.")
@click.option("--category", help="Only this category.")
@click.option("--place", help="Only this place.")
@click.option("--year", help="Only this year, e.g. 2023.")
@click.option("--month", help="Only this month, e.g. 2023-05.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=SETTINGS["REQUEST_TIMEOUT"],
    show_default=True,
    help="Seconds the search may take; 0: no limit (SEARCHSVC_REQUEST_TIMEOUT).",
)
@_index_dir_option
def search_cmd(query, index_dir, as_json, timeout, **params):
    """Search the index for QUERY and print the ranked results."""
    from searchsvc.deadline import Deadline
    from searchsvc.engine import Engine
    from searchsvc.payload import search_payload
    from searchsvc.search import SearchRequest

    with _friendly_errors(index_dir), Engine(index_dir) as engine:
        engine.snapshot()  # the deadline starts once the index is open, as in a server
        result = engine.search(SearchRequest(q=query, **params), Deadline(timeout))
        _warn(engine)
    if as_json:
        click.echo(json.dumps(search_payload(result), indent=2, ensure_ascii=False))
        return
    _print_result(result)


def _print_result(result) -> None:
    from searchsvc.cli_format import format_result

    for line in format_result(result):
        click.echo(line)


@main.command("stats")
@_index_dir_option
def stats_cmd(index_dir):
    """Show how many documents the index holds, their dates, and its size."""
    from searchsvc.engine import Engine

    with _friendly_errors(index_dir):
        engine = Engine(index_dir)
        stats = engine.stats()
        _warn(engine)
    first = stats.first_date.date().isoformat() if stats.first_date else "-"
    last = stats.last_date.date().isoformat() if stats.last_date else "-"
    click.echo(f"documents: {stats.documents} ({stats.undated} undated)")
    click.echo(f"dates: {first} .. {last}")
    click.echo("per year: " + ", ".join(f"{y}:{n}" for y, n in stats.per_year.items()))
    click.echo(f"index size: {stats.size_bytes / 1e6:.1f} MB at {stats.path}")
    click.echo(f"updated: {stats.updated_at:%Y-%m-%d %H:%M:%S}")


def _warn(engine) -> None:
    """Print the engine's warning, if any, to stderr."""
    warning = engine.health().warning
    if warning:
        click.echo(f"warning: {warning}", err=True)


@main.command("check")
@_index_dir_option
def check_cmd(index_dir):
    """Verify every file of the live index generation against its checksums."""
    from searchsvc import storage
    from searchsvc.engine import Engine

    with _friendly_errors(index_dir):
        gen = storage.current_generation(index_dir)
        if gen is None:
            raise IndexNotFoundError(index_dir)
        verdict = storage.verify_generation(gen)
        click.echo(
            f"checked {verdict.files} files, {verdict.bytes:,} bytes of {gen} "
            f"in {verdict.seconds:.2f} s"
        )
        if verdict.unverified:
            click.echo(
                f"{len(verdict.unverified)} files have no checksum yet (the next "
                f"`searchsvc index` lists them): {', '.join(verdict.unverified)}"
            )
        problems = [f"damaged: {gen / d.name}: {d.reason}" for d in verdict.damaged]
        if not problems:  # the checksums agree: does it open and answer, as a server would?
            with Engine(index_dir) as engine:
                state = engine.health()
            if state.warning:
                problems.append(f"damaged: {state.warning}")
    if not problems:
        click.echo("intact")
        return
    for line in problems:
        click.echo(line, err=True)
    click.echo(f"run: searchsvc index PATH --rebuild --index-dir {index_dir}", err=True)
    sys.exit(1)


main.add_command(serve_cmd, "serve")


if __name__ == "__main__":
    main()
