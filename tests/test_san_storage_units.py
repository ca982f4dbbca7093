"""Storage units over HTTP (ONTAP 9.16+, docs/san.md "Storage units"): a view of the LUNs and
NVMe namespaces, their snapshots the snapshots of the volume holding them, restores and
clones as Trident's ASA r2 drivers call them."""

from __future__ import annotations

import test_san
from test_san import LUNS, MIB, NAMESPACES, VS0, Api

shared, api = test_san.shared, test_san.api  # test_san's fixtures: its scenario, reset after each

UNITS = "/api/storage/storage-units"
VOLUMES = "/api/storage/volumes"


def _namespace(api: Api, name: str = "/vol/vol2/ns1") -> str:
    body = {"svm": VS0, "name": name, "os_type": "linux", "space": {"size": 10 * MIB}}
    api.ok("POST", NAMESPACES, body)
    return str(api.one(NAMESPACES, "uuid", name=name)["uuid"])


def _volume_snapshots(api: Api, volume: str = "vol1") -> list[str]:
    uuid = api.one(VOLUMES, "uuid", name=volume)["uuid"]
    records = api.ok("GET", f"{VOLUMES}/{uuid}/snapshots?fields=name")["records"]
    return [r["name"] for r in records]


def _snapshot(api: Api, unit: str, name: str) -> str:
    api.ok("POST", f"{UNITS}/{unit}/snapshots", {"name": name})
    return str(api.one(f"{UNITS}/{unit}/snapshots", "uuid", name=name)["uuid"])


# -- GET: the LUNs and namespaces ----------------------------------------------------------
def test_every_lun_and_namespace_is_a_storage_unit_with_its_uuid_name_and_fields(
    api: Api,
) -> None:
    lun = api.lun(size=10 * MIB)
    namespace = _namespace(api)
    units = {r["uuid"]: r for r in api.ok("GET", f"{UNITS}?fields=*")["records"]}
    assert set(units) == {lun, namespace}
    shown_lun = api.ok("GET", f"{LUNS}/{lun}?fields=**")
    unit = units[lun]
    assert (unit["name"], unit["type"], unit["os_type"]) == ("/vol/vol1/lun1", "lun", "linux")
    assert unit["svm"]["name"] == "vs0"
    assert unit["space"]["size"] == 10 * MIB
    assert unit["serial_number"] == shown_lun["serial_number"]
    assert unit["status"] == shown_lun["status"]
    assert unit["location"]["volume"]["name"] == "vol1"
    assert units[namespace]["type"] == "namespace"
    assert units[namespace]["location"]["volume"]["name"] == "vol2"


def test_a_storage_unit_follows_its_lun_resized_mapped_and_deleted(api: Api) -> None:
    lun = api.lun(size=10 * MIB)
    api.ok("PATCH", f"{LUNS}/{lun}", {"space": {"size": 20 * MIB}})
    api.igroup()
    api.map()
    unit = api.ok("GET", f"{UNITS}/{lun}?fields=space.size,status.mapped,maps")
    assert unit["space"]["size"] == 20 * MIB
    assert unit["status"]["mapped"] is True
    assert unit["maps"][0]["lun_map"]["igroup"]["name"] == "ig1"
    assert unit["maps"][0]["lun_map"]["logical_unit_number"] == 0
    assert "maps" not in api.ok("GET", f"{UNITS}/{lun}")  # expensive: asked for only
    api.ok("DELETE", f"{LUNS}/{lun}?allow_delete_while_mapped=true")
    assert api.ok("GET", UNITS)["num_records"] == 0
    status, answer = api("GET", f"{UNITS}/{lun}")
    assert (status, answer["error"]["code"]) == (404, "4")


def test_storage_units_filter_select_and_order_as_any_collection(api: Api) -> None:
    api.lun("/vol/vol1/b", size=8 * MIB)
    api.lun("/vol/vol1/a", size=9 * MIB)
    _namespace(api)
    found = api.ok("GET", f"{UNITS}?type=lun&order_by=name&fields=space.size")["records"]
    assert [r["name"] for r in found] == ["/vol/vol1/a", "/vol/vol1/b"]
    assert found[0]["space"] == {"size": 9 * MIB}
    by_name = api.ok("GET", f"{UNITS}?name=/vol/vol2/ns1&svm.uuid=*&fields=uuid,name,type")
    assert [r["type"] for r in by_name["records"]] == ["namespace"]


# -- snapshots: the volume's -----------------------------------------------------------------
def test_a_storage_unit_snapshot_is_a_snapshot_of_its_volume(api: Api) -> None:
    lun = api.lun()
    status, answer = api("POST", f"{UNITS}/{lun}/snapshots", {"name": "snap1", "comment": "c"})
    assert status == 201 and "job" in answer
    assert _volume_snapshots(api) == ["snap1"]
    shown = api.one(f"{UNITS}/{lun}/snapshots", "**", name="snap1")
    assert shown["storage_unit"]["uuid"] == lun
    assert (shown["comment"], shown["state"], shown["svm"]["name"]) == ("c", "valid", "vs0")
    assert shown["create_time"]
    volume = api.one(VOLUMES, "uuid", name="vol1")["uuid"]
    api.ok("GET", f"{VOLUMES}/{volume}/snapshots/{shown['uuid']}")  # the same uuid


def test_a_storage_unit_snapshot_renamed_and_deleted_changes_the_volumes(api: Api) -> None:
    lun = api.lun()
    uuid = _snapshot(api, lun, "snap1")
    api.ok("PATCH", f"{UNITS}/{lun}/snapshots/{uuid}", {"name": "renamed"})
    assert _volume_snapshots(api) == ["renamed"]
    api.ok("DELETE", f"{UNITS}/{lun}/snapshots/{uuid}")
    assert _volume_snapshots(api) == []
    assert api.ok("GET", f"{UNITS}/{lun}/snapshots")["num_records"] == 0


def test_a_namespace_snapshot_is_one_of_the_namespaces_volume(api: Api) -> None:
    namespace = _namespace(api)
    _snapshot(api, namespace, "nsnap")
    assert _volume_snapshots(api, "vol2") == ["nsnap"]


def test_storage_unit_snapshot_refusals(api: Api) -> None:
    lun = api.lun()
    _snapshot(api, lun, "snap1")
    assert api.error("POST", f"{UNITS}/{lun}/snapshots", {"name": "snap1"})[0] == 409
    assert api.error("POST", f"{UNITS}/{lun}/snapshots", {"name": "1bad"})[:2] == (400, "2")
    missing = "11111111-2222-3333-4444-555555555555"
    assert api.error("POST", f"{UNITS}/{missing}/snapshots", {"name": "s"})[:2] == (404, "4")


# -- restore -------------------------------------------------------------------------------
def test_a_restore_deletes_the_later_snapshots_unless_kept(api: Api) -> None:
    lun = api.lun()
    for name in ("s1", "s2", "s3"):
        _snapshot(api, lun, name)
    # netapp-ontap's form (an empty object): the web layer wants a body on every PATCH
    status, answer = api("PATCH", f"{UNITS}/{lun}?restore_to.snapshot.name=s2&return_timeout=0", {})
    assert status == 202 and "job" in answer  # a job, as Trident polls it
    api.sim.advance(5)
    assert _volume_snapshots(api) == ["s1", "s2"]
    keep = "restore_to.snapshot.name=s1&restore_to.keep_snapshots=true"
    api.ok("PATCH", f"{UNITS}/{lun}?{keep}", {})
    assert _volume_snapshots(api) == ["s1", "s2"]


def test_a_restore_to_a_missing_snapshot_is_refused(api: Api) -> None:
    lun = api.lun()
    _, code, target = api.error("PATCH", f"{UNITS}/{lun}?restore_to.snapshot.name=nope", {})
    assert (code, target) == ("2", "restore_to.snapshot.name")


# -- clones --------------------------------------------------------------------------------
def test_a_clone_post_creates_a_lun_in_the_source_volume_and_a_split_ends_its_lineage(
    api: Api,
) -> None:
    lun = api.lun(size=12 * MIB)
    _snapshot(api, lun, "snap1")
    body = {
        "name": "clone1",
        "svm": VS0,
        "clone": {"source": {"storage_unit": {"uuid": lun}, "snapshot": {"name": "snap1"}}},
    }
    api.ok("POST", UNITS, body)
    clone = api.one(LUNS, "**", name="/vol/vol1/clone1")
    assert (clone["os_type"], clone["space"]["size"]) == ("linux", 12 * MIB)
    assert "_clone" not in clone
    query = "clone.source.storage_unit.name=/vol/vol1/lun1&clone.source.snapshot.name=snap1"
    unit = api.one(UNITS, "name,clone", **dict(q.split("=") for q in query.split("&")))
    assert unit["uuid"] == clone["uuid"]
    assert unit["clone"]["is_flexclone"] is True
    api.ok("PATCH", f"{UNITS}/{clone['uuid']}", {"clone": {"split_initiated": True}})
    assert api.ok("GET", f"{UNITS}/{clone['uuid']}?fields=clone")["clone"] == {
        "is_flexclone": False
    }


def test_clone_refusals(api: Api) -> None:
    lun = api.lun()
    missing = {"storage_unit": {"uuid": "11111111-2222-3333-4444-555555555555"}}
    body = {"name": "c", "svm": VS0, "clone": {"source": missing}}
    assert api.error("POST", UNITS, body)[0] == 400
    no_snapshot = {"storage_unit": {"uuid": lun}, "snapshot": {"name": "nope"}}
    body = {"name": "c", "svm": VS0, "clone": {"source": no_snapshot}}
    assert api.error("POST", UNITS, body)[2] == "clone.source.snapshot.name"
    split = {"clone": {"split_initiated": True}}
    assert api.error("PATCH", f"{UNITS}/{lun}", split)[2] == "clone.split_initiated"
