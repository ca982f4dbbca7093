"""The job engine, driven directly on a virtual clock (no HTTP, no real sleeping)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from simulator.clock import VIRTUAL_EPOCH, RealClock, VirtualClock
from simulator.errors import ApiError
from simulator.jobs import DEFAULT_SCRIPT, EffectError, JobEngine, JobScript, ScriptError


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def engine(clock: VirtualClock) -> JobEngine:
    return JobEngine(clock)


def script(*steps: dict[str, Any], **options: Any) -> JobScript:
    return JobScript.parse({"steps": list(steps), **options})


def state(engine: JobEngine, uuid: str) -> str:
    return str(engine.record(uuid)["state"])


# -- script validation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("steps", "target", "fragment"),
    [
        ([], "steps", "at least"),
        ("running", "steps", "list"),
        ([{"state": "running", "seconds": 1}], "steps[0].state", "last step must be terminal"),
        ([{"state": "success"}, {"state": "success"}], "steps[0].state", "only the last"),
        ([{"state": "done"}], "steps[0].state", "one of"),
        ([{"state": "running"}, {"state": "success"}], "steps[0]", "exactly one"),
        (
            [{"state": "running", "seconds": 1, "polls": 1}, {"state": "success"}],
            "steps[0]",
            "exactly one",
        ),
        ([{"state": "running", "seconds": -1}, {"state": "success"}], "steps[0].seconds", ">= 0"),
        (
            [{"state": "running", "seconds": float("nan")}, {"state": "success"}],
            "steps[0].seconds",
            "finite",
        ),
        (
            [{"state": "running", "seconds": "1"}, {"state": "success"}],
            "steps[0].seconds",
            "number",
        ),
        ([{"state": "queued", "polls": 0}, {"state": "success"}], "steps[0].polls", ">= 1"),
        ([{"state": "queued", "polls": 1.5}, {"state": "success"}], "steps[0].polls", "integer"),
        ([{"state": "queued", "polls": True}, {"state": "success"}], "steps[0].polls", "integer"),
        ([{"state": "success", "seconds": 1}], "steps[0].seconds", "terminal step takes no"),
        ([{"state": "failure", "code": "5"}], "steps[0].code", "integer"),
        ([{"state": "failure", "message": 5}], "steps[0].message", "string"),
        ([{"state": "success", "status": 500}], "steps[0].status", "failure step"),
        ([{"state": "failure", "status": 200}], "steps[0].status", "400..599"),
        ([{"state": "success", "colour": "red"}], "steps[0].colour", "unknown field"),
        ([{"state": "queued", "seconds": 1}, "x", {"state": "success"}], "steps[1]", "object"),
    ],
)
def test_invalid_scripts_name_the_bad_step(steps: Any, target: str, fragment: str) -> None:
    with pytest.raises(ScriptError) as info:
        JobScript.parse(steps)
    assert info.value.target == target
    assert fragment in info.value.message


def test_script_options_are_validated() -> None:
    with pytest.raises(ScriptError, match="pausable"):
        JobScript.parse({"steps": [{"state": "success"}], "pausable": "no"})
    with pytest.raises(ScriptError, match="unknown script field"):
        JobScript.parse({"steps": [{"state": "success"}], "speed": 2})
    with pytest.raises(ScriptError, match="on_cancel"):
        JobScript.parse({"steps": [{"state": "success"}], "on_cancel": {"state": "running"}})


def test_script_round_trips_through_json() -> None:
    original = script(
        {"state": "queued", "polls": 2, "message": "waiting"},
        {"state": "running", "seconds": 1.5, "code": 7},
        {"state": "failure", "message": "no", "code": 9, "status": 409},
        pausable=False,
    )
    assert JobScript.parse(original.to_json()) == original
    assert original.duration is None
    assert DEFAULT_SCRIPT.duration == pytest.approx(1.2)


# -- state over time -----------------------------------------------------------------------
def test_state_follows_the_script_on_the_clock(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create(
        "POST /api/storage/volumes",
        script(
            {"state": "queued", "seconds": 1},
            {"state": "running", "seconds": 2, "message": "Checking", "code": 2432844},
            {"state": "paused", "seconds": 3},
            {"state": "running", "seconds": 1},
            {"state": "success"},
        ),
    )
    seen = []
    for _ in range(8):
        record = engine.record(job.uuid)
        seen.append((record["state"], record["code"]))
        clock.advance(1)
    assert seen == [
        ("queued", 0),
        ("running", 2432844),
        ("running", 2432844),
        ("paused", 0),
        ("paused", 0),
        ("paused", 0),
        ("running", 0),
        ("success", 0),
    ]


def test_record_fields_follow_ontap(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create(
        "PATCH /api/storage/volumes/abc",
        script(
            {"state": "running", "seconds": 5},
            {"state": "failure", "message": "entry doesn't exist", "code": 4},
        ),
        svm={"name": "vs0", "uuid": "u"},
    )
    running = engine.record(job.uuid)
    assert running["start_time"] == "2024-01-01T00:00:00+00:00"
    assert "end_time" not in running and "error" not in running
    assert running["_links"] == {"self": {"href": f"/api/cluster/jobs/{job.uuid}"}}
    assert running["svm"] == {"name": "vs0", "uuid": "u"}
    clock.advance(5)
    failed = engine.record(job.uuid)
    assert failed["state"] == "failure"
    assert failed["message"] == "entry doesn't exist"
    assert failed["code"] == 4 and isinstance(failed["code"], int)
    assert failed["error"] == {"message": "entry doesn't exist", "code": "4"}
    assert failed["end_time"] == "2024-01-01T00:00:05+00:00"
    assert failed["description"] == "PATCH /api/storage/volumes/abc"


def test_default_messages_and_codes(engine: JobEngine, clock: VirtualClock) -> None:
    ok = engine.create("x", script({"state": "success"}))
    bad = engine.create("y", script({"state": "failure"}))
    assert engine.record(ok.uuid)["message"] == "success"
    assert engine.record(ok.uuid)["code"] == 0
    assert engine.record(bad.uuid)["code"] == 460770


def test_zero_second_steps_pass_straight_through(engine: JobEngine) -> None:
    job = engine.create("x", script({"state": "queued", "seconds": 0}, {"state": "success"}))
    assert state(engine, job.uuid) == "success"
    assert [s for _, s in job.history] == ["queued", "success"]


def test_polls_step_stays_until_observed_n_times(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create(
        "x",
        script(
            {"state": "queued", "polls": 2},
            {"state": "running", "seconds": 10},
            {"state": "success"},
        ),
    )
    clock.advance(1000)  # time alone does not move a polls step
    assert engine.record(job.uuid)["state"] == "queued"  # not an observation
    assert engine.record(job.uuid, observe=True)["state"] == "queued"
    assert engine.record(job.uuid, observe=True)["state"] == "queued"
    # The second observation ended the step: running starts now and lasts 10 s.
    assert engine.record(job.uuid, observe=True)["state"] == "running"
    clock.advance(9.9)
    assert state(engine, job.uuid) == "running"
    clock.advance(0.1)
    assert state(engine, job.uuid) == "success"


# -- pause / resume / cancel ---------------------------------------------------------------
def test_pause_freezes_remaining_time_and_resume_continues(
    engine: JobEngine, clock: VirtualClock
) -> None:
    job = engine.create("x", script({"state": "running", "seconds": 10}, {"state": "success"}))
    clock.advance(4)
    engine.act(job.uuid, "pause")
    record = engine.record(job.uuid)
    assert record["state"] == "paused"
    clock.advance(1000)
    assert state(engine, job.uuid) == "paused"
    engine.act(job.uuid, "resume")
    clock.advance(5.99)
    assert state(engine, job.uuid) == "running"
    clock.advance(0.01)
    assert state(engine, job.uuid) == "success"


def test_paused_polls_step_does_not_count_observations(engine: JobEngine) -> None:
    job = engine.create("x", script({"state": "running", "polls": 1}, {"state": "success"}))
    engine.act(job.uuid, "pause")
    assert engine.record(job.uuid, observe=True)["state"] == "paused"
    engine.act(job.uuid, "resume")
    assert engine.record(job.uuid, observe=True)["state"] == "running"
    assert state(engine, job.uuid) == "success"


@pytest.mark.parametrize(
    ("steps", "options", "action", "code"),
    [
        ([{"state": "success"}], {}, "pause", "458762"),
        ([{"state": "success"}], {}, "resume", "458762"),
        ([{"state": "success"}], {}, "cancel", "458762"),
        (
            [{"state": "running", "seconds": 5}, {"state": "success"}],
            {"pausable": False},
            "pause",
            "458783",
        ),
        (
            [{"state": "running", "seconds": 5}, {"state": "success"}],
            {"cancellable": False},
            "cancel",
            "458784",
        ),
        ([{"state": "queued", "seconds": 5}, {"state": "success"}], {}, "pause", "458776"),
        ([{"state": "running", "seconds": 5}, {"state": "success"}], {}, "resume", "458776"),
    ],
)
def test_refused_actions_answer_ontap_codes(
    engine: JobEngine, steps: Any, options: Any, action: str, code: str
) -> None:
    job = engine.create("x", script(*steps, **options))
    with pytest.raises(ApiError) as info:
        engine.act(job.uuid, action)
    assert info.value.status == 400
    assert info.value.code == code


def test_pausing_twice_is_refused(engine: JobEngine) -> None:
    job = engine.create("x", script({"state": "running", "seconds": 5}, {"state": "success"}))
    engine.act(job.uuid, "pause")
    with pytest.raises(ApiError) as info:
        engine.act(job.uuid, "pause")
    assert info.value.code == "458776"


def test_unknown_action_is_refused(engine: JobEngine) -> None:
    job = engine.create("x", DEFAULT_SCRIPT)
    with pytest.raises(ApiError) as info:
        engine.act(job.uuid, "explode")
    assert (info.value.status, info.value.code, info.value.target) == (400, "262197", "action")


def test_resume_ends_a_scripted_pause(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create(
        "x",
        script(
            {"state": "paused", "seconds": 100},
            {"state": "running", "seconds": 1},
            {"state": "success"},
        ),
    )
    clock.advance(10)
    engine.act(job.uuid, "resume")
    assert state(engine, job.uuid) == "running"
    clock.advance(1)
    assert state(engine, job.uuid) == "success"


def test_cancel_ends_the_job_promptly_as_failure(engine: JobEngine, clock: VirtualClock) -> None:
    applied: list[int] = []
    job = engine.create(
        "x",
        script({"state": "running", "seconds": 100}, {"state": "success"}),
        effect=lambda: applied.append(1),
    )
    clock.advance(3)
    engine.act(job.uuid, "cancel")
    record = engine.record(job.uuid)
    assert record["state"] == "failure"
    assert "cancel" in record["message"].lower()
    assert record["end_time"] == "2024-01-01T00:00:03+00:00"
    clock.advance(200)
    assert state(engine, job.uuid) == "failure"
    assert applied == []


def test_cancel_can_be_scripted_to_end_in_success(engine: JobEngine) -> None:
    job = engine.create(
        "x",
        script(
            {"state": "paused", "seconds": 100},
            {"state": "success"},
            on_cancel={"state": "success", "message": "Stopped cleanly"},
        ),
    )
    engine.act(job.uuid, "cancel")
    record = engine.record(job.uuid)
    assert (record["state"], record["message"]) == ("success", "Stopped cleanly")


# -- effects -------------------------------------------------------------------------------
def test_effect_applies_once_on_success_only(engine: JobEngine, clock: VirtualClock) -> None:
    applied: list[str] = []
    ok = engine.create(
        "ok",
        script({"state": "running", "seconds": 2}, {"state": "success"}),
        effect=lambda: applied.append("ok"),
    )
    engine.create(
        "bad",
        script({"state": "running", "seconds": 1}, {"state": "failure"}),
        effect=lambda: applied.append("bad"),
    )
    clock.advance(1.5)
    assert applied == []
    clock.advance(10)
    for _ in range(3):
        engine.record(ok.uuid, observe=True)
    assert applied == ["ok"]


def test_effects_apply_in_the_order_jobs_finished(engine: JobEngine, clock: VirtualClock) -> None:
    applied: list[str] = []
    engine.create(
        "late",
        script({"state": "running", "seconds": 5}, {"state": "success"}),
        effect=lambda: applied.append("late"),
    )
    engine.create(
        "early",
        script({"state": "running", "seconds": 1}, {"state": "success"}),
        effect=lambda: applied.append("early"),
    )
    clock.advance(100)  # both are due; one settle must apply them in end-time order
    engine.settle()
    assert applied == ["early", "late"]


def test_effect_error_turns_success_into_failure(engine: JobEngine) -> None:
    def effect() -> None:
        raise EffectError("duplicate entry", 1)

    job = engine.create("x", script({"state": "success"}), effect=effect)
    record = engine.record(job.uuid)
    assert (record["state"], record["message"], record["code"]) == ("failure", "duplicate entry", 1)


# -- retention -----------------------------------------------------------------------------
def test_finished_jobs_are_purged_after_retention(clock: VirtualClock) -> None:
    engine = JobEngine(clock, retention=60)
    job = engine.create("x", script({"state": "running", "seconds": 10}, {"state": "success"}))
    clock.advance(10 + 59.999)
    assert state(engine, job.uuid) == "success"
    clock.advance(0.001)
    with pytest.raises(ApiError) as info:
        engine.record(job.uuid)
    assert (info.value.status, info.value.code, info.value.target) == (404, "4", "uuid")
    assert len(engine) == 0


def test_running_jobs_are_never_purged(clock: VirtualClock) -> None:
    engine = JobEngine(clock, retention=1)
    job = engine.create("x", script({"state": "running", "polls": 1}, {"state": "success"}))
    clock.advance(10_000)
    assert state(engine, job.uuid) == "running"


def test_unknown_uuid_is_404(engine: JobEngine) -> None:
    with pytest.raises(ApiError) as info:
        engine.act("nope", "pause")
    assert info.value.status == 404


def test_purge_removes_at_once(engine: JobEngine) -> None:
    job = engine.create("x", DEFAULT_SCRIPT)
    assert engine.purge(job.uuid)
    with pytest.raises(ApiError):
        engine.record(job.uuid)


# -- waiting -------------------------------------------------------------------------------
def test_wait_autojumps_to_the_job_end(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create(
        "x",
        script(
            {"state": "queued", "seconds": 3},
            {"state": "running", "seconds": 4},
            {"state": "success"},
        ),
    )
    engine.wait(job.uuid, 30)
    assert job.state == "success"
    assert clock.now() == VIRTUAL_EPOCH + 7


def test_wait_autojumps_to_the_deadline_when_the_job_is_longer(
    engine: JobEngine, clock: VirtualClock
) -> None:
    job = engine.create("x", script({"state": "running", "seconds": 3600}, {"state": "success"}))
    engine.wait(job.uuid, 30)
    assert job.state == "running"
    assert clock.now() == VIRTUAL_EPOCH + 30


def test_wait_on_a_polls_step_jumps_to_the_deadline(engine: JobEngine, clock: VirtualClock) -> None:
    job = engine.create("x", script({"state": "running", "polls": 1}, {"state": "success"}))
    engine.wait(job.uuid, 15)
    assert job.state == "running"
    assert clock.now() == VIRTUAL_EPOCH + 15


def test_real_clock_wait_wakes_promptly_when_the_job_ends() -> None:
    engine = JobEngine(RealClock())
    job = engine.create("x", script({"state": "running", "seconds": 0.3}, {"state": "success"}))
    started = time.monotonic()
    engine.wait(job.uuid, 5)
    elapsed = time.monotonic() - started
    assert job.state == "success"
    assert 0.28 <= elapsed < 0.3 + 0.05


def test_real_clock_wait_wakes_on_cancel_from_another_thread() -> None:
    engine = JobEngine(RealClock())
    job = engine.create("x", script({"state": "running", "polls": 1}, {"state": "success"}))
    timer = threading.Timer(0.1, engine.act, args=(job.uuid, "cancel"))
    timer.start()
    started = time.monotonic()
    engine.wait(job.uuid, 5)
    timer.join()
    assert job.state == "failure"
    assert time.monotonic() - started < 1


def test_engine_is_thread_safe(engine: JobEngine, clock: VirtualClock) -> None:
    applied: list[int] = []
    lock = threading.Lock()

    def effect() -> None:
        with lock:
            applied.append(1)

    steps = script({"state": "running", "polls": 3}, {"state": "success"})

    def worker() -> None:
        for _ in range(50):
            job = engine.create("x", steps, effect=effect)
            for _ in range(4):
                engine.record(job.uuid, observe=True)
                clock.advance(0.01)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(applied) == 400
    assert all(job.state == "success" for job in engine)


def test_a_vanished_job_still_does_its_work(engine: JobEngine, clock: VirtualClock) -> None:
    applied: list[int] = []
    job = engine.create(
        "x",
        script({"state": "running", "seconds": 5}, {"state": "success"}),
        effect=lambda: applied.append(1),
    )
    assert engine.purge(job.uuid)
    with pytest.raises(ApiError):
        engine.record(job.uuid)
    assert engine.records() == []
    clock.advance(5)
    engine.settle()
    assert applied == [1]
    with pytest.raises(ApiError):
        engine.record(job.uuid)
    assert not engine.purge(job.uuid)
