"""ONTAP's CLI passthrough, /api/private/cli/<command path> (simulator/cli_passthrough.py):
each of its rules and refusals over HTTP, and each command mapped onto the state REST serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from scenario_client import HEADERS, call, simulator_for

from simulator import Simulator
from simulator.cli_passthrough import COMMANDS, size_in_bytes

CLI = "/api/private/cli"
MIB = 1024 * 1024
AGGRS = [{"name": "aggr1"}, {"name": "aggr2"}]
SCENARIO = {
    "inventory": {
        "svms": [{"name": "vs0"}, {"name": "vs1"}],
        "aggregates": AGGRS,
        "volumes": [
            {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
            {"name": "v2", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
            {"name": "w1", "svm": {"name": "vs1"}, "aggregates": [{"name": "aggr1"}]},
            {
                "name": "d1",
                "svm": {"name": "vs1"},
                "aggregates": [{"name": "aggr1"}],
                "type": "dp",
            },
        ],
    }
}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    yield from simulator_for(monkeypatch, SCENARIO)


@pytest.fixture
def api(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def records(api: FlaskClient, path: str) -> list[dict[str, Any]]:
    status, answer = call(api, "GET", path)
    assert status == 200, answer
    assert answer["num_records"] == len(answer["records"])
    found: list[dict[str, Any]] = answer["records"]
    return found


def error(api: FlaskClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = call(api, method, path, body)
    assert "error" in answer, answer
    return status, answer["error"]["code"]


def rest_volume(api: FlaskClient, name: str, fields: str = "*") -> dict[str, Any]:
    found = records(api, f"/api/storage/volumes?name={name}&fields={fields}")
    assert len(found) == 1, found
    return found[0]


# -- the passthrough's rules ------------------------------------------------------------------
def test_a_get_shows_the_key_fields_and_fields_adds_others(api: FlaskClient) -> None:
    assert records(api, f"{CLI}/volume?vserver=vs0") == [
        {"vserver": "vs0", "volume": "v1"},
        {"vserver": "vs0", "volume": "v2"},
    ]
    shown = records(api, f"{CLI}/volume?volume=v1&fields=size,type,aggregate,unix_permissions")
    assert shown == [
        {
            "vserver": "vs0",
            "volume": "v1",
            "size": 20 * MIB,
            "type": "RW",
            "aggregate": "aggr1",
            "unix_permissions": "---rwxr-xr-x",
        }
    ]


def test_field_names_take_underscores_or_hyphens(api: FlaskClient) -> None:
    shown = records(api, f"{CLI}/volume?volume=v1&fields=percent-snapshot-space,space_guarantee")
    assert shown[0]["percent_snapshot_space"] == 5 and shown[0]["space_guarantee"] == "volume"


@pytest.mark.parametrize("fields", ["*", "**", "size,*"])
def test_fields_star_is_refused(api: FlaskClient, fields: str) -> None:
    status, answer = call(api, "GET", f"{CLI}/volume?fields={fields}")
    assert (status, answer["error"]["code"], answer["error"]["target"]) == (400, "262220", "fields")


def test_unknown_fields_and_arguments_are_refused(api: FlaskClient) -> None:
    assert error(api, "GET", f"{CLI}/volume?fields=size,colour") == (400, "262197")
    assert error(api, "GET", f"{CLI}/volume?colour=red") == (404, "262179")
    assert error(api, "PATCH", f"{CLI}/volume?volume=v1", {"colour": "red"}) == (400, "262179")
    assert error(api, "PATCH", f"{CLI}/volume?volume=v1", {"uuid": "x"}) == (400, "2")
    assert error(api, "PATCH", f"{CLI}/volume?volume=v1", {"volume": "v9"}) == (400, "2")


def test_queries_take_ontaps_syntax(api: FlaskClient) -> None:
    def names(query: str) -> list[str]:
        return [r["volume"] for r in records(api, f"{CLI}/volume?{query}")]

    assert names("volume=v*") == ["v1", "v2"]
    assert names("volume=!v1&vserver=vs0") == ["v2"]
    assert names("volume=v1|w1") == ["v1", "w1"]
    assert names("type=DP") == ["d1"]
    assert names("size=>10000000&vserver=vs1") == ["w1", "d1"]


def test_an_unknown_command_is_an_error_never_a_silent_200(api: FlaskClient) -> None:
    for method in ("GET", "POST", "PATCH", "DELETE"):
        status, answer = call(api, method, f"{CLI}/volume/frobnicate", {})
        assert (status, answer["error"]["code"]) == (404, "262179"), method
        assert "volume frobnicate" in answer["error"]["message"]


def test_a_method_a_command_does_not_take_is_405_naming_those_it_does(api: FlaskClient) -> None:
    response = api.open(f"{CLI}/storage/aggregate", method="DELETE", headers=HEADERS)
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    options = api.open(f"{CLI}/volume", method="OPTIONS", headers=HEADERS)
    assert options.status_code == 200
    assert options.headers["Allow"] == "GET, POST, PATCH, DELETE, OPTIONS"


def test_privilege_level_is_checked(api: FlaskClient) -> None:
    assert len(records(api, f"{CLI}/volume?privilege_level=diagnostic")) == 4
    assert error(api, "GET", f"{CLI}/volume?privilege_level=root") == (400, "262197")


def test_the_passthrough_needs_credentials(api: FlaskClient) -> None:
    assert api.get(f"{CLI}/volume").status_code == 401


@pytest.mark.parametrize(
    ("text", "size"),
    [("10g", 10 * 1024**3), ("500MB", 500 * MIB), ("1.5k", 1536), (4096, 4096), ("20m", 20 * MIB)],
)
def test_cli_sizes(text: Any, size: int) -> None:
    assert size_in_bytes(text) == size


def test_a_bad_size_is_refused(api: FlaskClient) -> None:
    body = {"vserver": "vs0", "volume": "c1", "aggregate": "aggr1", "size": "lots"}
    status, answer = call(api, "POST", f"{CLI}/volume", body)
    assert (status, answer["error"]["target"]) == (400, "size")


# -- volumes: one state for the CLI and REST -------------------------------------------------------
def test_a_volume_created_through_the_cli_is_the_one_rest_reads(
    sim: Simulator, api: FlaskClient
) -> None:
    body = {
        "vserver": "vs0",
        "volume": "c1",
        "aggregate": "aggr1",
        "size": "100m",
        "policy": "default",
        "type": "RW",
        "unix-permissions": "---rwxr-x---",
    }
    status, answer = call(api, "POST", f"{CLI}/volume", body)
    assert status == 202, answer
    job = answer["job"]["uuid"]
    assert answer["cli_output"] == f"[Job {job}] Job is queued: Create c1."
    assert records(api, f"{CLI}/volume?volume=c1") == []
    sim.advance(5)
    assert call(api, "GET", f"/api/cluster/jobs/{job}")[1]["state"] == "success"
    volume = rest_volume(api, "c1")
    assert volume["size"] == 100 * MIB and volume["svm"]["name"] == "vs0"
    assert volume["nas"]["unix_permissions"] == 750 and volume["type"] == "rw"


def test_a_job_command_finished_within_return_timeout_says_so(api: FlaskClient) -> None:
    body = {"vserver": "vs0", "volume": "c2", "aggregate": "aggr1"}
    status, answer = call(api, "POST", f"{CLI}/volume?return_timeout=10", body)
    assert status == 201 and "Job succeeded" in answer["cli_output"]
    assert rest_volume(api, "c2")["size"] == 20 * MIB


def test_a_volume_created_through_rest_is_the_one_the_cli_shows(api: FlaskClient) -> None:
    body = {
        "name": "r1",
        "svm": {"name": "vs1"},
        "aggregates": [{"name": "aggr2"}],
        "size": 40 * MIB,
    }
    assert call(api, "POST", "/api/storage/volumes?return_timeout=5", body)[0] == 201
    shown = records(api, f"{CLI}/volume?volume=r1&fields=size,aggregate")
    assert shown == [{"vserver": "vs1", "volume": "r1", "size": 40 * MIB, "aggregate": "aggr2"}]


def test_rest_rules_apply_to_cli_writes(api: FlaskClient) -> None:
    duplicate = {"vserver": "vs0", "volume": "v1", "aggregate": "aggr1"}
    assert error(api, "POST", f"{CLI}/volume?return_timeout=5", duplicate) == (409, "1")
    no_svm = {"volume": "c3", "aggregate": "aggr1"}
    status, answer = call(api, "POST", f"{CLI}/volume", no_svm)
    assert (status, answer["error"]["target"]) == (400, "vserver")
    unknown = {"vserver": "nope", "volume": "c3", "aggregate": "aggr1"}
    assert call(api, "POST", f"{CLI}/volume", unknown)[0] == 400


def test_a_query_based_patch_modifies_every_record_it_selects(api: FlaskClient) -> None:
    status, answer = call(
        api, "PATCH", f"{CLI}/volume?vserver=vs0&volume=v*", {"comment": "cli", "size": "30m"}
    )
    assert (status, answer) == (200, {"num_records": 2})
    for name in ("v1", "v2"):
        volume = rest_volume(api, name, "comment,size")
        assert volume["comment"] == "cli" and volume["size"] == 30 * MIB
    assert rest_volume(api, "w1", "comment").get("comment", "") == ""
    assert call(api, "PATCH", f"{CLI}/volume?volume=none*", {"comment": "x"})[1] == {
        "num_records": 0
    }


def test_a_query_based_delete_deletes_what_it_selects(sim: Simulator, api: FlaskClient) -> None:
    status, answer = call(api, "DELETE", f"{CLI}/volume?vserver=vs0&volume=v2")
    assert status == 202 and answer["cli_output"].endswith("Job is queued: Delete v2.")
    sim.advance(5)
    assert records(api, "/api/storage/volumes?name=v2") == []
    # The records may be named in the body too, as netapp.ontap's examples do.
    status, answer = call(api, "DELETE", f"{CLI}/volume", {"vserver": "vs0", "volume": "v1"})
    assert status == 202
    sim.advance(5)
    assert [r["volume"] for r in records(api, f"{CLI}/volume?vserver=vs0")] == []
    # Several at once apply at once.
    assert call(api, "DELETE", f"{CLI}/volume?vserver=vs1")[1] == {"num_records": 2}
    assert records(api, f"{CLI}/volume") == []


def test_a_volume_move_through_the_cli_moves_the_rest_volume(
    sim: Simulator, api: FlaskClient
) -> None:
    # na_ontap_volume sends the body with a hyphen and the names in the query.
    path = f"{CLI}/volume/move/start?volume=v1&vserver=vs0"
    status, answer = call(api, "PATCH", path, {"destination-aggregate": "aggr2"})
    assert status == 202, answer
    sim.advance(5)
    assert rest_volume(api, "v1", "aggregates")["aggregates"][0]["name"] == "aggr2"
    assert error(api, "PATCH", path, {}) == (400, "2")
    assert error(
        api, "PATCH", f"{CLI}/volume/move/start?volume=nope", {"destination_aggregate": "aggr2"}
    ) == (
        404,
        "4",
    )


def test_the_recovery_queue_is_empty_so_a_purge_finds_nothing(api: FlaskClient) -> None:
    # Trident lists the queue, then purges what it found (simulator/cli_passthrough.py).
    assert records(api, f"{CLI}/volume/recovery-queue?vserver=vs0&volume=v1*") == []
    purge = {"vserver": "vs0", "volume": "v1_1234"}
    assert error(api, "POST", f"{CLI}/volume/recovery-queue/purge", purge) == (404, "4")


# -- SVMs --------------------------------------------------------------------------------------
def test_vserver_show_lists_the_admin_vserver_and_the_data_svms(api: FlaskClient) -> None:
    # netapp.ontap's get_cserver looks for type "admin" in private/cli/vserver?fields=type.
    shown = records(api, f"{CLI}/vserver?fields=type")
    assert shown == [
        {"vserver": "cluster1", "type": "admin"},
        {"vserver": "vs0", "type": "data"},
        {"vserver": "vs1", "type": "data"},
    ]


def test_vserver_protocols_and_max_volumes_are_the_rest_svms(api: FlaskClient) -> None:
    # na_ontap_svm's calls for clusters older than 9.9/9.13.
    query = f"{CLI}/vserver?vserver=vs0&fields=allowed_protocols,max_volumes"
    assert records(api, query)[0]["max_volumes"] == "unlimited"
    remove = {"protocols": ["cifs", "s3"]}
    assert call(api, "PATCH", f"{CLI}/vserver/remove-protocols?vserver=vs0", remove)[0] == 200
    svm = records(api, "/api/svm/svms?name=vs0&fields=cifs,s3,nfs")[0]
    assert svm["cifs"]["allowed"] is False and svm["s3"]["allowed"] is False
    assert svm["nfs"]["allowed"] is True
    assert (
        call(api, "PATCH", f"{CLI}/vserver/add-protocols?vserver=vs0", {"protocols": ["cifs"]})[0]
        == 200
    )
    assert call(api, "PATCH", f"{CLI}/vserver?vserver=vs0", {"max_volumes": 100})[0] == 200
    shown = records(api, query)[0]
    assert shown["max_volumes"] == "100"
    assert shown["allowed_protocols"] == ["nfs", "cifs", "fcp", "iscsi", "ndmp", "nvme"]
    bad = {"protocols": ["smtp"]}
    assert error(api, "PATCH", f"{CLI}/vserver/add-protocols?vserver=vs0", bad) == (400, "2")


def test_aggregates_are_read_only_through_the_cli(api: FlaskClient) -> None:
    shown = records(api, f"{CLI}/storage/aggregate?fields=size,node,state")
    assert [r["aggregate"] for r in shown] == ["aggr1", "aggr2"]
    assert shown[0]["node"] == "cluster1-01" and shown[0]["state"] == "online"
    assert error(api, "POST", f"{CLI}/storage/aggregate", {"aggregate": "a3"}) == (405, "3")


# -- SnapMirror --------------------------------------------------------------------------------
def test_snapmirror_through_the_cli_is_the_rest_relationship(
    sim: Simulator, api: FlaskClient
) -> None:
    create = {"source_path": "vs0:v1", "destination_path": "vs1:d1", "policy": "MirrorAllSnapshots"}
    assert call(api, "POST", f"{CLI}/snapmirror", create)[0] == 201
    relationship = records(api, "/api/snapmirror/relationships?fields=state,policy")[0]
    assert relationship["state"] == "uninitialized"
    assert relationship["policy"]["name"] == "MirrorAllSnapshots"
    fields = "fields=mirror_state,status,policy,relationship_id"
    assert records(api, f"{CLI}/snapmirror?{fields}") == [
        {
            "source_path": "vs0:v1",
            "destination_path": "vs1:d1",
            "mirror_state": "uninitialized",
            "status": "idle",
            "policy": "MirrorAllSnapshots",
            "relationship_id": relationship["uuid"],
        }
    ]
    sim.script(
        "PATCH",
        "/api/snapmirror/relationships/*",
        [{"state": "running", "seconds": 20}, {"state": "success"}],
    )
    status, answer = call(
        api, "POST", f"{CLI}/snapmirror/initialize", {"destination_path": "vs1:d1"}
    )
    assert status == 200 and answer["cli_output"].startswith("Operation is queued")
    assert (
        records(api, f"{CLI}/snapmirror?fields=mirror_state")[0]["mirror_state"] == "uninitialized"
    )
    sim.advance(20)
    assert records(api, "/api/snapmirror/relationships?fields=state")[0]["state"] == "snapmirrored"
    call(api, "POST", f"{CLI}/snapmirror/quiesce", {"destination_path": "vs1:d1"})
    shown = records(api, f"{CLI}/snapmirror?fields=mirror_state,status")[0]
    assert (shown["mirror_state"], shown["status"]) == ("snapmirrored", "quiesced")
    call(api, "POST", f"{CLI}/snapmirror/break", {"destination_path": "vs1:d1"})
    assert records(api, f"{CLI}/snapmirror?fields=mirror_state")[0]["mirror_state"] == "broken-off"
    # The REST model's refusals come through the CLI with their codes.
    assert error(api, "POST", f"{CLI}/snapmirror/update", {"destination_path": "vs1:d1"}) == (
        400,
        "13303844",
    )
    assert call(api, "DELETE", f"{CLI}/snapmirror?destination_path=vs1:d1")[1] == {"num_records": 1}
    assert records(api, "/api/snapmirror/relationships") == []


def test_a_snapmirror_update_through_the_cli_is_a_transfer(
    sim: Simulator, api: FlaskClient
) -> None:
    call(api, "POST", f"{CLI}/snapmirror", {"source_path": "vs0:v1", "destination_path": "vs1:d1"})
    status, _ = call(api, "POST", f"{CLI}/snapmirror/update", {"destination_path": "vs1:d1"})
    assert status == 200
    assert records(api, f"{CLI}/snapmirror?fields=status")[0]["status"] == "transferring"
    sim.advance(5)
    shown = records(api, f"{CLI}/snapmirror?fields=mirror_state,status,last_transfer_type")[0]
    assert shown["mirror_state"] == "snapmirrored" and shown["status"] == "idle"
    assert shown["last_transfer_type"] == "initialize"


# -- LUNs and NVMe subsystems: the REST records --------------------------------------------
def test_lun_and_nvme_subsystem_show_the_rest_records(api: FlaskClient) -> None:
    lun = {"name": "/vol/v1/l1", "svm": {"name": "vs0"}, "os_type": "linux", "space": {"size": MIB}}
    assert call(api, "POST", "/api/storage/luns?return_timeout=5", lun)[0] == 201
    shown = records(api, f"{CLI}/lun?fields=size,ostype")
    assert shown == [{"vserver": "vs0", "path": "/vol/v1/l1", "size": MIB, "ostype": "linux"}]
    subsystem = {"name": "ss1", "svm": {"name": "vs0"}, "os_type": "linux"}
    assert call(api, "POST", "/api/protocols/nvme/subsystems?return_timeout=5", subsystem)[0] == 201
    assert records(api, f"{CLI}/vserver/nvme/subsystem?fields=ostype") == [
        {"vserver": "vs0", "subsystem": "ss1", "ostype": "linux"}
    ]
    assert call(api, "DELETE", f"{CLI}/vserver/nvme/subsystem?subsystem=ss1")[1] == {
        "num_records": 1
    }
    assert records(api, "/api/protocols/nvme/subsystems") == []


# -- settings without a REST counterpart ----------------------------------------------------------
def test_settings_are_kept_and_a_reset_restores_them(sim: Simulator, api: FlaskClient) -> None:
    assert records(api, f"{CLI}/system/timeout") == [{"timeout": 30}]
    assert call(api, "PATCH", f"{CLI}/system/timeout", {"timeout": 10})[1] == {"num_records": 1}
    assert records(api, f"{CLI}/system/timeout") == [{"timeout": 10}]
    assert error(api, "PATCH", f"{CLI}/system/timeout", {"timeout": "ten"}) == (400, "2")
    node = f"{CLI}/storage/failover?fields=auto_giveback"
    assert records(api, node) == [{"node": "cluster1-01", "auto_giveback": False}]
    assert call(api, "PATCH", f"{CLI}/storage/failover?node=*", {"auto_giveback": True})[0] == 200
    assert records(api, node)[0]["auto_giveback"] is True
    assert call(api, "PATCH", f"{CLI}/storage/disk/option", {"autoassign": "off"})[0] == 200
    assert records(api, f"{CLI}/storage/disk/option?fields=autoassign")[0]["autoassign"] == "off"
    assert error(api, "PATCH", f"{CLI}/storage/disk/option", {"node": "n2"}) == (400, "2")
    sim.reset()
    assert records(api, f"{CLI}/system/timeout") == [{"timeout": 30}]
    assert records(api, f"{CLI}/cluster/ha") == [{"configured": False}]


def test_version(api: FlaskClient) -> None:
    assert records(api, f"{CLI}/version")[0]["version"].startswith("NetApp Release 9.15.1")


def test_every_command_documents_itself_and_takes_get_or_a_write() -> None:
    for path, command in COMMANDS.items():
        assert command.doc, path
        assert command.methods(), path
        assert set(command.keys) <= set(command.fields), path


def test_the_docs_name_every_command_served_and_not_modelled() -> None:
    from pathlib import Path

    from simulator.cli_passthrough import NOT_MODELLED

    doc = (Path(__file__).parent.parent / "docs" / "cli-passthrough.md").read_text()
    for path in COMMANDS:
        last = path.rsplit("/", 1)[-1]
        assert f"`{path}`" in doc or f"`{last}`" in doc, path
    flat = " ".join(doc.split())
    for path in NOT_MODELLED:
        assert f"`{path.replace('/', ' ')}`" in flat, path


def test_a_compliance_clock_is_not_configured_until_initialized(
    sim: Simulator, api: FlaskClient
) -> None:
    clock = f"{CLI}/snaplock/compliance-clock?node=cluster1-01&fields=time"
    assert records(api, clock)[0]["time"] == "ComplianceClock is not configured."
    path = f"{CLI}/snaplock/compliance-clock/initialize?node=cluster1-01"
    assert call(api, "PATCH", path, {})[1] == {"num_records": 1}
    assert records(api, clock)[0]["time"] == "Mon Jan 01 00:00:00 UTC 2024 +00:00"
    sim.advance(3600)
    assert records(api, clock)[0]["time"] == "Mon Jan 01 01:00:00 UTC 2024 +00:00"
    assert error(api, "PATCH", path, {}) == (400, "2")


def test_storage_failover_auto_giveback_after_panic(api: FlaskClient) -> None:
    body = {"auto_giveback": True, "auto_giveback_after_panic": True}
    assert call(api, "PATCH", f"{CLI}/storage/failover?node=cluster1-01", body)[0] == 200
    shown = records(api, f"{CLI}/storage/failover?fields=auto_giveback,auto_giveback_after_panic")
    assert shown == [
        {"node": "cluster1-01", "auto_giveback": True, "auto_giveback_after_panic": True}
    ]


# -- commands NetApp's Ansible modules use, on the state REST serves -------------------------------
NET_SCENARIO: dict[str, Any] = {
    **SCENARIO,
    "records": {
        "BroadcastDomain": [{"name": "bd1", "ipspace": {"name": "Default"}, "mtu": 1500}],
        "Port": [
            {
                "node": {"name": "cluster1-01"},
                "name": name,
                "type": "physical",
                "broadcast_domain": {"name": "bd1", "ipspace": {"name": "Default"}},
            }
            for name in ("e0c", "e0d")
        ],
    },
}


def test_broadcast_domain_remove_ports_takes_the_ports_out_of_the_rest_domain() -> None:
    # na_ontap_broadcast_domain and na_ontap_ports: the only way to take a port out over REST.
    api = Simulator(clock="virtual", scenario=NET_SCENARIO).app.test_client()
    path = f"{CLI}/network/port/broadcast-domain/remove-ports?broadcast-domain=bd1&ipspace=Default"
    assert call(api, "PATCH", path, {"ports": ["cluster1-01:e0c"]}) == (200, {"num_records": 1})
    domain = records(api, "/api/network/ethernet/broadcast-domains?name=bd1&fields=ports")[0]
    assert [p["name"] for p in domain["ports"]] == ["e0d"]
    port = records(api, "/api/network/ethernet/ports?name=e0c&fields=broadcast_domain")[0]
    assert "broadcast_domain" not in port
    assert error(api, "PATCH", path, {"ports": ["cluster1-01:e0c"]}) == (400, "1967087")
    # Sent by na_ontap_broadcast_domain before deleting a domain: then REST deletes it.
    assert call(api, "PATCH", path, {"ports": ["cluster1-01:e0d"]})[0] == 200
    assert call(api, "PATCH", path, {"ports": []})[0] == 200
    uuid = domain["uuid"]
    assert call(api, "DELETE", f"/api/network/ethernet/broadcast-domains/{uuid}")[0] == 200
    assert error(api, "PATCH", path, {"ports": ["cluster1-01:e0c"]}) == (404, "4")


def test_cifs_local_users_are_the_rest_local_users(sim: Simulator, api: FlaskClient) -> None:
    # na_ontap_cifs_local_user_modify reads and modifies a user through the CLI.
    cifs = {"svm": {"name": "vs0"}, "name": "CIFS1", "workgroup": "WG"}
    assert call(api, "POST", "/api/protocols/cifs/services?return_timeout=5", cifs)[0] == 201
    user = {"svm": {"name": "vs0"}, "name": "CIFS1\\u1", "password": "Netapp1!x"}
    assert call(api, "POST", "/api/protocols/cifs/local-users", user)[0] == 201
    by_cli = {"vserver": "vs0", "user-name": "CIFS1\\u2", "password": "Netapp1!x"}
    assert call(api, "POST", f"{CLI}/vserver/cifs/users-and-groups/local-user", by_cli)[0] == 201
    sids = [u["sid"] for u in records(api, "/api/protocols/cifs/local-users?fields=sid")]
    assert [sid.rsplit("-", 1)[1] for sid in sids] == ["1000", "1001"]
    query = "vserver=vs0&user-name=CIFS1\\u1"
    fields = "fields=user-name,full-name,is-account-disabled,description"
    shown = records(api, f"{CLI}/vserver/cifs/users-and-groups/local-user?{query}&{fields}")
    assert shown[0]["is_account_disabled"] is False and "password" not in shown[0]
    body = {"is_account_disabled": True, "full_name": "User One"}
    path = f"{CLI}/vserver/cifs/users-and-groups/local-user?{query}"
    assert call(api, "PATCH", path, body) == (200, {"num_records": 1})
    rest = records(api, "/api/protocols/cifs/local-users?name=CIFS1\\u1&fields=*")[0]
    assert rest["account_disabled"] is True and rest["full_name"] == "User One"


def test_preferred_domain_controllers_are_the_rest_records(api: FlaskClient) -> None:
    # na_ontap_active_directory_domain_controllers before ONTAP 9.12.
    account = {"svm": {"name": "vs0"}, "name": "ACC", "fqdn": "example.com", "username": "a"}
    account["password"] = "x"
    assert call(api, "POST", "/api/protocols/active-directory?return_timeout=5", account)[0] == 201
    add = {"vserver": "vs0", "domain": "example.com", "preferred_dc": ["10.0.0.1", "10.0.0.2"]}
    path = f"{CLI}/vserver/active-directory/preferred-dc"
    assert call(api, "POST", f"{path}/add?skip_config_validation=true", add)[0] == 201
    vs0 = records(api, "/api/svm/svms?name=vs0")[0]["uuid"]
    rest = f"/api/protocols/active-directory/{vs0}/preferred-domain-controllers"
    assert sorted(r["server_ip"] for r in records(api, f"{rest}?fields=*")) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    shown = records(api, f"{path}?vserver=vs0&domain=example.com&preferred_dc=10.0.0.1")
    assert shown == [{"vserver": "vs0", "domain": "example.com", "preferred_dc": "10.0.0.1"}]
    remove = {"vserver": "vs0", "domain": "example.com", "preferred_dc": ["10.0.0.1"]}
    assert call(api, "DELETE", f"{path}/remove", remove) == (200, {"num_records": 1})
    assert [r["server_ip"] for r in records(api, rest)] == ["10.0.0.2"]
    assert error(api, "GET", f"{path}/add") == (405, "3")


def test_fpolicy_engines_and_events_are_the_rest_records(api: FlaskClient) -> None:
    # na_ontap_fpolicy_ext_engine, na_ontap_fpolicy_event.
    engine = {
        "vserver": "vs0",
        "engine-name": "eng1",
        "primary-servers": ["10.0.0.9"],
        "port": 9000,
        "extern-engine-type": "synchronous",
        "ssl-option": "no_auth",
    }
    assert call(api, "POST", f"{CLI}/vserver/fpolicy/policy/external-engine", engine)[0] == 201
    event = {
        "vserver": "vs0",
        "event-name": "ev1",
        "protocol": "cifs",
        "file-operations": ["create", "write"],
    }
    assert call(api, "POST", f"{CLI}/vserver/fpolicy/policy/event", event)[0] == 201
    vs0 = records(api, "/api/svm/svms?name=vs0")[0]["uuid"]
    ops = records(api, f"{CLI}/vserver/fpolicy/policy/event?event-name=ev1&fields=file-operations")
    assert ops[0]["file_operations"] == ["create", "write"]
    engine_query = "vserver=vs0&engine-name=eng1"
    patch = {"max-server-reqs": 200, "port": 9001}
    assert call(
        api, "PATCH", f"{CLI}/vserver/fpolicy/policy/external-engine?{engine_query}", patch
    )[1] == {"num_records": 1}
    rest_engine = records(api, f"/api/protocols/fpolicy/{vs0}/engines?fields=*")[0]
    assert (rest_engine["port"], rest_engine["max_server_requests"]) == (9001, 200)
    path = f"{CLI}/vserver/fpolicy/policy/event?vserver=vs0&event-name=ev1"
    assert call(api, "DELETE", path)[1] == {"num_records": 1}
    assert records(api, f"/api/protocols/fpolicy/{vs0}/events") == []


def test_fpolicy_policies_and_scopes_are_the_rest_policies(api: FlaskClient) -> None:
    # na_ontap_fpolicy_policy, na_ontap_fpolicy_scope: the CLI creates a disabled policy
    # without scope or priority (REST's POST requires both), then its scope.
    policy_path = f"{CLI}/vserver/fpolicy/policy"
    event = {
        "vserver": "vs0",
        "event-name": "ev1",
        "protocol": "cifs",
        "file-operations": ["write"],
    }
    assert call(api, "POST", f"{policy_path}/event", event)[0] == 201
    policy = {"vserver": "vs0", "policy-name": "p1", "events": ["ev1"], "is-mandatory": False}
    missing = {**policy, "events": ["nope"]}
    assert error(api, "POST", policy_path, missing) == (400, "9764875")
    assert error(api, "POST", policy_path, {**policy, "engine": "nope"}) == (400, "9764888")
    assert call(api, "POST", policy_path, policy)[0] == 201
    assert error(api, "POST", policy_path, policy) == (409, "9765032")
    fields = "events,engine,allow-privileged-access,is-mandatory,is-passthrough-read-enabled"
    shown = records(api, f"{policy_path}?vserver=vs0&policy-name=p1&fields={fields}")
    assert shown == [
        {
            "vserver": "vs0",
            "policy_name": "p1",
            "events": ["ev1"],
            "engine": "native",
            "allow_privileged_access": "no",
            "is_mandatory": False,
            "is_passthrough_read_enabled": False,
        }
    ]
    vs0 = records(api, "/api/svm/svms?name=vs0")[0]["uuid"]
    rest = f"/api/protocols/fpolicy/{vs0}/policies/p1?fields=*"
    status, answer = call(api, "GET", rest)
    assert status == 200 and answer["enabled"] is False and "scope" not in answer
    assert call(api, "PATCH", f"{policy_path}?vserver=vs0&policy-name=p1", {"is_mandatory": True})[
        1
    ] == {"num_records": 1}
    assert call(api, "GET", rest)[1]["mandatory"] is True
    # The scope: none until created, then REST's scope.
    scope_path = f"{policy_path}/scope"
    assert records(api, f"{scope_path}?vserver=vs0") == []
    scope: dict[str, Any] = {"vserver": "vs0", "policy-name": "p1"}
    scope["volumes-to-include"] = ["v1", "v2"]
    scope["check-extensions-on-directories"] = True
    assert call(api, "POST", scope_path, scope)[0] == 201
    assert error(api, "POST", scope_path, scope) == (409, "1")
    assert error(api, "POST", scope_path, {**scope, "policy-name": "p9"}) == (404, "4")
    assert call(api, "GET", rest)[1]["scope"] == {
        "include_volumes": ["v1", "v2"],
        "check_extensions_on_directories": True,
    }
    query = "vserver=vs0&policy-name=p1"
    flags = "is-file-extension-check-on-directories-enabled,volumes-to-include,shares-to-include"
    row = records(api, f"{scope_path}?{query}&fields={flags}")[0]
    assert row["volumes_to_include"] == ["v1", "v2"] and "shares_to_include" not in row
    assert row["is_file_extension_check_on_directories_enabled"] is True
    patch = {"volumes_to_include": ["v1"], "shares_to_exclude": ["s1"]}
    assert call(api, "PATCH", f"{scope_path}?{query}", patch)[1] == {"num_records": 1}
    assert call(api, "GET", rest)[1]["scope"]["include_volumes"] == ["v1"]
    assert call(api, "DELETE", f"{scope_path}?{query}")[1] == {"num_records": 1}
    assert "scope" not in call(api, "GET", rest)[1]
    assert call(api, "DELETE", f"{policy_path}?{query}")[1] == {"num_records": 1}
    assert call(api, "GET", rest)[0] == 404
