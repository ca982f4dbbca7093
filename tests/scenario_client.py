"""A simulator built from a scenario, and calls through its test client: what the curl-level
test modules (CLI passthrough, platform commands, data protection) share."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulator import Simulator

HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}


def simulator_for(
    monkeypatch: pytest.MonkeyPatch, scenario: Mapping[str, Any], **options: Any
) -> Iterator[Simulator]:
    """A virtual-clock simulator of ``scenario`` with the default password; it must end the
    test without an internal error."""
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    sim = Simulator(clock="virtual", scenario=dict(scenario), **options)
    yield sim
    assert sim.errors == []


def call(api: FlaskClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """``method`` on ``path`` with ``body`` as JSON: the status and the JSON answer."""
    response = api.open(path, method=method, headers=HEADERS, json=body)
    return response.status_code, response.json
