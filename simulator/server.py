"""Serve the simulator's WSGI app on a real socket, in a background thread.

werkzeug's threaded server runs a thread per connection, so a request waiting out a long
``return_timeout`` holds nothing another request needs. Its stock handler closes every connection
after one answer; ours keeps HTTP/1.1 connections alive, writes no access log (the CLI logs its
own line), does TLS handshakes off the accept loop, and lets the app drop a connection on cue
through ``environ["ontap_sim.drop"]()``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any, cast

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from .tlsgen import generate_tls_files, server_context

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = ["DROP_KEY", "TRANSPORT_KEY", "ServerHandle", "serve"]

log = logging.getLogger(__name__)

DROP_KEY = "ontap_sim.drop"
"""WSGI environ key of a no-argument callable that closes the connection without an answer."""
TRANSPORT_KEY = "ontap_sim.transport"
"""WSGI environ key set to ``"http"`` under this server (absent under Flask's test client)."""

IDLE_TIMEOUT = 60.0
"""Socket timeout: closes idle keep-alive connections and stalled TLS handshakes."""
MAX_DRAIN = 1 << 20
"""An unread request body up to this size is discarded to keep the connection; larger closes it."""
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 << 20
"""Closing with a body unread, the server half-closes and discards up to this much for up to
LINGER_SECONDS, so the client reads the answer (a 413) instead of a connection reset."""
STOP_JOIN_TIMEOUT = 5.0


class _Connections:
    """Open client sockets of one server, so ``stop()`` can end idle keep-alive connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False

    def add(self, conn: socket.socket) -> bool:
        """Track ``conn``; False when the server is already stopping."""
        with self._lock:
            if not self._closed:
                self._open.add(conn)
            return not self._closed

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._open)
        for conn in conns:
            _shutdown(conn)


def _shutdown(conn: socket.socket) -> None:
    """Shut both directions at the TCP level (bypassing TLS, safe from another thread)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(conn, socket.SHUT_RDWR)


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive handler with no access log and a drop-the-connection fault."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    wbufsize = 1 << 16  # status line, headers and a small body leave in one send
    connections: _Connections  # set on the per-server subclass made by serve()

    _gone = False  # dropped by the app, or the peer went away: write nothing more
    _body: LimitedStream | None = None
    _unread = False  # closing with part of a request body unread: linger before closing

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.connections.add(self.connection):
            self._gone = True
            self.close_connection = True
            _shutdown(self.connection)

    def handle(self) -> None:
        if self._gone:
            return
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()
            super().handle()
        except OSError as exc:  # includes ssl.SSLError and timeouts
            log.debug("connection from %s ended: %r", self.client_address, exc)

    def finish(self) -> None:
        if self._unread and not self._gone:
            self._linger()
        for stream in (self.wfile, self.rfile):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        self.connections.discard(self.connection)

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
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self._unread = True  # the rest of the request is unread: linger so the answer arrives
        if self.request_version == "HTTP/0.9":  # unparsable request line: answer with a status
            self.request_version = "HTTP/1.0"
        phrase = HTTPStatus(code).phrase
        body = json.dumps({"error": {"message": message or phrase, "code": "2"}}).encode()
        self.send_response(code, phrase)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[DROP_KEY] = self._drop
        environ[TRANSPORT_KEY] = "http"
        self._body = None
        if environ.get("wsgi.input_terminated"):
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
            self._body = LimitedStream(cast("IO[bytes]", self.rfile), length)
            environ["wsgi.input"] = self._body
        return environ

    def _drop(self) -> None:
        """Close the connection at once; the client sees it closed with no answer."""
        self._gone = True
        self.close_connection = True
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

    def _drain(self) -> None:
        """Consume what the app left of the request body so the next request parses."""
        body = self._body
        if body is None or body.is_exhausted:
            return
        if self.close_connection or body.limit - body.tell() > MAX_DRAIN:
            self.close_connection = True
            self._unread = True
            return
        try:
            body.exhaust()
        except (OSError, ClientDisconnected):
            self.close_connection = True

    def run_wsgi(self) -> None:
        """Run the app for one request, framing the answer so the connection can be reused."""
        if self.headers.get("Expect", "").strip().lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
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
            if self.request_version != "HTTP/1.1" or self._too_much_unread():
                self.close_connection = True
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
            log.log(level, "error answering %s %s", self.command, self.path, exc_info=True)
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
        server: BaseWSGIServer,
        thread: threading.Thread,
        connections: _Connections,
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
        self._connections = connections
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
        self._connections.close_all()
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
) -> Iterator[ServerHandle]:
    """Serve ``sim`` (a Simulator, or any WSGI app) on ``host:port`` until the block exits.

    ``port=0`` picks a free port (read it from the handle). ``tls=True`` serves HTTPS with a
    generated CA and certificate (``handle.ca_file``; removed on stop) unless ``certfile``
    (and ``keyfile``, unless the key is in ``certfile``) are given, which imply TLS.
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

    connections = _Connections()
    handler = type("OntapSimRequestHandler", (_Handler,), {"connections": connections})
    try:
        listener = _bind(host, port)
        with listener:
            server = make_server(
                host,
                listener.getsockname()[1],
                app,
                threaded=True,
                request_handler=handler,
                fd=listener.fileno(),
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
        connections,
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
        thread.start()
        _wait_ready(host, handle.port, thread, ready_timeout)
        yield handle
    finally:
        handle.stop()
