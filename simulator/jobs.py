"""The job engine: scripted jobs whose state follows their script, the clock and their polls.

A :class:`JobScript` is a validated list of :class:`Step` s: non-terminal steps that last some
``seconds`` of clock time or some number of ``polls`` (observations through
``GET /api/cluster/jobs/{uuid}``), then one terminal step. A :class:`Job` never runs a thread:
its state is *derived* on demand by settling it against the clock, so a virtual clock can jump
an hour ahead and every job is exactly where its script says.

The :class:`JobEngine` owns all jobs, settles them in time order (so effects of jobs that
succeed apply in the order they finished), enforces pause/resume/cancel with ONTAP's codes,
and purges finished jobs after the retention time. It never imports Flask.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .clock import Clock
from .errors import ApiError, not_found

__all__ = [
    "DEFAULT_SCRIPT",
    "MAX_MESSAGE_LENGTH",
    "MAX_STEPS",
    "NON_TERMINAL",
    "STATES",
    "TERMINAL",
    "EffectError",
    "Job",
    "JobEngine",
    "JobScript",
    "ScriptError",
    "Step",
]

TERMINAL = ("success", "failure")
NON_TERMINAL = ("queued", "running", "paused")
STATES = NON_TERMINAL + TERMINAL

#: ONTAP's codes for refused job actions.
CODE_TERMINAL = "458762"
CODE_NOT_RUNNING = "458776"
CODE_NO_PAUSE = "458783"
CODE_NO_CANCEL = "458784"
#: What ``PATCH /api/cluster/jobs[/{uuid}]?action=`` takes.
ACTIONS = ("pause", "resume", "cancel")


def invalid_action(action: str) -> ApiError:
    """ONTAP's 400 for an ``action`` that is none of :data:`ACTIONS`."""
    return ApiError(
        400,
        "262197",
        f'The value "{action}" is invalid for field "action" (<pause|resume|cancel>)',
        "action",
    )


#: Steps a script may have (a job walks them all; its record is rendered from the current one).
MAX_STEPS = 1000
#: Longest ``message`` of a step.
MAX_MESSAGE_LENGTH = 4096
#: Transitions a job remembers in :attr:`Job.history` (the latest ones).
HISTORY_KEPT = 64

#: Job records rendered per hold of the lock when a collection is read.
RENDER_BATCH = 256

#: Job code ONTAP reports for a generic job failure.
JOB_FAILED_CODE = 460770

_DEFAULT_MESSAGES = {
    "queued": "Job is queued.",
    "running": "Job is running.",
    "paused": "Job is paused.",
    "success": "success",
    "failure": "Job failed",
}
USER_PAUSED_MESSAGE = "Job paused by user request."


class ScriptError(ValueError):
    """An invalid job script; ``target`` names the bad part (``steps[2].seconds``)."""

    def __init__(self, message: str, target: str = "steps") -> None:
        super().__init__(message)
        self.message = message
        self.target = target


class EffectError(Exception):
    """Raised by a job's effect when it cannot apply; the job then fails with this."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Step:
    """One step of a job script.

    Non-terminal steps (queued/running/paused) last ``seconds`` of clock time or ``polls``
    observations. The terminal step (success/failure) ends the job; ``status`` is the HTTP
    status a failed job's write answers with when it fails within ``return_timeout``.
    """

    state: str
    seconds: float | None = None
    polls: int | None = None
    message: str | None = None
    code: int | None = None
    status: int | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def shown_message(self) -> str:
        return self.message if self.message is not None else _DEFAULT_MESSAGES[self.state]

    @property
    def shown_code(self) -> int:
        if self.code is not None:
            return self.code
        return JOB_FAILED_CODE if self.state == "failure" else 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state}
        for name in ("seconds", "polls", "message", "code", "status"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def parse(cls, data: Any, where: str, *, terminal: bool | None) -> Step:
        """Validate one step; ``terminal`` says whether it must (True) or must not be terminal."""
        if not isinstance(data, Mapping):
            raise ScriptError(f"{where}: a step must be an object, got {_kind(data)}", where)
        unknown = sorted(set(data) - {"state", "seconds", "polls", "message", "code", "status"})
        if unknown:
            raise ScriptError(f'{where}: unknown field "{unknown[0]}"', f"{where}.{unknown[0]}")
        state = data.get("state")
        if state not in STATES:
            raise ScriptError(
                f"{where}: state must be one of {', '.join(STATES)}; got {state!r}",
                f"{where}.state",
            )
        if terminal is True and state not in TERMINAL:
            raise ScriptError(
                f"{where}: the last step must be terminal (success or failure), got {state!r}",
                f"{where}.state",
            )
        if terminal is False and state in TERMINAL:
            raise ScriptError(
                f"{where}: only the last step may be terminal, got {state!r} before the end",
                f"{where}.state",
            )
        seconds, polls = data.get("seconds"), data.get("polls")
        if state in TERMINAL:
            for name in ("seconds", "polls"):
                if data.get(name) is not None:
                    raise ScriptError(
                        f'{where}: a terminal step takes no "{name}"', f"{where}.{name}"
                    )
        else:
            if (seconds is None) == (polls is None):
                raise ScriptError(
                    f'{where}: a {state} step needs exactly one of "seconds" or "polls"', where
                )
            if seconds is not None and (
                not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0
            ):
                raise ScriptError(
                    f'{where}: "seconds" must be a finite number >= 0, got {seconds!r}',
                    f"{where}.seconds",
                )
            if polls is not None and (
                not isinstance(polls, int) or isinstance(polls, bool) or polls < 1
            ):
                raise ScriptError(
                    f'{where}: "polls" must be an integer >= 1, got {polls!r}', f"{where}.polls"
                )
        message = data.get("message")
        if message is not None and (
            not isinstance(message, str) or len(message) > MAX_MESSAGE_LENGTH
        ):
            raise ScriptError(
                f'{where}: "message" must be a string of at most {MAX_MESSAGE_LENGTH} characters',
                f"{where}.message",
            )
        code = data.get("code")
        if code is not None and (
            not isinstance(code, int) or isinstance(code, bool) or not -(2**63) <= code < 2**63
        ):
            raise ScriptError(
                f'{where}: "code" must be an integer within 64 bits, got {repr(code)[:40]}',
                f"{where}.code",
            )
        status = data.get("status")
        if status is not None:
            if state != "failure":
                raise ScriptError(
                    f'{where}: "status" applies only to a failure step', f"{where}.status"
                )
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                raise ScriptError(
                    f'{where}: "status" must be an HTTP error status 400..599, got {status!r}',
                    f"{where}.status",
                )
        return cls(
            state=state,
            seconds=float(seconds) if seconds is not None else None,
            polls=polls,
            message=message,
            code=code,
            status=status,
        )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_SCRIPT_KEYS = {"steps", "pausable", "cancellable", "on_cancel", "status"}


@dataclass(frozen=True)
class JobScript:
    """A validated job script: steps, whether pause/cancel are allowed, what cancel leads to."""

    steps: tuple[Step, ...]
    pausable: bool = True
    cancellable: bool = True
    on_cancel: Step = field(
        default_factory=lambda: Step("failure", message="Job was cancelled.", code=JOB_FAILED_CODE)
    )
    failure_status: int = 400

    @classmethod
    def parse(cls, data: Any) -> JobScript:
        """Validate a script: a list of steps, or an object with ``steps`` and options."""
        if isinstance(data, JobScript):
            return data
        options: Mapping[str, Any] = {}
        if isinstance(data, Mapping):
            options = data
            unknown = sorted(set(data) - _SCRIPT_KEYS)
            if unknown:
                raise ScriptError(f'unknown script field "{unknown[0]}"', unknown[0])
            steps_data = data.get("steps")
        else:
            steps_data = data
        if isinstance(steps_data, str | bytes) or not isinstance(steps_data, Sequence):
            raise ScriptError(f'"steps" must be a list of steps, got {_kind(steps_data)}', "steps")
        if not steps_data:
            raise ScriptError('"steps" must hold at least the terminal step', "steps")
        if len(steps_data) > MAX_STEPS:
            raise ScriptError(
                f'"steps" may hold at most {MAX_STEPS} steps, got {len(steps_data)}', "steps"
            )
        last = len(steps_data) - 1
        steps = tuple(
            Step.parse(item, f"steps[{i}]", terminal=i == last) for i, item in enumerate(steps_data)
        )
        flags: dict[str, bool] = {}
        for name in ("pausable", "cancellable"):
            value = options.get(name, True)
            if not isinstance(value, bool):
                raise ScriptError(f'"{name}" must be true or false, got {value!r}', name)
            flags[name] = value
        script = cls(steps=steps, pausable=flags["pausable"], cancellable=flags["cancellable"])
        if options.get("on_cancel") is not None:
            on_cancel = Step.parse(options["on_cancel"], "on_cancel", terminal=True)
            script = replace(script, on_cancel=on_cancel)
        status = options.get("status")
        if status is not None:
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                raise ScriptError(
                    f'"status" must be an HTTP error status 400..599, got {status!r}', "status"
                )
            script = replace(script, failure_status=status)
        return script

    @property
    def duration(self) -> float | None:
        """Total scripted seconds, or None when a step waits on polls."""
        total = 0.0
        for step in self.steps[:-1]:
            if step.seconds is None:
                return None
            total += step.seconds
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [step.to_json() for step in self.steps],
            "pausable": self.pausable,
            "cancellable": self.cancellable,
            "on_cancel": self.on_cancel.to_json(),
            "status": self.failure_status,
        }


#: Unscripted writes: queued briefly, running about a second, then success.
DEFAULT_SCRIPT = JobScript.parse(
    [
        {"state": "queued", "seconds": 0.2},
        {"state": "running", "seconds": 1.0},
        {"state": "success"},
    ]
)


def iso(when: float) -> str:
    """ONTAP's timestamp format, e.g. ``2024-01-01T00:00:05+00:00``."""
    return datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="seconds")


class Job:
    """One job. Its state is derived by :meth:`settle`; all methods need the engine's lock."""

    def __init__(
        self,
        *,
        description: str,
        script: JobScript,
        now: float,
        effect: Callable[[], None] | None = None,
        svm: Mapping[str, Any] | None = None,
        uuid: str | None = None,
    ) -> None:
        self.uuid = uuid or str(uuidlib.uuid4())
        self.description = description
        self.script = script
        self.created_at = now
        self.effect = effect
        self.svm = dict(svm) if svm else None
        self.step_index = 0
        self.step_polls = 0
        self.step_due: float | None = None
        self.user_paused = False
        self.frozen_remaining: float | None = None
        self.final: Step | None = None
        self.ended_at: float | None = None
        self.effect_applied = False
        self.history: deque[tuple[float, str]] = deque(maxlen=HISTORY_KEPT)
        self.queued_due: float | None = None
        self.expiry_queued = False
        # ISO strings of created_at / ended_at, formatted on first render (neither changes
        # once set; the end time is kept with the value it was formatted from).
        self._start_iso: str | None = None
        self._end_iso: tuple[float, str] | None = None
        self._enter(0, now)

    # -- derived state ----------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.final if self.final is not None else self.script.steps[self.step_index]

    @property
    def state(self) -> str:
        if self.final is not None:
            return self.final.state
        if self.user_paused:
            return "paused"
        return self.step.state

    @property
    def terminal(self) -> bool:
        return self.final is not None

    @property
    def message(self) -> str:
        if self.final is None and self.user_paused:
            return USER_PAUSED_MESSAGE
        return self.step.shown_message

    @property
    def code(self) -> int:
        return self.step.shown_code

    @property
    def failure_status(self) -> int:
        """HTTP status of a write whose job failed within ``return_timeout``."""
        if self.final is not None and self.final.status is not None:
            return self.final.status
        return self.script.failure_status

    def next_change(self) -> float | None:
        """Clock time of the next scripted transition, None if none is scheduled."""
        if self.final is not None or self.user_paused:
            return None
        return self.step_due

    # -- transitions -------------------------------------------------------------------
    def _record(self, when: float) -> None:
        state = self.state
        if not self.history or self.history[-1][1] != state:
            self.history.append((when, state))

    def _enter(self, index: int, when: float) -> None:
        """Start step ``index`` at ``when``; zero-second steps pass straight through."""
        steps = self.script.steps
        while True:
            step = steps[index]
            if step.terminal:
                self._finish(step, when)
                return
            self.step_index = index
            self.step_polls = 0
            self.step_due = when + step.seconds if step.seconds is not None else None
            self._record(when)
            if step.seconds == 0:
                index += 1
                continue
            return

    def _finish(self, step: Step, when: float) -> None:
        if step.state == "success" and self.effect is not None and not self.effect_applied:
            try:
                self.effect()
                self.effect_applied = True
            except EffectError as exc:
                step = Step("failure", message=exc.message, code=exc.code)
        self.final = step
        self.step_due = None
        self.user_paused = False
        self.ended_at = when
        self._record(when)

    def settle(self, now: float) -> None:
        """Bring the job up to ``now`` through every time-based step that has ended."""
        while self.final is None and not self.user_paused and self.step_due is not None:
            if now < self.step_due:
                return
            self._enter(self.step_index + 1, self.step_due)

    def observe(self, now: float) -> None:
        """Count one observation (a job GET) after the caller rendered the job."""
        if self.final is not None or self.user_paused:
            return
        step = self.step
        if step.polls is None:
            return
        self.step_polls += 1
        if self.step_polls >= step.polls:
            self._enter(self.step_index + 1, now)

    def pause(self, now: float) -> None:
        if self.final is not None:
            raise ApiError(400, CODE_TERMINAL, "Job is already in a terminal state.", "uuid")
        if not self.script.pausable:
            raise ApiError(400, CODE_NO_PAUSE, "This job does not support pause.", "action")
        if self.user_paused or self.step.state != "running":
            raise ApiError(
                400, CODE_NOT_RUNNING, "The specified job is not currently running.", "action"
            )
        self.user_paused = True
        self.frozen_remaining = None if self.step_due is None else max(self.step_due - now, 0.0)
        self.step_due = None
        self._record(now)

    def resume(self, now: float) -> None:
        if self.final is not None:
            raise ApiError(400, CODE_TERMINAL, "Job is already in a terminal state.", "uuid")
        if self.user_paused:
            self.user_paused = False
            if self.frozen_remaining is not None:
                self.step_due = now + self.frozen_remaining
            self.frozen_remaining = None
            self._record(now)
            self.settle(now)
            return
        if self.step.state == "paused":
            # Resuming a job its script paused ends that paused step now.
            self._enter(self.step_index + 1, now)
            return
        raise ApiError(
            400, CODE_NOT_RUNNING, "The specified job is not currently paused.", "action"
        )

    def cancel(self, now: float) -> None:
        if self.final is not None:
            raise ApiError(400, CODE_TERMINAL, "Job is already in a terminal state.", "uuid")
        if not self.script.cancellable:
            raise ApiError(400, CODE_NO_CANCEL, "This job does not support cancel.", "action")
        self._finish(self.script.on_cancel, now)

    # -- rendering ---------------------------------------------------------------------
    def _start_time(self) -> str:
        if self._start_iso is None:
            self._start_iso = iso(self.created_at)
        return self._start_iso

    def _end_time(self, ended_at: float) -> str:
        cached = self._end_iso
        if cached is None or cached[0] != ended_at:
            cached = self._end_iso = (ended_at, iso(ended_at))
        return cached[1]

    def to_record(self) -> dict[str, Any]:
        """The job as ``GET /api/cluster/jobs/{uuid}`` shows it."""
        record: dict[str, Any] = {
            "uuid": self.uuid,
            "description": self.description,
            "state": self.state,
            "message": self.message,
            "code": self.code,
            "start_time": self._start_time(),
        }
        if self.ended_at is not None:
            record["end_time"] = self._end_time(self.ended_at)
        if self.state == "failure":
            record["error"] = {"message": self.message, "code": str(self.code)}
        if self.svm:
            record["svm"] = dict(self.svm)
        record["_links"] = {"self": {"href": f"/api/cluster/jobs/{self.uuid}"}}
        return record


class JobEngine:
    """All jobs of one simulator: creation, settling, observation, actions, retention.

    Every public method takes the shared ``lock``; effects run under it, so a job's effect is
    atomic with respect to every other request.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        retention: float = 300.0,
        lock: threading.RLock | None = None,
    ) -> None:
        try:
            valid = math.isfinite(retention) and retention >= 0
        except (TypeError, OverflowError):
            valid = False
        if not valid:
            raise ValueError(
                f"retention must be a finite number >= 0 seconds, got {repr(retention)[:40]}"
            )
        self.clock = clock
        self.retention = float(retention)
        self.lock = lock or threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._jobs: dict[str, Job] = {}
        self._vanished: dict[str, Job] = {}  # records gone early; their work goes on
        self._due: list[tuple[float, int, str]] = []
        self._expiry: list[tuple[float, int, str]] = []
        self._seq = itertools.count()

    # -- bookkeeping -------------------------------------------------------------------
    def _schedule(self, job: Job) -> None:
        """Queue the job's next transition and, once it ended, its expiry (each only once)."""
        due = job.next_change()
        if due is not None and due != job.queued_due:
            job.queued_due = due
            heapq.heappush(self._due, (due, next(self._seq), job.uuid))
        if job.ended_at is not None and not job.expiry_queued:
            job.expiry_queued = True
            heapq.heappush(self._expiry, (job.ended_at + self.retention, next(self._seq), job.uuid))

    def settle(self) -> None:
        """Settle every job whose scheduled transition is due, in time order; purge expired."""
        with self.lock:
            now = self.clock.now()
            changed = False
            while self._due and self._due[0][0] <= now:
                entry_due, _, job_uuid = heapq.heappop(self._due)
                job = self._jobs.get(job_uuid) or self._vanished.get(job_uuid)
                due = job.next_change() if job is not None else None
                if job is None or due is None or due != entry_due:
                    continue  # stale: the job ended, paused or was rescheduled
                # Settle one transition at a time so effects apply in global time order.
                job.queued_due = None
                job._enter(job.step_index + 1, due)
                self._schedule(job)
                changed = True
            while self._expiry and self._expiry[0][0] <= now:
                _, _, job_uuid = heapq.heappop(self._expiry)
                job = self._jobs.get(job_uuid) or self._vanished.get(job_uuid)
                if (
                    job is not None
                    and job.ended_at is not None
                    and job.ended_at + self.retention <= now
                ):
                    self._jobs.pop(job_uuid, None)
                    self._vanished.pop(job_uuid, None)
                    changed = True
            if changed:
                self.changed.notify_all()

    def _get(self, job_uuid: str) -> Job:
        self.settle()
        job = self._jobs.get(job_uuid)
        if job is None:
            raise not_found("uuid")
        return job

    # -- public API --------------------------------------------------------------------
    def create(
        self,
        description: str,
        script: JobScript,
        *,
        effect: Callable[[], None] | None = None,
        svm: Mapping[str, Any] | None = None,
    ) -> Job:
        """Start a job now; its effect applies when (and only if) it succeeds."""
        with self.lock:
            self.settle()
            job = Job(
                description=description,
                script=script,
                now=self.clock.now(),
                effect=effect,
                svm=svm,
            )
            self._jobs[job.uuid] = job
            self._schedule(job)
            self.changed.notify_all()
            return job

    def job(self, job_uuid: str) -> Job:
        """The live :class:`Job` (settled), or ApiError 404."""
        with self.lock:
            return self._get(job_uuid)

    def record(self, job_uuid: str, *, observe: bool = False) -> dict[str, Any]:
        """The job's record; ``observe`` counts the read toward ``polls`` steps."""
        with self.lock:
            job = self._get(job_uuid)
            record = job.to_record()
            if observe:
                job.observe(self.clock.now())
                self._schedule(job)
                self.changed.notify_all()
            return record

    def records(self, start: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Retained jobs' records, oldest first.

        ``start`` (a job uuid) begins the list at that job (empty if it is not retained);
        ``limit`` caps its length. Only the records returned are rendered.
        """
        return list(self.iter_records(start, limit))

    def iter_records(
        self, start: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`records`, one record at a time, so a filtered query of 100,000 retained
        jobs keeps only the matches.

        The lock is held only to take the list of jobs and to render each batch of
        :data:`RENDER_BATCH` records, never while the caller filters them: a costly query
        does not stall other requests. A job purged meanwhile is left out.
        """
        with self.lock:
            self.settle()
            if start is None:
                jobs = list(self._jobs.values())
            elif start in self._jobs:
                position = list(self._jobs).index(start)
                jobs = list(itertools.islice(self._jobs.values(), position, None))
            else:
                return
        if limit is not None:
            jobs = jobs[: max(limit, 0)]
        for first in range(0, len(jobs), RENDER_BATCH):
            with self.lock:
                live = self._jobs
                batch = [
                    job.to_record()
                    for job in jobs[first : first + RENDER_BATCH]
                    if live.get(job.uuid) is job
                ]
            yield from batch

    def __iter__(self) -> Iterator[Job]:
        with self.lock:
            self.settle()
            return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        with self.lock:
            self.settle()
            return len(self._jobs)

    def act(self, job_uuid: str, action: str) -> None:
        """Apply ``pause``, ``resume`` or ``cancel`` with ONTAP's refusals."""
        with self.lock:
            job = self._get(job_uuid)
            now = self.clock.now()
            if action == "pause":
                job.pause(now)
            elif action == "resume":
                job.resume(now)
            elif action == "cancel":
                job.cancel(now)
            else:
                raise invalid_action(action)
            self._schedule(job)
            self.changed.notify_all()

    def purge(self, job_uuid: str) -> bool:
        """Make a job's record vanish now (a "vanish" fault); True if it was readable.

        Reads answer 404 from now on, as for a job purged early, but the work goes on: a job
        that succeeds still applies its effect, as on a cluster that lost the job record.
        """
        with self.lock:
            job = self._jobs.pop(job_uuid, None)
            if job is not None and not job.terminal:
                self._vanished[job_uuid] = job
            self.changed.notify_all()
            return job is not None

    def wait(self, job_uuid: str, timeout: float) -> Job:
        """Wait up to ``timeout`` clock seconds for the job to end (autojump on a virtual clock).

        Holds no lock while blocked: the condition's wait releases it.
        """
        with self.lock:
            job = self._get(job_uuid)
            deadline = self.clock.now() + timeout

            def done() -> bool:
                self.settle()
                return job.terminal or job.uuid not in self._jobs

            self.clock.wait_until(self.changed, done, deadline, job.next_change)
            return job

    def reset(self) -> None:
        """Forget every job."""
        with self.lock:
            self._jobs.clear()
            self._vanished.clear()
            self._due.clear()
            self._expiry.clear()
            self.changed.notify_all()
