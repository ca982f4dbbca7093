"""Every rule of the pure polling loop, on a fake clock with a scripted fetch (no HTTP)."""

from __future__ import annotations

import ast
import itertools
import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ontapjob.errors import (
    AuthError,
    JobFailed,
    JobLost,
    JobNotFound,
    JobPausedTooLong,
    JobTimeout,
    OntapError,
    ProtocolError,
    RetriesExhausted,
    TransientError,
)
from pytest_ontapjob.poller import (
    NON_TERMINAL_STATES,
    TERMINAL_STATES,
    PollOutcome,
    PollPolicy,
    SystemClock,
    is_terminal,
    wait_for_job,
)

UUID = "7d2f0b1e-0000-4000-8000-000000000001"
EXACT = PollPolicy(interval=1, backoff=2, max_interval=5, jitter=0, timeout=3600)


class FakeClock:
    """A clock that moves only by sleeps and by the time fetches say they took."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, /) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds

    def spend(self, seconds: float) -> None:
        """Model a request's latency."""
        self.t += seconds


Item = Mapping[str, Any] | BaseException | object


class ScriptedFetch:
    """Answers from a script, one item per call (the last repeats); records each call."""

    def __init__(self, clock: FakeClock, script: Sequence[Item], latency: float = 0.0) -> None:
        assert script
        self.clock = clock
        self.script = list(script)
        self.latency = latency
        self.starts: list[float] = []
        self.read_timeouts: list[float] = []

    def __call__(self, read_timeout: float) -> Mapping[str, Any]:
        self.starts.append(self.clock.now())
        self.read_timeouts.append(read_timeout)
        self.clock.spend(self.latency)
        item = self.script[min(len(self.starts), len(self.script)) - 1]
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]  # non-mappings on purpose, for ProtocolError

    @property
    def calls(self) -> int:
        return len(self.starts)


def job(state: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": UUID,
        "description": "POST /api/storage/volumes",
        "state": state,
    }
    if message is not None:
        record["message"] = message
    record.update(fields)
    return record


RUNNING = job("running", "Creating")
SUCCESS = job("success", "success", code=0)


def run(
    script: Sequence[Item],
    policy: PollPolicy = EXACT,
    *,
    latency: float = 0.0,
    started_at: float = 0.0,
    **kwargs: Any,
) -> tuple[PollOutcome, FakeClock, ScriptedFetch]:
    clock = FakeClock(max(started_at, 0.0))
    fetch = ScriptedFetch(clock, script, latency)
    outcome = wait_for_job(fetch, clock=clock, policy=policy, started_at=started_at, **kwargs)
    return outcome, clock, fetch


def fail(
    exc: type[BaseException],
    script: Sequence[Item],
    policy: PollPolicy = EXACT,
    *,
    latency: float = 0.0,
    started_at: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, FakeClock, ScriptedFetch]:
    clock = FakeClock(max(started_at, 0.0))
    fetch = ScriptedFetch(clock, script, latency)
    with pytest.raises(exc) as info:
        wait_for_job(fetch, clock=clock, policy=policy, started_at=started_at, **kwargs)
    return info.value, clock, fetch


# --- schedule -----------------------------------------------------------------------------------


def test_exact_schedule_with_backoff_and_cap() -> None:
    outcome, clock, fetch = run([RUNNING] * 5 + [SUCCESS])
    assert fetch.starts == [1, 3, 7, 12, 17, 22]
    assert clock.sleeps == [1, 2, 4, 5, 5, 5]
    assert outcome == PollOutcome(job=SUCCESS, polls=6, elapsed=22)
    assert EXACT.schedule(6) == [1, 3, 7, 12, 17, 22]


def test_default_policy_grows_by_half_up_to_30_seconds() -> None:
    policy = PollPolicy()
    assert (policy.interval, policy.backoff, policy.max_interval, policy.jitter) == (
        1,
        1.5,
        30,
        0.1,
    )
    assert policy.timeout == 3600
    nominal = list(itertools.islice(policy.delays(), 12))
    assert nominal[:4] == [1, 1.5, 2.25, 3.375]
    assert nominal[-1] == 30
    assert max(nominal) == 30


def test_backoff_one_keeps_the_interval() -> None:
    policy = PollPolicy(interval=2, backoff=1, max_interval=2, jitter=0)
    _, _, fetch = run([RUNNING] * 3 + [SUCCESS], policy)
    assert fetch.starts == [2, 4, 6, 8]


def test_first_delay_zero_looks_at_once_then_follows_the_schedule() -> None:
    outcome, clock, fetch = run([RUNNING] * 3 + [SUCCESS], first_delay=0)
    assert fetch.starts == [0, 1, 3, 7]
    assert clock.sleeps == [1, 2, 4]
    assert outcome.polls == 4
    assert EXACT.schedule(4, first_delay=0) == [0, 1, 3, 7]


def test_explicit_first_delay_is_not_jittered() -> None:
    policy = PollPolicy(interval=1, jitter=0.5)
    _, clock, _ = run([SUCCESS], policy, first_delay=0.25)
    assert clock.sleeps == [0.25]


def test_a_job_already_done_takes_one_poll() -> None:
    outcome, clock, fetch = run([SUCCESS], first_delay=0)
    assert outcome == PollOutcome(SUCCESS, 1, 0)
    assert clock.sleeps == []
    assert fetch.calls == 1


def test_without_jitter_the_rng_is_not_used() -> None:
    class NoRandom(random.Random):
        def uniform(self, a: float, b: float) -> float:
            raise AssertionError("uniform called with jitter=0")

    _, clock, _ = run([RUNNING, SUCCESS], rng=NoRandom())
    assert clock.sleeps == [1, 2]


@pytest.mark.parametrize("rng", [None, random.Random(1)])
def test_jitter_spreads_the_delays(rng: random.Random | None) -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0.5)
    _, clock, _ = run([RUNNING] * 20 + [SUCCESS], policy, rng=rng)
    assert all(0.5 <= delay <= 1.5 for delay in clock.sleeps)
    assert len(set(clock.sleeps)) > 10
    assert min(clock.sleeps) < 0.9
    assert max(clock.sleeps) > 1.1


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    policy = PollPolicy(interval=1, jitter=0.3)
    _, first, _ = run([RUNNING] * 5 + [SUCCESS], policy, rng=random.Random(7))
    _, second, _ = run([RUNNING] * 5 + [SUCCESS], policy, rng=random.Random(7))
    assert first.sleeps == second.sleeps
    assert len(set(first.sleeps)) == len(first.sleeps)


def test_first_delay_must_be_a_finite_non_negative_number() -> None:
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="first_delay"):
            run([SUCCESS], first_delay=bad)


# --- deadline -----------------------------------------------------------------------------------


def test_deadline_sleeps_up_to_it_then_times_out() -> None:
    policy = PollPolicy(interval=1, backoff=2, max_interval=30, jitter=0, timeout=10)
    err, clock, fetch = fail(JobTimeout, [RUNNING], policy)
    assert fetch.starts == [1, 3, 7]
    assert clock.sleeps == [1, 2, 4, 3]
    assert clock.t == 10
    assert (err.job, err.timeout, err.elapsed, err.polls) == (RUNNING, 10, 10, 3)
    assert "last seen running: Creating" in str(err)


def test_deadline_counts_the_write_time() -> None:
    # The write was sent at t=-0.8 and answered at t=0: 0.2 s remain of a 1 s timeout.
    policy = PollPolicy(interval=1, jitter=0, timeout=1)
    err, clock, fetch = fail(JobTimeout, [SUCCESS], policy, started_at=-0.8)
    clock_after = clock.t
    assert fetch.calls == 0
    assert clock.sleeps == [pytest.approx(0.2)]
    assert clock_after == pytest.approx(0.2)
    assert err.job is None
    assert "no job record was read" in str(err)


def test_write_that_used_the_whole_timeout_times_out_without_polling() -> None:
    policy = PollPolicy(jitter=0, timeout=5)
    err, clock, fetch = fail(JobTimeout, [SUCCESS], policy, started_at=-5, first_delay=0)
    assert fetch.calls == 0
    assert clock.sleeps == []
    assert err.elapsed == 5


def test_slow_requests_never_push_past_the_deadline() -> None:
    policy = PollPolicy(interval=0.1, backoff=1.5, jitter=0, timeout=1)
    err, clock, fetch = fail(JobTimeout, [RUNNING], policy, latency=0.2, first_delay=0)
    assert clock.t <= 1.0 + 1e-9
    assert clock.t == pytest.approx(1.0)
    assert all(start < 1.0 for start in fetch.starts)
    assert fetch.starts == pytest.approx([0, 0.3, 0.65])
    assert sum(clock.sleeps) + 0.2 * fetch.calls == pytest.approx(1.0)
    assert err.polls == 3


def test_read_timeout_is_capped_by_the_policy_and_by_the_time_left() -> None:
    policy = PollPolicy(interval=1, backoff=1, max_interval=1, jitter=0, timeout=12, read_timeout=5)
    _, _, fetch = fail(JobTimeout, [RUNNING], policy)
    assert fetch.starts == list(range(1, 12))
    assert fetch.read_timeouts == [5] * 7 + [4, 3, 2, 1]


def test_a_job_that_ends_during_a_late_answer_is_still_a_success() -> None:
    policy = PollPolicy(jitter=0, timeout=1)
    outcome, _, _ = run([SUCCESS], policy, latency=2, first_delay=0)
    assert outcome == PollOutcome(SUCCESS, 1, 2)


def test_a_running_job_after_a_late_answer_times_out_at_once() -> None:
    policy = PollPolicy(jitter=0, timeout=1)
    err, clock, _ = fail(JobTimeout, [RUNNING], policy, latency=2, first_delay=0)
    assert clock.sleeps == []
    assert err.elapsed == 2


def test_paused_time_counts_toward_the_deadline() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, timeout=5)
    err, clock, _ = fail(JobTimeout, [job("paused", "Paused")], policy)
    assert not isinstance(err, JobPausedTooLong)
    assert clock.t == 5


# --- transient errors and Retry-After ---------------------------------------------------------


def test_five_transient_errors_are_survived() -> None:
    script = [TransientError("503", status=503)] * 5 + [SUCCESS]
    outcome, clock, fetch = run(script)
    assert outcome.polls == 6 == fetch.calls
    assert clock.sleeps == [1, 2, 4, 5, 5, 5]


def test_the_sixth_consecutive_transient_error_gives_up() -> None:
    errors = [TransientError(f"error {n}", status=500) for n in range(6)]
    err, clock, fetch = fail(RetriesExhausted, [RUNNING, *errors])
    assert fetch.calls == 7
    assert err.last_error is errors[-1]
    assert err.attempts == 6
    assert err.job == RUNNING
    assert err.__cause__ is errors[-1]
    assert len(clock.sleeps) == 7  # the first delay and one per poll before the last error


def test_max_transient_errors_zero_gives_up_on_the_first() -> None:
    policy = PollPolicy(jitter=0, max_transient_errors=0)
    err, _, fetch = fail(RetriesExhausted, [TransientError("reset")], policy)
    assert fetch.calls == 1
    assert err.job is None


def test_a_successful_poll_resets_the_transient_count() -> None:
    burst = [TransientError("503", status=503)] * 5
    policy = PollPolicy(interval=1, backoff=1, jitter=0)
    outcome, _, _ = run([*burst, RUNNING, *burst, SUCCESS], policy)
    assert outcome.polls == 12


def test_retry_after_longer_than_the_delay_is_honoured() -> None:
    script = [TransientError("busy", status=503, retry_after=4), SUCCESS]
    _, clock, fetch = run(script)
    assert clock.sleeps == [1, 4]
    assert fetch.starts == [1, 5]


def test_retry_after_shorter_than_the_delay_keeps_the_delay() -> None:
    script = [RUNNING, RUNNING, TransientError("busy", status=429, retry_after=0.5), SUCCESS]
    _, clock, _ = run(script)
    assert clock.sleeps == [1, 2, 4, 5]


def test_retry_after_reaching_the_deadline_sleeps_to_it_and_times_out() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, timeout=10)
    # The GET at t=6 says "retry after 4 s": exactly what remains.
    script = [RUNNING] * 5 + [TransientError("busy", status=503, retry_after=4)]
    err, clock, fetch = fail(JobTimeout, script, policy)
    assert fetch.starts == [1, 2, 3, 4, 5, 6]
    assert clock.sleeps[-1] == 4
    assert clock.t == 10
    assert err.job == RUNNING


def test_retry_after_longer_than_the_time_left_times_out_at_once() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, timeout=10)
    script = [RUNNING] * 5 + [TransientError("busy", status=503, retry_after=30)]
    err, clock, fetch = fail(JobTimeout, script, policy)
    assert fetch.calls == 6
    assert clock.t == 6
    assert len(clock.sleeps) == 6
    assert "retry after 30 s but only 4.0 s remained" in str(err)
    assert err.elapsed == 6


def test_a_nan_retry_after_is_ignored() -> None:
    _, clock, _ = run([TransientError("x", retry_after=math.nan), SUCCESS])
    assert clock.sleeps == [1, 2]


# --- 404 ----------------------------------------------------------------------------------------


def test_404_on_a_never_seen_job_is_retried_for_the_grace_then_lost() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, not_found_grace=3)
    err, clock, fetch = fail(JobLost, [JobNotFound(UUID)], policy)
    assert fetch.starts == [1, 2, 3, 4]
    assert err.job is None
    assert err.not_found_for == 3
    assert "never appeared" in str(err)
    assert isinstance(err.__cause__, JobNotFound)
    assert clock.t == 4


def test_404_then_the_job_appears() -> None:
    outcome, _, _ = run([JobNotFound(), JobNotFound(), RUNNING, SUCCESS])
    assert outcome.polls == 4
    assert outcome.job == SUCCESS


def test_404_grace_zero_gives_up_at_once() -> None:
    policy = PollPolicy(jitter=0, not_found_grace=0)
    err, _, fetch = fail(JobLost, [JobNotFound()], policy, job_id="abc")
    assert fetch.calls == 1
    assert str(err).startswith("Job abc never appeared")


def test_404_after_the_job_was_seen_is_lost_with_the_last_record() -> None:
    last = job("running", "Almost there")
    err, clock, fetch = fail(JobLost, [RUNNING, last, JobNotFound(), SUCCESS])
    assert err.job == last
    assert fetch.calls == 3
    assert clock.sleeps == [1, 2, 4]
    assert "vanished" in str(err)


def test_404_grace_longer_than_the_timeout_ends_in_a_timeout() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, timeout=3, not_found_grace=10)
    err, _, _ = fail(JobTimeout, [JobNotFound()], policy)
    assert err.job is None
    assert "404" in str(err)


# --- fatal errors and outcomes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        AuthError(401, "not authorized"),
        AuthError(403, "not authorized for that command", code="6"),
        OntapError(400, "invalid field", code="2"),
        ProtocolError("unparsable body", "<html>"),
    ],
)
def test_other_errors_propagate_at_once(error: Exception) -> None:
    err, clock, fetch = fail(type(error), [RUNNING, error, SUCCESS])
    assert err is error
    assert fetch.calls == 2
    assert clock.sleeps == [1, 2]


def test_failure_raises_job_failed_with_message_code_and_error() -> None:
    error = {"message": "Job completed with specified error", "code": "917536"}
    failed = job("failure", "entry doesn't exist", code=4, error=error)
    err, _, _ = fail(JobFailed, [RUNNING, failed])
    assert err.job == failed
    assert err.message == "entry doesn't exist"
    assert err.code == 4
    assert err.error == error
    assert err.description == "POST /api/storage/volumes"


@pytest.mark.parametrize(("code", "expected"), [("460770", 460770), ("oops", None), (None, None)])
def test_failure_codes_are_coerced_or_dropped(code: object, expected: int | None) -> None:
    err, _, _ = fail(JobFailed, [job("failure", "Job failed", code=code)])
    assert err.code == expected


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"uuid": UUID, "message": "no state here"}, "has no state"),
        ({"uuid": UUID, "state": None}, "has no state"),
        ({"uuid": UUID, "state": "cancelled"}, "unknown state 'cancelled'"),
        ({"uuid": UUID, "state": "Running"}, "unknown state 'Running'"),
        ({"uuid": UUID, "state": 3}, "unknown state 3"),
        (["not", "a", "record"], "not a JSON object"),
        ("running", "not a JSON object"),
    ],
)
def test_broken_records_raise_protocol_error_quoting_the_body(record: object, problem: str) -> None:
    err, _, fetch = fail(ProtocolError, [record])
    assert problem in str(err)
    assert err.body == record
    assert "body: " in str(err)
    assert fetch.calls == 1


def test_unknown_fields_and_odd_codes_in_running_records_are_tolerated() -> None:
    running = job("running", None, code="weird", extra={"x": 1})
    outcome, _, _ = run([running, SUCCESS])
    assert outcome.job == SUCCESS


# --- paused -------------------------------------------------------------------------------------


def test_paused_is_not_terminal() -> None:
    outcome, _, _ = run([job("paused", "Paused")] * 4 + [SUCCESS])
    assert outcome.polls == 5


def test_max_paused_counts_observed_paused_time() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, max_paused=2.5)
    paused = job("paused", "Paused by admin")
    err, clock, fetch = fail(JobPausedTooLong, [RUNNING, paused, paused, paused, paused], policy)
    # Paused first seen at t=2; at t=4 it has been paused 2 s, at t=5 3 s > 2.5.
    assert fetch.starts == [1, 2, 3, 4, 5]
    assert (err.paused, err.max_paused, err.timeout, err.elapsed) == (3, 2.5, 2.5, 5)
    assert isinstance(err, JobTimeout)
    assert err.job == paused
    assert clock.t == 5


def test_max_paused_ignores_time_spent_running_between_pauses() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, max_paused=2.5)
    paused = job("paused", "Paused")
    # Paused from t=1 to 3 (2 s), running at 4, paused again from 5 to 6 (1 s): 3 s in all,
    # never more than 2.5 at a stretch; the time from 3 to 5 does not count.
    script = [paused, paused, paused, RUNNING, paused, paused, SUCCESS]
    err, _, fetch = fail(JobPausedTooLong, script, policy)
    assert fetch.starts == [1, 2, 3, 4, 5, 6]
    assert err.paused == 3


def test_max_paused_not_reached_lets_the_job_finish() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, max_paused=2)
    paused = job("paused", "Paused")
    outcome, _, _ = run([paused, paused, paused, SUCCESS], policy)
    assert outcome.polls == 4


def test_paused_time_spans_transient_errors_between_observations() -> None:
    policy = PollPolicy(interval=1, backoff=1, jitter=0, max_paused=1.5)
    paused = job("paused", "Paused")
    err, _, _ = fail(JobPausedTooLong, [paused, TransientError("x"), paused], policy)
    assert err.paused == 2


# --- progress and logging -----------------------------------------------------------------------


def test_on_progress_is_called_on_state_or_message_changes_only() -> None:
    seen: list[Mapping[str, Any]] = []
    script = [
        job("queued"),
        job("queued"),
        job("running", "a"),
        TransientError("x"),
        job("running", "a"),
        job("running", "b"),
        job("running", "b", code=5),
        SUCCESS,
    ]
    run(script, on_progress=seen.append)
    assert [(r["state"], r.get("message")) for r in seen] == [
        ("queued", None),
        ("running", "a"),
        ("running", "b"),
        ("success", "success"),
    ]


def test_on_progress_sees_a_failure_before_it_is_raised() -> None:
    seen: list[Mapping[str, Any]] = []
    fail(JobFailed, [job("failure", "boom", code=1)], on_progress=seen.append)
    assert [r["state"] for r in seen] == ["failure"]


def test_logs_state_changes_with_job_fields_only(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Tr0ub4dor&3"
    script = [
        JobNotFound(UUID, f"password={secret}"),
        job("queued"),
        TransientError(f"connect to https://admin:{secret}@cluster failed", status=503),
        job("running", "Creating"),
        job("running", "Creating"),
        SUCCESS,
    ]
    with caplog.at_level(logging.DEBUG, logger="pytest_ontapjob"):
        run(script, PollPolicy(jitter=0, not_found_grace=100))
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert all(r.name == "pytest_ontapjob" for r in caplog.records)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [
        f"job {UUID} queued: None",
        f"job {UUID} running: Creating",
        f"job {UUID} success: success",
    ]


# --- policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": 0}, "interval must be > 0"),
        ({"interval": -1}, "interval must be > 0"),
        ({"interval": math.nan}, "interval must be a finite number"),
        ({"interval": "1"}, "interval must be a finite number"),
        ({"backoff": 0.5}, "backoff must be >= 1"),
        ({"max_interval": 0}, "max_interval must be > 0"),
        ({"interval": 5, "max_interval": 2}, r"max_interval \(2\) must be >= interval \(5\)"),
        ({"jitter": -0.1}, "jitter must be >= 0"),
        ({"jitter": 1}, "jitter must be < 1"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": math.inf}, "timeout must be a finite number"),
        ({"max_transient_errors": -1}, "max_transient_errors must be >= 0"),
        ({"max_transient_errors": 2.5}, "max_transient_errors must be an int"),
        ({"max_transient_errors": True}, "max_transient_errors must be an int"),
        ({"not_found_grace": -1}, "not_found_grace must be >= 0"),
        ({"max_paused": -1}, "max_paused must be >= 0"),
        ({"read_timeout": 0}, "read_timeout must be > 0"),
        ({"connect_timeout": -5}, "connect_timeout must be > 0"),
    ],
)
def test_policy_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PollPolicy(**kwargs)


def test_policy_accepts_edge_values() -> None:
    policy = PollPolicy(
        backoff=1, jitter=0, max_transient_errors=0, not_found_grace=0, max_paused=0
    )
    assert policy.max_paused == 0
    assert PollPolicy().max_paused is None
    assert (PollPolicy().read_timeout, PollPolicy().connect_timeout) == (60, 10)


def test_policy_is_frozen_and_hashable() -> None:
    policy = PollPolicy()
    with pytest.raises(AttributeError):
        policy.interval = 2  # type: ignore[misc]
    assert hash(policy) == hash(PollPolicy())


def test_states_and_is_terminal() -> None:
    assert {"success", "failure"} == TERMINAL_STATES
    assert {"queued", "running", "paused"} == NON_TERMINAL_STATES
    assert is_terminal("success")
    assert is_terminal("failure")
    assert not is_terminal("paused")
    assert not is_terminal("cancelled")


def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.now()
    clock.sleep(0)
    clock.sleep(-1)
    assert clock.now() >= before


@pytest.mark.parametrize("module", ["poller.py", "errors.py"])
def test_core_modules_import_only_the_standard_library(module: str) -> None:
    path = Path(__file__).parent.parent / "pytest_ontapjob" / module
    tree = ast.parse(path.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = {"requests", "flask", "pytest", "simulator", "werkzeug", "urllib3", "hypothesis"}
    assert not imported & forbidden
    assert imported <= {
        "__future__",
        "collections",
        "dataclasses",
        "http",
        "itertools",
        "json",
        "logging",
        "math",
        "random",
        "time",
        "typing",
        "urllib",
    }


# --- properties ---------------------------------------------------------------------------------

policies = st.builds(
    PollPolicy,
    interval=st.floats(0.01, 5),
    backoff=st.floats(1, 3),
    max_interval=st.just(30.0),
    jitter=st.floats(0, 0.9),
    timeout=st.floats(0.5, 500),
    max_transient_errors=st.integers(0, 4),
    not_found_grace=st.floats(0, 20),
)

steps = st.one_of(
    st.sampled_from(["queued", "running", "paused"]).map(job),
    st.builds(
        lambda status, retry_after: TransientError("x", status=status, retry_after=retry_after),
        st.sampled_from([429, 500, 503, None]),
        st.none() | st.floats(0, 100),
    ),
    st.just(JobNotFound()),
)
TERMINAL = [SUCCESS, job("failure", "boom", code=1)]
terminating_scripts = st.builds(
    lambda middle, end: [*middle, end], st.lists(steps, max_size=15), st.sampled_from(TERMINAL)
)
scripts = st.builds(
    lambda middle, end: [*middle, end],
    st.lists(steps, max_size=15),
    st.sampled_from([*TERMINAL, RUNNING]),
)


@dataclass
class Run:
    """What one wait_for_job call did, whatever it ended with."""

    kind: str
    job: object
    reported_polls: int | None
    calls: int
    end: float
    sleeps: list[float]


def observe(script: list[Item], policy: PollPolicy, seed: int = 0, latency: float = 0.0) -> Run:
    clock = FakeClock()
    fetch = ScriptedFetch(clock, script, latency)
    try:
        result = wait_for_job(
            fetch, clock=clock, policy=policy, started_at=0, rng=random.Random(seed)
        )
    except (JobFailed, JobTimeout, JobLost, RetriesExhausted) as err:
        polls = err.polls if isinstance(err, JobTimeout) else None
        return Run(type(err).__name__, err.job, polls, fetch.calls, clock.t, clock.sleeps)
    return Run("ok", result.job, result.polls, fetch.calls, clock.t, clock.sleeps)


@settings(max_examples=200)
@given(
    policy=policies,
    seed=st.integers(0, 2**32),
    count=st.integers(1, 30),
    first_delay=st.none() | st.floats(0, 2),
)
def test_every_delay_is_within_jitter_of_nominal(
    policy: PollPolicy, seed: int, count: int, first_delay: float | None
) -> None:
    policy = replace(policy, timeout=3600)
    clock = FakeClock()
    fetch = ScriptedFetch(clock, [RUNNING] * count + [SUCCESS])
    wait_for_job(
        fetch,
        clock=clock,
        policy=policy,
        started_at=0,
        first_delay=first_delay,
        rng=random.Random(seed),
    )
    nominal = list(itertools.islice(policy.delays(), count + 1))
    sleeps = clock.sleeps
    if first_delay is not None:
        if first_delay > 0:
            assert sleeps[0] == first_delay
            sleeps = sleeps[1:]
        nominal = nominal[:count]
    assert len(sleeps) == len(nominal)
    low, high = 1 - policy.jitter, 1 + policy.jitter
    for actual, expected in zip(sleeps, nominal, strict=True):
        assert expected * low - 1e-9 <= actual <= expected * high + 1e-9


@settings(max_examples=200)
@given(script=terminating_scripts, policy=policies, seeds=st.lists(st.integers(0, 99), max_size=3))
def test_the_result_never_depends_on_jitter(
    script: list[Item], policy: PollPolicy, seeds: list[int]
) -> None:
    # With a deadline and a 404 grace far beyond the script, only the answers decide the end.
    policy = replace(policy, timeout=100_000, not_found_grace=100_000)
    steady = observe(script, replace(policy, jitter=0))
    assert steady.kind in {"ok", "JobFailed", "JobLost", "RetriesExhausted"}
    for seed in seeds:
        jittered = observe(script, policy, seed)
        assert (jittered.kind, jittered.job, jittered.calls) == (
            steady.kind,
            steady.job,
            steady.calls,
        )


@settings(max_examples=300)
@given(
    script=scripts,
    policy=policies,
    seed=st.integers(0, 99),
    latency=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_sleeps_never_exceed_the_timeout_and_polls_count_fetches(
    script: list[Item], policy: PollPolicy, seed: int, latency: float
) -> None:
    run = observe(script, policy, seed, latency)
    assert sum(run.sleeps) <= policy.timeout + 1e-9
    if run.reported_polls is not None:
        assert run.reported_polls == run.calls
    # No GET starts at or after the deadline; the clock passes it only by one request's latency.
    assert run.end <= policy.timeout + latency + 1e-9
    if run.kind == "JobTimeout":
        gave_up_early = any(isinstance(i, TransientError) and i.retry_after for i in script)
        assert run.end >= policy.timeout - 1e-9 or gave_up_early
