"""The simulator's OpenAPI document: valid, complete, true to the declaration, and fuzzed.

The ONTAP part of the document is generated from the declaration the simulator serves from, so
these tests pin what the generation must keep: every operation with its methods and statuses,
every field of a resource in its schema, bodies restricted to what each method takes. Then
schemathesis calls a bounded set of operations with generated requests (positive and negative,
basic auth) against a running simulator seeded with records and jobs in every state: no answer
may be a server error, and every answer must match the document (status, content type, body).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from simulator import Simulator, serve
from simulator.model.coverage import classify
from simulator.model.spec import load_spec
from simulator.model.store import path_variables
from simulator.openapi import build_openapi, doc_path

AUTH = ("admin", "netapp1!")
#: Documented operations the simulator does not serve yet (they answer 405; docs/coverage.md
#: lists them as not served, so they are not among the fuzzed ones).
NOT_SERVED_YET: set[tuple[str, str]] = set()


def documented_method_is_served(ctx: Any, response: Any, case: Any) -> bool | None:
    """A method the document lists on a path never answers 405 (the document and the router
    come from one declaration: a 405 means they drifted apart)."""
    key = (case.operation.method.upper(), case.operation.path)
    if response.status_code == 405 and key not in NOT_SERVED_YET:
        raise AssertionError(f"{case.operation.label} is documented but answers 405")
    return None


CHECKS = [
    documented_method_is_served,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
#: Fuzzing and the documented examples. The coverage phase (every boundary case of every
#: parameter) takes minutes on this document, so CI leaves it out.
CONFIG = {"phases": {"coverage": {"enabled": False}}}
FOREVER = 1e9
SCENARIO: dict[str, Any] = {
    "retention": FOREVER,
    "inventory": {
        "svms": [{"name": "vs0"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [{"name": "vol1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}],
        "snapshots": [{"name": "snap1", "volume": {"name": "vol1"}}],
    },
    "records": {
        # The policy's rule is created with it (ONTAP numbers policies itself).
        "ExportPolicy": [
            {
                "name": "pol1",
                "svm": {"name": "vs0"},
                "rules": [
                    {"clients": [{"match": "0.0.0.0/0"}], "ro_rule": ["any"], "rw_rule": ["any"]}
                ],
            }
        ],
        "Lun": [
            {
                "name": "/vol/vol1/lun1",
                "svm": {"name": "vs0"},
                "os_type": "linux",
                "space": {"size": 1024 * 1024},
            }
        ],
    },
    "endpoints": [
        {"method": "POST", "path": "/api/storage/custom"},
        {"method": "DELETE", "path": "/api/storage/custom/*"},
    ],
}
#: Generic operations fuzzed besides the deep ones. The 1,494 generic operations are served by
#: one code path (the resource store) from one declaration, and fuzzing all of them takes about
#: 100 s at 4 examples each (measured on 2 loaded cores), more than half the suite's time. So
#: the fuzzing covers the shapes that path takes: a record keyed by an integer id (export
#: policies), one under a parent with an integer key (their rules), one keyed by two values
#: (qtrees), an object per SVM (NFS services), a job-running resource with references (LUNs),
#: actions that create nothing (a restore, a ping) and a spread of the rest (every 97th
#: operation). Every operation's methods, statuses and schemas are checked against the
#: declaration by the tests below, and each one answers an unknown field or record in
#: tests/test_api_walk.py.
SAMPLED_RESOURCES = {"ExportPolicy", "ExportRule", "Qtree", "NfsService", "Lun"}
SAMPLED_PATHS = {"/api/cluster/mediator-ping", "/api/storage/directory-restore"}
SPREAD = 97
#: Control operations fuzzed: the reads and the board's job action. Adding faults, resetting or
#: moving the clock would change what the other operations are checked against.
CONTROL_FUZZED = {
    ("GET", "/simulator/scripts"),
    ("GET", "/simulator/clock"),
    ("GET", "/simulator/faults"),
    ("GET", "/simulator/requests/latest"),
    ("GET", "/simulator/errors"),
    ("GET", "/simulator/jobs"),
    ("PATCH", "/simulator/jobs/{uuid}"),
}


def _fuzzed() -> set[tuple[str, str]]:
    sim = Simulator()
    spec = load_spec()
    generic = [op for op in spec.operations if classify(sim, op).kind == "generic"]
    chosen = {
        (op.method, doc_path(op.path))
        for op in spec.operations
        if classify(sim, op).kind == "deep"
        or op.resource in SAMPLED_RESOURCES
        or op.path in SAMPLED_PATHS
    }
    chosen |= {(op.method, doc_path(op.path)) for op in generic[::SPREAD]}
    chosen |= {("POST", "/api/storage/custom"), ("DELETE", "/api/storage/custom/{key1}")}
    return chosen | CONTROL_FUZZED


def _seed(sim: Simulator, url: str) -> None:
    """Jobs in every state: running (non-zero code), paused by script and by user, failed, done."""
    vol1 = sim.inventory.volumes()[0]["uuid"]
    running = {"state": "running", "seconds": FOREVER, "message": "Checking", "code": 2432844}
    paused = {"state": "paused", "seconds": FOREVER}
    success = {"state": "success"}
    failure = {"state": "failure", "message": "There are not enough disks in Pool1.", "code": 2}
    writes: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
        (
            "POST",
            "/api/storage/volumes",
            {"name": "v2", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
            [running, success],
        ),
        ("PATCH", f"/api/storage/volumes/{vol1}", {"comment": "x"}, [paused, success]),
        ("POST", f"/api/storage/volumes/{vol1}/snapshots", {"name": "s2"}, [failure]),
        ("POST", "/api/svm/svms", {"name": "vs1"}, [success]),
        ("POST", "/api/storage/custom", {}, [running, success]),
    ]
    with requests.Session() as session:
        session.auth = AUTH
        # Records keyed by a reference (a qtree by its volume, NFS settings by their SVM),
        # which a scenario's records cannot name yet.
        for path, body in (
            (
                "/api/storage/qtrees",
                {"name": "qt1", "svm": {"name": "vs0"}, "volume": {"name": "vol1"}},
            ),
            ("/api/protocols/nfs/services", {"svm": {"name": "vs0"}}),
        ):
            created = session.post(f"{url}{path}?return_timeout=120", json=body)
            assert created.status_code == 201, created.text
        for method, path, body, steps in writes:
            sim.script(method, path, steps)
            answer = session.request(method, url + path, json=body)
            assert answer.status_code == 202, answer.text
        last_job = answer.json()["job"]["uuid"]
        paused_by_user = session.patch(f"{url}/api/cluster/jobs/{last_job}?action=pause")
        assert paused_by_user.status_code == 200, paused_by_user.text
    states = {record["state"] for record in sim.jobs.records()}
    assert states == {"running", "paused", "failure", "success"}


@contextlib.contextmanager
def _seeded() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(clock="virtual", password=AUTH[1], scenario=SCENARIO)
    with serve(sim) as server:
        _seed(sim, server.url)
        yield sim, server.url


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    """The simulator the fuzzing changes."""
    with _seeded() as found:
        yield found


@pytest.fixture
def pristine() -> Iterator[tuple[Simulator, str]]:
    """A simulator with the seeded records, as no fuzzing has changed them."""
    with _seeded() as found:
        yield found


def test_the_fuzzed_operations_answer_as_documented(served: tuple[Simulator, str]) -> None:
    """Each chosen operation in turn, through Hypothesis directly (not schemathesis' pytest
    hooks, which reach into pytest internals that change between pytest releases)."""
    sim, url = served
    config = schemathesis.Config.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(
        f"{url}/simulator/openapi.json", auth=AUTH, config=config
    )
    wanted = _fuzzed()
    seen = set()
    failures: list[str] = []
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key not in wanted:
            continue
        seen.add(key)

        @given(
            case=strategies.one_of(
                operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=url, auth=AUTH, checks=CHECKS, timeout=10)

        try:
            check()
        except BaseException as exc:  # schemathesis' findings come as a BaseExceptionGroup
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            # Every operation's findings, not the first operation's only.
            failures.append(f"{operation.label}: {str(exc).strip().splitlines()[0]}")
    assert failures == []
    assert sim.errors == []
    assert seen == wanted
    print(f"fuzzed {len(seen)} operations in {time.perf_counter() - started:.1f} s")


def test_every_record_held_matches_its_schema(pristine: tuple[Simulator, str]) -> None:
    """Each GET whose path the document gives examples for (a record the simulator holds),
    with ``fields=**``: every field of every record, deep or generic, as the schema says."""
    sim, url = pristine
    doc = build_openapi(sim)
    checked = []
    with requests.Session() as session:
        session.auth = AUTH
        for path, item in doc["paths"].items():
            params = item.get("parameters", [])
            if "get" not in item or not path.startswith("/api/"):
                continue
            if any("example" not in p for p in params):
                continue
            concrete = path
            for param in params:
                concrete = concrete.replace("{" + param["name"] + "}", param["example"])
            answer = session.get(url + concrete, params={"fields": "**"})
            assert answer.status_code == 200, (concrete, answer.text)
            body = answer.json()
            if body.get("num_records") == 0:
                continue
            response = _plain(item["get"]["responses"]["200"], doc)
            schema = response["content"]["application/hal+json"]["schema"]
            validator = jsonschema.Draft4Validator(
                {**schema, "components": doc["components"]},
                format_checker=jsonschema.FormatChecker(),
            )
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
            assert errors == [], concrete
            checked.append(path)
    assert {
        "/api/storage/volumes/{uuid}",
        "/api/storage/volumes/{volume_uuid}/snapshots/{uuid}",
        "/api/svm/svms/{uuid}",
        "/api/storage/aggregates/{uuid}",
        "/api/cluster/nodes/{uuid}",
        "/api/cluster",
        "/api/cluster/jobs",
        "/api/protocols/nfs/export-policies/{policy_id}/rules/{index}",
        "/api/storage/qtrees/{volume_uuid}/{id}",
        "/api/storage/luns/{uuid}",
    } <= set(checked)


# -- the document itself -----------------------------------------------------------------
def _plain(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a one-member ``allOf`` and ``$ref`` resolved."""
    while True:
        if "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        elif "$ref" in schema:
            section, name = schema["$ref"].split("/")[-2:]
            schema = doc["components"][section][name]
        else:
            return schema


def _at(schema: dict[str, Any], dotted: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The schema of the field ``dotted`` (through objects and arrays of objects)."""
    for part in dotted.split("."):
        schema = _plain(schema, doc)
        if schema.get("type") == "array":
            schema = _plain(schema["items"], doc)
        schema = schema["properties"][part]
    return _plain(schema, doc)


def _client(sim: Simulator) -> Any:
    client = sim.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = requests.auth._basic_auth_str(*AUTH)
    return client


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(Simulator(scenario=SCENARIO))


def test_the_whole_document_is_valid_openapi_3(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.0.")
    assert doc["servers"] == [{"url": "/"}]


def test_every_operation_of_the_declaration_is_documented_with_its_statuses(
    doc: dict[str, Any],
) -> None:
    spec = load_spec()
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method != "parameters"
    }
    declared = {(op.method, doc_path(op.path)) for op in spec.operations}
    assert documented - declared == {
        ("POST", "/api/storage/custom"),
        ("DELETE", "/api/storage/custom/{key1}"),
    }
    assert declared <= documented
    assert len(declared) == len(spec.operations) == 1538
    for op in spec.operations:
        operation = doc["paths"][doc_path(op.path)][op.method.lower()]
        statuses = {int(s) for s in operation["responses"] if s != "default"}
        assert statuses == set(op.statuses), (op, statuses)
        assert _plain(operation["responses"]["default"], doc)["content"]
        variables = [p["name"] for p in doc["paths"][doc_path(op.path)].get("parameters", [])]
        assert variables == [v.replace(".", "_") for v in path_variables(op.path)]


def test_a_resource_schema_holds_every_declared_field(doc: dict[str, Any]) -> None:
    """The drift issue 12 names: SVM fields the model takes and returns were missing."""
    spec = load_spec()
    svm = spec.resources["Svm"]
    record = doc["components"]["schemas"]["svm"]
    post = doc["components"]["schemas"]["svm_post"]
    patch = doc["components"]["schemas"]["svm_patch"]
    for name, field in svm.fields.items():
        if not (field.get or field.post or field.patch):
            continue
        leaf = _at(record, name, doc)
        assert leaf.get("readOnly", False) == (not field.post and not field.patch), name
        assert leaf.get("writeOnly", False) == (not field.get and (field.post or field.patch))
        if field.is_list:
            assert leaf["type"] == "array", name
            leaf = _plain(leaf["items"], doc)
        if field.enum:
            assert leaf["enum"] == list(field.enum), name
        for method, body in (("post", post), ("patch", patch)):
            try:
                _at(body, name, doc)
            except KeyError:
                assert not getattr(field, method), (method, name)
            else:
                assert getattr(field, method), (method, name)
    assert _at(record, "aggregates", doc)["type"] == "array"
    assert _at(record, "aggregates.name", doc)["type"] == "string"
    assert _at(record, "cifs.ad_domain.password", doc)["writeOnly"] is True
    assert _at(record, "uuid", doc)["readOnly"] is True
    assert _plain(post, doc)["additionalProperties"] is False


def test_post_bodies_require_what_the_declaration_requires(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    svm_body = paths["/api/svm/svms"]["post"]["requestBody"]["content"]["application/json"]
    assert {"required": ["name"]} in svm_body["schema"]["allOf"]
    # Alternatives: an SVM by name or uuid; a path key (the volume) is not asked of the body.
    lun = paths["/api/storage/luns"]["post"]["requestBody"]["content"]["application/json"]
    needs = lun["schema"]["allOf"][1:]
    assert {
        "required": ["svm"],
        "properties": {"svm": {"anyOf": [{"required": ["uuid"]}, {"required": ["name"]}]}},
    } in needs
    snapshot = paths["/api/storage/volumes/{volume_uuid}/snapshots"]["post"]["requestBody"]
    assert "volume" not in json.dumps(snapshot["content"]["application/json"]["schema"])


def test_the_document_pins_the_ontap_facts_clients_rely_on(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    job = schemas["job"]
    assert _at(job, "state", doc)["enum"] == ["queued", "running", "paused", "success", "failure"]
    assert _at(job, "code", doc)["type"] == "integer"
    assert _at(job, "error.code", doc)["type"] == "string"
    error = schemas["returned_error"]["properties"]
    assert {name: error[name]["type"] for name in error} == {
        "message": "string",
        "code": "string",
        "target": "string",
        "arguments": "array",
    }
    assert schemas["error_response"]["required"] == ["error"]
    link = _plain(schemas["job_link_response"]["properties"]["job"], doc)["properties"]
    assert set(link) == {"uuid", "_links"}
    assert doc["components"]["securitySchemes"] == {
        "basic_auth": {"type": "http", "scheme": "basic"}
    }
    assert doc["security"] == [{"basic_auth": []}]

    params = doc["components"]["parameters"]
    for name, default in (("write_return_timeout", 0), ("collection_return_timeout", 15)):
        assert params[name]["name"] == "return_timeout"
        assert params[name]["schema"] == {
            "type": "integer",
            "minimum": 0,
            "maximum": 120,
            "default": default,
        }
    paths = doc["paths"]
    post = paths["/api/storage/volumes"]["post"]["responses"]
    assert set(post) == {"201", "202", "default"}
    assert "Location" in _plain(post["201"], doc)["headers"]
    for method in ("patch", "delete"):
        assert set(paths["/api/storage/volumes/{uuid}"][method]["responses"]) == {
            "200",
            "202",
            "default",
        }
    collection = [_plain(p, doc)["name"] for p in paths["/api/cluster/jobs"]["get"]["parameters"]]
    assert collection == [
        "fields",
        "max_records",
        "return_records",
        "return_timeout",
        "order_by",
        "filters",
    ]
    (action,) = paths["/api/cluster/jobs/{uuid}"]["patch"]["parameters"]
    assert action["required"] is True
    assert action["schema"]["enum"] == ["pause", "resume", "cancel"]
    assert "requestBody" not in paths["/api/cluster/jobs/{uuid}"]["patch"]


def test_the_control_api_is_documented(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    control = {
        (method.upper(), path)
        for path, item in paths.items()
        if path.startswith("/simulator/")
        for method in item
        if method != "parameters"
    }
    assert control >= CONTROL_FUZZED | {
        ("POST", "/simulator/reset"),
        ("POST", "/simulator/scripts"),
        ("POST", "/simulator/faults"),
        ("POST", "/simulator/clock"),
        ("GET", "/simulator/openapi.json"),
        ("GET", "/simulator/ui"),
    }
    fault = doc["components"]["schemas"]["sim_fault_input"]["properties"]
    assert {"status", "delay", "drop", "malformed", "vanish"} <= set(fault)
    board_job = doc["components"]["schemas"]["sim_board_job"]["allOf"][0]
    assert board_job == {"$ref": "#/components/schemas/job"}  # no second copy of the job


def test_path_examples_name_records_the_simulator_holds() -> None:
    sim = Simulator(scenario=SCENARIO)
    doc = build_openapi(sim)
    volume = sim.inventory.volumes()[0]["uuid"]
    (param,) = doc["paths"]["/api/storage/volumes/{uuid}"]["parameters"]
    assert param["example"] == volume
    rules = doc["paths"]["/api/protocols/nfs/export-policies/{policy_id}/rules/{index}"]
    held = sim.read("/api/protocols/nfs/export-policies", {"name": "pol1"})["records"][0]["id"]
    assert [p["example"] for p in rules["parameters"]] == [str(held), "1"]
    # A collection under a parent that has no child yet takes the parent's key.
    snapshots = doc["paths"]["/api/storage/volumes/{volume_uuid}/snapshots"]["parameters"]
    assert snapshots[0]["example"] == volume


def test_scenario_endpoints_are_declared() -> None:
    endpoints = [
        {"method": "POST", "path": "/api/storage/custom"},
        {"method": "DELETE", "path": "/api/storage/custom/*"},
        {"method": "POST", "path": "/api/protocols/nfs/export-policies"},  # declared, now a job
        {"method": "POST", "path": "/elsewhere"},  # outside /api: never routed
    ]
    doc = build_openapi(Simulator(scenario={"endpoints": endpoints}))
    paths = doc["paths"]
    assert set(paths["/api/storage/custom"]) == {"post"}
    delete = paths["/api/storage/custom/{key1}"]["delete"]
    assert paths["/api/storage/custom/{key1}"]["parameters"][0]["name"] == "key1"
    assert set(delete["responses"]) >= {"200", "202"}
    export = paths["/api/protocols/nfs/export-policies"]["post"]
    assert export["operationId"] == "export_policy_create"
    assert set(export["responses"]) == {"201", "202", "default"}
    assert not any(path.startswith("/elsewhere") for path in paths)
    plain = build_openapi(Simulator())["paths"]["/api/protocols/nfs/export-policies"]["post"]
    assert set(plain["responses"]) == {"201", "default"}


def test_the_document_is_served_with_auth() -> None:
    sim = Simulator()
    assert sim.app.test_client().get("/simulator/openapi.json").status_code == 401
    answer = _client(sim).get("/simulator/openapi.json")
    assert answer.status_code == 200
    assert answer.content_type == "application/json"
    assert answer.get_json() == build_openapi(sim)


def test_the_document_is_built_once_and_stays_small() -> None:
    """Measured: ~2.7 MB of JSON, built in about a second the first time; then each call
    only parses a copy and adds the simulator's examples."""
    sim = Simulator()
    build_openapi(sim)
    started = time.perf_counter()
    doc = build_openapi(sim)
    assert time.perf_counter() - started < 2.0
    size = len(json.dumps(doc, separators=(",", ":")))
    assert size < 4_000_000, size
    doc["paths"].clear()  # a fresh document each call: changing one changes no other
    assert build_openapi(sim)["paths"]


def test_every_documented_field_is_accepted_by_fields_and_filters(doc: dict[str, Any]) -> None:
    """The ``fields`` names of every collection without path variables, all at once and as
    filters, are taken by the simulator (200, never 400 or 404)."""
    sim = Simulator(scenario=SCENARIO)
    client = _client(sim)
    checked = 0
    for path, item in doc["paths"].items():
        if "{" in path or "get" not in item or not path.startswith("/api/"):
            continue
        (fields,) = [
            _plain(p, doc) for p in item["get"]["parameters"] if _plain(p, doc)["name"] == "fields"
        ]
        names = fields["schema"]["items"]["enum"][2:]
        # In batches: a query takes at most 256 fields and 256 arguments (docs/reliability.md).
        for start in range(0, len(names), 200):
            batch = names[start : start + 200]
            answer = client.get(path, query_string={"fields": ",".join(batch)})
            assert answer.status_code == 200, (path, answer.get_json())
            if "max_records" in {_plain(p, doc)["name"] for p in item["get"]["parameters"]}:
                # 32 patterns at most in one query's filters (docs/reliability.md).
                for first in range(0, len(batch), 32):
                    filters = dict.fromkeys(batch[first : first + 32], "*")
                    answer = client.get(path, query_string=filters)
                    assert answer.status_code == 200, (path, answer.get_json())
        checked += 1
    assert checked > 200


# -- what the fuzzing found ----------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/protocols/nfs/export-policies/a%3Fb/rules",  # generic, under an unknown parent
        "/api/storage/volumes/a%3Fb/snapshots",  # deep
    ],
)
def test_a_question_mark_in_a_path_key_is_part_of_the_key(path: str) -> None:
    """``%3F`` in a key is a character of the key, not the start of a query: POST under an
    unknown parent is 404 code "4", not a 405 for the path cut at the "?"."""
    answer = _client(Simulator()).post(path, json={})
    assert answer.status_code == 404, answer.get_json()
    assert answer.get_json()["error"]["code"] == "4"


def test_a_location_header_is_a_uri_whatever_the_key_holds() -> None:
    """A key from the body (an SNMP trap host) holding a newline made the ``Location`` header
    raise: a 500. The header is percent-encoded; the record keeps its key as given."""
    sim = Simulator()
    client = _client(sim)
    answer = client.post("/api/support/snmp/traphosts", json={"host": "a\nb c%d é"})
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["Location"] == "/api/support/snmp/traphosts/a%0Ab%20c%d%20%C3%A9"
    assert sim.errors == []
    listed = client.get("/api/support/snmp/traphosts", query_string={"fields": "host"})
    assert [r["host"] for r in listed.get_json()["records"]] == ["a\nb c%d é"]


def test_a_field_no_get_returns_is_never_returned() -> None:
    """A password (``writeOnly`` in the document) came back in ``return_records`` and in every
    GET of the record: ONTAP never returns one."""
    client = _client(Simulator())
    created = client.post(
        "/api/security/accounts?return_records=true",
        json={"name": "ci_user", "password": "s3cret-pass", "comment": "ci"},
    )
    assert created.status_code == 201, created.get_json()
    (record,) = created.get_json()["records"]
    assert record["comment"] == "ci"
    assert "password" not in record
    listed = client.get("/api/security/accounts", query_string={"fields": "**"})
    (record,) = listed.get_json()["records"]
    assert record["comment"] == "ci"
    assert "password" not in record
    assert "s3cret" not in json.dumps(listed.get_json())


def test_a_job_on_an_object_of_an_svm_names_the_svm() -> None:
    """A job on an SVM's own object (its web settings) showed ``"svm": {"name": null}``: the
    object holds its SVM's uuid only. The job names the SVM, as the job schema says."""
    sim = Simulator()
    client = _client(sim)
    svm = sim.inventory.svms()[0]
    answer = client.patch(f"/api/svm/svms/{svm['uuid']}/web", json={"client_enabled": False})
    assert answer.status_code == 202, answer.get_json()
    job = client.get(
        answer.get_json()["job"]["_links"]["self"]["href"], query_string={"fields": "svm"}
    )
    assert job.get_json()["svm"] == {"name": svm["name"], "uuid": svm["uuid"]}


def test_a_renamed_built_in_service_policy_is_not_created_again() -> None:
    """Renaming one of an SVM's built-in service policies made every later request on service
    policies a 500: the built-in set was topped up with a record of the same uuid."""
    sim = Simulator()
    client = _client(sim)
    listed = client.get("/api/network/ip/service-policies", query_string={"fields": "name"})
    policy = listed.get_json()["records"][0]
    renamed = client.patch(
        f"/api/network/ip/service-policies/{policy['uuid']}", json={"name": "renamed"}
    )
    assert renamed.status_code in (200, 202), renamed.get_json()
    sim.advance(10)
    again = client.get("/api/network/ip/service-policies", query_string={"fields": "name"})
    assert again.status_code == 200, again.get_json()
    assert sim.errors == []
