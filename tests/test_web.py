"""The HTTP layer's pieces on their own, and the job poll's fast path against the Flask path."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest

from simulator import Simulator
from simulator.web.auth import BasicAuth
from simulator.web.fast import JobPollFastPath
from simulator.web.render import plain_json

TOKEN = "Basic " + base64.b64encode(b"admin:netapp1!").decode()
VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
STEPS = [{"state": "running", "seconds": 100}, {"state": "success"}]


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Simulator()


def job(sim: Simulator, steps: list[dict[str, Any]] = STEPS) -> str:
    sim.script("POST", "/api/storage/volumes", steps)
    uuid = sim.submit("POST", "/api/storage/volumes", VOLUME).job_uuid
    assert uuid
    return uuid


def environ(path: str, query: str = "", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": TOKEN,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


def call(app: Any, env: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: list[Any] = []
    chunks = app(env, lambda status, headers, exc_info=None: seen.append((status, headers)))
    data = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return seen[0][0], list(seen[0][1]), data


def fast_path(sim: Simulator) -> JobPollFastPath:
    middleware = sim.app.wsgi_app
    assert isinstance(middleware, JobPollFastPath)
    return middleware


# -- the fast path --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("fields=state,message", {}),
        ("", {"accept": "application/json"}),
        ("fields=uuid,state,svm", {"accept": "application/hal+json, application/json"}),
        ("", {"x_dot_client_app": "netapp-ontap-python-9.15"}),
    ],
)
def test_a_job_poll_answers_and_journals_as_the_flask_path_does(
    sim: Simulator, query: str, headers: dict[str, str]
) -> None:
    uuid = job(sim)
    flask_only = fast_path(sim).app
    path = f"/api/cluster/jobs/{uuid}"
    slow = call(flask_only, environ(path, query, **headers))
    slow_entry = sim.journal[-1]
    fast = call(sim.app, environ(path, query, **headers))
    fast_entry = sim.journal[-1]
    assert fast == slow
    assert slow[0] == "200 OK"
    assert {**fast_entry, "time": 0} == {**slow_entry, "time": 0}
    assert len(sim.journal) == 2


def test_job_polls_are_served_below_flask(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    uuid = job(sim, [{"state": "running", "polls": 1}, {"state": "success"}])
    served: list[str] = []
    middleware = fast_path(sim)
    flask_app = middleware.app

    def counting(env: dict[str, Any], start_response: Any) -> Any:
        served.append(env["PATH_INFO"])
        return flask_app(env, start_response)

    monkeypatch.setattr(middleware, "app", counting)
    client = sim.app.test_client()
    auth = {"Authorization": TOKEN}
    assert client.get(f"/api/cluster/jobs/{uuid}", headers=auth).json["state"] == "running"
    assert client.get(f"/api/cluster/jobs/{uuid}", headers=auth).json["state"] == "success"
    assert served == []  # both polls (both observations) below Flask
    assert client.get("/api/cluster/jobs/nope", headers=auth).status_code == 404
    assert client.get(f"/api/cluster/jobs/{uuid}?fields=colour", headers=auth).status_code == 400
    assert client.get(f"/api/cluster/jobs/{uuid}").status_code == 401
    sim.fault("GET", "/api/cluster/jobs/*", status=503)
    assert client.get(f"/api/cluster/jobs/{uuid}", headers=auth).status_code == 503
    assert client.head(f"/api/cluster/jobs/{uuid}", headers=auth).status_code == 200
    assert len(served) == 5  # errors, strangers, faults and HEAD: the Flask path
    assert [e["status"] for e in sim.journal] == [200, 200, 404, 400, 401, 503, 200]


def test_the_fast_path_logs_access_as_the_flask_path(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "simulator.access")
    uuid = job(sim)
    call(fast_path(sim).app, environ(f"/api/cluster/jobs/{uuid}", "password=x&fields=state"))
    call(sim.app, environ(f"/api/cluster/jobs/{uuid}", "password=x&fields=state"))
    lines = [r.getMessage().rsplit(" ", 1)[0] for r in caplog.records]
    assert lines[0] == lines[1]
    assert "password=<redacted>" in lines[0] and "x&" not in lines[0]


# -- the pieces -----------------------------------------------------------------------------------
class Credentials:
    def __init__(self) -> None:
        self.username, self.password, self.checks = "admin", "netapp1!", 0

    def check_auth(self, username: str | None, password: str | None) -> bool:
        self.checks += 1
        return (username, password) == (self.username, self.password)


def test_basic_auth_remembers_the_last_header_that_passed() -> None:
    credentials = Credentials()
    auth = BasicAuth(credentials)
    assert auth.check({"HTTP_AUTHORIZATION": TOKEN})
    assert auth.check({"HTTP_AUTHORIZATION": TOKEN})
    assert credentials.checks == 1
    credentials.password = "changed"
    assert not auth.check({"HTTP_AUTHORIZATION": TOKEN})  # the cache is for these credentials
    assert not auth.check({"HTTP_AUTHORIZATION": "Basic !!!"})
    assert not auth.check({})
    challenge = auth.challenge()
    assert challenge.status == 401 and "WWW-Authenticate" in challenge.headers


def test_plain_json_is_decided_by_accept_once_per_request() -> None:
    assert plain_json({"PATH_INFO": "/api/x", "HTTP_ACCEPT": "application/json"})
    assert not plain_json({"PATH_INFO": "/api/x", "HTTP_ACCEPT": "application/hal+json"})
    hal_first = {"PATH_INFO": "/api/x", "HTTP_ACCEPT": "application/hal+json, application/json"}
    assert not plain_json(hal_first)
    assert not plain_json({"PATH_INFO": "/simulator/x", "HTTP_ACCEPT": "application/json"})


# -- the journal: kept raw, decoded and redacted when read ----------------------------------------
def test_journal_entries_are_decoded_when_read_not_when_recorded(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulator.web.journal as journal

    parsed: list[bytes] = []
    real = journal.parse_json

    def counting(raw: bytes) -> Any:
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr(journal, "parse_json", counting)
    client = sim.app.test_client()
    answer = client.post("/api/storage/volumes", json=VOLUME, headers={"Authorization": TOKEN})
    assert answer.status_code == 202
    assert parsed == []
    assert sim.journal[-1]["body"] == VOLUME
    assert len(parsed) == 1


def test_secrets_are_not_readable_from_the_journal_through_any_api(sim: Simulator) -> None:
    secret = "Sup3r-s3cret"
    client = sim.app.test_client()
    auth = {"Authorization": TOKEN}
    uuid = job(sim)
    client.get(f"/api/cluster/jobs/{uuid}?password={secret}", headers=auth)  # the fast path
    client.post(
        f"/api/svm/svms?passphrase={secret}",
        json={"name": "vs9", "password": secret, "nested": [{"admin_password": secret}]},
        headers=auth,
    )
    views = [
        sim.journal,
        sim.latest_requests(10)[0],
        client.get("/simulator/requests", headers=auth).json,
        client.get("/simulator/requests/latest", headers=auth).json,
        client.get("/simulator/requests/latest?match=svms", headers=auth).json,
    ]
    for view in views:
        text = repr(view)
        assert secret not in text and TOKEN.split()[1] not in text
        assert "<redacted>" in text


# -- raw bytes in a query string ------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/api/cluster/jobs/{job}", "/api/cluster", "/simulator/requests", "/simulator/jobs"]
)
def test_a_query_string_byte_that_is_not_utf8_is_a_bad_value_not_a_500(
    sim: Simulator, path: str
) -> None:
    """Before: werkzeug raised UnicodeDecodeError parsing the query (500, sim.errors, and the
    journal could not record the request)."""
    uuid = job(sim)
    status, _, data = call(sim.app, environ(path.format(job=uuid), "fields=\xff"))
    assert status.split()[0] in ("400", "404"), data
    assert b"%FF" in data or path.startswith("/simulator")  # there: "fields" is unexpected
    assert sim.errors == []
    assert all(entry["status"] < 500 for entry in sim.journal)
