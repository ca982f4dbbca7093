"""``PATCH /api/cluster/jobs``: ONTAP's bulk form of job actions (a query selects the jobs)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulator import Simulator
from simulator.web.jobs import JobsView

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
VOLUME = {"svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
RUNNING = [{"state": "running", "seconds": 10}, {"state": "success"}]


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Simulator()


@pytest.fixture
def client(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def patch(client: FlaskClient, query: str, body: Any = None) -> Any:
    kw: dict[str, Any] = {}
    if body is not None:
        kw = {"data": json.dumps(body), "content_type": "application/json"}
    return client.patch(f"/api/cluster/jobs?{query}", headers=AUTH, **kw)


def start(sim: Simulator, name: str, steps: list[dict[str, Any]] = RUNNING) -> str:
    sim.script("POST", "/api/storage/volumes", steps)
    answer = sim.submit("POST", "/api/storage/volumes", {**VOLUME, "name": name})
    assert answer.job_uuid
    return answer.job_uuid


def states(sim: Simulator) -> dict[str, str]:
    return {job["uuid"]: job["state"] for job in sim.jobs.records()}


def error(response: Any) -> dict[str, Any]:
    return dict(response.json["error"])


def test_the_query_selects_the_jobs_and_the_action_applies_to_each(
    sim: Simulator, client: FlaskClient
) -> None:
    first, second = start(sim, "v1"), start(sim, "v2")
    queued = start(sim, "v3", [{"state": "queued", "seconds": 10}, {"state": "success"}])
    response = patch(client, "state=running&action=pause")
    assert response.status_code == 200
    assert response.json == {"num_records": 2}
    assert states(sim) == {first: "paused", second: "paused", queued: "queued"}
    assert patch(client, f"uuid={first}&action=resume").json == {"num_records": 1}
    assert states(sim)[first] == "running" and states(sim)[second] == "paused"


def test_any_job_field_filters_in_the_query_language(sim: Simulator, client: FlaskClient) -> None:
    sim.script("POST", "/api/svm/svms", RUNNING)
    svm_job = sim.submit("POST", "/api/svm/svms", {"name": "vs9"}).job_uuid
    volume_job = start(sim, "v1")
    assert patch(client, "description=*volumes*&action=cancel").json == {"num_records": 1}
    assert states(sim) == {svm_job: "running", volume_job: "failure"}
    assert patch(client, "state=nothing&action=cancel").json == {"num_records": 0}


def test_a_patch_without_a_filter_is_refused(sim: Simulator, client: FlaskClient) -> None:
    job = start(sim, "v1")
    for query in ("action=pause", "action=pause&continue_on_failure=true&return_timeout=5"):
        response = patch(client, query)
        assert response.status_code == 400
        assert error(response)["target"] == "query"
        assert "needs a query" in error(response)["message"]
    assert states(sim) == {job: "running"}


def test_a_job_that_cannot_take_the_action_fails_the_request_unless_told_to_go_on(
    sim: Simulator, client: FlaskClient
) -> None:
    done = start(sim, "v1", [{"state": "success"}])
    running = start(sim, "v2")
    response = patch(client, "description=*&action=cancel")
    assert response.status_code == 400
    assert error(response)["code"] == "458762"  # the finished job: already terminal
    assert states(sim) == {done: "success", running: "running"}
    response = patch(client, "description=*&action=cancel&continue_on_failure=true")
    assert response.status_code == 200 and response.json == {"num_records": 1}
    assert states(sim) == {done: "success", running: "failure"}


def test_bad_bulk_requests_answer_ontap_errors(sim: Simulator, client: FlaskClient) -> None:
    job = start(sim, "v1")
    assert error(patch(client, "state=running"))["target"] == "action"
    assert error(patch(client, "state=running&action=explode"))["code"] == "262197"
    assert patch(client, "colour=red&action=pause").status_code == 404
    assert error(patch(client, "state=running&action=pause", {"state": "x"}))["target"] == "state"
    assert error(patch(client, "state=running&action=pause&continue_on_failure=maybe"))
    assert states(sim) == {job: "running"}
    assert client.patch("/api/cluster/jobs?state=running&action=pause").status_code == 401
    assert states(sim) == {job: "running"}


def test_the_bulk_patch_is_journaled(sim: Simulator, client: FlaskClient) -> None:
    start(sim, "v1")
    patch(client, "state=running&action=pause")
    entry = sim.journal[-1]
    assert (entry["method"], entry["path"], entry["status"]) == ("PATCH", "/api/cluster/jobs", 200)
    assert entry["query"] == {"state": "running", "action": "pause"}


def test_the_jobs_view_is_usable_without_http(sim: Simulator) -> None:
    view = JobsView(sim.jobs)
    job = start(sim, "v1")
    assert view.act_on_each({"uuid": job, "action": "pause"}, None) == {"num_records": 1}
    record = view.record(job, {"fields": "state"}, observe=False)
    assert (record["uuid"], record["state"]) == (job, "paused")
