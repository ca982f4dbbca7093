"""The CLI passthrough's platform commands through NetApp's Ansible modules, unchanged, against
``ontap-sim --tls --clock virtual --scenario lab`` with certificates verified:
``na_ontap_disks`` and ``na_ontap_bgp_config`` (tests/ansible/cli_platform.yml). The helpers
are tests/test_ansible.py's.
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
    return run_on_lab(playbook_bin, lab_sim, tmp_path_factory, "cli_platform.yml")


def test_each_step_changes_then_reruns_without_change(run: PlaybookRun) -> None:
    assert run.stats["failures"] == 0 and run.stats["unreachable"] == 0, run.tasks
    for step in (
        "disks assign all",
        "disks count",
        "bgp create",
        "bgp modify",
        "bgp delete",
    ):
        assert_changed_then_idempotent(run, step)


def test_disk_ownership_is_what_rest_reads(run: PlaybookRun, lab_sim: TlsSim) -> None:
    owned = lab_sim.control(
        "GET", "/api/storage/disks?home_node.name=lab-01&container_type=!unassigned"
    )
    assert owned["num_records"] == 5
    free = lab_sim.control("GET", "/api/storage/disks?container_type=unassigned")
    assert free["num_records"] == 4
    removals = [e for e in run.journal if e["path"].endswith("/storage/disk/removeowner")]
    assert len(removals) == 4  # one disk per call, as the module sends them


def test_the_bgp_settings_are_gone_after_the_delete(lab_sim: TlsSim, run: PlaybookRun) -> None:
    assert lab_sim.control("GET", "/api/private/cli/network/bgp/config")["num_records"] == 0
