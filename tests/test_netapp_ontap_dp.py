"""netapp-ontap, unchanged, over HTTP: ``CLI().execute(...)`` against the passthrough, and the
data protection models' refusals raised as ``NetAppRestError`` with ONTAP's codes (issue 13).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from netapp_host import connected, served
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (
    CLI,
    ConsistencyGroup,
    SnapmirrorRelationship,
    SnapshotPolicy,
    Volume,
)

from simulator import ServerHandle, Simulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

SVM = {"name": "vs0"}
AGGR = [{"name": "aggr1"}]
SCENARIO = {
    # Every job: running for 50 ms, then success (the library polls every 20 ms).
    "default_script": [{"state": "running", "seconds": 0.05}, {"state": "success"}],
    "inventory": {
        "svms": [SVM],
        "aggregates": AGGR,
        "volumes": [
            {"name": "vol1", "svm": SVM, "aggregates": AGGR},
            {"name": "vol1_dst", "svm": SVM, "aggregates": AGGR, "type": "dp"},
            {"name": "rw1", "svm": SVM, "aggregates": AGGR},
        ],
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, ServerHandle]]:
    with served(SCENARIO) as running:
        yield running


@pytest.fixture
def sim(server: tuple[Simulator, ServerHandle]) -> Iterator[Simulator]:
    with connected(server) as sim:
        yield sim


def code_of(error: NetAppRestError) -> str:
    response = error.http_err_response
    assert response is not None, error
    code: str = response.http_response.json()["error"]["code"]
    return code


def body(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = response.http_response.json()
    return found


# -- CLI().execute ---------------------------------------------------------------------------------
@pytest.mark.usefixtures("sim")
def test_cli_execute_show_create_modify_delete() -> None:
    shown = body(CLI().execute("volume show", vserver="vs0", fields="size,type"))
    assert shown["num_records"] == 3
    assert {"vserver": "vs0", "volume": "rw1", "size": 20 * 1024 * 1024, "type": "RW"} in shown[
        "records"
    ]
    created = CLI().execute(
        "volume create",
        body={"vserver": "vs0", "volume": "cli1", "aggregate": "aggr1", "size": "40m"},
    )
    assert body(created)["state"] == "success"  # the library polled the job to its end
    volume = Volume.find(name="cli1", fields="size")
    assert volume is not None and volume.size == 40 * 1024 * 1024
    modified = CLI().execute(
        "volume modify", body={"comment": "by CLI"}, vserver="vs0", volume="cli1"
    )
    assert body(modified) == {"num_records": 1}
    volume.get(fields="comment")
    assert volume.comment == "by CLI"
    CLI().execute("volume delete", vserver="vs0", volume="cli1")
    assert Volume.find(name="cli1") is None


@pytest.mark.usefixtures("sim")
def test_cli_execute_an_action_with_a_query_is_a_patch() -> None:
    # execute() turns a POST with query arguments into a PATCH, as ONTAP accepts it.
    CLI().execute("vserver remove-protocols", body={"protocols": ["cifs"]}, vserver="vs0")
    shown = body(CLI().execute("vserver show", vserver="vs0", fields="disallowed_protocols"))
    assert shown["records"][0]["disallowed_protocols"] == ["cifs"]


@pytest.mark.usefixtures("sim")
@pytest.mark.parametrize(
    ("command", "arguments", "status", "code"),
    [
        ("volume show", {"fields": "*"}, 400, "262220"),
        ("volume show", {"colour": "red"}, 404, "262179"),
        ("volume frobnicate", {}, 404, "262179"),
        ("storage aggregate delete", {"aggregate": "aggr1"}, 405, "3"),
    ],
)
def test_cli_execute_raises_ontaps_refusals(
    command: str, arguments: dict[str, str], status: int, code: str
) -> None:
    with pytest.raises(NetAppRestError) as raised:
        CLI().execute(command, **arguments)
    assert raised.value.status_code == status and code_of(raised.value) == code


@pytest.mark.usefixtures("sim")
def test_cli_execute_snapmirror_is_the_rest_relationship() -> None:
    CLI().execute(
        "snapmirror create", body={"source_path": "vs0:vol1", "destination_path": "vs0:vol1_dst"}
    )
    relationship = SnapmirrorRelationship.find(fields="state")
    assert relationship is not None and relationship.state == "uninitialized"
    shown = body(CLI().execute("snapmirror show", fields="mirror_state,relationship_id"))
    assert shown["records"][0]["relationship_id"] == relationship.uuid


# -- data protection's refusals through the library -----------------------------------------
def relationship(destination: str = "vs0:vol1_dst") -> SnapmirrorRelationship:
    return SnapmirrorRelationship(source={"path": "vs0:vol1"}, destination={"path": destination})


def refusal(action: Any) -> str:
    with pytest.raises(NetAppRestError) as raised:
        action()
    return code_of(raised.value)


@pytest.mark.usefixtures("sim")
def test_relationship_refusals() -> None:
    assert refusal(lambda: relationship("vs0:rw1").post(poll=True)) == "6619546"
    assert refusal(lambda: relationship("vs0vol1_dst").post(poll=True)) == "13303852"
    created = relationship()
    created.post(poll=True)
    assert refusal(lambda: relationship().post(poll=True)) == "6619637"
    created.state = "broken_off"
    assert refusal(lambda: created.patch(poll=True)) == "13303818"
    source = Volume.find(name="vol1")
    assert source is not None
    assert refusal(lambda: source.delete(poll=True)) == "18436"
    created.delete(poll=True)
    source.delete(poll=True)
    assert Volume.find(name="vol1") is None


@pytest.mark.usefixtures("sim")
def test_snapshot_policy_and_consistency_group_refusals() -> None:
    default = SnapshotPolicy.find(name="default")
    assert default is not None
    assert refusal(lambda: default.delete()) == "1638431"
    bad = SnapshotPolicy(name="p1", copies=[{"schedule": {"name": "daily"}, "count": 2000}])
    assert refusal(lambda: bad.post()) == "1638451"
    group = ConsistencyGroup(name="cg1", svm=SVM, volumes=[{"name": "rw1"}])
    assert refusal(lambda: group.post(poll=True)) == "53411864"
    added = ConsistencyGroup(
        name="cg1", svm=SVM, volumes=[{"name": "rw1", "provisioning_options": {"action": "add"}}]
    )
    added.post(poll=True)
    found = ConsistencyGroup.find(name="cg1", fields="volumes")
    assert found is not None and [v.name for v in found.volumes] == ["rw1"]
