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
