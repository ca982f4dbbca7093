"""The CLI passthrough's newer commands through NetApp's Ansible modules, unchanged, against
``ontap-sim --tls --clock virtual --scenario lab`` with certificates verified (issue 13):
``na_ontap_broadcast_domain`` takes ports out of a domain (``network port broadcast-domain
remove-ports``) and ``na_ontap_rest_cli`` drives an FPolicy policy and its scope
(tests/ansible/cli_new_commands.yml). The helpers are tests/test_ansible.py's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simproc import ontap_sim
from test_ansible import AUTH, PlaybookRun, TlsSim, assert_changed_then_idempotent, run_playbook
from test_ansible import playbook_bin as playbook_bin


@pytest.fixture(scope="module")
def lab_sim(playbook_bin: str) -> Iterator[TlsSim]:
    with ontap_sim("--tls", "--clock", "virtual", "--scenario", "lab") as process:
        sim = TlsSim(url=process.url(), ca_file=process.ca_file())
        sim.session.auth = AUTH
        yield sim
        sim.session.close()


def run_on_lab(
    playbook_bin: str, lab_sim: TlsSim, factory: pytest.TempPathFactory, playbook: str
) -> PlaybookRun:
    """``playbook`` run once against a freshly reset lab simulator."""
    lab_sim.reset()
    return run_playbook(playbook_bin, lab_sim, playbook, factory.mktemp(playbook.split(".")[0]))


@pytest.fixture(scope="module")
def run(
    playbook_bin: str,
    lab_sim: TlsSim,
    tmp_path_factory: pytest.TempPathFactory,
) -> PlaybookRun:
    return run_on_lab(playbook_bin, lab_sim, tmp_path_factory, "cli_new_commands.yml")


def test_each_step_changes_then_reruns_without_change(run: PlaybookRun) -> None:
    assert run.stats["failures"] == 0 and run.stats["unreachable"] == 0, run.tasks
    for step in (
        "broadcast domain create",
        "broadcast domain modify",
        "broadcast domain delete",
        "fpolicy policy create",
        "fpolicy policy modify",
        "fpolicy scope create",
        "fpolicy scope delete",
        "fpolicy policy delete",
    ):
        assert_changed_then_idempotent(run, step)


def test_ports_leave_the_domain_through_the_cli(run: PlaybookRun, lab_sim: TlsSim) -> None:
    removals = [
        e["body"]
        for e in run.journal
        if e["path"].startswith("/api/private/cli/network/port/broadcast-domain/remove-ports")
    ]
    assert removals[0]["ports"] == ["lab-02:e0d"]
    assert removals[-1]["ports"] == ["lab-01:e0d"]
    domains = lab_sim.control("GET", "/api/network/ethernet/broadcast-domains?name=ans_ports")
    assert domains["num_records"] == 0
    ports = lab_sim.control("GET", "/api/network/ethernet/ports?name=e0d&fields=broadcast_domain")
    assert all("broadcast_domain" not in p for p in ports["records"])


def test_the_policy_and_scope_are_rest_records(run: PlaybookRun) -> None:
    info = run.tasks["the scope is the policy REST reads"]["ontap_info"]["protocols/fpolicy"]
    config = next(r for r in info["records"] if r["svm"]["name"] == "svm_nas")
    (policy,) = config["policies"]
    assert policy["name"] == "ans_pol" and policy["mandatory"] is True
    assert policy["enabled"] is False  # the CLI creates a policy disabled
    assert policy["scope"] == {"include_volumes": ["home", "projects"]}
    assert [e["name"] for e in config["events"]] == ["ans_ev"]
