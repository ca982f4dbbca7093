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
from simulator.model.spec import ApiSpec, ResourceSpec, load_spec
from simulator.model.store import fill_path, path_variables

SPEC = load_spec()
UNKNOWN = "99999999-9999-9999-9999-999999999999"
FIELD = "no_such_field_anywhere"


def _paths(method: str, record: bool | None = None) -> list[str]:
    out = []
    for op in SPEC.operations:
        if op.method != method or op.path.startswith("/api/cluster/jobs"):
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
            }
        },
    )


@pytest.fixture(scope="module")
def client(sim: Simulator) -> Iterator[FlaskClient]:
    yield sim.app.test_client()
    assert sim.errors == []


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
    if parent is None:
        return "x1"
    deep = sim.inventory.records_of(parent.name)
    if deep is not None:
        return str(deep[0].get(parent.keys[-1].rsplit(".", 1)[-1], "x1"))
    values = [_value_for(sim, spec, template, i) for i in range(index)]
    existing = [
        r
        for r in sim.store.records_of(parent.name)
        if all(str(_get(r, k)) == v for k, v in zip(parent.keys, values, strict=False))
    ]
    if existing:
        return str(_get(existing[0], parent.keys[len(values)]))
    record: dict[str, Any] = {}
    for key, value in zip(parent.keys, values, strict=False):
        _set(record, key, value)
    field = parent.fields.get(parent.keys[len(values)])
    generated = (
        "7"
        if field is not None and field.type == "integer"
        else "11111111-2222-3333-4444-555555555555"
    )
    _set(record, parent.keys[len(values)], int(generated) if generated == "7" else generated)
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
