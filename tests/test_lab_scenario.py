"""The lab scenario (``--scenario lab``): a cluster a newcomer can point a real playbook at.
Each part is read back as a client reads it."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from nas_helpers import Api
from simproc import ontap_sim

from simulator import Simulator

GIB = 1024**3


@pytest.fixture(scope="module")
def api() -> Api:
    return Api(Simulator(clock="virtual", scenario="lab"))


def _names(api: Api, path: str, **query: str) -> set[Any]:
    text = "&".join(f"{k}={v}" for k, v in query.items())
    return {r.get("name") for r in api.get(f"{path}?{text}")["records"]}


def test_cluster_nodes_and_aggregates(api: Api) -> None:
    assert api.get("/api/cluster")["name"] == "lab"
    assert _names(api, "/api/cluster/nodes") == {"lab-01", "lab-02"}
    aggregates = api.get("/api/storage/aggregates?fields=node")["records"]
    assert {a["name"]: a["node"]["name"] for a in aggregates} == {
        "aggr1_01": "lab-01",
        "aggr1_02": "lab-02",
    }


def test_two_svms_with_nfs_cifs_and_iscsi(api: Api) -> None:
    svms = api.get("/api/svm/svms?fields=nfs,cifs,iscsi")["records"]
    assert {s["name"] for s in svms} == {"svm_nas", "svm_san"}
    for svm in svms:
        assert svm["nfs"]["enabled"] and svm["cifs"]["enabled"] and svm["iscsi"]["enabled"]
    assert api.one("/api/protocols/cifs/services", name="LABNAS")["svm"]["name"] == "svm_nas"
    assert api.get("/api/protocols/nfs/services?fields=enabled")["records"][0]["enabled"]
    iscsi = api.get("/api/protocols/san/iscsi/services?fields=svm")["records"]
    assert [s["svm"]["name"] for s in iscsi] == ["svm_san"]


def test_volumes_qtrees_quotas_policies_and_shares(api: Api) -> None:
    volumes = api.get("/api/storage/volumes?fields=svm,size,nas")["records"]
    assert {v["name"]: v["svm"]["name"] for v in volumes} == {
        "home": "svm_nas",
        "projects": "svm_nas",
        "scratch": "svm_nas",
        "db_luns": "svm_san",
    }
    projects = next(v for v in volumes if v["name"] == "projects")
    assert projects["nas"]["path"] == "/projects" and projects["size"] == 20 * GIB
    assert projects["nas"]["export_policy"]["name"] == "lab_clients"
    assert _names(api, "/api/storage/qtrees", **{"volume.name": "projects"}) == {
        "",
        "alpha",
        "beta",
    }
    rules = api.get("/api/storage/quota/rules?fields=qtree,space")["records"]
    assert {(r["qtree"]["name"], r.get("space", {}).get("hard_limit")) for r in rules} == {
        ("alpha", 5 * GIB),
        ("", None),  # the default tree rule ONTAP adds beside an explicit one
    }
    policy = api.one("/api/protocols/nfs/export-policies", name="lab_clients")
    assert [r["clients"][0]["match"] for r in policy["rules"]] == ["192.168.0.0/24", "0.0.0.0/0"]
    shares = api.get("/api/protocols/cifs/shares?fields=path,volume")["records"]
    assert {s["name"]: s["path"] for s in shares} == {
        "admin$": "/",
        "c$": "/",
        "ipc$": "/",
        "home": "/home",
        "projects": "/projects",
    }


def test_san_lun_igroup_and_map(api: Api) -> None:
    lun = api.one("/api/storage/luns", name="/vol/db_luns/lun0")
    assert lun["svm"]["name"] == "svm_san" and lun["space"]["size"] == 5 * GIB
    igroup = api.one("/api/protocols/san/igroups", name="db_hosts")
    assert igroup["initiators"][0]["name"] == "iqn.1994-05.com.redhat:db1"
    mapped = api.get("/api/protocols/san/lun-maps?fields=lun,igroup")["records"]
    assert [(m["lun"]["name"], m["igroup"]["name"]) for m in mapped] == [
        ("/vol/db_luns/lun0", "db_hosts")
    ]


def test_ports_domains_and_interfaces(api: Api) -> None:
    ports = api.get("/api/network/ethernet/ports?fields=node,broadcast_domain")["records"]
    assert sorted((p["node"]["name"], p["name"], p["broadcast_domain"]["name"]) for p in ports) == [
        (node, port, domain)
        for node in ("lab-01", "lab-02")
        for port, domain in (
            ("e0a", "Cluster"),
            ("e0b", "Cluster"),
            ("e0c", "Default"),
            ("e0d", "Default"),
        )
    ]
    lifs = api.get("/api/network/ip/interfaces?fields=ip,svm,location")["records"]
    assert {
        (i["svm"]["name"], i["ip"]["address"], i["location"]["home_node"]["name"]) for i in lifs
    } == {
        ("svm_nas", "192.168.0.11", "lab-01"),
        ("svm_nas", "192.168.0.12", "lab-02"),
        ("svm_san", "192.168.0.21", "lab-01"),
        ("svm_san", "192.168.0.22", "lab-02"),
    }


def test_ontap_sim_serves_the_lab_by_name() -> None:
    with ontap_sim("--clock", "virtual", "--scenario", "lab") as process:
        answer = requests.get(
            process.url() + "/api/storage/qtrees?name=alpha",
            auth=("admin", "netapp1!"),
            timeout=10,
        )
    assert answer.status_code == 200 and answer.json()["num_records"] == 1
