"""Clocks: virtual time moves only when told; waits use conditions, not sleep loops."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import pytest

from simulator import Simulator
from simulator.clock import LATEST_TIME, VIRTUAL_EPOCH, Clock, RealClock, VirtualClock, make_clock

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def test_virtual_clock_starts_at_the_epoch_and_moves_only_when_told() -> None:
    clock = VirtualClock()
    assert clock.now() == VIRTUAL_EPOCH
    time.sleep(0.01)
    assert clock.now() == VIRTUAL_EPOCH
    assert clock.advance(2.5) == VIRTUAL_EPOCH + 2.5
    clock.sleep(0.5)
    assert clock.now() == VIRTUAL_EPOCH + 3
    clock.set(VIRTUAL_EPOCH)  # never backwards
    assert clock.now() == VIRTUAL_EPOCH + 3
    clock.reset()
    assert clock.now() == VIRTUAL_EPOCH


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_virtual_clock_refuses_bad_advances(bad: float) -> None:
    with pytest.raises(ValueError, match="advance"):
        VirtualClock().advance(bad)


def test_make_clock() -> None:
    assert make_clock("real").mode == "real"
    assert make_clock("virtual").mode == "virtual"
    clock = VirtualClock()
    assert make_clock(clock) is clock
    assert isinstance(RealClock(), Clock)
    with pytest.raises(ValueError, match="clock must be"):
        make_clock("sundial")  # type: ignore[arg-type]


def test_virtual_wait_jumps_through_changes_without_blocking() -> None:
    clock = VirtualClock()
    cond = threading.Condition()
    changes = [VIRTUAL_EPOCH + 5, VIRTUAL_EPOCH + 8]
    with cond:
        started = time.monotonic()
        done = clock.wait_until(
            cond,
            lambda: clock.now() >= VIRTUAL_EPOCH + 8,
            VIRTUAL_EPOCH + 100,
            lambda: next((c for c in changes if c > clock.now()), None),
        )
    assert done
    assert clock.now() == VIRTUAL_EPOCH + 8
    assert time.monotonic() - started < 0.1


def test_virtual_wait_stops_at_the_deadline() -> None:
    clock = VirtualClock()
    cond = threading.Condition()
    with cond:
        assert not clock.wait_until(cond, lambda: False, VIRTUAL_EPOCH + 30, lambda: None)
    assert clock.now() == VIRTUAL_EPOCH + 30


def test_real_wait_is_woken_by_notify() -> None:
    clock = RealClock()
    cond = threading.Condition()
    flag = threading.Event()

    def poke() -> None:
        flag.set()
        with cond:
            cond.notify_all()

    timer = threading.Timer(0.05, poke)
    timer.start()
    started = time.monotonic()
    with cond:
        assert clock.wait_until(cond, flag.is_set, clock.now() + 5, lambda: None)
    timer.join()
    assert time.monotonic() - started < 0.5


def test_real_wait_times_out() -> None:
    clock = RealClock()
    cond = threading.Condition()
    started = time.monotonic()
    with cond:
        assert not clock.wait_until(cond, lambda: False, clock.now() + 0.1, lambda: None)
    assert 0.09 <= time.monotonic() - started < 0.5


# -- the end of time: no path moves a virtual clock past 9999-12-31T23:59:59Z ----------------
def test_virtual_clock_stops_at_the_latest_time() -> None:
    clock = VirtualClock(start=LATEST_TIME - 10)
    with pytest.raises(ValueError, match="past the year 9999"):
        clock.advance(11)
    assert clock.now() == LATEST_TIME - 10
    assert clock.advance(10) == LATEST_TIME
    clock.reset()
    clock.sleep(3600)
    assert clock.now() == LATEST_TIME
    clock.reset()
    assert clock.set(LATEST_TIME + 1e9) == LATEST_TIME
    assert clock.set(float("inf")) == LATEST_TIME
    assert clock.set(float("nan")) == LATEST_TIME


@pytest.mark.parametrize("start", [LATEST_TIME + 1, float("inf"), float("nan")])
def test_virtual_clock_refuses_to_start_past_the_latest_time(start: float) -> None:
    with pytest.raises(ValueError, match="starts at a finite time"):
        VirtualClock(start=start)


def test_virtual_wait_ends_when_the_clock_cannot_move_further() -> None:
    clock = VirtualClock(start=LATEST_TIME - 5)
    cond = threading.Condition()
    with cond:
        assert not clock.wait_until(cond, lambda: False, LATEST_TIME + 120, lambda: None)
        assert not clock.wait_until(
            cond, lambda: False, LATEST_TIME + 120, lambda: LATEST_TIME + 60
        )
    assert clock.now() == LATEST_TIME


def _sim_near_the_end(seconds_left: float) -> Simulator:
    sim = Simulator(clock=VirtualClock(start=LATEST_TIME - seconds_left), password="netapp1!")
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 600}, {"state": "success"}]
    )
    return sim


def _href(body: Any) -> str:
    return str(body["job"]["_links"]["self"]["href"])


def test_return_timeout_autojump_stops_at_year_9999_and_jobs_stay_readable() -> None:
    """Attack: a write with return_timeout=120 a minute before the end of time."""
    sim = _sim_near_the_end(60)
    client = sim.app.test_client()
    answer = client.post("/api/storage/volumes?return_timeout=120", json=VOLUME, headers=AUTH)
    assert answer.status_code == 202, answer.json
    assert sim.clock.now() == LATEST_TIME
    job = client.get(_href(answer.get_json()), headers=AUTH)
    assert job.status_code == 200, job.json
    assert job.get_json()["state"] == "running"
    assert client.get("/api/cluster/jobs", headers=AUTH).status_code == 200
    assert sim.errors == []


def test_a_delay_fault_stops_the_clock_at_year_9999_and_jobs_stay_readable() -> None:
    """Attack: a 3600 s delay fault a minute before the end of time, then job reads."""
    sim = _sim_near_the_end(60)
    client = sim.app.test_client()
    answer = client.post("/api/storage/volumes", json=VOLUME, headers=AUTH)
    assert answer.status_code == 202
    sim.fault("GET", "/api/cluster/jobs/*", times=None, delay=3600)
    for _ in range(2):
        job = client.get(_href(answer.get_json()), headers=AUTH)
        assert job.status_code == 200, job.json
        assert job.get_json()["start_time"].startswith("9999-12-31T23:5")
    assert sim.clock.now() == LATEST_TIME
    advance = client.post("/simulator/clock", json={"advance": 1}, headers=AUTH)
    assert advance.status_code == 400
    assert sim.errors == []
