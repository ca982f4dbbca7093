"""Clocks for the simulator: a real one, and a virtual one that moves only when told.

Both satisfy :class:`Clock`. ``now()`` is seconds since the Unix epoch (a float), so job
timestamps read like a real cluster's. ``sleep`` on a virtual clock advances it, which is what
lets a poller that shares the simulator's clock wait through a 30-minute job in microseconds.

``wait_until`` is the one place the simulator blocks: a write honouring ``return_timeout``
waits on a :class:`threading.Condition` (never a sleep loop) until its job is done or the
deadline passes. On a virtual clock it does not block at all: it *autojumps* the clock to the
next moment something can change, as the contract requires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

__all__ = ["VIRTUAL_EPOCH", "Clock", "RealClock", "VirtualClock", "make_clock"]

#: Where a virtual clock starts: 2024-01-01T00:00:00Z.
VIRTUAL_EPOCH = 1_704_067_200.0

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

    ``advance``/``sleep``/``set`` move it forward (never back, except ``reset``). ``wait_until``
    autojumps: it advances the clock to the earlier of the next scheduled change and the
    deadline, repeatedly, so a ``return_timeout`` wait costs no real time.
    """

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._start = float(start)
        self._now = float(start)
        self._lock = threading.Lock()

    @property
    def mode(self) -> ClockMode:
        return "virtual"

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time."""
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError(f"advance takes a finite number of seconds >= 0, got {seconds!r}")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> float:
        """Move time forward to ``when`` (no-op if that is in the past); return the new time."""
        with self._lock:
            if when > self._now:
                self._now = when
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

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
            self.set(target)
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
