"""Clocks for the simulator: a real one, and a virtual one that moves only when told.

Both satisfy :class:`Clock`. ``now()`` is seconds since the Unix epoch (a float), so job
timestamps read like a real cluster's. ``sleep`` on a virtual clock advances it, which is what
lets a poller that shares the simulator's clock wait through a 30-minute job in microseconds.

``wait_until`` is the one place the simulator blocks: a write honouring ``return_timeout``
waits on a :class:`threading.Condition` (never a sleep loop) until its job is done or the
deadline passes. On a virtual clock it does not block at all: it *autojumps* the clock to the
next moment something can change, as the contract requires.

A virtual clock stops at :data:`LATEST_TIME` (9999-12-31T23:59:59Z), the last moment an ONTAP
timestamp can show: ``advance`` past it is refused, while ``sleep``, ``set`` and autojumps stop
there, so no request (a ``delay`` fault, a ``return_timeout`` wait) can move it beyond.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

__all__ = ["LATEST_TIME", "VIRTUAL_EPOCH", "Clock", "RealClock", "VirtualClock", "make_clock"]

#: Where a virtual clock starts: 2024-01-01T00:00:00Z.
VIRTUAL_EPOCH = 1_704_067_200.0
#: Where a virtual clock stops: 9999-12-31T23:59:59Z, the last time ONTAP timestamps can show.
LATEST_TIME = 253_402_300_799.0

ClockMode = Literal["real", "virtual"]


@runtime_checkable
class Clock(Protocol):
    """What the simulator needs of a clock."""

    @property
    def mode(self) -> ClockMode: ...

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (on a virtual clock: advance it)."""
        ...

    def wait_until(
        self,
        cond: threading.Condition,
        done: Callable[[], bool],
        deadline: float,
        next_change: Callable[[], float | None],
    ) -> bool:
        """Block (holding ``cond``'s lock on entry and exit) until ``done()`` or ``deadline``.

        ``next_change()`` names the next clock time at which ``done()`` may flip without anybody
        calling ``cond.notify_all()`` (a scripted step ending), or None. Returns ``done()``.
        """
        ...


class RealClock:
    """Wall-clock time; waits block on the condition with a timeout."""

    @property
    def mode(self) -> ClockMode:
        return "real"

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait_until(
        self,
        cond: threading.Condition,
        done: Callable[[], bool],
        deadline: float,
        next_change: Callable[[], float | None],
    ) -> bool:
        while not done():
            now = self.now()
            if now >= deadline:
                return False
            wake = deadline
            change = next_change()
            if change is not None and change < wake:
                wake = change
            # A tiny floor keeps a step ending "now" from spinning on float rounding.
            cond.wait(max(wake - now, 0.0005))
        return True

    def __repr__(self) -> str:
        return "RealClock()"


class VirtualClock:
    """Simulated time, starting at :data:`VIRTUAL_EPOCH`; it moves only when told.

    ``advance``/``sleep``/``set`` move it forward (never back, except ``reset``), never past
    :data:`LATEST_TIME`. ``wait_until`` autojumps: it advances the clock to the earlier of the
    next scheduled change and the deadline, repeatedly, so a ``return_timeout`` wait costs no
    real time.
    """

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        start = float(start)
        if not math.isfinite(start) or start > LATEST_TIME:
            raise ValueError(
                f"a virtual clock starts at a finite time <= {LATEST_TIME}, not {start}"
            )
        self._start = start
        self._now = float(start)
        self._lock = threading.Lock()

    @property
    def mode(self) -> ClockMode:
        return "virtual"

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time.

        ValueError, and no move, when that would pass :data:`LATEST_TIME`.
        """
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError(f"advance takes a finite number of seconds >= 0, got {seconds!r}")
        with self._lock:
            if seconds > LATEST_TIME - self._now:
                raise ValueError(
                    f"advance {seconds!r} would move the clock past the year 9999 "
                    "(9999-12-31T23:59:59Z)"
                )
            self._now += seconds
            return self._now

    def set(self, when: float) -> float:
        """Move time forward to ``when``, or to :data:`LATEST_TIME` if that is earlier (no-op
        if ``when`` is in the past or not a number); return the new time."""
        with self._lock:
            when = min(when, LATEST_TIME)
            if when > self._now:
                self._now = when
            return self._now

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass, stopping at :data:`LATEST_TIME` (where time stands still)."""
        if seconds > 0:
            with self._lock:
                self._now = min(self._now + seconds, LATEST_TIME)

    def reset(self) -> None:
        """Go back to the start epoch."""
        with self._lock:
            self._now = self._start

    def wait_until(
        self,
        cond: threading.Condition,
        done: Callable[[], bool],
        deadline: float,
        next_change: Callable[[], float | None],
    ) -> bool:
        while not done():
            now = self._now
            if now >= deadline:
                return False
            target = deadline
            change = next_change()
            if change is not None and change < target:
                target = max(change, now)
            if target <= now:
                # A change due now that done() did not pick up: nothing more can happen
                # without another actor, so jump to the deadline.
                target = deadline
            if self.set(target) <= now:
                return False  # stopped at LATEST_TIME: nothing can change any more
        return True

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


def make_clock(clock: ClockMode | Clock) -> Clock:
    """Return a clock for ``"real"``, ``"virtual"``, or an existing clock object."""
    if clock == "real":
        return RealClock()
    if clock == "virtual":
        return VirtualClock()
    if isinstance(clock, Clock):
        return clock
    raise ValueError(f"clock must be 'real', 'virtual' or a Clock, got {clock!r}")
