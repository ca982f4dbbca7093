"""OntapClient against a server that lies, stalls or floods: every attack is bounded.

Each test names the attack. The servers here are raw sockets on 127.0.0.1 scripted byte by byte
(no HTTP library would drip a status line or send 101 headers), so what the client meets is
exactly what a hostile or broken server can send. Real-clock tests are bounded to about 1 s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_ontapjob import (
    JobFailed,
    JobResult,
    JobTimeout,
    OntapClient,
    OntapError,
    OntapJobError,
    PollPolicy,
    ProtocolError,
    RetriesExhausted,
    TransportError,
)
from simulator.tlsgen import TlsFiles, generate_tls_files

PASSWORD = "Tr0ub4dor-hostile"
JOB = {"uuid": "j1", "_links": {"self": {"href": "/api/cluster/jobs/j1"}}}
RUNNING = json.dumps({"uuid": "j1", "state": "running"}).encode()
SUCCESS = json.dumps({"uuid": "j1", "state": "success", "message": "done"}).encode()
#: The deadline of the real-clock tests, how late past it they may end (on a loaded machine),
#: and what "at once" means: each attack took 20 s or more, or never ended, before its bound.
DEADLINE = 1.0
SLACK = 1.0
AT_ONCE = 1.5


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
    keep_alive: bool = False,
) -> bytes:
    """An answer; ``length=False`` ends the body by closing the connection."""
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
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


def foreign_chain(exc: BaseException) -> list[BaseException]:
    """The exceptions of other packages chained to ``exc``: their frames may hold credentials."""
    chained: list[BaseException] = []
    while (inner := exc.__cause__ or exc.__context__) is not None:
        assert exc.__suppress_context__  # and pytest does not print it
        if type(inner).__module__.split(".")[0] in ("requests", "urllib3", "http"):
            chained.append(inner)
        exc = inner
    return chained


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
        conn.sendall(http("200 OK", b"{}", keep_alive=True))

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
    first = canned(http("200 OK", b"{}", keep_alive=True))
    server = hostile(sequence(first, _drip_body), tls=context)
    policy = PollPolicy(read_timeout=DEADLINE)
    with OntapClient(
        server.url, auth=("admin", PASSWORD), verify=tls_files.ca_file, policy=policy
    ) as c:
        assert c.get("/api/cluster") == {}
        elapsed, outcome = timed(lambda: c.get("/api/cluster"))
    assert isinstance(outcome, TransportError), outcome
    assert elapsed < DEADLINE + SLACK
    assert len(server._conns) == 1  # the kept-alive connection, not a new one


# --- no raw requests/urllib3 exception escapes; each attack gets a package error ------------------
def _corrupt_gzip() -> bytes:
    headers = (("Content-Type", "application/hal+json"), ("Content-Encoding", "gzip"))
    return http("200 OK", b"\x1f\x8b\x08\x00 this is not gzip", headers)


DEEP = b"[" * 100_000 + b"]" * 100_000
#: attack -> the answer to every request
ANSWERS: dict[str, bytes] = {
    "corrupt-gzip-body": _corrupt_gzip(),
    "body-shorter-than-content-length": http("200 OK", b"{}")[:-2].replace(
        b"Content-Length: 2", b"Content-Length: 100"
    ),
    "json-nested-100000-deep": http("200 OK", DEEP),
    "non-utf8-json": http("200 OK", '{"name": "clé"}'.encode("latin-1")),
    "garbage-status-line-64k": b"HTTP/1.1 " + b"x" * 60_000 + b"\r\n\r\n",
    "101-headers": http("200 OK", b"{}", tuple((f"X-H{i}", "v") for i in range(101))),
    "header-line-over-64k": http("200 OK", b"{}", (("X-Big", "v" * 70_000),)),
    "redirect-to-itself": http("302 Found", headers=(("Location", "/api/cluster"),)),
    "status-103-as-final": http("103 Early Hints"),
    "status-999": http("999 Whatever", b"{}"),
    "bad-chunked-encoding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}
#: attack -> (error of a single GET, error of a write, substring of the message)
EXPECTED: dict[str, tuple[type[OntapJobError], type[OntapJobError], str]] = {
    "corrupt-gzip-body": (TransportError, TransportError, "could not be decoded"),
    "body-shorter-than-content-length": (TransportError, TransportError, "connection failed"),
    "json-nested-100000-deep": (ProtocolError, ProtocolError, "not JSON"),
    "non-utf8-json": (ProtocolError, ProtocolError, "not JSON in UTF-8"),
    "garbage-status-line-64k": (TransportError, TransportError, "connection failed"),
    "101-headers": (TransportError, TransportError, "more than 100 headers"),
    "header-line-over-64k": (TransportError, TransportError, "connection failed"),
    "redirect-to-itself": (ProtocolError, ProtocolError, "does not follow"),
    "status-103-as-final": (ProtocolError, ProtocolError, "not a final ONTAP answer"),
    "status-999": (ProtocolError, ProtocolError, "not a final ONTAP answer"),
    "bad-chunked-encoding": (TransportError, TransportError, "connection failed"),
}


@pytest.mark.parametrize("attack", ANSWERS)
def test_every_broken_answer_raises_a_package_error_chaining_nothing(
    hostile: Callable[..., Hostile], attack: str
) -> None:
    server = hostile(canned(ANSWERS[attack], close=True))
    read_error, write_error, text = EXPECTED[attack]
    with client(server) as c:
        with pytest.raises(OntapJobError) as read:
            c.get("/api/cluster")
        with pytest.raises(OntapJobError) as write:
            c.post("/api/storage/volumes", json={})
    for info, expected in ((read, read_error), (write, write_error)):
        assert type(info.value) is expected, info.value
        assert text in str(info.value)
        assert not foreign_chain(info.value)
        assert len(str(info.value)) < 1200  # the server's bytes are quoted, not copied whole
    if write_error is TransportError:
        assert "may or may not have been applied" in str(write.value)


@pytest.mark.parametrize(
    "attack",
    [
        "corrupt-gzip-body",
        "body-shorter-than-content-length",
        "json-nested-100000-deep",
        "non-utf8-json",
        "garbage-status-line-64k",
        "bad-chunked-encoding",
    ],
)
def test_an_unusable_job_record_is_retried_while_polling(
    hostile: Callable[..., Hostile], attack: str
) -> None:
    """Unparsable and undecodable bodies are retried, as documented; the next good one ends it."""
    poll = sequence(canned(ANSWERS[attack], close=True), canned(http("200 OK", SUCCESS)))
    server = hostile(job_server(poll))
    with client(server, timeout=10) as c:
        result = c.post("/api/storage/volumes", json={})
    assert (result.state, result.polls) == ("success", 2)


def test_an_error_answer_nested_100000_deep_is_an_ontap_error(
    hostile: Callable[..., Hostile],
) -> None:
    server = hostile(canned(http("400 Bad Request", DEEP)))
    with client(server) as c, pytest.raises(OntapError) as info:
        c.get("/api/cluster")
    assert info.value.status == 400
    assert len(str(info.value)) < 1000


def test_a_job_href_that_is_no_url_is_refused_before_any_poll(
    hostile: Callable[..., Hostile],
) -> None:
    stub = {"job": {"uuid": "j1", "_links": {"self": {"href": "http://[::1/api/cluster/jobs/j1"}}}}
    server = hostile(canned(http("202 Accepted", json.dumps(stub).encode())))
    with client(server) as c, pytest.raises(ProtocolError, match="not a valid URL"):
        c.post("/api/storage/volumes", json={})
    assert [r.method for r in server.requests] == ["POST"]


def test_a_job_uuid_with_path_tricks_stays_one_path_segment(
    hostile: Callable[..., Hostile],
) -> None:
    stub = {"job": {"uuid": "../../storage/volumes?x=1#"}}
    server = hostile(job_server(canned(http("200 OK", SUCCESS)), http("202 Accepted", b"")))
    server.answer = job_server(
        canned(http("200 OK", SUCCESS)), http("202 Accepted", json.dumps(stub).encode())
    )
    with client(server) as c:
        c.post("/api/storage/volumes", json={})
    assert server.requests[1].path.startswith(
        "/api/cluster/jobs/..%2F..%2Fstorage%2Fvolumes%3Fx%3D1%23?fields="
    )


def test_a_json_body_the_caller_cannot_send_is_a_transport_error_with_nothing_sent(
    hostile: Callable[..., Hostile],
) -> None:
    server = hostile(canned(http("200 OK", b"{}")))
    with client(server) as c, pytest.raises(TransportError, match="could not be sent") as info:
        c.post("/api/storage/volumes", json={"size": float("nan")})
    assert "may or may not" not in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        (("admin", PASSWORD + "€"), "the password has characters outside Latin-1"),
        (("admin",), "a (username, password) pair"),
        (("admin", 5), "the password must be a str"),
    ],
)
def test_unusable_credentials_are_refused_up_front_without_showing_them(
    auth: Any, problem: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(problem)) as info:
        OntapClient("https://cluster.example", auth=auth)
    assert PASSWORD not in str(info.value)


# --- redirects: never followed --------------------------------------------------------------------
def test_a_redirect_answering_a_write_is_not_followed_as_a_get(
    hostile: Callable[..., Hostile],
) -> None:
    """Following it, requests re-sent the POST as a GET and its 200 passed for the write's."""

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        if request.method == "POST":
            conn.sendall(http("302 Found", headers=(("Location", "/api/cluster"),)))
        else:
            conn.sendall(http("200 OK", b'{"name": "cluster1"}'))

    server = hostile(answer)
    with client(server) as c, pytest.raises(ProtocolError, match="HTTP 302, a redirect to"):
        c.post("/api/storage/volumes", json={})
    assert [r.method for r in server.requests] == ["POST"]


def test_a_redirect_to_another_origin_sends_it_nothing(hostile: Callable[..., Hostile]) -> None:
    elsewhere = hostile(canned(http("200 OK", b"{}")), host="127.0.0.2")
    location = f"{elsewhere.url}/api/cluster"
    server = hostile(canned(http("307 Temporary Redirect", headers=(("Location", location),))))
    with client(server) as c:
        with pytest.raises(ProtocolError, match=r"127\.0\.0\.2"):
            c.get("/api/cluster")
        with pytest.raises(ProtocolError, match=r"127\.0\.0\.2"):
            c.post("/api/storage/volumes", json={})
    assert elsewhere.requests == []


# --- sizes ----------------------------------------------------------------------------------------
def test_a_declared_body_over_the_cap_is_refused_unread(hostile: Callable[..., Hostile]) -> None:
    sent = 0

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        nonlocal sent
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b" " * 65536)
            sent += 65536

    server = hostile(answer)
    with client(server) as c:
        elapsed, outcome = timed(lambda: c.get("/api/cluster"))
    assert isinstance(outcome, ProtocolError), outcome
    assert "larger than 67,108,864 bytes (PollPolicy.max_body_bytes)" in str(outcome)
    assert elapsed < AT_ONCE
    assert sent < 16 * 2**20  # what the socket buffers took before the client hung up


def test_an_endless_chunked_body_is_cut_at_the_cap(hostile: Callable[..., Hostile]) -> None:
    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"[1," * 10_000
        while not stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    server = hostile(answer)
    with client(server, max_body_bytes=2**20) as c:
        elapsed, outcome = timed(lambda: c.get("/api/storage/volumes"))
    assert isinstance(outcome, ProtocolError), outcome
    assert "larger than 1,048,576 bytes" in str(outcome)
    assert elapsed < AT_ONCE


def test_a_job_record_over_its_cap_is_refused_while_polling(
    hostile: Callable[..., Hostile],
) -> None:
    record = json.dumps({"uuid": "j1", "state": "running", "message": "x" * 2**21}).encode()
    server = hostile(job_server(canned(http("200 OK", record, length=False), close=True)))
    with client(server, timeout=10) as c, pytest.raises(ProtocolError) as info:
        c.post("/api/storage/volumes", json={})
    assert "larger than 1,048,576 bytes (PollPolicy.max_job_body_bytes)" in str(info.value)


def test_a_gzip_bomb_is_cut_at_the_cap_in_bounded_memory(hostile: Callable[..., Hostile]) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(b"\0" * 2**20) for _ in range(256)) + packer.flush()
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    server = hostile(canned(http("200 OK", bomb, headers)))  # 256 MiB in 255 kB
    with client(server, max_body_bytes=4 * 2**20) as c:
        tracemalloc.start()
        try:
            elapsed, outcome = timed(lambda: c.get("/api/cluster"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert isinstance(outcome, ProtocolError), outcome
    assert peak < 16 * 2**20
    assert elapsed < 2 * AT_ONCE


def test_cookies_a_server_sets_are_not_kept(hostile: Callable[..., Hostile]) -> None:
    cookies = tuple(("Set-Cookie", f"c{i}={'v' * 4000}; Path=/") for i in range(50))
    server = hostile(canned(http("200 OK", b"{}", cookies)))
    with client(server) as c:
        for _ in range(3):
            c.get("/api/cluster")
        assert len(c.session.cookies) == 0
    assert all("cookie" not in r.headers for r in server.requests)


# --- durations and counts -------------------------------------------------------------------------
HUGE_RETRY_AFTERS = ["99999999999", "9" * 5000]


@pytest.mark.parametrize("retry_after", HUGE_RETRY_AFTERS, ids=["1e11", "5000-digits"])
def test_a_huge_retry_after_on_a_write_raises_at_once(
    hostile: Callable[..., Hostile], retry_after: str
) -> None:
    headers = (("Retry-After", retry_after),)
    server = hostile(canned(http("503 Service Unavailable", b"{}", headers)))
    with client(server, timeout=3600) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, OntapError) and outcome.status == 503, outcome
    assert elapsed < AT_ONCE and len(server.requests) == 1


@pytest.mark.parametrize("retry_after", HUGE_RETRY_AFTERS, ids=["1e11", "5000-digits"])
def test_a_huge_retry_after_while_polling_times_out_at_once(
    hostile: Callable[..., Hostile], retry_after: str
) -> None:
    headers = (("Retry-After", retry_after),)
    server = hostile(job_server(canned(http("503 Service Unavailable", b"{}", headers))))
    with client(server, timeout=3600) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, JobTimeout), outcome
    assert "asked to retry after" in str(outcome)
    assert elapsed < AT_ONCE


@pytest.mark.parametrize(
    "retry_after",
    ["Mon, 01 Jan 99999999999999999999 00:00:00 GMT", "1_000", "-5", "nan"],
    ids=["year-overflowing-a-C-long", "underscore-digits", "negative", "nan"],
)
def test_a_retry_after_that_is_no_http_value_is_ignored(
    hostile: Callable[..., Hostile], retry_after: str
) -> None:
    """Neither a crash (OverflowError) nor a wait the server did not ask for in HTTP's terms."""
    busy = canned(http("503 Service Unavailable", b"{}", (("Retry-After", retry_after),)))
    done = canned(http("201 Created", json.dumps({"job": JOB}).encode()))
    server = hostile(sequence(busy, done))
    with client(server, timeout=3) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, JobResult) and outcome.status_code == 201, outcome
    assert elapsed < AT_ONCE  # retried after the policy's interval, not 1,000 s


def test_endless_429s_on_a_write_end_after_max_transient_errors(
    hostile: Callable[..., Hostile],
) -> None:
    headers = (("Retry-After", "0"),)
    server = hostile(canned(http("429 Too Many Requests", b"{}", headers)))
    with client(server, max_transient_errors=3) as c, pytest.raises(OntapError) as info:
        c.post("/api/storage/volumes", json={})
    assert info.value.status == 429
    assert len(server.requests) == 4


def test_endless_503s_while_polling_end_after_max_transient_errors(
    hostile: Callable[..., Hostile],
) -> None:
    server = hostile(job_server(canned(http("503 Service Unavailable", b"{}"))))
    with client(server, max_transient_errors=3, timeout=10) as c:
        with pytest.raises(RetriesExhausted):
            c.post("/api/storage/volumes", json={})
    assert len(server.requests) == 1 + 4


def test_a_job_that_flips_states_forever_ends_at_the_deadline_with_bounded_log_lines(
    hostile: Callable[..., Hostile], caplog: pytest.LogCaptureFixture
) -> None:
    """Every poll a new state and a new 10 kB message with a forged log line in it."""
    count = iter(range(10**9))

    def poll(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        n = next(count)
        forged = "\nINFO pytest_ontapjob: job j1 success: done\n" + "x" * 10_000
        record = {"uuid": "j1", "state": ("running", "paused")[n % 2], "message": f"{n}{forged}"}
        conn.sendall(http("200 OK", json.dumps(record).encode()))

    server = hostile(job_server(poll))
    caplog.set_level(logging.INFO, logger="pytest_ontapjob")
    with client(server, timeout=0.5, max_interval=0.05, backoff=1.0) as c:
        elapsed, outcome = timed(lambda: c.post("/api/storage/volumes", json={}))
    assert isinstance(outcome, JobTimeout), outcome
    assert elapsed < 0.5 + SLACK
    polls = len(server.requests) - 1
    assert 1 <= polls <= 11  # at most one per 50 ms interval, however fast the server answers
    lines = [r.getMessage() for r in caplog.records if r.name == "pytest_ontapjob"]
    assert lines and all("\n" not in line and len(line) < 400 for line in lines)


NOISE = "\x1b[2J\x1b]0;pwned\x07" + "y" * 500_000  # clears the terminal, retitles it, floods


def test_a_failed_jobs_huge_message_with_terminal_escapes_is_shown_cut_and_escaped(
    hostile: Callable[..., Hostile],
) -> None:
    failed = {"uuid": "j1", "state": "failure", "message": NOISE, "code": 1, "description": NOISE}
    server = hostile(job_server(canned(http("200 OK", json.dumps(failed).encode()))))
    with client(server) as c, pytest.raises(JobFailed) as info:
        c.post("/api/storage/volumes", json={})
    assert info.value.message == NOISE  # the attribute keeps it whole
    assert len(str(info.value)) < 2000 and "\x1b" not in str(info.value)
    assert "\\x1b[2J" in str(info.value)


def test_an_error_answers_huge_message_with_terminal_escapes_is_shown_cut_and_escaped(
    hostile: Callable[..., Hostile],
) -> None:
    error = {"error": {"message": NOISE, "code": NOISE, "target": NOISE}}
    server = hostile(canned(http("400 Bad Request", json.dumps(error).encode())))
    with client(server) as c, pytest.raises(OntapError) as info:
        c.get("/api/cluster")
    assert info.value.message == NOISE
    assert len(str(info.value)) < 2000 and "\x1b" not in str(info.value)


# --- credentials in tracebacks --------------------------------------------------------------------
INNER_TESTS = """
import os

import pytest

from pytest_ontapjob import OntapClient, PollPolicy

PASSWORD = os.environ["HOSTILE_PASSWORD"]
URL = os.environ["HOSTILE_URL"]
POLICY = PollPolicy(timeout=5, interval=0.05)


def test_bad_base_url():
    OntapClient("ftp://cluster.example", auth=("admin", PASSWORD))


def test_password_outside_latin1():
    with OntapClient(URL, auth=("admin", PASSWORD + "\\u20ac")) as client:
        client.get("/api/cluster")


def test_json_that_cannot_be_sent():
    with OntapClient(URL, auth=("admin", PASSWORD), policy=POLICY) as client:
        client.post("/api/storage/volumes", json={"size": float("nan")})


@pytest.mark.parametrize("path", ["/gzip", "/loop", "/short", "/deep"])
def test_hostile_answers(path):
    with OntapClient(URL, auth=("admin", PASSWORD), policy=POLICY) as client:
        client.get(path)
"""


def test_no_traceback_shows_the_password_with_tb_long(
    hostile: Callable[..., Hostile], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {
        "/gzip": ANSWERS["corrupt-gzip-body"],
        "/loop": http("302 Found", headers=(("Location", "/loop"),)),
        "/short": ANSWERS["body-shorter-than-content-length"],
        "/deep": ANSWERS["json-nested-100000-deep"],
    }

    def answer(request: Request, conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(answers.get(request.path, http("200 OK", b"{}")))
        conn.shutdown(socket.SHUT_WR)

    server = hostile(answer)
    monkeypatch.setenv("HOSTILE_PASSWORD", PASSWORD)
    monkeypatch.setenv("HOSTILE_URL", server.url)
    pytester.makepyfile(INNER_TESTS)
    result = pytester.runpytest("--tb=long", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=7)
    output = result.stdout.str()
    assert PASSWORD not in output
    assert "Basic " not in output and "Authorization" not in output
    raised = [line for line in output.splitlines() if line.startswith("E   ")]
    assert not [line for line in raised if "requests." in line or "urllib3." in line]


def test_finished_exchanges_leave_no_trace_in_the_watchdog(hostile: Callable[..., Hostile]) -> None:
    """A long-lived client's requests must not pile up, one per request, until their deadline."""
    from pytest_ontapjob.client import _WATCHDOG

    server = hostile(canned(http("200 OK", b"{}", keep_alive=True)))
    with client(server, read_timeout=3600) as c:
        for _ in range(500):
            c.get("/api/cluster")
    assert len(_WATCHDOG._heap) < 200
