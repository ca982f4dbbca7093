"""The HTTP contract of the simulator: ONTAP API and control API (in-process unless it matters)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from simulator import VIRTUAL_EPOCH, Simulator, serve

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
REPO = Path(__file__).resolve().parent.parent


class Api:
    """A tiny authenticated wrapper over Flask's test client."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.client: FlaskClient = sim.app.test_client()

    def __call__(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = {**AUTH, **kw.pop("headers", {})}
        if body is not None:
            kw["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.client.open(path, method=method, headers=headers, **kw)

    def job(self, uuid: str, **query: str) -> dict[str, Any]:
        response = self("GET", f"/api/cluster/jobs/{uuid}", query_string=query)
        assert response.status_code == 200, response.json
        return dict(response.json)

    def post_volume(self, name: str = "v1", query: str = "") -> Any:
        return self("POST", f"/api/storage/volumes{query}", {**VOLUME, "name": name})


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
    assert error["code"] == code
    assert error["message"]
    if target is not None:
        assert error["target"] == target


# -- cluster and headers -----------------------------------------------------------------
def test_cluster_answers_name_uuid_and_version(api: Api) -> None:
    body = api("GET", "/api/cluster").json
    assert body["name"] and body["uuid"]
    assert set(body["version"]) >= {"full", "generation", "major", "minor"}
    only = api("GET", "/api/cluster", query_string={"fields": "version"}).json
    assert "version" in only and "name" not in only


def test_every_answer_carries_ontap_headers(api: Api) -> None:
    for response in (api("GET", "/api/cluster"), api("GET", "/api/nope"), api.post_volume()):
        assert response.content_type == "application/hal+json"
        assert response.headers["Server"] == "libzapid-httpd"
        assert response.headers["Cache-Control"] == "no-cache,no-store,must-revalidate"


def test_unknown_paths_and_methods(api: Api) -> None:
    assert_error(api("GET", "/api/storage/lunz"), 404, "262179")
    assert_error(api("GET", "/nothing/here"), 404, "262179")
    response = api("DELETE", "/api/cluster/jobs")
    assert_error(response, 405, "3")
    assert response.headers["Allow"] == "GET, PATCH"  # PATCH: the bulk form of job actions
    assert_error(api("POST", "/api/cluster/jobs/abc"), 405, "3")
    assert_error(api("PUT", "/api/storage/volumes"), 405, "3")


# -- asynchronous writes -------------------------------------------------------------------
def test_volume_post_out_of_the_box_answers_202_with_a_job_link(api: Api) -> None:
    response = api.post_volume()
    assert response.status_code == 202
    job = response.json["job"]
    assert job["_links"]["self"]["href"] == f"/api/cluster/jobs/{job['uuid']}"
    assert response.headers["Location"] == "/api/storage/volumes/?name=v1"
    record = api.job(job["uuid"])
    assert record["description"] == "POST /api/storage/volumes"
    assert record["state"] == "queued"


def test_default_script_queues_briefly_runs_about_a_second_then_succeeds(
    api: Api, sim: Simulator
) -> None:
    uuid = api.post_volume().json["job"]["uuid"]
    sim.advance(0.2)
    assert api.job(uuid)["state"] == "running"
    assert api("GET", "/api/storage/volumes", query_string={"name": "v1"}).json["num_records"] == 0
    sim.advance(1.0)
    assert api.job(uuid)["state"] == "success"
    assert api("GET", "/api/storage/volumes", query_string={"name": "v1"}).json["num_records"] == 1


def test_return_timeout_zero_answers_202_even_for_an_instant_job(api: Api, sim: Simulator) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}], times=2)
    assert api.post_volume("a").status_code == 202
    assert api.post_volume("b", "?return_timeout=0").status_code == 202


def test_completed_writes_answer_201_and_200(api: Api, sim: Simulator) -> None:
    created = api.post_volume(query="?return_timeout=5")
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/storage/volumes/?name=v1"
    assert "job" in created.json
    uuid = api("GET", "/api/storage/volumes", query_string={"name": "v1"}).json["records"][0][
        "uuid"
    ]
    patched = api("PATCH", f"/api/storage/volumes/{uuid}?return_timeout=5", {"comment": "hi"})
    assert patched.status_code == 200 and "job" in patched.json
    assert api("GET", f"/api/storage/volumes/{uuid}").json["comment"] == "hi"
    deleted = api("DELETE", f"/api/storage/volumes/{uuid}?return_timeout=5")
    assert deleted.status_code == 200
    assert_error(api("GET", f"/api/storage/volumes/{uuid}"), 404, "4", "uuid")


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"status": 409}, 409)])
def test_failure_within_return_timeout_is_an_ontap_error(
    api: Api, sim: Simulator, options: dict[str, Any], status: int
) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [
            {"state": "running", "seconds": 3},
            {"state": "failure", "message": "Job failed", "code": 460770},
        ],
        **options,
    )
    response = api.post_volume(query="?return_timeout=10")
    assert_error(response, status, "460770")
    assert response.json["error"]["message"] == "Job failed"
    assert api("GET", "/api/storage/volumes", query_string={"name": "v1"}).json["num_records"] == 0


def test_failure_status_on_the_terminal_step(api: Api, sim: Simulator) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "failure", "code": 1, "status": 500}])
    assert_error(api.post_volume(query="?return_timeout=1"), 500, "1")


def test_autojump_to_the_job_end(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 7}, {"state": "success"}]
    )
    assert api.post_volume(query="?return_timeout=30").status_code == 201
    assert sim.clock.now() == VIRTUAL_EPOCH + 7


def test_autojump_to_the_timeout(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 70}, {"state": "success"}]
    )
    assert api.post_volume(query="?return_timeout=30").status_code == 202
    assert sim.clock.now() == VIRTUAL_EPOCH + 30


@pytest.mark.parametrize("value", ["-1", "121", "1.5", "abc", ""])
def test_bad_return_timeout_is_refused_before_any_job(api: Api, sim: Simulator, value: str) -> None:
    assert_error(api.post_volume(query=f"?return_timeout={value}"), 400, "262197", "return_timeout")
    assert api("GET", "/api/cluster/jobs").json["num_records"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "target"),
    [
        ("PATCH", "/api/storage/volumes/nope", {"comment": "x"}, 404, "4", "uuid"),
        ("DELETE", "/api/storage/volumes/nope", None, 404, "4", "uuid"),
        ("POST", "/api/storage/volumes", {**VOLUME, "svm": {"name": "vs9"}}, 400, "2", "svm.name"),
        (
            "POST",
            "/api/storage/volumes",
            {**VOLUME, "aggregates": [{"name": "a9"}]},
            400,
            "2",
            "aggregates.name",
        ),
        ("POST", "/api/storage/volumes", {**VOLUME, "size": "big"}, 400, "2", "size"),
        ("POST", "/api/storage/volumes", {**VOLUME, "name": "9lives"}, 400, "2", "name"),
        ("POST", "/api/storage/volumes", {**VOLUME, "name": "x" * 204}, 400, "2", "name"),
        ("POST", "/api/storage/volumes", {**VOLUME, "name": "bad-name"}, 400, "2", "name"),
        ("POST", "/api/storage/volumes/x/snapshots", {"name": "s"}, 404, "4", "uuid"),
        ("PATCH", "/api/svm/svms/nope", {"comment": "x"}, 404, "4", "uuid"),
    ],
)
def test_writes_validate_synchronously_and_create_no_job(
    api: Api, method: str, path: str, body: Any, status: int, code: str, target: str
) -> None:
    assert_error(api(method, path, body), status, code, target)
    assert api("GET", "/api/cluster/jobs").json["num_records"] == 0


def test_duplicate_name_is_409(api: Api, sim: Simulator) -> None:
    api.post_volume(query="?return_timeout=5")
    assert_error(api.post_volume(), 409, "1")


def test_volume_name_edge_lengths(api: Api, sim: Simulator) -> None:
    assert api.post_volume("_" + "a" * 202).status_code == 202
    assert api.post_volume("a").status_code == 202


# -- jobs endpoints ------------------------------------------------------------------------
def test_jobs_collection_filters_fields_order_and_paging(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "polls": 1}, {"state": "success"}],
        times=3,
    )
    uuids = [api.post_volume(f"v{i}").json["job"]["uuid"] for i in range(3)]
    api.job(uuids[0])  # one observation: its polls step ends, the job succeeds
    running = api("GET", "/api/cluster/jobs", query_string={"state": "running"}).json
    assert sorted(r["uuid"] for r in running["records"]) == sorted(uuids[1:])
    # A field filtered on is returned, as ONTAP does (netapp-ontap's Lun docs: a query on
    # svm.name and status.state answers records carrying both).
    assert set(running["records"][0]) == {"uuid", "state", "_links"}
    fielded = api("GET", "/api/cluster/jobs", query_string={"fields": "state,description"}).json
    assert {r["description"] for r in fielded["records"]} == {"POST /api/storage/volumes"}
    ordered = api(
        "GET", "/api/cluster/jobs", query_string={"order_by": "state desc", "fields": "state"}
    ).json
    assert [r["state"] for r in ordered["records"]] == ["success", "running", "running"]
    counted = api("GET", "/api/cluster/jobs", query_string={"return_records": "false"}).json
    assert counted["num_records"] == 3 and "records" not in counted
    seen: list[str] = []
    href: str | None = "/api/cluster/jobs?max_records=2"
    while href:
        page = api("GET", href).json
        seen += [r["uuid"] for r in page["records"]]
        href = page["_links"].get("next", {}).get("href")
    assert sorted(seen) == sorted(uuids)
    assert api("GET", "/api/cluster/jobs", query_string={"return_timeout": "15"}).status_code == 200
    assert_error(
        api("GET", "/api/cluster/jobs", query_string={"return_timeout": "121"}), 400, "262197"
    )


def test_collection_reads_do_not_count_as_observations(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "polls": 1}, {"state": "success"}]
    )
    uuid = api.post_volume().json["job"]["uuid"]
    for _ in range(3):
        api("GET", "/api/cluster/jobs", query_string={"fields": "state"})
    assert api.job(uuid)["state"] == "running"
    assert api.job(uuid)["state"] == "success"


def test_job_record_fields(api: Api) -> None:
    uuid = api.post_volume().json["job"]["uuid"]
    assert set(api.job(uuid, fields="state")) == {"uuid", "state", "_links"}
    assert set(api.job(uuid, fields="*")) >= {"description", "message", "code", "start_time"}
    assert_error(api("GET", f"/api/cluster/jobs/{uuid}?colour=red"), 404, "262179", "colour")


def test_pause_resume_cancel_over_http(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 10}, {"state": "success"}]
    )
    uuid = api.post_volume().json["job"]["uuid"]
    sim.advance(4)
    response = api("PATCH", f"/api/cluster/jobs/{uuid}?action=pause")
    assert response.status_code == 200 and response.data == b""
    sim.advance(100)
    assert api.job(uuid)["state"] == "paused"
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=pause"), 400, "458776")
    assert api("PATCH", f"/api/cluster/jobs/{uuid}?action=resume").status_code == 200
    sim.advance(5.9)
    assert api.job(uuid)["state"] == "running"
    assert api("PATCH", f"/api/cluster/jobs/{uuid}?action=cancel").status_code == 200
    assert api.job(uuid)["state"] == "failure"
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=cancel"), 400, "458762")
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=explode"), 400, "262197", "action")
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}"), 400, "2", "action")
    assert_error(api("PATCH", "/api/cluster/jobs/nope?action=pause"), 404, "4", "uuid")


def test_scripts_can_refuse_pause_and_cancel(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 10}, {"state": "success"}],
        pausable=False,
        cancellable=False,
    )
    uuid = api.post_volume().json["job"]["uuid"]
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=pause"), 400, "458783")
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=cancel"), 400, "458784")


def test_finished_jobs_are_retained_then_404(api: Api, sim: Simulator) -> None:
    uuid = api.post_volume(query="?return_timeout=5").json["job"]["uuid"]
    sim.advance(299)
    assert api.job(uuid)["state"] == "success"
    sim.advance(1)
    assert_error(api("GET", f"/api/cluster/jobs/{uuid}"), 404, "4", "uuid")
    assert_error(api("PATCH", f"/api/cluster/jobs/{uuid}?action=pause"), 404, "4", "uuid")


def test_retention_is_configurable() -> None:
    sim = Simulator(retention=10)
    api = Api(sim)
    uuid = api.post_volume(query="?return_timeout=5").json["job"]["uuid"]
    sim.advance(10)
    assert api("GET", f"/api/cluster/jobs/{uuid}").status_code == 404


# -- control API ---------------------------------------------------------------------------
def test_scripts_endpoint_with_glob_and_times(api: Api, sim: Simulator) -> None:
    rule = {
        "method": "DELETE",
        "path": "/api/storage/volumes/*",
        "times": 2,
        "steps": [
            {"state": "running", "seconds": 1},
            {"state": "failure", "message": "busy", "code": 5},
        ],
    }
    assert api("POST", "/simulator/scripts", rule).status_code == 201
    assert api("GET", "/simulator/scripts").json["num_records"] == 1
    uuids = []
    for name in ("a", "b", "c"):
        api.post_volume(name, "?return_timeout=5")
        uuids.append(
            api("GET", "/api/storage/volumes", query_string={"name": name}).json["records"][0][
                "uuid"
            ]
        )
    answers = [api("DELETE", f"/api/storage/volumes/{u}?return_timeout=5") for u in uuids]
    assert [a.status_code for a in answers] == [400, 400, 200]
    assert answers[0].json["error"]["message"] == "busy"
    assert api("DELETE", "/simulator/scripts").status_code == 200
    assert api("GET", "/simulator/scripts").json["num_records"] == 0


@pytest.mark.parametrize(
    ("body", "target", "fragment"),
    [
        (
            {
                "method": "POST",
                "path": "/api/storage/volumes",
                "steps": [{"state": "running", "seconds": 1}],
            },
            "steps[0].state",
            "steps[0]",
        ),
        (
            {
                "method": "POST",
                "path": "/api/storage/volumes",
                "steps": [
                    {"state": "queued", "seconds": 1},
                    {"state": "running", "polls": 0},
                    {"state": "success"},
                ],
            },
            "steps[1].polls",
            "steps[1]",
        ),
        (
            {"method": "GET", "path": "/api/storage/volumes", "steps": [{"state": "success"}]},
            "method",
            "method",
        ),
        ({"method": "POST", "path": "api", "steps": [{"state": "success"}]}, "path", "path"),
        (
            {"method": "POST", "path": "/x", "steps": [{"state": "success"}], "times": 0},
            "times",
            "times",
        ),
        ({"path": "/x", "steps": [{"state": "success"}]}, "method", "required"),
    ],
)
def test_invalid_scripts_are_400_naming_the_bad_part(
    api: Api, body: Any, target: str, fragment: str
) -> None:
    response = api("POST", "/simulator/scripts", body)
    assert_error(response, 400, "2", target)
    assert fragment in response.json["error"]["message"]


def test_clock_endpoint(api: Api, sim: Simulator) -> None:
    assert api("GET", "/simulator/clock").json == {"mode": "virtual", "now": VIRTUAL_EPOCH}
    moved = api("POST", "/simulator/clock", {"advance": 2.5}).json
    assert moved == {"mode": "virtual", "now": VIRTUAL_EPOCH + 2.5}
    assert_error(api("POST", "/simulator/clock", {"advance": -1}), 400, "2", "advance")
    assert_error(api("POST", "/simulator/clock", {"advance": "1"}), 400, "2", "advance")
    real = Api(Simulator(clock="real"))
    assert real("GET", "/simulator/clock").json["mode"] == "real"
    assert abs(real("GET", "/simulator/clock").json["now"] - time.time()) < 5
    assert_error(real("POST", "/simulator/clock", {"advance": 1}), 409, "2")


def test_request_journal(api: Api, sim: Simulator) -> None:
    api.post_volume(query="?return_timeout=0")
    api("GET", "/api/cluster", headers={"X-Dot-Client-App": "tests/1.0"})
    journal = api("GET", "/simulator/requests").json
    assert journal["num_records"] == 2
    first, second = journal["records"]
    assert (first["method"], first["path"], first["query"], first["status"]) == (
        "POST",
        "/api/storage/volumes",
        {"return_timeout": "0"},
        202,
    )
    assert first["body"] == VOLUME and first["time"] == VIRTUAL_EPOCH and first["job"]
    assert second["client_app"] == "tests/1.0"
    assert "authorization" not in json.dumps(journal).lower()
    assert api("DELETE", "/simulator/requests").status_code == 200
    assert api("GET", "/simulator/requests").json["num_records"] == 0


def test_faults_endpoint(api: Api, sim: Simulator) -> None:
    created = api(
        "POST",
        "/simulator/faults",
        {"method": "GET", "path": "/api/cluster", "times": 1, "status": 503, "retry_after": 3},
    )
    assert created.status_code == 201
    assert api("GET", "/simulator/faults").json["num_records"] == 1
    response = api("GET", "/api/cluster")
    assert_error(response, 503, "262160")
    assert response.headers["Retry-After"] == "3"
    assert api("GET", "/api/cluster").status_code == 200  # times=1 spent
    api("POST", "/simulator/faults", {"path": "/api/*", "times": None, "status": 500})
    assert api("DELETE", "/simulator/faults").status_code == 200
    assert api("GET", "/api/cluster").status_code == 200
    assert_error(
        api("POST", "/simulator/faults", {"path": "/x", "status": 503, "drop": True}),
        400,
        "2",
        "kind",
    )
    assert_error(api("POST", "/simulator/faults", {"path": "/x"}), 400, "2", "kind")


def test_faults_never_touch_the_control_api(api: Api) -> None:
    api("POST", "/simulator/faults", {"path": "*", "times": None, "status": 500})
    assert api("GET", "/simulator/faults").status_code == 200
    assert api("DELETE", "/simulator/faults").status_code == 200


def test_delay_fault_advances_the_virtual_clock(api: Api, sim: Simulator) -> None:
    api("POST", "/simulator/faults", {"path": "/api/cluster", "delay": 12})
    started = time.monotonic()
    assert api("GET", "/api/cluster").status_code == 200
    assert time.monotonic() - started < 1
    assert sim.clock.now() == VIRTUAL_EPOCH + 12


def test_malformed_fault_truncates_the_body(api: Api) -> None:
    api("POST", "/simulator/faults", {"path": "/api/cluster", "malformed": True})
    response = api("GET", "/api/cluster")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.data)


def test_vanish_fault_purges_the_job_early(api: Api, sim: Simulator) -> None:
    api(
        "POST",
        "/simulator/faults",
        {"method": "POST", "path": "/api/storage/volumes", "vanish": True},
    )
    uuid = api.post_volume().json["job"]["uuid"]
    assert_error(api("GET", f"/api/cluster/jobs/{uuid}"), 404, "4")


def test_reset_clears_everything(api: Api, sim: Simulator) -> None:
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    api.post_volume(query="?return_timeout=5")
    sim.fault("GET", "/api/cluster", status=500)
    sim.advance(50)
    assert api("POST", "/simulator/reset").status_code == 200
    assert api("GET", "/api/cluster/jobs").json["num_records"] == 0
    assert api("GET", "/api/storage/volumes").json["num_records"] == 0
    assert api("GET", "/api/svm/svms", query_string={"name": "vs0"}).json["num_records"] == 1
    assert api("GET", "/simulator/scripts").json["num_records"] == 0
    assert api("GET", "/simulator/faults").json["num_records"] == 0
    assert sim.clock.now() == VIRTUAL_EPOCH
    assert [e["path"] for e in sim.journal] == [
        "/api/cluster/jobs",
        "/api/storage/volumes",
        "/api/svm/svms",
    ]


# -- scenario files ------------------------------------------------------------------------
def test_the_shipped_demo_scenario(tmp_path: Path) -> None:
    sim = Simulator(scenario=REPO / "scenarios" / "demo.json")
    api = Api(sim)
    assert sim.default_script.duration == pytest.approx(3.0)
    assert api.post_volume(query="?return_timeout=2").status_code == 202
    sim.advance(1)
    sim.reset()  # scenario scripts survive a reset
    assert len(sim.scripts()) == 1


def test_scenario_sets_default_script_scripts_inventory(tmp_path: Path) -> None:
    scenario = {
        "retention": 30,
        "default_script": [{"state": "running", "seconds": 5}, {"state": "success"}],
        "scripts": [
            {
                "method": "POST",
                "path": "/api/svm/svms",
                "times": None,
                "steps": [{"state": "failure", "message": "no", "code": 7}],
            }
        ],
        "inventory": {"svms": [{"name": "svm_a"}], "aggregates": [{"name": "aggr_x"}]},
        "endpoints": [{"method": "PATCH", "path": "/api/network/ip/interfaces/*"}],
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    sim = Simulator(scenario=str(path))
    api = Api(sim)
    assert sim.jobs.retention == 30
    body = {"name": "v", "svm": {"name": "svm_a"}, "aggregates": [{"name": "aggr_x"}]}
    assert api("POST", "/api/storage/volumes?return_timeout=5", body).status_code == 201
    assert sim.clock.now() == VIRTUAL_EPOCH + 5
    assert api("POST", "/api/svm/svms?return_timeout=5", {"name": "s2"}).status_code == 400
    assert api("PATCH", "/api/network/ip/interfaces/x", {"enabled": True}).status_code == 202


@pytest.mark.parametrize(
    ("scenario", "fragment"),
    [
        ({"colour": 1}, "unknown key"),
        ({"default_script": [{"state": "running", "seconds": 1}]}, "steps[0]"),
        ({"endpoints": [{"method": "GET", "path": "/x"}]}, "method"),
        ({"retention": -1}, "retention"),
        ({"scripts": [{"method": "POST", "path": "/x"}]}, "steps"),
    ],
)
def test_bad_scenarios_are_refused_clearly(scenario: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="scenario") as info:
        Simulator(scenario=scenario)
    assert fragment in str(info.value)


def test_unreadable_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        Simulator(scenario=tmp_path / "bad.json")
    with pytest.raises(ValueError, match="cannot read"):
        Simulator(scenario=tmp_path / "missing.json")


# -- real clock, real server ---------------------------------------------------------------
def test_real_clock_return_timeout_answers_within_50ms_of_the_job_end() -> None:
    sim = Simulator(clock="real")
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.5}, {"state": "success"}]
    )
    with serve(sim) as handle, requests.Session() as session:
        session.auth = ("admin", sim.password)
        session.get(handle.url + "/api/cluster", timeout=5)  # warm the connection
        started = time.monotonic()
        response = session.post(
            handle.url + "/api/storage/volumes?return_timeout=10", json=VOLUME, timeout=15
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert 0.5 <= elapsed < 0.55


def test_64_waiting_writes_do_not_delay_other_requests() -> None:
    sim = Simulator(clock="real")
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 60}, {"state": "success"}],
        times=None,
    )
    statuses: list[int] = []
    lock = threading.Lock()
    with serve(sim) as handle:

        def write(i: int) -> None:
            response = requests.post(
                handle.url + "/api/storage/volumes?return_timeout=2",
                json={**VOLUME, "name": f"w{i}"},
                auth=("admin", sim.password),
                timeout=10,
            )
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(64)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while len(sim.jobs) < 64 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sim.jobs) == 64
        started = time.monotonic()
        for path in ("/api/cluster", "/api/cluster/jobs", "/simulator/clock"):
            assert (
                requests.get(handle.url + path, auth=("admin", sim.password), timeout=5).status_code
                == 200
            )
        assert time.monotonic() - started < 0.5
        for thread in threads:
            thread.join(timeout=10)
    assert statuses == [202] * 64


def test_one_server_header_over_http() -> None:
    with serve(Simulator()) as handle:
        response = requests.get(handle.url + "/api/cluster", auth=("admin", "netapp1!"), timeout=5)
        raw = response.raw.headers.getlist("Server")
    assert raw == ["libzapid-httpd"]


@pytest.mark.parametrize("seconds", [10**30, 1e300, 253_402_300_799.0])
def test_python_advance_refuses_to_pass_year_9999(seconds: float) -> None:
    from simulator import ApiError

    sim = Simulator()
    with pytest.raises(ApiError, match=r"9999|advance"):
        sim.advance(seconds)
    assert sim.clock.now() == VIRTUAL_EPOCH
