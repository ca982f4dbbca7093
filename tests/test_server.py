"""simulator.server and simulator.tlsgen on real sockets (127.0.0.1, port 0)."""

from __future__ import annotations

import datetime
import http.client
import http.server
import io
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from cryptography import x509
from flask import Flask, jsonify, request

from simulator.server import (
    DROP_KEY,
    TRANSPORT_KEY,
    ServerHandle,
    _parse_header_lines,
    _url_host,
    _wait_ready,
    serve,
)
from simulator.tlsgen import CA_COMMON_NAME, generate_tls_files

TIMEOUT = 5.0


class App:
    """A WSGI app whose paths exercise the server (echo by default)."""

    def __init__(self) -> None:
        self.environs: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.environs.append(environ)
        path = environ["PATH_INFO"]
        if path == "/drop":
            environ[DROP_KEY]()
            start_response("200 OK", [("Content-Length", "0")])
            return []
        elif path == "/drop-then-read":
            environ[DROP_KEY]()  # then falls through and fails reading the body
        elif path == "/slow":
            self.arrived.release()
            self.release.wait(timeout=2.0)
        elif path == "/boom":
            raise RuntimeError("boom")
        elif path == "/stream":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([b"one ", b"two"])
        elif path == "/ignore-body":
            body = b"ignored"
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]
        body = b"echo:" + environ["wsgi.input"].read()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    @property
    def remote_ports(self) -> list[int]:
        return [int(e["REMOTE_PORT"]) for e in self.environs]


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def server(app: App) -> Iterator[ServerHandle]:
    with serve(app) as handle:
        yield handle


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ontap-sim-server"]


def test_port_zero_gives_url_and_answers(server: ServerHandle, app: App) -> None:
    assert server.port > 0
    assert server.host == "127.0.0.1"
    assert server.scheme == "http"
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.ca_file is None and server.cert_file is None
    r = requests.post(server.url + "/echo", data=b"hi", timeout=TIMEOUT)
    assert (r.status_code, r.content) == (200, b"echo:hi")
    assert app.environs[-1][TRANSPORT_KEY] == "http"


def test_accepts_an_object_with_an_app_attribute(app: App) -> None:
    with serve(SimpleNamespace(app=app)) as handle:
        assert requests.get(handle.url + "/echo", timeout=TIMEOUT).content == b"echo:"


def test_rejects_what_is_not_an_app() -> None:
    with pytest.raises(TypeError, match="WSGI"), serve(42):
        pass


def test_ready_on_entry_and_stopped_on_exit(app: App) -> None:
    before = set(_server_threads())  # a session-scoped server may be running too
    with serve(app) as handle:
        assert _port_open(handle.port)
        (ours,) = set(_server_threads()) - before
        with requests.Session() as session:
            assert session.get(handle.url + "/echo", timeout=TIMEOUT).ok
            started = time.monotonic()
            handle.stop()
            handle.stop()  # idempotent
            assert time.monotonic() - started < 1.0
            assert not _port_open(handle.port)
            # The pooled keep-alive connection was closed by stop(), not left serving.
            with pytest.raises(requests.ConnectionError):
                session.get(handle.url + "/echo", timeout=TIMEOUT)
    assert not ours.is_alive()
    assert "stopped" in repr(handle)


def test_readiness_times_out_with_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        done = threading.Event()
        thread = threading.Thread(target=done.wait, args=(2.0,))  # stands in for the server
        thread.start()
        started = time.monotonic()
        try:
            with pytest.raises(RuntimeError, match=r"did not accept a connection within 0\.2 s"):
                _wait_ready("127.0.0.1", port, thread, 0.2)
            assert time.monotonic() - started < 0.9
        finally:
            done.set()
            thread.join(TIMEOUT)


def test_busy_port_raises_oserror_not_systemexit(app: App) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(OSError), serve(app, port=port):
            pass


def test_url_host_brackets_ipv6_and_maps_wildcards_to_loopback() -> None:
    assert _url_host("127.0.0.1") == "127.0.0.1"
    assert _url_host("localhost") == "localhost"
    assert _url_host("::1") == "[::1]"
    assert _url_host("0.0.0.0") == "127.0.0.1"
    assert _url_host("::") == "[::1]"


def test_no_access_log_lines(
    server: ServerHandle, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with requests.Session() as session:
        for path in ("/echo", "/stream", "/missing"):
            assert session.get(server.url + path, timeout=TIMEOUT).ok
    assert not [r for r in caplog.records if r.name.startswith("werkzeug")]
    ours = [r for r in caplog.records if not r.name.startswith("urllib3")]
    assert not [r for r in ours if "GET /" in r.getMessage()]
    out, err = capsys.readouterr()
    assert "GET /" not in out + err


def test_keep_alive_reuses_the_connection(server: ServerHandle, app: App) -> None:
    with requests.Session() as session:
        for _ in range(3):
            r = session.post(server.url + "/echo", data=b"x", timeout=TIMEOUT)
            assert r.content == b"echo:x"
            assert "close" not in r.headers.get("Connection", "")
        # A body the app never read is drained, so the connection stays usable.
        assert session.post(server.url + "/ignore-body", data=b"y" * 5000, timeout=TIMEOUT).ok
        assert session.get(server.url + "/stream", timeout=TIMEOUT).content == b"one two"
        assert session.head(server.url + "/stream", timeout=TIMEOUT).content == b""
        assert session.get(server.url + "/echo", timeout=TIMEOUT).content == b"echo:"
    assert len(set(app.remote_ports)) == 1, app.remote_ports


def test_answers_leave_without_nagle_delay(server: ServerHandle, app: App) -> None:
    """TCP_NODELAY on every accepted connection: a small answer written after its headers is
    not held back for the client's delayed ACK (up to 40 ms on Linux) on a kept-alive
    connection."""
    with requests.Session() as session:
        assert session.get(server.url + "/echo", timeout=TIMEOUT).ok
        sock = app.environs[-1]["werkzeug.socket"]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_flask_app_keeps_alive(app: App) -> None:
    flask_app = Flask(__name__)

    @flask_app.post("/echo")
    def echo() -> Any:
        return jsonify(got=request.get_json(), port=request.environ["REMOTE_PORT"])

    with serve(flask_app) as handle, requests.Session() as session:
        answers = [
            session.post(handle.url + "/echo", json={"n": n}, timeout=TIMEOUT).json()
            for n in range(3)
        ]
    assert [a["got"] for a in answers] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len({a["port"] for a in answers}) == 1


def test_http10_and_connection_close_are_honoured(server: ServerHandle) -> None:
    for request_head in (
        b"GET /stream HTTP/1.0\r\n\r\n",
        b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as s:
            s.sendall(request_head)
            data = b""
            while chunk := s.recv(4096):  # ends because the server closes
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"Connection: close" in head
        assert b"one two" in body


def test_drop_closes_without_answer_and_server_keeps_answering(
    server: ServerHandle, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with requests.Session() as session:
        assert session.get(server.url + "/echo", timeout=TIMEOUT).ok
        with pytest.raises(requests.ConnectionError):
            session.post(server.url + "/drop", data=b"body", timeout=TIMEOUT)
        assert session.get(server.url + "/echo", timeout=TIMEOUT).content == b"echo:"
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/drop", timeout=TIMEOUT)
    with pytest.raises(requests.ConnectionError):
        requests.post(server.url + "/drop-then-read", data=b"x" * 100, timeout=TIMEOUT)
    assert requests.get(server.url + "/echo", timeout=TIMEOUT).ok
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_app_error_answers_500_and_logs(
    server: ServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="simulator.server"):
        r = requests.get(server.url + "/boom", timeout=TIMEOUT)
    assert r.status_code == 500
    assert any("boom" in (r.exc_text or "") for r in caplog.records)
    assert requests.get(server.url + "/echo", timeout=TIMEOUT).ok


def test_64_slow_requests_leave_a_fast_one_prompt(server: ServerHandle, app: App) -> None:
    slow = 64
    with ThreadPoolExecutor(max_workers=slow) as pool:
        futures = [
            pool.submit(requests.get, server.url + "/slow", timeout=TIMEOUT) for _ in range(slow)
        ]
        try:
            deadline = time.monotonic() + 3.0
            for _ in range(slow):
                assert app.arrived.acquire(timeout=max(deadline - time.monotonic(), 0.01))
            started = time.monotonic()
            r = requests.get(server.url + "/echo", timeout=TIMEOUT)
            elapsed = time.monotonic() - started
        finally:
            app.release.set()
        assert r.ok
        assert elapsed < 0.5, elapsed
        assert all(f.result(timeout=TIMEOUT).ok for f in futures)


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_https_with_generated_certificate(app: App, hostname: str) -> None:
    with serve(app, tls=True) as handle:
        assert handle.scheme == "https"
        assert handle.url == f"https://127.0.0.1:{handle.port}"
        assert handle.ca_file is not None and handle.cert_file is not None
        url = f"https://{hostname}:{handle.port}/echo"
        # verify= per request: requests lets REQUESTS_CA_BUNDLE override Session.verify.
        r = requests.post(url, data=b"tls", verify=handle.ca_file, timeout=TIMEOUT)
        assert r.content == b"echo:tls"
        assert app.environs[-1]["wsgi.url_scheme"] == "https"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, verify=True, timeout=TIMEOUT)
        ca_dir = Path(handle.ca_file).parent
    assert not ca_dir.exists()


def test_https_keep_alive_and_drop(app: App) -> None:
    with serve(app, tls=True) as handle, requests.Session() as session:
        for _ in range(2):
            assert session.get(handle.url + "/echo", verify=handle.ca_file, timeout=TIMEOUT).ok
        with pytest.raises(requests.ConnectionError):
            session.get(handle.url + "/drop", verify=handle.ca_file, timeout=TIMEOUT)
        assert session.get(handle.url + "/echo", verify=handle.ca_file, timeout=TIMEOUT).ok
    assert len(set(app.remote_ports[:3])) == 1


def test_silent_tls_client_does_not_stall_others(app: App) -> None:
    with (
        serve(app, tls=True) as handle,
        socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT),
    ):
        started = time.monotonic()
        r = requests.get(handle.url + "/echo", verify=handle.ca_file, timeout=TIMEOUT)
        assert r.ok
        assert time.monotonic() - started < 1.0


def test_https_with_given_certfile_and_keyfile(app: App, tmp_path: Path) -> None:
    files = generate_tls_files(tmp_path / "tls", key_type="rsa")
    with serve(app, certfile=files.cert_file, keyfile=files.key_file) as handle:
        assert handle.scheme == "https"
        assert handle.ca_file is None
        assert handle.cert_file == files.cert_file
        r = requests.get(
            f"https://localhost:{handle.port}/echo", verify=files.ca_file, timeout=TIMEOUT
        )
        assert r.ok
    assert Path(files.cert_file).exists()  # the caller's files are left alone


def test_keyfile_needs_certfile(app: App) -> None:
    with pytest.raises(ValueError, match="certfile"), serve(app, keyfile="key.pem"):
        pass


def test_tlsgen_writes_ca_chain_and_private_key(tmp_path: Path) -> None:
    started = time.monotonic()
    files = generate_tls_files(tmp_path, hosts=["sim.example", "10.0.0.7", "0.0.0.0", "[::1]"])
    assert time.monotonic() - started < 0.5
    assert files.directory == str(tmp_path)
    assert stat.S_IMODE(os.stat(files.key_file).st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(Path(files.ca_file).read_bytes())
    chain = x509.load_pem_x509_certificates(Path(files.cert_file).read_bytes())
    assert len(chain) == 2 and chain[1] == ca
    leaf = chain[0]
    assert ca.subject.rfc4514_string() == f"CN={CA_COMMON_NAME}"
    assert leaf.issuer == ca.subject
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "sim.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "::1",
        "10.0.0.7",
    ]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert leaf.not_valid_before_utc < now - datetime.timedelta(hours=23)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == datetime.timedelta(days=825)


def test_tlsgen_defaults_to_a_fresh_temporary_directory() -> None:
    files = generate_tls_files()
    try:
        assert Path(files.directory).name.startswith("ontap-sim-tls-")
        assert {p.name for p in Path(files.directory).iterdir()} == {
            "ca.pem",
            "cert.pem",
            "key.pem",
        }
    finally:
        for name in ("ca.pem", "cert.pem", "key.pem"):
            Path(files.directory, name).unlink()
        Path(files.directory).rmdir()


# -- the request head is read as http.server reads it ---------------------------------------------
HEADER_SECTIONS = [
    b"Host: a\r\nAccept: */*\r\nAuthorization: Basic eDp5\r\n\r\n",
    b"Host:a\r\nX-Empty:\r\nX-Spaces:   v  \t \r\nX-Tab:\tv\r\n\r\n",
    b"Host: a\nAccept: */*\n\n",  # bare LF line ends
    b"X-Dup: 1\r\nx-dup: 2\r\nX-DUP: 3\r\n\r\n",
    b"X-Latin: caf\xe9 \xff\r\n\r\n",
    b"X-Fold: one\r\n two\r\n\tthree\r\nHost: a\r\n\r\n",  # obs-fold
    b" X-Leading: continuation first\r\nHost: a\r\n\r\n",
    b"Host: a\r\nno colon here\r\nX-After: lost\r\n\r\n",
    b"Host: a\r\nBad Name: v\r\nX-After: v\r\n\r\n",
    b"Host: a\r\n: empty name\r\nX-After: v\r\n\r\n",
    b"Host: a\r\nX-Paren(x): v\r\n\r\n",
    b"From nobody\r\nHost: a\r\n\r\n",
    b"Host: a\r\nX-CR: one\rtwo\r\n\r\n",
    b"Host: a\r\nX-Colons: a:b::c\r\n\r\n",
    b"Host: a\r\nX-NUL: a\x00b\r\n\r\n",
    b"Host: a\r\n",  # the connection ended before the blank line
    b"\r\n",
]


def _lines(section: bytes) -> list[bytes]:
    stream = io.BytesIO(section)
    lines = []
    while True:
        line = stream.readline()
        lines.append(line)
        if line in (b"\r\n", b"\n", b""):
            return lines


@pytest.mark.parametrize("section", HEADER_SECTIONS)
def test_header_sections_parse_as_http_client_parses_them(section: bytes) -> None:
    ours = _parse_header_lines(_lines(section))
    theirs = http.client.parse_headers(io.BytesIO(section))
    assert isinstance(ours, http.client.HTTPMessage)
    assert ours.items() == theirs.items()
    assert ours.get_all("X-Dup") == theirs.get_all("X-Dup")


REQUEST_HEADS = [
    b"GET /api/cluster HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /api/cluster HTTP/1.0\r\nHost: a\r\n\r\n",
    b"GET /api/cluster HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /api/cluster HTTP/1.1\r\nConnection: Close\r\n\r\n",
    b"POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
    b"POST /x HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
    b"GET //double//slash HTTP/1.1\r\n\r\n",
    b"GET /x\r\n\r\n",  # HTTP/0.9
    b"POST /x\r\n\r\n",
    b"GET /x HTTP/2.0\r\n\r\n",
    b"GET /x HTTP/1.1.1\r\n\r\n",
    b"GET /x HTTP/1.\xb2\r\n\r\n",  # a Latin-1 digit that is not an ASCII digit
    b"GET /x HTTP/12345678901.1\r\n\r\n",
    b"GET /x FTP/1.1\r\n\r\n",
    b"GET /x y HTTP/1.1\r\n\r\n",
    b"GET\r\n\r\n",
    b"   \r\n\r\n",
    b"GET /x HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n",
]


def _parsed_by(parse: Any, head: bytes) -> tuple[Any, ...]:
    from simulator.server import _Handler

    handler = _Handler.__new__(_Handler)
    line, _, rest = head.partition(b"\n")
    handler.raw_requestline = line + b"\n"
    handler.reader = handler.rfile = io.BytesIO(rest)  # type: ignore[assignment]
    handler.command, handler.path, handler.requestline = "", "", ""
    refused: list[tuple[int, str | None]] = []
    handler.send_error = lambda code, message=None, explain=None: refused.append(  # type: ignore[method-assign]
        (int(code), message)
    )
    ok = parse(handler)
    headers = sorted(handler.headers.items()) if ok else None
    return (
        ok,
        refused,
        handler.close_connection,
        handler.request_version,
        handler.expect_continue,
        handler.command if ok else None,
        handler.path if ok else None,
        headers,
    )


@pytest.mark.parametrize("head", REQUEST_HEADS, ids=lambda head: repr(head[:40]))
def test_request_heads_are_read_as_http_server_reads_them(head: bytes) -> None:
    from simulator.server import _Handler

    ours = _parsed_by(_Handler.parse_request, head)
    theirs = _parsed_by(http.server.BaseHTTPRequestHandler.parse_request, head)
    assert ours == theirs


ENVIRON_TARGETS = [
    "/api/cluster/jobs/u1?fields=state,message,code",
    "/api/storage/volumes",
    "/",
    "/a%20b/caf%C3%A9/%FF?x=%20&y=caf%C3%A9",
    "/x?a=1?b=2",
    "/x?",
    "/a:b/[c]/@d",
    "/x#fragment",
    "//double/slash",
    "http://host.example:8080/absolute?q=1",
    "*",
]
ENVIRON_HEADERS = [
    b"Host: 127.0.0.1:8080\r\nAuthorization: Basic eDp5\r\nAccept: */*\r\n\r\n",
    b"Content-Type: application/json\r\nContent-Length: 12\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
    b"Content-Length: 1\r\nContent-Length: 2\r\nX_Under: dropped\r\n\r\n",
    b"Transfer-Encoding: gzip, chunked\r\nX-Fold: a\r\n b\r\n\r\n",
    b"\r\n",
]


@pytest.mark.parametrize("target", ENVIRON_TARGETS)
@pytest.mark.parametrize("section", ENVIRON_HEADERS, ids=range(len(ENVIRON_HEADERS)))
def test_the_environ_is_the_one_werkzeug_builds(target: str, section: bytes) -> None:
    from werkzeug.serving import WSGIRequestHandler

    from simulator.server import _Handler

    handler = _Handler.__new__(_Handler)
    handler.server = SimpleNamespace(  # type: ignore[assignment]
        ssl_context=None,
        multithread=True,
        multiprocess=False,
        server_address=("127.0.0.1", 8080),
        _server_version="libzapid-httpd",
    )
    handler.client_address = ("127.0.0.1", 40000)
    handler.connection = socket.socket()
    handler.rfile = io.BytesIO()
    handler.command, handler.path, handler.request_version = "GET", target, "HTTP/1.1"
    handler.headers = _parse_header_lines(_lines(section))
    try:
        ours = handler._werkzeug_environ()
        theirs = WSGIRequestHandler.make_environ(handler)
    finally:
        handler.connection.close()
    for environ in (ours, theirs):  # a fresh DechunkedInput each: compare its kind
        environ["wsgi.input"] = type(environ["wsgi.input"])
    assert ours == theirs


def test_the_date_header_is_the_current_second(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import email.utils

    import simulator.server

    with requests.Session() as session:
        now = time.time()
        first = session.get(server.url + "/echo", timeout=TIMEOUT).headers["Date"]
        assert abs(email.utils.parsedate_to_datetime(first).timestamp() - now) <= 2
        later = int(now) + 3600.25
        monkeypatch.setattr(simulator.server.time, "time", lambda: later)
        second = session.get(server.url + "/echo", timeout=TIMEOUT).headers["Date"]
    assert second == email.utils.formatdate(int(later), usegmt=True)
