"""Networking read from the lab scenario, with the writes ONTAP documents (issue 13): IPspaces,
service policies, broadcast domains, ethernet ports (VLAN and LAG), IP interfaces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nas_helpers import Api

from simulator import Simulator

PORTS = "/api/network/ethernet/ports"
DOMAINS = "/api/network/ethernet/broadcast-domains"
LIFS = "/api/network/ip/interfaces"
NAS = {"name": "svm_nas"}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(clock="virtual", scenario="lab")


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    sim.reset()
    yield Api(sim)
    assert sim.errors == []


def _port(api: Api, node: str, name: str) -> dict[str, object]:
    found: dict[str, object] = api.one(PORTS, name=name, **{"node.name": node})
    return found


def _lif(name: str, address: str, port: str = "e0d", **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "svm": NAS,
        "ip": {"address": address, "netmask": "24"},
        "location": {"home_port": {"name": port, "node": {"name": "lab-01"}}},
        **extra,
    }


def test_system_ipspaces_and_built_in_service_policies(api: Api) -> None:
    spaces = {r["name"] for r in api.get("/api/network/ipspaces")["records"]}
    assert spaces == {"Default", "Cluster"}
    default = api.one("/api/network/ipspaces", name="Default")
    svm = api.one("/api/svm/svms", name="svm_nas")
    assert svm["ipspace"]["uuid"] == default["uuid"]  # the IPspace the SVMs name
    policy = api.one(
        "/api/network/ip/service-policies", name="default-data-files", **{"svm.name": "svm_nas"}
    )
    assert policy["services"] == ["data_core", "data_nfs", "data_cifs", "data_flexcache"]
    assert api.refused("DELETE", f"/api/network/ipspaces/{default['uuid']}")[0] == 400


def test_the_labs_ports_domains_and_interfaces(api: Api) -> None:
    ports = api.get(f"{PORTS}?fields=node,broadcast_domain,mtu,type")["records"]
    assert len(ports) == 8 and {p["type"] for p in ports} == {"physical"}
    e0a = _port(api, "lab-01", "e0a")
    assert e0a["broadcast_domain"]["name"] == "Cluster" and e0a["mtu"] == 9000
    domain = api.one(DOMAINS, name="Default")
    assert sorted((p["node"]["name"], p["name"]) for p in domain["ports"]) == [
        ("lab-01", "e0c"),
        ("lab-01", "e0d"),
        ("lab-02", "e0c"),
        ("lab-02", "e0d"),
    ]
    lif = api.one(LIFS, name="svm_nas_lif2")
    assert lif["location"]["home_port"]["name"] == "e0c" and lif["location"]["is_home"] is True
    assert lif["location"]["home_node"]["name"] == "lab-02" and lif["state"] == "up"
    assert lif["services"] == ["data_core", "data_nfs", "data_cifs", "data_flexcache"]
    assert lif["ip"] == {"address": "192.168.0.12", "netmask": "24", "family": "ipv4"}
    iscsi = api.one(LIFS, name="svm_san_iscsi1")
    assert iscsi["services"] == ["data_core", "data_iscsi"]
    assert _port(api, "lab-01", "e0c")["interface_count"] == 2


def test_vlan_and_lag_ports(api: Api) -> None:
    api.ok(
        "POST",
        PORTS,
        {
            "node": {"name": "lab-01"},
            "type": "vlan",
            "vlan": {"base_port": {"name": "e0d"}, "tag": 100},
            "broadcast_domain": {"name": "Default"},
        },
    )
    vlan = _port(api, "lab-01", "e0d-100")
    assert vlan["broadcast_domain"]["name"] == "Default" and vlan["mtu"] == 1500
    api.ok(
        "POST",
        PORTS,
        {
            "node": {"name": "lab-02"},
            "type": "lag",
            "lag": {
                "mode": "multimode_lacp",
                "distribution_policy": "ip",
                "member_ports": [{"name": "e0d"}],
            },
        },
    )
    lag = _port(api, "lab-02", "a0a")
    assert [m["name"] for m in lag["lag"]["member_ports"]] == ["e0d"]
    assert "broadcast_domain" not in _port(api, "lab-02", "e0d")  # members leave their domain
    api.ok("DELETE", f"{PORTS}/{vlan['uuid']}")
    api.ok("DELETE", f"{PORTS}/{lag['uuid']}")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "physical"}, "1967083"),
        ({"type": "vlan", "vlan": {"tag": 5}}, "1967190"),
        ({"type": "vlan", "vlan": {"base_port": {"name": "e0d"}, "tag": 4095}}, "1966466"),
        ({"type": "vlan", "vlan": {"base_port": {"name": "e9z"}, "tag": 5}}, "1967091"),
        ({"type": "lag", "lag": {"mode": "multimode"}}, "1967191"),
        (
            {
                "type": "lag",
                "lag": {
                    "mode": "multimode",
                    "distribution_policy": "ip",
                    "member_ports": [{"name": "e0c"}],
                },
            },
            "1966189",
        ),
        (
            {
                "type": "vlan",
                "vlan": {"base_port": {"name": "e0d"}, "tag": 5},
                "broadcast_domain": {"name": "Nope"},
            },
            "1967088",
        ),
    ],
)
def test_port_create_refusals(api: Api, body: dict[str, object], code: str) -> None:
    assert api.refused("POST", PORTS, {"node": {"name": "lab-01"}, **body})[1] == code


def test_port_delete_and_move_refusals(api: Api) -> None:
    e0c, e0d = _port(api, "lab-01", "e0c"), _port(api, "lab-01", "e0d")
    assert api.refused("DELETE", f"{PORTS}/{e0d['uuid']}")[1] == "1967105"
    moved = api.refused(
        "PATCH",
        f"{PORTS}/{e0c['uuid']}",
        {"broadcast_domain": {"name": "Cluster", "ipspace": {"name": "Cluster"}}},
    )
    assert moved[1] == "1377608"  # it hosts interfaces
    api.ok(
        "PATCH",
        f"{PORTS}/{e0d['uuid']}",
        {"broadcast_domain": {"name": "Cluster", "ipspace": {"name": "Cluster"}}, "enabled": False},
    )
    after = _port(api, "lab-01", "e0d")
    assert after["broadcast_domain"]["name"] == "Cluster" and after["mtu"] == 9000
    assert after["state"] == "down"


def test_broadcast_domains(api: Api) -> None:
    assert api.refused("POST", DOMAINS, {"name": "Default", "mtu": 1500})[:2] == (409, "1377560")
    assert api.refused("POST", DOMAINS, {"name": "big", "mtu": 9001})[1] == "1966460"
    assert (
        api.refused("POST", DOMAINS, {"name": "x", "mtu": 1500, "ipspace": {"name": "Nope"}})[1]
        == "1377267"
    )
    default = api.one(DOMAINS, name="Default")
    assert api.refused("DELETE", f"{DOMAINS}/{default['uuid']}")[1] == "1967103"
    api.ok("PATCH", f"{DOMAINS}/{default['uuid']}", {"mtu": 9000, "name": "Data"})
    e0c = _port(api, "lab-02", "e0c")
    assert e0c["mtu"] == 9000 and e0c["broadcast_domain"]["name"] == "Data"
    api.ok("POST", DOMAINS, {"name": "empty", "mtu": 1500})
    api.ok("DELETE", f"{DOMAINS}/{api.uuid(DOMAINS, 'empty')}")


def test_interface_create_move_revert_delete(api: Api) -> None:
    api.ok("POST", LIFS, _lif("lif3", "192.168.0.31"))
    lif = api.one(LIFS, name="lif3")
    assert lif["location"]["port"]["name"] == "e0d" and lif["scope"] == "svm"
    assert lif["service_policy"]["name"] == "default-data-files"
    assert lif["location"]["auto_revert"] is True and lif["enabled"] is True
    api.ok(
        "PATCH",
        f"{LIFS}/{lif['uuid']}",
        {"location": {"port": {"name": "e0c", "node": {"name": "lab-02"}}}},
    )
    moved = api.one(LIFS, name="lif3")
    assert moved["location"]["node"]["name"] == "lab-02" and moved["location"]["is_home"] is False
    api.ok("PATCH", f"{LIFS}/{lif['uuid']}", {"location": {"is_home": True}, "enabled": False})
    back = api.one(LIFS, name="lif3")
    assert back["location"]["is_home"] is True and back["state"] == "down"
    api.ok("PATCH", f"{LIFS}/{lif['uuid']}", {"name": "lif4", "ip": {"address": "192.168.0.32"}})
    assert api.one(LIFS, name="lif4")["ip"]["address"] == "192.168.0.32"
    api.ok("DELETE", f"{LIFS}/{lif['uuid']}")


def test_interface_placed_by_broadcast_domain(api: Api) -> None:
    body = _lif("lif5", "192.168.0.35")
    body["location"] = {"broadcast_domain": {"name": "Default"}, "home_node": {"name": "lab-02"}}
    api.ok("POST", LIFS, body)
    lif = api.one(LIFS, name="lif5")
    assert (lif["location"]["home_node"]["name"], lif["location"]["home_port"]["name"]) == (
        "lab-02",
        "e0c",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_lif("svm_nas_lif1", "192.168.0.40"), 409, "1966140"),
        (_lif("dup_ip", "192.168.0.11"), 409, "1376963"),
        (_lif("bad_port", "192.168.0.40", port="e9z"), 400, "1966217"),
        (_lif("cluster_port", "192.168.0.40", port="e0a"), 400, "1966373"),
        (_lif("no_home", "192.168.0.40", location={}), 400, "1967111"),
        (
            _lif("prefix", "192.168.0.40", ip={"address": "192.168.0.40", "netmask": "33"}),
            400,
            "1966269",
        ),
    ],
)
def test_interface_create_refusals(
    api: Api, body: dict[str, object], status: int, code: str
) -> None:
    assert api.refused("POST", LIFS, body)[:2] == (status, code)


def test_interface_patch_refusals(api: Api) -> None:
    lif = api.one(LIFS, name="svm_nas_lif1")
    cluster = api.refused(
        "PATCH",
        f"{LIFS}/{lif['uuid']}",
        {"location": {"port": {"name": "e0a", "node": {"name": "lab-01"}}}},
    )
    assert cluster[1] == "1377607"  # not in the home port's broadcast domain
    assert (
        api.refused("PATCH", f"{LIFS}/{lif['uuid']}", {"location": {"is_home": False}})[1]
        == "1967389"
    )
    assert (
        api.refused("PATCH", f"{LIFS}/{lif['uuid']}", {"ip": {"address": "192.168.0.12"}})[1]
        == "1376963"
    )


def test_a_renamed_built_in_service_policy_is_not_recreated_beside_itself() -> None:
    """Found by fuzzing: renaming a built-in policy made the next write re-seed it under the same
    uuid, a 500."""
    from test_app import Api

    from simulator import Simulator

    api = Api(Simulator())
    policies = api("GET", "/api/network/ip/service-policies?name=default-data-files").json
    uuid = policies["records"][0]["uuid"]
    renamed = api("PATCH", f"/api/network/ip/service-policies/{uuid}", {"name": "files2"})
    assert renamed.status_code == 200, renamed.json
    again = api("PATCH", f"/api/network/ip/service-policies/{uuid}", {"name": "files3"})
    assert again.status_code == 200, again.json
    assert api.sim.errors == []
