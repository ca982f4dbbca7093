"""The CLI passthrough's platform commands (simulator/cli_passthrough.py, disks in
simulator/model/deep/disks.py): disk ownership, role account rules, BGP settings, the service
processor's reboot and AutoSupport's checks, each read back where REST shows the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from scenario_client import call, simulator_for

from simulator import Simulator

CLI = "/api/private/cli"
SCENARIO = {
    "inventory": {
        "cluster": {"name": "c1"},
        "nodes": [{"name": "n1"}, {"name": "n2"}],
        "aggregates": [{"name": "a1", "node": {"name": "n1"}}],
        "svms": [{"name": "vs0"}],
    }
}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    yield from simulator_for(monkeypatch, SCENARIO)


@pytest.fixture
def api(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def names(api: FlaskClient, query: str) -> list[str]:
    status, answer = call(api, "GET", f"/api/storage/disks?{query}")
    assert status == 200, answer
    return [r["name"] for r in answer["records"]]


# -- disks ---------------------------------------------------------------------------------------
def test_disks_are_derived_from_the_nodes_and_aggregates(api: FlaskClient) -> None:
    status, answer = call(
        api, "GET", "/api/storage/disks?fields=container_type,home_node.name,aggregates.name"
    )
    assert status == 200
    rows = {r["name"]: r for r in answer["records"]}
    assert [n for n, r in rows.items() if r["container_type"] == "aggregate"] == [
        "1.0.0",
        "1.0.1",
        "1.0.2",
    ]
    assert rows["1.0.0"]["aggregates"] == [{"name": "a1"}]
    assert len(names(api, "container_type=spare&home_node.name=n2")) == 2
    assert len(names(api, "container_type=unassigned")) == 4
    assert "home_node" not in rows["1.0.7"]


def test_disk_assign_by_count_makes_unassigned_disks_spares_of_the_owner(
    api: FlaskClient,
) -> None:
    assert call(api, "POST", f"{CLI}/storage/disk/assign", {"owner": "n1", "count": 3}) == (
        200,
        {"num_records": 3},
    )
    assert names(api, "container_type=unassigned") == ["1.0.10"]
    assert len(names(api, "home_node.name=n1&container_type=spare")) == 5
    status, answer = call(api, "POST", f"{CLI}/storage/disk/assign", {"owner": "n1", "count": 2})
    assert (status, answer["error"]["code"], answer["error"]["target"]) == (400, "2", "count")


def test_disk_assign_all_and_by_name(api: FlaskClient) -> None:
    assert (
        call(api, "POST", f"{CLI}/storage/disk/assign", {"owner": "n2", "disk": "1.0.7"})[0] == 200
    )
    assert names(api, "node.name=n2&container_type=spare")[-1] == "1.0.7"
    status, answer = call(
        api, "POST", f"{CLI}/storage/disk/assign", {"owner": "n1", "disk": "1.0.7"}
    )
    assert (status, answer["error"]["code"]) == (400, "2")
    assert call(api, "POST", f"{CLI}/storage/disk/assign", {"node": "n1", "all": True}) == (
        200,
        {"num_records": 3},
    )
    assert names(api, "container_type=unassigned") == []


def test_disk_removeowner_takes_a_spare_only(api: FlaskClient) -> None:
    assert call(api, "POST", f"{CLI}/storage/disk/removeowner", {"disk": "1.0.3"}) == (
        200,
        {"num_records": 1},
    )
    assert "1.0.3" in names(api, "container_type=unassigned")
    status, answer = call(api, "POST", f"{CLI}/storage/disk/removeowner", {"disk": "1.0.0"})
    assert (status, answer["error"]["code"]) == (409, "1")
    status, answer = call(api, "POST", f"{CLI}/storage/disk/removeowner", {"disk": "1.0.3"})
    assert (status, answer["error"]["code"]) == (400, "2")
    status, answer = call(api, "POST", f"{CLI}/storage/disk/removeowner", {"disk": "9.9.9"})
    assert (status, answer["error"]["code"]) == (404, "4")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"owner": "nx", "count": 1}, (404, "4", "owner")),
        ({"owner": "n1"}, (400, "2", "disk")),
        ({"owner": "n1", "count": "many"}, (400, "2", "count")),
        ({"owner": "n1", "colour": "red"}, (400, "262179", "colour")),
    ],
)
def test_disk_assign_refusals(api: FlaskClient, body: Any, expected: tuple[Any, ...]) -> None:
    status, answer = call(api, "POST", f"{CLI}/storage/disk/assign", body)
    assert (status, answer["error"]["code"], answer["error"]["target"]) == expected
    assert len(names(api, "container_type=unassigned")) == 4


def test_disks_come_back_on_reset(sim: Simulator, api: FlaskClient) -> None:
    call(api, "POST", f"{CLI}/storage/disk/assign", {"node": "n1", "all": True})
    sim.reset()
    assert len(names(api, "container_type=unassigned")) == 4


# -- security login role config ------------------------------------------------------------------
def test_role_config_lists_the_predefined_roles_and_the_rest_ones(api: FlaskClient) -> None:
    status, answer = call(
        api, "POST", "/api/security/roles", {"name": "ops", "owner": {"name": "vs0"}}
    )
    assert status == 201, answer
    status, answer = call(api, "GET", f"{CLI}/security/login/role/config?fields=passwd_minlength")
    rows = {(r["vserver"], r["role"]): r for r in answer["records"]}
    assert ("c1", "admin") in rows and ("vs0", "vsadmin") in rows and ("vs0", "ops") in rows
    assert rows[("vs0", "ops")]["passwd_minlength"] == 8


def test_role_config_modify_is_read_back_and_checked(api: FlaskClient) -> None:
    path = f"{CLI}/security/login/role/config?vserver=c1&role=readonly"
    body = {"passwd_minlength": 12, "username_alphanum": True, "passwd_expiry_time": 90}
    assert call(api, "PATCH", path, body) == (200, {"num_records": 1})
    status, answer = call(
        api, "GET", path + "&fields=passwd-minlength,username-alphanum,passwd-expiry-time"
    )
    assert answer["records"] == [
        {
            "vserver": "c1",
            "role": "readonly",
            "passwd_minlength": 12,
            "username_alphanum": "enabled",
            "passwd_expiry_time": 90,
        }
    ]
    status, answer = call(api, "PATCH", path, {"passwd_minlength": 2})
    assert (status, answer["error"]["code"]) == (400, "2")
    status, answer = call(api, "PATCH", path, {"role": "x"})
    assert (status, answer["error"]["code"]) == (400, "2")


# -- network bgp config --------------------------------------------------------------------------
def test_bgp_config_create_modify_delete(api: FlaskClient) -> None:
    path = f"{CLI}/network/bgp/config"
    assert call(api, "POST", path, {"node": "n1", "asn": 65001, "router_id": "10.0.0.1"}) == (
        201,
        {"num_records": 1},
    )
    status, answer = call(api, "POST", path, {"node": "n1", "asn": 65001})
    assert (status, answer["error"]["code"]) == (409, "1")
    assert call(api, "PATCH", f"{path}?node=n1", {"hold_time": 360})[0] == 200
    status, answer = call(api, "GET", f"{path}?fields=asn,hold_time,router_id")
    assert answer["records"] == [
        {"node": "n1", "asn": 65001, "hold_time": 360, "router_id": "10.0.0.1"}
    ]
    assert call(api, "DELETE", f"{path}?node=n1") == (200, {"num_records": 1})
    assert call(api, "GET", path)[1]["num_records"] == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"node": "nx", "asn": 1}, (404, "4")),
        ({"node": "n1"}, (400, "2")),
        ({"node": "n1", "asn": 0}, (400, "2")),
        ({"node": "n1", "asn": 1, "router_id": "300.1.1.1"}, (400, "2")),
    ],
)
def test_bgp_config_refusals(api: FlaskClient, body: Any, expected: tuple[str, ...]) -> None:
    status, answer = call(api, "POST", f"{CLI}/network/bgp/config", body)
    assert (status, answer["error"]["code"]) == expected


# -- sp reboot-sp --------------------------------------------------------------------------------
def test_reboot_sp_shows_on_the_node_until_the_clock_passes(
    sim: Simulator, api: FlaskClient
) -> None:
    def state() -> Any:
        answer = call(api, "GET", "/api/cluster/nodes?name=n1&fields=service_processor.state")[1]
        return answer["records"][0].get("service_processor", {}).get("state")

    assert call(api, "PATCH", f"{CLI}/sp/reboot-sp?node=n1") == (200, {"num_records": 1})
    assert state() == "rebooting"
    status, answer = call(api, "PATCH", f"{CLI}/sp/reboot-sp?node=n1")
    assert (status, answer["error"]["code"]) == (409, "1")
    sim.advance(59)
    assert state() == "rebooting"
    sim.advance(2)
    assert state() == "online"
    status, answer = call(api, "PATCH", f"{CLI}/sp/reboot-sp?node=nx")
    assert (status, answer["error"]["code"]) == (404, "4")


# -- system node autosupport check details ---------------------------------------------------------
def test_autosupport_checks_follow_the_autosupport_configuration(api: FlaskClient) -> None:
    path = (
        f"{CLI}/system/node/autosupport/check/details"
        "?fields=node,corrective-action,status,error-detail,check-type,check-category"
    )
    rows = call(api, "GET", path)[1]["records"]
    assert {(r["node"], r["check_type"], r["status"]) for r in rows} == {
        (n, t, "ok") for n in ("n1", "n2") for t in ("configuration", "http-https", "aod")
    }
    assert call(api, "PATCH", "/api/support/autosupport", {"transport": "smtp"})[0] == 200
    rows = call(api, "GET", path + "&node=n1&check_type=smtp")[1]["records"]
    assert rows[0]["status"] == "failed"
    assert rows[0]["error_detail"] == "No mail server is configured."
    call(api, "PATCH", "/api/support/autosupport", {"mail_hosts": ["smtp.example.com"]})
    assert call(api, "GET", path + "&node=n1&check_type=smtp")[1]["records"][0]["status"] == "ok"
    status, answer = call(api, "POST", f"{CLI}/system/node/autosupport/check/details", {})
    assert (status, answer["error"]["code"]) == (405, "3")
