"""A POST the declaration lets a client complete: every required field can be sent, and every
key a POST cannot send is assigned by the server (simulator/model/deep/assigned.py, fpolicy.py).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulator import Simulator
from simulator.model.behaviour import BEHAVIOURS
from simulator.model.spec import ResourceSpec, load_spec
from simulator.model.store import assigns_key

HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
SPEC = load_spec()
SCENARIO = {
    "inventory": {
        "svms": [{"name": "vs0"}, {"name": "vs1"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [{"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}],
    }
}
#: Keys a POST cannot send that a deep model assigns (each shown by a test below).
ASSIGNED_BY_MODELS = {
    ("LocalCifsUser", "sid"),
    ("LocalCifsGroup", "sid"),
    ("SnaplockRetentionPolicy", "policy.name"),
    ("AutosupportMessage", "destination"),
}


def _postable(resource: ResourceSpec, name: str) -> bool:
    return any(
        spec.post and (field == name or field.startswith(name + "."))
        for field, spec in resource.fields.items()
    )


def _posts() -> list[tuple[ResourceSpec, str]]:
    found = []
    for op in SPEC.operations:
        if op.method == "POST" and op.resource is not None:
            resource = SPEC.resources[op.resource]
            if not resource.singleton:
                found.append((resource, op.path))
    return found


def test_every_required_post_field_can_be_sent() -> None:
    # A field both required and refused (LocalCifsUser's sid was) makes a POST impossible.
    wrong = []
    for resource, path in _posts():
        behaviour = BEHAVIOURS.get(resource.name)
        groups = resource.required_post
        if behaviour is not None and behaviour.required_post is not None:
            groups = behaviour.required_post
        given = set(re.findall(r"\{([^}]+)\}", path))
        for group in groups:
            if not any(name in given or _postable(resource, name) for name in group):
                wrong.append((resource.name, group))
    assert wrong == []


def test_every_key_a_post_cannot_send_is_assigned() -> None:
    wrong = []
    for resource, path in _posts():
        own = resource.keys[len(re.findall(r"\{[^}]+\}", path)) :]
        for name in own:
            if _postable(resource, name) or assigns_key(resource, name):
                continue
            if (resource.name, name) not in ASSIGNED_BY_MODELS:
                wrong.append((resource.name, name))
    assert wrong == []


@pytest.fixture
def api() -> FlaskClient:
    return Simulator(clock="virtual", scenario=SCENARIO).app.test_client()


def call(api: FlaskClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = api.open(path, method=method, headers=HEADERS, json=body)
    return response.status_code, response.json


def _svm(api: FlaskClient, name: str) -> str:
    uuid: str = call(api, "GET", f"/api/svm/svms?name={name}")[1]["records"][0]["uuid"]
    return uuid


def test_cifs_local_users_and_groups_get_sids_of_their_svm(api: FlaskClient) -> None:
    user = {"svm": {"name": "vs0"}, "name": "u1", "password": "Netapp1!x"}
    assert call(api, "POST", "/api/protocols/cifs/local-users", user)[0] == 201
    group = {"svm": {"name": "vs0"}, "name": "g1"}
    assert call(api, "POST", "/api/protocols/cifs/local-groups", group)[0] == 201
    other = {"svm": {"name": "vs1"}, "name": "u1", "password": "Netapp1!x"}
    assert call(api, "POST", "/api/protocols/cifs/local-users", other)[0] == 201
    users = call(api, "GET", "/api/protocols/cifs/local-users?fields=sid,svm.name")[1]["records"]
    sids = {u["svm"]["name"]: u["sid"] for u in users}
    groups = call(api, "GET", "/api/protocols/cifs/local-groups?fields=sid")[1]["records"]
    assert re.fullmatch(r"S-1-5-21-\d+-\d+-\d+-1000", sids["vs0"])
    assert groups[0]["sid"] == sids["vs0"][: -len("1000")] + "1001"
    assert sids["vs1"].endswith("-1000") and sids["vs1"] != sids["vs0"]
    vs0 = _svm(api, "vs0")
    assert call(api, "GET", f"/api/protocols/cifs/local-users/{vs0}/{sids['vs0']}")[0] == 200


def test_fpolicy_objects_can_be_created_in_any_svm(api: FlaskClient) -> None:
    vs1 = _svm(api, "vs1")
    engine = {"name": "e1", "port": 9000, "primary_servers": ["10.0.0.1"]}
    assert call(api, "POST", f"/api/protocols/fpolicy/{vs1}/engines", engine)[0] == 201
    event = {"name": "ev1", "protocol": "cifs", "file_operations": {"write": True}}
    assert call(api, "POST", f"/api/protocols/fpolicy/{vs1}/events", event)[0] == 201
    # Every SVM has a configuration: the view of its FPolicy objects.
    configs = call(api, "GET", "/api/protocols/fpolicy?fields=*")[1]["records"]
    assert sorted(c["svm"]["name"] for c in configs) == ["vs0", "vs1"]
    config = call(api, "GET", f"/api/protocols/fpolicy/{vs1}?fields=*")[1]
    assert [e["name"] for e in config["engines"]] == ["e1"]
    assert [e["name"] for e in config["events"]] == ["ev1"]
    # A configuration's POST creates its objects; its DELETE removes them.
    more = {"svm": {"name": "vs1"}, "events": [{"name": "ev2", "protocol": "nfsv3"}]}
    assert call(api, "POST", "/api/protocols/fpolicy", more)[0] == 201
    assert call(api, "POST", "/api/protocols/fpolicy", more)[1]["error"]["code"] == "9765032"
    events = call(api, "GET", f"/api/protocols/fpolicy/{vs1}/events")[1]["records"]
    assert sorted(e["name"] for e in events) == ["ev1", "ev2"]
    assert call(api, "DELETE", f"/api/protocols/fpolicy/{vs1}")[0] == 200
    assert call(api, "GET", f"/api/protocols/fpolicy/{vs1}/engines")[1]["num_records"] == 0
    assert "engines" not in call(api, "GET", f"/api/protocols/fpolicy/{vs1}?fields=*")[1]


def test_fpolicy_policy_rules(api: FlaskClient) -> None:
    vs0 = _svm(api, "vs0")
    path = f"/api/protocols/fpolicy/{vs0}"
    engine = {"name": "e1", "port": 9000, "primary_servers": ["10.0.0.1"]}
    assert call(api, "POST", f"{path}/engines", engine)[0] == 201
    assert call(api, "POST", f"{path}/events", {"name": "ev1", "protocol": "cifs"})[0] == 201
    policy: dict[str, Any] = {"name": "p1", "events": [{"name": "ev1"}], "priority": 1}
    assert call(api, "POST", f"{path}/policies", policy)[1]["error"]["code"] == "9764898"
    policy["scope"] = {"include_volumes": ["v1"]}
    wrong_event = {**policy, "events": [{"name": "nope"}]}
    assert call(api, "POST", f"{path}/policies", wrong_event)[1]["error"]["code"] == "9764875"
    wrong_engine = {**policy, "engine": {"name": "nope"}}
    assert call(api, "POST", f"{path}/policies", wrong_engine)[1]["error"]["code"] == "9764888"
    assert call(api, "POST", f"{path}/policies", policy)[0] == 201
    shown = call(api, "GET", f"{path}/policies/p1?fields=*")[1]
    assert (shown["enabled"], shown["mandatory"], shown["engine"]) == (
        True,
        True,
        {"name": "native"},
    )
    named = {**policy, "name": "p2", "engine": {"name": "e1"}, "priority": 2}
    assert call(api, "POST", f"{path}/policies", named)[0] == 201


def test_other_assigned_keys(api: FlaskClient) -> None:
    litigation = {"volume": {"name": "v1"}, "name": "lit1", "path": "/"}
    assert call(api, "POST", "/api/storage/snaplock/litigations", litigation)[0] == 201
    found = call(api, "GET", "/api/storage/snaplock/litigations")[1]["records"]
    assert call(api, "GET", f"/api/storage/snaplock/litigations/{found[0]['id']}")[0] == 200
    retention = {"name": "p1", "retention_period": "P10Y"}
    assert call(api, "POST", "/api/storage/snaplock/event-retention/policies", retention)[0] == 201
    shown = call(api, "GET", "/api/storage/snaplock/event-retention/policies/p1")[1]
    assert shown["retention_period"] == "P10Y" and "policy" not in shown
    message = {"message": "test_msg", "type": "test"}
    assert call(api, "POST", "/api/support/autosupport/messages", message)[0] == 201
    sent = call(api, "GET", "/api/support/autosupport/messages?fields=*")[1]["records"]
    assert {(m["destination"], m["state"]) for m in sent} == {
        ("smtp", "ignore"),
        ("http", "sent_successful"),
        ("noteto", "ignore"),
    }
    assert {m["subject"] for m in sent} == {"USER_TRIGGERED (TEST:test_msg)"}
    # A license key names its package, which the simulator cannot decode: refused, not faked.
    keys = {"keys": ["AAAAAAAAAAAAAAAAAAAAAAAAAAAA"]}
    status, answer = call(api, "POST", "/api/cluster/licensing/licenses", keys)
    assert (status, answer["error"]["code"]) == (400, "1115159")
