"""The public Hypothesis strategies: what they generate is valid, and their parameters hold."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_ontapjob import PollPolicy, strategies
from pytest_ontapjob.strategies import (
    FAULT_KINDS,
    FAULT_STATUSES,
    fault_schedules,
    invalid_return_timeouts,
    job_scripts,
    poll_policies,
    return_timeouts,
)
from simulator.errors import ApiError
from simulator.faults import FaultRule
from simulator.jobs import NON_TERMINAL, TERMINAL, JobScript
from simulator.sim import Simulator

AUTH = ("admin", "netapp1!")
VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def non_terminal(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return steps[:-1]


# -- job_scripts --------------------------------------------------------------------------------
@given(job_scripts())
def test_scripts_are_valid_for_the_engine_and_the_python_api(steps: list[dict[str, Any]]) -> None:
    script = JobScript.parse(steps)
    assert [step.to_json() for step in script.steps] == steps
    Simulator().script("POST", "/api/storage/volumes", steps)


@given(job_scripts())
@settings(deadline=None)
def test_scripts_are_valid_for_the_control_api(steps: list[dict[str, Any]]) -> None:
    sim = Simulator(password=AUTH[1])
    answer = sim.app.test_client().post(
        "/simulator/scripts",
        data=json.dumps({"method": "POST", "path": "/api/storage/volumes", "steps": steps}),
        content_type="application/json",
        auth=AUTH,
    )
    assert answer.status_code == 201, answer.json
    assert answer.json is not None
    assert answer.json["steps"] == steps


@given(job_scripts())
def test_script_shape_follows_the_contract(steps: list[dict[str, Any]]) -> None:
    assert 1 <= len(steps) <= 6
    assert steps[-1]["state"] in TERMINAL
    assert set(steps[-1]) <= {"state", "message", "code"}
    for step in non_terminal(steps):
        assert step["state"] in NON_TERMINAL
        assert ("seconds" in step) != ("polls" in step)
        assert 0 <= step.get("seconds", 0) <= 3600
        assert 1 <= step.get("polls", 1) <= 5
    for step in steps:
        assert isinstance(step.get("message", ""), str)
        code = step.get("code", 0)
        assert isinstance(code, int) and not isinstance(code, bool)
    json.dumps(steps, allow_nan=False)


@given(job_scripts(max_steps=8))
def test_queued_steps_only_lead_by_default(steps: list[dict[str, Any]]) -> None:
    states = [step["state"] for step in non_terminal(steps)]
    leading = len(states) - len(list(itertools.dropwhile(lambda s: s == "queued", states)))
    assert "queued" not in states[leading:]


def test_queued_steps_may_come_anywhere_when_asked() -> None:
    found = find(
        job_scripts(queued_first=False, paused=False),
        lambda steps: [s["state"] for s in steps[:-1]][-2:] == ["running", "queued"],
    )
    assert found[-2]["state"] == "queued"


@given(job_scripts(outcome="success"), job_scripts(outcome="failure"))
def test_outcome_fixes_the_terminal_state(
    succeeding: list[dict[str, Any]], failing: list[dict[str, Any]]
) -> None:
    assert succeeding[-1]["state"] == "success"
    assert failing[-1]["state"] == "failure"


@given(job_scripts(polls=False, paused=False, min_steps=3, max_steps=4))
def test_polls_and_paused_can_be_left_out(steps: list[dict[str, Any]]) -> None:
    assert 3 <= len(steps) <= 4
    for step in non_terminal(steps):
        assert "polls" not in step
        assert step["state"] in ("queued", "running")
    assert JobScript.parse(steps).duration is not None


@given(job_scripts(min_seconds=2.5, max_seconds=7.0, max_polls=2, min_steps=2, max_steps=2))
def test_seconds_and_polls_bounds(steps: list[dict[str, Any]]) -> None:
    (step,) = non_terminal(steps)
    if "seconds" in step:
        assert 2.5 <= step["seconds"] <= 7.0
    else:
        assert 1 <= step["polls"] <= 2


@given(job_scripts(polls=False, max_seconds=0.0))
def test_zero_second_scripts_end_at_once(steps: list[dict[str, Any]]) -> None:
    assert JobScript.parse(steps).duration == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_steps": 0},
        {"min_steps": 3, "max_steps": 2},
        {"outcome": "cancelled"},
        {"min_seconds": -1.0},
        {"min_seconds": 5.0, "max_seconds": 1.0},
        {"max_seconds": math.inf},
        {"max_polls": 0},
    ],
)
def test_job_scripts_refuses_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        job_scripts(**kwargs)


# -- poll_policies ------------------------------------------------------------------------------
@given(poll_policies())
def test_policies_are_in_their_documented_ranges(policy: PollPolicy) -> None:
    assert 0.1 <= policy.interval <= 60
    assert 1 <= policy.backoff <= 3
    assert policy.max_interval >= policy.interval
    assert 0 <= policy.jitter <= 0.5
    assert 1 <= policy.timeout <= 7200
    assert 0 <= policy.max_transient_errors <= 10
    assert policy.max_paused is None or 0 <= policy.max_paused <= 3600


@given(
    poll_policies(
        interval=2.0,
        jitter=0.0,
        max_interval=st.floats(0.1, 100.0),
        timeout=st.floats(5.0, 6.0),
        max_paused=None,
        max_transient_errors=3,
    )
)
def test_policy_fields_take_values_or_strategies(policy: PollPolicy) -> None:
    assert policy.interval == 2.0
    assert policy.jitter == 0.0
    assert policy.max_interval >= 2.0
    assert 5.0 <= policy.timeout <= 6.0
    assert policy.max_paused is None
    assert policy.max_transient_errors == 3


# -- return_timeout -----------------------------------------------------------------------------
@given(return_timeouts())
@settings(deadline=None)
def test_return_timeouts_are_accepted(value: int) -> None:
    assert 0 <= value <= 120
    sim = Simulator(password=AUTH[1])
    answer = sim.submit("POST", "/api/storage/volumes", VOLUME, return_timeout=value)
    assert answer.kind in ("created", "accepted")


@given(invalid_return_timeouts())
@settings(deadline=None)
def test_invalid_return_timeouts_are_refused(value: str) -> None:
    sim = Simulator(password=AUTH[1])
    answer = sim.app.test_client().post(
        "/api/storage/volumes", json=VOLUME, query_string={"return_timeout": value}, auth=AUTH
    )
    assert answer.status_code == 400, (value, answer.json)
    assert answer.json is not None
    assert answer.json["error"]["code"] == "262197"
    assert answer.json["error"]["target"] == "return_timeout"
    assert not sim.jobs.records()


@given(return_timeouts(min_value=5, max_value=7))
def test_return_timeout_bounds(value: int) -> None:
    assert 5 <= value <= 7


@pytest.mark.parametrize(
    "kwargs", [{"min_value": -1}, {"max_value": 121}, {"min_value": 9, "max_value": 8}]
)
def test_return_timeouts_refuses_bad_bounds(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidArgument):
        return_timeouts(**kwargs)


# -- fault_schedules ----------------------------------------------------------------------------
@given(fault_schedules(kinds=(*FAULT_KINDS, "vanish")))
def test_faults_are_valid_rules(faults: list[dict[str, Any]]) -> None:
    sim = Simulator()
    for fault in faults:
        FaultRule.parse(fault)
        sim.fault(**fault)
    assert len(sim.faults.list()) == len(faults)


@given(fault_schedules())
@settings(deadline=None)
def test_faults_are_valid_for_the_control_api(faults: list[dict[str, Any]]) -> None:
    client = Simulator(password=AUTH[1]).app.test_client()
    for fault in faults:
        answer = client.post("/simulator/faults", json=fault, auth=AUTH)
        assert answer.status_code == 201, answer.json


@given(fault_schedules(max_faults=4, max_times=2, max_delay=1.5, max_retry_after=3))
def test_fault_schedule_shape(faults: list[dict[str, Any]]) -> None:
    assert len(faults) <= 4
    for fault in faults:
        assert fault["method"] == "GET"
        assert fault["path"] == "/api/cluster/jobs/*"
        assert 1 <= fault["times"] <= 2
        kinds = [kind for kind in (*FAULT_KINDS, "vanish") if kind in fault]
        assert len(kinds) == 1
        assert kinds[0] in FAULT_KINDS
        if "status" in fault:
            assert fault["status"] in FAULT_STATUSES
            assert 0 <= fault.get("retry_after", 0) <= 3
            assert isinstance(fault.get("retry_after", 0), int)
        if "delay" in fault:
            assert 0 < fault["delay"] <= 1.5


@given(fault_schedules(kinds=["status"], statuses=[503], method="POST", path="/api/*"))
def test_fault_schedule_kinds_statuses_and_target(faults: list[dict[str, Any]]) -> None:
    for fault in faults:
        assert (fault["method"], fault["path"], fault["status"]) == ("POST", "/api/*", 503)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kinds": ()},
        {"kinds": ("explode",)},
        {"max_faults": -1},
        {"max_times": 0},
        {"statuses": (200,)},
        {"max_delay": -1.0},
        {"max_delay": 0.0},
    ],
)
def test_fault_schedules_refuses_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        fault_schedules(**kwargs)


def test_invalid_faults_are_refused_by_the_simulator_too() -> None:
    """The strategy's contract is the simulator's: a rule it would never draw is refused."""
    with pytest.raises(ApiError):
        FaultRule.parse({"method": "GET", "path": "/api/*", "times": 0, "drop": True})


# -- the module ---------------------------------------------------------------------------------
def test_all_names_the_public_strategies() -> None:
    public = {name for name in vars(strategies) if not name.startswith("_")}
    assert set(strategies.__all__) <= public
    assert {
        "job_scripts",
        "poll_policies",
        "return_timeouts",
        "invalid_return_timeouts",
        "fault_schedules",
    } <= set(strategies.__all__)
    for name in strategies.__all__:
        value = getattr(strategies, name)
        assert not callable(value) or value.__doc__, name


def test_import_is_light() -> None:
    code = (
        "import sys, pytest_ontapjob.strategies; "
        "print(sorted(m for m in ('flask', 'simulator', 'pytest', 'werkzeug') if m in sys.modules))"
    )
    # Hypothesis runs third-party plugins on import: trio's (selenium, in the test extra, brings
    # trio) imports pytest. This checks what our module imports.
    env = {**os.environ, "HYPOTHESIS_NO_PLUGINS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[]"
