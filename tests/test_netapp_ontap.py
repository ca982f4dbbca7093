"""NetApp's own ``netapp-ontap`` library, unchanged, drives the simulator over HTTP and HTTPS.

The simulator runs on a real clock with short scripted steps (0.1-0.2 s) and the library polls
every 0.1 s, so every flow, paused steps included, finishes in well under a second. The request
journal shows what the library sent: ``fields=message,state`` on job polls, the ``Location``
follow-up query with its trailing slash, ``{}`` as the body of a DELETE, and its
``X-Dot-Client-App`` header. ``docs/compatibility.md`` quotes :func:`example_create_volume`.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netapp_ontap
import pytest
from netapp_ontap import HostConnection
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import Cluster, Job, Svm, Volume

from simulator import ServerHandle, Simulator, serve

# netapp-ontap's generated models use a marshmallow field that marshmallow 3.26 deprecates; the
# warning is raised while the library imports a model lazily (reading a full volume record).
pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

PASSWORD = "netapp1!"
POLL = 0.1
CLIENT_APP = f"netapp-ontap-python-{netapp_ontap.__version__}"
DOC = Path(__file__).parent.parent / "docs" / "compatibility.md"
V1 = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
FAILURE = {"state": "failure", "message": "There are not enough disks in Pool1.", "code": 2432836}


def example_create_volume(port: int = 8080) -> str:
    """Create volume v1 on ontap-sim with netapp-ontap, waiting for its job."""
    from netapp_ontap import HostConnection
    from netapp_ontap.resources import Volume

    with HostConnection(
        "127.0.0.1", port=port, scheme="http", username="admin", password="netapp1!"
    ):
        volume = Volume(name="v1", svm={"name": "vs0"}, aggregates=[{"name": "aggr1"}])
        volume.post(poll=True, poll_interval=1)  # 202, then polls the job until success
        volume.get(fields="state,size")
        return f"{volume.name} {volume.uuid} {volume.state} {volume.size}"


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(clock="real", password=PASSWORD)


@pytest.fixture(scope="module")
def servers(sim: Simulator) -> Iterator[dict[str, ServerHandle]]:
    with serve(sim) as http, serve(sim, tls=True) as https:
        yield {"http": http, "https": https}


def _connection(server: ServerHandle, verify: bool = False) -> HostConnection:
    return HostConnection(
        server.host,
        port=server.port,
        scheme=server.scheme,
        username="admin",
        password=PASSWORD,
        verify=verify,
        poll_interval=POLL,  # a float works: it is only slept
    )


@pytest.fixture(params=["http", "https"])
def server(
    request: pytest.FixtureRequest, sim: Simulator, servers: dict[str, ServerHandle]
) -> ServerHandle:
    sim.reset()
    return servers[request.param]


@pytest.fixture
def ontap(server: ServerHandle) -> Iterator[HostConnection]:
    """A netapp-ontap connection to the simulator, current for the test's block."""
    connection = _connection(server)
    with connection:
        yield connection
    connection.session.close()


@pytest.fixture
def http(sim: Simulator, servers: dict[str, ServerHandle]) -> Iterator[HostConnection]:
    """Like ``ontap``, over HTTP only (for flows whose transport does not matter)."""
    sim.reset()
    connection = _connection(servers["http"])
    with connection:
        yield connection
    connection.session.close()


def _requests(sim: Simulator, method: str, path: str = "") -> list[dict[str, Any]]:
    return [e for e in sim.journal if e["method"] == method and e["path"].startswith(path)]


def _job_polls(sim: Simulator) -> list[dict[str, Any]]:
    return _requests(sim, "GET", "/api/cluster/jobs/")


# -- the write flow --------------------------------------------------------------------
def test_volume_create_modify_delete_through_paused_jobs(
    sim: Simulator, ontap: HostConnection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netapp_ontap.utils")
    sim.script(
        "POST",
        "/api/storage/volumes",
        [
            {"state": "queued", "seconds": 0.1},
            {"state": "running", "seconds": 0.1, "message": "Creating"},
            {"state": "paused", "seconds": 0.2, "message": "Waiting for aggregate"},
            {"state": "success", "message": "Complete: Successful"},
        ],
    )
    volume = Volume(**V1)
    volume.post(poll=True, poll_interval=POLL)
    assert re.fullmatch(r"[0-9a-f-]{36}", volume.uuid)
    assert "Job (paused): Waiting for aggregate." in caplog.text
    assert [v.uuid for v in Volume.get_collection(name="v1")] == [volume.uuid]

    sim.script(
        "PATCH",
        "/api/storage/volumes/*",
        [
            {"state": "running", "seconds": 0.1},
            {"state": "paused", "seconds": 0.1},
            {"state": "success"},
        ],
    )
    volume.comment = "modified by netapp-ontap"
    volume.patch(poll=True, poll_interval=POLL)
    fetched = Volume(uuid=volume.uuid)
    fetched.get(fields="comment")
    assert fetched.comment == "modified by netapp-ontap"

    sim.script(
        "DELETE",
        "/api/storage/volumes/*",
        [{"state": "paused", "seconds": 0.1}, {"state": "success"}],
    )
    volume.delete(poll=True, poll_interval=POLL)
    assert list(Volume.get_collection(name="v1")) == []

    (post,) = _requests(sim, "POST")
    assert (post["status"], post["body"], post["query"]) == (202, V1, {})
    (patch,) = _requests(sim, "PATCH")
    assert (patch["status"], patch["body"]) == (202, {"comment": "modified by netapp-ontap"})
    (delete,) = _requests(sim, "DELETE")
    assert (delete["status"], delete["body"]) == (202, {})
    polls = _job_polls(sim)
    assert {e["job"] for e in (post, patch, delete)} <= {e["path"].rsplit("/", 1)[1] for e in polls}
    assert all(e["query"] == {"fields": "message,state"} and e["status"] == 200 for e in polls)
    assert {e.get("client_app") for e in sim.journal} == {CLIENT_APP}


def test_the_location_follow_up_query_keeps_its_trailing_slash(
    sim: Simulator, http: HostConnection
) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.1}, {"state": "success"}]
    )
    volume = Volume(**V1)
    volume.post(poll=True, poll_interval=POLL)

    steps = [(e["method"], e["path"], e["query"]) for e in sim.journal]
    follow_up = ("GET", "/api/storage/volumes/", {"name": "v1"})
    assert follow_up in steps
    job_poll = ("GET", f"/api/cluster/jobs/{sim.journal[0]['job']}", {"fields": "message,state"})
    # The library polls until success, reads the Location query, then polls the (kept) job again.
    index = steps.index(follow_up)
    assert steps[index - 1] == job_poll
    assert steps[index + 1] == job_poll
    # ... and keeps the Location query for later reads of the record.
    volume.get()
    assert sim.journal[-1]["query"] == {"name": "v1"}
    assert sim.journal[-1]["status"] == 200


def test_a_post_answered_201_within_return_timeout(sim: Simulator, http: HostConnection) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.1}, {"state": "success"}]
    )
    volume = Volume(**V1)
    volume.post(poll=True, poll_interval=POLL, return_timeout=5)

    post = _requests(sim, "POST")[0]
    assert (post["status"], post["query"]) == (201, {"return_timeout": "5"})
    assert len(_job_polls(sim)) == 2  # once before, once after the Location follow-up
    assert volume.uuid == sim.inventory.volumes()[0]["uuid"]


# -- failures ----------------------------------------------------------------------------
def test_a_failed_job_raises_netapp_rest_error_with_the_job_message(
    sim: Simulator, ontap: HostConnection
) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.1}, FAILURE])
    with pytest.raises(NetAppRestError, match=r"There are not enough disks in Pool1\.") as caught:
        Volume(**V1).post(poll=True, poll_interval=POLL)
    assert "failed" in str(caught.value)
    assert sim.inventory.volumes() == []


def test_a_failed_modify_raises_job_failed(sim: Simulator, http: HostConnection) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    volume = Volume(**V1)
    volume.post(poll=True, poll_interval=POLL)
    sim.script("PATCH", "/api/storage/volumes/*", [{"state": "paused", "seconds": 0.1}, FAILURE])
    volume.size = 2 * 1024**3
    with pytest.raises(
        NetAppRestError, match=r"^Job failed: There are not enough disks in Pool1\.$"
    ):
        volume.patch(poll=True, poll_interval=POLL)


def test_a_job_that_fails_within_return_timeout_is_an_ontap_error(
    sim: Simulator, http: HostConnection
) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.1}, FAILURE])
    with pytest.raises(NetAppRestError, match="There are not enough disks") as caught:
        Volume(**V1).post(poll=True, return_timeout=5)
    assert caught.value.status_code == 400
    assert caught.value.response_body == {
        "error": {"message": "There are not enough disks in Pool1.", "code": "2432836"}
    }


def test_refusals_reach_the_library_as_ontap_errors(sim: Simulator, http: HostConnection) -> None:
    with pytest.raises(NetAppRestError) as missing:
        Volume(uuid="7d2f7a43-0000-4000-8000-000000000000").get()
    assert missing.value.status_code == 404
    assert missing.value.response_body == {
        "error": {"message": "entry doesn't exist", "code": "4", "target": "uuid"}
    }
    with pytest.raises(NetAppRestError) as bad:
        Volume(name="1-bad", svm={"name": "vs0"}).post(poll=True, poll_interval=POLL)
    assert bad.value.status_code == 400
    assert bad.value.response_body is not None
    assert bad.value.response_body["error"]["code"] == "2"
    assert bad.value.response_body["error"]["target"] == "name"
    assert sim.jobs.records() == []


# -- jobs --------------------------------------------------------------------------------
def test_job_get_and_get_collection_by_state(sim: Simulator, http: HostConnection) -> None:
    sim.script(
        "PATCH",
        "/api/svm/svms/*",
        [
            {"state": "running", "polls": 2, "message": "Checking", "code": 2432844},
            {"state": "success"},
        ],
    )
    svm_uuid = sim.inventory.svms()[0]["uuid"]
    response = Svm(uuid=svm_uuid, comment="x").patch(poll=False)
    job = Job(uuid=response.http_response.json()["job"]["uuid"])

    job.get()  # first observation: running
    assert (job.state, job.message, job.code) == ("running", "Checking", 2432844)
    assert job.description == f"PATCH /api/svm/svms/{svm_uuid}"
    assert [j.uuid for j in Job.get_collection(state="running")] == [job.uuid]
    assert list(Job.get_collection(state="success")) == []
    job.get()  # second observation ends the running step
    job.get()
    assert (job.state, job.code) == ("success", 0)
    assert job.end_time >= job.start_time
    assert [j.uuid for j in Job.get_collection(state="success")] == [job.uuid]
    assert Job.count_collection(state="running|queued|paused") == 0
    assert [e["query"] for e in _requests(sim, "GET", "/api/cluster/jobs")][-1] == {
        "state": "running|queued|paused",
        "return_records": "false",
    }


def test_pause_and_resume_through_job_patch(sim: Simulator, http: HostConnection) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    volume = Volume(**V1)
    volume.post(poll=True, poll_interval=POLL)
    sim.script(
        "PATCH",
        "/api/storage/volumes/*",
        [{"state": "running", "seconds": 0.3}, {"state": "success"}],
    )
    volume.comment = "paused once"
    response = volume.patch(poll=False)
    job = Job(uuid=response.http_response.json()["job"]["uuid"])

    job.patch(action="pause")
    job.get()
    assert job.state == "paused"
    job.patch(action="resume")
    volume.poll(interval=POLL)
    job.get()
    assert job.state == "success"
    actions = _requests(sim, "PATCH", "/api/cluster/jobs/")
    assert [(e["query"], e["body"], e["status"]) for e in actions] == [
        ({"action": "pause"}, {}, 200),
        ({"action": "resume"}, {}, 200),
    ]


# -- transport ---------------------------------------------------------------------------
def test_https_verified_against_the_generated_ca(
    servers: dict[str, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=<path>``: set the variable."""
    server = servers["https"]
    assert server.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    connection = _connection(server, verify=True)
    with connection:
        cluster = Cluster()
        cluster.get()
    connection.session.close()
    assert cluster.name == "cluster1"
    assert cluster.version.generation == 9


# -- the documented example --------------------------------------------------------------
def test_the_documented_example_runs(sim: Simulator, servers: dict[str, ServerHandle]) -> None:
    sim.reset()
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.1}, {"state": "success"}]
    )
    name, uuid, state, size = example_create_volume(servers["http"].port).split()
    assert (name, state, size) == ("v1", "online", str(20 * 1024**2))
    assert uuid == sim.inventory.volumes()[0]["uuid"]


def test_the_compatibility_doc_quotes_the_example_verbatim() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert inspect.getsource(example_create_volume) in blocks
