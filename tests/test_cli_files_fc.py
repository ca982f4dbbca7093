"""The CLI passthrough's last commands (simulator/cli_passthrough.py): NTFS file security
(``vserver security file-directory ...``, simulator/model/deep/filesecurity.py) applied onto
REST's file-security permissions, FC adapters' personality (``ucadmin``, deep/fc.py) and
disk partitions (``storage disk partition ...``, deep/disks.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from test_cli_platform import CLI, call
from test_cli_platform import api as api
from test_cli_platform import sim as sim

from simulator import Simulator

FD = f"{CLI}/vserver/security/file-directory"


@pytest.fixture
def mounted(sim: Simulator, api: FlaskClient) -> str:
    """vs0's uuid, with a volume mounted at /v1."""
    svm = call(api, "GET", "/api/svm/svms?name=vs0")[1]["records"][0]["uuid"]
    body = {"svm": {"name": "vs0"}, "name": "v1", "aggregates": [{"name": "a1"}]}
    status, answer = call(api, "POST", "/api/storage/volumes?return_timeout=120", body)
    assert status in (201, 202), answer
    sim.advance(60)
    volume = call(api, "GET", "/api/storage/volumes?name=v1")[1]["records"][0]["uuid"]
    status, answer = call(
        api, "PATCH", f"/api/storage/volumes/{volume}?return_timeout=120", {"nas": {"path": "/v1"}}
    )
    assert status in (200, 202), answer
    sim.advance(60)
    return str(svm)


def ok(api: FlaskClient, method: str, path: str, body: Any = None) -> Any:
    status, answer = call(api, method, path, body)
    assert status in (200, 201), answer
    return answer


def refused(api: FlaskClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = call(api, method, path, body)
    return status, answer["error"]["code"]


def build_policy(api: FlaskClient) -> None:
    ok(api, "POST", f"{FD}/ntfs", {"vserver": "vs0", "ntfs-sd": "sd1", "owner": "DOM\\alice"})
    for kind, access, account in (("dacl", "allow", "Everyone"), ("dacl", "deny", "guest")):
        body = {"vserver": "vs0", "ntfs_sd": "sd1", "access_type": access, "account": account}
        ok(api, "POST", f"{FD}/ntfs/{kind}/add", {**body, "rights": "read"})
    body = {"vserver": "vs0", "ntfs_sd": "sd1", "access_type": "failure", "account": "Everyone"}
    ok(api, "POST", f"{FD}/ntfs/sacl/add", body)
    ok(api, "POST", f"{FD}/policy", {"vserver": "vs0", "policy-name": "p1"})
    task = {"vserver": "vs0", "policy-name": "p1", "path": "/v1", "ntfs-sd": ["sd1"]}
    ok(api, "POST", f"{FD}/policy/task/add", task)


def test_an_applied_policy_is_what_rest_shows_of_the_path(api: FlaskClient, mounted: str) -> None:
    build_policy(api)
    permissions = f"/api/protocols/file-security/permissions/{mounted}/v1"
    assert call(api, "GET", permissions)[0] == 404  # nothing applied yet
    answer = ok(api, "POST", f"{FD}/apply", {"vserver": "vs0", "policy_name": "p1"})
    assert answer["num_records"] == 1
    status, record = call(api, "GET", permissions)
    assert status == 200, record
    assert record["owner"] == "DOM\\alice"
    assert [(a["access"], a["user"], a["rights"]) for a in record["acls"]] == [
        ("access_allow", "Everyone", "read"),
        ("access_deny", "guest", "read"),
        ("audit_failure", "Everyone", "full_control"),
    ]
    shown = ok(api, "GET", f"{FD}?vserver=vs0&fields=acls")["records"]
    assert shown == [
        {
            "vserver": "vs0",
            "path": "/v1",
            "acls": [
                "ALLOW-Everyone-read",
                "DENY-guest-read",
                "AUDIT-FAILURE-Everyone-full_control",
            ],
        }
    ]
    # a changed entry, applied again, replaces what the path had
    ok(api, "PATCH", f"{FD}/ntfs/dacl?ntfs_sd=sd1&account=guest", {"rights": "full-control"})
    ok(
        api,
        "DELETE",
        f"{FD}/ntfs/sacl/remove",
        {"vserver": "vs0", "ntfs_sd": "sd1", "access_type": "failure", "account": "Everyone"},
    )
    ok(api, "POST", f"{FD}/apply", {"vserver": "vs0", "policy_name": "p1"})
    record = call(api, "GET", permissions)[1]
    assert [(a["user"], a["rights"]) for a in record["acls"]] == [
        ("Everyone", "read"),
        ("guest", "full_control"),
    ]


def test_a_nested_path_is_the_record_rest_reads_url_encoded(api: FlaskClient, mounted: str) -> None:
    ok(api, "POST", f"{FD}/ntfs", {"vserver": "vs0", "ntfs-sd": "sd1", "owner": "DOM\\alice"})
    ok(api, "POST", f"{FD}/policy", {"vserver": "vs0", "policy-name": "p1"})
    task = {"vserver": "vs0", "policy-name": "p1", "path": "/v1/dir", "ntfs-sd": ["sd1"]}
    ok(api, "POST", f"{FD}/policy/task/add", task)
    ok(api, "POST", f"{FD}/apply", {"vserver": "vs0", "policy_name": "p1"})
    # ONTAP's clients send the path URL-encoded (netapp-ontap, Trident): %2F, either case
    for encoded in ("v1%2Fdir", "v1%2fdir"):
        status, record = call(
            api, "GET", f"/api/protocols/file-security/permissions/{mounted}/{encoded}"
        )
        assert status == 200, record
        assert record["owner"] == "DOM\\alice"
        assert record["file_directory_security"]["path"] == "v1/dir"
    (shown,) = ok(api, "GET", f"{FD}?vserver=vs0&fields=owner")["records"]
    assert shown["path"] == "/v1/dir"
    # applied again, the path's record is replaced, not refused as a duplicate
    ok(api, "POST", f"{FD}/apply", {"vserver": "vs0", "policy_name": "p1"})
    assert ok(api, "GET", f"{FD}?vserver=vs0")["num_records"] == 1


def test_tasks_as_na_ontap_fdspt_reads_and_changes_them(api: FlaskClient, mounted: str) -> None:
    build_policy(api)
    fields = "vserver,ntfs-mode,ntfs-sd,security-type,access-control,index-num"
    query = f"policy-name=p1&path=/v1&fields={fields}"
    (task,) = ok(api, "GET", f"{FD}/policy/task?{query}")["records"]
    assert task == {
        "vserver": "vs0",
        "policy_name": "p1",
        "path": "/v1",
        "ntfs_mode": "propagate",
        "ntfs_sd": ["sd1"],
        "security_type": "ntfs",
        "access_control": "file_directory",
        "index_num": 1,
    }
    ok(api, "PATCH", f"{FD}/policy/task?policy_name=p1&path=/v1", {"ntfs_mode": "replace"})
    task = {"vserver": "vs0", "policy-name": "p1", "path": "/v1"}
    assert refused(api, "POST", f"{FD}/policy/task/add", task) == (409, "1")
    ok(api, "DELETE", f"{FD}/policy/task/remove", task)
    assert ok(api, "GET", f"{FD}/policy/task")["num_records"] == 0


def test_file_security_refusals(api: FlaskClient, mounted: str) -> None:
    build_policy(api)
    sd = {"vserver": "vs0", "ntfs-sd": "sd1"}
    assert refused(api, "POST", f"{FD}/ntfs", sd) == (409, "1")
    assert refused(api, "DELETE", f"{FD}/ntfs", sd) == (409, "1")  # a task names it
    assert refused(api, "POST", f"{FD}/ntfs", {"vserver": "nope", "ntfs-sd": "x"}) == (404, "4")
    ace = {"vserver": "vs0", "ntfs_sd": "sd1", "access_type": "allow"}
    assert refused(api, "POST", f"{FD}/ntfs/dacl/add", ace) == (400, "10485810")
    ace = {"vserver": "vs0", "ntfs_sd": "sd1", "account": "x"}
    assert refused(api, "POST", f"{FD}/ntfs/dacl/add", ace) == (400, "10485811")
    ace = {"vserver": "vs0", "ntfs_sd": "sd1", "account": "x", "access_type": "success"}
    assert refused(api, "POST", f"{FD}/ntfs/dacl/add", ace) == (400, "2")
    ace = {"vserver": "vs0", "ntfs_sd": "zz", "account": "x", "access_type": "allow"}
    assert refused(api, "POST", f"{FD}/ntfs/dacl/add", ace) == (404, "4")
    task = {"vserver": "vs0", "policy-name": "nope", "path": "/v1"}
    assert refused(api, "POST", f"{FD}/policy/task/add", task) == (404, "4")
    task = {"vserver": "vs0", "policy-name": "p1", "path": "/elsewhere"}
    ok(api, "POST", f"{FD}/policy/task/add", task)
    apply = {"vserver": "vs0", "policy_name": "p1"}
    assert refused(api, "POST", f"{FD}/apply", apply) == (404, "655865")
    assert refused(api, "POST", f"{FD}/apply", {**apply, "policy_name": "x"}) == (404, "4")
    # deleting the policy deletes its tasks, then the descriptor goes with its entries
    ok(api, "DELETE", f"{FD}/policy", {"vserver": "vs0", "policy-name": "p1"})
    assert ok(api, "GET", f"{FD}/policy/task")["num_records"] == 0
    ok(api, "DELETE", f"{FD}/ntfs", sd)
    assert ok(api, "GET", f"{FD}/ntfs/dacl")["num_records"] == 0


# -- ucadmin ---------------------------------------------------------------------------------------
UC = f"{CLI}/ucadmin"
FIELDS = "fields=pending_mode,pending_type,current_mode,current_type,status_admin"


def test_each_node_gets_fc_ports_and_adapters(api: FlaskClient, sim: Simulator) -> None:
    ports = ok(api, "GET", "/api/network/fc/ports?fields=node.name,enabled")["records"]
    assert sorted((p["node"]["name"], p["name"]) for p in ports) == [
        ("n1", "0e"),
        ("n1", "0f"),
        ("n2", "0e"),
        ("n2", "0f"),
    ]
    (row,) = ok(api, "GET", f"{UC}?node=n1&adapter=0e&{FIELDS}")["records"]
    assert row == {
        "node": "n1",
        "adapter": "0e",
        "current_mode": "fc",
        "current_type": "target",
        "status_admin": "up",
    }
    sim.reset()
    assert ok(api, "GET", "/api/network/fc/ports")["num_records"] == 4


def test_a_modify_is_pending_and_needs_the_adapter_offline(api: FlaskClient) -> None:
    assert refused(api, "PATCH", f"{UC}?node=n1&adapter=0e", {"mode": "cna"}) == (409, "1")
    (port,) = ok(api, "GET", "/api/network/fc/ports?node.name=n1&name=0e")["records"]
    ok(api, "PATCH", f"/api/network/fc/ports/{port['uuid']}", {"enabled": False})
    ok(api, "PATCH", f"{UC}?node=n1&adapter=0e", {"mode": "cna", "type": "initiator"})
    (row,) = ok(api, "GET", f"{UC}?node=n1&adapter=0e&{FIELDS}")["records"]
    assert (row["current_mode"], row["pending_mode"], row["pending_type"]) == (
        "fc",
        "cna",
        "initiator",
    )
    assert row["status_admin"] == "down"
    ok(api, "PATCH", f"{UC}?node=n1&adapter=0e", {"mode": "fc"})  # back to the current mode
    (row,) = ok(api, "GET", f"{UC}?node=n1&adapter=0e&{FIELDS}")["records"]
    assert "pending_mode" not in row and row["pending_type"] == "initiator"
    assert refused(api, "PATCH", f"{UC}?node=n1&adapter=0e", {"mode": "x"}) == (400, "2")


# -- partitions ------------------------------------------------------------------------------------
PART = f"{CLI}/storage/disk/partition"


def test_partitions_follow_the_disks(api: FlaskClient) -> None:
    rows = ok(api, "GET", f"{PART}?fields=container_type,owner_node_name,is_root")["records"]
    assert len(rows) == 2 * 11  # 3 aggregate disks, 2 spares per node, 4 unassigned
    # na_ontap_partitions sends Python's booleans as they print: the CLI reads them any case
    for text in ("false", "False", "FALSE"):
        data = ok(api, "GET", f"{PART}?is-root={text}")["records"]
        assert len(data) == 11 and all(r["partition"].endswith("P1") for r in data), text
    first = {r["partition"]: r for r in rows}
    assert first["1.0.0P1"] == {
        "partition": "1.0.0P1",
        "container_type": "aggregate",
        "owner_node_name": "n1",
        "is_root": False,
    }
    assert first["1.0.0P2"]["is_root"] is True
    free = ok(api, "GET", f"{PART}?container-type=unassigned&is-root=false&nodelist=n2")
    assert [r["partition"] for r in free["records"]] == [
        "1.0.7P1",
        "1.0.8P1",
        "1.0.9P1",
        "1.0.10P1",
    ]


def test_partition_assign_and_removeowner(api: FlaskClient) -> None:
    ok(api, "POST", f"{PART}/assign", {"partition": "1.0.7P1", "owner": "n2"})
    (row,) = ok(api, "GET", f"{PART}?partition=1.0.7P1&fields=container_type,home_node_name")[
        "records"
    ]
    assert row == {"partition": "1.0.7P1", "container_type": "spare", "home_node_name": "n2"}
    assert refused(api, "POST", f"{PART}/assign", {"partition": "1.0.7P1", "owner": "n1"}) == (
        400,
        "2",
    )
    assert refused(api, "POST", f"{PART}/assign", {"partition": "9.9P1", "owner": "n1"}) == (
        404,
        "4",
    )
    assert refused(api, "POST", f"{PART}/assign", {"partition": "1.0.8P1", "owner": "x"}) == (
        404,
        "4",
    )
    assert refused(api, "POST", f"{PART}/removeowner", {"partition": "1.0.0P1"}) == (409, "1")
    ok(api, "POST", f"{PART}/removeowner", {"partition": "1.0.7P1"})
    assert refused(api, "POST", f"{PART}/removeowner", {"partition": "1.0.7P1"}) == (400, "2")


def test_an_encoded_path_key_routes_to_its_sub_resource(api: FlaskClient, mounted: str) -> None:
    """``{path}`` URL-encoded (``v1%2Fdir``) is one segment: ``.../v1%2Fdir/acl`` is the ACL
    collection of ``v1/dir``, not the path ``v1/dir/acl``; a ``%`` in it stays itself."""
    base = f"/api/protocols/file-security/permissions/{mounted}"
    ok(api, "POST", f"{base}/v1%2Fdir?return_timeout=10", {"owner": "DOM\\alice"})
    acl = {"user": "guest", "access": "access_allow", "rights": "read"}
    ok(api, "POST", f"{base}/v1%2Fdir/acl?return_timeout=10", acl)
    assert call(api, "GET", f"{base}/v1%2Fdir%2Facl")[0] == 404  # not a path of its own
    assert call(api, "GET", f"{base}/v1%2Fdir")[1]["file_directory_security"]["path"] == "v1/dir"
    ok(api, "PATCH", f"{base}/v1%2Fdir/acl/guest?return_timeout=10", {"rights": "full_control"})
    ok(api, "DELETE", f"{base}/v1%2Fdir/acl/guest?return_timeout=10")
    assert call(api, "DELETE", f"{base}/v1%2Fdir/acl/guest")[0] == 404  # gone
    ok(api, "POST", f"{base}/v1%2Fd%25x?return_timeout=10", {"owner": "DOM\\bob"})
    assert call(api, "GET", f"{base}/v1%2Fd%25x")[1]["file_directory_security"]["path"] == "v1/d%x"
