"""Export: a whole result set as CSV or JSON Lines, streamed; for the API and the CLI.

    query string --export_request()--> SearchRequest (no page or size), format, fields
    --backend.export(request, limit=EXPORT_LIMIT, deadline)--> Export: total known, rows lazy
    Export --export_chunks()--> bytes, about CHUNK_BYTES at a time --> the client or a file

Each chunk is made from rows read as it is made, so memory holds one chunk, whatever the
size. The request's deadline covers finding and ordering the matches (before the 200);
the rows are then read without one, bounded by EXPORT_LIMIT.

CSV is for spreadsheets: UTF-8 with a byte-order mark (Excel reads a CSV without one in
the machine's ANSI code page, garbling anything past ASCII; LibreOffice reads either),
quoted by the csv module, and a text cell that begins with =, +, -, @, a tab or a carriage
return gets a ' in front (OWASP's rule against CSV injection: a spreadsheet would run the
cell as a formula). JSON Lines is for programs: one object a line, UTF-8, each value as
stored (JSON is not evaluated, so nothing is neutralised).

Past the limit the answer says so twice: in its headers (X-Export-Truncated: true, with
X-Export-Total the matches and X-Export-Rows the rows given), and in a last line: a CSV
row of one cell beginning "# truncated", or a JSON line {"truncated": true, "rows": N,
"total": M, "message": "..."}. A complete export has no such line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone

from flask import Response, current_app, stream_with_context, url_for

from searchsvc.dates import has_time
from searchsvc.searching import (
    EXPORT_PARAMS,
    Export,
    ExportRow,
    SearchError,
    SearchRequest,
    parse_fields,
    request_from_args,
)
from searchsvc.web.context import get_backend, request_deadline, request_today, search_args

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CHUNK_BYTES = 32 * 1024  # a chunk is sent once it holds this much
BOM = "\ufeff".encode()
# OWASP, CSV injection: a cell starting with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_request(args: Mapping[str, str]) -> tuple[SearchRequest, str, tuple[str, ...]]:
    """The search, format and columns an export's arguments ask for; SearchError if bad."""
    fmt = args.get("format", "") or "csv"
    if fmt not in FORMATS:
        raise SearchError(f"format must be one of {', '.join(FORMATS)}, not {fmt[:40]!r}")
    fields = parse_fields(args.get("fields", ""))
    names = {p.name for p in EXPORT_PARAMS}
    getlist = getattr(args, "getlist", None)
    wanted = {n: getlist(n) if getlist else args.get(n, "") for n in names}
    req = request_from_args(wanted)
    return req, fmt, fields


def export_response(args: Mapping[str, str]) -> Response:
    """The export the arguments ask for, as a streamed attachment with its counts in headers."""
    req, fmt, fields = export_request(args)
    limit = int(current_app.config["EXPORT_LIMIT"])
    export = get_backend().export(
        req, limit=limit, deadline=request_deadline(), today=request_today()
    )
    response = Response(stream_with_context(export_chunks(export, fmt, fields)))
    # Closed however the body ends (read through, client gone, never started).
    response.call_on_close(export.rows.close)
    response.headers["Content-Type"] = FORMATS[fmt]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="searchsvc-export-{stamp}.{fmt}"'
    )
    response.headers.update(export_headers(export))
    return response


def export_headers(export: Export) -> dict[str, str]:
    """What the headers of an export say: its order, size, and whether it was cut short."""
    return {
        "X-Export-Order": export.order,
        "X-Export-Total": str(export.total),
        "X-Export-Rows": str(len(export.rows)),
        "X-Export-Truncated": "true" if export.truncated else "false",
    }


def export_url(fmt: str) -> str:
    """The export of the current page's search in format fmt (its page and size aside)."""
    names = {p.name for p in EXPORT_PARAMS}
    args = {name: value for name, value in search_args().items() if name in names}
    return url_for("api.export", format=fmt, **args)


def export_chunks(export: Export, fmt: str, fields: Sequence[str]) -> Iterator[bytes]:
    """The export in fmt as bytes, header first, in chunks of about CHUNK_BYTES."""
    lines = _csv_lines(export, fields) if fmt == "csv" else _jsonl_lines(export, fields)
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def truncation_message(export: Export) -> str:
    """One line: how many rows of how many matches, and what to do for the rest."""
    return (
        f"truncated: {len(export.rows):,} of {export.total:,} matching releases (the export "
        "limit); narrow the search with dates or filters to export the rest"
    )


def _csv_lines(export: Export, fields: Sequence[str]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # quotes as needed; lines end in CRLF (RFC 4180)

    def line(cells: Sequence[str]) -> bytes:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8", "replace")

    yield BOM + line(fields)
    for row in export.rows:
        yield line([_csv_cell(row, name) for name in fields])
    if export.truncated:
        yield line([f"# {truncation_message(export)}"])


def _csv_cell(row: ExportRow, name: str) -> str:
    if name == "date":
        return date_text(row.date) or ""
    value = getattr(row, name)
    if isinstance(value, tuple):  # a multi-valued facet's values, in one cell
        return "; ".join(neutralise(v) for v in value)
    return neutralise(value)


def neutralise(cell: str) -> str:
    """A text cell that a spreadsheet will show, not run: a ' before a formula's start."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _jsonl_lines(export: Export, fields: Sequence[str]) -> Iterator[bytes]:
    for row in export.rows:
        values = {n: date_text(row.date) if n == "date" else getattr(row, n) for n in fields}
        # A multi-valued facet (category) is a JSON array of its values.
        yield _json_line(values)
    if export.truncated:
        trailer = {"truncated": True, "rows": len(export.rows), "total": export.total}
        yield _json_line({**trailer, "message": truncation_message(export)})


def _json_line(value: dict) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8", "replace")


def date_text(value: datetime | None) -> str | None:
    """A stored date as ISO 8601: 2023-05-04, or 2023-05-04T14:30:00Z when it has a time."""
    if value is None:
        return None
    if not has_time(value):
        return value.date().isoformat()  # a date alone (midnight UTC reads the same)
    return value.isoformat(timespec="seconds") + "Z"
