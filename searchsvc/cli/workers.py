"""gunicorn's threaded worker, made safe for slow and idle clients, with our error answers.

    accept --main loop reads the request head, no thread held--> a complete head
        (nothing complete within HEADER_TIMEOUT: 408 if anything came, then closed)
    complete head --a pool thread--> gunicorn's parser --> the app --> the response
        (a head larger than HEAD_BUFFER is read on by the thread, bounded by the same deadline)
    keep-alive --main loop waits up to KEEPALIVE seconds--> the next head, as above

gunicorn's own gthread hands every new connection to a pool thread that waits up to 5 s
for a first byte, then reads the head with a blocking socket and no deadline: a client
sending a header a byte a second holds a thread for as long as it likes, and a few dozen
idle connections hold every thread for 5 s. Here only a complete head costs a thread.

A process's threads run the app side by side: they share one Whoosh searcher, whose
index files are read through searchsvc.indexing.shared_storage (shared bytes read with pread,
a read position per thread), so one request's reads never move another's. A cheap query is not
held up behind an expensive one of its process; the GIL shares the CPU between them.

Errors that gunicorn answers itself (a request line or header it cannot parse, limits)
come back as the API's JSON envelope, with a message that says what to change, instead
of gunicorn's HTML; a known page path outside /api/ gets a small HTML page of ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import html
import json
import re
import selectors
import time
from functools import partial

from gunicorn import util
from gunicorn.http import errors as gerrors
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

# The head is read by the main loop up to this many bytes; a larger one (cookies, say)
# is read on by a thread, still bounded by the header deadline.
HEAD_BUFFER = 64 * 1024

DEFAULT_HEADER_TIMEOUT = 10.0

_BARE_LF = re.compile(rb"(?<!\r)\n")  # searched from an offset, it still sees the byte before
# glibc malloc's arenas for a worker (bound_malloc); mallopt's parameter number is glibc's
# (malloc.h).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8


class RequestTimeoutError(Exception):
    """The request's head did not arrive in time."""


class Conn(TConn):
    """A connection with the head read so far and the deadline for the rest of it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.head = bytearray()
        self.deadline: float | None = None
        self.closed = False


class _DeadlineSocket:
    """The socket as the parser sees it: each read bounded by the connection's deadline."""

    def __init__(self, sock, conn: Conn):
        self._sock, self._conn = sock, conn

    def recv(self, size: int) -> bytes:
        deadline = self._conn.deadline
        # The head is parsed: the app reads no body, and gunicorn drains one by a deadline.
        if deadline is None:
            return self._sock.recv(size)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeoutError
        prior = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size)
        except TimeoutError:
            raise RequestTimeoutError from None
        finally:
            self._sock.settimeout(prior)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class SearchWorker(ThreadWorker):
    """gthread with the head read in the main loop, a header deadline, and our errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.is_ssl:
            raise RuntimeError("searchsvc's worker does not speak TLS; terminate it in nginx")
        self.header_timeout = float(getattr(self.app, "header_timeout", DEFAULT_HEADER_TIMEOUT))

    def init_process(self):
        bound_malloc()  # in the worker, before its threads start
        super().init_process()

    # -- the main loop: waiting for a head costs a socket, not a thread ------------------------

    def accept(self, listener):
        """Accept a connection and wait, in the main loop, for its request head."""
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._wait_for_head(Conn(self.cfg, sock, addr, listener.getsockname()))

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection sends its next request: read its head here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._wait_for_head(conn)
        self._read_head(conn, client)

    def _wait_for_head(self, conn: Conn) -> None:
        conn.sock.setblocking(False)
        conn.timeout = conn.deadline = time.monotonic() + self.header_timeout
        self.pending_conns.append(conn)  # stays sorted: every entry waits as long
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_head, conn))

    def _read_head(self, conn: Conn, _sock) -> None:
        try:
            data = conn.sock.recv(HEAD_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop_pending(conn)
            return
        start = len(conn.head)
        conn.head += data
        if _head_complete(conn.head, start) or len(conn.head) >= HEAD_BUFFER:
            self.poller.unregister(conn.sock)
            self.pending_conns.remove(conn)
            conn.data_ready = True
            self.enqueue_req(conn)

    def murder_pending(self):
        """Close connections whose head is late (408 if part came), and idle ones on exit."""
        now = time.monotonic()
        while self.pending_conns and self.pending_conns[0].timeout <= now:
            conn = self.pending_conns[0]
            self._drop_pending(conn, reply=bool(conn.head))
        if not self.alive:  # stopping: nobody is waiting for an answer on these
            for conn in [c for c in self.pending_conns if not c.head]:
                self._drop_pending(conn)

    def _drop_pending(self, conn: Conn, reply: bool = False) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.pending_conns.remove(conn)
        self.nr_conns -= 1
        if reply:
            self.log.warning(
                "Request head from %s incomplete after %g s", conn.client[0], self.header_timeout
            )
            with contextlib.suppress(OSError):
                conn.sock.send(self._timeout_answer())
        conn.close()

    def finish_request(self, conn, fs):
        """As gthread does, unless the thread already closed the connection."""
        if getattr(conn, "closed", False):
            self.nr_conns -= 1
            return
        super().finish_request(conn, fs)

    # -- a pool thread: one request ------------------------------------------------------------

    def handle(self, conn):
        """Parse the head read so far (and any rest, by the deadline), then answer."""
        if conn.deadline is None:  # a pipelined request, already buffered behind the last
            conn.deadline = time.monotonic() + self.header_timeout
        conn.sock.setblocking(True)
        conn.init()
        unreader = conn.parser.unreader
        if isinstance(unreader, SocketUnreader) and not isinstance(unreader.sock, _DeadlineSocket):
            unreader.sock = _DeadlineSocket(unreader.sock, conn)
        if conn.head:
            unreader.unread(bytes(conn.head))
            conn.head = bytearray()
        keep = super().handle(conn)
        if keep is False:
            # gthread would linger for the client's close in the main loop, up to 2 s.
            util.close_graceful(conn.sock)
            conn.closed = True
        return keep

    def handle_request(self, req, conn):
        """The head is in: its deadline no longer applies."""
        conn.deadline = None
        return super().handle_request(req, conn)

    def handle_error(self, req, client, addr, exc):
        """gunicorn's own errors as the API's envelope (or our page), not gunicorn's HTML."""
        status, reason, message = self._describe(exc)
        if status >= 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        if req is None:
            req = getattr(exc, "req", None)
        path = getattr(req, "path", None)
        page = path is not None and not _is_api_path(path)
        try:
            util.write_nonblock(client, error_answer(status, reason, message, page))
        except Exception:
            self.log.debug("Failed to send error message.")

    def _describe(self, exc) -> tuple[int, str, str]:
        cfg = self.cfg
        if isinstance(exc, RequestTimeoutError):
            return 408, "Request Timeout", self._timeout_message()
        if isinstance(exc, gerrors.LimitRequestLine):
            return (
                414,
                "URI Too Long",
                (f"The URL is longer than {cfg.limit_request_line:,} bytes; shorten the query."),
            )
        if isinstance(exc, gerrors.LimitRequestHeaders):
            if str(exc) == "limit request headers fields":
                message = (
                    f"The request has more than {cfg.limit_request_fields} headers; send fewer."
                )
            elif "size" in str(exc):
                message = (
                    f"A request header is longer than {cfg.limit_request_field_size:,} bytes; "
                    "send shorter headers (cookies, say)."
                )
            else:
                message = "The request's headers are too large in all; send fewer or shorter ones."
            return 431, "Request Header Fields Too Large", message
        if isinstance(
            exc,
            (gerrors.InvalidRequestLine, gerrors.InvalidRequestMethod, gerrors.InvalidHTTPVersion),
        ):
            return (
                400,
                "Bad Request",
                (
                    f"The request line is not valid HTTP ({_short(exc)}); "
                    "send 'GET /api/search?q=words HTTP/1.1'."
                ),
            )
        if isinstance(
            exc, (gerrors.InvalidHeader, gerrors.InvalidHeaderName, gerrors.ObsoleteFolding)
        ) and not isinstance(
            exc, (gerrors.InvalidResponseHeader, gerrors.InvalidResponseHeaderName)
        ):
            return (
                400,
                "Bad Request",
                (
                    f"A request header is not valid HTTP ({_short(exc)}); "
                    "send 'Name: value' lines ending in CRLF."
                ),
            )
        if isinstance(exc, gerrors.UnsupportedTransferCoding):
            return 501, "Not Implemented", f"{_short(exc)}; send no request body."
        if isinstance(exc, gerrors.ExpectationFailed):
            return 417, "Expectation Failed", f"{_short(exc)}; send no Expect header."
        if isinstance(exc, gerrors.ForbiddenProxyRequest):
            return 403, "Forbidden", "Requests from this address are not accepted."
        if isinstance(exc, gerrors.ParseException) and not isinstance(
            exc,
            (
                gerrors.ConfigurationProblem,
                gerrors.InvalidResponseHeader,
                gerrors.InvalidResponseHeaderName,
            ),
        ):
            return 400, "Bad Request", f"The request is not valid HTTP ({_short(exc)})."
        return 500, "Internal Server Error", "The server failed to answer; the error is in its log."

    def _timeout_message(self) -> str:
        return (
            f"The request's headers did not arrive within {self.header_timeout:g} s; "
            "send the whole request at once."
        )

    def _timeout_answer(self) -> bytes:
        return error_answer(408, "Request Timeout", self._timeout_message(), page=False)


def bound_malloc() -> None:
    """glibc's malloc told to keep two arenas in a worker, not one per thread (no-op elsewhere).

    Each thread otherwise gets an arena of its own (up to 8 per core), and each arena
    keeps the freed blocks of the large arrays its queries made. The size glibc serves by
    mmap is left to glibc: it rises to the size of a large block once one is freed (up to
    32 MiB), so a query's arrays over all documents come from the heap again, as they did
    for the one before. Mapping every block over 256 KiB on its own (as this did until
    2026-12-01) cost a fresh mapping, its page faults and zeroed pages, for each of those
    arrays: at 10x the White House corpus, 40% of a served search's time (bench/README.md,
    "malloc in a serve worker"), for a peak the same within 2% after 150 s of load.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its own malloc, left alone
        pass


def _head_complete(head: bytearray, start: int) -> bool:
    """Whether head, of which bytes from start on are new, holds a complete request head."""
    # Only the new bytes are searched (the first ones with what came before), so that a
    # head arriving a byte at a time costs linear time. A bare LF never ends a head for
    # gunicorn's parser, which rejects it: hand it over, to let it say so.
    return head.find(b"\r\n\r\n", max(start - 3, 0)) >= 0 or bool(_BARE_LF.search(head, start))


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _short(exc: Exception, limit: int = 100) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · searchsvc</title></head>
<body><h1>{title}</h1><p>{message}</p><p><a href="/">Go to the latest releases</a></p></body>
</html>
"""


def error_answer(status: int, reason: str, message: str, page: bool = False) -> bytes:
    """A complete HTTP response: the JSON envelope, or with page=True a small HTML page."""
    from searchsvc.web import SECURITY_HEADERS, error_payload

    if page:
        body = PAGE.format(title=html.escape(reason), message=html.escape(message)).encode()
        kind = "text/html; charset=utf-8"
    else:
        body = (json.dumps(error_payload(message, status)) + "\n").encode()
        kind = "application/json"
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        f"Content-Type: {kind}",
        f"Content-Length: {len(body)}",
    ]
    head += [f"{name}: {value}" for name, value in SECURITY_HEADERS.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
