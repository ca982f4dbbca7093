"""The declarations for the operations netapp-ontap has no resource for (issue 12).

``simulator/model/ontap_api_extra.json`` is compiled by ``tools/compile_trident_models.py`` from
the go-swagger models in NetApp's Trident repository. CI has no Trident checkout, so the file is
committed data: these tests hold it to its own layout, to operations.tsv and to facts read from
the Go models, and check that the merged declaration serves every operation. With
``TRIDENT_GIT`` naming a clone of NetApp/trident, the compiler's ``--check`` runs too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_app import AUTH

from simulator import Simulator
from simulator.model import ApiSpec, load_spec
from simulator.model.spec import FORMAT, parse_spec

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "simulator" / "model"
MAIN_TEXT = (MODEL / "ontap_api.json").read_text(encoding="utf-8")
EXTRA_TEXT = (MODEL / "ontap_api_extra.json").read_text(encoding="utf-8")
MAIN = json.loads(MAIN_TEXT)
EXTRA = json.loads(EXTRA_TEXT)
COMPILER = ROOT / "tools" / "compile_trident_models.py"
#: The paths ontap_api.json (netapp-ontap's declaration) has no resource for.
UNSERVED = [path for path, owner in MAIN["paths"] if owner is None]
ADDED = {row[0] for row in EXTRA["resources"]}


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return load_spec()


# --- the committed data file ----------------------------------------------------------------


def test_the_header_names_the_source_repository_commit_and_licence() -> None:
    assert EXTRA["format"] == FORMAT
    assert EXTRA["repository"] == "https://github.com/NetApp/trident"
    assert re.fullmatch(r"[0-9a-f]{40}", EXTRA["commit"])
    assert EXTRA["path"] == "storage_drivers/ontap/api/rest"
    assert EXTRA["license"] == "Apache-2.0"
    assert EXTRA["source"].startswith(f"NetApp/trident {EXTRA['commit'][:12]} ")
    assert EXTRA["ontap_version"] == MAIN["ontap_version"]
    # what the write flags can and cannot say is written down with the data
    assert "readOnly" in EXTRA["notes"]["post/patch"]
    assert EXTRA["notes"]["expensive"].startswith("none")


def test_the_file_is_compact_sorted_and_ends_with_a_newline() -> None:
    expected = json.dumps(EXTRA, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert expected + "\n" == EXTRA_TEXT


def test_it_declares_exactly_the_paths_netapp_ontap_has_none_for() -> None:
    declared = dict(EXTRA["paths"])
    assert len(declared) == len(EXTRA["paths"])
    assert list(declared) == UNSERVED  # operations.tsv's order
    rows = {row[0]: row for row in EXTRA["resources"]}
    for path, owner in declared.items():
        collection, record = rows[owner][2], rows[owner][3]
        assert path in (collection, record), (path, owner)
    assert {owner for owner in declared.values()} == ADDED
    assert not ADDED & {row[0] for row in MAIN["resources"]}


def test_record_paths_name_their_keys_in_order(spec: ApiSpec) -> None:
    for name in ADDED:
        res = spec.resources[name]
        path = res.record_path or res.collection_path
        variables = re.findall(r"\{([^}]+)\}", path)
        assert len(variables) == len(res.keys), name
        for variable, key in zip(variables, res.keys, strict=True):
            # a key is the path's variable, or the model's field it spells without underscores
            assert key == variable or key.replace("_", "") == variable.replace("_", ""), name


def test_fields_references_and_requirements_name_what_exists(spec: ApiSpec) -> None:
    for name in ADDED:
        res = spec.resources[name]
        for field_name, field in res.fields.items():
            assert field.name == field_name
            assert field.in_list is None or field_name.startswith(field.in_list + "."), field_name
            assert not field.expensive
            assert not (field_name.startswith("_links.") and (field.post or field.patch))
        for prefix, target in res.references.items():
            assert target in spec.resources, (name, target)
            assert any(n.startswith(prefix + ".") for n in res.fields), (name, prefix)
        for group in res.required_post:
            assert all(any(n == g or n.startswith(g + ".") for n in res.fields) for g in group)


def test_only_actions_whose_operation_takes_no_json_body_have_no_fields(spec: ApiSpec) -> None:
    bodiless = {name for name in ADDED if not spec.resources[name].fields}
    assert bodiless == {
        "ApplicationComponentSnapshotRestore",
        "ApplicationSnapshotRestore",
        "AwsKmsRekeyInternal",
        "AwsKmsRestore",
        "AzureKeyVaultRekeyInternal",
        "AzureKeyVaultRestore",
        "BarbicanRekeyInternal",
        "BarbicanRestore",
        "GcpKmsRekeyInternal",
        "GcpKmsRestore",
        "SoftwareUpload",  # a multipart file upload
    }
    for name in bodiless:
        res = spec.resources[name]
        assert res.singleton and [
            op.method for op in spec.operations_on(res.record_path or "")
        ] == ["POST"]


# --- facts carried over from the Go models --------------------------------------------------


def test_a_data_engine_workspace(spec: ApiSpec) -> None:
    workspace = spec.resources["Workspace"]
    assert (workspace.module, workspace.keys) == ("workspace", ("uuid",))
    assert workspace.collection_path == "/api/data-engine/workspaces"
    assert workspace.record_path == "/api/data-engine/workspaces/{uuid}"
    fields = workspace.fields
    state = fields["state"]  # Read Only: true, Enum: [...]
    assert state.enum == ("processing", "ready", "failed", "outdated")
    assert (state.get, state.post, state.patch) == (True, False, False)
    assert fields["create_time"].type == "date-time"  # *strfmt.DateTime
    assert fields["space.used"].type == "integer" and not fields["space.used"].post
    name = fields["name"]
    assert (name.type, name.get, name.post, name.patch) == ("string", True, True, True)
    policy = fields["policies.uuid"]  # []*WorkspaceInlinePoliciesInlineArrayItem
    assert (policy.in_list, policy.is_list) == ("policies", False)
    assert workspace.references["data_sources.data_source.svm"] == "Svm"


def test_references_and_parents_map_onto_either_declaration(spec: ApiSpec) -> None:
    acl = spec.resources["DataEngineAcl"]
    assert acl.keys == ("workspace.uuid", "user_or_group.name")
    assert acl.record_path == (
        "/api/data-engine/workspaces/{workspace.uuid}/acls/{user_or_group.name}"
    )
    assert acl.references == {"workspace": "Workspace"}
    assert not acl.fields["workspace.uuid"].post  # Read Only: true on the whole object
    source = spec.resources["DataSource"].references
    assert source["local_storage.svm"] == "Svm" and source["workspaces"] == "Workspace"
    assert spec.resources["SecurityKeyManagerRestore"].references == {"node": "Node"}
    # {datacollection.uuid} names the model's data_collection.uuid
    version = spec.resources["DatacollectionVersion"]
    assert version.keys == ("workspace.uuid", "data_collection.uuid", "uuid")


def test_an_action_is_declared_by_its_body_model(spec: ApiSpec) -> None:
    rekey = spec.resources["AwsKmsRekeyExternal"]
    assert rekey.singleton and rekey.keys == ("aws_kms.uuid",)
    assert (
        rekey.record_path
        == rekey.collection_path
        == ("/api/security/aws-kms/{aws_kms.uuid}/rekey-external")
    )
    key_id = rekey.fields["key_id"]
    assert (key_id.type, key_id.get, key_id.post, key_id.patch) == ("string", False, True, False)
    ping = spec.resources["MediatorPing"].fields
    assert ping["type"].enum == ("cloud", "on_prem") and ping["type"].post
    assert not ping["reachable"].post  # an answer, not an input
    csr = spec.resources["CreateCertificateSigningRequest"].fields
    assert csr["subject_alternatives.dns"].is_list and csr["subject_alternatives.dns"].post
    assert csr["hash_function"].enum == ("sha256", "sha224", "sha384", "sha512")


def test_bounds_lists_and_enums_of_list_items(spec: ApiSpec) -> None:
    manifests = spec.resources["CounterCacheManifests"]
    assert manifests.keys == ("preset",)
    period = manifests.fields["preset_details.sample-period"]
    assert period.enum == ("1m", "5m", "10m", "30m", "1h")
    assert period.in_list == "preset_details"
    counters = manifests.fields["preset_details.counters"]  # []*string inside a list item
    assert (counters.type, counters.is_list, counters.in_list) == (
        "string",
        True,
        "preset_details",
    )
    bounded = [
        f for name in ADDED for f in spec.resources[name].fields.values() if f.maximum is not None
    ]
    assert bounded and all(f.type in ("integer", "number") for f in bounded)


# --- the merge ------------------------------------------------------------------------------


def test_every_operation_has_a_resource_once_merged(spec: ApiSpec) -> None:
    alone = parse_spec(MAIN_TEXT)
    assert [op.path for op in alone.operations if op.resource is None] != []
    assert all(op.resource is not None for op in spec.operations)
    for before, after in zip(alone.operations, spec.operations, strict=True):
        if before.resource is not None:  # netapp-ontap's declaration comes first
            assert after.resource == before.resource
        else:
            assert after.resource in ADDED
        assert spec.resource_for(after.path) is spec.resources[after.resource or ""]
    assert len(spec.resources) == len(alone.resources) + len(ADDED)


def test_the_loader_refuses_a_name_both_files_declare() -> None:
    clash = json.loads(EXTRA_TEXT)
    clash["resources"][0][0] = "Volume"
    with pytest.raises(RuntimeError, match=r"ontap_api_extra.json declares .*Volume"):
        parse_spec(MAIN_TEXT, json.dumps(clash))


def test_an_extra_file_of_another_format_is_refused_by_name() -> None:
    with pytest.raises(RuntimeError, match=r"ontap_api_extra.json has format 0.*compile_trident"):
        parse_spec(MAIN_TEXT, json.dumps({"format": 0}))


@pytest.mark.skipif(not os.environ.get("TRIDENT_GIT"), reason="TRIDENT_GIT names no clone")
def test_the_file_is_what_the_compiler_writes_from_trident() -> None:
    result = subprocess.run(
        [sys.executable, str(COMPILER), "--trident-git", os.environ["TRIDENT_GIT"], "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- served ---------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Simulator:
    return Simulator(clock="virtual", scenario={"inventory": {"svms": [{"name": "vs0"}]}})


@pytest.fixture
def client(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def _call(client: FlaskClient, method: str, path: str, body: Any = None) -> Any:
    headers = {**AUTH, "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body)
    return client.open(path, method=method, headers=headers, data=data)


def _aws_kms(sim: Simulator) -> str:
    record = sim.store.insert(
        sim.store.spec.resources["AwsKms"],
        {"uuid": "4ea7a442-86d1-11e0-ae1c-123478563412", "svm": {"name": "vs0"}},
    )
    return str(record["uuid"])


def test_an_action_runs_as_a_job_each_time_and_stores_nothing(
    sim: Simulator, client: FlaskClient
) -> None:
    path = f"/api/security/aws-kms/{_aws_kms(sim)}/rekey-external"
    for key in ("key1", "key2"):  # a rekey can be repeated: it is not a record
        answer = _call(client, "POST", path + "?return_timeout=5", {"key_id": key})
        assert answer.status_code == 201, answer.json
        assert "Location" not in answer.headers
        job = _call(client, "GET", answer.json["job"]["_links"]["self"]["href"])
        assert job.json["state"] == "success"
    assert sim.store.records_of("AwsKmsRekeyExternal") == []
    started = _call(client, "POST", path, {"key_id": "key3"})
    assert started.status_code == 202 and "job" in started.json


def test_an_action_checks_its_body_and_the_record_its_path_names(
    sim: Simulator, client: FlaskClient
) -> None:
    path = f"/api/security/aws-kms/{_aws_kms(sim)}/rekey-external"
    wrong = _call(client, "POST", path, {"key_id": 7})
    assert wrong.status_code == 400 and wrong.json["error"]["target"] == "key_id"
    unknown = _call(client, "POST", path, {"key": "x"})
    assert unknown.status_code == 400 and unknown.json["error"]["target"] == "key"
    missing = _call(client, "POST", "/api/security/aws-kms/no-such-key-manager/rekey-external", {})
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "4"


def test_an_action_answers_200_where_ontap_does(client: FlaskClient) -> None:
    for _ in range(2):
        answer = _call(client, "POST", "/api/cluster/mediator-ping", {"type": "cloud"})
        assert answer.status_code == 200, answer.json  # operations.tsv: 200 only
        assert "Location" not in answer.headers
    refused = _call(client, "POST", "/api/cluster/mediator-ping", {"reachable": True})
    assert refused.status_code == 400 and refused.json["error"]["target"] == "reachable"
    enum = _call(client, "POST", "/api/cluster/mediator-ping", {"type": "nearby"})
    assert enum.status_code == 400 and enum.json["error"]["target"] == "type"


def test_a_netapp_ontap_action_can_be_repeated_too(sim: Simulator, client: FlaskClient) -> None:
    # /api/storage/file/clone takes no GET either: the second clone was a 409 "duplicate entry"
    for _ in range(2):
        answer = _call(client, "POST", "/api/storage/file/clone?return_timeout=5", {})
        assert answer.status_code in (200, 201), answer.json
    assert sim.store.records_of("FileClone") == []


def test_a_workspace_and_its_acl_through_create_read_and_delete(
    sim: Simulator, client: FlaskClient
) -> None:
    created = _call(client, "POST", "/api/data-engine/workspaces?return_timeout=5", {"name": "w1"})
    assert created.status_code == 201, created.json
    location = created.headers["Location"]
    uuid = location.rsplit("/", 1)[-1]
    listed = _call(client, "GET", "/api/data-engine/workspaces?name=w1")
    assert [r["uuid"] for r in listed.json["records"]] == [uuid]
    acls = f"/api/data-engine/workspaces/{uuid}/acls"
    granted = _call(client, "POST", acls, {"user_or_group": {"name": "alice"}})
    assert granted.status_code == 201, granted.json
    acl = _call(client, "GET", f"{acls}/alice?fields=workspace")
    assert acl.status_code == 200, acl.json
    assert acl.json["workspace"] == {"uuid": uuid, "name": "w1"}  # a reference, filled in
    read_only = _call(client, "PATCH", location, {"state": "ready"})
    assert read_only.status_code == 400 and read_only.json["error"]["target"] == "state"
    gone = _call(client, "GET", "/api/data-engine/workspaces/no-such-workspace/acls")
    assert gone.status_code == 404 and gone.json["error"]["code"] == "4"
    deleted = _call(client, "DELETE", location + "?return_timeout=5")
    assert deleted.status_code == 200, deleted.json
    assert _call(client, "GET", location).status_code == 404
