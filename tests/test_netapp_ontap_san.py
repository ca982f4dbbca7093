"""netapp-ontap's SAN resources, unchanged, meeting the simulator's SAN rules (issue 13).

Over HTTP like tests/test_netapp_ontap_resources.py: each family's refusals come back to
NetApp's own client as ``NetAppRestError`` carrying ONTAP's status and code, and the side
effects (numbers assigned, maps shown, records gone with what held them) read back through
the library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from netapp_host import connected, served
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (
    Igroup,
    IgroupInitiator,
    Lun,
    LunMap,
    NvmeNamespace,
    NvmeSubsystem,
    NvmeSubsystemHost,
    NvmeSubsystemMap,
    Volume,
)

from simulator import ServerHandle, Simulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

SVM = {"name": "vs0"}
MIB = 1024 * 1024
IQN1, IQN2 = "iqn.1998-01.com.vmware:host1", "iqn.1998-01.com.vmware:host2"
NQN = "nqn.2014-08.org.nvmexpress:uuid:host1"
SCENARIO = {
    "default_script": [{"state": "running", "seconds": 0.02}, {"state": "success"}],
    "inventory": {
        "svms": [SVM, {"name": "vs1"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [{"name": "vol1", "svm": SVM, "size": 100 * MIB}],
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


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    """(status, ONTAP code) of the NetAppRestError ``call(...)`` raises."""
    with pytest.raises(NetAppRestError) as caught:
        call(*args, **kwargs)
    error = caught.value.http_err_response.http_response.json()["error"]
    return caught.value.http_err_response.http_response.status_code, error["code"]


def _lun(name: str = "/vol/vol1/lun1", size: int = 10 * MIB) -> Lun:
    lun = Lun(svm=SVM, name=name, os_type="linux", space={"size": size})
    lun.post(poll=True)
    return lun


def test_luns(sim: Simulator) -> None:
    lun = _lun()
    lun.get(fields="serial_number,location,status,space")
    assert lun.location.logical_unit == "lun1" and lun.location.volume.name == "vol1"
    assert len(lun.serial_number) == 12 and lun.status.state == "online"
    too_big = Lun(svm=SVM, name="/vol/vol1/big", os_type="linux", space={"size": 200 * MIB})
    assert refused(too_big.post, poll=True) == (400, "5374125")
    no_os = Lun(svm=SVM, name="/vol/vol1/x", space={"size": MIB})
    assert refused(no_os.post, poll=True) == (400, "5374884")
    assert refused(_lun) == (409, "5374242")  # the path is taken
    elsewhere = Lun(svm={"name": "vs1"}, name="/vol/vol1/x", os_type="linux", space={"size": MIB})
    assert refused(elsewhere.post, poll=True) == (400, "917927")  # vol1 is not in vs1
    lun.space = {"size": 5 * MIB}
    assert refused(lun.patch, poll=True) == (400, "5374892")  # never shrinks
    resized = Lun(uuid=lun.uuid)
    resized.space, resized.enabled = {"size": 20 * MIB}, False  # set after: the library sends them
    resized.patch(poll=True)
    resized.get(fields="space.size,status.state")
    assert resized.space.size == 20 * MIB and resized.status.state == "offline"


def test_igroups_and_initiators(sim: Simulator) -> None:
    igroup = Igroup(svm=SVM, name="ig1", os_type="linux", protocol="iscsi")
    igroup.initiators = [{"name": IQN1}]
    igroup.post()
    assert refused(Igroup(svm=SVM, name="ig1", os_type="linux").post) == (409, "5374023")
    bad = Igroup(svm=SVM, name="ig2", os_type="linux", initiators=[{"name": "host1"}])
    assert refused(bad.post) == (400, "5373993")
    IgroupInitiator(igroup.uuid, name=IQN2).post()
    assert refused(IgroupInitiator(igroup.uuid, name=IQN2).post) == (409, "5374035")
    found = Igroup(uuid=igroup.uuid)
    found.get(fields="initiators")
    assert [i.name for i in found.initiators] == [IQN1, IQN2]
    IgroupInitiator(igroup.uuid, name=IQN1).delete()
    assert [i.name for i in IgroupInitiator.get_collection(igroup.uuid)] == [IQN2]


def test_lun_maps(sim: Simulator) -> None:
    first, second = _lun("/vol/vol1/a"), _lun("/vol/vol1/b")
    igroup = Igroup(svm=SVM, name="ig1", os_type="linux", initiators=[{"name": IQN1}])
    igroup.post()
    LunMap(svm=SVM, lun={"name": "/vol/vol1/a"}, igroup={"name": "ig1"}).post()
    taken = LunMap(svm=SVM, lun={"name": "/vol/vol1/b"}, igroup={"name": "ig1"})
    taken.logical_unit_number = 0
    assert refused(taken.post) == (409, "1254324")
    again = LunMap(svm=SVM, lun={"name": "/vol/vol1/a"}, igroup={"name": "ig1"})
    assert refused(again.post) == (409, "1254207")
    mapped = LunMap(svm=SVM, lun={"name": "/vol/vol1/b"}, igroup={"name": "ig1"})
    mapped.post()
    mapped.get(fields="logical_unit_number")
    assert mapped.logical_unit_number == 1  # the lowest free number
    first.get(fields="lun_maps,status.mapped")
    assert first.status.mapped is True and first.lun_maps[0].igroup.name == "ig1"
    assert refused(first.delete, poll=True) == (400, "1254197")
    assert refused(igroup.delete) == (400, "1254213")
    first.delete(poll=True, allow_delete_while_mapped=True)  # its map goes with it
    assert [m.lun.name for m in LunMap.get_collection(fields="lun.name")] == ["/vol/vol1/b"]
    volume = Volume.find(name="vol1")
    assert refused(volume.delete, poll=True)[1] == "1254197"  # still holds a mapped LUN
    igroup.delete(allow_delete_while_mapped=True)
    second.get(fields="status.mapped")
    assert second.status.mapped is False
    volume.delete(poll=True)  # the unmapped LUN goes with its volume
    assert list(Lun.get_collection()) == []


def test_nvme_namespaces_subsystems_and_maps(sim: Simulator) -> None:
    namespace = NvmeNamespace(svm=SVM, name="/vol/vol1/ns1", os_type="linux")
    namespace.space = {"size": 10 * MIB}
    namespace.post(poll=True)
    small = NvmeNamespace(svm=SVM, name="/vol/vol1/ns2", os_type="linux", space={"size": 512})
    assert refused(small.post, poll=True) == (400, "72089723")
    subsystem = NvmeSubsystem(svm=SVM, name="sub1", os_type="linux", hosts=[{"nqn": NQN}])
    subsystem.post()
    assert refused(NvmeSubsystem(svm=SVM, name="sub1", os_type="linux").post) == (409, "72090025")
    assert refused(NvmeSubsystemHost(subsystem.uuid, nqn=NQN).post) == (409, "72089705")
    assert refused(NvmeSubsystemHost(subsystem.uuid, nqn="host").post) == (400, "72089772")
    subsystem_map = NvmeSubsystemMap(
        svm=SVM, namespace={"name": "/vol/vol1/ns1"}, subsystem={"name": "sub1"}
    )
    subsystem_map.post()
    subsystem_map.get(fields="nsid")
    assert subsystem_map.nsid == "00000001h"
    NvmeSubsystem(svm=SVM, name="sub2", os_type="linux").post()
    other = NvmeSubsystemMap(
        svm=SVM, namespace={"name": "/vol/vol1/ns1"}, subsystem={"name": "sub2"}
    )
    assert refused(other.post) == (409, "72089790")  # one subsystem per namespace
    assert refused(namespace.delete, poll=True) == (400, "72089796")
    assert refused(subsystem.delete) == (400, "72090023")
    subsystem.delete(allow_delete_while_mapped=True, allow_delete_with_hosts=True)
    namespace.get(fields="status.mapped")
    assert namespace.status.mapped is False
    namespace.delete(poll=True)
    assert list(NvmeNamespace.get_collection()) == []
