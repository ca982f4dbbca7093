"""SAN's deep rules over HTTP (issue 13): LUNs, igroups and initiators, LUN maps, NVMe
namespaces, subsystems, hosts and subsystem maps — each rule and each refusal, with ONTAP's
codes (docs/san.md gives their sources).

In-process (Flask's test client, a virtual clock): what is checked is the answer to each
request, as curl would see it; writes ONTAP runs as jobs send ``return_timeout`` so that they
answer 201/200 or ONTAP's error at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_app import AUTH

from simulator import Simulator

MIB = 1024 * 1024
VS0, VS1 = {"name": "vs0"}, {"name": "vs1"}
SCENARIO: dict[str, Any] = {
    "inventory": {
        "svms": [VS0, VS1],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [
            # 100 MiB, 5 % snapshot reserve: 99614720 bytes available for LUNs.
            {"name": "vol1", "svm": VS0, "size": 100 * MIB},
            {"name": "vol2", "svm": VS0, "size": 100 * MIB},
            {"name": "other", "svm": VS1, "size": 100 * MIB},
        ],
    }
}
AVAILABLE = 95 * MIB
IQN1 = "iqn.1998-01.com.vmware:host1"
IQN2 = "iqn.1998-01.com.vmware:host2"
WWPN = "20:00:00:25:b5:00:00:01"
NQN1 = "nqn.2014-08.org.nvmexpress:uuid:host1"
NQN2 = "nqn.2014-08.org.nvmexpress:uuid:host2"
LUNS, IGROUPS, MAPS = (
    "/api/storage/luns",
    "/api/protocols/san/igroups",
    "/api/protocols/san/lun-maps",
)
NAMESPACES, SUBSYSTEMS = "/api/storage/namespaces", "/api/protocols/nvme/subsystems"
SUBSYSTEM_MAPS = "/api/protocols/nvme/subsystem-maps"


class Api:
    """curl, in process: ``api("POST", path, body)`` answers (status, json)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.client: FlaskClient = sim.app.test_client()

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = dict(AUTH)
        kw: dict[str, Any] = {}
        if body is not None:
            kw["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if method != "GET" and "return_timeout" not in path:
            path += ("&" if "?" in path else "?") + "return_timeout=10"
        response = self.client.open(path, method=method, headers=headers, **kw)
        return response.status_code, response.get_json(silent=True)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self(method, path, body)
        assert status in (200, 201), (method, path, status, answer)
        return answer

    def error(self, method: str, path: str, body: Any = None) -> tuple[int, str, str | None]:
        """(status, code, target) of a refusal."""
        status, answer = self(method, path, body)
        assert status >= 400, (method, path, status, answer)
        error = answer["error"]
        return status, error["code"], error.get("target")

    def one(self, collection: str, fields: str = "*", **query: str) -> dict[str, Any]:
        args = "&".join([f"fields={fields}", *(f"{k}={v}" for k, v in query.items())])
        records = self.ok("GET", f"{collection}?{args}")["records"]
        assert len(records) == 1, records
        result: dict[str, Any] = records[0]
        return result

    def lun(self, name: str = "/vol/vol1/lun1", size: int = 10 * MIB, **extra: Any) -> str:
        body = {"svm": VS0, "name": name, "os_type": "linux", "space": {"size": size}, **extra}
        self.ok("POST", LUNS, body)
        return str(self.one(LUNS, "uuid", name=name)["uuid"])

    def igroup(self, name: str = "ig1", **extra: Any) -> str:
        body = {"svm": VS0, "name": name, "os_type": "linux", "protocol": "iscsi", **extra}
        self.ok("POST", IGROUPS, body)
        return str(self.one(IGROUPS, "uuid", name=name)["uuid"])

    def map(self, lun: str = "/vol/vol1/lun1", igroup: str = "ig1", **extra: Any) -> None:
        body = {"svm": VS0, "lun": {"name": lun}, "igroup": {"name": igroup}, **extra}
        self.ok("POST", MAPS, body)


@pytest.fixture(scope="module")
def shared() -> Simulator:
    return Simulator(clock="virtual", scenario=SCENARIO)


@pytest.fixture
def api(shared: Simulator) -> Iterator[Api]:
    try:
        yield Api(shared)
        assert shared.errors == []  # no request ended in a traceback
    finally:
        shared.reset()


# -- LUNs ----------------------------------------------------------------------------------
def test_a_lun_named_by_its_path_gets_its_location_serial_and_state(api: Api) -> None:
    uuid = api.lun(size=10 * MIB)
    lun = api.ok("GET", f"{LUNS}/{uuid}?fields=**")
    volume = api.one("/api/storage/volumes", "uuid", name="vol1")
    shown = lun["location"]["volume"]
    assert (shown["name"], shown["uuid"]) == ("vol1", volume["uuid"])
    assert lun["location"]["logical_unit"] == "lun1"
    assert lun["location"]["node"]["name"]
    assert lun["svm"]["name"] == "vs0"
    assert len(lun["serial_number"]) == 12
    assert lun["serial_number_hex"] == lun["serial_number"].encode().hex()
    assert lun["enabled"] is True and lun["class"] == "regular"
    assert lun["status"] == {
        "state": "online",
        "container_state": "online",
        "read_only": False,
        "mapped": False,
    }
    assert lun["space"]["size"] == 10 * MIB and lun["space"]["used"] == 0
    assert lun["space"]["guarantee"] == {"requested": False, "reserved": False}
    assert lun["lun_maps"] == []


def test_a_lun_named_by_its_location_gets_its_path(api: Api) -> None:
    body = {
        "svm": VS0,
        "location": {"volume": {"name": "vol2"}, "logical_unit": "data"},
        "os_type": "windows",
        "space": {"size": MIB},
    }
    api.ok("POST", LUNS, body)
    assert api.one(LUNS, "name,location", **{"location.volume.name": "vol2"})["name"] == (
        "/vol/vol2/data"
    )


def test_serial_numbers_are_unique_and_stable_across_reads(api: Api) -> None:
    first, second = api.lun("/vol/vol1/a"), api.lun("/vol/vol1/b")
    serials = [
        api.ok("GET", f"{LUNS}/{u}?fields=serial_number")["serial_number"] for u in (first, second)
    ]
    assert serials[0] != serials[1]
    assert api.ok("GET", f"{LUNS}/{first}?fields=serial_number")["serial_number"] == serials[0]


@pytest.mark.parametrize(
    ("change", "code", "target"),
    [
        ({"name": "vol1/lun1"}, "5374127", "name"),
        ({"name": "/vol/vol1/a/b/c"}, "5374127", "name"),
        ({"name": "/vol/vol1/bad name"}, "5374121", "name"),
        ({"location": {"volume": {"name": "vol2"}}}, "5374858", "location.volume.name"),
        ({"location": {"logical_unit": "other"}}, "5374861", "location.logical_unit"),
        ({"name": "/vol/other/lun1"}, "917927", "name"),  # a volume of another SVM
        ({"name": "/vol/vol1/q1/lun1"}, "5242927", "name"),  # no such qtree
        ({"os_type": None}, "5374884", "os_type"),
        ({"space": {"size": None}}, "5374884", "space.size"),
        ({"space": {"size": 512}}, "5374124", "space.size"),
        ({"space": {"size": -1}}, "5374123", "space.size"),
        ({"space": {"size": 2**48}}, "5374125", "space.size"),
        ({"space": {"size": AVAILABLE + 1}}, "5374125", "space.size"),  # more than vol1 holds
    ],
)
def test_lun_create_refusals(api: Api, change: dict[str, Any], code: str, target: str) -> None:
    body: dict[str, Any] = {
        "svm": VS0,
        "name": "/vol/vol1/lun1",
        "os_type": "linux",
        "space": {"size": MIB},
    }
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    body = {k: v for k, v in body.items() if v is not None}
    body["space"] = {k: v for k, v in body.get("space", {}).items() if v is not None}
    if not body["space"]:
        del body["space"]
    assert api.error("POST", LUNS, body) == (400, code, target)
    assert api.ok("GET", LUNS)["num_records"] == 0


def test_a_lun_fills_its_volume_up_to_the_space_available(api: Api) -> None:
    api.lun("/vol/vol1/full", size=AVAILABLE)  # thin: reserves nothing
    api.lun("/vol/vol1/thin", size=AVAILABLE)
    reserved = {"space": {"size": 60 * MIB, "guarantee": {"requested": True}}}
    api.ok("POST", LUNS, {"svm": VS0, "name": "/vol/vol1/thick", "os_type": "linux", **reserved})
    # A space-reserved LUN holds its size: 35 MiB are left for the next one.
    too_big = {"svm": VS0, "name": "/vol/vol1/x", "os_type": "linux", "space": {"size": 36 * MIB}}
    assert api.error("POST", LUNS, too_big) == (400, "5374125", "space.size")
    assert api.lun("/vol/vol1/x", size=35 * MIB)
    record = api.one(LUNS, "space", name="/vol/vol1/thick")
    assert record["space"]["guarantee"] == {"requested": True, "reserved": True}


def test_a_path_is_taken_by_a_lun_or_a_namespace(api: Api) -> None:
    api.lun()
    again = {"svm": VS0, "name": "/vol/vol1/lun1", "os_type": "linux", "space": {"size": MIB}}
    assert api.error("POST", LUNS, again) == (409, "5374242", "name")
    namespace = {**again, "name": "/vol/vol1/ns1"}
    api.ok("POST", NAMESPACES, namespace)
    assert api.error("POST", LUNS, {**again, "name": "/vol/vol1/ns1"})[:2] == (409, "5374242")
    # The same path in another SVM is another LUN.
    other = {**again, "svm": VS1, "name": "/vol/other/lun1"}
    api.ok("POST", LUNS, other)


def test_lun_resize_grows_within_the_volume_and_never_shrinks(api: Api) -> None:
    uuid = api.lun(size=10 * MIB)
    path = f"{LUNS}/{uuid}"
    assert api.error("PATCH", path, {"space": {"size": 5 * MIB}}) == (400, "5374892", "space.size")
    assert api.error("PATCH", path, {"space": {"size": 10 * MIB}}) == (
        400,
        "1254226",
        "space.size",
    )
    too_big = {"space": {"size": AVAILABLE + 1}}
    assert api.error("PATCH", path, too_big) == (400, "5374125", "space.size")
    api.ok("PATCH", path, {"space": {"size": 20 * MIB}})
    assert api.ok("GET", f"{path}?fields=space.size")["space"]["size"] == 20 * MIB


def test_lun_rename_moves_its_path_and_location(api: Api) -> None:
    uuid = api.lun()
    api.lun("/vol/vol1/taken")
    path = f"{LUNS}/{uuid}"
    assert api.error("PATCH", path, {"name": "/vol/vol1/taken"}) == (409, "1254196", "name")
    api.ok("PATCH", path, {"name": "/vol/vol1/renamed"})
    lun = api.ok("GET", f"{path}?fields=name,location")
    assert lun["name"] == "/vol/vol1/renamed" and lun["location"]["logical_unit"] == "renamed"
    api.ok("PATCH", path, {"location": {"logical_unit": "again"}})
    assert api.ok("GET", f"{path}?fields=name")["name"] == "/vol/vol1/again"
    api.ok("PATCH", path, {"name": "/vol/vol2/moved"})  # to another volume of the SVM
    lun = api.ok("GET", f"{path}?fields=location")
    assert lun["location"]["volume"]["name"] == "vol2"


def test_a_lun_moved_to_another_volume_moves_in_the_background(api: Api) -> None:
    uuid = api.lun()
    path = f"{LUNS}/{uuid}"
    assert "movement" not in api.ok("GET", f"{path}?fields=movement")  # never moved
    api.sim.script(
        "PATCH",
        f"{path}/movement",
        [
            {"state": "queued", "seconds": 1},
            {"state": "running", "seconds": 10},
            {"state": "success"},
        ],
    )
    api.ok("PATCH", path, {"name": "/vol/vol2/lun1"})
    lun = api.ok("GET", f"{path}?fields=name,movement")
    assert lun["name"] == "/vol/vol2/lun1"  # the new path at once, as ONTAP's example shows
    assert lun["movement"]["paths"] == {"source": "/vol/vol1/lun1", "destination": "/vol/vol2/lun1"}
    assert lun["movement"]["progress"]["state"] == "preparing"
    assert "movement" not in api.ok("GET", f"{path}?fields=name")  # expensive: on request only
    # A second move while the first runs is refused; the running one can be paused.
    assert api.error("PATCH", path, {"name": "/vol/vol1/lun1"}) == (409, "7018919", "name")
    api.sim.advance(5)
    progress = api.ok("GET", f"{path}?fields=movement")["movement"]["progress"]
    assert progress["state"] == "replicating" and 0 < progress["percent_complete"] < 100
    api.ok("PATCH", path, {"movement": {"progress": {"state": "paused"}}})
    api.sim.advance(60)
    assert api.ok("GET", f"{path}?fields=movement")["movement"]["progress"]["state"] == "paused"
    api.ok("PATCH", path, {"movement": {"progress": {"state": "replicating"}}})
    api.sim.advance(10)
    progress = api.ok("GET", f"{path}?fields=movement")["movement"]["progress"]
    assert (progress["state"], progress["percent_complete"]) == ("complete", 100)
    assert api.error("PATCH", path, {"movement": {"progress": {"state": "paused"}}}) == (
        400,
        "5374889",
        "movement.progress.state",
    )
    api.sim.advance(121)  # shown for two minutes after it ended
    assert "movement" not in api.ok("GET", f"{path}?fields=movement")


def test_a_failed_lun_move_shows_its_failure(api: Api) -> None:
    uuid = api.lun()
    path = f"{LUNS}/{uuid}"
    api.sim.script(
        "PATCH",
        f"{path}/movement",
        [{"state": "running", "seconds": 2}, {"state": "failure", "code": 7018877}],
    )
    api.ok("PATCH", path, {"location": {"volume": {"name": "vol2"}}})
    api.sim.advance(3)
    progress = api.ok("GET", f"{path}?fields=movement")["movement"]["progress"]
    assert progress["state"] == "failed" and progress["failure"]["code"] == "7018877"


def test_lun_offline_and_online(api: Api) -> None:
    uuid = api.lun()
    api.ok("PATCH", f"{LUNS}/{uuid}", {"enabled": False})
    lun = api.ok("GET", f"{LUNS}/{uuid}?fields=enabled,status")
    assert lun["enabled"] is False and lun["status"]["state"] == "offline"
    assert api.ok("GET", f"{LUNS}?status.state=offline")["num_records"] == 1
    api.ok("PATCH", f"{LUNS}/{uuid}", {"enabled": True})
    assert api.ok("GET", f"{LUNS}/{uuid}?fields=status")["status"]["state"] == "online"


def test_a_lun_in_an_offline_volume_cannot_change(api: Api) -> None:
    uuid = api.lun()
    volume = api.one("/api/storage/volumes", "uuid", name="vol1")["uuid"]
    api.ok("PATCH", f"/api/storage/volumes/{volume}", {"state": "offline"})
    lun = api.ok("GET", f"{LUNS}/{uuid}?fields=status")
    assert lun["status"]["container_state"] == "volume_offline"
    assert lun["status"]["state"] == "offline"
    assert api.error("PATCH", f"{LUNS}/{uuid}", {"comment": "x"})[:2] == (400, "5374866")
    assert api.error("DELETE", f"{LUNS}/{uuid}")[:2] == (400, "5374866")


def test_a_clone_takes_its_source_os_type_and_size_in_the_same_volume(api: Api) -> None:
    api.lun(size=3 * MIB)
    clone = {"svm": VS0, "name": "/vol/vol1/clone", "clone": {"source": {"name": "/vol/vol1/lun1"}}}
    api.ok("POST", LUNS, clone)
    record = api.one(LUNS, "os_type,space.size,clone", name="/vol/vol1/clone")
    assert record["os_type"] == "linux" and record["space"]["size"] == 3 * MIB
    assert record["clone"]["created_as_clone"] is True
    elsewhere = {**clone, "name": "/vol/vol2/clone"}
    assert api.error("POST", LUNS, elsewhere)[:2] == (400, "1260121")
    missing = {**clone, "name": "/vol/vol1/c2", "clone": {"source": {"name": "/vol/vol1/no"}}}
    assert api.error("POST", LUNS, missing) == (400, "5374875", "clone.source.name")
    given = {**clone, "name": "/vol/vol1/c3", "os_type": "windows"}
    assert api.error("POST", LUNS, given) == (400, "5374883", "os_type")


def test_a_mapped_lun_is_deleted_only_when_allowed_and_its_maps_go_with_it(api: Api) -> None:
    uuid = api.lun()
    api.igroup()
    api.map()
    assert api.error("DELETE", f"{LUNS}/{uuid}") == (400, "1254197", None)
    refused = api.error("DELETE", f"{LUNS}/{uuid}?allow_delete_while_mapped=maybe")
    assert refused == (400, "262197", "allow_delete_while_mapped")
    assert api.error("DELETE", f"{LUNS}/{uuid}?force=true")[:2] == (404, "262179")
    api.ok("DELETE", f"{LUNS}/{uuid}?allow_delete_while_mapped=true")
    assert api.ok("GET", MAPS)["num_records"] == 0
    assert api.ok("GET", f"{IGROUPS}?fields=lun_maps")["records"][0]["lun_maps"] == []


def test_a_volume_holding_a_mapped_lun_refuses_deletion(api: Api) -> None:
    lun = api.lun()
    api.igroup()
    api.map()
    volume = api.one("/api/storage/volumes", "uuid", name="vol1")["uuid"]
    assert api.error("DELETE", f"/api/storage/volumes/{volume}")[:2] == (409, "1254197")
    api.ok("DELETE", f"{MAPS}/{lun}/{api.one(IGROUPS, 'uuid')['uuid']}")
    # Unmapped, the LUN goes with its volume.
    api.ok("DELETE", f"/api/storage/volumes/{volume}")
    assert api.ok("GET", LUNS)["num_records"] == 0


# -- igroups and initiators --------------------------------------------------------------------
def test_an_igroup_shows_its_initiators_and_its_sub_collection_holds_them(api: Api) -> None:
    uuid = api.igroup(initiators=[{"name": IQN1.upper(), "comment": "esx1"}, {"name": IQN2}])
    igroup = api.ok("GET", f"{IGROUPS}/{uuid}?fields=initiators,protocol,os_type,delete_on_unmap")
    assert [i["name"] for i in igroup["initiators"]] == [IQN1, IQN2]  # stored in lower case
    assert igroup["initiators"][0]["comment"] == "esx1" and "comment" not in igroup["initiators"][1]
    assert igroup["protocol"] == "iscsi" and igroup["delete_on_unmap"] is False
    listed = api.ok("GET", f"{IGROUPS}/{uuid}/initiators")
    assert [r["name"] for r in listed["records"]] == [IQN1, IQN2]
    one = api.ok("GET", f"{IGROUPS}/{uuid}/initiators/{IQN1}?fields=comment,igroup")
    assert one["comment"] == "esx1" and one["igroup"]["name"] == "ig1"
    assert api.ok("GET", f"{IGROUPS}?fields=protocol")["records"][0]["protocol"] == "iscsi"
    mixed = api.igroup("ig2", protocol=None)
    assert api.ok("GET", f"{IGROUPS}/{mixed}?fields=protocol")["protocol"] == "mixed"


def test_initiators_are_added_one_at_a_time_or_as_records_and_removed(api: Api) -> None:
    uuid = api.igroup()
    path = f"{IGROUPS}/{uuid}/initiators"
    api.ok("POST", path, {"name": IQN1})
    assert api.error("POST", path, {"name": IQN1}) == (409, "5374035", "name")
    api.ok("POST", path, {"records": [{"name": IQN2}, {"name": "iqn.2000-01.com.example:h3"}]})
    names = [i["name"] for i in api.ok("GET", f"{IGROUPS}/{uuid}?fields=initiators")["initiators"]]
    assert names == [IQN1, IQN2, "iqn.2000-01.com.example:h3"]
    batch = {"records": [{"name": "iqn.2000-01.com.example:h4"}, {"name": IQN2}]}
    assert api.error("POST", path, batch) == (409, "5374035", "records[1].name")
    api.ok("PATCH", f"{path}/{IQN2}", {"comment": "second"})
    api.ok("DELETE", f"{path}/{IQN1}")
    assert api.error("DELETE", f"{path}/{IQN1}")[:2] == (404, "4")
    left = api.ok("GET", f"{IGROUPS}/{uuid}?fields=initiators")["initiators"]
    assert [(i["name"], i.get("comment")) for i in left] == [
        (IQN2, "second"),
        ("iqn.2000-01.com.example:h3", None),
    ]


@pytest.mark.parametrize(
    ("name", "protocol", "code"),
    [
        ("iqn.", "iscsi", "5373969"),
        ("iqn.98-01.com.x:h", "iscsi", "5373971"),
        ("iqn.1998-01.:h", "iscsi", "5373972"),
        ("eui.0123", "iscsi", "5373977"),
        ("eui.0123456789abcdeg", "iscsi", "5373978"),
        ("20:00:00:25:b5:00:01", "fcp", "5373982"),
        ("20:00:00:25:b5:00:00:zz", "fcp", "5373983"),
        ("host1", "iscsi", "5373993"),
        (WWPN, "iscsi", "5374039"),
        (IQN1, "fcp", "5374038"),
    ],
)
def test_initiator_names_are_checked(api: Api, name: str, protocol: str, code: str) -> None:
    body = {"svm": VS0, "name": "ig1", "os_type": "linux", "protocol": protocol}
    assert api.error("POST", IGROUPS, {**body, "initiators": [{"name": name}]}) == (
        400,
        code,
        "initiators[0].name",
    )
    uuid = api.igroup(protocol=protocol)
    assert api.error("POST", f"{IGROUPS}/{uuid}/initiators", {"name": name}) == (400, code, "name")


def test_a_bare_wwpn_gets_its_colons(api: Api) -> None:
    uuid = api.igroup(protocol="fcp", initiators=[{"name": "20000025B5000001"}])
    assert api.ok("GET", f"{IGROUPS}/{uuid}/initiators")["records"][0]["name"] == WWPN


def test_igroup_names_are_unique_in_an_svm_and_shared_with_subsystems(api: Api) -> None:
    api.igroup()
    again = {"svm": VS0, "name": "ig1", "os_type": "linux"}
    assert api.error("POST", IGROUPS, again) == (409, "5374023", "name")
    assert api.error("POST", IGROUPS, {**again, "name": "bad name"}) == (400, "5373958", "name")
    api.ok("POST", IGROUPS, {**again, "svm": VS1})  # another SVM
    api.ok("POST", SUBSYSTEMS, {"svm": VS0, "name": "sub1", "os_type": "linux"})
    assert api.error("POST", IGROUPS, {**again, "name": "sub1"}) == (409, "5376488", "name")
    second = api.igroup("ig2")
    assert api.error("PATCH", f"{IGROUPS}/{second}", {"name": "ig1"}) == (409, "5374023", "name")
    api.ok("PATCH", f"{IGROUPS}/{second}", {"name": "ig3", "comment": "renamed"})


def test_an_initiator_keeps_one_os_type_across_igroups(api: Api) -> None:
    api.igroup(initiators=[{"name": IQN1}])
    windows = {"svm": VS0, "name": "ig2", "os_type": "windows", "initiators": [{"name": IQN1}]}
    assert api.error("POST", IGROUPS, windows) == (400, "5374732", "initiators")
    second = api.igroup("ig2", os_type="windows")
    path = f"{IGROUPS}/{second}/initiators"
    assert api.error("POST", path, {"name": IQN1}) == (400, "5374734", "initiators")
    api.igroup("ig3", initiators=[{"name": IQN1}])  # same os_type: fine
    third = api.one(IGROUPS, "uuid", name="ig3")["uuid"]
    patch = {"os_type": "windows"}
    assert api.error("PATCH", f"{IGROUPS}/{third}", patch) == (400, "5374733", "initiators")


def test_a_mapped_igroup_refuses_deletion_and_initiator_removal_unless_allowed(api: Api) -> None:
    lun = api.lun()
    uuid = api.igroup(initiators=[{"name": IQN1}, {"name": IQN2}])
    api.map()
    initiator = f"{IGROUPS}/{uuid}/initiators/{IQN1}"
    assert api.error("DELETE", initiator) == (400, "1254213", None)
    api.ok("DELETE", f"{initiator}?allow_delete_while_mapped=true")
    assert api.error("DELETE", f"{IGROUPS}/{uuid}") == (400, "1254213", None)
    api.ok("DELETE", f"{IGROUPS}/{uuid}?allow_delete_while_mapped=true")
    assert api.ok("GET", MAPS)["num_records"] == 0
    assert api.error("GET", f"{IGROUPS}/{uuid}/initiators")[:2] == (404, "4")  # gone with it
    assert api.ok("GET", f"{LUNS}/{lun}?fields=status")["status"]["mapped"] is False
    assert api.ok("GET", "/api/protocols/san/igroups")["num_records"] == 0


def test_an_igroup_deleted_on_unmap_goes_with_its_last_map(api: Api) -> None:
    first, second = api.lun("/vol/vol1/a"), api.lun("/vol/vol1/b")
    uuid = api.igroup(delete_on_unmap=True, initiators=[{"name": IQN1}])
    api.map("/vol/vol1/a")
    api.map("/vol/vol1/b")
    api.ok("DELETE", f"{MAPS}/{first}/{uuid}")
    assert api.ok("GET", IGROUPS)["num_records"] == 1
    api.ok("DELETE", f"{MAPS}/{second}/{uuid}")
    assert api.ok("GET", IGROUPS)["num_records"] == 0


# -- LUN maps ----------------------------------------------------------------------------------
def test_lun_maps_get_the_lowest_free_number_or_the_one_asked(api: Api) -> None:
    for name in ("a", "b", "c", "d"):
        api.lun(f"/vol/vol1/{name}")
    api.igroup()
    api.map("/vol/vol1/a")
    api.map("/vol/vol1/b", logical_unit_number=2)
    api.map("/vol/vol1/c")
    numbers = {
        r["lun"]["name"]: r["logical_unit_number"]
        for r in api.ok("GET", f"{MAPS}?fields=lun.name,igroup.name,logical_unit_number")["records"]
    }
    assert numbers == {"/vol/vol1/a": 0, "/vol/vol1/b": 2, "/vol/vol1/c": 1}
    taken = {"svm": VS0, "lun": {"name": "/vol/vol1/d"}, "igroup": {"name": "ig1"}}
    assert api.error("POST", MAPS, {**taken, "logical_unit_number": 2}) == (
        409,
        "1254324",
        "logical_unit_number",
    )
    bad = api.error("POST", MAPS, {**taken, "logical_unit_number": 4096})
    assert bad[0] == 400 and bad[2] == "logical_unit_number"
    api.map("/vol/vol1/d")
    assert (
        api.one(MAPS, "logical_unit_number", **{"lun.name": "/vol/vol1/d"})["logical_unit_number"]
        == 3
    )


def test_igroups_sharing_an_initiator_share_its_logical_unit_numbers(api: Api) -> None:
    api.lun("/vol/vol1/a")
    api.lun("/vol/vol1/b")
    api.igroup(initiators=[{"name": IQN1}])
    api.igroup("ig2", initiators=[{"name": IQN1}, {"name": IQN2}])
    api.map("/vol/vol1/a", "ig1")
    api.map("/vol/vol1/b", "ig2")
    numbers = {
        r["igroup"]["name"]: r["logical_unit_number"]
        for r in api.ok("GET", f"{MAPS}?fields=lun.name,igroup.name,logical_unit_number")["records"]
    }
    assert numbers == {"ig1": 0, "ig2": 1}


def test_a_map_shows_on_its_lun_and_igroup_and_a_duplicate_is_refused(api: Api) -> None:
    lun = api.lun()
    igroup = api.igroup(initiators=[{"name": IQN1}])
    api.map()
    mapped = api.ok("GET", f"{LUNS}/{lun}?fields=lun_maps,status.mapped")
    assert mapped["status"]["mapped"] is True
    assert [(m["igroup"]["name"], m["logical_unit_number"]) for m in mapped["lun_maps"]] == [
        ("ig1", 0)
    ]
    assert "lun_maps" not in api.ok("GET", f"{LUNS}/{lun}")  # an expensive field
    shown = api.ok("GET", f"{IGROUPS}/{igroup}?fields=lun_maps")["lun_maps"]
    assert [(m["lun"]["name"], m["logical_unit_number"]) for m in shown] == [("/vol/vol1/lun1", 0)]
    record = api.ok("GET", f"{MAPS}/{lun}/{igroup}?fields=*")
    assert record["igroup"]["initiators"] == [IQN1] and record["igroup"]["protocol"] == "iscsi"
    assert record["lun"]["node"]["name"] and record["svm"]["name"] == "vs0"
    again = {"svm": VS0, "lun": {"name": "/vol/vol1/lun1"}, "igroup": {"name": "ig1"}}
    assert api.error("POST", MAPS, again) == (409, "1254207", "lun.name")
    api.ok("DELETE", f"{MAPS}/{lun}/{igroup}")
    assert api.ok("GET", f"{LUNS}/{lun}?fields=status")["status"]["mapped"] is False
    assert api.error("DELETE", f"{MAPS}/{lun}/{igroup}")[:2] == (404, "4")


def test_a_lun_and_an_igroup_of_different_svms_cannot_be_mapped(api: Api) -> None:
    api.lun()
    api.ok("POST", IGROUPS, {"svm": VS1, "name": "remote", "os_type": "linux"})
    body = {"svm": VS0, "lun": {"name": "/vol/vol1/lun1"}, "igroup": {"name": "remote"}}
    assert api.error("POST", MAPS, body) == (400, "5374878", "igroup.name")
    api.igroup()
    body = {"svm": VS0, "lun": {"name": "/vol/vol1/none"}, "igroup": {"name": "ig1"}}
    assert api.error("POST", MAPS, body) == (400, "1254201", "lun.name")
    assert api.ok("GET", MAPS)["num_records"] == 0


def test_an_svm_with_igroups_or_subsystems_refuses_deletion_its_other_objects_go_with_it(
    api: Api,
) -> None:
    # ONTAP's "Deleting an SVM": igroups are deleted by hand first; other objects go with it.
    api.ok("POST", IGROUPS, {"svm": VS1, "name": "ig1", "os_type": "linux"})
    api.ok("POST", SUBSYSTEMS, {"svm": VS1, "name": "sub1", "os_type": "linux"})
    schedule = {"count": 1, "schedule": {"name": "daily"}}
    api.ok(
        "POST", "/api/storage/snapshot-policies", {"svm": VS1, "name": "sp", "copies": [schedule]}
    )
    api.ok("DELETE", "/api/storage/volumes?name=other")
    status, code, _ = api.error("DELETE", "/api/svm/svms?name=vs1")
    assert (status, code) == (409, "1")
    api.ok("DELETE", f"{IGROUPS}?name=ig1")
    assert api.error("DELETE", "/api/svm/svms?name=vs1")[:2] == (409, "1")  # the subsystem
    api.ok("DELETE", f"{SUBSYSTEMS}?name=sub1")
    api.ok("DELETE", "/api/svm/svms?name=vs1")
    assert api.ok("GET", "/api/svm/svms?name=vs1")["num_records"] == 0
    policies = api.ok("GET", "/api/storage/snapshot-policies?name=sp")
    assert policies["num_records"] == 0  # gone with its SVM


def test_a_map_of_a_renamed_lun_shows_its_new_name(api: Api) -> None:
    lun = api.lun()
    api.igroup()
    api.map()
    api.ok("PATCH", f"{LUNS}/{lun}", {"name": "/vol/vol1/renamed"})
    assert (
        api.ok("GET", f"{MAPS}?fields=lun.name")["records"][0]["lun"]["name"] == "/vol/vol1/renamed"
    )


# -- NVMe --------------------------------------------------------------------------------------
def _namespace(api: Api, name: str = "/vol/vol1/ns1", size: int = 10 * MIB) -> str:
    body = {"svm": VS0, "name": name, "os_type": "linux", "space": {"size": size}}
    api.ok("POST", NAMESPACES, body)
    return str(api.one(NAMESPACES, "uuid", name=name)["uuid"])


def _subsystem(api: Api, name: str = "sub1", **extra: Any) -> str:
    api.ok("POST", SUBSYSTEMS, {"svm": VS0, "name": name, "os_type": "linux", **extra})
    return str(api.one(SUBSYSTEMS, "uuid", name=name)["uuid"])


def test_a_namespace_lives_in_a_volume_like_a_lun(api: Api) -> None:
    body = {
        "svm": VS0,
        "location": {"volume": {"name": "vol1"}, "namespace": "ns1"},
        "os_type": "linux",
        "space": {"size": MIB},
    }
    api.ok("POST", NAMESPACES, body)
    record = api.one(NAMESPACES, "**", name="/vol/vol1/ns1")
    assert record["location"]["namespace"] == "ns1" and record["enabled"] is True
    assert record["space"]["block_size"] == 4096 and record["status"]["state"] == "online"
    vmware = {**body, "name": "/vol/vol1/esx", "location": {}, "os_type": "vmware"}
    api.ok("POST", NAMESPACES, vmware)
    assert api.one(NAMESPACES, "space", name="/vol/vol1/esx")["space"]["block_size"] == 512
    assert record["status"]["mapped"] is False and "subsystem_map" not in record
    assert api.error("POST", NAMESPACES, body) == (409, "72089725", "name")
    wrong = {
        **body,
        "location": {"volume": {"name": "vol1"}, "namespace": "ns2"},
        "name": "/vol/vol1/x",
    }
    assert api.error("POST", NAMESPACES, wrong) == (400, "5374861", "location.namespace")
    big = {**body, "name": "/vol/vol1/big", "location": {}, "space": {"size": AVAILABLE + 1}}
    assert api.error("POST", NAMESPACES, big) == (400, "72089724", "space.size")
    small = {**big, "space": {"size": 100}}
    assert api.error("POST", NAMESPACES, small) == (400, "72089723", "space.size")
    bad = {**big, "name": "/vol/vol1/b@d", "space": {"size": MIB}}
    assert api.error("POST", NAMESPACES, bad) == (400, "72089732", "name")
    uuid = api.one(NAMESPACES, "uuid", name="/vol/vol1/ns1")["uuid"]
    assert api.error("PATCH", f"{NAMESPACES}/{uuid}", {"space": {"size": 1024 * 4}})[:2] == (
        400,
        "72090038",
    )
    api.ok("PATCH", f"{NAMESPACES}/{uuid}", {"space": {"size": 2 * MIB}})


def test_a_subsystem_holds_hosts_and_refuses_bad_nqns(api: Api) -> None:
    uuid = _subsystem(api, hosts=[{"nqn": NQN1}])
    record = api.ok("GET", f"{SUBSYSTEMS}/{uuid}?fields=*")
    assert record["hosts"] == [{"nqn": NQN1}] and record["subsystem_maps"] == []
    assert record["target_nqn"].startswith("nqn.1992-08.com.netapp:sn.")
    assert record["target_nqn"].endswith(":subsystem.sub1") and record["serial_number"]
    hosts = f"{SUBSYSTEMS}/{uuid}/hosts"
    api.ok("POST", hosts, {"nqn": NQN2})
    assert api.error("POST", hosts, {"nqn": NQN2}) == (409, "72089705", "nqn")
    assert [h["nqn"] for h in api.ok("GET", hosts)["records"]] == [NQN1, NQN2]
    api.ok(
        "POST", hosts, {"records": [{"nqn": "nqn.2000-01.com.x:a"}, {"nqn": "nqn.2000-01.com.x:b"}]}
    )
    assert api.ok("GET", hosts)["num_records"] == 4
    for nqn, code in [
        ("host1", "72089772"),
        ("nqn.", "72089771"),
        ("nqn.20-01.com.x:a", "72089773"),
        ("nqn.2000-01.", "72089771"),
    ]:
        assert api.error("POST", hosts, {"nqn": nqn}) == (400, code, "nqn")
    body = {"svm": VS0, "name": "sub1", "os_type": "linux"}
    assert api.error("POST", SUBSYSTEMS, body) == (409, "72090025", "name")
    api.igroup("ig1")
    assert api.error("POST", SUBSYSTEMS, {**body, "name": "ig1"}) == (409, "72090043", "name")
    assert api.error("POST", SUBSYSTEMS, {**body, "name": "a/b"}) == (400, "72089709", "name")
    twice = {**body, "name": "sub2", "hosts": [{"nqn": NQN1}, {"nqn": NQN1}]}
    assert api.error("POST", SUBSYSTEMS, twice) == (400, "72090036", "hosts[1].nqn")


def test_a_namespace_maps_to_one_subsystem_with_an_nsid(api: Api) -> None:
    first, second = _namespace(api), _namespace(api, "/vol/vol1/ns2")
    sub1, sub2 = _subsystem(api), _subsystem(api, "sub2")
    body = {"svm": VS0, "namespace": {"name": "/vol/vol1/ns1"}, "subsystem": {"name": "sub1"}}
    api.ok("POST", SUBSYSTEM_MAPS, body)
    api.ok("POST", SUBSYSTEM_MAPS, {**body, "namespace": {"name": "/vol/vol1/ns2"}})
    nsids = {
        r["namespace"]["name"]: r["nsid"]
        for r in api.ok("GET", f"{SUBSYSTEM_MAPS}?fields=namespace.name,nsid")["records"]
    }
    assert nsids == {"/vol/vol1/ns1": "00000001h", "/vol/vol1/ns2": "00000002h"}
    assert api.error("POST", SUBSYSTEM_MAPS, body) == (409, "72089790", "namespace.name")
    other = {**body, "subsystem": {"name": "sub2"}}
    assert api.error("POST", SUBSYSTEM_MAPS, other) == (409, "72089790", "namespace.name")
    namespace = api.ok("GET", f"{NAMESPACES}/{first}?fields=subsystem_map,status.mapped")
    assert namespace["status"]["mapped"] is True
    assert namespace["subsystem_map"]["subsystem"]["name"] == "sub1"
    assert namespace["subsystem_map"]["nsid"] == "00000001h"
    maps = api.ok("GET", f"{SUBSYSTEMS}/{sub1}?fields=subsystem_maps")["subsystem_maps"]
    assert [m["namespace"]["name"] for m in maps] == ["/vol/vol1/ns1", "/vol/vol1/ns2"]
    api.ok("DELETE", f"{SUBSYSTEM_MAPS}/{sub1}/{second}")
    assert api.error("DELETE", f"{SUBSYSTEM_MAPS}/{sub1}/{second}")[:2] == (404, "4")
    api.ok("POST", SUBSYSTEM_MAPS, {**other, "namespace": {"name": "/vol/vol1/ns2"}})
    assert (
        api.ok("GET", f"{SUBSYSTEMS}/{sub2}?fields=subsystem_maps")["subsystem_maps"][0]["nsid"]
        == "00000001h"
    )


def test_mapped_namespaces_and_subsystems_refuse_deletion_unless_allowed(api: Api) -> None:
    namespace = _namespace(api)
    subsystem = _subsystem(api, hosts=[{"nqn": NQN1}])
    body = {"svm": VS0, "namespace": {"name": "/vol/vol1/ns1"}, "subsystem": {"name": "sub1"}}
    api.ok("POST", SUBSYSTEM_MAPS, body)
    assert api.error("DELETE", f"{NAMESPACES}/{namespace}") == (400, "72089796", None)
    volume = api.one("/api/storage/volumes", "uuid", name="vol1")["uuid"]
    assert api.error("DELETE", f"/api/storage/volumes/{volume}")[:2] == (409, "72089796")
    path = f"{SUBSYSTEMS}/{subsystem}"
    assert api.error("DELETE", path) == (400, "72090023", None)
    assert api.error("DELETE", f"{path}?allow_delete_while_mapped=true") == (400, "72090024", None)
    api.ok("DELETE", f"{path}?allow_delete_while_mapped=true&allow_delete_with_hosts=true")
    assert api.ok("GET", SUBSYSTEM_MAPS)["num_records"] == 0
    assert api.ok("GET", f"{NAMESPACES}/{namespace}?fields=status")["status"]["mapped"] is False
    api.ok("DELETE", f"/api/storage/volumes/{volume}")  # the unmapped namespace goes with it
    assert api.ok("GET", NAMESPACES)["num_records"] == 0


def test_a_mapped_namespace_is_deleted_with_its_map_when_allowed(api: Api) -> None:
    namespace = _namespace(api)
    _subsystem(api, delete_on_unmap=True)
    body = {"svm": VS0, "namespace": {"name": "/vol/vol1/ns1"}, "subsystem": {"name": "sub1"}}
    api.ok("POST", SUBSYSTEM_MAPS, body)
    api.ok("DELETE", f"{NAMESPACES}/{namespace}?allow_delete_while_mapped=true")
    assert api.ok("GET", SUBSYSTEM_MAPS)["num_records"] == 0
    assert api.ok("GET", SUBSYSTEMS)["num_records"] == 0  # delete_on_unmap


# -- scenarios -------------------------------------------------------------------------------
def test_a_scenario_can_hold_luns_igroups_and_maps_with_stable_serials() -> None:
    scenario = {
        **SCENARIO,
        "records": {
            "Lun": [
                {"svm": VS0, "name": "/vol/vol1/db", "os_type": "linux", "space": {"size": MIB}}
            ],
            "Igroup": [
                {"svm": VS0, "name": "hosts", "os_type": "linux", "initiators": [{"name": IQN1}]}
            ],
            "LunMap": [{"svm": VS0, "lun": {"name": "/vol/vol1/db"}, "igroup": {"name": "hosts"}}],
        },
    }
    sim = Simulator(scenario=scenario)
    api = Api(sim)
    lun = api.one(LUNS, "serial_number,status.mapped")
    assert lun["status"]["mapped"] is True
    sim.reset()
    assert api.one(LUNS, "serial_number")["serial_number"] == lun["serial_number"]
    assert api.one(IGROUPS, "initiators")["initiators"][0]["name"] == IQN1
    fresh = Api(Simulator(scenario=scenario)).one(LUNS, "serial_number")  # another run
    assert fresh["serial_number"] == lun["serial_number"]
    assert sim.errors == []


# -- what the modules rely on --------------------------------------------------------------
def test_the_fields_a_query_filters_on_are_returned(api: Api) -> None:
    # na_ontap_lun filters on location.volume.name and reads it back from the record.
    api.lun()
    record = api.ok("GET", f"{LUNS}?location.volume.name=vol1&svm.name=vs0")["records"][0]
    assert record["location"]["volume"]["name"] == "vol1" and record["svm"]["name"] == "vs0"
    assert "os_type" not in record


def test_a_number_written_as_a_string_is_taken(api: Api) -> None:
    # na_ontap_lun_map sends lun_id as a string.
    api.lun()
    api.igroup()
    body = {"svm": VS0, "lun": {"name": "/vol/vol1/lun1"}, "igroup": {"name": "ig1"}}
    assert api.error("POST", MAPS, {**body, "logical_unit_number": "three"})[::2] == (
        400,
        "logical_unit_number",
    )
    api.ok("POST", MAPS, {**body, "logical_unit_number": "3"})
    assert api.one(MAPS, "logical_unit_number")["logical_unit_number"] == 3


def test_a_collection_get_reads_the_volumes_once(api: Api) -> None:
    # Each LUN shows its volume's state: the volumes are read once per GET, not once per LUN
    # (500 LUNs in 20 volumes: 2.6 s -> 0.1 s).
    for index in range(5):
        api.lun(f"/vol/vol1/l{index}")
    store = api.sim.store
    reads: list[str] = []
    render = store.render

    def counted(resource: Any, record: Any) -> Any:
        reads.append(resource.name)
        return render(resource, record)

    store.render = counted  # type: ignore[method-assign]
    try:
        api.ok("GET", f"{LUNS}?fields=**")
    finally:
        store.render = render  # type: ignore[method-assign]
    assert reads.count("Volume") == len(api.sim.inventory.volumes())  # each once, not per LUN
