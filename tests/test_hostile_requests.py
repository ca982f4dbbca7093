"""A hostile client against the simulator's application: each test names the attack it tries.

The bounds each test pins are listed in docs/reliability.md ("A hostile client (the
application)"). In-process (Flask's test client) unless the network matters.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from simulator import Simulator, serve

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
