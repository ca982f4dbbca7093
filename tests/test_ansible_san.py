"""NetApp's SAN modules run unchanged against ``ontap-sim --tls --clock virtual`` (issue 13).

``tests/ansible/san.yml`` drives ``na_ontap_lun``, ``na_ontap_igroup``,
``na_ontap_igroup_initiator`` and ``na_ontap_lun_map`` through create, re-run, change, re-run
and delete, and ``na_ontap_rest_info`` through the SAN subsets, with the certificate verified.
The playbook runs once per module (the helpers and the skip-unless-Ansible rule are those of
tests/test_ansible.py); each test reads what it did from the task results and the journal.
"""

from __future__ import annotations

import pytest
from test_ansible import (  # noqa: F401 - playbook_bin and tls_sim are fixtures
    MIB,
    PlaybookRun,
    TlsSim,
    assert_changed_then_idempotent,
    playbook_bin,
    run_playbook,
    tls_sim,
)

IQN1, IQN2 = "iqn.1998-01.com.vmware:host1", "iqn.1998-01.com.vmware:host2"
IQN3 = "iqn.1998-01.com.vmware:host3"


@pytest.fixture(scope="module")
def san(
    playbook_bin: str,  # noqa: F811
    tls_sim: TlsSim,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> PlaybookRun:
    tls_sim.reset()
    return run_playbook(playbook_bin, tls_sim, "san.yml", tmp_path_factory.mktemp("san"))


def test_every_step_succeeds_and_each_rerun_changes_nothing(san: PlaybookRun) -> None:
    assert san.stats["failures"] == 0 and san.stats["unreachable"] == 0, san.tasks
    reruns = [name for name in san.tasks if name.endswith("(re-run)")]
    assert len(reruns) == 10
    for name in reruns:
        first = san.tasks[name.removesuffix(" (re-run)")]
        assert first.get("changed") is True and not first.get("failed"), (name, first)
        assert san.tasks[name].get("changed") is False, (name, san.tasks[name])
    # The re-runs only read: every write the cluster saw is a first run's.
    assert san.writes() == [
        ("POST", "/api/storage/volumes", 201),
        ("POST", "/api/storage/luns", 201),
        ("PATCH", "/api/storage/luns/*", 200),  # resize
        ("PATCH", "/api/storage/luns/*", 200),  # comment
        ("POST", "/api/storage/luns", 400),  # too large for its volume
        ("POST", "/api/protocols/san/igroups", 201),
        ("POST", "/api/protocols/san/igroups/*/initiators", 201),
        ("PATCH", "/api/protocols/san/igroups/*", 200),
        ("POST", "/api/protocols/san/igroups/*/initiators", 201),
        ("DELETE", "/api/protocols/san/igroups/*/initiators/" + IQN3, 200),
        ("POST", "/api/protocols/san/lun-maps", 201),
        ("DELETE", "/api/storage/luns/*", 400),  # mapped
        ("DELETE", "/api/protocols/san/lun-maps/*/*", 200),
        ("DELETE", "/api/protocols/san/igroups/*", 200),
        ("DELETE", "/api/storage/luns/*", 200),
        ("DELETE", "/api/storage/volumes/*", 200),
    ]


def test_lun_create_modify_and_delete(san: PlaybookRun) -> None:
    assert_changed_then_idempotent(san, "lun create")
    assert_changed_then_idempotent(san, "lun modify")
    assert_changed_then_idempotent(san, "lun delete")
    post = next(e for e in san.journal if e["path"] == "/api/storage/luns" and e["status"] == 201)
    assert post["body"]["name"] == "/vol/san_vol/lun1"
    assert post["body"]["location.volume.name"] == "san_vol"
    assert post["body"]["space.size"] == 10 * MIB and post["body"]["os_type"] == "linux"


def test_a_lun_larger_than_its_volume_is_refused_with_ontaps_code(san: PlaybookRun) -> None:
    result = san.tasks["lun too large for its volume"]
    assert result["failed"] is True and "5374125" in result["msg"]


def test_a_mapped_lun_is_not_deleted(san: PlaybookRun) -> None:
    result = san.tasks["lun delete while mapped"]
    assert result["failed"] is True and "1254197" in result["msg"]
    delete = [e for e in san.journal if e["method"] == "DELETE" and e["status"] == 400]
    assert delete[0]["query"]["allow_delete_while_mapped"] == "False"


def test_igroup_create_modify_and_delete(san: PlaybookRun) -> None:
    assert_changed_then_idempotent(san, "igroup create")
    assert_changed_then_idempotent(san, "igroup modify")
    assert_changed_then_idempotent(san, "igroup delete")
    post = san.write("POST", "/api/protocols/san/igroups")
    assert post["body"]["initiators"] == [{"name": IQN1}]
    patch = san.write("PATCH", "/api/protocols/san/igroups/*")
    assert patch["body"] == {"os_type": "vmware"}


def test_igroup_initiator_add_and_remove(san: PlaybookRun) -> None:
    assert_changed_then_idempotent(san, "igroup initiator add")
    assert_changed_then_idempotent(san, "igroup initiator remove")
    adds = [
        e["body"]
        for e in san.journal
        if e["method"] == "POST" and e["path"].endswith("/initiators")
    ]
    assert adds == [{"records": [{"name": IQN2}]}, {"name": IQN3}]


def test_lun_map_create_honours_the_lun_id_and_delete(san: PlaybookRun) -> None:
    assert_changed_then_idempotent(san, "lun map create")
    assert_changed_then_idempotent(san, "lun map delete")
    post = san.write("POST", "/api/protocols/san/lun-maps")
    assert post["body"]["logical_unit_number"] == "3"  # the module sends a string


def test_rest_info_gathers_the_san_subsets(san: PlaybookRun) -> None:
    info = san.tasks["rest_info SAN subsets"]["ontap_info"]
    luns = info["storage/luns"]["records"]
    assert [lun["name"] for lun in luns] == ["/vol/san_vol/lun1"]
    assert luns[0]["serial_number"] and luns[0]["naa_id"].startswith("naa.600a0980")
    assert luns[0]["space"]["size"] == 20 * MIB and luns[0]["status"]["mapped"] is True
    igroup = info["protocols/san/igroups"]["records"][0]
    assert [i["name"] for i in igroup["initiators"]] == [IQN1, IQN2]
    assert igroup["os_type"] == "vmware" and igroup["protocol"] == "iscsi"
    lun_map = info["protocols/san/lun-maps"]["records"][0]
    assert lun_map["logical_unit_number"] == 3 and lun_map["igroup"]["name"] == "ans_ig"
    assert info["storage/namespaces"]["num_records"] == 0
    assert info["protocols/nvme/subsystems"]["num_records"] == 0
    assert info["protocols/nvme/subsystem-maps"]["num_records"] == 0
    assert san.tasks["the LUN, its igroup and its map were read"].get("failed") is not True
