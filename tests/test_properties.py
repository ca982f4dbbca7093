"""Properties of the poller against the simulator, on the simulator's virtual clock.

The harness is in process and faithful: writes and job GETs go through the simulator's Flask
app (so auth, faults and the journal apply), and the poller waits on ``sim.clock``, so an
hour-long job costs microseconds. A few properties run the real :class:`OntapClient` over the
plugin's in-process ``requests`` transport instead.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_ontapjob import (
    JobFailed,
    JobPausedTooLong,
    JobTimeout,
    OntapClient,
    OntapError,
    OntapJobError,
    PollOutcome,
    PollPolicy,
    RetriesExhausted,
    wait_for_job,
)
from pytest_ontapjob.errors import JobNotFound, TransientError
from pytest_ontapjob.poller import Fetch
from pytest_ontapjob.strategies import (
    fault_schedules,
    job_scripts,
    poll_policies,
    return_timeouts,
)
from simulator.clock import VirtualClock
from simulator.sim import Simulator

PASSWORD = "netapp1!"
AUTH = ("admin", PASSWORD)
VOLUMES = "/api/storage/volumes"
JOB_PATH = "/api/cluster/jobs/"
#: What a terminal step shows when its script gives no message or code (the contract's defaults).
DEFAULTS = {"success": ("success", 0), "failure": ("Job failed", 460770)}
#: Tolerance of clock comparisons: virtual time counts from 2024 (1.7e9 s), where a float
#: addition rounds by up to 1.2e-7 s, and hundreds of them add up.
EPS = 1e-3

Steps = list[dict[str, Any]]
Record = Mapping[str, Any]


def volume(name: str = "v1") -> dict[str, Any]:
    return {"name": name, "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def terminal(steps: Steps) -> tuple[str, str, int]:
    """The state, message and code the script's job ends with."""
    last = steps[-1]
    message, code = DEFAULTS[last["state"]]
    return last["state"], last.get("message", message), last.get("code", code)


def duration(steps: Steps) -> float:
    """Scripted seconds (for scripts without polls steps), summed as the engine sums them."""
    assert all("polls" not in step for step in steps)
    return math.fsum(step.get("seconds", 0.0) for step in steps)


def first_at_or_after(times: list[float], moment: float) -> int:
    """1-based index of the first of ``times`` at or after ``moment``."""
    return next(i for i, at in enumerate(times, 1) if at >= moment)


class Cluster:
    """A simulator on a virtual clock, written to and polled through its Flask test client."""

    def __init__(self, *, retention: float = 300.0) -> None:
        self.sim = Simulator(clock="virtual", password=PASSWORD, retention=retention)
        self.http = self.sim.app.test_client()
        #: (clock time the GET started, status it answered; None for a dropped connection)
        self.fetched: list[tuple[float, int | None]] = []

    @property
    def clock(self) -> VirtualClock:
        assert isinstance(self.sim.clock, VirtualClock)
        return self.sim.clock

    def request(
        self, method: str, path: str, *, body: Any = None, query: Mapping[str, Any] | None = None
    ) -> tuple[int, Any, Mapping[str, str]]:
        query_string = None if query is None else dict(query)
        answer = self.http.open(
            path, method=method, json=body, auth=AUTH, query_string=query_string
        )
        data = json.loads(answer.data) if answer.data else None
        return answer.status_code, data, dict(answer.headers.items())

    def write(
        self,
        steps: Steps | None,
        *,
        method: str = "POST",
        path: str = VOLUMES,
        body: Any = None,
        return_timeout: int | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Script the next matching write with ``steps`` (unless None), then send it."""
        if steps is not None:
            self.sim.script(method, path, steps)
        if body is None and method == "POST":
            body = volume()
        query = {} if return_timeout is None else {"return_timeout": return_timeout}
        return self.request(method, path, body=body, query=query)

    def start(self, steps: Steps) -> tuple[str, float]:
        """POST a scripted volume create that answers 202; its job uuid and start time."""
        started = self.clock.now()
        status, body, _ = self.write(steps)
        assert status == 202, body
        return body["job"]["uuid"], started

    def fetch(self, job_uuid: str) -> Fetch:
        """GET the job as ``OntapClient`` does, mapping answers to the poller's exceptions."""

        def fetch(read_timeout: float) -> Record:
            started = self.clock.now()
            answer = self.http.get(JOB_PATH + job_uuid, auth=AUTH)
            dropped = answer.headers.get("X-Ontap-Sim-Dropped") == "1"
            self.fetched.append((started, None if dropped else answer.status_code))
            if dropped:
                raise TransientError("connection dropped")
            status = answer.status_code
            if status == 404:
                raise JobNotFound(job_uuid)
            if status == 429 or status >= 500:
                retry_after = answer.headers.get("Retry-After")
                raise TransientError(
                    "GET job",
                    status=status,
                    retry_after=float(retry_after) if retry_after else None,
                )
            if status >= 400:
                raise OntapError.from_response(status, answer.data, "GET", JOB_PATH + job_uuid)
            try:
                record = json.loads(answer.data)
            except ValueError:
                raise TransientError("unparsable body", status=status) from None
            assert isinstance(record, dict)
            return record

        return fetch

    def wait(
        self, job_uuid: str, policy: PollPolicy, started: float, *, seed: int = 0
    ) -> PollOutcome:
        return wait_for_job(
            self.fetch(job_uuid),
            clock=self.clock,
            policy=policy,
            started_at=started,
            rng=random.Random(seed),
            job_id=job_uuid,
        )

    def job_gets(self) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.sim.journal
            if entry["method"] == "GET" and entry["path"].startswith(JOB_PATH)
        ]

    def volumes(self, name: str = "v1") -> list[dict[str, Any]]:
        status, body, _ = self.request("GET", VOLUMES, query={"name": name, "fields": "comment"})
        assert status == 200, body
        return list(body["records"])

    def job_state(self, job_uuid: str) -> str:
        return str(self.sim.jobs.job(job_uuid).state)


def check_outcome(run: Any, steps: Steps) -> Record:
    """Run ``run()``; it must return the script's success or raise JobFailed with its end."""
    state, message, code = terminal(steps)
    if state == "success":
        outcome = run()
        record: Record = outcome.job
        assert record["state"] == "success"
    else:
        with pytest.raises(JobFailed) as failed:
            run()
        assert failed.value.message == message
        assert failed.value.code == code
        assert failed.value.job is not None
        record = failed.value.job
        assert record["state"] == "failure"
    assert record["message"] == message
    assert record["code"] == code
    assert "end_time" in record
    return record


def policies(**fields: Any) -> st.SearchStrategy[PollPolicy]:
    """Policies whose sleeps grow to 30..120 s, so a job of an hour costs a few dozen GETs;
    no deadline or pause limit unless ``fields`` set them."""
    bounded: dict[str, Any] = {
        "interval": st.floats(0.5, 30.0),
        "backoff": st.floats(1.2, 3.0),
        "max_interval": st.floats(30.0, 120.0),
        "timeout": 1e7,
        "max_paused": None,
    }
    return poll_policies(**{**bounded, **fields})


QUICK = policies()
#: Jobs of at most 5 x 600 s.
FINITE = job_scripts(max_seconds=600.0, max_steps=5)
#: Fixed-duration jobs (no polls steps) of at most 4 x 600 s.
TIMED = job_scripts(polls=False, max_seconds=600.0, max_steps=5)


# -- outcome --------------------------------------------------------------------------------------
@given(steps=FINITE, policy=QUICK, seed=st.integers(0, 2**16))
def test_the_result_is_the_scripts_terminal_state(
    steps: Steps, policy: PollPolicy, seed: int
) -> None:
    """Success returns the final record; failure raises JobFailed with message and int code."""
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    check_outcome(lambda: cluster.wait(job_uuid, policy, started, seed=seed), steps)
    assert cluster.job_state(job_uuid) == steps[-1]["state"]


@given(steps=FINITE, policy=QUICK)
def test_the_effect_applies_exactly_once_iff_the_job_succeeds(
    steps: Steps, policy: PollPolicy
) -> None:
    """The volume exists iff its create succeeded, once, and stays after the job is purged."""
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    succeeded = steps[-1]["state"] == "success"
    with nullcontext() if succeeded else pytest.raises(JobFailed):
        cluster.wait(job_uuid, policy, started)
    assert len(cluster.volumes()) == int(succeeded)
    cluster.sim.advance(301.0)
    assert cluster.request("GET", JOB_PATH + job_uuid)[0] == 404
    assert len(cluster.volumes()) == int(succeeded)


@given(scripts=st.lists(TIMED, min_size=2, max_size=3))
def test_racing_creates_of_one_name_apply_at_most_once(scripts: list[Steps]) -> None:
    """Creates of the same name: one volume iff any scripted success, and one job succeeded."""
    cluster = Cluster(retention=1e6)
    jobs = []
    used = []
    for steps in scripts:
        status, body, _ = cluster.write(steps)
        assert status in (202, 409), body
        if status == 202:
            jobs.append(body["job"]["uuid"])
            used.append(steps)
        else:
            cluster.sim.clear_scripts()  # a refused write takes no script
    cluster.sim.advance(max(duration(steps) for steps in scripts) + 1.0)
    states = [cluster.request("GET", JOB_PATH + uuid)[1]["state"] for uuid in jobs]
    assert set(states) <= {"success", "failure"}
    any_success = any(steps[-1]["state"] == "success" for steps in used)
    assert states.count("success") == int(any_success)
    assert len(cluster.volumes()) == int(any_success)


@given(
    running=st.integers(0, 600),
    retention=st.integers(1, 900),
    state=st.sampled_from(["success", "failure"]),
    polls=st.integers(0, 3),
)
def test_retention_purges_a_finished_job_exactly_when_it_expires(
    running: int, retention: int, state: str, polls: int
) -> None:
    """Readable until ``retention`` seconds after it ended, 404 from then on, for good."""
    cluster = Cluster(retention=float(retention))
    job_uuid, started = cluster.start(
        [{"state": "running", "seconds": float(running)}, {"state": state}]
    )
    job_path = JOB_PATH + job_uuid
    for _ in range(polls):
        assert cluster.request("GET", job_path)[0] == 200
    cluster.sim.advance(running + retention - 0.5)
    status, record, _ = cluster.request("GET", job_path)
    assert (status, record["state"]) == (200, state)
    cluster.sim.advance(0.5)
    assert cluster.clock.now() == started + running + retention
    for path in (job_path, f"{JOB_PATH}{job_uuid}?fields=state"):
        status, body, _ = cluster.request("GET", path)
        assert status == 404, f"still readable {retention} s after it ended: {body}"
        assert body["error"]["code"] == "4"
    status, body, _ = cluster.request("PATCH", job_path, query={"action": "cancel"})
    assert status == 404, body
    assert body["error"]["code"] == "4"
    listed = cluster.request("GET", JOB_PATH.rstrip("/"))[1]["records"]
    assert job_uuid not in [record["uuid"] for record in listed]
    cluster.sim.advance(retention * 2.0)
    assert cluster.request("GET", job_path)[0] == 404


# -- timing -----------------------------------------------------------------------------------
@given(
    steps=job_scripts(polls=False, max_seconds=150.0, max_steps=5),
    policy=policies(interval=st.floats(2.0, 30.0), backoff=st.floats(1.0, 3.0), jitter=0.0),
)
def test_gets_and_time_follow_the_policy_schedule(steps: Steps, policy: PollPolicy) -> None:
    """Without jitter, GETs happen exactly at ``policy.schedule``; the first after the end wins."""
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    end = duration(steps)
    schedule = policy.schedule(400)
    assume(all(abs(at - end) > EPS for at in schedule))
    expected = first_at_or_after(schedule, end)
    run = lambda: cluster.wait(job_uuid, policy, started)  # noqa: E731
    check_outcome(run, steps)
    assert len(cluster.fetched) == expected
    assert [at - started for at, _ in cluster.fetched] == pytest.approx(
        schedule[:expected], abs=EPS
    )
    assert cluster.clock.now() - started == pytest.approx(schedule[expected - 1], abs=EPS)


@given(
    steps=TIMED,
    policy=policies(jitter=st.floats(0.01, 0.5)),
    seed=st.integers(0, 2**16),
)
def test_jittered_gets_stay_within_the_schedule_envelope(
    steps: Steps, policy: PollPolicy, seed: int
) -> None:
    """With jitter j, GETs fall between the schedule scaled by 1-j and 1+j, ending within one
    (jittered) interval of the job's end."""
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    end = duration(steps)
    check_outcome(lambda: cluster.wait(job_uuid, policy, started, seed=seed), steps)
    schedule = policy.schedule(400)
    low, high = 1 - policy.jitter, 1 + policy.jitter
    most = first_at_or_after([low * at for at in schedule], end + EPS)
    fewest = first_at_or_after([high * at for at in schedule], end - EPS)
    polls = len(cluster.fetched)
    assert fewest <= polls <= most
    for i, (at, _) in enumerate(cluster.fetched):
        assert low * schedule[i] - EPS <= at - started <= high * schedule[i] + EPS
    elapsed = cluster.clock.now() - started
    assert end - EPS <= elapsed <= end + high * policy.max_interval + EPS


@given(
    steps=TIMED,
    policy=policies(timeout=1.0),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**16),
)
def test_a_timeout_shorter_than_the_job_raises_job_timeout_by_the_deadline(
    steps: Steps, policy: PollPolicy, fraction: float, seed: int
) -> None:
    """Scripted ``paused`` steps count too: the deadline is clock time from the write."""
    end = duration(steps)
    assume(end >= 2.0)
    policy = replace(policy, timeout=end * fraction)
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    with pytest.raises(JobTimeout) as timed_out:
        cluster.wait(job_uuid, policy, started, seed=seed)
    now = cluster.clock.now()
    deadline = started + policy.timeout
    assert now <= deadline + EPS
    assert now >= deadline - (1 + policy.jitter) * policy.max_interval - EPS
    assert cluster.job_state(job_uuid) in ("queued", "running", "paused")
    assert all(at < deadline for at, _ in cluster.fetched)
    last = timed_out.value.job
    assert last is None or last["state"] in ("queued", "running", "paused")


@given(
    policy=policies(
        interval=st.floats(0.5, 5.0),
        max_interval=st.floats(5.0, 20.0),
        jitter=0.0,
        timeout=st.floats(60.0, 600.0),
    ),
    delay=st.floats(0.1, 5.0),
)
def test_request_time_counts_toward_the_deadline(policy: PollPolicy, delay: float) -> None:
    """Every GET takes ``delay`` seconds: no GET starts after the deadline, and the poller gives
    up no later than one request past it."""
    cluster = Cluster()
    job_uuid, started = cluster.start([{"state": "running", "seconds": 1e6}, {"state": "success"}])
    cluster.sim.fault("GET", JOB_PATH + "*", times=None, delay=delay)
    with pytest.raises(JobTimeout):
        cluster.wait(job_uuid, policy, started)
    deadline = started + policy.timeout
    assert cluster.fetched
    assert all(at < deadline for at, _ in cluster.fetched)
    assert cluster.clock.now() <= deadline + delay + EPS


# -- return_timeout -----------------------------------------------------------------------------
@given(
    steps=job_scripts(polls=False, max_seconds=40.0, max_steps=4),
    method=st.sampled_from(["POST", "PATCH", "DELETE"]),
    data=st.data(),
)
def test_return_timeout_covering_the_job_answers_at_once(
    steps: Steps, method: str, data: st.DataObject
) -> None:
    """``return_timeout`` >= duration: 201 (POST) / 200 (PATCH, DELETE) or the job's error, no
    GET needed, the effect visible at once, the clock moved to the job's end."""
    end = duration(steps)
    return_timeout = data.draw(return_timeouts(min_value=max(1, math.ceil(end))), "return_timeout")
    cluster = Cluster()
    path = VOLUMES  # POST: write() sends volume()
    body = {"comment": "changed"} if method == "PATCH" else None
    if method != "POST":
        status, created, _ = cluster.write([{"state": "success"}], return_timeout=1)
        assert status == 201, created
        path = VOLUMES + "/" + cluster.volumes()[0]["uuid"]
    started = cluster.clock.now()
    status, answer, headers = cluster.write(
        steps, method=method, path=path, body=body, return_timeout=return_timeout
    )
    state, message, code = terminal(steps)
    if state == "success":
        assert status == (201 if method == "POST" else 200), answer
        assert set(answer) == {"job"}
        assert answer["job"]["_links"]["self"]["href"] == JOB_PATH + answer["job"]["uuid"]
        if method == "POST":
            assert "Location" in headers
    else:
        assert status == 400, answer
        assert answer["error"]["message"] == message
        assert answer["error"]["code"] == str(code)
    assert cluster.job_gets() == []
    assert cluster.clock.now() - started == pytest.approx(end, abs=EPS)
    present = cluster.volumes()
    if method == "POST":
        assert len(present) == int(state == "success")
    elif method == "DELETE":
        assert len(present) == int(state == "failure")
    else:
        assert (present[0].get("comment") == "changed") == (state == "success")


@given(
    steps=job_scripts(max_seconds=200.0, max_steps=4),
    return_timeout=return_timeouts(),
    policy=QUICK,
)
def test_a_job_not_done_within_return_timeout_answers_202(
    steps: Steps, return_timeout: int, policy: PollPolicy
) -> None:
    """Longer than ``return_timeout``, waiting on polls, or ``return_timeout=0``: 202 after
    exactly ``return_timeout`` seconds; polling then reaches the scripted end."""
    waits_on_polls = any("polls" in step for step in steps)
    if not waits_on_polls:
        assume(return_timeout == 0 or duration(steps) > return_timeout)
    cluster = Cluster()
    started = cluster.clock.now()
    status, body, _ = cluster.write(steps, return_timeout=return_timeout)
    assert status == 202, body
    assert cluster.clock.now() - started == pytest.approx(return_timeout, abs=EPS)
    job_uuid = body["job"]["uuid"]
    check_outcome(lambda: cluster.wait(job_uuid, policy, started), steps)


# -- faults -----------------------------------------------------------------------------------
ERRORS = ("status", "drop", "malformed")


def error_count(faults: list[dict[str, Any]]) -> int:
    return sum(rule["times"] for rule in faults if any(kind in rule for kind in ERRORS))


@given(steps=FINITE, faults=fault_schedules(), policy=QUICK, data=st.data())
def test_faults_within_the_retry_limit_leave_the_outcome_unchanged(
    steps: Steps, faults: list[dict[str, Any]], policy: PollPolicy, data: st.DataObject
) -> None:
    """Errors (statuses with Retry-After, drops, malformed bodies) and delays, all survived."""
    limit = data.draw(st.integers(error_count(faults), 10), "max_transient_errors")
    policy = replace(policy, max_transient_errors=limit)
    cluster = Cluster(retention=1e6)  # backing off through errors may outlast 300 s
    job_uuid, started = cluster.start(steps)
    for fault in faults:
        cluster.sim.fault(**fault)
    check_outcome(lambda: cluster.wait(job_uuid, policy, started), steps)


@given(
    steps=FINITE,
    faults=fault_schedules(kinds=ERRORS).filter(bool),
    policy=QUICK,
    data=st.data(),
)
def test_faults_beyond_the_retry_limit_give_up_before_the_deadline(
    steps: Steps, faults: list[dict[str, Any]], policy: PollPolicy, data: st.DataObject
) -> None:
    """One more consecutive error than allowed: RetriesExhausted after exactly limit+1 GETs."""
    limit = data.draw(st.integers(0, error_count(faults) - 1), "max_transient_errors")
    policy = replace(policy, max_transient_errors=limit, timeout=3600.0)
    cluster = Cluster(retention=1e6)  # backing off through errors may outlast 300 s
    job_uuid, started = cluster.start(steps)
    for fault in faults:
        cluster.sim.fault(**fault)
    with pytest.raises(RetriesExhausted) as exhausted:
        cluster.wait(job_uuid, policy, started)
    assert exhausted.value.attempts == limit + 1
    assert len(cluster.fetched) == limit + 1
    assert cluster.clock.now() <= started + policy.timeout


@given(steps=FINITE, faults=fault_schedules(max_faults=4), policy=QUICK)
def test_the_journal_records_every_get_the_poller_made(
    steps: Steps, faults: list[dict[str, Any]], policy: PollPolicy
) -> None:
    """In order, with the status each GET answered (None for a dropped connection), whatever
    the outcome."""
    cluster = Cluster(retention=1e6)  # backing off through errors may outlast 300 s
    job_uuid, started = cluster.start(steps)
    for fault in faults:
        cluster.sim.fault(**fault)
    with suppress(OntapJobError):
        cluster.wait(job_uuid, policy, started)
    gets = cluster.job_gets()
    assert [(entry["path"], entry["status"]) for entry in gets] == [
        (JOB_PATH + job_uuid, status) for _, status in cluster.fetched
    ]
    times = [entry["time"] for entry in gets]
    assert times == sorted(times)
    assert [entry["method"] for entry in cluster.sim.journal] == ["POST"] + ["GET"] * len(gets)


# -- paused -----------------------------------------------------------------------------------
@given(
    before=st.floats(0.0, 100.0),
    paused=st.floats(0.0, 2000.0),
    after=st.floats(0.0, 100.0),
    max_paused=st.floats(0.0, 1000.0),
    policy=policies(interval=st.floats(0.5, 10.0), max_interval=st.floats(10.0, 30.0), jitter=0.0),
)
def test_paused_time_counts_toward_max_paused(
    before: float, paused: float, after: float, max_paused: float, policy: PollPolicy
) -> None:
    """A scripted pause of P s: never JobPausedTooLong if P <= max_paused; always if P exceeds
    it by more than two intervals (the observed pause is at most P and at least P - 2 x max)."""
    policy = replace(policy, max_paused=max_paused)
    steps: Steps = [
        {"state": "running", "seconds": before},
        {"state": "paused", "seconds": paused},
        {"state": "running", "seconds": after},
        {"state": "success"},
    ]
    cluster = Cluster()
    job_uuid, started = cluster.start(steps)
    if paused <= max_paused:
        assert cluster.wait(job_uuid, policy, started).job["state"] == "success"
    elif paused > max_paused + 2 * policy.max_interval:
        with pytest.raises(JobPausedTooLong) as too_long:
            cluster.wait(job_uuid, policy, started)
        assert max_paused < too_long.value.paused <= paused + EPS
        assert too_long.value.job is not None
        assert too_long.value.job["state"] == "paused"
        assert cluster.job_state(job_uuid) == "paused"


@given(
    running_for=st.floats(0.0, 100.0),
    policy=policies(
        interval=st.floats(0.5, 10.0),
        max_interval=st.floats(10.0, 30.0),
        timeout=st.floats(150.0, 3600.0),  # at least one GET: 100 s paused + 1.5 x 10 s
        max_paused=st.none() | st.floats(0.0, 3600.0),
    ),
)
def test_a_job_paused_by_a_user_counts_toward_the_deadline(
    running_for: float, policy: PollPolicy
) -> None:
    """A job paused by ``PATCH ?action=pause`` and never resumed ends the wait by the deadline
    (JobTimeout) or by ``max_paused`` (JobPausedTooLong), never as done."""
    cluster = Cluster()
    job_uuid, started = cluster.start([{"state": "running", "seconds": 1e6}, {"state": "success"}])
    cluster.sim.advance(running_for)
    status, body, _ = cluster.request("PATCH", JOB_PATH + job_uuid, query={"action": "pause"})
    assert status == 200, body
    with pytest.raises(JobTimeout) as timed_out:
        cluster.wait(job_uuid, policy, started)
    assert cluster.clock.now() <= started + policy.timeout + EPS
    assert timed_out.value.job is not None
    assert timed_out.value.job["state"] == "paused"
    if isinstance(timed_out.value, JobPausedTooLong):
        assert policy.max_paused is not None
        assert timed_out.value.paused > policy.max_paused


@given(
    run=st.floats(1.0, 1000.0),
    pauses=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 500.0)), max_size=4),
)
def test_pause_and_resume_preserve_the_running_time(
    run: float, pauses: list[tuple[float, float]]
) -> None:
    """Running R s with pauses of p1, p2... ends at R + sum(p): no running time lost or gained.

    Each pause comes after a fraction of what is left to run, so the job is running then.
    """
    cluster = Cluster(retention=1e6)
    job_uuid, _ = cluster.start([{"state": "running", "seconds": run}, {"state": "success"}])
    created = cluster.sim.jobs.job(job_uuid).created_at
    left, paused_total = run, 0.0
    for fraction, pause in pauses:
        step = left * fraction * 0.9
        cluster.sim.advance(step)
        left -= step
        assert cluster.request("PATCH", JOB_PATH + job_uuid, query={"action": "pause"})[0] == 200
        cluster.sim.advance(pause)
        assert cluster.request("GET", JOB_PATH + job_uuid)[1]["state"] == "paused"
        assert cluster.request("PATCH", JOB_PATH + job_uuid, query={"action": "resume"})[0] == 200
        paused_total += pause
    cluster.sim.advance(left * 0.5)
    assert cluster.request("GET", JOB_PATH + job_uuid)[1]["state"] == "running"
    cluster.sim.advance(left)
    assert cluster.request("GET", JOB_PATH + job_uuid)[1]["state"] == "success"
    ended = cluster.sim.jobs.job(job_uuid).ended_at
    assert ended is not None
    assert ended - created == pytest.approx(run + paused_total, rel=1e-9, abs=EPS)


# -- the real client, in process ----------------------------------------------------------------
@contextmanager
def client_on(cluster: Cluster, policy: PollPolicy) -> Iterator[OntapClient]:
    from pytest_ontapjob._inprocess import INPROCESS_URL, inprocess_transport

    with (
        inprocess_transport(cluster.sim.app),
        OntapClient(
            INPROCESS_URL, AUTH, policy=policy, clock=cluster.clock, rng=random.Random(0)
        ) as client,
    ):
        yield client


@settings(deadline=None, max_examples=25)
@given(
    steps=TIMED,
    policy=policies(jitter=0.0),
)
def test_ontap_client_result_follows_the_script_and_the_schedule(
    steps: Steps, policy: PollPolicy
) -> None:
    """``OntapClient.post``: JobFailed iff failure, with message and code; ``.polls`` and
    ``.elapsed`` as the schedule says."""
    end = duration(steps)
    schedule = policy.schedule(200)
    assume(all(abs(at - end) > EPS for at in schedule))
    cluster = Cluster()
    cluster.sim.script("POST", VOLUMES, steps)
    started = cluster.clock.now()
    results = []
    with client_on(cluster, policy) as client:

        def post() -> Any:
            results.append(client.post(VOLUMES, json=volume()))
            return results[-1]

        check_outcome(post, steps)
    expected = first_at_or_after(schedule, end)
    assert len(cluster.job_gets()) == expected
    assert cluster.clock.now() - started == pytest.approx(schedule[expected - 1], abs=EPS)
    for result in results:
        assert (result.status_code, result.polls) == (202, expected)
        assert result.elapsed == pytest.approx(schedule[expected - 1], abs=EPS)


@settings(deadline=None, max_examples=25)
@given(steps=job_scripts(polls=False, max_seconds=40.0, max_steps=4), data=st.data())
def test_ontap_client_return_timeout_covering_the_job_needs_no_poll(
    steps: Steps, data: st.DataObject
) -> None:
    """``return_timeout`` >= duration: 201 and ``.polls == 0``, or the job's OntapError."""
    end = duration(steps)
    return_timeout = data.draw(return_timeouts(min_value=max(1, math.ceil(end))), "return_timeout")
    cluster = Cluster()
    cluster.sim.script("POST", VOLUMES, steps)
    state, message, code = terminal(steps)
    with client_on(cluster, PollPolicy()) as client:
        if state == "success":
            result = client.post(VOLUMES, json=volume(), return_timeout=return_timeout)
            assert (result.status_code, result.polls, result.state) == (201, 0, "success")
            assert result.elapsed == pytest.approx(end, abs=EPS)
        else:
            with pytest.raises(OntapError) as refused:
                client.post(VOLUMES, json=volume(), return_timeout=return_timeout)
            assert (refused.value.status, refused.value.code) == (400, str(code))
            assert isinstance(refused.value.body, dict)
            assert refused.value.body["error"]["message"] == message
            # OntapError names an empty message by the HTTP reason ("Bad Request").
            assert refused.value.message in (message, message or "Bad Request")
    assert cluster.job_gets() == []


# -- the example in docs/property-testing.md (keep the two in step) ------------------------------
def create_volume(client: OntapClient, name: str) -> str:
    """User code under test: create a volume and say what happened."""
    body = {"name": name, "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
    try:
        client.post("/api/storage/volumes", json=body)
    except JobFailed as failed:
        return f"failed: {failed.message} (code {failed.code})"
    return "created"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=job_scripts(max_seconds=600))
def test_create_volume_reports_the_jobs_outcome(
    ontap_sim: Simulator, ontap_client: OntapClient, steps: list[dict[str, Any]]
) -> None:
    ontap_sim.reset()  # fixtures are per test, not per example
    ontap_sim.script("POST", "/api/storage/volumes", steps)

    outcome = create_volume(ontap_client, "v1")

    end = steps[-1]
    if end["state"] == "success":
        assert outcome == "created"
    else:
        assert outcome.startswith("failed: ")
        if "code" in end:
            assert outcome.endswith(f"(code {end['code']})")
    names = [v["name"] for v in ontap_client.get("/api/storage/volumes")["records"]]
    assert ("v1" in names) == (outcome == "created")


def test_the_property_testing_doc_quotes_a_real_test() -> None:
    """docs/property-testing.md shows the example above verbatim."""
    doc = (Path(__file__).parent.parent / "docs" / "property-testing.md").read_text("utf-8")
    block = doc.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.startswith("def create_volume(")
    assert block in Path(__file__).read_text("utf-8")
