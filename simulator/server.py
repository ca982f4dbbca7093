"""Serve the simulator's WSGI app on a real socket, in a background thread.

werkzeug's threaded server runs a thread per connection, so a request waiting out a long
``return_timeout`` holds nothing another request needs. Its stock handler closes every connection
after one answer; ours keeps HTTP/1.1 connections alive, writes no access log (the CLI logs its
own line), does TLS handshakes off the accept loop, and lets the app drop a connection on cue
through ``environ["ontap_sim.drop"]()``.

A hostile or broken client cannot hold the server: connections are capped
(:class:`ServerLimits`), and at the cap the oldest idle ones, then the oldest half-sent ones,
are closed to admit a new one (a connection whose request the app is answering never is);
waiting for a request, its headers, its body and writing the answer each have a deadline for
the whole phase, not per read; the request line, the header section and the header count are
bounded; running out of file descriptors makes the accept loop back off instead of spinning.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.utils
import errno
import http.client
import io
import ipaddress
import json
import logging
import math
import re
import select
import shutil
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote, urlencode

from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import parse_set_header
from werkzeug.serving import DechunkedInput, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from .journal import redact
from .tlsgen import generate_tls_files, server_context

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = ["DROP_KEY", "TRANSPORT_KEY", "ServerHandle", "ServerLimits", "serve"]

log = logging.getLogger(__name__)

DROP_KEY = "ontap_sim.drop"
"""WSGI environ key of a no-argument callable that closes the connection without an answer."""
TRANSPORT_KEY = "ontap_sim.transport"
"""WSGI environ key set to ``"http"`` under this server (absent under Flask's test client)."""

MAX_REQUEST_LINE = 65536
"""Longest request line (method, target, version); longer is 414."""
MAX_HEADER_BYTES = 65536
"""Largest header section, all lines together; larger is 431."""
MAX_HEADER_LINES = 100
"""Most header lines; more is 431 (as in ``http.client``)."""
MAX_DRAIN = 1 << 20
"""An unread request body up to this size is discarded to keep the connection; larger closes it."""
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 << 20
"""Closing with a body unread, the server half-closes and discards up to this much for up to
LINGER_SECONDS, so the client reads the answer (a 413) instead of a connection reset."""
STOP_JOIN_TIMEOUT = 5.0
_BACKOFF_MAX = 0.5
_WARN_EVERY = 10.0
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUERY = re.compile(r"\?([^\s'\"]*)")
#: An origin-form request target of printable ASCII without a fragment: ``/path?query``.
_PLAIN_TARGET = re.compile(r"/(?!/)[!\"$-~]*")
#: A plain field line: a token, a colon, a value with no CR or LF inside; no folding.
_FIELD_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*\r?\n")


def _default_max_connections() -> int:
    """512, or half the open-file limit where that is lower (macOS starts at 256)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 512
    return 512 if soft == resource.RLIM_INFINITY else max(16, min(512, soft // 2))


@dataclass(frozen=True)
class ServerLimits:
    """What clients may hold of the server: connections, and how long each phase may last.

    Every timeout bounds a whole phase, however slowly the bytes come.
    """

    max_connections: int = field(default_factory=_default_max_connections)
    """Open connections at most. At the cap, a new connection closes the oldest idle one, else
    the oldest still sending its request; if every connection is being answered, the new one
    is closed at once."""
    idle_timeout: float = 60.0
    """Waiting for a request's first byte, on a new or a kept-alive connection; then closed."""
    header_timeout: float = 10.0
    """From a request's first byte to the end of its headers (and a whole TLS handshake);
    then 408 and closed."""
    body_timeout: float = 30.0
    """From the first read of a request body to its end; then the body counts as cut short
    (400) and the connection closes."""
    write_timeout: float = 60.0
    """Writing one piece of an answer to a client that does not read it; then closed."""

    def __post_init__(self) -> None:
        if isinstance(self.max_connections, bool) or not (
            isinstance(self.max_connections, int) and self.max_connections >= 1
        ):
            raise ValueError(
                f"max_connections must be an integer >= 1, not {self.max_connections!r}"
            )
        for name in ("idle_timeout", "header_timeout", "body_timeout", "write_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number of seconds > 0, not {value!r}")


def _parse_header_lines(lines: list[bytes]) -> http.client.HTTPMessage:
    """A header section (its lines, the blank one ending it included) as
    ``http.client.parse_headers`` parses it.

    Plain field lines are split here, ten times faster than the email parser ``http.client``
    uses; a section with any other line (folded, without a colon, a name that is not a token)
    still goes through that parser, so both read every section alike.
    """
    fields = lines[:-1] if lines and lines[-1] in (b"\r\n", b"\n", b"") else lines
    if all(_FIELD_LINE.fullmatch(line) for line in fields):
        message = http.client.HTTPMessage()
        for line in fields:
            name, _, value = line.decode("iso-8859-1").partition(":")
            message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
        return message
    text = b"".join(lines).decode("iso-8859-1")
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)


def _redact_queries(text: str) -> str:
    """``text`` (a request line or target) with each query's password-like values redacted,
    as the journal and the access log redact them (:func:`simulator.sim.redact`)."""

    def one(match: re.Match[str]) -> str:
        pairs = parse_qsl(match.group(1), keep_blank_values=True)
        kept = [pair for key, value in pairs for pair in redact({key: value}).items()]
        return "?" + urlencode(kept, safe="<>")

    return _QUERY.sub(one, text)


def _shutdown(conn: socket.socket) -> None:
    """Shut both directions at the TCP level (bypassing TLS, safe from another thread)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(conn, socket.SHUT_RDWR)


def _wait_socket(sock: socket.socket, *, write: bool, timeout: float) -> None:
    """Wait until ``sock`` is readable (or writable), at most ``timeout`` seconds."""
    if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLOUT if write else select.POLLIN)
        poller.poll(timeout * 1000)
    else:  # pragma: no cover - Windows
        select.select([] if write else [sock], [sock] if write else [], [], timeout)


# Connection states, in the order the cap closes them (a busy connection never is).
_IDLE, _READING, _BUSY = 0, 1, 2


class _Connections:
    """The open client sockets of one server, with what each is doing, under a cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open: dict[socket.socket, tuple[int, float]] = {}  # socket -> (state, since)
        self._closed = False
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, conn: socket.socket) -> bool:
        """Track a new connection, closing an older one at the cap; False to refuse it."""
        with self._lock:
            if self._closed:
                return False
            if len(self._open) >= self.limit and not self._evict_locked(_READING):
                self.refused += 1
                return False
            self._open[conn] = (_IDLE, time.monotonic())
            return True

    def evict_idle(self) -> bool:
        """Close the oldest idle connection (to free a file descriptor); False if none is."""
        with self._lock:
            return self._evict_locked(_IDLE)

    def _evict_locked(self, worst: int) -> bool:
        candidates = [
            (state, since, c) for c, (state, since) in self._open.items() if state <= worst
        ]
        if not candidates:
            return False
        victim = min(candidates, key=lambda item: (item[0], item[1]))[2]
        del self._open[victim]
        self.evicted += 1
        _shutdown(victim)
        return True

    def mark(self, conn: socket.socket, state: int) -> bool:
        """Record what ``conn`` does now; False if it was closed to make room (stop serving it)."""
        with self._lock:
            if conn not in self._open:
                return False
            self._open[conn] = (state, time.monotonic())
            return True

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.pop(conn, None)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._open)
        for conn in conns:
            _shutdown(conn)


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with the connection cap and an accept loop that backs off
    when the process runs out of file descriptors or threads, instead of spinning."""

    connections: _Connections
    limits: ServerLimits

    def __init__(self, *args: Any, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.connections = _Connections(limits.max_connections)
        self._stopping = threading.Event()
        self._backoff = 0.0
        self._warned = -math.inf

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.connections.admit(request)

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            pair = super().get_request()
        except OSError as exc:
            if exc.errno in _OUT_OF_RESOURCES:
                # Closing an idle connection frees a descriptor for the one waiting.
                self._back_off(exc, freed=self.connections.evict_idle())
            raise
        self._backoff = 0.0
        return pair

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request(request, client_address)
        except RuntimeError as exc:  # "can't start new thread"
            self.connections.discard(request)
            self.shutdown_request(request)
            self._back_off(exc, freed=False)

    def _back_off(self, exc: BaseException, *, freed: bool) -> None:
        self._backoff = min(max(self._backoff * 2, 0.01), _BACKOFF_MAX)
        now = time.monotonic()
        if now - self._warned >= _WARN_EVERY:
            self._warned = now
            log.warning(
                "cannot take a new connection (%s; %d open, cap %d): %s; backing off",
                exc,
                len(self.connections),
                self.connections.limit,
                "closed the oldest idle one" if freed else "none idle to close",
            )
        self._stopping.wait(self._backoff)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.error("error serving %s", client_address, exc_info=True)

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes, each read bounded by the handler's current ``deadline``."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        handler = self._handler
        conn = handler.connection
        remaining = handler.deadline - time.monotonic()
        # Past the deadline, only bytes already received are read (a zero timeout).
        conn.settimeout(
            max(remaining, 0.0) if remaining < math.inf else handler.limits.idle_timeout
        )
        try:
            return int(conn.recv_into(buffer))
        except (BlockingIOError, ssl.SSLWantReadError, TimeoutError):
            handler.timed_out = True
            raise TimeoutError("deadline passed") from None
        finally:
            conn.settimeout(handler.limits.write_timeout)


class _Body:
    """A request body as the app reads it: the first read sends the ``100 Continue`` the
    client waits for (so a request refused unread gets none) and starts the body deadline."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler
        self._started = False

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        handler = self._handler
        if handler.expect_continue:
            handler.expect_continue = False
            handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            handler.wfile.flush()
        handler.deadline = time.monotonic() + handler.limits.body_timeout

    def read(self, size: int = -1) -> bytes:
        self._start()
        return self._handler.reader.read(size)

    def readinto(self, buffer: Any) -> int:
        self._start()
        return self._handler.reader.readinto(buffer)

    def readline(self, size: int = -1) -> bytes:
        self._start()
        return self._handler.reader.readline(size)


class _HeadersTooLarge(Exception):
    """The header section went over :data:`MAX_HEADER_BYTES`."""


class _HeaderBudget:
    """The connection's reader while the header section is read: lines, to a byte budget."""

    def __init__(self, rfile: io.BufferedReader[_DeadlineReader], budget: int) -> None:
        self._rfile = rfile
        self._left = budget

    def readline(self, size: int = -1) -> bytes:
        line = self._rfile.readline(size)
        self._left -= len(line)
        if self._left < 0:
            raise _HeadersTooLarge
        return line


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive handler with no access log, a drop-the-connection fault, and
    deadlines on every phase of a request."""

    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # status line, headers and a small body leave in one send
    server: _Server

    _gone = False  # dropped by the app, or the peer went away: write nothing more
    _body: LimitedStream | None = None
    _unread = False  # closing with part of a request body unread: linger before closing
    expect_continue = False  # "Expect: 100-continue" received, and no 100 sent yet
    timed_out = False
    deadline = math.inf
    """When the read under way must end (time.monotonic); set per phase."""

    def setup(self) -> None:
        self.limits = self.server.limits
        super().setup()
        self.connection.settimeout(self.limits.write_timeout)  # between reads: bounds writes
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()
        self.reader = io.BufferedReader(_DeadlineReader(self))
        self.rfile = self.reader

    def handle(self) -> None:
        try:
            if isinstance(self.connection, ssl.SSLSocket) and not self._handshake():
                return
            self.close_connection = True
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except OSError as exc:  # includes ssl.SSLError and timeouts
            log.debug("connection from %s ended: %r", self.client_address, exc)

    def _handshake(self) -> bool:
        """The TLS handshake, within ``header_timeout`` however slowly its bytes come."""
        conn = cast(ssl.SSLSocket, self.connection)
        deadline = time.monotonic() + self.limits.header_timeout
        conn.settimeout(0.0)
        try:
            while True:
                try:
                    conn.do_handshake()
                    return True
                except ssl.SSLWantReadError:
                    write = False
                except ssl.SSLWantWriteError:
                    write = True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.debug("TLS handshake from %s timed out", self.client_address)
                    return False
                _wait_socket(conn, write=write, timeout=remaining)
        finally:
            conn.settimeout(self.limits.write_timeout)

    def _mark(self, state: int) -> bool:
        """Record the connection's state; False (and close) if it was closed to make room."""
        if self.server.connections.mark(self.connection, state):
            return True
        self.close_connection = True
        return False

    def handle_one_request(self) -> None:
        """One request: wait for it (idle), read its line and headers (against one deadline),
        check the method, then answer it (busy)."""
        self.command, self.path, self.requestline = "", "", ""
        self.request_version = self.default_request_version
        self.expect_continue = self.timed_out = False
        if not self._mark(_IDLE):
            return
        self.deadline = time.monotonic() + self.limits.idle_timeout
        try:
            if not self.reader.peek(1):
                self.close_connection = True
                return
        except TimeoutError:
            self.close_connection = True  # idle too long: close without a word
            return
        if not self._mark(_READING):
            return
        self.deadline = time.monotonic() + self.limits.header_timeout
        try:
            if not self._read_request_head():
                return
        except TimeoutError:
            self.send_error(
                HTTPStatus.REQUEST_TIMEOUT,
                f"The request line and headers did not arrive within "
                f"{self.limits.header_timeout:g} seconds.",
            )
            return
        except _HeadersTooLarge:
            self.send_error(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"The request headers exceed {MAX_HEADER_BYTES} bytes.",
            )
            return
        if self._refused() or not self._mark(_BUSY):
            return
        self.deadline = math.inf  # no read is due until the app reads the body
        self.run_wsgi()
        self.wfile.flush()

    def _read_request_head(self) -> bool:
        """Read and parse the request line and headers; False when answered already."""
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        if not self.raw_requestline:
            self.close_connection = True
            return False
        return self.parse_request()

    def parse_request(self) -> bool:
        """``http.server``'s request line checks and answers, then the header section read
        within :data:`MAX_HEADER_BYTES` and parsed by :func:`_parse_header_lines`; False when
        answered already."""
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            number = self._version_number(version)
            if number is None:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            if number >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(
                    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                    f"Invalid HTTP version ({version.split('/', 1)[1]})",
                )
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if path.startswith("//"):
            self.path = "/" + path.lstrip("/")
        budget = _HeaderBudget(self.reader, MAX_HEADER_BYTES)
        lines: list[bytes] = []
        while True:
            line = budget.readline(MAX_HEADER_BYTES + 1)  # over the budget raises
            lines.append(line)
            if len(lines) > MAX_HEADER_LINES:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
        self.headers = _parse_header_lines(lines)
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        if (
            self.headers.get("Expect", "").lower() == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    @staticmethod
    def _version_number(version: str) -> tuple[int, int] | None:
        """``HTTP/x.y`` as ``(x, y)``; None for anything ``http.server`` refuses."""
        if not version.startswith("HTTP/"):
            return None
        parts = version.split("/", 1)[1].split(".")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts):
            return None
        return int(parts[0]), int(parts[1])

    def _refused(self) -> bool:
        """Answer a method that is not a token (400) or not upper case (501), or conflicting
        ``Content-Length`` headers (400, RFC 9112, 6.3); True if so.

        Methods are case-sensitive (RFC 9110, 9.1): ``get`` is no method this server knows,
        though werkzeug would upper-case it and serve it as ``GET``.
        """
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if len(lengths) > 1:
            self.send_error(HTTPStatus.BAD_REQUEST, "Conflicting Content-Length headers.")
            return True
        method = self.command or ""
        shown = method if len(method) <= 40 else method[:40] + "..."
        if not _TOKEN.fullmatch(method):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request method ({shown!r})")
            return True
        if method != method.upper():
            self.send_error(
                HTTPStatus.NOT_IMPLEMENTED,
                f'The method "{shown}" is not implemented: HTTP methods are case-sensitive.',
            )
            return True
        return False

    def handle_expect_100(self) -> bool:
        """Defer the ``100 Continue`` to the app's first read of the body (see :class:`_Body`)."""
        self.expect_continue = True
        return True

    def finish(self) -> None:
        if self._unread and not self._gone:
            self._mark(_READING)  # lingering holds nothing another client needs
            self._linger()
        for stream in (self.wfile, self.rfile):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        self.server.connections.discard(self.connection)

    def version_string(self) -> str:
        """ONTAP's ``Server`` header, on every answer (transport-level refusals included)."""
        return "libzapid-httpd"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the CLI writes its own line per request."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Transport-level notes (bad request lines, timeouts, TLS errors) go to DEBUG."""
        log.debug("%s: " + message, self.client_address[0], *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Transport-level refusals (bad request line, URI too long) in ONTAP's error body."""
        phrase = HTTPStatus(code).phrase
        text = _redact_queries(message or phrase)
        log.debug(
            "%s: refused with %d: %s (request line %r)",
            self.client_address[0],
            code,
            text,
            _redact_queries(self.requestline or ""),
        )
        self.close_connection = True
        self._unread = True  # the rest of the request is unread: linger so the answer arrives
        if self.request_version == "HTTP/0.9":  # unparsable request line: answer with a status
            self.request_version = "HTTP/1.0"
        ontap_code = "3" if code == HTTPStatus.NOT_IMPLEMENTED else "2"
        body = json.dumps({"error": {"message": text, "code": ontap_code}}).encode()
        self.send_response(code, phrase)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header's value, formatted once a second rather than once an answer."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        cached = _Handler._date
        if cached[0] != second:
            cached = _Handler._date = (second, email.utils.formatdate(second, usegmt=True))
        return cached[1]

    _date: tuple[int, str] = (-1, "")

    def _werkzeug_environ(self) -> WSGIEnvironment:
        """The environ werkzeug's ``make_environ`` builds, built here in a third of the time
        for the usual request (a plain origin-form target, plain HTTP, a peer address);
        werkzeug builds any other."""
        target = self.path
        address = self.client_address
        if (
            self.server.ssl_context is not None
            or not isinstance(address, tuple)
            or not _PLAIN_TARGET.fullmatch(target)
        ):
            return super().make_environ()
        path, _, query = target.partition("?")
        server_address = self.server.server_address
        environ: WSGIEnvironment = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": self.rfile,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": self.server.multithread,
            "wsgi.multiprocess": self.server.multiprocess,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path).encode().decode("latin1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "REMOTE_ADDR": self.address_string(),
            "REMOTE_PORT": self.port_integer(),
            "SERVER_NAME": server_address[0],
            "SERVER_PORT": str(server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
        }
        for name, value in self.headers.items():
            if "_" in name:
                continue
            key = name.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        if "chunked" in parse_set_header(environ.get("HTTP_TRANSFER_ENCODING")):
            environ["wsgi.input_terminated"] = True
            environ["wsgi.input"] = DechunkedInput(environ["wsgi.input"])
        return environ

    def make_environ(self) -> WSGIEnvironment:
        environ = self._werkzeug_environ()
        environ[DROP_KEY] = self._drop
        environ[TRANSPORT_KEY] = "http"
        self._body = None
        source = cast("IO[bytes]", _Body(self))
        if environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = DechunkedInput(source)
            self.close_connection = True  # chunked body: not worth draining for reuse
            self._unread = True
            return environ
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._unread = True
        else:
            self._body = LimitedStream(source, length)
            environ["wsgi.input"] = self._body
        return environ

    def _drop(self) -> None:
        """Close the connection at once; the client sees it closed with no answer."""
        self._gone = True
        self.close_connection = True
        self.server.connections.discard(self.connection)
        _shutdown(self.connection)
        self.connection.close()

    def _linger(self) -> None:
        """Half-close, then discard what the client still sends (bounded in time and bytes)."""
        conn = self.connection
        deadline = time.monotonic() + LINGER_SECONDS
        received = 0
        try:
            self.wfile.flush()
            socket.socket.shutdown(conn, socket.SHUT_WR)
            while received < LINGER_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                conn.settimeout(remaining)
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                received += len(chunk)
        except (OSError, ValueError) as exc:
            log.debug("linger on %s ended: %r", self.client_address, exc)

    def _too_much_unread(self) -> bool:
        """Whether more of the request body is unread than :data:`MAX_DRAIN` (say so before
        answering: the connection will close, and the client must not reuse it)."""
        body = self._body
        return body is not None and not body.is_exhausted and body.limit - body.tell() > MAX_DRAIN

    def _unsent_body(self) -> bool:
        """Whether the client still holds back a body, waiting for a ``100 Continue`` that the
        app never asked for (it answered without reading): the connection cannot be reused."""
        if not self.expect_continue:
            return False
        body = self._body
        return body is None or not body.is_exhausted

    def _drain(self) -> None:
        """Consume what the app left of the request body so the next request parses."""
        body = self._body
        if body is None or body.is_exhausted:
            return
        if self.close_connection or body.limit - body.tell() > MAX_DRAIN:
            self.close_connection = True
            self._unread = True
            return
        if not self._mark(_READING):  # draining holds nothing another client needs
            return
        try:
            body.exhaust()
        except (OSError, ClientDisconnected):
            self.close_connection = True
        if self.timed_out:
            self.close_connection = True

    def run_wsgi(self) -> None:
        """Run the app for one request, framing the answer so the connection can be reused."""
        self.environ = environ = self.make_environ()
        head = environ["REQUEST_METHOD"] == "HEAD"
        status: str | None = None
        headers: list[tuple[str, str]] = []
        started = False
        chunked = False

        def send_head() -> None:
            nonlocal started, chunked
            if status is None:
                raise AssertionError("write() before start_response()")
            started = True
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            self.send_response(code, reason or None)
            has_length = False
            for name, value in headers:
                key = name.lower()
                if key == "server":
                    continue  # send_response() already sent ours: one Server header only
                if key == "connection":
                    if value.strip().lower() == "close":
                        self.close_connection = True
                    continue
                has_length = has_length or key == "content-length"
                self.send_header(name, value)
            if (
                self.request_version != "HTTP/1.1"
                or self._too_much_unread()
                or self.timed_out
                or self._unsent_body()
            ):
                self.close_connection = True
                if self._unsent_body():
                    self._unread = True
            if not (has_length or head or code < 200 or code in (204, 304)):
                if self.close_connection:
                    pass  # the body ends when the connection closes
                else:
                    chunked = True
                    self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()

        def write(data: bytes) -> None:
            if self._gone:
                return
            try:
                if not started:
                    send_head()
                if data and not head:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                self.wfile.flush()
            except OSError as exc:
                self._gone = True
                self.close_connection = True
                log.debug("lost %s while answering: %r", self.client_address, exc)

        def start_response(
            status_: str, headers_: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            nonlocal status, headers
            if exc_info:
                try:
                    if started:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif status is not None:
                raise AssertionError("start_response() called twice without exc_info")
            status, headers = status_, list(headers_)
            return write

        try:
            chunks: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                for data in chunks:
                    write(data)
                if not started:
                    write(b"")
                if chunked and not self._gone:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:
            # After a drop, errors (such as reading the body) are the drop's doing.
            level = logging.DEBUG if self._gone else logging.ERROR
            path = _redact_queries(self.path)
            log.log(level, "error answering %s %s", self.command, path, exc_info=True)
            self.close_connection = True
            if not started and not self._gone:
                body = b"Internal Server Error"
                status, headers = (
                    "500 Internal Server Error",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                    ],
                )
                write(body)
            return
        self._drain()


class ServerHandle:
    """A server running in a background thread: where to reach it, and ``stop()``."""

    def __init__(
        self,
        server: _Server,
        thread: threading.Thread,
        host: str,
        scheme: str,
        ca_file: str | None,
        cert_file: str | None,
        tls_dir: str | None,
    ) -> None:
        self.host = host
        """The host bound, as given (IPv6 without brackets)."""
        self.port: int = server.port
        self.scheme = scheme
        self.url = f"{scheme}://{_url_host(host)}:{self.port}"
        """Base URL to connect to; a wildcard bind (0.0.0.0, ::) is reached on loopback."""
        self.ca_file = ca_file
        """The generated CA certificate (PEM) to verify against, when TLS was generated."""
        self.cert_file = cert_file
        self._server = server
        self._thread = thread
        self.limits = server.limits
        """The :class:`ServerLimits` in force."""
        self._tls_dir = tls_dir
        self._lock = threading.Lock()
        self._stopped = False

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<ServerHandle {self.url} {state}>"

    def stop(self) -> None:
        """Stop accepting, close open connections, join the thread; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._server.connections.close_all()
        if self._thread.ident is not None:
            self._thread.join(STOP_JOIN_TIMEOUT)
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)


def _is_unspecified(host: str) -> bool:
    try:
        return host == "" or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _url_host(host: str) -> str:
    if _is_unspecified(host):
        host = "::1" if ":" in host else "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, so a busy port raises OSError (werkzeug would sys.exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host or None, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    return socket.create_server(infos[0][4], family=family, backlog=socket.SOMAXCONN)


def _wait_ready(host: str, port: int, thread: threading.Thread, timeout: float) -> None:
    target = _url_host(host).strip("[]")
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            with socket.create_connection((target, port), timeout=max(remaining, 0.05)):
                return
        except OSError as exc:
            if not thread.is_alive() or time.monotonic() >= deadline:
                raise RuntimeError(
                    f"simulator server on {target}:{port} did not accept a connection "
                    f"within {timeout} s: {exc}"
                ) from exc
        time.sleep(0.02)


@contextlib.contextmanager
def serve(
    sim: object,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    certfile: str | None = None,
    keyfile: str | None = None,
    ready_timeout: float = 5.0,
    limits: ServerLimits | None = None,
    on_bound: Callable[[ServerHandle], None] | None = None,
) -> Iterator[ServerHandle]:
    """Serve ``sim`` (a Simulator, or any WSGI app) on ``host:port`` until the block exits.

    ``port=0`` picks a free port (read it from the handle). ``tls=True`` serves HTTPS with a
    generated CA and certificate (``handle.ca_file``; removed on stop) unless ``certfile``
    (and ``keyfile``, unless the key is in ``certfile``) are given, which imply TLS.
    ``limits`` bounds connections and the time each phase of a request may take (defaults:
    :class:`ServerLimits`). ``on_bound(handle)`` runs once the address is bound and before
    the first connection is accepted (connections wait in the backlog meanwhile): ``ontap-sim``
    prints its address there, then loads what the model reads from disk.
    Raises ValueError naming the file when ``certfile`` or ``keyfile`` cannot be served, OSError
    when the address cannot be bound and RuntimeError when the server does not accept
    connections within ``ready_timeout`` seconds.
    """
    app = cast("WSGIApplication", getattr(sim, "app", sim))
    if not callable(app):
        raise TypeError(f"serve() needs a Simulator or a WSGI callable, not {sim!r}")
    if keyfile is not None and certfile is None:
        raise ValueError("keyfile given without certfile")
    if ready_timeout <= 0:
        raise ValueError("ready_timeout must be positive")
    host = host.strip("[]")

    tls_dir: str | None = None
    ca_file: str | None = None
    context: ssl.SSLContext | None = None
    if certfile is not None:
        context = server_context(certfile, keyfile)
    elif tls:
        extra = [host, socket.gethostname()] if _is_unspecified(host) else [host]
        files = generate_tls_files(hosts=extra)
        tls_dir, ca_file, certfile = files.directory, files.ca_file, files.cert_file
        try:
            context = server_context(files.cert_file, files.key_file)
        except BaseException:
            shutil.rmtree(tls_dir, ignore_errors=True)
            raise

    try:
        listener = _bind(host, port)
        with listener:
            server = _Server(
                host,
                listener.getsockname()[1],
                app,
                _Handler,
                fd=listener.fileno(),
                limits=limits if limits is not None else ServerLimits(),
            )
    except BaseException:
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)
        raise
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="ontap-sim-server",
        daemon=True,
    )
    handle = ServerHandle(
        server,
        thread,
        host=host,
        scheme="https" if context is not None else "http",
        ca_file=ca_file,
        cert_file=certfile,
        tls_dir=tls_dir,
    )
    try:
        if context is not None:
            # Wrapped here rather than by werkzeug so the handshake runs in the handler thread
            # (with its timeout), not in the accept loop where one silent client stalls all.
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            server.ssl_context = context
        if on_bound is not None:
            on_bound(handle)
        thread.start()
        _wait_ready(host, handle.port, thread, ready_timeout)
        yield handle
    finally:
        handle.stop()
