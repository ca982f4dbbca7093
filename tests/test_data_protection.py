"""Data protection's rules and refusals over HTTP (simulator/model/deep/dp.py, issue 13).

SnapMirror relationships and their transfers, SnapMirror and snapshot policies, consistency
groups: each rule and each refusal with ONTAP's code, on a virtual clock so that scripted
transfers take exactly the time their script says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from scenario_client import call, simulator_for

from simulator import Simulator
from simulator.clock import VirtualClock

AGGR = [{"name": "aggr1"}]
SCENARIO = {
    "inventory": {
        "svms": [{"name": "vs0"}, {"name": "vs1"}],
        "aggregates": AGGR,
        "volumes": [
            {"name": "src", "svm": {"name": "vs0"}, "aggregates": AGGR},
            {"name": "dst", "svm": {"name": "vs1"}, "aggregates": AGGR, "type": "dp"},
            {"name": "dst2", "svm": {"name": "vs1"}, "aggregates": AGGR, "type": "dp"},
            {"name": "rw", "svm": {"name": "vs1"}, "aggregates": AGGR},
            {"name": "other", "svm": {"name": "vs0"}, "aggregates": AGGR},
        ],
    }
}
RELATIONSHIPS = "/api/snapmirror/relationships"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    yield from simulator_for(monkeypatch, SCENARIO)


@pytest.fixture
def api(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def refused(api: FlaskClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = call(api, method, path, body)
    assert "error" in answer, answer
    return status, str(answer["error"]["code"])


def relate(api: FlaskClient, source: str = "vs0:src", destination: str = "vs1:dst") -> str:
    body = {"source": {"path": source}, "destination": {"path": destination}}
    status, answer = call(api, "POST", f"{RELATIONSHIPS}?return_timeout=5", body)
    assert status == 201, answer
    found = call(api, "GET", f"{RELATIONSHIPS}?destination.path={destination}")[1]
    uuid: str = found["records"][0]["uuid"]
    return uuid


def relationship(api: FlaskClient, uuid: str) -> dict[str, Any]:
    status, record = call(api, "GET", f"{RELATIONSHIPS}/{uuid}?fields=*")
    assert status == 200, record
    return dict(record)


def patch_state(api: FlaskClient, uuid: str, state: str, **extra: Any) -> tuple[int, Any]:
    return call(api, "PATCH", f"{RELATIONSHIPS}/{uuid}?return_timeout=5", {"state": state, **extra})


def volume_uuid(sim: Simulator, name: str) -> str:
    return next(v["uuid"] for v in sim.inventory.volumes() if v["name"] == name)


# -- relationships: creation ---------------------------------------------------------------
def test_a_relationship_starts_uninitialized_with_the_default_policy(api: FlaskClient) -> None:
    record = relationship(api, relate(api))
    assert record["state"] == "uninitialized" and record["healthy"] is True
    assert record["policy"]["name"] == "Asynchronous" and record["policy"]["type"] == "async"
    assert record["source"]["svm"]["name"] == "vs0"
    assert record["destination"]["svm"]["name"] == "vs1"
    assert "transfer" not in record


@pytest.mark.parametrize(
    ("source", "destination", "status", "code", "target"),
    [
        ("vs0src", "vs1:dst", 400, "13303852", "source.path"),
        ("vs0:src", "vs1-dst", 400, "13303852", "destination.path"),
        ("nosvm:src", "vs1:dst", 400, "2", "source.path"),
        ("vs0:nope", "vs1:dst", 400, "2", "source.path"),
        ("vs1:dst", "vs1:dst", 400, "6619441", "destination.path"),
        ("vs0:src", "vs1:rw", 400, "6619546", "destination.path"),
        ("vs0:", "vs1:", 400, "13303841", "source.path"),
    ],
)
def test_a_relationship_needs_two_volumes_and_a_dp_destination(
    api: FlaskClient, source: str, destination: str, status: int, code: str, target: str
) -> None:
    body = {"source": {"path": source}, "destination": {"path": destination}}
    answer_status, answer = call(api, "POST", RELATIONSHIPS, body)
    assert (answer_status, answer["error"]["code"], answer["error"]["target"]) == (
        status,
        code,
        target,
    )
    assert call(api, "GET", "/api/cluster/jobs")[1]["num_records"] == 0


def test_one_relationship_per_destination(api: FlaskClient) -> None:
    relate(api)
    body = {"source": {"path": "vs0:other"}, "destination": {"path": "vs1:dst"}}
    assert refused(api, "POST", RELATIONSHIPS, body) == (409, "6619637")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"state": "snapmirrored"}, "13303873"),
        ({"create_destination": {"enabled": True}}, "13303868"),
        ({"restore": True}, "13303841"),
    ],
)
def test_what_a_relationship_post_refuses(
    api: FlaskClient, extra: dict[str, Any], code: str
) -> None:
    body = {"source": {"path": "vs0:src"}, "destination": {"path": "vs1:dst"}, **extra}
    assert refused(api, "POST", RELATIONSHIPS, body) == (400, code)


def test_a_named_policy_and_its_type(api: FlaskClient) -> None:
    body = {
        "source": {"path": "vs0:src"},
        "destination": {"path": "vs1:dst"},
        "policy": {"name": "MirrorAllSnapshots"},
        "transfer_schedule": {"name": "hourly"},
    }
    assert call(api, "POST", f"{RELATIONSHIPS}?return_timeout=5", body)[0] == 201
    record = call(api, "GET", f"{RELATIONSHIPS}?fields=policy,transfer_schedule")[1]["records"][0]
    assert record["policy"]["name"] == "MirrorAllSnapshots" and record["policy"]["type"] == "async"
    assert record["transfer_schedule"]["name"] == "hourly"
    unknown = {**body, "policy": {"name": "NoSuchPolicy"}, "destination": {"path": "vs1:dst2"}}
    status, answer = call(api, "POST", RELATIONSHIPS, unknown)
    assert (status, answer["error"]["target"]) == (400, "policy.name")


# -- relationships: the state machine ------------------------------------------------------
def test_initialize_is_a_job_whose_script_sets_how_long_the_transfer_takes(
    sim: Simulator, api: FlaskClient
) -> None:
    uuid = relate(api)
    sim.script(
        "PATCH", f"{RELATIONSHIPS}/*", [{"state": "running", "seconds": 30}, {"state": "success"}]
    )
    status, answer = call(api, "PATCH", f"{RELATIONSHIPS}/{uuid}", {"state": "snapmirrored"})
    assert status == 202, answer
    sim.advance(29)
    assert relationship(api, uuid)["state"] == "uninitialized"
    sim.advance(1)
    record = relationship(api, uuid)
    assert record["state"] == "snapmirrored" and record["last_transfer_type"] == "initialize"
    assert record["transfer"]["state"] == "success" and record["transfer"]["type"] == "initialize"
    assert record["lag_time"] == "PT0S"
    sim.advance(3725)
    assert relationship(api, uuid)["lag_time"] == "PT1H2M5S"
    transfers = call(api, "GET", f"{RELATIONSHIPS}/{uuid}/transfers?fields=state,end_time")[1]
    assert [t["state"] for t in transfers["records"]] == ["success"]


def test_an_initialize_that_fails_leaves_the_relationship_uninitialized(
    sim: Simulator, api: FlaskClient
) -> None:
    uuid = relate(api)
    sim.script(
        "PATCH",
        f"{RELATIONSHIPS}/*",
        [
            {"state": "running", "seconds": 5},
            {"state": "failure", "message": "no", "code": 13303812},
        ],
    )
    assert patch_state(api, uuid, "snapmirrored")[0] == 400
    assert relationship(api, uuid)["state"] == "uninitialized"


def test_quiesce_resume_break_and_resync(api: FlaskClient) -> None:
    uuid = relate(api)
    assert patch_state(api, uuid, "snapmirrored")[0] == 200
    assert patch_state(api, uuid, "paused")[0] == 200
    assert relationship(api, uuid)["state"] == "paused"
    assert patch_state(api, uuid, "snapmirrored")[0] == 200
    assert relationship(api, uuid)["state"] == "snapmirrored"
    assert patch_state(api, uuid, "broken_off")[0] == 200
    assert relationship(api, uuid)["state"] == "broken_off"
    assert patch_state(api, uuid, "snapmirrored", quick_resync=True)[0] == 200
    record = relationship(api, uuid)
    assert record["state"] == "snapmirrored" and record["last_transfer_type"] == "resync"
    assert "quick_resync" not in record


@pytest.mark.parametrize(
    ("steps", "state", "extra", "code"),
    [
        ((), "broken_off", {}, "13303818"),
        ((), "paused", {}, "13303818"),
        ((), "uninitialized", {}, "13303818"),
        ((), "in_sync", {}, "13303831"),
        (("snapmirrored",), "snapmirrored", {}, "13303832"),
        (("snapmirrored", "broken_off"), "broken_off", {}, "13303818"),
        (("snapmirrored", "broken_off"), "paused", {}, "13303818"),
        (("snapmirrored",), "broken_off", {"quick_resync": True}, "13303836"),
        (("snapmirrored",), "paused", {"recover_after_break": True}, "13303835"),
    ],
)
def test_refused_state_changes(
    api: FlaskClient, steps: tuple[str, ...], state: str, extra: dict[str, Any], code: str
) -> None:
    uuid = relate(api)
    for step in steps:
        assert patch_state(api, uuid, step)[0] == 200
    status, answer = patch_state(api, uuid, state, **extra)
    assert (status, answer["error"]["code"]) == (400, code)


def test_a_flag_without_a_state_change_is_refused(api: FlaskClient) -> None:
    uuid = relate(api)
    body = {"quick_resync": True}
    assert refused(api, "PATCH", f"{RELATIONSHIPS}/{uuid}", body) == (400, "13303837")


def test_the_paths_of_a_relationship_do_not_change(api: FlaskClient) -> None:
    uuid = relate(api)
    body = {"destination": {"path": "vs1:dst2"}}
    assert refused(api, "PATCH", f"{RELATIONSHIPS}/{uuid}", body) == (400, "13304120")
    same = {"destination": {"path": "vs1:dst"}, "policy": {"name": "MirrorLatest"}}
    assert call(api, "PATCH", f"{RELATIONSHIPS}/{uuid}?return_timeout=5", same)[0] == 200
    assert relationship(api, uuid)["policy"]["name"] == "MirrorLatest"
    sync = {"policy": {"name": "Sync"}}
    assert refused(api, "PATCH", f"{RELATIONSHIPS}/{uuid}", sync) == (400, "13303866")


# -- transfers -------------------------------------------------------------------------------
def test_a_transfer_answers_at_once_and_runs_as_a_scripted_job(
    sim: Simulator, api: FlaskClient
) -> None:
    uuid = relate(api)
    assert patch_state(api, uuid, "snapmirrored")[0] == 200
    transfers = f"{RELATIONSHIPS}/{uuid}/transfers"
    sim.script(
        "POST",
        f"{RELATIONSHIPS}/*/transfers",
        [
            {"state": "queued", "seconds": 2},
            {"state": "running", "seconds": 60},
            {"state": "success"},
        ],
    )
    status, _ = call(api, "POST", transfers, {})
    assert status == 201
    assert relationship(api, uuid)["transfer"]["state"] == "queued"
    sim.advance(2)
    record = relationship(api, uuid)
    assert record["transfer"]["state"] == "transferring" and record["transfer"]["type"] == "update"
    live = call(api, "GET", f"{transfers}?state=transferring")[1]
    assert live["num_records"] == 1
    sim.advance(60)
    record = relationship(api, uuid)
    assert record["transfer"]["state"] == "success" and record["last_transfer_type"] == "update"
    assert call(api, "GET", f"{transfers}?state=success")[1]["num_records"] == 2


def test_a_transfer_of_an_uninitialized_relationship_initializes_it(
    sim: Simulator, api: FlaskClient
) -> None:
    uuid = relate(api)
    assert call(api, "POST", f"{RELATIONSHIPS}/{uuid}/transfers", {})[0] == 201
    assert relationship(api, uuid)["state"] == "uninitialized"
    sim.advance(5)
    record = relationship(api, uuid)
    assert record["state"] == "snapmirrored" and record["last_transfer_type"] == "initialize"


def test_a_failed_transfer_makes_the_relationship_unhealthy(
    sim: Simulator, api: FlaskClient
) -> None:
    uuid = relate(api)
    sim.script(
        "POST",
        f"{RELATIONSHIPS}/*/transfers",
        [
            {"state": "running", "seconds": 10},
            {"state": "failure", "message": "lost", "code": 13303812},
        ],
    )
    call(api, "POST", f"{RELATIONSHIPS}/{uuid}/transfers", {})
    sim.advance(10)
    record = relationship(api, uuid)
    assert record["transfer"]["state"] == "failed" and record["healthy"] is False
    assert record["unhealthy_reason"] == [{"code": "13303812", "message": "lost"}]
    assert record["state"] == "uninitialized"
    transfer = call(api, "GET", f"{RELATIONSHIPS}/{uuid}/transfers?fields=state,error_info")[1]
    assert transfer["records"][0]["error_info"] == {"code": 13303812, "message": "lost"}


def test_an_aborted_transfer_changes_nothing(sim: Simulator, api: FlaskClient) -> None:
    uuid = relate(api)
    transfers = f"{RELATIONSHIPS}/{uuid}/transfers"
    sim.script(
        "POST",
        f"{RELATIONSHIPS}/*/transfers",
        [{"state": "running", "seconds": 60}, {"state": "success"}],
    )
    call(api, "POST", transfers, {})
    transfer_uuid = call(api, "GET", transfers)[1]["records"][0]["uuid"]
    status, answer = call(api, "PATCH", f"{transfers}/{transfer_uuid}", {"state": "aborted"})
    assert status == 200, answer
    sim.advance(60)
    assert call(api, "GET", f"{transfers}/{transfer_uuid}")[1]["state"] == "aborted"
    assert relationship(api, uuid)["state"] == "uninitialized"
    again = {"state": "aborted"}
    assert refused(api, "PATCH", f"{transfers}/{transfer_uuid}", again) == (400, "13303849")


def test_what_a_running_transfer_refuses(sim: Simulator, api: FlaskClient) -> None:
    uuid = relate(api)
    assert patch_state(api, uuid, "snapmirrored")[0] == 200
    sim.script(
        "POST",
        f"{RELATIONSHIPS}/*/transfers",
        [{"state": "running", "seconds": 60}, {"state": "success"}],
    )
    call(api, "POST", f"{RELATIONSHIPS}/{uuid}/transfers", {})
    assert refused(api, "POST", f"{RELATIONSHIPS}/{uuid}/transfers", {}) == (400, "13303844")
    assert refused(api, "PATCH", f"{RELATIONSHIPS}/{uuid}", {"state": "broken_off"}) == (
        409,
        "13303830",
    )
    assert refused(api, "DELETE", f"{RELATIONSHIPS}/{uuid}") == (409, "6619715")
    sim.advance(60)
    assert patch_state(api, uuid, "broken_off")[0] == 200
    assert refused(api, "POST", f"{RELATIONSHIPS}/{uuid}/transfers", {}) == (400, "13303844")


# -- what a relationship holds -------------------------------------------------------------
@pytest.mark.parametrize("name", ["src", "dst"])
def test_an_endpoint_volume_refuses_deletion_until_the_relationship_goes(
    sim: Simulator, api: FlaskClient, name: str
) -> None:
    uuid = relate(api)
    path = f"/api/storage/volumes/{volume_uuid(sim, name)}?return_timeout=5"
    status, answer = call(api, "DELETE", path)
    assert (status, answer["error"]["code"]) == (400, "18436")
    assert "vs0:src" in answer["error"]["message"]
    assert call(api, "DELETE", f"{RELATIONSHIPS}/{uuid}?return_timeout=5")[0] == 200
    assert call(api, "DELETE", path)[0] == 200


def test_deleting_a_relationship_deletes_its_transfers(sim: Simulator, api: FlaskClient) -> None:
    uuid = relate(api)
    assert patch_state(api, uuid, "snapmirrored")[0] == 200
    assert call(api, "DELETE", f"{RELATIONSHIPS}/{uuid}?return_timeout=5")[0] == 200
    assert sim.store.tables.get("SnapmirrorTransfer") == {}


# -- SnapMirror policies ---------------------------------------------------------------------
def test_builtin_snapmirror_policies_exist_and_stay(api: FlaskClient) -> None:
    names = call(api, "GET", "/api/snapmirror/policies?fields=type")[1]["records"]
    types = {p["name"]: p["type"] for p in names}
    assert types["Asynchronous"] == "async" and types["Sync"] == "sync"
    uuid = next(p["uuid"] for p in names if p["name"] == "MirrorAllSnapshots")
    assert refused(api, "DELETE", f"/api/snapmirror/policies/{uuid}") == (400, "13303865")


def test_a_policy_in_use_stays(api: FlaskClient) -> None:
    body = {"name": "mine", "svm": {"name": "vs1"}}
    assert call(api, "POST", "/api/snapmirror/policies?return_timeout=5", body)[0] == 201
    mine = call(api, "GET", "/api/snapmirror/policies?name=mine&fields=type,scope")[1]["records"][0]
    assert mine["type"] == "async" and mine["scope"] == "svm"
    relation = {
        "source": {"path": "vs0:src"},
        "destination": {"path": "vs1:dst"},
        "policy": {"name": "mine"},
    }
    assert call(api, "POST", f"{RELATIONSHIPS}?return_timeout=5", relation)[0] == 201
    delete = f"/api/snapmirror/policies/{mine['uuid']}?return_timeout=5"
    assert refused(api, "DELETE", delete) == (400, "13303865")


# -- snapshot policies -----------------------------------------------------------------------
POLICIES = "/api/storage/snapshot-policies"


def test_builtin_snapshot_policies_and_schedules(api: FlaskClient) -> None:
    records = call(api, "GET", f"{POLICIES}?fields=copies,enabled,scope")[1]["records"]
    default = next(p for p in records if p["name"] == "default")
    assert [(c["schedule"]["name"], c["count"]) for c in default["copies"]] == [
        ("hourly", 6),
        ("daily", 2),
        ("weekly", 2),
    ]
    assert {p["name"] for p in records} == {"default", "default-1weekly", "none"}
    schedules = call(api, "GET", "/api/cluster/schedules?fields=cron")[1]["records"]
    assert {"5min", "8hour", "daily", "hourly", "weekly"} <= {s["name"] for s in schedules}
    entries = call(api, "GET", f"{POLICIES}/{default['uuid']}/schedules?fields=count")[1]
    assert sorted(e["count"] for e in entries["records"]) == [2, 2, 6]


def test_a_snapshot_policy_and_its_schedules_stay_one(api: FlaskClient) -> None:
    body = {
        "name": "keep3",
        "svm": {"name": "vs0"},
        "copies": [{"schedule": {"name": "daily"}, "count": 3}],
    }
    assert call(api, "POST", POLICIES, body)[0] == 201
    policy = call(api, "GET", f"{POLICIES}?name=keep3&fields=*")[1]["records"][0]
    assert policy["enabled"] is True and policy["scope"] == "svm"
    assert policy["copies"][0]["prefix"] == "daily"
    schedules = f"{POLICIES}/{policy['uuid']}/schedules"
    added = {"schedule": {"name": "hourly"}, "count": 4}
    assert call(api, "POST", schedules, added)[0] == 201
    copies = call(api, "GET", f"{POLICIES}/{policy['uuid']}?fields=copies")[1]["copies"]
    assert [(c["schedule"]["name"], c["count"]) for c in copies] == [("daily", 3), ("hourly", 4)]
    assert refused(api, "POST", schedules, added) == (409, "1638506")
    hourly = call(api, "GET", f"{schedules}?schedule.name=hourly")[1]["records"][0]
    assert call(api, "DELETE", f"{schedules}/{hourly['schedule']['uuid']}")[0] == 200
    copies = call(api, "GET", f"{POLICIES}/{policy['uuid']}?fields=copies")[1]["copies"]
    assert [c["schedule"]["name"] for c in copies] == ["daily"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"name": "bad name", "copies": [{"schedule": {"name": "daily"}, "count": 1}]},
            400,
            "1638417",
        ),
        (
            {"name": "default", "copies": [{"schedule": {"name": "daily"}, "count": 1}]},
            409,
            "1638527",
        ),
        (
            {"name": "big", "copies": [{"schedule": {"name": "daily"}, "count": 1024}]},
            400,
            "1638451",
        ),
        (
            {
                "name": "twice",
                "copies": [
                    {"schedule": {"name": "daily"}, "count": 1, "prefix": "p"},
                    {"schedule": {"name": "hourly"}, "count": 1, "prefix": "p"},
                ],
            },
            400,
            "1638508",
        ),
    ],
)
def test_what_a_snapshot_policy_post_refuses(
    api: FlaskClient, body: dict[str, Any], status: int, code: str
) -> None:
    assert refused(api, "POST", POLICIES, body) == (status, code)


def test_a_snapshot_policy_in_use_or_built_in_stays(sim: Simulator, api: FlaskClient) -> None:
    default = call(api, "GET", f"{POLICIES}?name=default")[1]["records"][0]["uuid"]
    assert refused(api, "DELETE", f"{POLICIES}/{default}") == (400, "1638431")
    body = {"name": "p1", "copies": [{"schedule": {"name": "daily"}, "count": 1}]}
    assert call(api, "POST", POLICIES, body)[0] == 201
    p1 = call(api, "GET", f"{POLICIES}?name=p1")[1]["records"][0]["uuid"]
    change = {"snapshot_policy": {"name": "p1"}}
    path = f"/api/storage/volumes/{volume_uuid(sim, 'other')}?return_timeout=5"
    assert call(api, "PATCH", path, change)[0] == 200
    assert refused(api, "DELETE", f"{POLICIES}/{p1}") == (400, "1638415")
    assert call(api, "PATCH", path, {"snapshot_policy": {"name": "none"}})[0] == 200
    assert call(api, "DELETE", f"{POLICIES}/{p1}")[0] == 200


def test_reset_brings_back_the_builtins_only(sim: Simulator, api: FlaskClient) -> None:
    relate(api)
    body = {"name": "p1", "copies": [{"schedule": {"name": "daily"}, "count": 1}]}
    assert call(api, "POST", POLICIES, body)[0] == 201
    sim.reset()
    names = {p["name"] for p in call(api, "GET", POLICIES)[1]["records"]}
    assert names == {"default", "default-1weekly", "none"}
    assert call(api, "GET", RELATIONSHIPS)[1]["num_records"] == 0


# -- consistency groups --------------------------------------------------------------------
GROUPS = "/api/application/consistency-groups"


def add(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "provisioning_options": {"action": "add"}} for n in names]


def test_a_consistency_group_of_existing_volumes(api: FlaskClient) -> None:
    body = {"name": "cg1", "svm": {"name": "vs0"}, "volumes": add("src")}
    assert call(api, "POST", f"{GROUPS}?return_timeout=5", body)[0] == 201
    group = call(api, "GET", f"{GROUPS}?name=cg1&fields=volumes,space,svm")[1]["records"][0]
    assert [v["name"] for v in group["volumes"]] == ["src"]
    assert group["space"]["size"] == 20 * 1024 * 1024
    path = f"{GROUPS}/{group['uuid']}?return_timeout=5"
    assert call(api, "PATCH", path, {"volumes": add("other")})[0] == 200
    names = [v["name"] for v in call(api, "GET", path.split("?")[0])[1]["volumes"]]
    assert names == ["src", "other"]
    remove = [{"name": "src", "provisioning_options": {"action": "remove"}}]
    assert call(api, "PATCH", path, {"volumes": remove})[0] == 200
    assert [v["name"] for v in call(api, "GET", path.split("?")[0])[1]["volumes"]] == ["other"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "cg", "volumes": add("src")}, 400, "2621707"),
        ({"svm": {"name": "vs0"}, "volumes": add("src")}, 400, "53411846"),
        ({"name": "9 bad", "svm": {"name": "vs0"}}, 400, "5376461"),
        ({"name": "cg", "svm": {"name": "vs0"}, "volumes": add("nope")}, 400, "53411861"),
        ({"name": "cg", "svm": {"name": "vs0"}, "volumes": add("dst")}, 400, "53411861"),
        ({"name": "cg", "svm": {"name": "vs0"}, "volumes": [{"name": "src"}]}, 400, "53411864"),
    ],
)
def test_what_a_consistency_group_post_refuses(
    api: FlaskClient, body: dict[str, Any], status: int, code: str
) -> None:
    assert refused(api, "POST", GROUPS, body) == (status, code)


def test_a_volume_belongs_to_one_consistency_group(api: FlaskClient) -> None:
    first = {"name": "cg1", "svm": {"name": "vs0"}, "volumes": add("src")}
    assert call(api, "POST", f"{GROUPS}?return_timeout=5", first)[0] == 201
    again = {"name": "cg1", "svm": {"name": "vs0"}}
    assert refused(api, "POST", GROUPS, again) == (409, "53411860")
    second = {"name": "cg2", "svm": {"name": "vs0"}, "volumes": add("src")}
    assert refused(api, "POST", GROUPS, second) == (400, "53411865")


def test_a_get_sees_a_job_that_ended_though_nobody_polled_it(
    sim: Simulator, api: FlaskClient
) -> None:
    body = {"source": {"path": "vs0:src"}, "destination": {"path": "vs1:dst"}}
    assert call(api, "POST", RELATIONSHIPS, body)[0] == 202
    assert isinstance(sim.clock, VirtualClock)
    sim.clock.advance(5)  # the clock alone: nothing has settled the job engine
    assert call(api, "GET", RELATIONSHIPS)[1]["num_records"] == 1


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (
            "/api/storage/snapshot-policies",
            {
                "svm": {"name": "vs0"},
                "name": "p",
                "copies": [{"count": 1, "schedule": {"name": "x"}}],
            },
            "1638413",
        ),
        (
            RELATIONSHIPS,
            {
                "source": {"path": "vs0:src"},
                "destination": {"path": "vs1:dst"},
                "policy": {"name": "x"},
            },
            "13303821",
        ),
        (
            RELATIONSHIPS,
            {
                "source": {"path": "vs0:src"},
                "destination": {"path": "vs1:dst"},
                "transfer_schedule": {"name": "x"},
            },
            "13304108",
        ),
        (
            "/api/snapmirror/policies",
            {"svm": {"name": "vs0"}, "name": "p", "transfer_schedule": {"name": "x"}},
            "6619699",
        ),
    ],
)
def test_an_unknown_policy_or_schedule_is_refused_with_ontaps_code(
    api: FlaskClient, path: str, body: dict[str, Any], code: str
) -> None:
    assert refused(api, "POST", f"{path}?return_timeout=5", body) == (400, code)
