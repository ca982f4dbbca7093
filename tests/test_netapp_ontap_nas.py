"""netapp-ontap's resources, unchanged, over HTTP against the lab scenario: each NAS and
networking family's refusals reach the library as ONTAP's errors, with ONTAP's codes, and
its side effects read back (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from netapp_ontap import HostConnection
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (
    BroadcastDomain,
    CifsShare,
    ExportPolicy,
    ExportRule,
    IpInterface,
    Port,
    Qtree,
    QuotaRule,
    Volume,
)

from simulator import ServerHandle, Simulator, serve
from simulator.sim import bundled_scenario

pytestmark = pytest.mark.filterwarnings(
    "ignore:`Number` field should not be instantiated:"
    "marshmallow.warnings.ChangedInMarshmallow4Warning"
)

PASSWORD = "netapp1!"
NAS = {"name": "svm_nas"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, ServerHandle]]:
    with open(bundled_scenario("lab")) as lab:
        scenario = json.load(lab)
    # Every job: running for 50 ms, then success (the library polls every 20 ms).
    scenario["default_script"] = [{"state": "running", "seconds": 0.05}, {"state": "success"}]
    sim = Simulator(clock="real", password=PASSWORD, scenario=scenario)
    with serve(sim) as handle:
        yield sim, handle


@pytest.fixture
def sim(server: tuple[Simulator, ServerHandle]) -> Iterator[Simulator]:
    sim, handle = server
    with HostConnection(
        handle.host,
        port=handle.port,
        scheme="http",
        username="admin",
        password=PASSWORD,
        verify=False,
        poll_interval=0.02,
    ):
        try:
            yield sim
        finally:
            assert sim.errors == []
            sim.reset()


def refused(action: Callable[[], Any]) -> tuple[int, str]:
    """(status, ONTAP code) of the error ``action`` raises."""
    with pytest.raises(NetAppRestError) as caught:
        action()
    body = caught.value.response_body
    assert body is not None
    return caught.value.status_code, str(body["error"]["code"])


def test_export_policy_refusals_and_rule_numbering(sim: Simulator) -> None:
    default = ExportPolicy.find(name="default", **{"svm.name": "svm_nas"})
    assert default.id == 2 << 32 | 1
    assert refused(default.delete) == (400, "1703947")
    lab = ExportPolicy.find(name="lab_clients")
    assert refused(lab.delete) == (400, "1703945")  # volume projects uses it
    assert refused(ExportPolicy(svm=NAS, name="two words").post) == (400, "1703952")
    rule = ExportRule(lab.id, clients=[{"match": "10.1.2.3/8"}], ro_rule=["sys"], rw_rule=["sys"])
    assert refused(rule.post) == (400, "1704040")
    first = ExportRule(
        lab.id, clients=[{"match": "10.0.0.0/8"}], ro_rule=["sys"], rw_rule=["sys"], index=1
    )
    first.post(hydrate=True)
    indexes = {
        r.index: r.clients[0].match for r in ExportRule.get_collection(lab.id, fields="clients")
    }
    assert indexes == {1: "10.0.0.0/8", 2: "192.168.0.0/24", 3: "0.0.0.0/0"}


def test_qtree_refusals_and_numbering(sim: Simulator) -> None:
    qtree = Qtree(svm=NAS, volume={"name": "projects"}, name="gamma")
    qtree.post(poll=True)
    found = Qtree.find(name="gamma", fields="id,path,security_style")
    assert (found.id, found.path) == (3, "/vol/projects/gamma")  # alpha and beta are 1, 2
    empty = Qtree(svm=NAS, volume={"name": "projects"}, name="")
    assert refused(lambda: empty.post(poll=True)) == (400, "5242894")
    bad_policy = Qtree(svm=NAS, volume={"name": "home"}, name="q", export_policy={"name": "x"})
    assert refused(lambda: bad_policy.post(poll=True)) == (400, "1703954")
    volume = Volume.find(name="projects")
    default = Qtree(id=0, **{"volume.uuid": volume.uuid})
    assert refused(lambda: default.delete(poll=True)) == (400, "5242894")
    found.delete(poll=True)


def test_cifs_share_refusals_and_the_volume_it_holds(sim: Simulator) -> None:
    share = CifsShare(svm=NAS, name="nowhere", path="/scratch")  # scratch is not mounted
    assert refused(share.post) == (400, "655551")
    admin = CifsShare.find(name="c$", **{"svm.name": "svm_nas"})
    assert refused(admin.delete) == (400, "655393")
    home = Volume.find(name="home")
    status, _ = refused(lambda: home.delete(poll=True))
    assert status == 409  # CIFS share "home" is in it
    CifsShare.find(name="home").delete()
    Volume(uuid=home.uuid, nas={"path": ""}).patch(poll=True)
    Volume(uuid=home.uuid).delete(poll=True)


def test_quota_rule_refusals_and_the_default_rule(sim: Simulator) -> None:
    user = QuotaRule(svm=NAS, volume={"name": "home"}, type="user", qtree={"name": ""})
    assert refused(lambda: user.post(poll=True)) == (400, "5308562")
    tree = QuotaRule(
        svm=NAS,
        volume={"name": "projects"},
        type="tree",
        qtree={"name": "beta"},
        space={"hard_limit": 2048, "soft_limit": 4096},
    )
    assert refused(lambda: tree.post(poll=True)) == (400, "5308575")
    QuotaRule(
        svm=NAS, volume={"name": "home"}, type="group", group={"name": "staff"}, qtree={"name": ""}
    ).post(poll=True)
    groups = {r.group.name for r in QuotaRule.get_collection(type="group", fields="group")}
    assert groups == {"staff", ""}  # the volume's default group rule came with it


def test_network_refusals(sim: Simulator) -> None:
    e0c = Port.find(name="e0c", **{"node.name": "lab-01"})
    assert refused(e0c.delete) == (400, "1967105")  # a physical port
    default = BroadcastDomain.find(name="Default")
    assert refused(default.delete) == (400, "1967103")
    duplicate = IpInterface(
        name="dup",
        svm=NAS,
        ip={"address": "192.168.0.11", "netmask": "24"},
        location={"home_port": {"name": "e0d", "node": {"name": "lab-01"}}},
    )
    assert refused(duplicate.post) == (409, "1376963")
    vlan = Port(
        node={"name": "lab-02"}, type="vlan", vlan={"base_port": {"name": "e0d"}, "tag": 4095}
    )
    assert refused(vlan.post) == (400, "1966466")
