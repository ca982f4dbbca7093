"""The simulated cluster's storage objects, driven directly (no HTTP) through
``Simulator.inventory``: reads, planned writes, effects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from simulator.clock import VIRTUAL_EPOCH, VirtualClock
from simulator.errors import ApiError
from simulator.inventory import Inventory
from simulator.jobs import EffectError, iso
from simulator.model.body import expand_dotted
from simulator.model.deep.storage import MIN_VOLUME_SIZE
from simulator.model.plan import WritePlan
from simulator.model.spec import load_spec
from simulator.sim import Simulator

MIB = 1024 * 1024
CONTRACT_VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
VOLUMES = "/api/storage/volumes"
SVMS = "/api/svm/svms"
QOS = "/api/storage/qos/policies"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def _inventory(clock: VirtualClock) -> Inventory:
    return Simulator(clock).inventory


@pytest.fixture
def inv(clock: VirtualClock) -> Inventory:
    return _inventory(clock)


def schema_fields(resource: str) -> tuple[str, ...]:
    """Every field a GET of ``resource`` can show, from the declaration."""
    fields = load_spec().resources[resource].fields
    return tuple(name for name, field in fields.items() if field.get)


def leaf_names(example: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every leaf of ``example``; lists of objects are entered."""
    names: list[str] = []
    for key, value in example.items():
        dotted = prefix + key
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            value = value[0]
        if isinstance(value, Mapping) and value:
            names.extend(leaf_names(value, dotted + "."))
        else:
            names.append(dotted)
    return names


def refused(call: Callable[[], object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    return info.value


def effect_error(plan: WritePlan) -> EffectError:
    with pytest.raises(EffectError) as info:
        plan.effect()
    return info.value


def apply(
    inv: Inventory,
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
) -> WritePlan:
    plan = inv.plan(method, path, body, params or {})
    plan.effect()
    return plan


def make_volume(inv: Inventory, name: str = "v1", svm: str = "vs0", **extra: Any) -> str:
    """Create a volume at once and return its uuid."""
    body = {"name": name, "svm": {"name": svm}, "aggregates": [{"name": "aggr1"}], **extra}
    apply(inv, "POST", VOLUMES, body)
    return str(volume_named(inv, name, svm)["uuid"])


def volume_named(inv: Inventory, name: str, svm: str = "vs0") -> dict[str, Any]:
    found = [v for v in inv.volumes() if v["name"] == name and v["svm"]["name"] == svm]
    assert len(found) == 1, found
    return found[0]


def make_svm(inv: Inventory, name: str, **extra: Any) -> str:
    apply(inv, "POST", SVMS, {"name": name, **extra})
    return svm_uuid(inv, name)


def make_snapshot(inv: Inventory, volume_uuid: str, name: str = "s1", **extra: Any) -> str:
    apply(inv, "POST", f"{VOLUMES}/{volume_uuid}/snapshots", {"name": name, **extra})
    return next(str(s["uuid"]) for s in inv.snapshots(volume_uuid) if s["name"] == name)


def svm_uuid(inv: Inventory, name: str = "vs0") -> str:
    return next(str(s["uuid"]) for s in inv.svms() if s["name"] == name)


def names(answer: Mapping[str, Any]) -> list[str]:
    return [r["name"] for r in answer["records"]]


# -- the default inventory ----------------------------------------------------------------
def test_default_inventory_cluster(inv: Inventory) -> None:
    cluster = inv.read("/api/cluster", {})
    assert cluster["name"] == "cluster1"
    assert cluster["version"] == {
        "full": cluster["version"]["full"],
        "generation": 9,
        "major": 15,
        "minor": 1,
    }
    assert cluster["version"]["full"].startswith("NetApp Release 9.15.1: ")
    assert cluster["_links"] == {"self": {"href": "/api/cluster"}}
    assert inv.read("/api/cluster", {"fields": "version"}) == {
        "version": cluster["version"],
        "_links": cluster["_links"],
    }


def test_default_inventory_has_vs0_and_aggr1(inv: Inventory) -> None:
    assert names(inv.read(SVMS, {})) == ["vs0"]
    aggregates = inv.read("/api/storage/aggregates", {"fields": "*"})["records"]
    assert [a["name"] for a in aggregates] == ["aggr1"]
    aggr = aggregates[0]
    assert aggr["state"] == "online"
    assert aggr["node"]["name"] == "cluster1-01"
    space = aggr["space"]["block_storage"]
    assert space["available"] == space["size"] > 0
    assert inv.read(f"/api/storage/aggregates/{aggr['uuid']}", {})["name"] == "aggr1"


def test_nodes_and_software(inv: Inventory) -> None:
    nodes = inv.read("/api/cluster/nodes", {"fields": "*"})["records"]
    assert len(nodes) == 1
    node = nodes[0]
    assert node["name"] == "cluster1-01"
    assert node["state"] == "up"
    assert node["version"]["major"] == 15
    assert {"model", "serial_number"} <= set(node)
    assert inv.read(f"/api/cluster/nodes/{node['uuid']}", {"fields": "state"}) == {
        "uuid": node["uuid"],
        "name": "cluster1-01",
        "state": "up",
        "_links": node["_links"],
    }
    software = inv.read("/api/cluster/software", {})
    assert software["version"] == "9.15.1"
    assert software["nodes"] == [{"name": "cluster1-01", "version": "9.15.1"}]
    assert inv.read("/api/cluster/software", {"fields": "version"})["version"] == "9.15.1"


def test_uuids_are_stable_across_instances(clock: VirtualClock) -> None:
    first = _inventory(clock)
    second = _inventory(clock)
    assert first.svms() == second.svms()
    assert first.aggregates() == second.aggregates()
    assert first.cluster() == second.cluster()


# -- planning a volume POST -----------------------------------------------------------------
def test_contract_volume_post_plans_without_changing_anything(inv: Inventory) -> None:
    plan = inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {})
    assert plan.description == "POST /api/storage/volumes"
    assert plan.location == "/api/storage/volumes/?name=v1"
    assert plan.creates is True
    assert plan.svm is not None
    assert plan.svm["name"] == "vs0"
    assert plan.svm["uuid"] == svm_uuid(inv)
    assert plan.svm["_links"] == {"self": {"href": f"{SVMS}/{svm_uuid(inv)}"}}
    assert inv.volumes() == []
    assert inv.read(VOLUMES, {})["num_records"] == 0


def test_effect_creates_the_volume_with_ontap_defaults(inv: Inventory, clock: VirtualClock) -> None:
    plan = inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {})
    clock.advance(7)
    plan.effect()
    [volume] = inv.read(VOLUMES, {"fields": "*"})["records"]
    assert volume["name"] == "v1"
    assert volume["svm"]["name"] == "vs0"
    assert volume["aggregates"] == [
        {"name": "aggr1", "uuid": inv.aggregates()[0]["uuid"]},
    ]
    assert volume["size"] == volume["space"]["size"] == MIN_VOLUME_SIZE == 20 * MIB
    assert volume["space"]["used"] == 0
    assert volume["space"]["snapshot"]["reserve_percent"] == 5
    assert volume["state"] == "online"
    assert volume["type"] == "rw"
    assert volume["style"] == "flexvol"
    assert volume["language"] == "c.utf_8"
    assert volume["nas"]["security_style"] == "unix"
    assert volume["nas"]["unix_permissions"] == 755
    assert volume["guarantee"] == {"type": "volume"}
    assert volume["snapshot_policy"] == {"name": "default", "uuid": _default_policy(inv)}
    assert volume["create_time"] == iso(VIRTUAL_EPOCH + 7)
    assert volume["_links"] == {"self": {"href": f"{VOLUMES}/{volume['uuid']}"}}
    assert inv.read(f"{VOLUMES}/{volume['uuid']}", {}) == volume


def test_a_volume_post_names_its_aggregates(inv: Inventory) -> None:
    with pytest.raises(ApiError) as caught:
        inv.plan("POST", VOLUMES, {"name": "v1", "svm": {"name": "vs0"}}, {})
    assert (caught.value.status, caught.value.code, caught.value.target) == (400, "2", "aggregates")
    make_volume(inv)
    assert [a["name"] for a in volume_named(inv, "v1")["aggregates"]] == ["aggr1"]


def _default_policy(inv: Inventory) -> str:
    """The uuid of the built-in snapshot policy ``default``."""
    found = inv._read("/api/storage/snapshot-policies", {"name": "default"})["records"]
    return str(found[0]["uuid"])


def _policies(inv: Inventory, export: str, qos: str) -> None:
    """An export policy and a QoS policy in vs0: a volume naming them needs them to exist
    (the simulator's planner: neither is an inventory resource)."""
    for path, name in (("/api/protocols/nfs/export-policies", export), (QOS, qos)):
        inv._plan("POST", path, {"svm": {"name": "vs0"}, "name": name}, {}).effect()


def test_every_writable_field_is_kept(inv: Inventory) -> None:
    _policies(inv, "exports", "gold")
    body = {
        "name": "v1",
        "svm.name": "vs0",
        "aggregates": [{"name": "aggr1"}],
        "size": 100 * MIB,
        "comment": "hello",
        "state": "restricted",
        "type": "dp",
        "language": "en_us.utf_8",
        "nas.path": "/v1",
        "nas.security_style": "ntfs",
        "nas.unix_permissions": "0750",
        "nas.uid": 7,
        "nas.gid": 8,
        "nas.export_policy.name": "exports",
        "guarantee.type": "none",
        "snapshot_policy.name": "none",
        "space.snapshot.reserve_percent": 10,
        "space.logical_space": {"enforcement": True, "reporting": True},
        "efficiency": {"compression": "inline", "dedupe": "background", "policy.name": "auto"},
        "tiering.policy": "snapshot_only",
        "tiering.min_cooling_days": 5,
        "autosize.mode": "grow",
        "qos.policy.name": "gold",
        "encryption.enabled": True,
        "files.maximum": 1000,
        "analytics.state": "on",
        "_tags": ["team:csi"],
    }
    extra: dict[str, Any] = {k: v for k, v in body.items() if k not in ("name", "svm.name")}
    make_volume(inv, **extra)
    volume = volume_named(inv, "v1")
    expanded = expand_dotted(body)
    expanded["nas"]["unix_permissions"] = 750
    for dotted in leaf_names(expanded):
        if dotted.startswith(("svm.", "aggregates.")):
            continue
        assert _get(volume, dotted) == _get(expanded, dotted), dotted
    assert volume["space"]["size"] == 100 * MIB
    assert volume["space"]["available"] == 90 * MIB


def _get(record: Mapping[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        value = value[part]
    return value


# -- collection queries ---------------------------------------------------------------------
@pytest.fixture
def three_volumes(inv: Inventory) -> Inventory:
    make_svm(inv, "vs1")
    make_volume(inv, "v1", size=30 * MIB)
    make_volume(inv, "v2", svm="vs1", size=40 * MIB)
    make_volume(inv, "v3")
    return inv


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "v1"}, ["v1"]),
        ({"svm.name": "vs0"}, ["v1", "v3"]),
        ({"svm.name": "vs1"}, ["v2"]),
        ({"size": ">25000000"}, ["v1", "v2"]),
        ({"name": "v*", "order_by": "name desc"}, ["v3", "v2", "v1"]),
        ({"order_by": "size desc,name"}, ["v2", "v1", "v3"]),
        ({"aggregates.name": "aggr1"}, ["v1", "v2", "v3"]),
        ({"comment": "null"}, ["v1", "v2", "v3"]),
    ],
)
def test_collection_filters(
    three_volumes: Inventory, params: dict[str, str], expected: list[str]
) -> None:
    assert names(three_volumes.read(VOLUMES, params)) == expected


def test_collection_shows_keys_by_default_and_fields_on_request(three_volumes: Inventory) -> None:
    plain = three_volumes.read(VOLUMES, {"name": "v1"})["records"][0]
    assert set(plain) == {"uuid", "name", "_links"}
    sized = three_volumes.read(VOLUMES, {"name": "v1", "fields": "size,svm.name"})["records"][0]
    assert sized["size"] == 30 * MIB
    assert sized["svm"] == {"name": "vs0"}
    assert set(sized) == {"uuid", "name", "size", "svm", "_links"}


def test_collection_return_records_false(three_volumes: Inventory) -> None:
    answer = three_volumes.read(VOLUMES, {"return_records": "false"})
    assert "records" not in answer
    assert answer["num_records"] == 3


def test_collection_paging_follows_next_links(three_volumes: Inventory) -> None:
    params: dict[str, str] = {"max_records": "1", "order_by": "name"}
    seen: list[str] = []
    for _ in range(10):
        answer = three_volumes.read(VOLUMES, params)
        assert answer["num_records"] == 1
        seen.extend(names(answer))
        if "next" not in answer["_links"]:
            break
        href = answer["_links"]["next"]["href"]
        assert urlsplit(href).path == VOLUMES
        params = dict(parse_qsl(urlsplit(href).query))
    assert seen == ["v1", "v2", "v3"]


def test_record_get_shows_all_fields_unless_fields_given(inv: Inventory) -> None:
    uuid = make_volume(inv, comment="c")
    full = inv.read(f"{VOLUMES}/{uuid}", {})
    assert full["comment"] == "c"
    assert "space" in full
    assert inv.read(f"{VOLUMES}/{uuid}", {"fields": "comment"}) == {
        "uuid": uuid,
        "name": "v1",
        "comment": "c",
        "_links": full["_links"],
    }


def test_trailing_slash_collection_query(inv: Inventory) -> None:
    """netapp-ontap follows ``Location: /api/storage/volumes/?name=v1``."""
    make_volume(inv)
    assert inv.handles("GET", "/api/storage/volumes/")
    assert names(inv.read("/api/storage/volumes/", {"name": "v1"})) == ["v1"]


def test_ansible_fields_are_accepted(inv: Inventory) -> None:
    """The ``fields`` Ansible's na_ontap_volume asks for must not be refused."""
    make_volume(inv)
    fields = (
        "encryption.enabled,tiering.policy,nas.export_policy.name,aggregates.name,"
        "aggregates.uuid,uuid,nas.path,style,type,comment,qos.policy.name,nas.security_style,"
        "nas.gid,nas.unix_permissions,nas.uid,snapshot_policy,space.snapshot.reserve_percent,"
        "space.size,guarantee.type,state,efficiency.compression,snaplock,files.maximum,"
        "space.logical_space.enforcement,space.logical_space.reporting,movement,"
    )
    [record] = inv.read(VOLUMES, {"name": "v1", "svm.name": "vs0", "fields": fields})["records"]
    assert record["space"] == {"size": MIN_VOLUME_SIZE, "snapshot": {"reserve_percent": 5}} | {
        "logical_space": {"enforcement": False, "reporting": False}
    }
    assert record["nas"]["unix_permissions"] == 755


def test_field_names_cover_rendered_records(inv: Inventory) -> None:
    _policies(inv, "exports", "q")
    extra: dict[str, Any] = {"nas.path": "/v1", "qos.policy.name": "q", "_tags": ["a:b"]}
    volume_uuid = make_volume(inv, comment="x", **extra)
    make_snapshot(inv, volume_uuid, comment="x", expiry_time="2030-01-01T00:00:00Z")
    make_svm(inv, "vs1", comment="x", aggregates=[{"name": "aggr1"}])
    for records, known in (
        (inv.volumes(), schema_fields("Volume")),
        (inv.snapshots(), schema_fields("Snapshot")),
        (inv.svms(), schema_fields("Svm")),
    ):
        for record in records:
            for name in leaf_names(record):  # an empty list is a leaf of its own
                assert any(k == name or k.startswith(name + ".") for k in known), name


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "status", "code", "target"),
    [
        ({"foo": 1}, 400, "2", "foo"),
        ({"nas": {"foo": 1}}, 400, "2", "nas.foo"),
        ({"nas.foo": 1}, 400, "2", "nas.foo"),
        ({"size": "big"}, 400, "2", "size"),
        ({"size": True}, 400, "2", "size"),
        ({"size": 1000}, 400, "2", "size"),
        ({"size": MIN_VOLUME_SIZE - 1}, 400, "2", "size"),
        ({"space": {"size": "x"}}, 400, "2", "space.size"),
        ({"size": 30 * MIB, "space.size": 40 * MIB}, 400, "2", "space.size"),
        ({"name": 5}, 400, "2", "name"),
        ({"name": ""}, 400, "2", "name"),
        ({"name": "1abc"}, 400, "2", "name"),
        ({"name": "a-b"}, 400, "2", "name"),
        ({"name": "a.b"}, 400, "2", "name"),
        ({"name": "a" * 204}, 400, "2", "name"),
        ({"name": None}, 400, "2", "name"),
        ({"aggregates": {}}, 400, "2", "aggregates"),
        ({"aggregates": ["aggr1"]}, 400, "2", "aggregates"),
        ({"aggregates": []}, 400, "2", "aggregates"),
        ({"aggregates": [{"name": "nope"}]}, 400, "2", "aggregates.name"),
        ({"aggregates": [{"uuid": "nope"}]}, 400, "2", "aggregates.uuid"),
        ({"aggregates": [{"name": "aggr1", "foo": 1}]}, 400, "2", "aggregates.foo"),
        ({"svm": {"name": "nope"}}, 400, "2", "svm.name"),
        ({"svm": {"uuid": "nope"}}, 400, "2", "svm.uuid"),
        ({"svm": 5}, 400, "2", "svm"),
        ({"svm": "nope"}, 400, "2", "svm.name"),
        ({"svm": {}}, 400, "2", "svm.name"),
        ({"state": "broken"}, 400, "2", "state"),
        ({"type": "ls"}, 400, "2", "type"),
        ({"nas.unix_permissions": "rwx"}, 400, "2", "nas.unix_permissions"),
        ({"nas.path": "relative"}, 400, "2", "nas.path"),
        ({"encryption.enabled": "yes"}, 400, "2", "encryption.enabled"),
        ({"space.snapshot.reserve_percent": 91}, 400, "2", "space.snapshot.reserve_percent"),
        ({"language": "klingon"}, 400, "2", "language"),
        ({"_tags": "a:b"}, 400, "2", "_tags"),
        ({"uuid": "x"}, 400, "2", "uuid"),
        ({"create_time": "x"}, 400, "2", "create_time"),
        ({"svm": "x", "svm.name": "y"}, 400, "2", "svm"),
        ({"movement.destination_aggregate.name": "aggr1"}, 400, "2", "movement"),
    ],
)
def test_volume_post_validation(
    inv: Inventory, changes: dict[str, Any], status: int, code: str, target: str
) -> None:
    body: dict[str, Any] = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
    for key in changes:
        if key.startswith(("svm", "aggregates")):
            body.pop(key.split(".")[0], None)
    body.update(changes)
    error = refused(lambda: inv.plan("POST", VOLUMES, body, {}))
    assert (error.status, error.code, error.target) == (status, code, target), error
    assert inv.volumes() == []


def test_unknown_body_field_message(inv: Inventory) -> None:
    error = refused(lambda: inv.plan("POST", VOLUMES, {**CONTRACT_VOLUME, "foo": 1}, {}))
    assert error.message == 'Unexpected argument "foo".'


def test_missing_name_and_svm(inv: Inventory) -> None:
    assert refused(lambda: inv.plan("POST", VOLUMES, {"svm.name": "vs0"}, {})).target == "name"
    assert refused(lambda: inv.plan("POST", VOLUMES, {"name": "v1"}, {})).target == "svm.name"


def test_unknown_svm_and_aggregate_messages_name_the_value(inv: Inventory) -> None:
    error = refused(lambda: inv.plan("POST", VOLUMES, {"name": "v", "svm.name": "vs9"}, {}))
    assert "vs9" in error.message
    body = {"name": "v", "svm.name": "vs0", "aggregates": [{"name": "aggr9"}]}
    assert "aggr9" in refused(lambda: inv.plan("POST", VOLUMES, body, {})).message


def test_longest_volume_name_is_fine(inv: Inventory) -> None:
    make_volume(inv, "_" + "a" * 202)


def test_duplicate_volume_name_in_the_svm(inv: Inventory) -> None:
    make_volume(inv)
    error = refused(lambda: inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {}))
    assert (error.status, error.code, error.target) == (409, "1", "name")
    make_svm(inv, "vs1")
    make_volume(inv, "v1", svm="vs1")  # another SVM: fine


@pytest.mark.parametrize("body", [None, [], "x", [{"name": "v1"}]])
def test_post_and_patch_bodies_must_be_objects(inv: Inventory, body: Any) -> None:
    uuid = make_volume(inv)
    for error in (
        refused(lambda: inv.plan("POST", VOLUMES, body, {})),
        refused(lambda: inv.plan("PATCH", f"{VOLUMES}/{uuid}", body, {})),
    ):
        assert (error.status, error.code, error.target) == (400, "2", "body")


def test_delete_body(inv: Inventory) -> None:
    uuid = make_volume(inv)
    path = f"{VOLUMES}/{uuid}"
    error = refused(lambda: inv.plan("DELETE", path, {"force": True}, {}))
    assert (error.status, error.code, error.target) == (400, "2", "body")
    inv.plan("DELETE", path, None, {})
    inv.plan("DELETE", path, {}, {})


# -- dotted keys ----------------------------------------------------------------------------
def test_expand_dotted_nests_at_any_depth() -> None:
    body = {"svm.name": "vs0", "space.snapshot.reserve_percent": 10, "space": {"size": 5}}
    assert expand_dotted(body) == {
        "svm": {"name": "vs0"},
        "space": {"snapshot": {"reserve_percent": 10}, "size": 5},
    }


def test_expand_dotted_inside_nested_objects_and_lists() -> None:
    body = {"nas": {"export_policy.name": "p"}, "aggregates": [{"x.y": 1}]}
    assert expand_dotted(body) == {
        "nas": {"export_policy": {"name": "p"}},
        "aggregates": [{"x": {"y": 1}}],
    }


def test_expand_dotted_agreeing_spellings_merge() -> None:
    assert expand_dotted({"svm.name": "a", "svm": {"name": "a", "uuid": "u"}}) == {
        "svm": {"name": "a", "uuid": "u"}
    }


def test_expand_dotted_does_not_change_its_argument() -> None:
    body = {"svm": {"name": "a"}, "svm.uuid": "u"}
    expand_dotted(body)
    assert body == {"svm": {"name": "a"}, "svm.uuid": "u"}


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"svm": "x", "svm.name": "y"}, "svm"),
        ({"svm.name": "y", "svm": "x"}, "svm"),
        ({"svm.name": "a", "svm": {"name": "b"}}, "svm.name"),
        ({"a.b.c": 1, "a.b": 2}, "a.b"),
        ({"a": {"b.c": 1, "b": {"c": 2}}}, "a.b.c"),
        ({"svm..name": "x"}, "svm..name"),
        ({".x": 1}, ".x"),
    ],
)
def test_expand_dotted_conflicts(body: dict[str, Any], target: str) -> None:
    error = refused(lambda: expand_dotted(body))
    assert (error.status, error.code, error.target) == (400, "2", target)


# -- unix permissions -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (755, 755),
        ("755", 755),
        ("0755", 755),
        ("---rwxr-xr-x", 755),
        ("rwxr-x---", 750),
        ("---rw-r--r--", 644),
        ("--trwxrwxrwx", 1777),
        ("s--rwxr-xr-x", 4755),
        (1777, 1777),
        (0, 0),
    ],
)
def test_unix_permissions_forms(inv: Inventory, given: Any, stored: int) -> None:
    make_volume(inv, nas={"unix_permissions": given})
    assert volume_named(inv, "v1")["nas"]["unix_permissions"] == stored


@pytest.mark.parametrize("given", [789, "789", -1, 12345, True, "rwxrwxrwx-", "0x1ed", 7.5])
def test_unix_permissions_refused(inv: Inventory, given: Any) -> None:
    body = {**CONTRACT_VOLUME, "nas.unix_permissions": given}
    error = refused(lambda: inv.plan("POST", VOLUMES, body, {}))
    assert (error.status, error.code, error.target) == (400, "2", "nas.unix_permissions")


# -- PATCH ----------------------------------------------------------------------------------
def test_size_and_space_size_stay_in_step(inv: Inventory) -> None:
    uuid = make_volume(inv, size=100 * MIB)
    assert volume_named(inv, "v1")["space"]["size"] == 100 * MIB
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"space": {"size": 50 * MIB}})
    volume = volume_named(inv, "v1")
    assert volume["size"] == volume["space"]["size"] == 50 * MIB
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"size": 30 * MIB})  # shrinking is fine
    volume = volume_named(inv, "v1")
    assert volume["size"] == volume["space"]["size"] == 30 * MIB


def test_patch_changes_exactly_the_fields_given(inv: Inventory) -> None:
    uuid = make_volume(inv, comment="old", nas={"path": "/v1"})
    before = volume_named(inv, "v1")
    plan = inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"comment": "new", "nas.path": ""}, {})
    assert plan.description == f"PATCH /api/storage/volumes/{uuid}"
    assert plan.location is None
    assert plan.creates is False
    assert plan.svm is not None
    assert plan.svm["name"] == "vs0"
    assert volume_named(inv, "v1") == before  # planning changes nothing
    plan.effect()
    after = volume_named(inv, "v1")
    assert after["comment"] == "new"
    assert after["nas"] == {**before["nas"], "path": ""}
    assert {k: v for k, v in after.items() if k not in ("comment", "nas")} == {
        k: v for k, v in before.items() if k not in ("comment", "nas")
    }


def test_rename_and_duplicate_rename(inv: Inventory) -> None:
    uuid = make_volume(inv, "v1")
    make_volume(inv, "v2")
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"name": "v1"})  # its own name: fine
    error = refused(lambda: inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"name": "v2"}, {}))
    assert (error.status, error.code, error.target) == (409, "1", "name")
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"name": "v3"})
    assert names(inv.read(VOLUMES, {"order_by": "name"})) == ["v2", "v3"]
    assert inv.read(f"{VOLUMES}/{uuid}", {})["name"] == "v3"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"svm": {"name": "vs1"}}, "svm.name"),
        ({"svm.uuid": "8b8b8b8b-0000-0000-0000-000000000000"}, "svm.uuid"),
        ({"type": "dp"}, "type"),
        ({"style": "flexgroup"}, "style"),
        ({"size": "big"}, "size"),
        ({"name": "bad-name"}, "name"),
        ({"foo": 1}, "foo"),
        ({"aggregates": [{"name": "nope"}]}, "aggregates.name"),
        ({"movement.destination_aggregate.name": "nope"}, "movement.destination_aggregate.name"),
        ({"restore_to.snapshot.name": "nope"}, "restore_to.snapshot.name"),
    ],
)
def test_volume_patch_validation(inv: Inventory, body: dict[str, Any], target: str) -> None:
    make_svm(inv, "vs1")
    uuid = make_volume(inv)
    error = refused(lambda: inv.plan("PATCH", f"{VOLUMES}/{uuid}", body, {}))
    assert (error.status, error.code, error.target) == (400, "2", target), error


def test_patch_with_the_same_svm_and_type_is_fine(inv: Inventory) -> None:
    uuid = make_volume(inv)
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"svm.name": "vs0", "type": "rw", "comment": "x"})
    assert volume_named(inv, "v1")["comment"] == "x"


def test_volume_move_and_restore(clock: VirtualClock) -> None:
    inv = _inventory(clock)
    inv.load({"svms": [{"name": "vs0"}], "aggregates": [{"name": "aggr1"}, {"name": "aggr2"}]})
    uuid = make_volume(inv)
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"movement.destination_aggregate.name": "aggr2"})
    assert [a["name"] for a in volume_named(inv, "v1")["aggregates"]] == ["aggr2"]
    make_snapshot(inv, uuid, "s1")
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", {"restore_to.snapshot.name": "s1"})
    apply(inv, "PATCH", f"{VOLUMES}/{uuid}", None, {"restore_to.snapshot.name": "s1"})
    error = refused(
        lambda: inv.plan("PATCH", f"{VOLUMES}/{uuid}", {}, {"restore_to.snapshot.name": "s9"})
    )
    assert (error.status, error.target) == (400, "restore_to.snapshot.name")


# -- apply-time re-validation ---------------------------------------------------------------
def test_patch_of_a_volume_deleted_meanwhile_fails(inv: Inventory) -> None:
    uuid = make_volume(inv)
    patch = inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"comment": "x"}, {})
    apply(inv, "DELETE", f"{VOLUMES}/{uuid}")
    error = effect_error(patch)
    assert (error.message, error.code) == ("entry doesn't exist", 4)
    assert inv.volumes() == []


def test_delete_of_a_volume_deleted_meanwhile_fails(inv: Inventory) -> None:
    uuid = make_volume(inv)
    first = inv.plan("DELETE", f"{VOLUMES}/{uuid}", None, {})
    second = inv.plan("DELETE", f"{VOLUMES}/{uuid}", None, {})
    first.effect()
    assert (effect_error(second).message, effect_error(second).code) == ("entry doesn't exist", 4)


def test_duplicate_created_meanwhile_fails_at_apply(inv: Inventory) -> None:
    first = inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {})
    second = inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {})  # accepted: v1 not applied yet
    first.effect()
    error = effect_error(second)
    assert (error.message, error.code) == ("duplicate entry", 1)
    assert [v["name"] for v in inv.volumes()] == ["v1"]


def test_duplicate_rename_meanwhile_fails_at_apply(inv: Inventory) -> None:
    uuid = make_volume(inv, "v1")
    rename = inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"name": "v2", "comment": "x"}, {})
    make_volume(inv, "v2")
    before = volume_named(inv, "v1")
    assert effect_error(rename).code == 1
    assert volume_named(inv, "v1") == before  # all or nothing: the comment did not apply


def test_post_into_an_svm_deleted_meanwhile_fails(inv: Inventory) -> None:
    vs1 = make_svm(inv, "vs1")
    post = inv.plan("POST", VOLUMES, {**CONTRACT_VOLUME, "svm": {"name": "vs1"}}, {})
    apply(inv, "DELETE", f"{SVMS}/{vs1}")
    assert effect_error(post).code == 4
    assert inv.volumes() == []


def test_effects_of_plans_made_before_reset_do_not_apply(inv: Inventory) -> None:
    uuid = make_volume(inv)
    patch = inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"comment": "x"}, {})
    post = inv.plan("POST", VOLUMES, {**CONTRACT_VOLUME, "name": "v2"}, {})
    inv.reset()
    assert effect_error(patch).code == 4
    assert effect_error(post).code == 4
    assert inv.volumes() == []


# -- volume DELETE --------------------------------------------------------------------------
def test_volume_delete_cascades_to_snapshots(inv: Inventory) -> None:
    uuid = make_volume(inv)
    make_snapshot(inv, uuid, "s1")
    make_snapshot(inv, uuid, "s2")
    other = make_volume(inv, "v2")
    make_snapshot(inv, other, "s1")
    plan = inv.plan("DELETE", f"{VOLUMES}/{uuid}", None, {})
    assert plan.description == f"DELETE /api/storage/volumes/{uuid}"
    assert (plan.location, plan.creates) == (None, False)
    assert len(inv.snapshots()) == 3
    plan.effect()
    assert [v["name"] for v in inv.volumes()] == ["v2"]
    assert [s["volume"]["uuid"] for s in inv.snapshots()] == [other]


# -- snapshots ------------------------------------------------------------------------------
def test_snapshot_crud(inv: Inventory, clock: VirtualClock) -> None:
    volume_uuid = make_volume(inv)
    collection = f"{VOLUMES}/{volume_uuid}/snapshots"
    plan = inv.plan("POST", collection, {"name": "s1", "comment": "first"}, {})
    assert plan.description == f"POST /api/storage/volumes/{volume_uuid}/snapshots"
    assert plan.location == f"/api/storage/volumes/{volume_uuid}/snapshots/?name=s1"
    assert plan.creates is True
    assert plan.svm is not None
    assert plan.svm["name"] == "vs0"
    assert inv.read(collection, {})["num_records"] == 0
    clock.advance(3)
    plan.effect()
    [listed] = inv.read(collection, {})["records"]
    snapshot_uuid = listed["uuid"]
    record = inv.read(f"{collection}/{snapshot_uuid}", {})
    assert record["name"] == "s1"
    assert record["comment"] == "first"
    assert record["volume"]["name"] == "v1"
    assert record["volume"]["uuid"] == volume_uuid
    assert record["svm"]["name"] == "vs0"
    assert record["state"] == "valid"
    assert record["size"] == 0
    assert record["create_time"] == iso(VIRTUAL_EPOCH + 3)
    assert record["_links"] == {"self": {"href": f"{collection}/{snapshot_uuid}"}}

    patch = inv.plan("PATCH", f"{collection}/{snapshot_uuid}", {"name": "s-1.a"}, {})
    assert patch.description == f"PATCH {collection}/{snapshot_uuid}"
    assert patch.creates is False
    patch.effect()
    assert inv.read(f"{collection}/{snapshot_uuid}", {"fields": "comment"})["name"] == "s-1.a"
    assert inv.read(f"{collection}/{snapshot_uuid}", {})["comment"] == "first"

    delete = inv.plan("DELETE", f"{collection}/{snapshot_uuid}", None, {})
    assert delete.description == f"DELETE {collection}/{snapshot_uuid}"
    delete.effect()
    assert inv.read(collection, {})["num_records"] == 0
    assert effect_error(delete).code == 4


def test_volume_rename_shows_in_its_snapshots(inv: Inventory) -> None:
    volume_uuid = make_volume(inv)
    make_snapshot(inv, volume_uuid)
    apply(inv, "PATCH", f"{VOLUMES}/{volume_uuid}", {"name": "v9"})
    assert inv.snapshots()[0]["volume"]["name"] == "v9"


@pytest.mark.parametrize(
    ("body", "status", "target"),
    [
        ({}, 400, "name"),
        ({"name": "-s"}, 400, "name"),
        ({"name": "s 1"}, 400, "name"),
        ({"name": 1}, 400, "name"),
        ({"name": "s2", "size": 5}, 400, "size"),
        ({"name": "s2", "foo": 5}, 400, "foo"),
        ({"name": "s2", "expiry_time": "tomorrow"}, 400, "expiry_time"),
        ({"name": "s2", "volume.name": "v2"}, 400, "volume.name"),
        ({"name": "s1"}, 409, "name"),
    ],
)
def test_snapshot_post_validation(
    inv: Inventory, body: dict[str, Any], status: int, target: str
) -> None:
    volume_uuid = make_volume(inv)
    make_volume(inv, "v2")
    make_snapshot(inv, volume_uuid, "s1")
    error = refused(lambda: inv.plan("POST", f"{VOLUMES}/{volume_uuid}/snapshots", body, {}))
    assert (error.status, error.target) == (status, target), error
    assert error.code == ("1" if status == 409 else "2")


def test_snapshot_post_accepts_a_matching_volume_reference(inv: Inventory) -> None:
    volume_uuid = make_volume(inv)
    make_snapshot(inv, volume_uuid, "s1", volume={"uuid": volume_uuid}, svm={"name": "vs0"})


def test_snapshot_names_are_per_volume(inv: Inventory) -> None:
    make_snapshot(inv, make_volume(inv, "v1"), "s1")
    make_snapshot(inv, make_volume(inv, "v2"), "s1")
    assert len(inv.snapshots()) == 2


def test_snapshot_duplicates_at_submit_and_apply(inv: Inventory) -> None:
    volume_uuid = make_volume(inv)
    collection = f"{VOLUMES}/{volume_uuid}/snapshots"
    first = inv.plan("POST", collection, {"name": "s1"}, {})
    second = inv.plan("POST", collection, {"name": "s1"}, {})
    first.effect()
    assert effect_error(second).code == 1
    s2 = make_snapshot(inv, volume_uuid, "s2")
    error = refused(lambda: inv.plan("PATCH", f"{collection}/{s2}", {"name": "s1"}, {}))
    assert (error.status, error.code, error.target) == (409, "1", "name")


def test_snapshot_post_on_a_volume_deleted_meanwhile(inv: Inventory) -> None:
    volume_uuid = make_volume(inv)
    post = inv.plan("POST", f"{VOLUMES}/{volume_uuid}/snapshots", {"name": "s1"}, {})
    apply(inv, "DELETE", f"{VOLUMES}/{volume_uuid}")
    assert effect_error(post).code == 4
    assert inv.snapshots() == []


# -- SVMs -----------------------------------------------------------------------------------
def test_svm_crud(inv: Inventory) -> None:
    plan = inv.plan("POST", SVMS, {"name": "vs1", "comment": "c", "nfs.enabled": True}, {})
    assert plan.description == "POST /api/svm/svms"
    assert plan.location == "/api/svm/svms/?name=vs1"
    assert plan.creates is True
    assert plan.svm is not None
    assert plan.svm["name"] == "vs1"
    assert names(inv.read(SVMS, {})) == ["vs0"]
    plan.effect()
    vs1 = svm_uuid(inv, "vs1")
    assert plan.svm["uuid"] == vs1
    record = inv.read(f"{SVMS}/{vs1}", {})
    assert record["state"] == "running"
    assert record["subtype"] == "default"
    assert record["language"] == "c.utf_8"
    assert record["ipspace"]["name"] == "Default"
    assert record["snapshot_policy"] == {"name": "default", "uuid": _default_policy(inv)}
    assert record["nfs"]["enabled"] is True
    assert record["cifs"]["enabled"] is False
    assert record["max_volumes"] == "unlimited"
    assert record["comment"] == "c"

    patch = inv.plan("PATCH", f"{SVMS}/{vs1}", {"name": "vs2", "state": "stopped"}, {})
    assert patch.description == f"PATCH /api/svm/svms/{vs1}"
    patch.effect()
    assert inv.read(f"{SVMS}/{vs1}", {"fields": "state"})["state"] == "stopped"
    assert names(inv.read(SVMS, {"order_by": "name"})) == ["vs0", "vs2"]

    delete = inv.plan("DELETE", f"{SVMS}/{vs1}", None, {})
    assert delete.description == f"DELETE /api/svm/svms/{vs1}"
    assert delete.creates is False
    delete.effect()
    assert names(inv.read(SVMS, {})) == ["vs0"]


def test_svm_rename_shows_in_its_volumes(inv: Inventory) -> None:
    vs1 = make_svm(inv, "vs1")
    make_volume(inv, "v1", svm="vs1")
    apply(inv, "PATCH", f"{SVMS}/{vs1}", {"name": "vs9"})
    assert inv.read(VOLUMES, {"svm.name": "vs9"})["num_records"] == 1


@pytest.mark.parametrize(
    ("body", "status", "target"),
    [
        ({}, 400, "name"),
        ({"name": "vs0"}, 409, "name"),
        ({"name": "1vs"}, 400, "name"),
        ({"name": "v" * 48}, 400, "name"),
        ({"name": "vs1", "ipspace.name": "Other"}, 400, "ipspace.name"),
        ({"name": "vs1", "aggregates": [{"name": "nope"}]}, 400, "aggregates.name"),
        ({"name": "vs1", "state": "paused"}, 400, "state"),
        ({"name": "vs1", "nfs": {"enabled": "yes"}}, 400, "nfs.enabled"),
        ({"name": "vs1", "max_volumes": "many"}, 400, "max_volumes"),
        ({"name": "vs1", "uuid": "x"}, 400, "uuid"),
        ({"name": "vs1", "dns": {}}, 400, "dns.domains"),
        ({"name": "vs1", "dns": {"domains": ["example.com"]}}, 400, "dns.servers"),
    ],
)
def test_svm_post_validation(
    inv: Inventory, body: dict[str, Any], status: int, target: str
) -> None:
    error = refused(lambda: inv.plan("POST", SVMS, body, {}))
    assert (error.status, error.target) == (status, target), error
    assert error.code == ("1" if status == 409 else "2")


def test_svm_writable_fields(inv: Inventory) -> None:
    vs1 = make_svm(
        inv,
        "vs1",
        aggregates=[{"name": "aggr1"}],
        max_volumes=10,
        language="en_us",
        subtype="dp_destination",
        **{"ipspace.name": "Default", "snapshot_policy.name": "none", "iscsi.enabled": True},
    )
    record = inv.read(f"{SVMS}/{vs1}", {})
    assert [a["name"] for a in record["aggregates"]] == ["aggr1"]
    assert record["max_volumes"] == "10"
    assert record["language"] == "en_us"
    assert record["subtype"] == "dp_destination"
    none = inv._read("/api/storage/snapshot-policies", {"name": "none"})["records"][0]
    assert record["snapshot_policy"] == {"name": "none", "uuid": none["uuid"]}
    assert record["iscsi"]["enabled"] is True
    apply(inv, "PATCH", f"{SVMS}/{vs1}", {"aggregates": []})
    assert inv.read(f"{SVMS}/{vs1}", {})["aggregates"] == []


def test_svm_duplicate_rename(inv: Inventory) -> None:
    vs1 = make_svm(inv, "vs1")
    error = refused(lambda: inv.plan("PATCH", f"{SVMS}/{vs1}", {"name": "vs0"}, {}))
    assert (error.status, error.code, error.target) == (409, "1", "name")


def test_svm_delete_refused_while_it_has_volumes(inv: Inventory) -> None:
    vs0 = svm_uuid(inv)
    volume_uuid = make_volume(inv)
    error = refused(lambda: inv.plan("DELETE", f"{SVMS}/{vs0}", None, {}))
    assert (error.status, error.code, error.target) == (409, "1", "name")
    assert error.message == 'Cannot delete SVM "vs0" because it contains volumes.'
    apply(inv, "DELETE", f"{VOLUMES}/{volume_uuid}")
    plan = inv.plan("DELETE", f"{SVMS}/{vs0}", None, {})
    make_volume(inv, "v2")  # a volume created meanwhile
    error_at_apply = effect_error(plan)
    assert error_at_apply.message == 'Cannot delete SVM "vs0" because it contains volumes.'
    assert names(inv.read(SVMS, {})) == ["vs0"]


# -- unknown uuids, query arguments and paths ------------------------------------------------
def test_unknown_uuids_answer_404(inv: Inventory) -> None:
    volume_uuid = make_volume(inv)
    other_volume = make_volume(inv, "v2")
    snapshot_uuid = make_snapshot(inv, volume_uuid)
    nope = "00000000-1111-2222-3333-444444444444"
    calls: list[Callable[[], object]] = [
        lambda: inv.read(f"{VOLUMES}/{nope}", {}),
        lambda: inv.read(f"{VOLUMES}/{nope}/snapshots", {}),
        lambda: inv.read(f"{VOLUMES}/{volume_uuid}/snapshots/{nope}", {}),
        lambda: inv.read(f"{VOLUMES}/{other_volume}/snapshots/{snapshot_uuid}", {}),
        lambda: inv.read(f"{SVMS}/{nope}", {}),
        lambda: inv.read(f"/api/storage/aggregates/{nope}", {}),
        lambda: inv.read(f"/api/cluster/nodes/{nope}", {}),
        lambda: inv.plan("PATCH", f"{VOLUMES}/{nope}", {"foo": 1}, {"bar": "1"}),
        lambda: inv.plan("DELETE", f"{VOLUMES}/{nope}", None, {}),
        lambda: inv.plan("POST", f"{VOLUMES}/{nope}/snapshots", {"name": "s"}, {}),
        lambda: inv.plan("PATCH", f"{VOLUMES}/{volume_uuid}/snapshots/{nope}", {}, {}),
        lambda: inv.plan("DELETE", f"{VOLUMES}/{other_volume}/snapshots/{snapshot_uuid}", {}, {}),
        lambda: inv.plan("PATCH", f"{SVMS}/{nope}", {}, {}),
        lambda: inv.plan("DELETE", f"{SVMS}/{nope}", None, {}),
    ]
    for call in calls:
        error = refused(call)
        assert (error.status, error.code, error.target) == (404, "4", "uuid")


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", VOLUMES, {"foo": "1"}),
        ("GET", VOLUMES, {"svm.nope": "1"}),
        ("GET", SVMS, {"foo": "1"}),
        ("GET", "/api/cluster", {"foo": "1"}),
        ("GET", "/api/storage/aggregates", {"foo": "1"}),
        ("POST", VOLUMES, {"validate_only": "true"}),
        ("POST", VOLUMES, {"restore_to.snapshot.name": "s"}),
        ("POST", "{volume}/snapshots", {"sizing_method": "add_new_resources"}),
        ("POST", SVMS, {"sizing_method": "add_new_resources"}),
        ("PATCH", "{svm}", {"x": "1"}),
        ("DELETE", "{volume}", {"sizing_method": "add_new_resources"}),
        ("DELETE", "{volume}", {"force": "true"}),
    ],
)
def test_unknown_query_arguments(
    inv: Inventory, method: str, path: str, params: dict[str, str]
) -> None:
    volume_uuid = make_volume(inv)
    path = path.format(volume=f"{VOLUMES}/{volume_uuid}", svm=f"{SVMS}/{svm_uuid(inv)}")
    body = {"name": "x1"} if method == "POST" else None
    if method == "GET":
        error = refused(lambda: inv.read(path, params))
    else:
        error = refused(lambda: inv.plan(method, path, body, params))
    name = next(iter(params))
    assert (error.status, error.code, error.target) == (404, "262179", name)
    assert error.message == f'Unexpected argument "{name}".'


def test_record_get_takes_fields_and_max_records_only(inv: Inventory) -> None:
    """``max_records`` is taken on a record (na_ontap_rest_info sends it on every GET);
    a collection's other arguments are not."""
    uuid = make_volume(inv)
    assert inv.read(f"{VOLUMES}/{uuid}", {"max_records": "1"})["uuid"] == uuid
    error = refused(lambda: inv.read(f"{VOLUMES}/{uuid}", {"order_by": "name"}))
    assert (error.status, error.code) == (404, "262179")
    error = refused(lambda: inv.read(f"{VOLUMES}/{uuid}", {"max_records": "x"}))
    assert (error.status, error.target) == (400, "max_records")


def test_accepted_write_query_arguments(inv: Inventory) -> None:
    inv.plan("POST", VOLUMES, CONTRACT_VOLUME, {"sizing_method": "add_new_resources"})
    uuid = make_volume(inv)
    make_snapshot(inv, uuid)
    params = {"sizing_method": "use_existing_resources"}
    inv.plan("PATCH", f"{VOLUMES}/{uuid}", {"size": 30 * MIB}, params)
    inv.plan("PATCH", f"{VOLUMES}/{uuid}", {}, {"restore_to.snapshot.name": "s1"})
    error = refused(lambda: inv.plan("PATCH", f"{VOLUMES}/{uuid}", {}, {"sizing_method": "x"}))
    assert (error.status, error.code, error.target) == (400, "262197", "sizing_method")
    # return_timeout and return_records are the HTTP layer's: every write takes them.
    sim = Simulator(clock="virtual")
    client, auth = sim.app.test_client(), (sim.username, sim.password)
    common = {"return_timeout": "30", "return_records": "true"}
    query = {**common, "sizing_method": "add_new_resources"}
    answer = client.post(VOLUMES, json=CONTRACT_VOLUME, query_string=query, auth=auth)
    assert answer.status_code == 201, answer.json
    uuid = answer.json["records"][0]["uuid"]
    query = {**common, "sizing_method": "use_existing_resources"}
    answer = client.patch(
        f"{VOLUMES}/{uuid}", json={"size": 30 * MIB}, query_string=query, auth=auth
    )
    assert answer.status_code == 200, answer.json
    answer = client.delete(f"{VOLUMES}/{uuid}", query_string=common, auth=auth)
    assert answer.status_code == 200, answer.json
    answer = client.post(SVMS, json={"name": "vs1"}, query_string=common, auth=auth)
    assert answer.status_code == 201, answer.json
    bad = {"return_records": "x"}
    answer = client.post(SVMS, json={"name": "vs2"}, query_string=bad, auth=auth)
    error_body = answer.json["error"]
    assert (answer.status_code, error_body["code"], error_body["target"]) == (
        400,
        "262197",
        "return_records",
    )


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (VOLUMES, "name,nope"),
        (VOLUMES, "svm.nope"),
        ("{volume}", "nope"),
        (SVMS, "nope"),
        ("{volume}/snapshots", "nope"),
        ("/api/cluster", "nope"),
        ("/api/cluster/nodes", "nope"),
    ],
)
def test_bad_fields(inv: Inventory, path: str, fields: str) -> None:
    path = path.format(volume=f"{VOLUMES}/{make_volume(inv)}")
    error = refused(lambda: inv.read(path, {"fields": fields}))
    assert (error.status, error.code, error.target) == (400, "262197", "fields")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/cluster", ["GET", "POST", "PATCH"]),
        ("/api/cluster/nodes", ["GET", "POST"]),
        ("/api/cluster/nodes/u1", ["GET", "PATCH", "DELETE"]),
        ("/api/cluster/software", ["GET", "PATCH"]),
        ("/api/storage/aggregates", ["GET", "POST"]),
        ("/api/storage/aggregates/u1", ["GET", "PATCH", "DELETE"]),
        ("/api/storage/volumes", ["GET", "POST"]),
        ("/api/storage/volumes/", ["GET", "POST"]),
        ("/api/storage/volumes/u1", ["GET", "PATCH", "DELETE"]),
        ("/api/storage/volumes/u1/snapshots", ["GET", "POST"]),
        ("/api/storage/volumes/u1/snapshots/u2", ["GET", "PATCH", "DELETE"]),
        ("/api/svm/svms", ["GET", "POST"]),
        ("/api/svm/svms/u1", ["GET", "PATCH", "DELETE"]),
        ("/api/cluster/jobs", []),
        ("/api/cluster/jobs/u1", []),
        ("/api/storage/luns", []),
        ("/api/storage/volumes/u1/snapshots/u2/x", []),
        ("/api/svm/svms/u1/x", []),
        ("/api", []),
    ],
)
def test_handles_and_allowed_methods(inv: Inventory, path: str, allowed: list[str]) -> None:
    assert inv.allowed_methods(path) == allowed
    for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        assert inv.handles(method, path) is (method in allowed)


def test_plan_refuses_paths_and_methods_it_does_not_serve(inv: Inventory) -> None:
    assert refused(lambda: inv.plan("POST", "/api/storage/luns", {}, {})).status == 404
    assert refused(lambda: inv.plan("PATCH", VOLUMES, {}, {})).status == 405
    assert refused(lambda: inv.plan("GET", VOLUMES, None, {})).status == 405
    assert refused(lambda: inv.read("/api/storage/luns", {})).status == 404


# -- load and reset -------------------------------------------------------------------------
SCENARIO: dict[str, Any] = {
    "cluster": {"name": "sim-cluster", "version": "9.13.1"},
    "svms": [{"name": "vs0"}, {"name": "vs1", "comment": "second"}],
    "aggregates": [{"name": "aggr1"}, {"name": "aggr2", "space.block_storage.size": 10**12}],
    "volumes": [
        {"name": "v1", "svm": {"name": "vs0"}, "size": 50 * MIB},
        {"name": "v1", "svm.name": "vs1", "aggregates": [{"name": "aggr2"}]},
    ],
    "snapshots": [
        {"name": "s1", "volume": {"name": "v1"}, "svm": {"name": "vs0"}},
        {"name": "daily.0", "volume": {"name": "v1"}, "svm": {"name": "vs1"}},
    ],
}


def test_load_replaces_the_starting_inventory(inv: Inventory) -> None:
    inv.load(SCENARIO)
    cluster = inv.read("/api/cluster", {})
    assert cluster["name"] == "sim-cluster"
    assert (cluster["version"]["major"], cluster["version"]["minor"]) == (13, 1)
    assert inv.read("/api/cluster/nodes", {})["records"][0]["name"] == "sim-cluster-01"
    assert names(inv.read(SVMS, {})) == ["vs0", "vs1"]
    assert names(inv.read("/api/storage/aggregates", {})) == ["aggr1", "aggr2"]
    assert volume_named(inv, "v1", "vs0")["size"] == 50 * MIB
    assert [a["name"] for a in volume_named(inv, "v1", "vs1")["aggregates"]] == ["aggr2"]
    assert sorted((s["svm"]["name"], s["name"]) for s in inv.snapshots()) == [
        ("vs0", "s1"),
        ("vs1", "daily.0"),
    ]
    # reset goes back to the loaded inventory, with the same uuids
    before = (inv.volumes(), inv.svms(), inv.snapshots())
    apply(inv, "DELETE", f"{VOLUMES}/{volume_named(inv, 'v1')['uuid']}")
    make_svm(inv, "vs9")
    inv.reset()
    assert (inv.volumes(), inv.svms(), inv.snapshots()) == before


def test_load_takes_explicit_uuids(inv: Inventory) -> None:
    fixed = "12345678-1234-5678-1234-567812345678"
    inv.load({"svms": [{"name": "vs0", "uuid": fixed}], "aggregates": [{"name": "aggr1"}]})
    assert inv.read(f"{SVMS}/{fixed}", {})["name"] == "vs0"


def test_load_does_not_modify_its_argument(inv: Inventory) -> None:
    data: dict[str, Any] = {
        "svms": [{"name": "vs0", "uuid": "12345678-1234-5678-1234-567812345678"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [{"name": "v1", "svm.name": "vs0"}],
    }
    snapshot = repr(data)
    inv.load(data)
    inv.reset()
    assert repr(data) == snapshot


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "must be an object"),
        ({"bogus": []}, 'unknown key "bogus"'),
        ({"svms": {}}, "svms must be a list"),
        ({"svms": ["vs0"]}, r"svms\[0\] must be an object"),
        ({"svms": [{"name": "1vs"}]}, r"svms\[0\] \('1vs'\)"),
        ({"svms": [{"name": "vs0"}, {"name": "vs0"}]}, r"svms\[1\] \('vs0'\): duplicate entry"),
        ({"svms": [{"name": "vs0", "colour": "red"}]}, r"svms\[0\].*colour"),
        ({"svms": [{"name": "vs0", "uuid": "nope"}]}, r"svms\[0\].*not a uuid"),
        ({"aggregates": [{"name": "a-1"}]}, r"aggregates\[0\]"),
        ({"aggregates": [{"name": "a1", "space.block_storage.size": -1}]}, r"aggregates\[0\]"),
        ({"aggregates": [{"name": "a1", "raid": 4}]}, r"aggregates\[0\].*raid"),
        ({"aggregates": [{"name": "a1"}, {"name": "a1"}]}, r"aggregates\[1\].*duplicate"),
        ({"volumes": [{"name": "v1", "svm.name": "vs9"}]}, r"volumes\[0\] \('v1'\).*vs9"),
        ({"volumes": [{"name": "v-1", "svm.name": "vs0"}]}, r"volumes\[0\]"),
        ({"volumes": [{"name": "v1", "svm.name": "vs0", "size": 1}]}, r"volumes\[0\]"),
        ({"snapshots": [{"name": "s1", "volume": {"name": "v9"}}]}, r"snapshots\[0\].*v9"),
        ({"snapshots": [{"name": "s1"}]}, r"snapshots\[0\].*volume"),
        ({"cluster": {"name": "c1", "version": "9.15"}}, "version"),
        ({"cluster": {"name": "c 1"}}, "name"),
        ({"cluster": {"name": "c1", "nodes": 2}}, "nodes"),
        ({"cluster": []}, "cluster must be an object"),
    ],
)
def test_load_validation(inv: Inventory, data: Any, match: str) -> None:
    base: dict[str, Any] = {"svms": [{"name": "vs0"}], "aggregates": [{"name": "aggr1"}]}
    if isinstance(data, dict):
        data = {**base, **data}
    uuid = make_volume(inv)
    with pytest.raises(ValueError, match=match):
        inv.load(data)
    assert [v["uuid"] for v in inv.volumes()] == [uuid]  # a failed load changes nothing
    inv.reset()
    assert inv.volumes() == []
    assert names(inv.read(SVMS, {})) == ["vs0"]


def test_load_ambiguous_snapshot_volume(inv: Inventory) -> None:
    data = {**SCENARIO, "snapshots": [{"name": "s1", "volume": {"name": "v1"}}]}
    with pytest.raises(ValueError, match="ambiguous"):
        inv.load(data)


def test_reset_restores_the_default_inventory(inv: Inventory) -> None:
    vs0 = svm_uuid(inv)
    uuid = make_volume(inv)
    make_snapshot(inv, uuid)
    make_svm(inv, "vs1")
    apply(inv, "PATCH", f"{SVMS}/{vs0}", {"comment": "changed"})
    inv.reset()
    assert inv.volumes() == []
    assert inv.snapshots() == []
    assert [(s["name"], s["uuid"]) for s in inv.svms()] == [("vs0", vs0)]
    assert "comment" not in inv.svms()[0]
