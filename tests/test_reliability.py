"""Reliability: a table of malformed requests over a real server, and every fault kind over
real HTTP and in-process.

The table is the catalogue in docs/reliability.md: each row must be refused with its documented
4xx in ONTAP's error body, never a 5xx, and the server must go on serving afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import VIRTUAL_EPOCH, ServerHandle, Simulator, serve
from simulator.app import MAX_BODY_BYTES, MAX_JSON_DEPTH

PASSWORD = "netapp1!"
AUTH = ("admin", PASSWORD)
TIMEOUT = 10.0
VOLUMES = "/api/storage/volumes"
JOBS = "/api/cluster/jobs"
VOLUME: dict[str, Any] = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
UNKNOWN = "00000000-0000-0000-0000-000000000000"
ERROR_KEYS = {"message", "code", "target", "arguments"}


def basic(user: str | bytes, password: str | bytes) -> str:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":"
    raw += password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(raw).decode()


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def volume(**changes: Any) -> bytes:
    return js({**VOLUME, **changes})


def script(**changes: Any) -> bytes:
    return js({"method": "POST", "path": VOLUMES, "steps": [{"state": "success"}], **changes})


def step(**fields: Any) -> bytes:
    return script(steps=[fields, {"state": "success"}])


def fault(**fields: Any) -> bytes:
    return js({"path": "/api/cluster", **fields})


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def oversized() -> Iterator[bytes]:
    """A chunked body (no Content-Length) of 2 MiB."""
    for _ in range(32):
        yield b" " * 65536


@dataclass(frozen=True)
class Bad:
    """One malformed request and the refusal it must get."""

    method: str
    path: str
    status: int
    code: str
    target: str | None = None
    body: bytes | Callable[[], Iterable[bytes]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: bool = True
    """Send the right credentials (unless ``headers`` has its own Authorization)."""


def row(name: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Bad(*args, **kwargs), id=name)


# fmt: off
TABLE = [
    # -- broken, wrong-typed and hostile JSON on an ONTAP write ------------------------------
    row("json-broken", "POST", VOLUMES, 400, "262199", "body", b"{bad"),
    row("json-truncated", "POST", VOLUMES, 400, "262199", "body", b'{"name": "v1", "svm": {'),
    row("json-array", "POST", VOLUMES, 400, "2", "body", b'[{"name": "v1"}]'),
    row("json-string", "POST", VOLUMES, 400, "2", "body", b'"v1"'),
    row("json-null", "POST", VOLUMES, 400, "2", "body", b"null"),
    row("body-missing", "POST", VOLUMES, 400, "2", "body", b""),
    row("nan-literal", "POST", VOLUMES, 400, "262199", "body", b'{"name": "v1", "size": NaN}'),
    row("infinity-literal", "POST", VOLUMES, 400, "262199", "body", b'{"size": -Infinity}'),
    row("float-overflow", "POST", VOLUMES, 400, "262199", "body", b'{"size": 1e400}'),
    row("int-over-64-bits", "POST", VOLUMES, 400, "262199", "body",
        b'{"name": "v1", "size": 18446744073709551616}'),
    row("int-5000-digits", "POST", VOLUMES, 400, "262199", "body",
        b'{"size": ' + b"9" * 5000 + b"}"),
    row("nested-just-too-deep", "POST", VOLUMES, 400, "262199", "body",
        nested(MAX_JSON_DEPTH + 1)),
    row("nested-at-limit-reaches-validation", "POST", VOLUMES, 400, "2", "a",
        nested(MAX_JSON_DEPTH)),
    row("nested-100k-arrays", "POST", VOLUMES, 400, "262199", "body",
        b"[" * 100_000 + b"]" * 100_000),
    row("nested-100k-objects", "POST", VOLUMES, 400, "262199", "body", nested(100_000)),
    row("non-utf8-body", "POST", VOLUMES, 400, "262199", "body", b'{"name": "v\xff\xfe"}'),
    row("latin1-body", "POST", VOLUMES, 400, "262199", "body", '{"name": "vé"}'.encode("latin-1")),
    row("oversized-body", "POST", VOLUMES, 413, "2", "body", b" " * (2 * MAX_BODY_BYTES)),
    row("oversized-chunked-body", "POST", VOLUMES, 413, "2", "body", oversized),
    # -- wrong types and values in fields ----------------------------------------------------
    row("name-int", "POST", VOLUMES, 400, "2", "name", volume(name=5)),
    row("name-missing", "POST", VOLUMES, 400, "2", "name", js({"svm": {"name": "vs0"}})),
    row("name-unicode", "POST", VOLUMES, 400, "2", "name", volume(name="volümé")),
    row("name-emoji", "POST", VOLUMES, 400, "2", "name", volume(name="v\U0001f4a5")),
    row("name-204-chars", "POST", VOLUMES, 400, "2", "name", volume(name="v" * 204)),
    row("svm-number", "POST", VOLUMES, 400, "2", "svm", volume(svm=5)),
    row("svm-list", "POST", VOLUMES, 400, "2", "svm", volume(svm=[{"name": "vs0"}])),
    row("svm-unknown", "POST", VOLUMES, 400, "2", "svm.name", volume(svm={"name": "nope"})),
    row("aggregates-object", "POST", VOLUMES, 400, "2", "aggregates",
        volume(aggregates={"name": "aggr1"})),
    row("size-string", "POST", VOLUMES, 400, "2", "size", volume(size="20g")),
    row("size-float", "POST", VOLUMES, 400, "2", "size", volume(size=1e300)),
    row("body-unknown-field", "POST", VOLUMES, 400, "2", "colour", volume(colour="red")),
    # -- query arguments -------------------------------------------------------------------
    row("query-unknown-on-collection", "GET", JOBS + "?colour=red", 404, "262179", "colour"),
    row("query-unknown-on-record", "GET", f"{JOBS}/{{job}}?return_timeout=5", 404, "262179",
        "return_timeout"),
    row("query-unknown-on-write", "POST", VOLUMES + "?colour=red", 404, "262179", "colour",
        volume()),
    row("return_timeout-121", "POST", VOLUMES + "?return_timeout=121", 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-negative", "POST", VOLUMES + "?return_timeout=-1", 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-fraction", "POST", VOLUMES + "?return_timeout=1.5", 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-word", "POST", VOLUMES + "?return_timeout=soon", 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-empty", "POST", VOLUMES + "?return_timeout=", 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-huge", "POST", VOLUMES + "?return_timeout=" + "9" * 30, 400, "262197",
        "return_timeout", volume()),
    row("return_timeout-on-jobs-600", "GET", JOBS + "?return_timeout=600", 400, "262197",
        "return_timeout"),
    row("max_records-negative", "GET", JOBS + "?max_records=-1", 400, "262197", "max_records"),
    row("max_records-word", "GET", JOBS + "?max_records=all", 400, "262197", "max_records"),
    row("max_records-exponent", "GET", JOBS + "?max_records=1e3", 400, "262197", "max_records"),
    row("return_records-maybe", "GET", JOBS + "?return_records=maybe", 400, "262197",
        "return_records"),
    row("fields-unknown", "GET", JOBS + "?fields=colour", 400, "262197", "fields"),
    row("order_by-direction", "GET", JOBS + "?order_by=uuid%20sideways", 400, "262197",
        "order_by"),
    # -- unknown uuids, bad actions, methods, paths --------------------------------------------
    row("job-unknown", "GET", f"{JOBS}/{UNKNOWN}", 404, "4", "uuid"),
    row("job-unknown-trailing-slash", "GET", f"{JOBS}/{UNKNOWN}/", 404, "4", "uuid"),
    row("job-encoded-nul", "GET", f"{JOBS}/%00", 404, "4", "uuid"),
    row("job-encoded-dotdot", "GET", f"{JOBS}/%2e%2e", 404, "4", "uuid"),
    row("job-encoded-latin1", "GET", f"{JOBS}/%E9", 404, "4", "uuid"),
    row("job-action-unknown-uuid", "PATCH", f"{JOBS}/{UNKNOWN}?action=pause", 404, "4", "uuid"),
    row("job-action-explode", "PATCH", f"{JOBS}/{{job}}?action=explode", 400, "262197",
        "action"),
    row("job-action-missing", "PATCH", f"{JOBS}/{{job}}", 400, "2", "action"),
    row("job-action-with-body", "PATCH", f"{JOBS}/{{job}}?action=pause", 400, "2", "colour",
        js({"colour": "red"})),
    row("job-action-extra-query", "PATCH", f"{JOBS}/{{job}}?action=pause&force=true", 404,
        "262179", "force"),
    row("volume-patch-unknown", "PATCH", f"{VOLUMES}/{UNKNOWN}", 404, "4", "uuid",
        js({"comment": "x"})),
    row("volume-delete-unknown", "DELETE", f"{VOLUMES}/{UNKNOWN}", 404, "4", "uuid"),
    row("jobs-post", "POST", JOBS, 405, "3", None, js({})),
    row("jobs-delete-trailing-slash", "DELETE", JOBS + "/", 405, "3"),
    row("job-delete", "DELETE", f"{JOBS}/{{job}}", 405, "3"),
    row("volumes-put", "PUT", VOLUMES, 405, "3", None, volume()),
    row("path-unknown", "GET", "/api/storage/colours", 404, "262179", "colours"),
    row("path-double-slash", "GET", "/api//cluster", 404, "262179", "cluster"),
    row("path-bad-percent", "GET", "/api/%ZZ", 404, "262179", "%ZZ"),
    row("path-outside-api", "GET", "/index.html", 404, "262179", "index.html"),
    # -- control API: scripts ------------------------------------------------------------------
    row("script-broken-json", "POST", "/simulator/scripts", 400, "262199", "body", b'{"method":'),
    row("script-array", "POST", "/simulator/scripts", 400, "2", "body", b"[]"),
    row("script-no-steps", "POST", "/simulator/scripts", 400, "2", "steps", script(steps=[])),
    row("script-steps-string", "POST", "/simulator/scripts", 400, "2", "steps",
        script(steps="fast")),
    row("script-last-not-terminal", "POST", "/simulator/scripts", 400, "2", "steps[0].state",
        script(steps=[{"state": "running", "seconds": 1}])),
    row("script-unknown-state", "POST", "/simulator/scripts", 400, "2", "steps[0].state",
        step(state="cancelled", seconds=1)),
    row("script-negative-seconds", "POST", "/simulator/scripts", 400, "2", "steps[0].seconds",
        step(state="running", seconds=-1)),
    row("script-seconds-string", "POST", "/simulator/scripts", 400, "2", "steps[0].seconds",
        step(state="running", seconds="1")),
    row("script-zero-polls", "POST", "/simulator/scripts", 400, "2", "steps[0].polls",
        step(state="running", polls=0)),
    row("script-code-string", "POST", "/simulator/scripts", 400, "2", "steps[0].code",
        step(state="running", seconds=1, code="7")),
    row("script-method-get", "POST", "/simulator/scripts", 400, "2", "method",
        script(method="GET")),
    row("script-path-missing", "POST", "/simulator/scripts", 400, "2", "path",
        js({"method": "POST", "steps": [{"state": "success"}]})),
    row("script-times-zero", "POST", "/simulator/scripts", 400, "2", "times", script(times=0)),
    row("script-unknown-key", "POST", "/simulator/scripts", 400, "2", "colour",
        script(colour="red")),
    row("script-oversized", "POST", "/simulator/scripts", 413, "2", "body",
        b" " * (MAX_BODY_BYTES + 1)),
    # -- control API: faults -------------------------------------------------------------------
    row("fault-no-kind", "POST", "/simulator/faults", 400, "2", "kind", fault()),
    row("fault-two-kinds", "POST", "/simulator/faults", 400, "2", "kind",
        fault(status=503, drop=True)),
    row("fault-status-200", "POST", "/simulator/faults", 400, "2", "status", fault(status=200)),
    row("fault-status-string", "POST", "/simulator/faults", 400, "2", "status",
        fault(status="503")),
    row("fault-delay-negative", "POST", "/simulator/faults", 400, "2", "delay", fault(delay=-1)),
    row("fault-delay-string", "POST", "/simulator/faults", 400, "2", "delay",
        fault(delay="1s")),
    row("fault-retry-after-on-delay", "POST", "/simulator/faults", 400, "2", "retry_after",
        fault(delay=1, retry_after=1)),
    row("fault-probability-1.5", "POST", "/simulator/faults", 400, "2", "probability",
        fault(drop=True, probability=1.5)),
    row("fault-seed-string", "POST", "/simulator/faults", 400, "2", "seed",
        fault(drop=True, seed="abc")),
    row("fault-method-trace", "POST", "/simulator/faults", 400, "2", "method",
        fault(drop=True, method="TRACE")),
    row("fault-times-zero", "POST", "/simulator/faults", 400, "2", "times",
        fault(drop=True, times=0)),
    row("fault-drop-string", "POST", "/simulator/faults", 400, "2", "drop", fault(drop="yes")),
    row("fault-malformed-mode", "POST", "/simulator/faults", 400, "2", "malformed",
        fault(malformed="sideways")),
    row("fault-unknown-key", "POST", "/simulator/faults", 400, "2", "colour",
        fault(drop=True, colour="red")),
    row("fault-body-array", "POST", "/simulator/faults", 400, "2", "body", b"[]"),
    # -- control API: clock, routes ------------------------------------------------------------
    row("clock-advance-real-clock", "POST", "/simulator/clock", 409, "2", "advance",
        js({"advance": 1})),
    row("clock-advance-negative", "POST", "/simulator/clock", 400, "2", "advance",
        js({"advance": -1})),
    row("clock-advance-nan", "POST", "/simulator/clock", 400, "262199", "body",
        b'{"advance": NaN}'),
    row("clock-advance-string", "POST", "/simulator/clock", 400, "2", "advance",
        js({"advance": "10"})),
    row("clock-advance-bool", "POST", "/simulator/clock", 400, "2", "advance",
        js({"advance": True})),
    row("clock-advance-past-9999", "POST", "/simulator/clock", 400, "2", "advance",
        js({"advance": 1e300})),
    row("clock-advance-missing", "POST", "/simulator/clock", 400, "2", "advance", js({})),
    row("clock-extra-key", "POST", "/simulator/clock", 400, "2", "rewind",
        js({"advance": 1, "rewind": 1})),
    row("clock-put", "PUT", "/simulator/clock", 405, "3", None, js({"advance": 1})),
    row("reset-get", "GET", "/simulator/reset", 405, "3"),
    row("requests-post", "POST", "/simulator/requests", 405, "3"),
    row("control-unknown-route", "GET", "/simulator/colours", 404, "262179", "colours"),
    row("control-query", "GET", "/simulator/faults?colour=red", 404, "262179", "colour"),
    # -- authentication --------------------------------------------------------------------------
    row("auth-missing", "GET", "/api/cluster", 401, "6", auth=False),
    row("auth-wrong-password", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": basic("admin", "netapp1?")}),
    row("auth-wrong-user", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": basic("root", PASSWORD)}),
    row("auth-empty-credentials", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": basic("", "")}),
    row("auth-no-colon", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": "Basic " + base64.b64encode(b"admin").decode()}),
    row("auth-bad-base64", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": "Basic !!!not-base64!!!"}),
    row("auth-non-utf8", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": basic(b"adm\xffin", PASSWORD)}),
    row("auth-bearer", "GET", "/api/cluster", 401, "6",
        headers={"Authorization": "Bearer " + base64.b64encode(b"admin:netapp1!").decode()}),
    row("auth-scheme-only", "GET", "/api/cluster", 401, "6", headers={"Authorization": "Basic"}),
    row("auth-missing-control", "POST", "/simulator/reset", 401, "6", auth=False),
    row("auth-missing-oversized", "POST", VOLUMES, 401, "6", None, b" " * (2 * MAX_BODY_BYTES),
        auth=False),
]
# fmt: on


@dataclass
class Served:
    """A real-clock simulator on a real socket, with one long-running job to act on."""

    sim: Simulator
    handle: ServerHandle
    session: requests.Session
    job: str

    def send(self, case: Bad) -> requests.Response:
        headers = dict(case.headers)
        if case.auth and "Authorization" not in headers:
            headers["Authorization"] = basic(*AUTH)
        if case.body is not None and not callable(case.body):
            headers.setdefault("Content-Type", "application/json")
        body = case.body() if callable(case.body) else case.body
        return self.session.request(
            case.method,
            self.handle.url + case.path.format(job=self.job),
            data=body,
            headers=headers,
            timeout=TIMEOUT,
        )

    def still_serves(self) -> None:
        """A volume create and its job read both work."""
        name = f"alive_{len(self.sim.inventory.read(VOLUMES, {})['records'])}"
        answer = self.session.post(
            self.handle.url + VOLUMES, json={**VOLUME, "name": name}, auth=AUTH, timeout=TIMEOUT
        )
        assert answer.status_code == 202, answer.text
        href = answer.json()["job"]["_links"]["self"]["href"]
        job = self.session.get(self.handle.url + href, auth=AUTH, timeout=TIMEOUT)
        assert job.status_code == 200, job.text
        assert job.json()["state"] in ("queued", "running", "success")


def _served() -> Iterator[Served]:
    sim = Simulator(clock="real", password=PASSWORD)
    sim.script("POST", VOLUMES, [{"state": "running", "polls": 1_000_000}, {"state": "success"}])
    with serve(sim) as handle, requests.Session() as session:
        answer = session.post(handle.url + VOLUMES, json=VOLUME, auth=AUTH, timeout=TIMEOUT)
        assert answer.status_code == 202, answer.text
        yield Served(sim, handle, session, answer.json()["job"]["uuid"])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    yield from _served()


def assert_refusal(response: requests.Response, case: Bad) -> None:
    """The documented status, ONTAP's error body and headers; never a 5xx."""
    assert response.status_code < 500, response.text
    assert response.status_code == case.status, response.text
    assert response.headers["Content-Type"] == "application/hal+json"
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) <= ERROR_KEYS, error
    assert isinstance(error["message"], str) and error["message"], error
    assert error["code"] == case.code, error
    if case.target is not None:
        assert error.get("target") == case.target, error
    if case.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    if case.status == 405:
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert allowed and case.method not in allowed


@pytest.mark.parametrize("case", TABLE)
def test_bad_input_gets_its_documented_4xx_in_ontaps_format(served: Served, case: Bad) -> None:
    assert_refusal(served.send(case), case)
    assert served.sim.errors == []


def test_the_table_has_at_least_30_rows_across_both_apis() -> None:
    paths = [param.values[0].path for param in TABLE]
    assert len(TABLE) >= 30
    assert sum(p.startswith("/api") for p in paths) >= 30
    assert sum(p.startswith("/simulator") for p in paths) >= 30


def test_the_document_lists_every_row() -> None:
    """docs/reliability.md quotes the table: a row added here must be added there."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text()
    missing = [p.id for p in [*TABLE, *RAW] if f"| {p.id} |" not in doc]
    assert missing == []


def test_after_the_whole_table_the_server_still_serves() -> None:
    """The table in one go on a fresh server (xdist may split the parametrized rows)."""
    for served in _served():
        for param in TABLE:
            case = param.values[0]
            assert served.send(case).status_code == case.status, param.id
        served.still_serves()
        assert served.sim.errors == []
        assert served.sim.jobs.job(served.job).state == "running"


def test_malformed_requests_never_change_state(served: Served) -> None:
    """Refused writes create no job and no object; refused control calls change nothing."""
    jobs_before = len(served.sim.jobs)
    volumes_before = served.sim.inventory.read(VOLUMES, {})["num_records"]
    faults_before, scripts_before = served.sim.faults.list(), served.sim.scripts()
    for param in TABLE:
        case = param.values[0]
        if case.method != "GET":
            served.send(case)
    assert len(served.sim.jobs) == jobs_before
    assert served.sim.inventory.read(VOLUMES, {})["num_records"] == volumes_before
    assert served.sim.faults.list() == faults_before
    assert served.sim.scripts() == scripts_before


def test_trailing_slashes_and_encoded_paths_that_are_fine(served: Served) -> None:
    """What clients such as netapp-ontap send (``/api/storage/volumes/?name=v1``) works."""
    url, job = served.handle.url, served.job
    for path in (
        JOBS + "/",
        f"{JOBS}/{job}/",
        VOLUMES + "/?name=v1",
        "/api/storage/vol%75mes",
        "/simulator/faults/",
        "/simulator/clock/",
    ):
        answer = served.session.get(url + path, auth=AUTH, timeout=TIMEOUT)
        assert answer.status_code == 200, (path, answer.text)
    assert served.sim.errors == []


# -- raw HTTP: what no well-behaved client sends -----------------------------------------------
def raw_exchange(handle: ServerHandle, data: bytes, *, half_close: bool = True) -> bytes:
    """Send ``data`` on a fresh connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT) as conn:
        conn.sendall(data)
        if half_close:
            with contextlib.suppress(OSError):  # the server may have answered and closed
                conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(body)


AUTH_LINE = f"Authorization: {basic(*AUTH)}\r\n".encode()

RAW = [
    pytest.param(b"GARBAGE\r\n\r\n", 400, id="request-line-garbage"),
    pytest.param(b"GET /api/cluster HTTP/1.1 extra\r\n\r\n", 400, id="request-line-4-words"),
    pytest.param(
        b"GET " + b"/x" * 40_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, id="uri-too-long"
    ),
    pytest.param(
        b"GET /api/cluster HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431, id="too-many-headers"
    ),
    pytest.param(
        b"POST /api/storage/volumes HTTP/1.1\r\nHost: a\r\n"
        + AUTH_LINE
        + b"Content-Length: abc\r\n\r\n{}",
        400,
        id="content-length-word",
    ),
    pytest.param(
        b"POST /api/storage/volumes HTTP/1.1\r\nHost: a\r\n"
        + AUTH_LINE
        + b"Content-Length: -5\r\n\r\n{}",
        400,
        id="content-length-negative",
    ),
    pytest.param(
        b"POST /api/storage/volumes HTTP/1.1\r\nHost: a\r\n"
        + AUTH_LINE
        + b'Content-Length: 500\r\n\r\n{"name":',
        400,
        id="body-shorter-than-length",
    ),
]


@pytest.mark.parametrize(("data", "status"), RAW)
def test_raw_malformed_http_is_refused_and_the_server_goes_on(
    served: Served, data: bytes, status: int
) -> None:
    answered, headers, body = parse_answer(raw_exchange(served.handle, data))
    assert answered == status
    assert headers["content-type"] == "application/hal+json"
    assert body["error"]["message"] and isinstance(body["error"]["code"], str)
    assert served.session.get(served.handle.url + "/api/cluster", auth=AUTH).status_code == 200
    assert served.sim.errors == []


def test_a_client_that_vanishes_mid_body_breaks_nothing(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.handle.port), timeout=TIMEOUT) as conn:
        conn.sendall(
            b"POST /api/storage/volumes HTTP/1.1\r\nHost: a\r\n"
            + AUTH_LINE
            + b'Content-Length: 100000\r\n\r\n{"name": "v'
        )
    served.still_serves()
    assert served.sim.errors == []


# -- faults, over real HTTP and in-process --------------------------------------------------------
@dataclass
class Answer:
    """One answer; ``status`` None when the connection was dropped without one."""

    status: int | None
    headers: Mapping[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


class Transport:
    """Requests to one virtual-clock simulator, over a real socket or Flask's test client."""

    def __init__(self, kind: str, sim: Simulator, handle: ServerHandle | None) -> None:
        self.kind, self.sim, self.handle = kind, sim, handle
        self.session = requests.Session()
        self.client = sim.app.test_client()

    def __call__(self, method: str, path: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body)
        headers = {"Authorization": basic(*AUTH), "Content-Type": "application/json"}
        if self.handle is None:
            got = self.client.open(path, method=method, data=data, headers=headers)
            if got.headers.get("X-Ontap-Sim-Dropped") == "1":
                return Answer(None, {}, b"")
            return Answer(got.status_code, dict(got.headers), got.get_data())
        try:
            answer = self.session.request(
                method, self.handle.url + path, data=data, headers=headers, timeout=TIMEOUT
            )
        except requests.ConnectionError:
            return Answer(None, {}, b"")
        return Answer(answer.status_code, dict(answer.headers), answer.content)

    def fault(self, **fields: Any) -> dict[str, Any]:
        """Add a fault through the control API (as a user at a terminal would)."""
        answer = self("POST", "/simulator/faults", fields)
        assert answer.status == 201, answer.data
        return dict(answer.json())

    def post_volume(self, name: str = "v1", query: str = "") -> Answer:
        return self("POST", VOLUMES + query, {**VOLUME, "name": name})

    def faults_journaled(self) -> list[str | None]:
        return [entry.get("fault") for entry in self.sim.journal]


@pytest.fixture(params=["http", "in-process"])
def call(request: pytest.FixtureRequest) -> Iterator[Transport]:
    sim = Simulator(clock="virtual", password=PASSWORD)
    if request.param == "in-process":
        yield Transport("in-process", sim, None)
    else:
        with serve(sim) as handle:
            transport = Transport("http", sim, handle)
            yield transport
            transport.session.close()
    assert sim.errors == []


def test_status_fault_answers_an_ontap_error_with_retry_after(call: Transport) -> None:
    call.fault(method="GET", path="/api/cluster", times=2, status=503, retry_after=7)
    for _ in range(2):
        answer = call("GET", "/api/cluster")
        assert answer.status == 503
        assert answer.headers["Content-Type"] == "application/hal+json"
        assert answer.headers["Retry-After"] == "7"
        assert answer.json()["error"]["code"] == "262160"
    assert call("GET", "/api/cluster").status == 200
    call.fault(path="/api/cluster", status=500, message="disk on fire", code=13)
    answer = call("GET", "/api/cluster")
    assert (answer.status, answer.json()) == (
        500,
        {"error": {"message": "disk on fire", "code": "13"}},
    )
    assert "Retry-After" not in answer.headers
    assert call.faults_journaled() == ["status", "status", None, "status"]


def test_faults_are_scoped_by_method_and_path_glob(call: Transport) -> None:
    call.fault(method="GET", path=JOBS + "/*", times=None, status=500)
    job = call.post_volume().json()["job"]["uuid"]
    assert call("GET", JOBS).status == 200  # the collection is not "/api/cluster/jobs/*"
    assert call("GET", f"{JOBS}/{job}").status == 500
    assert call("PATCH", f"{JOBS}/{job}?action=cancel").status == 200  # not a GET
    assert call("GET", f"{JOBS}/{job}").status == 500  # times: null never runs out
    call.fault(method="post", path=VOLUMES, status=409)  # method is case-insensitive
    assert call.post_volume("v2").status == 409
    assert call.post_volume("v3").status == 202


def test_faults_are_listed_with_their_hits_and_cleared(call: Transport) -> None:
    first = call.fault(method="GET", path="/api/cluster", times=2, delay=0.5)
    second = call.fault(path="/api/*", times=None, probability=0.5, seed=3, malformed="empty")
    assert first == {
        "id": first["id"],
        "method": "GET",
        "path": "/api/cluster",
        "times": 2,
        "hits": 0,
        "delay": 0.5,
    }
    assert second["times"] is None and second["probability"] == 0.5 and second["seed"] == 3
    call("GET", "/api/cluster")
    listed = call("GET", "/simulator/faults").json()
    assert listed["num_records"] == 2
    assert listed["records"][0] == {**first, "times": 1, "hits": 1}
    assert call("DELETE", "/simulator/faults").status == 200
    assert call("GET", "/simulator/faults").json() == {"records": [], "num_records": 0}
    assert call("GET", "/api/cluster").status == 200


def hit_pattern(call: Transport, seed: int, requests_made: int = 40) -> list[bool]:
    """Which of ``requests_made`` GETs a 50 % status fault seeded with ``seed`` hits."""
    call("POST", "/simulator/reset")
    call.fault(path="/api/cluster", times=None, probability=0.5, seed=seed, status=503)
    pattern = [call("GET", "/api/cluster").status == 503 for _ in range(requests_made)]
    assert call.faults_journaled() == ["status" if hit else None for hit in pattern]
    return pattern


def test_a_seeded_probability_gives_the_same_hit_pattern_every_time(call: Transport) -> None:
    pattern = hit_pattern(call, seed=1234)
    assert 5 < sum(pattern) < 35
    assert hit_pattern(call, seed=1234) == pattern
    assert hit_pattern(call, seed=4321) != pattern
    other = Simulator(clock="virtual", password=PASSWORD)  # another simulator, the same seed
    other.fault("GET", "/api/cluster", times=None, probability=0.5, seed=1234, status=503)
    client = other.app.test_client()
    headers = {"Authorization": basic(*AUTH)}
    again = [client.get("/api/cluster", headers=headers).status_code == 503 for _ in pattern]
    assert again == pattern


def test_a_probability_fault_with_times_stops_after_times_hits(call: Transport) -> None:
    call.fault(path="/api/cluster", times=3, probability=0.5, seed=7, status=500)
    statuses = [call("GET", "/api/cluster").status for _ in range(40)]
    assert statuses.count(500) == 3


def test_delay_fault_on_a_virtual_clock_advances_it_at_once(call: Transport) -> None:
    call.fault(method="GET", path="/api/cluster", delay=90)
    started = time.monotonic()
    assert call("GET", "/api/cluster").status == 200
    assert time.monotonic() - started < 1.0
    assert call("GET", "/simulator/clock").json()["now"] == VIRTUAL_EPOCH + 90
    assert call.faults_journaled() == ["delay"]


def test_delay_fault_on_a_real_clock_holds_only_its_request() -> None:
    sim = Simulator(clock="real", password=PASSWORD)
    sim.fault("GET", "/api/cluster", delay=0.6)
    with serve(sim) as handle:
        url = handle.url
        slow: dict[str, float] = {}

        def delayed() -> None:
            started = time.monotonic()
            assert requests.get(url + "/api/cluster", auth=AUTH, timeout=TIMEOUT).ok
            slow["took"] = time.monotonic() - started

        thread = threading.Thread(target=delayed)
        thread.start()
        time.sleep(0.1)
        started = time.monotonic()
        assert requests.get(url + JOBS, auth=AUTH, timeout=TIMEOUT).status_code == 200
        assert time.monotonic() - started < 0.3
        thread.join(TIMEOUT)
    assert 0.6 <= slow["took"] < 2.0
    assert sim.journal[-1]["fault"] == "delay" and sim.errors == []


def test_drop_fault_closes_the_connection_with_no_answer(call: Transport) -> None:
    call.fault(method="GET", path=JOBS + "/*", drop=True)
    job = call.post_volume().json()["job"]["uuid"]
    assert call("GET", f"{JOBS}/{job}").status is None
    assert call("GET", f"{JOBS}/{job}").status == 200  # the next request is served
    dropped = call.sim.journal[1]
    assert (dropped["fault"], dropped["status"], dropped["path"]) == ("drop", None, f"{JOBS}/{job}")


def test_drop_fault_sends_not_a_single_byte() -> None:
    sim = Simulator(clock="virtual", password=PASSWORD)
    sim.fault("GET", "/api/cluster", drop=True)
    with serve(sim) as handle:
        got = raw_exchange(
            handle,
            b"GET /api/cluster HTTP/1.1\r\nHost: a\r\n" + AUTH_LINE + b"\r\n",
            half_close=False,
        )
    assert got == b""


@pytest.mark.parametrize("mode", ["truncated", "invalid", "empty", True])
def test_malformed_fault_spoils_the_body_but_keeps_status_and_type(
    call: Transport, mode: str | bool
) -> None:
    whole = call("GET", "/api/cluster").data
    call.fault(method="GET", path="/api/cluster", malformed=mode)
    answer = call("GET", "/api/cluster")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/hal+json"
    with pytest.raises(ValueError):
        answer.json()
    if mode in ("truncated", True):
        assert answer.data and whole.startswith(answer.data) and answer.data != whole
    elif mode == "invalid":
        assert answer.data.startswith(b"<html>")
    else:
        assert answer.data == b""
    assert call.faults_journaled() == [None, "malformed"]


def test_malformed_fault_on_an_error_answer(call: Transport) -> None:
    call.fault(method="GET", path=JOBS + "/*", malformed=True)
    answer = call("GET", f"{JOBS}/{UNKNOWN}")
    assert answer.status == 404
    with pytest.raises(ValueError):
        answer.json()


def test_vanish_fault_on_a_job_read_purges_the_job(call: Transport) -> None:
    job = call.post_volume().json()["job"]["uuid"]
    assert call("GET", f"{JOBS}/{job}").status == 200
    call.fault(method="GET", path=JOBS + "/*", vanish=True)
    for _ in range(2):
        answer = call("GET", f"{JOBS}/{job}")
        assert answer.status == 404 and answer.json()["error"]["code"] == "4"
    assert call("GET", JOBS).json()["num_records"] == 0
    assert call.faults_journaled() == [None, None, "vanish", None, None]


def test_vanish_fault_on_a_write_hides_its_job_but_not_its_work(call: Transport) -> None:
    """The job record disappears at once, yet the work goes on: the client holds a link to
    nothing (404) while the volume still appears, as on a cluster that lost the job record."""
    call.fault(method="POST", path=VOLUMES, vanish=True)
    answer = call.post_volume()
    assert answer.status == 202
    job = answer.json()["job"]["uuid"]
    assert call("GET", f"{JOBS}/{job}").status == 404
    assert call("GET", VOLUMES).json()["num_records"] == 0
    call("POST", "/simulator/clock", {"advance": 60})
    assert call("GET", f"{JOBS}/{job}").status == 404
    assert call("GET", VOLUMES).json()["num_records"] == 1


def test_vanish_fault_after_return_timeout_leaves_the_effect(call: Transport) -> None:
    """A write that finished within return_timeout, its job purged at once (as if retention
    were 0): the volume exists, the job answers 404, as slow clients meet in the field."""
    call.fault(method="POST", path=VOLUMES, vanish=True)
    answer = call.post_volume(query="?return_timeout=30")
    assert answer.status == 201
    job = answer.json()["job"]["uuid"]
    assert call("GET", f"{JOBS}/{job}").status == 404
    assert call("GET", VOLUMES + "?name=v1").json()["num_records"] == 1


def test_faults_never_touch_the_control_api(call: Transport) -> None:
    call.fault(path="*", times=None, drop=True)
    for path in ("/simulator/faults", "/simulator/clock", "/simulator/requests"):
        assert call("GET", path).status == 200
    assert call("DELETE", "/simulator/faults").status == 200
    assert call("GET", "/api/cluster").status == 200


def test_every_fault_kind_is_journaled_by_kind(call: Transport) -> None:
    kinds: list[dict[str, Any]] = [
        {"status": 500},
        {"delay": 1},
        {"drop": True},
        {"malformed": True},
        {"vanish": True},
    ]
    for kind in kinds:
        call.fault(method="GET", path="/api/cluster", **kind)
        call("GET", "/api/cluster")
    assert call.faults_journaled() == ["status", "delay", "drop", "malformed", "vanish"]
    assert all("authorization" not in json.dumps(e).lower() for e in call.sim.journal)
