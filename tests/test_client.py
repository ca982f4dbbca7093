"""OntapClient against the simulator over real HTTP (the network matters here)."""

from __future__ import annotations

import http.server
import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from pytest_ontapjob import (
    AuthError,
    JobFailed,
    JobLost,
    JobTimeout,
    OntapClient,
    OntapError,
    PollPolicy,
    ProtocolError,
    RetriesExhausted,
    TransportError,
)
from pytest_ontapjob.client import POLL_FIELDS
from simulator import ServerHandle, Simulator, serve

VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
EXACT = PollPolicy(interval=1.0, backoff=1.0, jitter=0.0, timeout=600)


@pytest.fixture(scope="module")
def virtual() -> Iterator[tuple[Simulator, ServerHandle]]:
    sim = Simulator(clock="virtual")
    with serve(sim) as handle:
        yield sim, handle


@pytest.fixture
def sim(virtual: tuple[Simulator, ServerHandle]) -> Iterator[Simulator]:
    sim = virtual[0]
    try:
        yield sim
    finally:
        assert sim.errors == []
        sim.reset()


@pytest.fixture
def client(virtual: tuple[Simulator, ServerHandle], sim: Simulator) -> Iterator[OntapClient]:
    with OntapClient(
        virtual[1].url, auth=(sim.username, sim.password), clock=sim.clock, policy=EXACT
    ) as client:
        yield client


def job_gets(sim: Simulator) -> list[dict[str, Any]]:
    return [e for e in sim.journal if e["method"] == "GET" and "/cluster/jobs/" in e["path"]]


def test_success_through_paused(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [
            {"state": "queued", "seconds": 1},
            {"state": "running", "seconds": 2},
            {"state": "paused", "seconds": 3},
            {"state": "running", "seconds": 1},
            {"state": "success", "message": "Complete: Successful [0]"},
        ],
    )
    result = client.post("/api/storage/volumes", json=VOLUME)
    assert result.status_code == 202
    assert result.state == "success"
    assert result.job is not None and result.job["message"] == "Complete: Successful [0]"
    assert result.polls == 7  # GETs at t = 1..7 with a fixed 1 s interval
    assert result.elapsed == pytest.approx(7)
    assert result.location == "/api/storage/volumes/?name=v1"
    states = [e["status"] for e in job_gets(sim)]
    assert states == [200] * 7
    assert all(e["query"] == {"fields": POLL_FIELDS} for e in job_gets(sim))
    assert client.get("/api/storage/volumes", params={"name": "v1"})["num_records"] == 1


def test_failure_carries_message_and_integer_code(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "PATCH",
        "/api/storage/volumes/*",
        [
            {"state": "running", "seconds": 2},
            {"state": "failure", "message": "entry doesn't exist", "code": 4},
        ],
    )
    uuid = client.get("/api/storage/volumes", params={"name": "x"})  # nothing yet
    assert uuid["num_records"] == 0
    created = client.post("/api/storage/volumes", json=VOLUME, return_timeout=30)
    assert created.status_code == 201 and created.polls == 0
    volume = client.get("/api/storage/volumes", params={"name": "v1"})["records"][0]
    with pytest.raises(JobFailed) as info:
        client.patch(f"/api/storage/volumes/{volume['uuid']}", json={"comment": "x"})
    assert info.value.message == "entry doesn't exist"
    assert info.value.code == 4
    assert info.value.job is not None and info.value.job["state"] == "failure"
    assert "PATCH /api/storage/volumes/" in str(info.value)
    assert client.get(f"/api/storage/volumes/{volume['uuid']}").get("comment") in (None, "")


def test_zero_polls_when_return_timeout_covers_the_job(sim: Simulator, client: OntapClient) -> None:
    result = client.post("/api/storage/volumes", json=VOLUME, return_timeout=5)
    assert (result.status_code, result.polls, result.state) == (201, 0, "success")
    assert job_gets(sim) == []
    assert result.job is not None and result.job["uuid"]
    assert sim.journal[0]["query"] == {"return_timeout": "5"}


def test_failure_within_return_timeout_is_an_ontap_error(
    sim: Simulator, client: OntapClient
) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "failure", "message": "no space", "code": 917536}],
    )
    with pytest.raises(OntapError) as info:
        client.post("/api/storage/volumes", json=VOLUME, return_timeout=10)
    assert (info.value.status, info.value.code, info.value.message) == (400, "917536", "no space")


def test_transient_faults_are_survived(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 30}, {"state": "success"}]
    )
    sim.fault("GET", "/api/cluster/jobs/*", times=2, status=503, retry_after=4)
    sim.fault("GET", "/api/cluster/jobs/*", times=1, status=500)
    sim.fault("GET", "/api/cluster/jobs/*", times=1, drop=True)
    sim.fault("GET", "/api/cluster/jobs/*", times=1, malformed=True)
    result = client.post("/api/storage/volumes", json=VOLUME)
    assert result.state == "success"
    faults = [e.get("fault") for e in job_gets(sim)]
    assert faults[:5] == ["status", "status", "status", "drop", "malformed"]
    assert result.polls == len(faults)
    # Retry-After was honoured: the second GET came 4 s after the first, not 1 s.
    times = [e["time"] for e in job_gets(sim)]
    assert times[1] - times[0] == pytest.approx(4)


def test_too_many_transient_faults_give_up(
    sim: Simulator, virtual: tuple[Simulator, ServerHandle]
) -> None:
    sim.fault("GET", "/api/cluster/jobs/*", times=None, status=502)
    policy = PollPolicy(interval=1, backoff=1, jitter=0, max_transient_errors=3, timeout=600)
    with OntapClient(
        virtual[1].url, auth=("admin", sim.password), clock=sim.clock, policy=policy
    ) as c:
        with pytest.raises(RetriesExhausted) as info:
            c.post("/api/storage/volumes", json=VOLUME)
    assert info.value.attempts == 4
    assert len(job_gets(sim)) == 4


def test_wrong_password_raises_at_once(
    sim: Simulator, virtual: tuple[Simulator, ServerHandle]
) -> None:
    with OntapClient(virtual[1].url, auth=("admin", "wrong"), clock=sim.clock) as c:
        with pytest.raises(AuthError) as info:
            c.post("/api/storage/volumes", json=VOLUME)
    assert info.value.status == 401
    assert "wrong" not in str(info.value)
    assert len(sim.journal) == 1


def test_401_while_polling_raises_at_once(sim: Simulator, client: OntapClient) -> None:
    sim.fault(
        "GET",
        "/api/cluster/jobs/*",
        times=None,
        status=403,
        message="not authorized for that command",
    )
    with pytest.raises(AuthError):
        client.post("/api/storage/volumes", json=VOLUME)
    assert len(job_gets(sim)) == 1


def test_validation_error_is_raised_with_ontap_fields(client: OntapClient) -> None:
    with pytest.raises(OntapError) as info:
        client.post("/api/storage/volumes", json={**VOLUME, "svm": {"name": "nope"}})
    assert info.value.status == 400
    assert info.value.code == "2"
    assert info.value.target == "svm.name"


def test_vanished_job_is_lost_with_last_record(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 60}, {"state": "success"}]
    )
    sim.fault("GET", "/api/cluster/jobs/*", times=1, vanish=True)
    sim.fault("GET", "/api/cluster/jobs/*", times=1, status=500)  # never reached: the first fires
    # The vanish fault purges the job on the first GET: never seen, so retried until the grace
    # runs out.
    policy = PollPolicy(interval=1, backoff=1, jitter=0, not_found_grace=5, timeout=600)
    client.policy = policy
    with pytest.raises(JobLost) as info:
        client.post("/api/storage/volumes", json=VOLUME)
    assert info.value.job is None


def test_job_lost_after_it_was_seen(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 60}, {"state": "success"}]
    )
    result_job: dict[str, Any] = {}

    def on_progress(record: Any) -> None:
        result_job.update(record)
        sim.jobs.purge(record["uuid"])

    client.on_progress = on_progress
    with pytest.raises(JobLost) as info:
        client.post("/api/storage/volumes", json=VOLUME)
    assert info.value.job is not None and info.value.job["state"] == "running"


def test_timeout_counts_on_the_virtual_clock(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 3600}, {"state": "success"}],
    )
    start = sim.clock.now()
    client.policy = PollPolicy(interval=5, backoff=2, max_interval=60, jitter=0, timeout=300)
    with pytest.raises(JobTimeout) as info:
        client.post("/api/storage/volumes", json=VOLUME)
    assert sim.clock.now() - start <= 300
    assert info.value.job is not None and info.value.job["state"] == "running"


def test_wait_on_an_existing_job_polls_at_once(sim: Simulator, client: OntapClient) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "polls": 2}, {"state": "success"}]
    )
    response = requests.post(
        client.base_url + "/api/storage/volumes",
        json=VOLUME,
        auth=("admin", sim.password),
        timeout=5,
    )
    href = response.json()["job"]["_links"]["self"]["href"]
    result = client.wait(href)
    assert result.polls == 3 and result.state == "success"
    assert client.wait(response.json()["job"]["uuid"]).polls == 1


def test_202_without_a_job_link_is_a_protocol_error() -> None:
    import responses

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://cluster.example/api/storage/volumes", status=202, json={})
        with OntapClient("https://cluster.example", auth=("admin", "pw")) as c:
            with pytest.raises(ProtocolError, match="without a job link"):
                c.post("/api/storage/volumes", json=VOLUME)


@pytest.fixture(scope="module")
def other_host() -> Iterator[tuple[str, list[str]]]:
    """A second host (127.0.0.2, another origin) that records every request line it receives."""
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            received.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"state": "success"}')

        do_GET = do_POST = do_PATCH = do_DELETE = _record

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.2:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


# Every spelling of "another host" that urljoin, urllib or requests resolves to that host.
OTHER_ORIGIN_SPELLINGS = [
    "http://{other}/api/cluster/jobs/x",
    "HTTP://{other}/api/cluster/jobs/x",
    "Http://{other}/api/cluster/jobs/x",
    " http://{other}/api/cluster/jobs/x",
    "\nhttp://{other}/api/cluster/jobs/x",
    "\thttp://{other}/api/cluster/jobs/x",
    "ht\ttp://{other}/api/cluster/jobs/x",
    "http:\t//{other}/api/cluster/jobs/x",
    "//{other}/api/cluster/jobs/x",
    "\\\\{other}/api/cluster/jobs/x",
    "http://{here}@{other}/api/cluster/jobs/x",
    "http:/\\{other}/api/cluster/jobs/x",
    "https://{here}/api/cluster/jobs/x",
    "http://localhost:{port}/api/cluster/jobs/x",
    "\x00http://{other}/api/cluster/jobs/x",
]


@pytest.mark.parametrize("spelling", OTHER_ORIGIN_SPELLINGS)
def test_job_links_to_another_origin_are_refused_whatever_the_spelling(
    sim: Simulator,
    client: OntapClient,
    other_host: tuple[str, list[str]],
    spelling: str,
) -> None:
    """The attack: a job href that only looks relative or same-origin leaks Basic auth."""
    other, received = other_host
    here = client.base_url.split("://", 1)[1]
    href = spelling.format(other=other, here=here, port=here.rsplit(":", 1)[1])
    received.clear()
    with pytest.raises(ProtocolError) as caught:
        client.wait(href)
    assert repr(href) in str(caught.value)
    with pytest.raises(ProtocolError, match="refusing"):
        client.get(href)
    # The same href in a 202 from a (lying) cluster: refused before the first poll.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("http://127.0.0.2")
        body = {"job": {"uuid": "x", "_links": {"self": {"href": href}}}}
        mock.add(
            responses.POST, "https://cluster.example/api/storage/volumes", json=body, status=202
        )
        with OntapClient("https://cluster.example", auth=("admin", "pw")) as lying:
            with pytest.raises(ProtocolError, match="refusing"):
                lying.post("/api/storage/volumes", json=VOLUME)
        assert [c.request.method for c in mock.calls] == ["POST"]
    assert received == []
    assert not [e for e in sim.journal if e["path"].startswith("/api/cluster/jobs")]


@pytest.mark.parametrize(
    "spelling",
    ["HTTP://{here}/api/cluster/jobs/{uuid}", "http://{here}/api/cluster/jobs/{uuid}", "{path}"],
)
def test_same_origin_hrefs_in_any_spelling_still_work(
    sim: Simulator, client: OntapClient, spelling: str
) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "polls": 1}, {"state": "success"}]
    )
    stub = requests.post(
        client.base_url + "/api/storage/volumes",
        json=VOLUME,
        auth=("admin", sim.password),
        timeout=5,
    ).json()["job"]
    here = client.base_url.split("://", 1)[1]
    href = spelling.format(here=here, uuid=stub["uuid"], path=stub["_links"]["self"]["href"])
    assert client.wait(href).state == "success"


def test_return_timeout_is_validated_before_sending(sim: Simulator, client: OntapClient) -> None:
    for bad in (-1, 121, 1.5, True, "5"):
        with pytest.raises(ValueError, match="return_timeout"):
            client.post("/api/storage/volumes", json=VOLUME, return_timeout=bad)  # type: ignore[arg-type]
    assert sim.journal == []


def test_write_retries_503_with_retry_after(sim: Simulator, client: OntapClient) -> None:
    sim.fault("POST", "/api/storage/volumes", times=2, status=503, retry_after=2)
    result = client.post("/api/storage/volumes", json=VOLUME, return_timeout=10)
    assert result.status_code == 201
    assert [e["status"] for e in sim.journal if e["method"] == "POST"] == [503, 503, 201]


def test_dropped_write_is_not_retried(sim: Simulator, client: OntapClient) -> None:
    sim.fault("POST", "/api/storage/volumes", times=1, drop=True)
    with pytest.raises(TransportError, match="may or may not"):
        client.post("/api/storage/volumes", json=VOLUME)
    assert len([e for e in sim.journal if e["method"] == "POST"]) == 1


def test_credentials_never_show(
    sim: Simulator, client: OntapClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.fault("GET", "/api/cluster/jobs/*", times=1, status=503)
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 3}, {"state": "failure", "message": "boom"}],
    )
    with pytest.raises(JobFailed) as info:
        client.post("/api/storage/volumes", json=VOLUME)
    text = caplog.text + repr(client) + str(info.value) + repr(info.value)
    assert sim.password not in text
    assert "Authorization" not in text and "Basic " not in text
    assert "job " in caplog.text  # progress was logged
    assert all("authorization" not in str(e).lower() for e in sim.journal)


def test_base_url_with_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="credentials"):
        OntapClient("https://admin:pw@cluster.example", auth=("admin", "pw"))
    with pytest.raises(ValueError, match="http"):
        OntapClient("ftp://cluster.example")


def test_non_json_answer_is_a_protocol_error(sim: Simulator, client: OntapClient) -> None:
    sim.fault("GET", "/api/cluster", times=1, malformed=True)
    with pytest.raises(ProtocolError):
        client.get("/api/cluster")


def test_real_clock_deadline_with_slow_job_gets() -> None:
    """Every job GET delayed 0.2 s: a 1 s timeout raises JobTimeout within 1.5 s of wall time."""
    sim = Simulator(clock="real")
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 60}, {"state": "success"}]
    )
    sim.fault("GET", "/api/cluster/jobs/*", times=None, delay=0.2)
    policy = PollPolicy(interval=0.1, backoff=1.0, jitter=0.0, timeout=1.0)
    with (
        serve(sim) as handle,
        OntapClient(handle.url, auth=("admin", sim.password), policy=policy) as c,
    ):
        started = time.monotonic()
        with pytest.raises(JobTimeout):
            c.post("/api/storage/volumes", json=VOLUME)
        wall = time.monotonic() - started
    assert wall < 1.5
    assert wall >= 0.9


def test_connection_errors_carry_no_credentials_in_their_chain() -> None:
    import socket
    import traceback

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    with OntapClient(f"http://127.0.0.1:{port}", auth=("admin", "hunter2")) as c:
        with pytest.raises(TransportError) as info:
            c.get("/api/cluster")
    text = "".join(traceback.format_exception(info.value))
    assert "Connection" in str(info.value)
    assert "hunter2" not in text and "Basic" not in text and "Authorization" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    "href",
    [
        "/api/cluster/jobs/u1",
        "/api/cluster/jobs/u1?x=1",
        "/api/cluster/jobs/u1?",
        "/api/cluster/jobs/u1??",
        "/api/cluster/jobs/u1#part",
        "https://cluster.example/api/cluster/jobs/u%201?x=a%2Cb&y=caf%C3%A9",
    ],
)
def test_a_poll_asks_for_the_url_requests_builds_from_its_params(href: str) -> None:
    import responses

    from pytest_ontapjob.client import POLL_FIELDS

    with responses.RequestsMock() as mock:
        pattern = re.compile(r"https://cluster\.example/api/cluster/jobs/.*")
        mock.add(responses.GET, pattern, json={"uuid": "u1", "state": "success"})
        with OntapClient("https://cluster.example", auth=("admin", "pw")) as c:
            assert c.wait(href).state == "success"
            wanted = requests.Request("GET", c._url(href), params={"fields": POLL_FIELDS})
        assert [call.request.url for call in mock.calls] == [wanted.prepare().url]


# -- a wait prepares its job GET once ------------------------------------------------------------
JOB_URL = re.compile(r"https://cluster\.example/api/cluster/jobs/u1.*")


def walking_job(seen: list[requests.PreparedRequest]) -> Any:
    """A ``responses`` callback: queued, running, then success, recording each request."""
    states = iter(["queued", "running", "success"])

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        seen.append(request)
        return 200, {"Content-Type": "application/json"}, f'{{"state": "{next(states)}"}}'

    return answer


def polling_client(**kwargs: Any) -> OntapClient:
    from simulator.clock import VirtualClock

    return OntapClient(
        "https://cluster.example", auth=("admin", "pw"), clock=VirtualClock(), **kwargs
    )


def test_a_wait_prepares_its_job_get_once_and_each_poll_carries_auth_and_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[requests.PreparedRequest] = []
    with responses.RequestsMock() as mock, polling_client() as c:
        mock.add_callback(responses.GET, JOB_URL, callback=walking_job(seen))
        prepared = []
        prepare = c.session.prepare_request
        monkeypatch.setattr(
            c.session, "prepare_request", lambda r: prepared.append(r) or prepare(r)
        )
        assert c.wait("u1").polls == 3
    assert len(prepared) == 1
    wanted = requests.Request("GET", c._url("/api/cluster/jobs/u1"), params={"fields": POLL_FIELDS})
    assert [request.url for request in seen] == [wanted.prepare().url] * 3
    assert all(request.method == "GET" and request.body is None for request in seen)
    for request in seen:
        assert request.headers["Authorization"] == requests.auth._basic_auth_str("admin", "pw")
        assert request.headers["Accept"] == "application/hal+json, application/json"
        assert request.headers["User-Agent"].startswith("pytest-ontapjob/")
        assert "Cookie" not in request.headers


def test_a_poll_is_prepared_afresh_while_the_jar_holds_a_cookie() -> None:
    """As Session.request does: a cookie the jar holds now, not when the wait began."""
    seen: list[requests.PreparedRequest] = []

    def progress(record: Any) -> None:
        c.session.cookies.set("seen", record["state"], domain="cluster.example")

    with responses.RequestsMock() as mock, polling_client(on_progress=progress) as c:
        mock.add_callback(responses.GET, JOB_URL, callback=walking_job(seen))
        c.session.cookies.set("seen", "none", domain="cluster.example")
        assert c.wait("u1").polls == 3
    assert [r.headers["Cookie"] for r in seen] == ["seen=none", "seen=queued", "seen=running"]


def test_an_auth_with_state_prepares_every_poll() -> None:
    """Digest auth and the like count their requests: each poll goes through the auth again."""
    seen: list[requests.PreparedRequest] = []

    class Counting(requests.auth.AuthBase):
        calls = 0

        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            self.calls += 1
            request.headers["Authorization"] = f"Counted {self.calls}"
            return request

    with responses.RequestsMock() as mock, polling_client() as c:
        mock.add_callback(responses.GET, JOB_URL, callback=walking_job(seen))
        c.session.auth = Counting()
        assert c.wait("u1").polls == 3
    assert [r.headers["Authorization"] for r in seen] == ["Counted 1", "Counted 2", "Counted 3"]
