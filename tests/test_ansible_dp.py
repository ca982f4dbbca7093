"""NetApp's Ansible modules for data protection and the CLI passthrough, unchanged, against
``ontap-sim --tls --clock virtual`` with certificates verified (issue 13).

``na_ontap_snapmirror`` creates, re-runs, changes, breaks and deletes a relationship
(tests/ansible/snapmirror.yml), ``na_ontap_rest_info`` gathers the data protection subsets,
``na_ontap_rest_cli`` drives a volume through the CLI passthrough (tests/ansible/
rest_cli.yml), and five modules built on the passthrough change settings (tests/ansible/
cli_settings.yml). The helpers and the skip-unless-Ansible rule are tests/test_ansible.py's.
"""

from __future__ import annotations

import pytest
from test_ansible import (
    PlaybookRun,
    TlsSim,
    assert_changed_then_idempotent,
    run_playbook,
)
from test_ansible import playbook_bin as playbook_bin
from test_ansible import tls_sim as tls_sim


# -- na_ontap_snapmirror -----------------------------------------------------------------
@pytest.fixture(scope="module")
def snapmirror(
    playbook_bin: str, tls_sim: TlsSim, tmp_path_factory: pytest.TempPathFactory
) -> PlaybookRun:
    tls_sim.reset()
    return run_playbook(playbook_bin, tls_sim, "snapmirror.yml", tmp_path_factory.mktemp("sm"))


def test_the_snapmirror_playbook_succeeds_and_each_rerun_changes_nothing(
    snapmirror: PlaybookRun,
) -> None:
    assert snapmirror.stats["failures"] == 0 and snapmirror.stats["unreachable"] == 0
    for step in ("snapmirror create", "snapmirror modify", "snapmirror break", "snapmirror delete"):
        assert_changed_then_idempotent(snapmirror, step)
    relationship = "/api/snapmirror/relationships/*"
    assert [w for w in snapmirror.writes() if "snapmirror" in w[1]] == [
        ("POST", "/api/snapmirror/relationships", 201),
        ("PATCH", relationship, 200),  # initialize: state snapmirrored
        ("PATCH", relationship, 200),  # modify: transfer_schedule daily
        ("PATCH", relationship, 200),  # quiesce: state paused
        ("PATCH", relationship, 200),  # break: state broken_off
        ("DELETE", relationship, 200),
    ]
    bodies = [e["body"] for e in snapmirror.journal if e["method"] == "PATCH"]
    assert bodies == [
        {"state": "snapmirrored"},
        {"transfer_schedule": {"name": "daily"}},
        {"state": "paused"},
        {"state": "broken_off"},
    ]


def test_snapmirror_create_names_the_policy_and_the_schedule(snapmirror: PlaybookRun) -> None:
    post = snapmirror.write("POST", "/api/snapmirror/relationships")
    assert post["body"] == {
        "source": {"path": "vs0:sm_src"},
        "destination": {"path": "vs0:sm_dst"},
        "policy": {"name": "MirrorAllSnapshots"},
        "transfer_schedule": {"name": "hourly"},
    }
    assert post["client_app"].startswith("netapp.ontap.na_ontap_snapmirror/")


def test_a_volume_of_the_relationship_was_refused_deletion(snapmirror: PlaybookRun) -> None:
    result = snapmirror.tasks["source volume delete while the relationship holds it"]
    assert result["failed"] is True and "18436" in result["msg"]
    deletes = [
        e["status"]
        for e in snapmirror.journal
        if e["method"] == "DELETE" and e["path"].startswith("/api/storage/volumes/")
    ]
    assert deletes == [400, 200, 200]


def test_rest_info_gathers_the_data_protection_subsets(snapmirror: PlaybookRun) -> None:
    info = snapmirror.tasks["rest_info data protection subsets"]["ontap_info"]
    assert set(info) == {
        "snapmirror/relationships",
        "snapmirror/policies",
        "storage/snapshot-policies",
    }
    relationship = info["snapmirror/relationships"]["records"][0]
    assert relationship["source"]["path"] == "vs0:sm_src"
    assert relationship["policy"] == {
        "name": "MirrorAllSnapshots",
        "uuid": relationship["policy"]["uuid"],
        "type": "async",
    }
    assert relationship["last_transfer_type"] == "initialize"
    policies = {p["name"] for p in info["snapmirror/policies"]["records"]}
    assert {"Asynchronous", "MirrorAllSnapshots"} <= policies
    snapshot_policies = {p["name"] for p in info["storage/snapshot-policies"]["records"]}
    assert snapshot_policies == {"default", "default-1weekly", "none"}


# -- na_ontap_rest_cli -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rest_cli(
    playbook_bin: str, tls_sim: TlsSim, tmp_path_factory: pytest.TempPathFactory
) -> PlaybookRun:
    tls_sim.reset()
    return run_playbook(playbook_bin, tls_sim, "rest_cli.yml", tmp_path_factory.mktemp("cli"))


def test_the_rest_cli_playbook_succeeds_and_each_rerun_changes_nothing(
    rest_cli: PlaybookRun,
) -> None:
    assert rest_cli.stats["failures"] == 0 and rest_cli.stats["ignored"] == 2
    for step in ("volume create", "volume modify", "volume delete"):
        assert_changed_then_idempotent(rest_cli, step)
        assert rest_cli.tasks[f"{step} (re-run)"]["skipped"] is True
    assert rest_cli.writes() == [
        ("POST", "/api/private/cli/volume", 201),
        ("PATCH", "/api/private/cli/volume", 200),
        ("PATCH", "/api/private/cli/system/timeout", 200),
        ("DELETE", "/api/private/cli/volume", 200),
    ]
    post = rest_cli.write("POST", "/api/private/cli/volume")
    assert post["client_app"].startswith("netapp.ontap.na_ontap_rest_cli/")
    assert post["body"]["size"] == "20m" and post["query"] == {"return_timeout": "30"}


def test_the_cli_volume_is_the_one_rest_reads(rest_cli: PlaybookRun) -> None:
    shown = rest_cli.tasks["volume show after create"]["msg"]["records"]
    assert shown == [
        {"vserver": "vs0", "volume": "cli_vol", "aggregate": "aggr1", "size": 20971520}
    ]
    rest = rest_cli.tasks["the volume is the one REST reads"]["ontap_info"]["storage/volumes"]
    assert rest["records"][0]["name"] == "cli_vol" and rest["records"][0]["svm"]["name"] == "vs0"
    modified = rest_cli.tasks["volume show after modify"]["msg"]["records"][0]
    assert modified["comment"] == "set through the CLI" and modified["size"] == 40 * 1024 * 1024


def test_the_passthroughs_refusals_reach_the_module(rest_cli: PlaybookRun) -> None:
    assert "262179" in rest_cli.tasks["an unknown command fails"]["msg"]
    assert "262220" in rest_cli.tasks["fields=* is refused"]["msg"]
    options = rest_cli.tasks["volume methods"]["msg"]
    assert options["Allow"] == "GET, POST, PATCH, DELETE, OPTIONS"
    assert rest_cli.tasks["session timeout show"]["msg"]["records"] == [{"timeout": 15}]


# -- modules that change settings through the passthrough ----------------------------------------
SETTING_MODULES = (
    "cli timeout",
    "cluster ha",
    "storage auto giveback",
    "disk options",
    "snaplock clock",
)


@pytest.fixture(scope="module")
def cli_settings(
    playbook_bin: str, tls_sim: TlsSim, tmp_path_factory: pytest.TempPathFactory
) -> PlaybookRun:
    tls_sim.reset()
    return run_playbook(playbook_bin, tls_sim, "cli_settings.yml", tmp_path_factory.mktemp("set"))


def test_modules_built_on_the_passthrough_change_settings_then_rerun_without_change(
    cli_settings: PlaybookRun,
) -> None:
    assert cli_settings.stats["failures"] == 0
    for step in SETTING_MODULES:
        assert_changed_then_idempotent(cli_settings, step)
    assert [(w[0], w[1]) for w in cli_settings.writes()] == [
        ("PATCH", "/api/private/cli/system/timeout"),
        ("PATCH", "/api/private/cli/cluster/ha"),
        ("PATCH", "/api/private/cli/storage/failover"),
        ("PATCH", "/api/private/cli/storage/disk/option"),
        ("PATCH", "/api/private/cli/snaplock/compliance-clock/initialize"),
    ]
    bodies = [e["body"] for e in cli_settings.journal if e["method"] == "PATCH"]
    assert bodies[2] == {"auto_giveback": True, "auto_giveback_after_panic": True}
    assert bodies[3] == {"autoassign": False, "autoassign_policy": "shelf"}
