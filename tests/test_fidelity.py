"""Small fidelity gaps closed on the way to the whole API (issue 12, item 6)."""

from __future__ import annotations

import http.client
import time
import zipfile
from pathlib import Path

import pytest
import requests
from simproc import ontap_sim
from test_app import Api, assert_error

from simulator import Simulator, serve

REPO = Path(__file__).resolve().parent.parent
AUTH = ("admin", "netapp1!")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Api(Simulator(clock="virtual"))


def test_plain_json_answers_carry_no_hal_links_but_the_next_page(api: Api) -> None:
    for name in ("v1", "v2"):
        assert api.post_volume(name, "?return_timeout=10").status_code == 201
    plain = {"Accept": "application/json"}
    page = api("GET", "/api/storage/volumes?max_records=1&fields=*", headers=plain)
    assert page.status_code == 200 and page.content_type == "application/json"
    assert page.json["_links"].keys() == {"next"}
    assert all("_links" not in str(r) for r in page.json["records"])
    one = api("GET", f"/api/storage/volumes/{page.json['records'][0]['uuid']}", headers=plain)
    assert "_links" not in one.json and "_links" not in str(one.json)
    # HAL (the default, and what */* or both types get) keeps every link.
    for accept in ("application/hal+json", "*/*", "application/hal+json, application/json"):
        hal = api("GET", "/api/storage/volumes?max_records=1", headers={"Accept": accept})
        assert hal.content_type == "application/hal+json"
        assert {"self", "next"} <= hal.json["_links"].keys()
        assert "_links" in hal.json["records"][0]
    # Each Accept value is parsed once and remembered: asking again gives the same choice.
    for accept, wanted in (
        ("application/json", "application/json"),
        ("application/hal+json, application/json", "application/hal+json"),
        ("application/hal+json;q=0.5, application/json", "application/json"),
    ) * 2:
        answer = api("GET", "/api/storage/volumes?max_records=1", headers={"Accept": accept})
        assert answer.content_type == wanted, accept


def test_reason_phrases_are_as_ontap_sends_them() -> None:
    sim = Simulator(clock="virtual", password="pw")
    with serve(sim) as server:
        host, port = server.url.removeprefix("http://").split(":")
        for path, line in (
            ("/api/storage/volumes/00000000-0000-0000-0000-000000000000", "404 Not Found"),
            ("/api/cluster", "200 OK"),
        ):
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            try:
                conn.request("GET", path, headers={"Authorization": "Basic YWRtaW46cHc="})
                response = conn.getresponse()
                assert f"{response.status} {response.reason}" == line
                response.read()
            finally:
                conn.close()
        answer = requests.post(server.url + "/api/storage/volumes", auth=("admin", "pw"), timeout=5)
        assert answer.reason == "Bad Request"


def test_a_volume_post_without_aggregates_is_refused(api: Api) -> None:
    response = api("POST", "/api/storage/volumes", {"name": "v1", "svm": {"name": "vs0"}})
    assert_error(response, 400, "2", "aggregates")
    assert "required" in response.json["error"]["message"]
    assert api.sim.jobs.iter_records() is not None and not list(api.sim.jobs.iter_records())


def test_the_demo_scenario_ships_in_the_wheel_and_loads_by_name(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("*.whl"))
    assert "simulator/scenarios/demo.json" in zipfile.ZipFile(wheel).namelist()
    sim = Simulator(scenario="demo")
    assert sim.jobs is not None and sim.default_script.steps[0].state == "queued"
    with ontap_sim("--clock", "virtual", "--scenario", "demo") as process:
        assert requests.get(process.url() + "/api/cluster", auth=AUTH, timeout=5).ok


def test_fields_and_filters_take_every_schema_field_of_deep_resources(api: Api) -> None:
    # Fields ONTAP has that the deep models do not keep: accepted, simply absent.
    cluster = api("GET", "/api/cluster?fields=location,contact,dns_domains,version")
    assert cluster.status_code == 200 and "version" in cluster.json
    nodes = api("GET", "/api/cluster/nodes?fields=ha.enabled,service_processor.state,model")
    assert nodes.status_code == 200 and nodes.json["records"][0]["model"]
    node = api("GET", f"/api/cluster/nodes/{nodes.json['records'][0]['uuid']}?fields=uptime")
    assert node.status_code == 200
    volumes = api("GET", "/api/storage/volumes?fields=anti_ransomware.state,cloud_retrieval_policy")
    assert volumes.status_code == 200
    # A filter on a field a record has no value for matches nothing, as on ONTAP.
    assert api("GET", "/api/cluster/nodes?location=lab").json["num_records"] == 0
    assert_error(api("GET", "/api/cluster?fields=no_such_field"), 400, "262197", "fields")
    assert_error(api("GET", "/api/cluster/nodes?fields=no.such"), 400, "262197", "fields")


def test_a_finished_jobs_effect_shows_without_anyone_polling_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The volume exists once its job is over, as on a cluster, not once a client polls it."""
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    api = Api(Simulator(clock="real"))
    api.sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 0.05}, {"state": "success"}],
    )
    assert api.post_volume("v1").status_code == 202
    time.sleep(0.2)  # the job is over on the real clock; nobody has read it
    assert api("GET", "/api/storage/volumes?name=v1").json["num_records"] == 1
