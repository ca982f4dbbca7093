"""OntapClient against a server that lies, stalls or floods: every attack is bounded.

Each test names the attack. The servers here are raw sockets on 127.0.0.1 scripted byte by byte
(no HTTP library would drip a status line or send 101 headers), so what the client meets is
exactly what a hostile or broken server can send. Real-clock tests are bounded to about 1 s.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_ontapjob import (
    JobTimeout,
    OntapClient,
    PollPolicy,
    TransportError,
)
from simulator.tlsgen import TlsFiles, generate_tls_files

PASSWORD = "Tr0ub4dor-hostile"
JOB = {"uuid": "j1", "_links": {"self": {"href": "/api/cluster/jobs/j1"}}}
RUNNING = json.dumps({"uuid": "j1", "state": "running"}).encode()
SUCCESS = json.dumps({"uuid": "j1", "state": "success", "message": "done"}).encode()
#: The deadline of the real-clock tests, and how late past it an answer may come.
DEADLINE = 1.0
SLACK = 0.6


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Request, socket.socket, threading.Event], None]


@dataclass
class Hostile:
    """A raw HTTP/1.1 server: each request is answered by ``answer``; all requests recorded."""

    answer: Answer
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind((self.host, 0))
        self._listener.listen(16)
        self._conns: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://{self.host}:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
        reader = conn.makefile("rb")
        try:
            while not self.stop.is_set():
                line = reader.readline(65536)
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := reader.readline(65536)) not in (b"\r\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get("content-length", 0)))
                request = Request(method, path, headers, body)
                self.requests.append(request)
                self.answer(request, conn, self.stop)
        except OSError:  # the client hung up, or the watchdog shut the socket: the end
            return
        finally:
            reader.close()
            conn.close()

    def close(self) -> None:
        self.stop.set()
        with_shutdown(self._listener)  # wakes the blocked accept()
        for conn in self._conns:
            with_shutdown(conn)
        for thread in self._threads:
            thread.join(timeout=2)


def with_shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


@pytest.fixture
def hostile() -> Iterator[Callable[..., Hostile]]:
    servers: list[Hostile] = []

    def make(answer: Answer, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Hostile:
        server = Hostile(answer, host, tls)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def http(
    status: str,
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/hal+json"),),
    *,
    length: bool = True,
) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    else:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def canned(data: bytes, *, close: bool = False) -> Answer:
    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(data)
        if close:
            conn.shutdown(socket.SHUT_WR)

    return answer


def drip(data: bytes, every: float = 0.2, then: bytes = b"") -> Answer:
    """Send ``data`` one byte every ``every`` seconds (then ``then`` at once)."""

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        for i in range(len(data)):
            if stop.wait(every):
                return
            conn.sendall(data[i : i + 1])
        conn.sendall(then)

    return answer


def job_server(poll: Answer, write: bytes | None = None) -> Answer:
    """A write answers 202 with a job link; every other request is ``poll``'s."""
    accepted = write or http("202 Accepted", json.dumps({"job": JOB}).encode())

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        if request.method == "GET":
            poll(request, conn, stop)
        else:
            conn.sendall(accepted)

    return answer


def sequence(*answers: Answer) -> Answer:
    """The n-th request gets the n-th answer; later ones the last."""
    count = iter(range(10**9))

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        answers[min(next(count), len(answers) - 1)](request, conn, stop)

    return answer


def client(server: Hostile, **policy: Any) -> OntapClient:
    settings: dict[str, Any] = {"interval": 0.05, "jitter": 0.0, "timeout": DEADLINE}
    settings.update(policy)
    return OntapClient(server.url, auth=("admin", PASSWORD), policy=PollPolicy(**settings))


def timed(call: Callable[[], object]) -> tuple[float, BaseException | object]:
    started = time.monotonic()
    try:
        outcome: BaseException | object = call()
    except Exception as exc:
        outcome = exc
    return time.monotonic() - started, outcome


# --- slow drip: the deadline bounds the whole exchange --------------------------------------------
ANSWER_BODY = json.dumps({"job": {"uuid": "j1"}}).encode() + b" " * 100


def _drip_headers(request: Request, conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    drip(b"X-Slow: " + b"a" * 100 + b"\r\nContent-Length: 2\r\n\r\n{}")(request, conn, stop)


def _drip_body(request: Request, conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(http("200 OK", ANSWER_BODY)[: -len(ANSWER_BODY)])
    drip(ANSWER_BODY)(request, conn, stop)


def _drip_body_until_close(request: Request, conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(http("200 OK", length=False))
    drip(ANSWER_BODY)(request, conn, stop)


def _endless_continue(request: Request, conn: socket.socket, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


#: 100+ bytes at a byte every 0.2 s: 20 s and more if each read's timeout were the only bound.
DRIPS = {
    "drip-status-line": drip(http("200 OK", ANSWER_BODY)),
    "drip-headers": _drip_headers,
    "drip-body": _drip_body,
    "drip-body-without-length": _drip_body_until_close,
    "endless-100-continue": _endless_continue,
}


@pytest.mark.parametrize("attack", DRIPS)
def test_slow_drip_cannot_stretch_a_writes_deadline(
    hostile: Callable[..., Hostile], attack: str
) -> None:
    server = hostile(DRIPS[attack])
    with client(server) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, TransportError), outcome
    assert f"no complete answer within {DEADLINE:g} s" in str(outcome)
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + SLACK


@pytest.mark.parametrize("attack", ["drip-body", "drip-headers"])
def test_slow_drip_cannot_stretch_a_single_reads_limit(
    hostile: Callable[..., Hostile], attack: str
) -> None:
    server = hostile(DRIPS[attack])
    with client(server, read_timeout=DEADLINE) as c:
        elapsed, outcome = timed(lambda: c.get("/api/cluster"))
    assert isinstance(outcome, TransportError), outcome
    assert elapsed < DEADLINE + SLACK


def test_slow_drip_job_record_cannot_stretch_the_polls_deadline(
    hostile: Callable[..., Hostile],
) -> None:
    server = hostile(job_server(_drip_body))
    with client(server) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, JobTimeout), outcome
    assert "no complete answer" in str(outcome)  # what the last GET met
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + SLACK


def test_a_deadline_that_passed_never_cuts_the_next_exchange_on_the_same_connection(
    hostile: Callable[..., Hostile],
) -> None:
    """The first GET's deadline passes while the second, slower one reuses its connection."""

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        if request.path.startswith("/slow"):
            stop.wait(0.5)
        conn.sendall(http("200 OK", b"{}"))

    server = hostile(answer)
    with client(server, read_timeout=0.2) as c:
        assert c.get("/fast") == {}
        c.policy = PollPolicy(read_timeout=5.0)
        assert c.get("/slow") == {}
    assert len(server._conns) == 1  # one kept-alive connection served both


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return generate_tls_files(tmp_path_factory.mktemp("tls"))


def test_slow_drip_on_a_kept_alive_tls_connection_cannot_stretch_the_deadline(
    hostile: Callable[..., Hostile], tls_files: TlsFiles
) -> None:
    """The second answer comes one byte per TLS record: each SSL read returns within its timeout."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.cert_file, tls_files.key_file)
    server = hostile(sequence(canned(http("200 OK", b"{}")), _drip_body), tls=context)
    policy = PollPolicy(read_timeout=DEADLINE)
    with OntapClient(
        server.url, auth=("admin", PASSWORD), verify=tls_files.ca_file, policy=policy
    ) as c:
        assert c.get("/api/cluster") == {}
        elapsed, outcome = timed(lambda: c.get("/api/cluster"))
    assert isinstance(outcome, TransportError), outcome
    assert elapsed < DEADLINE + SLACK
    assert len(server._conns) == 1  # the kept-alive connection, not a new one
