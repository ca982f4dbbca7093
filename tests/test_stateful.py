"""A state machine over the simulator's HTTP API, on a virtual clock, checked against a model.

Rules write (volume creates with fresh or duplicate names, deletes, each scripted with
``job_scripts()``), move the clock, read jobs (an observation, so ``polls`` steps advance),
pause/resume/cancel them (ONTAP's refusals are legal outcomes when the model predicts them),
inject faults on job reads, and let retention purge. After every rule the machine lists every
job and volume (reads that observe nothing) and checks:

- each job's observed states only move along legal transitions and never leave a terminal
  state; ``end_time`` is present iff the state is terminal, ``error`` iff it failed;
- each name's volumes = its succeeded creates - its succeeded deletes, and at most one (an
  effect applies exactly once, and only on success);
- a job disappears only after it ended and its retention passed, and never comes back;
- the journal holds every ONTAP API request the machine sent, in order, with its status.

Every clock move is at most half the retention, so no job can end and be purged unseen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from pytest_ontapjob.strategies import fault_schedules, job_scripts
from simulator.sim import Simulator

PASSWORD = "netapp1!"
AUTH = ("admin", PASSWORD)
VOLUMES = "/api/storage/volumes"
JOBS = "/api/cluster/jobs"
NAMES = ("v1", "v2")
TERMINAL = ("success", "failure")
#: Observed state -> states that may be observed next (observations may skip states).
LEGAL = {
    "queued": {"running", "paused", *TERMINAL},
    "running": {"paused", *TERMINAL},
    "paused": {"running", *TERMINAL},
    "success": set(),
    "failure": set(),
}
CODE_TERMINAL, CODE_NOT_RUNNING, CODE_NO_PAUSE, CODE_NO_CANCEL = (
    "458762",
    "458776",
    "458783",
    "458784",
)


@dataclass
class JobModel:
    """What the machine knows of one job."""

    uuid: str
    kind: str  # "create" or "delete"
    name: str
    pausable: bool
    cancellable: bool
    states: list[str] = field(default_factory=list)
    end_time: float | None = None
    user_paused: bool = False
    purged: bool = False
    answered: int = 0

    @property
    def state(self) -> str | None:
        return self.states[-1] if self.states else None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


class SimulatorMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.retention = 300.0
        self.sim = Simulator(clock="virtual", password=PASSWORD, retention=self.retention)
        self.http = self.sim.app.test_client()
        self.model: dict[str, JobModel] = {}
        #: (method, path, status) of every /api request sent, in order (None: dropped)
        self.sent: list[tuple[str, str, int | None]] = []
        self.volumes: dict[str, list[dict[str, Any]]] = {}

    # -- plumbing -----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> tuple[int, Any, dict[str, Any]]:
        """One request through the test client; returns status, JSON (or None), journal entry.

        ``path`` may carry a query string (a ``_links.next`` href) instead of ``query``.
        """
        answer = self.http.open(path, method=method, json=body, auth=AUTH, query_string=query)
        entry: dict[str, Any] = {}
        if path.startswith("/api"):
            entry = self.sim.journal[-1]
            dropped = answer.headers.get("X-Ontap-Sim-Dropped") == "1"
            status = None if dropped else answer.status_code
            self.sent.append((method, urlsplit(path).path, status))
        try:
            data = json.loads(answer.data) if answer.data else None
        except ValueError:
            data = None  # a "malformed" fault
        return answer.status_code, data, entry

    def control(self, method: str, path: str, body: Any = None) -> Any:
        status, data, _ = self.call(method, "/simulator/" + path, body=body)
        assert 200 <= status < 300, (path, status, data)
        return data

    def now(self) -> float:
        return float(self.control("GET", "clock")["now"])

    def see(self, job: JobModel, record: dict[str, Any]) -> None:
        """Check one job record and append its state to the job's observed sequence."""
        state = record["state"]
        assert not job.purged, f"purged job {job.uuid} came back as {state}"
        assert ("end_time" in record) == (state in TERMINAL), record
        assert ("error" in record) == (state == "failure"), record
        assert isinstance(record["code"], int) and not isinstance(record["code"], bool)
        if job.states and job.states[-1] != state:
            assert state in LEGAL[job.states[-1]], f"{job.uuid}: {job.states} then {state}"
        if not job.states or job.states[-1] != state:
            job.states.append(state)
        if state in TERMINAL:
            ended = _seconds(record["end_time"])
            assert job.end_time in (None, ended)
            job.end_time = ended
            job.user_paused = False

    def gone(self, job: JobModel, now: float) -> None:
        """A job answered 404 or left the list: only once it ended and retention passed."""
        if job.purged:
            return
        assert job.terminal, f"{job.uuid} vanished while {job.state}"
        assert job.end_time is not None
        # end_time is whole seconds, rounded down: the job ended within the second after it.
        assert now >= job.end_time + self.retention, (now, job.end_time)
        job.purged = True
        event("job purged")

    def sync(self) -> None:
        """List every job and volume (no observation) and update the model."""
        now = self.now()
        listed: dict[str, dict[str, Any]] = {}
        href: str | None = JOBS + "?fields=*"
        while href:
            status, data, _ = self.call("GET", href)
            assert status == 200, data
            listed.update((record["uuid"], record) for record in data["records"])
            href = data.get("_links", {}).get("next", {}).get("href")
        for job in self.model.values():
            if job.uuid in listed:
                self.see(job, listed[job.uuid])
                if job.terminal:
                    assert job.end_time is not None
                    assert now < job.end_time + 1 + self.retention
            else:
                self.gone(job, now)
        for name in NAMES:
            status, data, _ = self.call("GET", VOLUMES, query={"name": name})
            assert status == 200, data
            self.volumes[name] = list(data["records"])

    # -- rules --------------------------------------------------------------------------------
    @initialize(retention=st.sampled_from([60.0, 300.0]))
    def start(self, retention: float) -> None:
        self.retention = retention
        self.sim = Simulator(clock="virtual", password=PASSWORD, retention=retention)
        self.http = self.sim.app.test_client()
        self.sync()

    def _write(
        self,
        method: str,
        path: str,
        body: Any,
        steps: list[dict[str, Any]],
        pausable: bool,
        cancellable: bool,
        return_timeout: int | None,
    ) -> tuple[int, Any, str | None]:
        script_path = VOLUMES if method == "POST" else VOLUMES + "/*"
        self.control(
            "POST",
            "scripts",
            {
                "method": method,
                "path": script_path,
                "steps": steps,
                "pausable": pausable,
                "cancellable": cancellable,
            },
        )
        query = {} if return_timeout is None else {"return_timeout": return_timeout}
        status, data, entry = self.call(method, path, body=body, query=query)
        self.control("DELETE", "scripts")  # a refused write leaves its script unused
        return status, data, entry.get("job")

    def _record_job(
        self,
        kind: str,
        name: str,
        status: int,
        data: Any,
        job_uuid: str | None,
        pausable: bool,
        cancellable: bool,
        return_timeout: int | None,
    ) -> JobModel:
        assert job_uuid is not None, (status, data)
        job = JobModel(job_uuid, kind, name, pausable, cancellable, answered=status)
        self.model[job_uuid] = job
        event(f"{kind} answered {status}")
        self.sync()
        if status == 202:
            if return_timeout:
                assert not job.terminal, f"202 after return_timeout but {job.state}"
        elif status in (200, 201):
            assert job.state == "success"
            assert data["job"]["uuid"] == job_uuid
        else:
            assert status == 400, (status, data)
            assert job.state == "failure"
        return job

    @rule(
        target=jobs,
        name=st.sampled_from(NAMES),
        steps=job_scripts(max_seconds=60.0, max_steps=4),
        pausable=st.booleans(),
        cancellable=st.booleans(),
        return_timeout=st.none() | st.integers(0, 3),
    )
    def create(
        self,
        name: str,
        steps: list[dict[str, Any]],
        pausable: bool,
        cancellable: bool,
        return_timeout: int | None,
    ) -> Any:
        body = {"name": name, "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
        exists = bool(self.volumes[name])
        status, data, job_uuid = self._write(
            "POST", VOLUMES, body, steps, pausable, cancellable, return_timeout
        )
        if exists:
            assert status == 409 and data["error"]["code"] == "1", (status, data)
            assert job_uuid is None
            event("create refused: duplicate name")
            self.sync()
            return multiple()
        assert status in ((202,) if not return_timeout else (201, 202, 400)), (status, data)
        job = self._record_job(
            "create", name, status, data, job_uuid, pausable, cancellable, return_timeout
        )
        return job.uuid

    @precondition(lambda self: any(self.volumes.values()))
    @rule(
        target=jobs,
        data=st.data(),
        steps=job_scripts(max_seconds=60.0, max_steps=4),
        pausable=st.booleans(),
        cancellable=st.booleans(),
        return_timeout=st.none() | st.integers(0, 3),
    )
    def delete(
        self,
        data: st.DataObject,
        steps: list[dict[str, Any]],
        pausable: bool,
        cancellable: bool,
        return_timeout: int | None,
    ) -> Any:
        name = data.draw(st.sampled_from([n for n in NAMES if self.volumes[n]]), "name")
        target = self.volumes[name][0]["uuid"]
        status, answer, job_uuid = self._write(
            "DELETE", f"{VOLUMES}/{target}", None, steps, pausable, cancellable, return_timeout
        )
        assert status in ((202,) if not return_timeout else (200, 202, 400)), (status, answer)
        job = self._record_job(
            "delete", name, status, answer, job_uuid, pausable, cancellable, return_timeout
        )
        return job.uuid

    @rule(seconds=st.floats(0.0, 1.0) | st.floats(0.0, 30.0))
    def advance(self, seconds: float) -> None:
        self.control("POST", "clock", {"advance": seconds * self.retention / 60.0})
        self.sync()

    @rule()
    def let_retention_pass(self) -> None:
        """Two half-retention steps: every job that had ended is purged, and answers 404."""
        ended = [job for job in self.model.values() if job.terminal and not job.purged]
        for _ in range(2):
            self.control("POST", "clock", {"advance": self.retention / 2 + 0.5})
            self.sync()
        self.control("DELETE", "faults")
        for job in ended:
            assert job.purged
            status, data, _ = self.call("GET", f"{JOBS}/{job.uuid}")
            assert (status, data["error"]["code"]) == (404, "4"), (status, data)

    @rule(job_uuid=jobs)
    def observe(self, job_uuid: str) -> None:
        """GET the job: an observation (it may end a ``polls`` step); faults may hit it."""
        job = self.model[job_uuid]
        status, data, entry = self.call("GET", f"{JOBS}/{job_uuid}")
        fault = entry.get("fault")
        event(f"observe: {fault or status}")
        if fault == "status":
            assert status >= 429 and data["error"]["code"], (status, data)
        elif fault == "drop":
            assert entry["status"] is None
        elif fault == "malformed":
            assert data is None
        elif status == 404:
            assert data["error"]["code"] == "4"
            self.gone(job, self.now())
        else:
            assert status == 200, (status, data)
            self.see(job, data)
        self.sync()

    @rule(job_uuid=jobs, action=st.sampled_from(["pause", "resume", "cancel"]))
    def act(self, job_uuid: str, action: str) -> None:
        """PATCH ?action=: succeeds or is refused with the code the model predicts."""
        job = self.model[job_uuid]
        expected = self._expected_refusal(job, action)
        status, data, _ = self.call("PATCH", f"{JOBS}/{job_uuid}", query={"action": action})
        event(f"{action}: {status} {data['error']['code'] if data else ''}".strip())
        if job.purged:
            assert (status, data["error"]["code"]) == (404, "4"), (status, data)
        elif expected is None:
            assert status == 200, (job.states, job.user_paused, action, status, data)
            if action == "pause":
                job.user_paused = True
            else:
                job.user_paused = False
        else:
            assert 400 <= status < 500, (status, data)
            assert data["error"]["code"] == expected, (job.states, action, data)
        self.sync()
        if expected is None and not job.purged:
            if action == "pause":
                assert job.state == "paused"
            elif action == "cancel":
                assert job.state == "failure"

    def _expected_refusal(self, job: JobModel, action: str) -> str | None:
        """ONTAP's refusal code for ``action`` on the job as last listed, or None if allowed."""
        if job.terminal:
            return CODE_TERMINAL
        if action == "pause":
            if not job.pausable:
                return CODE_NO_PAUSE
            return None if job.state == "running" and not job.user_paused else CODE_NOT_RUNNING
        if action == "resume":
            return None if job.state == "paused" else CODE_NOT_RUNNING
        return None if job.cancellable else CODE_NO_CANCEL

    @rule(faults=fault_schedules(max_faults=2, max_delay=5.0))
    def inject_faults(self, faults: list[dict[str, Any]]) -> None:
        for fault in faults:
            self.control("POST", "faults", fault)

    @rule()
    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def effects_apply_exactly_once(self) -> None:
        for name in NAMES:
            done = [job for job in self.model.values() if job.name == name and job.terminal]
            created = sum(job.kind == "create" and job.state == "success" for job in done)
            deleted = sum(job.kind == "delete" and job.state == "success" for job in done)
            assert len(self.volumes[name]) == created - deleted <= 1, (name, created, deleted)

    @invariant()
    def journal_is_complete(self) -> None:
        records = self.control("GET", "requests")["records"]
        assert [(e["method"], e["path"], e["status"]) for e in records] == self.sent

    @invariant()
    def no_simulator_errors(self) -> None:
        assert not self.sim.errors, self.sim.errors


# Modest by default (it runs in CI on every push); the deep profile runs a fifth of its examples.
SimulatorMachine.TestCase.settings = settings(
    max_examples=max(30, settings().max_examples // 5),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_simulator_state_machine = SimulatorMachine.TestCase
