"""netapp-ontap's resources, unchanged, through create, read, modify and delete (issue 12).

LUN, igroup, LUN map, qtree, export policy with a rule, quota rule, NVMe namespace and
SnapMirror relationship: none has a deep model yet, so this is the generic store built from
the compiled declaration answering NetApp's own client as a cluster would — jobs polled where
ONTAP runs the operation as a job, 201 with a ``Location`` the library reads its keys from,
references filled both ways, and ONTAP's errors raised as ``NetAppRestError``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from netapp_host import connected, served
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (
    ExportPolicy,
    ExportRule,
    Igroup,
    Lun,
    LunMap,
    NvmeNamespace,
    Qtree,
    QuotaRule,
    SnapmirrorRelationship,
)

from simulator import ServerHandle, Simulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

SVM = {"name": "vs0"}
SCENARIO = {
    # Every job: running for 50 ms, then success (the library polls every 20 ms).
    "default_script": [{"state": "running", "seconds": 0.05}, {"state": "success"}],
    "inventory": {
        "svms": [{"name": "vs0"}, {"name": "vs1"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [
            # Room for the 1 GiB LUN and namespace (a LUN must fit in its volume).
            {"name": "vol1", "svm": SVM, "aggregates": [{"name": "aggr1"}], "size": 4 * 1024**3},
            {"name": "vol1_dst", "svm": SVM, "aggregates": [{"name": "aggr1"}], "type": "dp"},
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


def _jobs(sim: Simulator, description: str) -> list[str]:
    return [j["state"] for j in sim.jobs.records() if j["description"].startswith(description)]


def test_lun_create_read_modify_delete(sim: Simulator) -> None:
    lun = Lun(svm=SVM, name="/vol/vol1/lun1", os_type="linux", space={"size": 1024**3})
    lun.post(poll=True)  # a job: 202, polled to success, keys from Location
    assert _jobs(sim, "POST /api/storage/luns") == ["success"]
    assert lun.uuid
    found = Lun(uuid=lun.uuid)
    found.get()
    assert found.name == "/vol/vol1/lun1" and found.os_type == "linux"
    assert found.svm.name == "vs0" and found.svm.uuid  # the reference filled both ways
    found.comment = "db"
    found.patch(poll=True)
    again = Lun(uuid=lun.uuid)
    again.get(fields="comment")
    assert again.comment == "db"
    again.delete(poll=True)
    assert list(Lun.get_collection()) == []
    with pytest.raises(NetAppRestError) as caught:
        Lun(uuid=lun.uuid).get()
    assert caught.value.http_err_response.http_response.status_code == 404


def test_igroup_create_read_modify_delete(sim: Simulator) -> None:
    igroup = Igroup(
        svm=SVM,
        name="ig1",
        os_type="linux",
        protocol="iscsi",
        initiators=[{"name": "iqn.1998-01.com.vmware:host1"}],
    )
    igroup.post()  # answered at once: 201 with Location, no job
    assert _jobs(sim, "POST /api/protocols/san/igroups") == []
    found = Igroup.find(name="ig1")
    assert found is not None and found.uuid == igroup.uuid and found.protocol == "iscsi"
    found.comment = "hosts"
    found.patch()
    assert Igroup.find(name="ig1", fields="comment").comment == "hosts"
    with pytest.raises(NetAppRestError, match="os_type"):
        Igroup(svm=SVM, name="ig2", os_type="beos", protocol="iscsi").post()
    found.delete()
    assert Igroup.find(name="ig1") is None


def test_lun_map_create_read_modify_delete(sim: Simulator) -> None:
    Lun(svm=SVM, name="/vol/vol1/lun1", os_type="linux", space={"size": 1024**3}).post(poll=True)
    Igroup(svm=SVM, name="ig1", os_type="linux", protocol="iscsi").post()
    lun_map = LunMap(svm=SVM, igroup={"name": "ig1"}, lun={"name": "/vol/vol1/lun1"})
    lun_map.post()
    assert lun_map.lun.uuid and lun_map.igroup.uuid  # keys read from Location
    found = LunMap(lun={"uuid": lun_map.lun.uuid}, igroup={"uuid": lun_map.igroup.uuid})
    found.get()
    assert found.lun.name == "/vol/vol1/lun1" and found.igroup.name == "ig1"
    LunMap.patch_collection({"replicated": False}, **{"igroup.name": "ig1"})
    found.get(fields="replicated")
    assert found.replicated is False
    with pytest.raises(NetAppRestError, match='Igroup "nope" does not exist'):
        LunMap(svm=SVM, igroup={"name": "nope"}, lun={"name": "/vol/vol1/lun1"}).post()
    with pytest.raises(NetAppRestError) as duplicate:
        LunMap(svm=SVM, igroup={"name": "ig1"}, lun={"name": "/vol/vol1/lun1"}).post()
    assert duplicate.value.http_err_response.http_response.status_code == 409
    found.delete()
    assert list(LunMap.get_collection()) == []


def test_qtree_create_read_modify_delete(sim: Simulator) -> None:
    qtree = Qtree(svm=SVM, volume={"name": "vol1"}, name="q1", security_style="unix")
    qtree.post(poll=True)
    assert qtree.volume.uuid and qtree.id is not None
    found = Qtree(volume={"uuid": qtree.volume.uuid}, id=qtree.id)
    found.get()
    assert found.name == "q1" and found.volume.name == "vol1"
    found.security_style = "ntfs"
    found.patch(poll=True)
    assert Qtree.find(name="q1", fields="security_style").security_style == "ntfs"
    with pytest.raises(NetAppRestError, match='Volume "nope" does not exist'):
        Qtree(svm=SVM, volume={"name": "nope"}, name="q2").post(poll=True)
    found.delete(poll=True)
    assert Qtree.find(name="q1") is None


def test_export_policy_and_rule_create_read_modify_delete(sim: Simulator) -> None:
    policy = ExportPolicy(svm=SVM, name="p1")
    policy.post()
    assert isinstance(policy.id, int)  # ONTAP's export policies are keyed by an integer id
    rule = ExportRule(
        policy.id, clients=[{"match": "0.0.0.0/0"}], ro_rule=["any"], rw_rule=["never"]
    )
    rule.post()
    assert isinstance(rule.index, int)
    found = ExportRule(policy.id, index=rule.index)
    found.get()
    assert found.clients[0].match == "0.0.0.0/0" and found.rw_rule == ["never"]
    found.rw_rule = ["sys"]
    found.patch()
    found.get()
    assert found.rw_rule == ["sys"]
    policy.name = "p2"
    policy.patch()
    assert ExportPolicy.find(name="p2").id == policy.id
    found.delete()
    policy.delete()
    assert ExportPolicy.find(name="p2") is None


def test_quota_rule_create_read_modify_delete(sim: Simulator) -> None:
    rule = QuotaRule(
        svm=SVM,
        volume={"name": "vol1"},
        type="tree",
        qtree={"name": ""},
        space={"hard_limit": 1024**3},
    )
    rule.post(poll=True)
    found = QuotaRule(uuid=rule.uuid)
    found.get()
    assert found.type == "tree" and found.space.hard_limit == 1024**3
    found.space = {"hard_limit": 2 * 1024**3}
    found.patch(poll=True)
    found.get(fields="space")
    assert found.space.hard_limit == 2 * 1024**3
    with pytest.raises(NetAppRestError, match="type"):
        QuotaRule(svm=SVM, volume={"name": "vol1"}, type="bucket").post(poll=True)
    found.delete(poll=True)
    assert list(QuotaRule.get_collection()) == []


def test_nvme_namespace_create_read_modify_delete(sim: Simulator) -> None:
    namespace = NvmeNamespace(
        svm=SVM, name="/vol/vol1/ns1", os_type="linux", space={"size": 1024**3}
    )
    namespace.post(poll=True)
    found = NvmeNamespace(uuid=namespace.uuid)
    found.get()
    assert found.name == "/vol/vol1/ns1"
    found.comment = "nvme"
    found.patch(poll=True)
    assert NvmeNamespace.find(name="/vol/vol1/ns1", fields="comment").comment == "nvme"
    found.delete(poll=True)
    assert NvmeNamespace.find(name="/vol/vol1/ns1") is None


def test_snapmirror_relationship_create_read_modify_delete(sim: Simulator) -> None:
    relationship = SnapmirrorRelationship(
        source={"path": "vs0:vol1"}, destination={"path": "vs0:vol1_dst"}
    )
    relationship.post(poll=True)
    assert _jobs(sim, "POST /api/snapmirror/relationships") == ["success"]
    found = SnapmirrorRelationship(uuid=relationship.uuid)
    found.get()
    assert found.source.path == "vs0:vol1" and found.destination.path == "vs0:vol1_dst"
    found.state = "snapmirrored"
    found.patch(poll=True)
    found.get(fields="state")
    assert found.state == "snapmirrored"
    found.delete(poll=True)
    assert list(SnapmirrorRelationship.get_collection()) == []
