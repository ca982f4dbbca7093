"""A hostile client against the simulator's application: each test names the attack it tries.

The bounds each test pins are listed in docs/reliability.md ("A hostile client (the
application)"). In-process (Flask's test client) unless the network matters.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import socket
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from simulator import Simulator, serve
from simulator.sim import JOURNAL_BODY_BYTES, JOURNAL_BYTES, retained_bytes

PASSWORD = "netapp1!"
TOKEN = base64.b64encode(b"admin:" + PASSWORD.encode()).decode()
AUTH = {"Authorization": "Basic " + TOKEN}
VOLUME: dict[str, Any] = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
TIMEOUT = 10.0


class Api:
    """Flask's test client, authenticated unless told otherwise."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.client = sim.app.test_client()

    def __call__(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, **kw: Any
    ) -> Any:
        headers = {**(AUTH if auth else {}), **kw.pop("headers", {})}
        if body is not None:
            kw["data"] = body if isinstance(body, bytes) else json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.client.open(path, method=method, headers=headers, **kw)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Simulator(clock="virtual")


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield Api(sim)
    assert sim.errors == []


def assert_error(response: Any, status: int, code: str, target: str | None = None) -> None:
    assert response.status_code == status, response.data
    assert response.content_type == "application/hal+json"
    error = response.json["error"]
    assert error["code"] == code, error
    assert error["message"]
    if target is not None:
        assert error.get("target") == target, error


# -- Authorization headers that are not Basic credentials ------------------------------------------
MALFORMED_AUTHORIZATION = {
    "non-ascii-after-token": "Basic " + TOKEN + "\xe9",
    "non-ascii-token": "Basic \xe9\xe9\xe9\xe9",
    "non-ascii-scheme": "B\xe4sic " + TOKEN,
    "bad-padding": "Basic " + TOKEN.rstrip("="),
    "extra-padding": "Basic " + TOKEN + "==",
    "no-colon": "Basic " + base64.b64encode(b"admin" + PASSWORD.encode()).decode(),
    "not-utf8": "Basic " + base64.b64encode(b"admin:\xff\xfe").decode(),
    "not-utf8-user": "Basic " + base64.b64encode(b"\xc3(:" + PASSWORD.encode()).decode(),
    "tab-separated": "Basic\t" + TOKEN,
    "token-with-nul": "Basic " + TOKEN[:4] + "\x00" + TOKEN[4:],
    "huge-header": "Basic " + "QUFB" * 300_000,
    "huge-valid-prefix": "Basic " + TOKEN + " " + "A" * 20_000,
}


@pytest.mark.parametrize("header", MALFORMED_AUTHORIZATION.values(), ids=MALFORMED_AUTHORIZATION)
def test_a_malformed_basic_authorization_header_is_401_not_500(api: Api, header: str) -> None:
    answer = api("GET", "/api/cluster", auth=False, headers={"Authorization": header})
    assert_error(answer, 401, "6")
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="ontap-sim"'
    assert api("GET", "/api/cluster").status_code == 200


def test_a_non_ascii_authorization_byte_over_a_socket_is_401_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulator(password=PASSWORD)
    with serve(sim) as handle:
        for header in (b"Basic " + TOKEN.encode() + b"\xe9", b"Basic \xff\xfe\xfd"):
            request = (
                b"GET /api/cluster HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Authorization: " + header + b"\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT) as conn:
                conn.sendall(request)
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert sim.errors == []
    assert "Traceback" not in caplog.text and "internal error" not in caplog.text


# -- the journal: what a stranger's request costs, and a bound in bytes ----------------------------
#: 1 MiB of ``[{}, {}, ...]``: the JSON body that costs the most memory once parsed (~26 MB).
COSTLY_BODY = b"[" + b",".join([b"{}"] * (1024 * 1024 // 3 - 1)) + b"]"


def test_an_unauthenticated_request_is_journaled_without_its_body_query_or_credentials(
    api: Api, sim: Simulator
) -> None:
    answer = api(
        "POST",
        "/api/storage/volumes?password=hunter2&colour=red",
        COSTLY_BODY,
        auth=False,
        headers={"Authorization": "Basic " + base64.b64encode(b"admin:hunter2").decode()},
    )
    assert answer.status_code == 401
    (entry,) = sim.journal
    assert entry == {
        "method": "POST",
        "path": "/api/storage/volumes",
        "status": 401,
        "time": sim.clock.now(),
    }


def test_unauthenticated_megabyte_posts_retain_no_memory(api: Api, sim: Simulator) -> None:
    tracemalloc.start()
    try:
        api("GET", "/api/cluster", auth=False)  # warm up
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            assert api("POST", "/api/storage/volumes", COSTLY_BODY, auth=False).status_code == 401
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"{grown:,} bytes kept for 5 refused strangers"
    assert len(sim.journal) == 6


def test_refused_megabyte_bodies_are_journaled_as_a_summary(api: Api, sim: Simulator) -> None:
    body = json.dumps({**VOLUME, "colour": "x" * (1024 * 1024 - 100)}).encode()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            assert_error(api("POST", "/api/storage/volumes", body), 400, "2", "colour")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"{grown:,} bytes kept for 5 refused bodies"
    bodies = {entry["body"] for entry in sim.journal}
    assert bodies == {f"<{len(body)} bytes: over the journal's 65536-byte limit, not kept>"}


def test_a_chunked_body_over_the_journal_limit_is_summarised_too(api: Api, sim: Simulator) -> None:
    body = json.dumps({**VOLUME, "comment": "x" * (JOURNAL_BODY_BYTES + 1)}).encode()
    answer = api.client.post(
        "/api/storage/volumes",
        input_stream=io.BytesIO(body),
        headers={**AUTH, "Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400  # comment too long
    assert sim.journal[-1]["body"].startswith(f"<{len(body)} bytes: ")


def test_a_body_within_the_journal_limit_is_kept_whole(api: Api, sim: Simulator) -> None:
    body = {**VOLUME, "comment": "c" * 1000}
    api("POST", "/api/storage/volumes", body)
    assert sim.journal[-1]["body"] == body


def test_the_journal_is_bounded_in_bytes_oldest_first() -> None:
    sim = Simulator(journal_bytes=200_000)
    api = Api(sim)
    for i in range(300):
        api("GET", f"/api/cluster?fields=name&max_records={i}")
    journal = sim.journal
    assert 50 < len(journal) < 300
    assert sum(retained_bytes(entry) for entry in journal) <= 200_000
    assert journal[-1]["query"] == {"fields": "name", "max_records": "299"}
    numbers = [int(entry["query"]["max_records"]) for entry in journal]
    assert numbers == list(range(300 - len(journal), 300))  # the oldest went first


def test_the_journal_byte_bound_has_a_documented_default() -> None:
    assert JOURNAL_BYTES == 64 * 1024 * 1024
    assert Simulator().journal_bytes == JOURNAL_BYTES
    sim = Simulator(journal_bytes=1000, journal_limit=5)
    api = Api(sim)
    for _ in range(10):
        api("GET", "/api/cluster")
    assert 0 < len(sim.journal) <= 5
    sim.clear_journal()
    assert sim.journal == []
