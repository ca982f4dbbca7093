"""netapp-ontap, unchanged, over HTTP: ``CLI().execute(...)`` with the passthrough's newer
commands (``vserver fpolicy policy``, ``... policy scope``), each read back through the REST
resource it maps onto, and their refusals as ``NetAppRestError`` with ONTAP's codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from netapp_host import connected, served
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import CLI, FpolicyPolicy, Svm

from simulator import ServerHandle, Simulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

SCENARIO = {"inventory": {"svms": [{"name": "vs0"}], "aggregates": [{"name": "aggr1"}]}}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, ServerHandle]]:
    with served(SCENARIO) as running:
        yield running


@pytest.fixture
def sim(server: tuple[Simulator, ServerHandle]) -> Iterator[Simulator]:
    with connected(server) as sim:
        yield sim


def body(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = response.http_response.json()
    return found


@pytest.mark.usefixtures("sim")
def test_cli_execute_fpolicy_policy_and_scope() -> None:
    CLI().execute(
        "vserver fpolicy policy event create",
        body={"vserver": "vs0", "event-name": "ev1", "protocol": "cifs"},
    )
    CLI().execute(
        "vserver fpolicy policy create",
        body={"vserver": "vs0", "policy-name": "p1", "events": ["ev1"]},
    )
    shown = body(CLI().execute("vserver fpolicy policy show", vserver="vs0", fields="events"))
    assert shown["records"] == [{"vserver": "vs0", "policy_name": "p1", "events": ["ev1"]}]
    CLI().execute(
        "vserver fpolicy policy scope create",
        body={"vserver": "vs0", "policy-name": "p1", "shares-to-include": ["home"]},
    )
    svm = Svm.find(name="vs0")
    assert svm is not None
    policy = FpolicyPolicy(svm.uuid, name="p1")
    policy.get(fields="scope,enabled")
    assert policy.scope.include_shares == ["home"] and policy.enabled is False
    modified = CLI().execute(
        "vserver fpolicy policy modify",
        body={"is-passthrough-read-enabled": True},
        vserver="vs0",
        policy_name="p1",
    )
    assert body(modified) == {"num_records": 1}
    policy.get(fields="passthrough_read")
    assert policy.passthrough_read is True
    CLI().execute("vserver fpolicy policy scope delete", vserver="vs0", policy_name="p1")
    CLI().execute("vserver fpolicy policy delete", vserver="vs0", policy_name="p1")
    assert list(FpolicyPolicy.get_collection(svm.uuid)) == []


@pytest.mark.usefixtures("sim")
@pytest.mark.parametrize(
    ("command", "arguments", "status", "code"),
    [
        (
            "vserver fpolicy policy create",
            {"body": {"vserver": "vs0", "policy-name": "p2", "events": ["nope"]}},
            400,
            "9764875",
        ),
        (
            "vserver fpolicy policy scope create",
            {"body": {"vserver": "vs0", "policy-name": "nope", "volumes-to-include": ["v"]}},
            404,
            "4",
        ),
    ],
)
def test_cli_execute_raises_fpolicy_refusals(
    command: str, arguments: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(NetAppRestError) as raised:
        CLI().execute(command, **arguments)
    response = raised.value.http_err_response
    assert response is not None
    assert raised.value.status_code == status
    assert response.http_response.json()["error"]["code"] == code


@pytest.mark.usefixtures("sim")
def test_cli_execute_disk_assign_and_bgp_config() -> None:
    from netapp_ontap.resources import Disk, Node

    node = next(iter(Node.get_collection())).name
    free = [d.name for d in Disk.get_collection(container_type="unassigned")]
    CLI().execute("storage disk assign", body={"disk": free[0], "owner": node})
    disk = Disk.find(name=free[0], fields="container_type,home_node.name")
    assert disk is not None
    assert (disk.container_type, disk.home_node.name) == ("spare", node)
    with pytest.raises(NetAppRestError) as refused:
        CLI().execute("storage disk assign", body={"disk": free[0], "owner": node})
    assert refused.value.http_err_response.http_response.json()["error"]["code"] == "2"
    CLI().execute("storage disk removeowner", body={"disk": free[0]})

    CLI().execute("network bgp config create", body={"node": node, "asn": 65000})
    CLI().execute("network bgp config modify", body={"hold-time": 90}, node=node)
    shown = body(CLI().execute("network bgp config show", fields="asn,hold_time"))
    assert shown["records"] == [{"node": node, "asn": 65000, "hold_time": 90}]
    CLI().execute("network bgp config delete", node=node)
    assert body(CLI().execute("network bgp config show"))["num_records"] == 0
