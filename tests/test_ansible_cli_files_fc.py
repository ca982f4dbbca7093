"""The CLI passthrough's file-security, FC adapter and partition commands through NetApp's
Ansible modules, unchanged, against ``ontap-sim --tls --clock virtual --scenario lab`` with
certificates verified: ``na_ontap_fdsd``, ``na_ontap_fdsp``, ``na_ontap_fdspt``,
``na_ontap_fdss``, ``na_ontap_ucadapter`` and ``na_ontap_partitions``
(tests/ansible/cli_files_fc.yml). The helpers are tests/test_ansible.py's.
"""

from __future__ import annotations

import pytest
from test_ansible import PlaybookRun, TlsSim, assert_changed_then_idempotent
from test_ansible import playbook_bin as playbook_bin
from test_ansible_cli import lab_sim as lab_sim
from test_ansible_cli import run_on_lab


@pytest.fixture(scope="module")
def run(
    playbook_bin: str,
    lab_sim: TlsSim,
    tmp_path_factory: pytest.TempPathFactory,
) -> PlaybookRun:
    return run_on_lab(playbook_bin, lab_sim, tmp_path_factory, "cli_files_fc.yml")


def test_each_step_changes_then_reruns_without_change(run: PlaybookRun) -> None:
    assert run.stats["failures"] == 0 and run.stats["unreachable"] == 0, run.tasks
    assert run.stats["ignored"] == 1  # partitions assign: the module's quirk, below
    for step in (
        "security descriptor create",
        "policy create",
        "policy task create",
        "policy task modify",
        "policy task delete",
        "policy delete",
        "security descriptor delete",
        "adapter mode",
        "adapter mode back",
    ):
        assert_changed_then_idempotent(run, step)


def test_the_applied_task_is_what_rest_reads_at_its_encoded_path(
    run: PlaybookRun, lab_sim: TlsSim
) -> None:
    # na_ontap_fdspt's modify is a remove and an add (the module's own choice)
    tasks = [e for e in run.journal if "/file-directory/policy/task/" in e["path"]]
    assert [e["path"].rsplit("/", 1)[1] for e in tasks] == ["add", "remove", "add", "remove"]
    # na_ontap_fdss applies on every run (its documentation says so): both runs change
    assert run.tasks["policy apply"]["changed"] is True
    assert run.tasks["policy apply (again)"]["changed"] is True
    (svm,) = lab_sim.control("GET", "/api/svm/svms?name=svm_nas")["records"]
    record = lab_sim.control(
        "GET", f"/api/protocols/file-security/permissions/{svm['uuid']}/home%2Falice"
    )
    assert record["file_directory_security"]["path"] == "home/alice"
    assert record["acls"] == []  # na_ontap_fdsd makes a descriptor without entries
    shown = lab_sim.control("GET", "/api/private/cli/vserver/security/file-directory")
    assert [r["path"] for r in shown["records"]] == ["/home/alice"]
    for gone in ("ntfs", "policy", "policy/task"):
        path = f"/api/private/cli/vserver/security/file-directory/{gone}"
        assert lab_sim.control("GET", path)["num_records"] == 0, gone


def test_the_adapter_is_taken_offline_modified_and_brought_back(
    run: PlaybookRun, lab_sim: TlsSim
) -> None:
    writes = [
        (e["path"].split("/")[-2], e.get("body"))
        for e in run.journal
        if e["method"] == "PATCH" and ("/fc/ports/" in e["path"] or e["path"].endswith("ucadmin"))
    ]
    assert writes == [
        ("ports", {"enabled": False}),
        ("cli", {"type": "initiator", "mode": "cna"}),
        ("ports", {"enabled": True}),
        ("ports", {"enabled": False}),
        ("cli", {"type": "target", "mode": "fc"}),
        ("ports", {"enabled": True}),
    ]
    fields = "fields=pending_mode,pending_type,current_mode,current_type,status_admin"
    (row,) = lab_sim.control("GET", f"/api/private/cli/ucadmin?node=lab-01&adapter=0e&{fields}")[
        "records"
    ]
    assert row == {
        "node": "lab-01",
        "adapter": "0e",
        "current_mode": "fc",
        "current_type": "target",
        "status_admin": "up",
    }


def test_partitions_unassigned_and_the_modules_quirks(run: PlaybookRun, lab_sim: TlsSim) -> None:
    assert run.tasks["partitions as they are"]["changed"] is False
    removed = [
        e["body"]["partition"]
        for e in run.journal
        if e["path"].endswith("/storage/disk/partition/removeowner")
    ]
    # the module counts every data partition of the cluster, unassigned ones too, so the
    # same count unassigns a spare again on each run (on a cluster as well)
    assert removed == ["1.0.6P1", "1.0.7P1"]
    assert run.tasks["partitions unassign (again)"]["changed"] is True
    # and to assign it takes the first data partitions listed, an aggregate's: ONTAP refuses
    failed = run.tasks["partitions assign"]
    assert failed["failed"] is True
    assert 'Partition "1.0.0P1" is already owned by node "lab-01".' in str(failed["msg"])
    query = "container-type=spare&home-node-name=lab-01&is-root=false"
    assert (
        lab_sim.control("GET", f"/api/private/cli/storage/disk/partition?{query}")["num_records"]
        == 0
    )
