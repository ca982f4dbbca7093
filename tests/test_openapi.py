"""The simulator's OpenAPI document, checked by schemathesis against a running simulator.

Schemathesis calls every operation the document declares with generated requests (positive and
negative, basic auth, bounded examples); no answer may be a server error, and every answer must
match the document (status, content type, body schema). The simulator is seeded first with a
volume, a snapshot, a scenario endpoint and jobs in every state, so records of each kind are
validated, not just empty collections. Further tests pin the ONTAP facts clients rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from simulator import Simulator, serve
from simulator.openapi import build_openapi

AUTH = ("admin", "netapp1!")
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
#: Fuzzing and the documented examples on every operation. The coverage phase (every boundary
#: case of every parameter) takes minutes on this document, so CI leaves it out.
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
    "endpoints": [
        {"method": "POST", "path": "/api/storage/luns"},
        {"method": "DELETE", "path": "/api/storage/luns/*"},
    ],
}


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
        ("POST", "/api/storage/luns", {"name": "lun1"}, [running, success]),
    ]
    with requests.Session() as session:
        session.auth = AUTH
        for method, path, body, steps in writes:
            sim.script(method, path, steps)
            answer = session.request(method, url + path, json=body)
            assert answer.status_code == 202, answer.text
        lun_job = answer.json()["job"]["uuid"]
        paused_by_user = session.patch(f"{url}/api/cluster/jobs/{lun_job}?action=pause")
        assert paused_by_user.status_code == 200, paused_by_user.text
    states = {record["state"] for record in sim.jobs.records()}
    assert states == {"running", "paused", "failure", "success"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(clock="virtual", password=AUTH[1], scenario=SCENARIO)
    with serve(sim) as server:
        _seed(sim, server.url)
        yield sim, server.url


@pytest.fixture(scope="module")
def ontap_schema(served: tuple[Simulator, str]) -> Any:
    _, url = served
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_url(f"{url}/simulator/openapi.json", auth=AUTH, config=config)


def test_every_operation_answers_as_documented(
    ontap_schema: Any, served: tuple[Simulator, str]
) -> None:
    """Each operation in turn, through Hypothesis directly (not schemathesis' pytest hooks,
    which reach into pytest internals that change between pytest releases)."""
    sim, url = served
    labels = []
    for result in ontap_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=f"{url}/api", auth=AUTH, checks=CHECKS, timeout=10)

        check()
    assert sim.errors == []
    assert len(labels) >= 20, labels  # every documented operation was exercised


# -- the document itself -----------------------------------------------------------------
def _plain(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a read-only wrapper and ``$ref`` resolved."""
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = schema["allOf"][0]
    while "$ref" in schema:
        section, name = schema["$ref"].split("/")[-2:]
        schema = doc["components"][section][name]
    return schema


def _client(sim: Simulator) -> Any:
    client = sim.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = requests.auth._basic_auth_str(*AUTH)
    return client


def test_the_document_is_valid_openapi_3() -> None:
    doc = build_openapi(Simulator(scenario=SCENARIO))
    validate(doc)
    assert doc["openapi"].startswith("3.0.")
    assert doc["servers"] == [{"url": "/api"}]


def test_the_document_pins_the_ontap_facts_clients_rely_on() -> None:
    doc = build_openapi(Simulator())
    schemas = doc["components"]["schemas"]
    job = schemas["job"]["properties"]
    assert _plain(job["state"], doc)["enum"] == [
        "queued",
        "running",
        "paused",
        "success",
        "failure",
    ]
    assert _plain(job["code"], doc)["type"] == "integer"
    assert _plain(_plain(job["error"], doc)["properties"]["code"], doc)["type"] == "string"
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
    assert {(path, method) for path, item in paths.items() for method in item} == {
        ("/cluster", "get"),
        ("/cluster/jobs", "get"),
        ("/cluster/jobs/{uuid}", "get"),
        ("/cluster/jobs/{uuid}", "patch"),
        ("/cluster/nodes", "get"),
        ("/cluster/nodes/{uuid}", "get"),
        ("/cluster/software", "get"),
        ("/storage/aggregates", "get"),
        ("/storage/aggregates/{uuid}", "get"),
        *((p, m) for p in ("/storage/volumes", "/svm/svms") for m in ("get", "post")),
        *(
            (p + "/{uuid}", m)
            for p in ("/storage/volumes", "/svm/svms")
            for m in ("get", "patch", "delete")
        ),
        ("/storage/volumes/{volume_uuid}/snapshots", "get"),
        ("/storage/volumes/{volume_uuid}/snapshots", "post"),
        *(
            ("/storage/volumes/{volume_uuid}/snapshots/{uuid}", m)
            for m in ("get", "patch", "delete")
        ),
    }
    post = paths["/storage/volumes"]["post"]["responses"]
    assert set(post) == {"201", "202", "400", "401", "404", "409", "413", "default"}
    assert "Location" in _plain(post["201"], doc)["headers"]
    for method in ("patch", "delete"):
        assert set(paths["/storage/volumes/{uuid}"][method]["responses"]) >= {"200", "202", "409"}
    collection = paths["/cluster/jobs"]["get"]["parameters"]
    names = {_plain(p, doc)["name"] for p in collection}
    assert {"fields", "max_records", "order_by", "return_records", "return_timeout"} <= names
    assert {"state", "code", "description", "error.code", "svm.name"} <= names
    (action,) = [
        p for p in paths["/cluster/jobs/{uuid}"]["patch"]["parameters"] if p["name"] == "action"
    ]
    assert action["required"] is True
    assert action["schema"]["enum"] == ["pause", "resume", "cancel"]


def test_scenario_endpoints_are_declared() -> None:
    endpoints = [
        {"method": "POST", "path": "/api/storage/luns"},
        {"method": "DELETE", "path": "/api/storage/luns/*"},
        {"method": "POST", "path": "/api/storage/volumes"},  # modelled: not declared twice
        {"method": "POST", "path": "/elsewhere"},  # outside /api: never routed
    ]
    doc = build_openapi(Simulator(scenario={"endpoints": endpoints}))
    assert set(doc["paths"]["/storage/luns"]) == {"post"}
    delete = doc["paths"]["/storage/luns/{key1}"]["delete"]
    assert delete["parameters"][0]["name"] == "key1"
    assert set(delete["responses"]) >= {"200", "202"}
    assert doc["paths"]["/storage/volumes"]["post"]["operationId"] == "volume_create"
    assert not any(path.startswith("/elsewhere") for path in doc["paths"])


def test_the_document_is_served_with_auth() -> None:
    sim = Simulator()
    assert sim.app.test_client().get("/simulator/openapi.json").status_code == 401
    answer = _client(sim).get("/simulator/openapi.json")
    assert answer.status_code == 200
    assert answer.content_type == "application/json"
    assert answer.get_json() == build_openapi(sim)


def test_every_documented_field_and_filter_is_accepted() -> None:
    """The document's ``fields`` names and filters are the ones the simulator takes."""
    sim = Simulator(scenario=SCENARIO)
    client = _client(sim)
    assert client.post("/api/svm/svms", json={"name": "vs9"}).status_code == 202
    doc = build_openapi(sim)
    checked = 0
    samples = {"integer": "1", "number": "1", "boolean": "true", "string": "x*"}
    for path, item in doc["paths"].items():
        if "get" not in item:
            continue
        query: dict[str, str] = {}
        url = "/api" + path
        for param in map(lambda p: _plain(p, doc), item["get"]["parameters"]):
            if param["in"] == "path":
                if "example" not in param:
                    break
                url = url.replace("{" + param["name"] + "}", param["example"])
            elif param["name"] == "fields":
                query["fields"] = ",".join(param["schema"]["items"]["enum"][2:])
            elif param["name"] not in (
                "order_by",
                "max_records",
                "return_records",
                "return_timeout",
            ):
                query[param["name"]] = samples[param["schema"]["type"]]
        else:
            answer = client.get(url, query_string=query)
            assert answer.status_code == 200, (url, answer.get_json())
            checked += 1
    assert checked == sum("get" in item for item in doc["paths"].values())
