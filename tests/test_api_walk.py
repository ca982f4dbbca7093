"""Every operation ONTAP documents answers as a cluster would (issue 12): a walk of the list.

For each path of ``operations.tsv`` (as compiled into the simulator's declaration), parents
are created first where the path goes through other records, so what is checked is the
answer to the operation itself: a collection GET answers 200 with an ONTAP body, an unknown
record answers 404 code "4", and every POST and PATCH refuses an unknown body field with 400
naming it — never 404 "unknown path", 405 or 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_app import AUTH

from simulator import Simulator
from simulator.model.coverage import classify
from simulator.model.spec import ApiSpec, ResourceSpec, load_spec
from simulator.model.store import fill_path, path_variables

SPEC = load_spec()
#: Operations docs/coverage.md lists as not served answer an ONTAP error saying so (tested below).
_PROBE = Simulator()
NOT_SERVED = {
    (c.operation.method, c.operation.path)
    for c in (classify(_PROBE, op) for op in SPEC.operations)
    if c.kind == "not served"
}
UNKNOWN = "99999999-9999-9999-9999-999999999999"
FIELD = "no_such_field_anywhere"


def _paths(method: str, record: bool | None = None) -> list[str]:
    out = []
    for op in SPEC.operations:
        if op.method != method or op.path.startswith("/api/cluster/jobs"):
            continue
        if (op.method, op.path) in NOT_SERVED:
            continue
        resource = SPEC.resource_for(op.path)
        is_record = (
            resource is not None and op.path == resource.record_path and op.path.endswith("}")
        )
        if record is None or is_record == record:
            out.append(op.path)
    return out


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(
        clock="virtual",
        scenario={
            "inventory": {
                "svms": [{"name": "vs0"}],
                "aggregates": [{"name": "aggr1"}],
                "volumes": [
                    {"name": "vol1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
                ],
                "snapshots": [{"name": "s1", "volume": {"name": "vol1"}}],
            },
            # A storage unit (and its snapshot, s1) exists only as a LUN's view: the walk
            # cannot insert one as it inserts the parents of other paths.
            "records": {
                "Lun": [
                    {
                        "svm": {"name": "vs0"},
                        "name": "/vol/vol1/lun1",
                        "os_type": "linux",
                        "space": {"size": 1048576},
                    }
                ]
            },
        },
    )


@pytest.fixture(scope="module")
def client(sim: Simulator) -> Iterator[FlaskClient]:
    yield sim.app.test_client()
    assert sim.errors == []


def _deep_value(sim: Simulator, name: str) -> str | None:
    """The value of ``svm.uuid``, ``volume.uuid``... of the deep inventory's first record."""
    owner, _, leaf = name.rpartition(".")
    for deep_name in ("Svm", "Volume", "Aggregate", "Node", "Snapshot"):
        records = sim.inventory.records_of(deep_name)
        if owner == deep_name.lower() and records:
            return str(records[0].get(leaf, "x1"))
    return None


def _value_for(sim: Simulator, spec: ApiSpec, template: str, index: int) -> str:
    """A value for the path's ``index``-th variable naming a record that exists."""
    variables = path_variables(template)
    name = variables[index]
    end = template.index("{" + name + "}") + len(name) + 2
    prefix = template[:end]
    parent: ResourceSpec | None = next(
        (r for r in spec.resources.values() if r.record_path and _same(r.record_path, prefix)),
        None,
    )
    if parent is not None and sim.inventory.records_of(parent.name) is not None:
        deep = sim.inventory.records_of(parent.name) or []
        return str(deep[0].get(parent.keys[-1].rsplit(".", 1)[-1], "x1"))
    values = [_value_for(sim, spec, template, i) for i in range(index)]
    known = _deep_value(sim, parent.keys[len(values)] if parent else name)
    if parent is None:
        return known or "x1"
    existing = [
        r
        for r in sim.store.records_of(parent.name)
        if all(str(_get(r, k)) == v for k, v in zip(parent.keys, values, strict=False))
        and (known is None or str(_get(r, parent.keys[len(values)])) == known)
    ]
    if existing:
        return str(_get(existing[0], parent.keys[len(values)]))
    record: dict[str, Any] = {}
    for key, value in zip(parent.keys, values, strict=False):
        _set(record, key, value)
    field = parent.fields.get(parent.keys[len(values)])
    generated: Any = known or (
        7
        if field is not None and field.type == "integer"
        else "11111111-2222-3333-4444-555555555555"
    )
    _set(record, parent.keys[len(values)], generated)
    for key in parent.keys[len(values) + 1 :]:
        _set(record, key, "x1")
    sim.store.insert(parent, record)
    return str(generated)


def _same(a: str, b: str) -> bool:
    return [p if not p.startswith("{") else "{}" for p in a.split("/")] == [
        p if not p.startswith("{") else "{}" for p in b.split("/")
    ]


def _get(record: dict[str, Any], dotted: str) -> Any:
    node: Any = record
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _set(record: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        record = record.setdefault(part, {})
    record[parts[-1]] = value


def _concrete(sim: Simulator, template: str, last_unknown: bool = False) -> str:
    variables = path_variables(template)
    values = [_value_for(sim, SPEC, template, i) for i in range(len(variables) - last_unknown)]
    if last_unknown:
        values.append(UNKNOWN)
    return fill_path(template, values)


def _call(client: FlaskClient, method: str, path: str, body: Any = None) -> Any:
    headers = dict(AUTH)
    kw: dict[str, Any] = {}
    if body is not None:
        kw["data"] = json.dumps(body)
        headers["Content-Type"] = "application/json"
    return client.open(path, method=method, headers=headers, **kw)


@pytest.mark.parametrize("template", _paths("GET", record=False))
def test_every_collection_get_answers_200(
    sim: Simulator, client: FlaskClient, template: str
) -> None:
    response = _call(client, "GET", _concrete(sim, template))
    assert response.status_code == 200, (template, response.json)
    assert isinstance(response.json, dict)
    resource = SPEC.resource_for(template)
    if resource is not None and not resource.singleton:
        assert "num_records" in response.json and "records" in response.json


@pytest.mark.parametrize("template", _paths("GET", record=True))
def test_every_record_path_answers_404_code_4_for_an_unknown_key(
    sim: Simulator, client: FlaskClient, template: str
) -> None:
    response = _call(client, "GET", _concrete(sim, template, last_unknown=True))
    assert response.status_code == 404, (template, response.json)
    assert response.json["error"]["code"] == "4"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_every_write_refuses_an_unknown_body_field(
    sim: Simulator, client: FlaskClient, method: str
) -> None:
    failures = []
    for template in _paths(method):
        response = _call(client, method, _concrete(sim, template), {FIELD: 1})
        error = (response.json or {}).get("error", {})
        if response.status_code != 400 or error.get("target") != FIELD:
            failures.append((method, template, response.status_code, error))
    assert failures == []


def test_operations_not_served_answer_an_ontap_error_saying_so(
    sim: Simulator, client: FlaskClient
) -> None:
    for method, template in sorted(NOT_SERVED):
        body = {} if method in ("POST", "PATCH") else None
        response = _call(client, method, _concrete(sim, template), body)
        assert response.status_code == 405, (method, template, response.json)
        assert "docs/coverage.md" in response.json["error"]["message"]


def test_docs_coverage_is_what_the_script_writes() -> None:
    """docs/coverage.md is generated from the code: CI fails when it is stale."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(root / "tools" / "coverage.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_at_least_95_percent_served_and_every_asynchronous_one() -> None:
    rows = [classify(_PROBE, op) for op in SPEC.operations]
    served = [r for r in rows if r.kind != "not served"]
    assert len(served) >= 0.95 * len(rows)
    asynchronous = [r for r in rows if r.operation.is_async]
    assert len(asynchronous) == 286
    assert all(r.kind != "not served" for r in asynchronous)
