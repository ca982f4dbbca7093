"""NAS deep models, request by request (issue 13): qtrees, export policies and rules, CIFS
servers and shares, quota rules and quotas on a volume. Each ONTAP rule and refusal, with the
error code docs/nas.md gives for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nas_helpers import GIB, NAS, SCENARIO, Api

from simulator import Simulator

POLICIES = "/api/protocols/nfs/export-policies"
QTREES = "/api/storage/qtrees"
SHARES = "/api/protocols/cifs/shares"
RULES = "/api/storage/quota/rules"
VOLUMES = "/api/storage/volumes"


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(clock="virtual", scenario=SCENARIO)


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    sim.reset()
    yield Api(sim)
    assert sim.errors == []


def _policy(api: Api, name: str = "p1", **body: object) -> int:
    api.ok("POST", POLICIES, {"svm": NAS, "name": name, **body})
    return int(api.one(POLICIES, name=name)["id"])


def _rule(match: str = "10.0.0.0/8", **extra: object) -> dict[str, object]:
    return {"clients": [{"match": match}], "ro_rule": ["sys"], "rw_rule": ["sys"], **extra}


def _indexes(api: Api, policy: int) -> dict[int, str]:
    records = api.get(f"{POLICIES}/{policy}/rules?fields=clients")["records"]
    return {r["index"]: r["clients"][0]["match"] for r in records}


# -- export policies ---------------------------------------------------------------------------
def test_every_svm_has_a_default_policy_with_an_ontap_id(api: Api) -> None:
    records = api.get(f"{POLICIES}?name=default&fields=svm")["records"]
    assert {r["svm"]["name"]: r["id"] for r in records} == {"vs0": 2 << 32 | 1, "vs1": 3 << 32 | 1}
    api.ok("POST", "/api/svm/svms", {"name": "vs2"})
    assert api.one(POLICIES, name="default", **{"svm.name": "vs2"})["id"] == 4 << 32 | 1
    assert _policy(api) == 2 << 32 | 2  # the SVM's next policy
    api.ok("DELETE", f"/api/svm/svms/{api.uuid('/api/svm/svms', 'vs2')}")
    assert api.get(f"{POLICIES}?svm.name=vs2")["num_records"] == 0  # gone with its SVM


def test_inline_rules_become_rule_records_numbered_as_posts_number_them(api: Api) -> None:
    rules = [_rule("10.0.0.0/8"), _rule("host1", index=1), _rule("host2")]
    policy = _policy(api, rules=rules)
    # host1 took index 1: 10.0.0.0/8 moved to 2; host2 went to the end.
    assert _indexes(api, policy) == {1: "host1", 2: "10.0.0.0/8", 3: "host2"}
    record = api.get(f"{POLICIES}/{policy}?fields=rules")
    assert [r["index"] for r in record["rules"]] == [1, 2, 3]
    api.ok("PATCH", f"{POLICIES}/{policy}", {"rules": [_rule("host9")]})  # replaces them all
    assert _indexes(api, policy) == {1: "host9"}
    api.ok("DELETE", f"{POLICIES}/{policy}")
    assert api.call("GET", f"{POLICIES}/{policy}/rules/1")[0] == 404


def test_policy_rename_shows_on_its_rules(api: Api) -> None:
    policy = _policy(api, rules=[_rule()])
    api.ok("PATCH", f"{POLICIES}/{policy}", {"name": "renamed"})
    assert api.get(f"{POLICIES}/{policy}/rules/1?fields=policy")["policy"]["name"] == "renamed"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "has space"}, "1703952"),
        ({"name": "x" * 257}, "1704047"),
        ({"name": "dup", "rules": [_rule(), _rule()]}, "1704071"),
    ],
)
def test_policy_post_refusals(api: Api, body: dict[str, object], code: str) -> None:
    assert api.refused("POST", POLICIES, {"svm": NAS, **body})[:2] == (400, code)


def test_the_default_policy_and_policies_in_use_refuse_deletion(api: Api) -> None:
    default = api.one(POLICIES, name="default", **{"svm.name": "vs0"})["id"]
    assert api.refused("DELETE", f"{POLICIES}/{default}")[1] == "1703947"
    used = _policy(api, "used_by_volume")
    volume = api.uuid(VOLUMES, "vol1")
    api.ok("PATCH", f"{VOLUMES}/{volume}", {"nas": {"export_policy": {"name": "used_by_volume"}}})
    assert api.refused("DELETE", f"{POLICIES}/{used}")[1] == "1703945"
    by_qtree = _policy(api, "used_by_qtree")
    api.ok(
        "POST",
        QTREES,
        {
            "svm": NAS,
            "volume": {"name": "vol1"},
            "name": "q",
            **{"export_policy": {"name": "used_by_qtree"}},
        },
    )
    assert api.refused("DELETE", f"{POLICIES}/{by_qtree}")[1] == "1703953"


# -- export rules -----------------------------------------------------------------------------
def test_rule_index_is_appended_or_honoured_moving_rules_up_to_the_first_gap(api: Api) -> None:
    policy = _policy(api)
    path = f"{POLICIES}/{policy}/rules"
    for match in ("a1", "a2", "a3"):
        api.ok("POST", path, _rule(match))
    api.ok("POST", path, _rule("a6", index=6))
    assert _indexes(api, policy) == {1: "a1", 2: "a2", 3: "a3", 6: "a6"}
    created = api.ok("POST", f"{path}?return_records=true", _rule("new", index=2))
    assert created["records"][0]["index"] == 2
    # 2 and 3 moved to 3 and 4; the gap at 4 stopped the move: 6 stayed.
    assert _indexes(api, policy) == {1: "a1", 2: "new", 3: "a2", 4: "a3", 6: "a6"}
    api.ok("POST", path, _rule("last"))
    assert max(_indexes(api, policy)) == 7


def test_rule_reindex_by_new_index_or_body(api: Api) -> None:
    policy = _policy(api, rules=[_rule("a1"), _rule("a2"), _rule("a3")])
    api.ok("PATCH", f"{POLICIES}/{policy}/rules/1?new_index=3", {})
    assert _indexes(api, policy) == {2: "a2", 3: "a1", 4: "a3"}
    api.ok("PATCH", f"{POLICIES}/{policy}/rules/4", {"index": 1})
    assert _indexes(api, policy) == {1: "a3", 2: "a2", 3: "a1"}
    bad = api.refused("PATCH", f"{POLICIES}/{policy}/rules/1?new_index=ten", {})
    assert bad[:2] == (400, "262197")


def test_rule_defaults(api: Api) -> None:
    policy = _policy(api, rules=[_rule()])
    rule = api.get(f"{POLICIES}/{policy}/rules/1?fields=*")
    assert rule["protocols"] == ["any"] and rule["superuser"] == ["any"]
    assert rule["anonymous_user"] == "65534" and rule["allow_suid"] is True
    assert (rule["chown_mode"], rule["ntfs_unix_security"]) == ("restricted", "fail")
    assert rule["svm"]["name"] == "vs0" and rule["policy"]["id"] == policy


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (_rule("10.0.0.1/8"), "1704040"),
        (_rule("10.0.0.0/33"), "1704042"),
        (_rule("10.0.0.0/255.0.255.0"), "1704043"),
        (_rule("@"), "1704038"),
        (_rule("@bad!group"), "1704054"),
        (_rule("."), "1704036"),
        (_rule(".bad_domain!"), "1704045"),
        (_rule("host_1!"), "1704044"),
        (_rule("nohost/24"), "1704037"),
        (_rule("a,b,a"), "1704050"),
        (_rule(index=0), "3277162"),
        (_rule(anonymous_user=""), "3277149"),
        (_rule(anonymous_user="4294967296"), "3277083"),
        (_rule(ro_rule=["rot13"]), "2"),
        (_rule(superuser=["never"]), "2"),
        (_rule(protocols=["smb9"]), "2"),
    ],
)
def test_rule_refusals(api: Api, rule: dict[str, object], code: str) -> None:
    policy = _policy(api)
    assert api.refused("POST", f"{POLICIES}/{policy}/rules", rule)[:2] == (400, code)


def test_a_second_identical_rule_and_svm_in_a_patch_are_refused(api: Api) -> None:
    policy = _policy(api, rules=[_rule()])
    assert api.refused("POST", f"{POLICIES}/{policy}/rules", _rule())[:2] == (409, "1704070")
    patch = api.refused("PATCH", f"{POLICIES}/{policy}/rules/1", {"svm": {"name": "vs0"}})
    assert patch[:2] == (400, "262196")
    assert api.refused("POST", f"{POLICIES}/999/rules", _rule())[0] == 404


# -- qtrees ------------------------------------------------------------------------------------
def _qtree(api: Api, name: str, volume: str = "vol1", **body: object) -> dict[str, object]:
    api.ok("POST", QTREES, {"svm": NAS, "volume": {"name": volume}, "name": name, **body})
    record: dict[str, object] = api.one(QTREES, name=name, **{"volume.name": volume})
    return record


def test_qtrees_are_numbered_per_volume_behind_the_default_qtree(api: Api) -> None:
    assert {q["id"] for q in api.get(f"{QTREES}?volume.name=vol1")["records"]} == {0}
    assert _qtree(api, "q1")["id"] == 1
    assert _qtree(api, "q2")["id"] == 2
    assert _qtree(api, "q1", volume="vol2")["id"] == 1  # each volume counts its own
    default = api.one(QTREES, name='""', **{"volume.name": "vol1"})
    assert (default["id"], default["path"], default["nas"]["path"]) == (0, "/vol/vol1", "/vol1")


def test_a_qtree_takes_its_volumes_settings_and_derives_its_paths(api: Api) -> None:
    qtree = _qtree(api, "q1")
    assert qtree["path"] == "/vol/vol1/q1" and qtree["nas"] == {"path": "/vol1/q1"}
    assert qtree["security_style"] == "unix" and qtree["unix_permissions"] == 755
    assert qtree["export_policy"] == {"name": "default", "id": 2 << 32 | 1}
    ntfs = _qtree(api, "q1", volume="vol2")
    assert ntfs["security_style"] == "ntfs" and "nas" not in ntfs  # vol2 is not mounted


@pytest.mark.parametrize("permissions", ["750", "0750", "---rwxr-x---", "rwxr-x---", 750])
def test_qtree_permissions_in_ontaps_spellings(api: Api, permissions: object) -> None:
    assert _qtree(api, "q1", unix_permissions=permissions)["unix_permissions"] == 750


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": ""}, 400, "5242894"),
        ({"name": "q1", "export_policy": {"name": "nope"}}, 400, "1703954"),
        ({"name": "q1", "export_policy": {"id": 12}}, 400, "5242952"),
        ({"name": "q1", "export_policy": {"id": 2 << 32 | 1, "name": "x"}}, 400, "5242951"),
        ({"name": "q1", "volume": {"name": "other"}}, 400, "917525"),
        ({"name": "q1", "volume": {"name": "dst"}}, 400, "5242881"),
        ({"name": "q1", "security_style": "unified"}, 400, "9437324"),
        ({"name": "a/b"}, 400, "262245"),
    ],
)
def test_qtree_create_refusals(api: Api, body: dict[str, object], status: int, code: str) -> None:
    request = {"svm": NAS, "volume": {"name": "vol1"}, **body}
    assert api.refused("POST", QTREES, request)[:2] == (status, code)


def test_qtree_rename_modify_delete(api: Api) -> None:
    volume = api.uuid(VOLUMES, "vol1")
    _qtree(api, "q1")
    _qtree(api, "q2")
    renamed = api.refused("PATCH", f"{QTREES}/{volume}/1", {"name": "q2"})
    assert renamed[1] == "5242972"
    api.ok("PATCH", f"{QTREES}/{volume}/1", {"name": "q3", "security_style": "mixed"})
    assert api.get(f"{QTREES}/{volume}/1?fields=name,path")["path"] == "/vol/vol1/q3"
    assert api.refused("PATCH", f"{QTREES}/{volume}/0", {"name": "x"})[1] == "5242894"
    assert api.refused("DELETE", f"{QTREES}/{volume}/0")[1] == "5242894"
    api.ok("DELETE", f"{QTREES}/{volume}/1")
    assert api.call("GET", f"{QTREES}/{volume}/1")[0] == 404


def test_a_qtree_holding_a_lun_refuses_deletion(api: Api) -> None:
    _qtree(api, "q1")
    api.ok(
        "POST",
        "/api/storage/luns",
        {"svm": NAS, "name": "/vol/vol1/q1/lun0", "os_type": "linux", "space": {"size": GIB // 4}},
    )
    volume = api.uuid(VOLUMES, "vol1")
    assert api.refused("DELETE", f"{QTREES}/{volume}/1")[1] == "5242916"


def test_a_volumes_qtrees_go_with_it(api: Api) -> None:
    _qtree(api, "q1", volume="vol2")
    api.ok("DELETE", f"{VOLUMES}/{api.uuid(VOLUMES, 'vol2')}")
    assert api.get(f"{QTREES}?volume.name=vol2")["num_records"] == 0


def test_queries_quoted_and_by_object_name(api: Api) -> None:
    _qtree(api, "q*")
    _qtree(api, "q1")
    _qtree(api, "q1", volume="vol2")
    # na_ontap_qtree asks name="<name>" (quoted: no wildcard) and volume=<volume name>.
    found = api.get(f'{QTREES}?name="q*"&volume=vol1')["records"]
    assert [(q["name"], q["id"]) for q in found] == [("q*", 1)]
    assert api.get(f"{QTREES}?name=q1&volume=vol2")["num_records"] == 1


# -- CIFS --------------------------------------------------------------------------------------
def test_a_cifs_server_comes_with_its_admin_shares(api: Api) -> None:
    shares = api.get(f"{SHARES}?svm.name=vs0&fields=path")["records"]
    assert {s["name"]: s["path"] for s in shares} == {"admin$": "/", "c$": "/", "ipc$": "/"}
    svm = api.uuid("/api/svm/svms", "vs0")
    assert api.refused("DELETE", f"{SHARES}/{svm}/c$")[1] == "655393"
    assert api.refused("PATCH", f"{SHARES}/{svm}/ipc$", {"comment": "x"})[1] == "656420"
    assert api.refused("PATCH", f"{SHARES}/{svm}/admin$", {"comment": "x"})[1] == "656421"
    assert api.refused("PATCH", f"{SHARES}/{svm}/c$", {"path": "/vol1"})[1] == "656425"
    second = api.refused("POST", "/api/protocols/cifs/services", {"svm": NAS, "name": "CIFS2"})
    assert second[:2] == (409, "655477")
    api.ok("DELETE", f"/api/protocols/cifs/services/{svm}")
    assert api.get(f"{SHARES}?svm.name=vs0")["num_records"] == 0


def test_an_svm_with_an_active_directory_cifs_server_refuses_deletion(api: Api) -> None:
    api.ok("DELETE", f"{VOLUMES}?name=other")
    domain = {"fqdn": "EXAMPLE.COM", "user": "admin", "password": "secret"}
    vs1 = {"name": "vs1"}
    api.ok(
        "POST", "/api/protocols/cifs/services", {"svm": vs1, "name": "CIFS2", "ad_domain": domain}
    )
    assert api.refused("DELETE", "/api/svm/svms?name=vs1")[:2] == (409, "2621525")
    svm = api.uuid("/api/svm/svms", "vs1")
    api.ok("DELETE", f"/api/protocols/cifs/services/{svm}")
    # A workgroup CIFS server, an export policy go with the SVM.
    api.ok("POST", "/api/protocols/cifs/services", {"svm": vs1, "name": "CIFS2", "workgroup": "W"})
    api.ok("POST", POLICIES, {"svm": vs1, "name": "p9"})
    api.ok("DELETE", "/api/svm/svms?name=vs1")
    assert api.get("/api/protocols/cifs/services?svm.name=vs1")["num_records"] == 0
    assert api.get(f"{POLICIES}?name=p9")["num_records"] == 0


def test_a_share_lies_in_a_mounted_volume_with_ontaps_defaults(api: Api) -> None:
    _qtree(api, "q1")
    api.ok("POST", SHARES, {"svm": NAS, "name": "s1", "path": "/vol1/q1"})
    share = api.one(SHARES, name="s1")
    assert share["volume"]["name"] == "vol1" and share["path"] == "/vol1/q1"
    assert (share["oplocks"], share["change_notify"], share["unix_symlink"]) == (
        True,
        True,
        "local",
    )
    assert share["acls"] == [
        {"user_or_group": "Everyone", "permission": "full_control", "type": "windows"}
    ]
    api.ok("POST", SHARES, {"svm": NAS, "name": "root", "path": "/"})  # the SVM's root
    assert "volume" not in api.one(SHARES, name="root")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "s1", "path": "vol1"}, "656423"),
        ({"name": "s1", "path": "/vol2"}, "655551"),  # vol2 is not mounted
        ({"name": "s1", "path": "/other"}, "655551"),  # mounted in another SVM
        ({"name": "x" * 81, "path": "/vol1"}, "655577"),
        ({"name": "a*b", "path": "/vol1"}, "656426"),
        ({"name": "c$", "path": "/"}, "656424"),
        ({"name": "s1", "path": "/vol1", "svm": {"name": "vs1"}}, "655399"),
    ],
)
def test_share_create_refusals(api: Api, body: dict[str, object], code: str) -> None:
    assert api.refused("POST", SHARES, {"svm": NAS, **body})[1] == code


def test_a_share_keeps_its_volume_from_deletion(api: Api) -> None:
    api.ok("POST", SHARES, {"svm": NAS, "name": "s1", "path": "/vol1"})
    volume = api.uuid(VOLUMES, "vol1")
    status, _, message = api.refused("DELETE", f"{VOLUMES}/{volume}")
    assert status == 409 and 'CIFS share "s1"' in message
    svm = api.uuid("/api/svm/svms", "vs0")
    # netapp.ontap's na_ontap_cifs deletes with the SVM's uuid and a query.
    api.ok("DELETE", f"{SHARES}/{svm}?name=s1")
    api.ok("DELETE", f"{VOLUMES}/{volume}")


def test_share_path_change_is_checked_and_moves_the_volume(api: Api) -> None:
    api.ok("POST", SHARES, {"svm": NAS, "name": "s1", "path": "/vol1"})
    svm = api.uuid("/api/svm/svms", "vs0")
    assert api.refused("PATCH", f"{SHARES}/{svm}/s1", {"path": "/nowhere"})[1] == "655551"
    api.ok("PATCH", f"{SHARES}/{svm}/s1", {"path": "/"})
    assert "volume" not in api.one(SHARES, name="s1")


# -- quotas ------------------------------------------------------------------------------------
def _quota(api: Api, **body: object) -> dict[str, object]:
    answer = api.ok(
        "POST", f"{RULES}?return_records=true", {"svm": NAS, "volume": {"name": "vol1"}, **body}
    )
    record: dict[str, object] = answer["records"][0]
    return record


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "user", "qtree": {"name": ""}}, "5308562"),
        (
            {
                "type": "user",
                "users": [{"name": "u"}],
                "group": {"name": "g"},
                "qtree": {"name": ""},
            },
            "5308562",
        ),
        ({"type": "group", "qtree": {"name": ""}}, "5308563"),
        ({"type": "tree", "qtree": {"name": ""}, "users": [{"name": "u"}]}, "5308564"),
        ({"type": "user", "users": [{"name": "u", "id": "1"}], "qtree": {"name": ""}}, "5308565"),
        ({"type": "group", "group": {"name": "g", "id": "1"}, "qtree": {"name": ""}}, "5308566"),
        ({"type": "tree", "qtree": {"name": ""}, "user_mapping": True}, "5308469"),
        (
            {"type": "tree", "qtree": {"name": ""}, "space": {"hard_limit": 1, "soft_limit": 2048}},
            "5308575",
        ),
        ({"type": "tree", "qtree": {"name": ""}, "files": {"hard_limit": -5}}, "5308574"),
        ({"type": "tree", "qtree": {"name": ""}, "volume": {"name": "other"}}, "917927"),
    ],
)
def test_quota_rule_refusals(api: Api, body: dict[str, object], code: str) -> None:
    request = {"svm": NAS, "volume": {"name": "vol1"}, **body}
    assert api.refused("POST", RULES, request)[1] == code


def test_an_explicit_rule_adds_the_default_rule_of_its_type(api: Api) -> None:
    _qtree(api, "q1")
    rule = _quota(api, type="tree", qtree={"name": "q1"}, space={"hard_limit": "1048576"})
    assert rule["qtree"] == {"name": "q1", "id": 1}  # netapp.ontap sends limits as strings
    assert rule["space"] == {"hard_limit": 1048576}
    _quota(api, type="user", users=[{"name": "fred"}], qtree={"name": ""})
    kinds = sorted(
        (r["type"], r.get("qtree", {}).get("name"), str(r.get("users")))
        for r in api.get(f"{RULES}?fields=type,qtree,users")["records"]
    )
    assert kinds == [
        ("tree", "", "None"),
        ("tree", "q1", "None"),
        ("user", "", "[{'name': ''}]"),
        ("user", "", "[{'name': 'fred'}]"),
    ]
    again = api.refused(
        "POST",
        RULES,
        {"svm": NAS, "volume": {"name": "vol1"}, "type": "tree", "qtree": {"name": "q1"}},
    )
    assert again[:2] == (409, "1")


def test_limits_are_rounded_and_reset(api: Api) -> None:
    rule = _quota(api, type="tree", qtree={"name": ""}, space={"hard_limit": 10})
    assert rule["space"] == {"hard_limit": 1024}  # "rounded up to 1024 bytes"
    api.ok("PATCH", f"{RULES}/{rule['uuid']}", {"space.hard_limit": "-", "files.hard_limit": "7"})
    after = api.get(f"{RULES}/{rule['uuid']}?fields=space,files")
    assert "space" not in after and after["files"] == {"hard_limit": 7}


def test_a_qtrees_quota_rules_follow_it(api: Api) -> None:
    _qtree(api, "q1")
    rule = _quota(api, type="tree", qtree={"name": "q1"})
    volume = api.uuid(VOLUMES, "vol1")
    api.ok("PATCH", f"{QTREES}/{volume}/1", {"name": "q9"})
    assert api.get(f"{RULES}/{rule['uuid']}?fields=qtree")["qtree"]["name"] == "q9"
    api.ok("DELETE", f"{QTREES}/{volume}/1")
    assert api.call("GET", f"{RULES}/{rule['uuid']}")[0] == 404


def test_quota_on_and_off_and_the_last_rule_still_enforced(api: Api) -> None:
    volume = api.uuid(VOLUMES, "vol1")
    assert api.get(f"{VOLUMES}/{volume}?fields=quota.state")["quota"] == {"state": "off"}
    rule = _quota(api, type="tree", qtree={"name": ""})
    api.ok("PATCH", f"{VOLUMES}/{volume}", {"quota": {"enabled": True}})
    assert api.get(f"{VOLUMES}/{volume}?fields=quota")["quota"] == {"state": "on"}
    # Deleting the last rule while quotas are on: deleted, and the job says it still applies.
    status, code, message = api.refused("DELETE", f"{RULES}/{rule['uuid']}")
    assert (status, code) == (400, "5308572") and "still being enforced" in message
    assert api.get(RULES)["num_records"] == 0
    api.ok("PATCH", f"{VOLUMES}/{volume}", {"quota.enabled": False})
    assert api.get(f"{VOLUMES}/{volume}?fields=quota.state")["quota"]["state"] == "off"


def test_a_read_looks_the_volumes_up_once_however_many_records_it_renders(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("q1", "q2", "q3"):
        _qtree(api, name)
    store = api.sim.store
    calls: list[str] = []
    records_of = store.records_of

    def counting(resource: str) -> Any:
        calls.append(resource)
        return records_of(resource)

    monkeypatch.setattr(store, "records_of", counting)
    assert api.get(f"{QTREES}?fields=*")["num_records"] == 7  # 4 default qtrees, and 3
    assert calls.count("Volume") == 1
    calls.clear()
    api.get(f"{SHARES}?fields=*")
    assert calls.count("Svm") <= 1
    assert store.cached("key", lambda: 1) == store.cached("key", lambda: 2) - 1  # not kept outside
