"""Fidelity of the deep storage models on the store: rules re-checked when a job applies,
references ONTAP resolves, and what a rename leaves alone."""

from __future__ import annotations

from typing import Any

import pytest
from test_app import VOLUME, Api, assert_error

from simulator import Simulator

VOLUMES = "/api/storage/volumes"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Api(Simulator(clock="virtual"))


def _volume(api: Api, **fields: Any) -> str:
    created = api("POST", f"{VOLUMES}?return_timeout=10", {**VOLUME, **fields})
    assert created.status_code == 201, created.json
    return str(api("GET", f"{VOLUMES}?name={VOLUME['name']}").json["records"][0]["uuid"])


def _snapshot(api: Api, volume: str, name: str) -> str:
    path = f"{VOLUMES}/{volume}/snapshots"
    assert api("POST", f"{path}?return_timeout=10", {"name": name}).status_code == 201
    return str(api("GET", f"{path}?name={name}").json["records"][0]["uuid"])


@pytest.mark.parametrize("where", ["body", "query"])
def test_restore_fails_when_its_snapshot_goes_before_the_job_applies(api: Api, where: str) -> None:
    volume = _volume(api)
    snapshot = _snapshot(api, volume, "s1")
    api.sim.script(
        "PATCH",
        f"{VOLUMES}/{volume}",
        [{"state": "running", "seconds": 30}, {"state": "success"}],
    )
    restore = {"restore_to": {"snapshot": {"name": "s1"}}}
    if where == "body":
        started = api("PATCH", f"{VOLUMES}/{volume}?return_timeout=0", restore)
    else:
        query = "?return_timeout=0&restore_to.snapshot.name=s1"
        started = api("PATCH", f"{VOLUMES}/{volume}{query}", {})
    assert started.status_code == 202  # accepted: the snapshot exists now
    job = started.json["job"]["uuid"]
    gone = api("DELETE", f"{VOLUMES}/{volume}/snapshots/{snapshot}?return_timeout=10")
    assert gone.status_code == 200
    api.sim.advance(60)
    ended = api("GET", f"/api/cluster/jobs/{job}").json
    assert (ended["state"], ended["code"]) == ("failure", 524511)
    assert ended["message"] == 'Failed to restore snapshot "s1".'


def test_restore_applies_while_its_snapshot_stays(api: Api) -> None:
    volume = _volume(api)
    _snapshot(api, volume, "s1")
    body = {"restore_to": {"snapshot": {"name": "s1"}}, "comment": "restored"}
    assert api("PATCH", f"{VOLUMES}/{volume}?return_timeout=10", body).status_code == 200
    record = api("GET", f"{VOLUMES}/{volume}?fields=**").json
    assert record["comment"] == "restored" and "restore_to" not in record
    assert_error(
        api("PATCH", f"{VOLUMES}/{volume}", {"restore_to": {"snapshot": {"name": "s9"}}}),
        400,
        "2",
        "restore_to.snapshot.name",
    )


def test_a_patch_whose_query_carries_its_arguments_needs_no_body(api: Api) -> None:
    """Trident restores with ``PATCH ...?restore_to.snapshot.name=s1`` and no body at all; a
    PATCH with neither body nor arguments of its own still needs a body."""
    volume = _volume(api)
    _snapshot(api, volume, "s1")
    restored = api("PATCH", f"{VOLUMES}/{volume}?return_timeout=10&restore_to.snapshot.name=s1")
    assert restored.status_code == 200, restored.json
    missing = api("PATCH", f"{VOLUMES}/{volume}?restore_to.snapshot.name=s9")
    assert_error(missing, 400, "2", "restore_to.snapshot.name")  # still checked
    assert_error(api("PATCH", f"{VOLUMES}/{volume}?return_timeout=10"), 400, "2", "body")


SVMS = "/api/svm/svms"


def _policy_uuid(api: Api, name: str) -> str:
    found = api("GET", f"/api/storage/snapshot-policies?name={name}").json["records"]
    return str(found[0]["uuid"])


@pytest.mark.parametrize(
    ("body", "code", "target"),
    [
        ({"snapshot_policy": {"name": "nope"}}, "917551", "snapshot_policy.name"),
        (
            {"snapshot_policy": {"uuid": "0b0b0b0b-0000-0000-0000-000000000000"}},
            "917551",
            "snapshot_policy.uuid",
        ),
        ({"nas": {"export_policy": {"name": "nope"}}}, "918271", "nas.export_policy.name"),
        ({"qos": {"policy": {"name": "nope"}}}, "2", "qos.policy.name"),
    ],
)
def test_a_volume_write_naming_an_unknown_policy_is_refused_before_any_job(
    api: Api, body: dict[str, Any], code: str, target: str
) -> None:
    assert_error(api("POST", VOLUMES, {**VOLUME, **body}), 400, code, target)
    volume = _volume(api)
    assert_error(api("PATCH", f"{VOLUMES}/{volume}", body), 400, code, target)
    assert api("GET", "/api/cluster/jobs").json["num_records"] == 1  # the volume's POST only


def test_a_volume_names_its_policies_both_ways(api: Api) -> None:
    exports = {"svm": {"name": "vs0"}, "name": "exports"}
    assert api("POST", "/api/protocols/nfs/export-policies", exports).status_code == 201
    none = _policy_uuid(api, "none")
    body = {
        "snapshot_policy": {"name": "none"},
        "nas": {"export_policy": {"name": "exports"}},
        "qos": {"policy": {"name": "extreme"}},  # ONTAP's built-in adaptive policy
    }
    volume = _volume(api, **body)
    fields = "snapshot_policy,nas.export_policy,qos.policy"
    record = api("GET", f"{VOLUMES}/{volume}?fields={fields}").json
    assert record["snapshot_policy"] == {"name": "none", "uuid": none}
    policy = api("GET", "/api/protocols/nfs/export-policies?name=exports").json["records"][0]
    assert record["nas"]["export_policy"] == {"name": "exports", "id": policy["id"]}
    assert record["qos"]["policy"]["name"] == "extreme" and record["qos"]["policy"]["uuid"]
    default = _policy_uuid(api, "default")
    patched = api(
        "PATCH", f"{VOLUMES}/{volume}?return_timeout=10", {"snapshot_policy": {"uuid": default}}
    )
    assert patched.status_code == 200
    shown = api("GET", f"{VOLUMES}/{volume}?fields=snapshot_policy").json["snapshot_policy"]
    assert shown == {"name": "default", "uuid": default}
    mismatch = {"snapshot_policy": {"name": "none", "uuid": default}}
    assert_error(api("PATCH", f"{VOLUMES}/{volume}", mismatch), 400, "1638587")


def test_an_svm_write_naming_an_unknown_policy_is_refused(api: Api) -> None:
    unknown = {"snapshot_policy": {"name": "nope"}}
    assert_error(
        api("POST", SVMS, {"name": "vs1", **unknown}), 400, "13434886", "snapshot_policy.name"
    )
    vs0 = api("GET", f"{SVMS}?name=vs0").json["records"][0]["uuid"]
    assert_error(api("PATCH", f"{SVMS}/{vs0}", unknown), 400, "13434886", "snapshot_policy.name")
    qos = {"qos_policy": {"name": "nope"}}  # a PATCH field only
    assert_error(api("PATCH", f"{SVMS}/{vs0}", qos), 400, "2", "qos_policy.name")
    created = api("POST", f"{SVMS}?return_timeout=10", {"name": "vs1"})
    assert created.status_code == 201
    record = api("GET", f"{SVMS}?name=vs1&fields=snapshot_policy").json["records"][0]
    assert record["snapshot_policy"] == {"name": "default", "uuid": _policy_uuid(api, "default")}


DNS = "/api/name-services/dns"


def test_an_svm_post_with_dns_creates_the_svms_dns_record(api: Api) -> None:
    dns = {"domains": ["lab.example.com"], "servers": ["10.0.0.53"]}
    created = api("POST", f"{SVMS}?return_timeout=10", {"name": "vs1", "dns": dns})
    assert created.status_code == 201
    uuid = api("GET", f"{SVMS}?name=vs1").json["records"][0]["uuid"]
    record = api("GET", f"{DNS}/{uuid}").json
    assert (record["domains"], record["servers"]) == (dns["domains"], dns["servers"])
    assert (record["svm"]["name"], record["svm"]["uuid"]) == ("vs1", uuid)
    shown = api("GET", f"{SVMS}/{uuid}?fields=dns").json["dns"]
    assert {k: shown[k] for k in ("domains", "servers")} == dns
    # One state: the DNS record's change is the SVM's.
    patched = api("PATCH", f"{DNS}/{uuid}?return_timeout=10", {"servers": ["10.0.0.54"]})
    assert patched.status_code == 200
    assert api("GET", f"{SVMS}/{uuid}?fields=dns").json["dns"]["servers"] == ["10.0.0.54"]
    assert api("DELETE", f"{DNS}/{uuid}?return_timeout=10").status_code == 200
    assert "dns" not in api("GET", f"{SVMS}/{uuid}?fields=dns").json
    assert_error(api("PATCH", f"{SVMS}/{uuid}", {"dns": dns}), 400, "2", "dns")  # POST only


def test_an_svms_dns_record_is_keyed_by_its_svm_and_goes_with_it(api: Api) -> None:
    created = api("POST", f"{SVMS}?return_timeout=10", {"name": "vs1"})
    assert created.status_code == 201
    uuid = api("GET", f"{SVMS}?name=vs1").json["records"][0]["uuid"]
    assert "dns" not in api("GET", f"{SVMS}/{uuid}?fields=dns").json
    body = {"svm": {"name": "vs1"}, "domains": ["a.example"], "servers": ["10.0.0.1"]}
    assert api("POST", f"{DNS}?return_timeout=10", body).status_code == 201
    assert api("GET", f"{SVMS}/{uuid}?fields=dns").json["dns"]["domains"] == ["a.example"]
    assert_error(api("POST", DNS, body), 409, "1")  # one per SVM
    assert api("DELETE", f"{SVMS}/{uuid}?return_timeout=10").status_code == 200
    assert api("GET", DNS).json["num_records"] == 0


def test_an_svm_post_with_incomplete_dns_is_refused_before_any_job(api: Api) -> None:
    body = {"name": "vs1", "dns": {"domains": ["lab.example.com"]}}
    assert_error(api("POST", SVMS, body), 400, "2", "dns.servers")
    assert api("GET", "/api/cluster/jobs").json["num_records"] == 0
    assert api("GET", f"{SVMS}?name=vs1").json["num_records"] == 0
