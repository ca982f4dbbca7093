"""Hypothesis strategies for property-testing ONTAP job-handling code against the simulator.

Everything here generates plain JSON-ready data (or :class:`~pytest_ontapjob.PollPolicy`
instances), valid for the simulator's control API and its Python API alike::

    @given(steps=job_scripts(outcome="failure"))
    def test_my_code_reports_failures(ontap_sim, ontap_client, steps):
        ontap_sim.script("POST", "/api/storage/volumes", steps)
        ...

Import-light: this module needs only Hypothesis (and the pure poller for ``PollPolicy``); it
never imports the simulator, Flask, requests or pytest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .poller import PollPolicy

__all__ = [
    "FAULT_KINDS",
    "FAULT_STATUSES",
    "JOB_MESSAGES",
    "fault_schedules",
    "invalid_return_timeouts",
    "job_scripts",
    "poll_policies",
    "return_timeouts",
]

T = TypeVar("T")
Step = dict[str, Any]
Fault = dict[str, Any]
Outcome = Literal["success", "failure"]

#: Messages real clusters show while a job runs or when it ends (a sample, for realism).
JOB_MESSAGES: tuple[str, ...] = (
    "Checking remote storage pool",
    "Creating volume",
    "success",
    "Complete: Successful [0]",
    "entry doesn't exist",
    "There are not enough disks in Pool1.",
    "Job failed",
    "",
)
#: Transient statuses a poller must survive: 429 and the 5xx a loaded cluster or proxy gives.
FAULT_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)
#: Fault kinds :func:`fault_schedules` draws by default (``vanish`` is opt-in: it loses jobs).
FAULT_KINDS: tuple[str, ...] = ("status", "delay", "drop", "malformed")
_ALL_FAULT_KINDS = frozenset({*FAULT_KINDS, "vanish"})

_NON_TERMINAL = ("queued", "running", "paused")
_MAX_RETURN_TIMEOUT = 120


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidArgument(message)


def _finite(name: str, value: float) -> None:
    _check(
        not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value),
        f"{name} must be a finite number, got {value!r}",
    )


def _messages() -> st.SearchStrategy[str]:
    return st.sampled_from(JOB_MESSAGES) | st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
    )


def _codes() -> st.SearchStrategy[int]:
    # Real codes: 0, small ones (4 = entry doesn't exist) and 6-7 digit ones (460770).
    return st.sampled_from((0, 4, 460770, 917536, 2432844)) | st.integers(0, 2**31 - 1)


def _maybe(draw: st.DrawFn, step: Step, key: str, values: st.SearchStrategy[Any]) -> None:
    value = draw(st.none() | values)
    if value is not None:
        step[key] = value


def job_scripts(
    *,
    min_steps: int = 1,
    max_steps: int = 6,
    polls: bool = True,
    paused: bool = True,
    outcome: Outcome | None = None,
    max_seconds: float = 3600.0,
    min_seconds: float = 0.0,
    max_polls: int = 5,
    queued_first: bool = True,
) -> st.SearchStrategy[list[Step]]:
    """Step lists valid for ``POST /simulator/scripts`` and ``Simulator.script``.

    Each list holds ``min_steps..max_steps`` steps (the terminal one included): non-terminal
    steps (``queued``, ``running``, and ``paused`` unless ``paused=False``) lasting ``seconds``
    within ``min_seconds..max_seconds`` or, unless ``polls=False``, ``polls`` within
    ``1..max_polls`` observations, then one terminal step (``outcome``, or either) with an
    optional ``message`` and integer ``code``. Scripts drawn with ``polls=False`` have a
    fixed duration (the sum of their ``seconds``). ``queued`` steps only lead, as on a real
    cluster, unless ``queued_first=False`` lets them come anywhere (an odd server).
    """
    _check(isinstance(min_steps, int) and min_steps >= 1, f"min_steps must be >= 1: {min_steps!r}")
    _check(
        isinstance(max_steps, int) and max_steps >= min_steps,
        f"max_steps must be an integer >= min_steps ({min_steps}), got {max_steps!r}",
    )
    _check(
        outcome in (None, "success", "failure"),
        f'outcome must be None, "success" or "failure", got {outcome!r}',
    )
    _finite("min_seconds", min_seconds)
    _finite("max_seconds", max_seconds)
    _check(
        0 <= min_seconds <= max_seconds,
        f"need 0 <= min_seconds <= max_seconds, got {min_seconds!r}..{max_seconds!r}",
    )
    _check(isinstance(max_polls, int) and max_polls >= 1, f"max_polls must be >= 1: {max_polls!r}")
    states = _NON_TERMINAL if paused else _NON_TERMINAL[:2]
    started_states = states[1:]
    terminal_states: tuple[str, ...] = (outcome,) if outcome else ("success", "failure")
    seconds = st.floats(
        min_seconds, max_seconds, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )
    poll_counts = st.integers(1, max_polls)

    @st.composite
    def scripts(draw: st.DrawFn) -> list[Step]:
        count = draw(st.integers(min_steps, max_steps))
        steps: list[Step] = []
        may_queue = True
        for _ in range(count - 1):
            step: Step = {"state": draw(st.sampled_from(states if may_queue else started_states))}
            may_queue = (may_queue and step["state"] == "queued") or not queued_first
            if polls and draw(st.booleans()):
                step["polls"] = draw(poll_counts)
            else:
                step["seconds"] = draw(seconds)
            _maybe(draw, step, "message", _messages())
            _maybe(draw, step, "code", _codes())
            steps.append(step)
        last: Step = {"state": draw(st.sampled_from(terminal_states))}
        _maybe(draw, last, "message", _messages())
        _maybe(draw, last, "code", _codes())
        steps.append(last)
        return steps

    return scripts()


def _field(value: T | st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


_INTERVALS = st.floats(0.1, 60.0)
_BACKOFFS = st.floats(1.0, 3.0)
_JITTERS = st.floats(0.0, 0.5, allow_subnormal=False)
_TIMEOUTS = st.floats(1.0, 7200.0)
_TRANSIENT_ERRORS = st.integers(0, 10)
_NOT_FOUND_GRACES = st.floats(0.0, 30.0, allow_subnormal=False)
_MAX_PAUSED: st.SearchStrategy[float | None] = st.none() | st.floats(
    0.0, 3600.0, allow_subnormal=False
)


def poll_policies(
    *,
    interval: float | st.SearchStrategy[float] = _INTERVALS,
    backoff: float | st.SearchStrategy[float] = _BACKOFFS,
    max_interval: float | st.SearchStrategy[float] | None = None,
    jitter: float | st.SearchStrategy[float] = _JITTERS,
    timeout: float | st.SearchStrategy[float] = _TIMEOUTS,
    max_transient_errors: int | st.SearchStrategy[int] = _TRANSIENT_ERRORS,
    not_found_grace: float | st.SearchStrategy[float] = _NOT_FOUND_GRACES,
    max_paused: float | st.SearchStrategy[float | None] | None = _MAX_PAUSED,
    read_timeout: float | st.SearchStrategy[float] = 60.0,
    connect_timeout: float | st.SearchStrategy[float] = 10.0,
) -> st.SearchStrategy[PollPolicy]:
    """:class:`PollPolicy` instances; each field is a fixed value or a strategy to draw it from.

    Defaults: ``interval`` 0.1..60 s, ``backoff`` 1..3, ``jitter`` 0..0.5, ``timeout``
    1..7200 s, ``max_transient_errors`` 0..10, ``not_found_grace`` 0..30 s, ``max_paused``
    None or 0..3600 s. ``max_interval`` defaults to ``interval`` times 1..10; a drawn
    ``max_interval`` smaller than ``interval`` is raised to it, so every policy is valid.
    """

    @st.composite
    def policies(draw: st.DrawFn) -> PollPolicy:
        drawn_interval = draw(_field(interval))
        if max_interval is None:
            cap = drawn_interval * draw(st.floats(1.0, 10.0))
        else:
            cap = draw(_field(max_interval))
        return PollPolicy(
            interval=drawn_interval,
            backoff=draw(_field(backoff)),
            max_interval=max(cap, drawn_interval),
            jitter=draw(_field(jitter)),
            timeout=draw(_field(timeout)),
            max_transient_errors=draw(_field(max_transient_errors)),
            not_found_grace=draw(_field(not_found_grace)),
            max_paused=draw(_field(max_paused)),
            read_timeout=draw(_field(read_timeout)),
            connect_timeout=draw(_field(connect_timeout)),
        )

    return policies()


def return_timeouts(
    *, min_value: int = 0, max_value: int = _MAX_RETURN_TIMEOUT
) -> st.SearchStrategy[int]:
    """Valid ``return_timeout`` values: integers within ONTAP's 0..120 (or a narrower range)."""
    _check(
        isinstance(min_value, int)
        and isinstance(max_value, int)
        and 0 <= min_value <= max_value <= _MAX_RETURN_TIMEOUT,
        f"need 0 <= min_value <= max_value <= 120, got {min_value!r}..{max_value!r}",
    )
    return st.integers(min_value, max_value)


def _valid_return_timeout(text: str) -> bool:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        return False
    return 0 <= value <= _MAX_RETURN_TIMEOUT


def invalid_return_timeouts() -> st.SearchStrategy[str]:
    """Query-string values ONTAP refuses for ``return_timeout`` (400, code 262197).

    Negative or above 120, fractions, words, empty: what a user's validation should catch
    before the cluster does.
    """
    return st.one_of(
        st.integers(max_value=-1).map(str),
        st.integers(min_value=_MAX_RETURN_TIMEOUT + 1).map(str),
        st.sampled_from(("1.5", "abc", "", "true", "1e3", "0x10", "ten", "5s", "nan", "-0.5")),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8).filter(
            lambda text: not _valid_return_timeout(text)
        ),
    )


def fault_schedules(
    *,
    max_faults: int = 3,
    kinds: Sequence[str] = FAULT_KINDS,
    path: str = "/api/cluster/jobs/*",
    method: str = "GET",
    statuses: Sequence[int] = FAULT_STATUSES,
    max_times: int = 3,
    max_delay: float = 10.0,
    max_retry_after: float = 10.0,
) -> st.SearchStrategy[list[Fault]]:
    """Lists of 0..``max_faults`` fault rules valid for ``POST /simulator/faults`` and
    ``Simulator.fault(**rule)``.

    Each rule matches ``method`` and ``path`` (a glob) and fires ``1..max_times`` times: a
    ``status`` from ``statuses`` with an optional whole-second ``retry_after``
    (0..``max_retry_after``), a ``delay`` (over 0, up to ``max_delay`` s on the simulator's
    clock), a ``drop``-ped connection, a ``malformed`` body, or (only when ``kinds`` names it)
    a ``vanish``-ed job. The rules match the same requests, so they fire one after another.
    """
    kinds = tuple(kinds)
    _check(bool(kinds), "kinds must name at least one fault kind")
    unknown = sorted(set(kinds) - _ALL_FAULT_KINDS)
    _check(not unknown, f"unknown fault kinds {unknown}; known: {sorted(_ALL_FAULT_KINDS)}")
    _check(isinstance(max_faults, int) and max_faults >= 0, f"max_faults >= 0: {max_faults!r}")
    _check(isinstance(max_times, int) and max_times >= 1, f"max_times >= 1: {max_times!r}")
    statuses = tuple(statuses)
    _check(
        bool(statuses) and all(isinstance(s, int) and 400 <= s <= 599 for s in statuses),
        f"statuses must be HTTP error statuses 400..599, got {statuses!r}",
    )
    _finite("max_delay", max_delay)
    _finite("max_retry_after", max_retry_after)
    _check(0 < max_delay <= 3600, f"max_delay must be > 0 and <= 3600, got {max_delay!r}")
    _check(0 <= max_retry_after <= 86400, f"max_retry_after must be 0..86400: {max_retry_after!r}")

    @st.composite
    def fault(draw: st.DrawFn) -> Fault:
        rule: Fault = {"method": method, "path": path, "times": draw(st.integers(1, max_times))}
        kind = draw(st.sampled_from(kinds))
        if kind == "status":
            rule["status"] = draw(st.sampled_from(statuses))
            # Retry-After carries whole seconds.
            retry_after = draw(st.none() | st.integers(0, math.floor(max_retry_after)))
            if retry_after is not None:
                rule["retry_after"] = retry_after
        elif kind == "delay":
            rule["delay"] = draw(st.floats(0.0, max_delay, exclude_min=True, allow_subnormal=False))
        else:
            rule[kind] = True
        return rule

    return st.lists(fault(), max_size=max_faults)
