"""The compiled ONTAP API declaration (``simulator/model``): current, complete, and true.

``tools/compile_ontap_api.py --check`` keeps ``ontap_api.json`` what the pinned netapp-ontap
produces; the loader is then held to facts read from netapp-ontap's resource modules and
docstrings, and to every line of operations.tsv.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from simulator.model import ApiSpec, load_spec
from simulator.model.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
COMPILER = ROOT / "tools" / "compile_ontap_api.py"
MODEL = ROOT / "simulator" / "model"
TSV = MODEL / "operations.tsv"
SHARED_TSV = Path("shared") / "ontap-api" / "operations.tsv"


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return load_spec()


def _tsv_lines(path: Path) -> list[tuple[str, str, tuple[int, ...]]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return [(m, p, tuple(int(s) for s in statuses.split(","))) for m, p, statuses in rows]


def _compile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(COMPILER), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _shared_tsv() -> Path | None:
    """``<repo>/../shared/ontap-api/operations.tsv``; from a git worktree, the main checkout's."""
    roots = [ROOT]
    dot_git = ROOT / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        if gitdir.parent.name == "worktrees":
            roots.append(gitdir.parent.parent.parent)
    return next((r.parent / SHARED_TSV for r in roots if (r.parent / SHARED_TSV).is_file()), None)


# --- the data file is current ---------------------------------------------------------------


def test_data_file_is_what_the_compiler_writes_from_the_pinned_netapp_ontap(spec: ApiSpec) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pins = re.findall(r'"netapp-ontap==([^"]+)"', pyproject)
    assert len(pins) == 1, "pyproject.toml pins netapp-ontap exactly once"
    assert spec.source == f"netapp-ontap {pins[0]}"
    assert spec.ontap_version == ".".join(pins[0].split(".")[:3])
    result = _compile("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_names_what_is_stale(tmp_path: Path) -> None:
    data = json.loads((MODEL / "ontap_api.json").read_text(encoding="utf-8"))
    volume = next(row for row in data["resources"] if row[0] == "Volume")
    volume[2] = "/api/storage/volumez"
    stale = tmp_path / "ontap_api.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    result = _compile("--check", "--output", str(stale))
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1
    assert "resources: Volume" in result.stdout
    assert "run python tools/compile_ontap_api.py" in result.stdout


def test_operations_tsv_is_a_verbatim_copy_of_the_shared_list() -> None:
    shared = _shared_tsv()
    if shared is None:
        pytest.skip(f"no ../{SHARED_TSV} beside this checkout to compare with")
    assert TSV.read_bytes() == shared.read_bytes()


def test_loading_imports_neither_netapp_ontap_nor_marshmallow_and_waits_for_first_use() -> None:
    code = (
        "import sys; import simulator.model as m; from simulator.model.spec import load_spec;"
        "before = load_spec.cache_info().currsize; s = load_spec();"
        "print(before, len(s.resources), 'netapp_ontap' in sys.modules,"
        " 'marshmallow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    extra = json.loads((MODEL / "ontap_api_extra.json").read_text(encoding="utf-8"))
    # netapp-ontap's 331 resources, and the extra declarations merged for the paths it lacks
    assert result.stdout.split() == ["0", str(331 + len(extra["resources"])), "False", "False"]


def test_a_data_file_of_another_format_is_refused_by_name() -> None:
    with pytest.raises(RuntimeError, match=r"ontap_api.json has format 0.*compile_ontap_api"):
        parse_spec(json.dumps({"format": 0}))


# --- resources against netapp-ontap's facts -------------------------------------------------


def test_volume_paths_keys_and_required_post_fields(spec: ApiSpec) -> None:
    volume = spec.resources["Volume"]
    assert (volume.name, volume.module) == ("Volume", "volume")
    assert volume.collection_path == "/api/storage/volumes"
    assert volume.record_path == "/api/storage/volumes/{uuid}"
    assert volume.keys == ("uuid",)
    assert not volume.singleton
    # Volume.post's docstring: svm.uuid or svm.name; name; aggregates.name or aggregates.uuid
    assert set(map(frozenset, volume.required_post)) == {
        frozenset({"svm.uuid", "svm.name"}),
        frozenset({"name"}),
        frozenset({"aggregates.name", "aggregates.uuid"}),
    }
    assert spec.resource_for("/api/storage/volumes") is volume
    assert spec.resource_for("/api/storage/volumes/{uuid}") is volume


def test_fields_inside_a_list_of_objects_name_that_list(spec: ApiSpec) -> None:
    fields = spec.resources["Volume"].fields
    name = fields["aggregates.name"]
    assert (name.type, name.in_list, name.is_list) == ("string", "aggregates", False)
    assert name.get and name.post and name.patch
    assert fields["svm.name"].in_list is None
    tags = fields["_tags"]
    assert (tags.type, tags.is_list, tags.in_list) == ("string", True, None)


def test_lun_map_is_keyed_by_its_lun_and_igroup(spec: ApiSpec) -> None:
    lun_map = spec.resources["LunMap"]
    assert lun_map.keys == ("lun.uuid", "igroup.uuid")
    assert lun_map.collection_path == "/api/protocols/san/lun-maps"
    assert lun_map.record_path == "/api/protocols/san/lun-maps/{lun.uuid}/{igroup.uuid}"
    assert {k: lun_map.references[k] for k in ("igroup", "lun", "svm")} == {
        "igroup": "Igroup",
        "lun": "Lun",
        "svm": "Svm",
    }
    assert ("igroup.uuid", "igroup.name") in lun_map.required_post


def test_snapshot_lives_under_its_volume(spec: ApiSpec) -> None:
    snapshot = spec.resources["Snapshot"]
    assert snapshot.keys == ("volume.uuid", "uuid")
    assert snapshot.collection_path == "/api/storage/volumes/{volume.uuid}/snapshots"
    assert snapshot.record_path == "/api/storage/volumes/{volume.uuid}/snapshots/{uuid}"
    assert snapshot.references["volume"] == "Volume"


def test_enums_and_bounds_come_from_netapp_ontap_validators(spec: ApiSpec) -> None:
    volume = spec.resources["Volume"].fields
    assert volume["state"].enum == ("error", "mixed", "offline", "online", "restricted")
    assert (volume["snapshot_count"].minimum, volume["snapshot_count"].maximum) == (0, 1023)
    assert volume["name"].type == "string" and volume["name"].max_length == 203
    lun_map = spec.resources["LunMap"].fields
    assert (lun_map["logical_unit_number"].minimum, lun_map["logical_unit_number"].maximum) == (
        0,
        4095,
    )
    # a nested model's enum, from its field's "Valid choices" (netapp-ontap has no validator there)
    assert volume["guarantee.type"].enum == ("volume", "none")


def test_a_read_only_field_is_got_but_never_posted_or_patched(spec: ApiSpec) -> None:
    create_time = spec.resources["Volume"].fields["create_time"]
    assert create_time.type == "date-time"
    assert (create_time.get, create_time.post, create_time.patch) == (True, False, False)
    uuid = spec.resources["Volume"].fields["uuid"]
    assert (uuid.get, uuid.post, uuid.patch) == (True, False, False)
    size = spec.resources["Volume"].fields["size"]
    assert (size.type, size.get, size.post, size.patch) == ("integer", True, True, True)


def test_expensive_patterns_cover_the_leaves_below_them(spec: ApiSpec) -> None:
    fields = spec.resources["Aggregate"].fields
    metric = [f for name, f in fields.items() if name.startswith("metric.")]
    assert metric and all(f.expensive for f in metric)
    assert {"metric.iops.read", "metric.throughput.total"} <= {f.name for f in metric}
    assert not fields["name"].expensive and not fields["uuid"].expensive
    volume = spec.resources["Volume"].fields
    assert volume["is_svm_root"].expensive and not volume["space.size"].expensive


def test_export_policy_is_keyed_by_an_integer_id(spec: ApiSpec) -> None:
    policy = spec.resources["ExportPolicy"]
    assert policy.keys == ("id",)
    assert policy.record_path == "/api/protocols/nfs/export-policies/{id}"
    assert policy.fields["id"].type == "integer"
    rule = spec.resources["ExportRule"]
    assert rule.record_path == "/api/protocols/nfs/export-policies/{policy.id}/rules/{index}"
    assert rule.references["policy"] == "ExportPolicy"
    assert ("policy.id",) not in rule.required_post  # a path key, not a body field


def test_embedded_records_are_not_references(spec: ApiSpec) -> None:
    assert "rules" not in spec.resources["ExportPolicy"].references
    assert "initiators" not in spec.resources["Igroup"].references
    lun = spec.resources["Lun"].references
    assert lun["location.volume"] == "Volume" and lun["svm"] == "Svm"


def test_singletons_and_keyless_collections(spec: ApiSpec) -> None:
    cluster = spec.resources["Cluster"]
    assert cluster.singleton and cluster.keys == ()
    assert cluster.record_path == cluster.collection_path == "/api/cluster"
    web = spec.resources["WebSvm"]
    assert web.singleton and web.record_path == "/api/svm/svms/{svm.uuid}/web"
    nfs = spec.resources["NfsService"]  # one per SVM, but listed and created as a collection
    assert not nfs.singleton and nfs.record_path == "/api/protocols/nfs/services/{svm.uuid}"
    metrics = spec.resources["NodeMetrics"]  # samples: a collection with no record path
    assert not metrics.singleton and metrics.record_path is None
    assert metrics.collection_path == "/api/cluster/nodes/{uuid}/metrics"


def test_record_path_placeholders_are_the_keys_in_order(spec: ApiSpec) -> None:
    for res in spec.resources.values():
        if res.record_path is not None and not res.singleton:
            assert len(re.findall(r"\{[^}]+\}", res.record_path)) == len(res.keys), res.name


def test_every_field_reference_and_requirement_names_what_exists(spec: ApiSpec) -> None:
    # netapp-ontap's private CLI passthrough and the DCN software upload declare no fields
    # (the extra declarations' bodiless actions are tests/test_api_extra.py's)
    extra = json.loads((MODEL / "ontap_api_extra.json").read_text(encoding="utf-8"))
    added = {row[0] for row in extra["resources"]}
    assert [r.name for r in spec.resources.values() if not r.fields and r.name not in added] == [
        "CLI",
        "DcnClusterSoftwareUpload",
    ]
    for res in spec.resources.values():
        names = list(res.fields)
        for name, field in res.fields.items():
            assert field.name == name
            assert field.in_list is None or name.startswith(field.in_list + "."), name
        for target in res.references.values():
            assert target in spec.resources, (res.name, target)
        for prefix in res.references:
            assert any(n.startswith(prefix + ".") for n in names), (res.name, prefix)
        for group in res.required_post:
            for name in group:
                assert any(
                    n == name or n.startswith(name + ".") for n in names if res.fields[n].post
                ), (res.name, name)


# --- operations -----------------------------------------------------------------------------


def test_every_operations_tsv_line_is_an_operation_in_file_order(spec: ApiSpec) -> None:
    lines = _tsv_lines(TSV)
    assert [(op.method, op.path, op.statuses) for op in spec.operations] == lines
    assert all(op.is_async == (202 in op.statuses) for op in spec.operations)
    asynchronous = [op for op in spec.operations if op.is_async]
    assert len(asynchronous) == 286
    assert Counter(op.method for op in asynchronous) == {"POST": 85, "PATCH": 108, "DELETE": 93}


def test_operations_name_the_resource_serving_their_path(spec: ApiSpec) -> None:
    by_path = {(op.method, op.path): op for op in spec.operations}
    assert by_path["POST", "/api/protocols/san/lun-maps"].resource == "LunMap"
    assert by_path["DELETE", "/api/storage/volumes/{uuid}"].resource == "Volume"
    assert by_path["DELETE", "/api/storage/volumes/{uuid}"].is_async
    assert by_path["GET", "/api/cluster"].resource == "Cluster"
    # both spellings of one path are served by the same resource
    assert by_path["GET", "/api/storage/luns/{uuid}/metrics"].resource == "PerformanceLunMetric"
    assert by_path["GET", "/api/storage/luns/{lun.uuid}/metrics"].resource == "PerformanceLunMetric"
    on_volumes = spec.operations_on("/api/storage/volumes")
    assert [(op.method, op.statuses) for op in on_volumes] == [
        ("DELETE", (200, 202)),
        ("GET", (200,)),
        ("PATCH", (200, 202)),
        ("POST", (201, 202)),
    ]
    assert spec.operations_on("/api/no/such/path") == ()
    for op in spec.operations:
        if op.resource is not None:
            served = spec.resources[op.resource]
            assert spec.resource_for(op.path) is served


def test_share_of_operations_with_a_resource(spec: ApiSpec) -> None:
    paths = list(dict.fromkeys(op.path for op in spec.operations))
    with_resource = {op.path for op in spec.operations if op.resource is not None}
    ops = sum(op.resource is not None for op in spec.operations)
    without = [p for p in paths if p not in with_resource]
    print(
        f"\npaths with a resource: {len(with_resource)}/{len(paths)}"
        f" ({100 * len(with_resource) / len(paths):.1f}%);"
        f" operations: {ops}/{len(spec.operations)} ({100 * ops / len(spec.operations):.1f}%)"
    )
    print("\n".join(f"  no resource: {p}" for p in without))
    assert len(with_resource) / len(paths) > 0.85
    # what netapp-ontap 9.19.1.0 has no resource for: the data engine, and actions on a record
    others = [p for p in without if not p.startswith("/api/data-engine")]
    assert len(others) <= 30, others
