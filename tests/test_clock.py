"""Clocks: virtual time moves only when told; waits use conditions, not sleep loops."""

from __future__ import annotations

import threading
import time

import pytest

from simulator.clock import VIRTUAL_EPOCH, Clock, RealClock, VirtualClock, make_clock


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
