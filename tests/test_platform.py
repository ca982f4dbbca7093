"""Writes on the cluster, its node, its software and aggregates: the deep model's rules, and
every other field a client sets kept and read back (nothing submitted is dropped)."""

from __future__ import annotations

import pytest
from test_app import VOLUME, Api, assert_error

from simulator import Simulator


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Api(Simulator(clock="virtual"))


def test_cluster_patch_renames_and_keeps_what_it_does_not_model(api: Api) -> None:
    before = api("GET", "/api/cluster/nodes").json["records"][0]
    body = {"name": "lab1", "location": "rack 4", "contact": "storage@example.com"}
    answer = api("PATCH", "/api/cluster?return_timeout=10", body)
    assert answer.status_code == 200 and "job" in answer.json  # ONTAP runs it as a job
    cluster = api("GET", "/api/cluster?fields=name,location,contact").json
    assert (cluster["name"], cluster["location"], cluster["contact"]) == (
        "lab1",
        "rack 4",
        "storage@example.com",
    )
    node = api("GET", "/api/cluster/nodes").json["records"][0]
    # ONTAP renames the cluster only: its node keeps its name and its uuid.
    assert (node["name"], node["uuid"]) == ("cluster1-01", before["uuid"])
    assert before["name"] == "cluster1-01"
    assert_error(api("PATCH", "/api/cluster", {"name": "1bad"}), 400, "2", "name")
    assert_error(api("PATCH", "/api/cluster", {"uuid": "x"}), 400, "2", "uuid")  # read-only
    assert_error(api("POST", "/api/cluster", {"name": "c2"}), 409, "1")


def test_node_patch_and_the_only_node_cannot_go(api: Api) -> None:
    uuid = api("GET", "/api/cluster/nodes").json["records"][0]["uuid"]
    patched = api("PATCH", f"/api/cluster/nodes/{uuid}?return_timeout=10", {"location": "B2"})
    assert patched.status_code == 200
    assert api("GET", f"/api/cluster/nodes/{uuid}?fields=location").json["location"] == "B2"
    assert_error(api("DELETE", f"/api/cluster/nodes/{uuid}"), 409, "1", "uuid")
    assert_error(api("PATCH", "/api/cluster/nodes/nope", {"location": "x"}), 404, "4", "uuid")
    assert_error(api("POST", "/api/cluster/nodes", {"name": "n2"}), 400, "2", "name")


def test_software_patch_upgrades_the_cluster(api: Api) -> None:
    answer = api("PATCH", "/api/cluster/software", {"version": "9.16.1"})
    assert answer.status_code == 202
    api.sim.advance(60)
    assert api("GET", "/api/cluster?fields=version").json["version"]["minor"] == 1
    assert api("GET", "/api/cluster").json["version"]["major"] == 16
    assert api("GET", "/api/cluster/software").json["version"] == "9.16.1"
    assert_error(api("PATCH", "/api/cluster/software", {"version": "nine"}), 400, "2", "version")


def test_aggregates_are_created_renamed_and_kept_while_they_hold_volumes(api: Api) -> None:
    created = api("POST", "/api/storage/aggregates?return_timeout=10", {"name": "aggr2"})
    assert created.status_code == 201
    uuid = created.headers["Location"].rsplit("/", 1)[1]
    assert api("GET", f"/api/storage/aggregates/{uuid}").json["name"] == "aggr2"
    assert_error(api("POST", "/api/storage/aggregates", {"name": "aggr2"}), 409, "1", "name")
    assert_error(
        api("POST", "/api/storage/aggregates", {"name": "a", "node": {"name": "n9"}}), 400, "2"
    )
    renamed = api("PATCH", f"/api/storage/aggregates/{uuid}?return_timeout=10", {"name": "data2"})
    assert renamed.status_code == 200
    volume = {**VOLUME, "aggregates": [{"name": "data2"}]}
    assert api("POST", "/api/storage/volumes?return_timeout=10", volume).status_code == 201
    assert_error(api("DELETE", f"/api/storage/aggregates/{uuid}"), 409, "1", "uuid")
    vol = api("GET", "/api/storage/volumes?name=v1").json["records"][0]["uuid"]
    assert api("DELETE", f"/api/storage/volumes/{vol}?return_timeout=10").status_code == 200
    assert api("DELETE", f"/api/storage/aggregates/{uuid}?return_timeout=10").status_code == 200
    assert_error(api("GET", f"/api/storage/aggregates/{uuid}"), 404, "4", "uuid")
