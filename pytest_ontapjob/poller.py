"""The pure job-polling loop: deadline, backoff, jitter, Retry-After and ONTAP's state rules.

It does no I/O of its own: it is handed a ``fetch`` callable that GETs the job record and a
:class:`Clock`, so every rule can be tested exactly on a fake clock, and the same loop runs
against a live cluster, the simulator's virtual clock or a unit test's script.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import (
    JobFailed,
    JobLost,
    JobNotFound,
    JobPausedTooLong,
    JobTimeout,
    ProtocolError,
    RetriesExhausted,
    TransientError,
    quote_body,
)

__all__ = [
    "NON_TERMINAL_STATES",
    "TERMINAL_STATES",
    "Clock",
    "Fetch",
    "PollOutcome",
    "PollPolicy",
    "SystemClock",
    "is_terminal",
    "wait_for_job",
]

logger = logging.getLogger("pytest_ontapjob")

#: States after which a job never changes again.
TERMINAL_STATES: frozenset[str] = frozenset({"success", "failure"})
#: States of a job still in progress (``paused`` included: it may be resumed).
NON_TERMINAL_STATES: frozenset[str] = frozenset({"queued", "running", "paused"})

JobRecord = Mapping[str, Any]
#: GETs the job record with the given read timeout (seconds); raises TransientError to be
#: retried, JobNotFound on a 404, any other OntapJobError to stop.
Fetch = Callable[[float], JobRecord]


#: How many characters of a server-sent value a log line shows.
_LOG_LIMIT = 200
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


def _loggable(value: object) -> str:
    """``value`` for a log line: one line (control characters escaped), at most ``_LOG_LIMIT``."""
    text = str(value)
    cut = len(text) > _LOG_LIMIT
    text = text[:_LOG_LIMIT].translate(_ESCAPES)
    return f"{text}... ({len(str(value))} characters)" if cut else text


def is_terminal(state: str) -> bool:
    """True for ``success`` and ``failure``; False for any other value, unknown ones included."""
    return state in TERMINAL_STATES


class Clock(Protocol):
    """What the poller needs of time; the simulator's clocks satisfy it structurally."""

    def now(self) -> float:
        """Seconds on a monotonic scale (any origin)."""
        ...

    def sleep(self, seconds: float, /) -> None:
        """Let ``seconds`` pass (a virtual clock just advances)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float, /) -> None:
        """Sleep ``seconds`` (negative values sleep not at all)."""
        time.sleep(max(0.0, seconds))


def _check_number(name: str, value: object, *, minimum: float, inclusive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"PollPolicy.{name} must be a finite number, got {value!r}")
    if value < minimum or (not inclusive and value == minimum):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise ValueError(f"PollPolicy.{name} must be {bound}, got {value!r}")


@dataclass(frozen=True)
class PollPolicy:
    """How to wait for a job. All durations are in seconds, on the poller's clock.

    The n-th sleep between GETs is ``min(interval * backoff**n, max_interval)``, times a uniform
    factor in ``[1 - jitter, 1 + jitter]`` so that many clients do not poll in step.
    """

    #: Sleep before the first re-poll; later sleeps grow from it.
    interval: float = 1.0
    #: Growth factor of the sleep per poll (1 keeps it constant).
    backoff: float = 1.5
    #: Cap of the nominal sleep.
    max_interval: float = 30.0
    #: Relative jitter: each sleep is multiplied by uniform(1 - jitter, 1 + jitter).
    jitter: float = 0.1
    #: Deadline counted from the moment the write was sent, request time included.
    timeout: float = 3600.0
    #: Consecutive transient errors (429, 5xx, connection problems) survived; one more gives up.
    max_transient_errors: int = 5
    #: How long a 404 on a job never seen yet is retried (read-after-write lag).
    not_found_grace: float = 10.0
    #: Limit on the total time the job is observed paused; None for no limit but the timeout.
    max_paused: float | None = None
    #: Limit on each request's whole exchange (connect, send, headers and body, however slowly
    #: the server drips them), on the real clock; also clipped to the time left. A write waiting
    #: on ``return_timeout`` gets at least ``return_timeout + 15``.
    read_timeout: float = 60.0
    #: Connect timeout of each request.
    connect_timeout: float = 10.0
    #: Largest answer body read (decoded bytes), for writes and ``OntapClient.get``; a larger
    #: one is a ProtocolError, raised without reading the rest.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Largest job record read while polling (ONTAP's are a few kB).
    max_job_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        _check_number("interval", self.interval, minimum=0, inclusive=False)
        _check_number("backoff", self.backoff, minimum=1, inclusive=True)
        _check_number("max_interval", self.max_interval, minimum=0, inclusive=False)
        if self.max_interval < self.interval:
            raise ValueError(
                f"PollPolicy.max_interval ({self.max_interval!r}) must be >= interval "
                f"({self.interval!r})"
            )
        _check_number("jitter", self.jitter, minimum=0, inclusive=True)
        if self.jitter >= 1:
            raise ValueError(f"PollPolicy.jitter must be < 1, got {self.jitter!r}")
        _check_number("timeout", self.timeout, minimum=0, inclusive=False)
        if isinstance(self.max_transient_errors, bool) or not isinstance(
            self.max_transient_errors, int
        ):
            raise ValueError(
                f"PollPolicy.max_transient_errors must be an int, got {self.max_transient_errors!r}"
            )
        if self.max_transient_errors < 0:
            raise ValueError(
                f"PollPolicy.max_transient_errors must be >= 0, got {self.max_transient_errors!r}"
            )
        _check_number("not_found_grace", self.not_found_grace, minimum=0, inclusive=True)
        if self.max_paused is not None:
            _check_number("max_paused", self.max_paused, minimum=0, inclusive=True)
        _check_number("read_timeout", self.read_timeout, minimum=0, inclusive=False)
        _check_number("connect_timeout", self.connect_timeout, minimum=0, inclusive=False)
        for name in ("max_body_bytes", "max_job_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PollPolicy.{name} must be an int >= 1, got {value!r}")

    def delays(self) -> Iterator[float]:
        """The nominal (jitter-free) sleeps between GETs, endlessly: each backoff times the last."""
        delay = self.interval
        while True:
            yield delay
            delay = min(delay * self.backoff, self.max_interval)

    def schedule(self, count: int, first_delay: float | None = None) -> list[float]:
        """Times, from the write, of the first ``count`` GETs with instant answers and no jitter.

        ``first_delay`` is the sleep before the first GET (default: ``interval``, and the
        schedule then continues from the second delay).
        """
        delays = self.delays()
        at = next(delays) if first_delay is None else first_delay
        times = [at]
        for delay in itertools.islice(delays, max(0, count - 1)):
            at += delay
            times.append(at)
        return times[:count]


@dataclass(frozen=True)
class PollOutcome:
    """A job that ended in ``success``: its final record, the GETs made, the time from the write."""

    job: JobRecord
    polls: int
    elapsed: float


class _Waiter:
    """State of one :func:`wait_for_job` call."""

    def __init__(
        self,
        fetch: Fetch,
        clock: Clock,
        policy: PollPolicy,
        started_at: float,
        rng: random.Random,
        on_progress: Callable[[JobRecord], None] | None,
        job_id: str | None,
    ) -> None:
        self.fetch = fetch
        self.clock = clock
        self.policy = policy
        self.started_at = started_at
        self.deadline = started_at + policy.timeout
        self.rng = rng
        self.on_progress = on_progress
        self.job_id = job_id
        self.schedule = policy.delays()
        self.last: JobRecord | None = None
        self.polls = 0
        self.errors = 0
        self.last_error: TransientError | None = None
        self.first_not_found: float | None = None
        self.seen: tuple[object, object] | None = None
        self.last_seen_at = 0.0
        self.paused = 0.0

    def next_delay(self) -> float:
        nominal = next(self.schedule)
        jitter = self.policy.jitter
        return nominal * self.rng.uniform(1 - jitter, 1 + jitter) if jitter else nominal

    def timed_out(self, detail: str | None = None) -> JobTimeout:
        if detail is None and self.errors and self.last_error is not None:
            detail = f"the last GET failed: {self.last_error}"
        if detail is None and self.last is None and self.first_not_found is not None:
            detail = "the job's GET answered HTTP 404 so far"
        return JobTimeout(
            self.last,
            self.policy.timeout,
            self.clock.now() - self.started_at,
            polls=self.polls,
            detail=detail,
            job_id=self.job_id,
        )

    def pause(self, delay: float, retry_after: float | None = None) -> None:
        """Sleep before the next GET, never past the deadline; raise JobTimeout if no GET fits."""
        remaining = self.deadline - self.clock.now()
        if retry_after is not None and not math.isnan(retry_after):
            if retry_after > remaining:
                raise self.timed_out(
                    f"the server asked to retry after {retry_after:g} s but only "
                    f"{max(remaining, 0.0):.1f} s remained"
                )
            delay = max(delay, retry_after)
        if delay >= remaining:
            if remaining > 0:
                self.clock.sleep(remaining)
            raise self.timed_out()
        if delay > 0:
            self.clock.sleep(delay)

    def observe(self, record: object) -> str:
        """Check a fetched record, account for pauses, report progress; return its state."""
        if not isinstance(record, Mapping):
            raise ProtocolError("the job record is not a JSON object", record)
        state = record.get("state")
        if state is None:
            raise ProtocolError("the job record has no state", record)
        if not isinstance(state, str) or not (
            state in TERMINAL_STATES or state in NON_TERMINAL_STATES
        ):
            raise ProtocolError(
                f"the job record has an unknown state {quote_body(repr(state), 100)} (expected "
                "queued, running, paused, success or failure)",
                record,
            )
        now = self.clock.now()
        previous = self.last
        self.last = record
        if state == "paused" and previous is not None and previous.get("state") == "paused":
            self.paused += now - self.last_seen_at
        self.last_seen_at = now
        seen = (state, record.get("message"))
        if seen != self.seen:
            self.seen = seen
            logger.info(
                "job %s %s: %s",
                _loggable(record.get("uuid") or self.job_id or "?"),
                state,
                _loggable(record.get("message")),
            )
            if self.on_progress is not None:
                self.on_progress(record)
        max_paused = self.policy.max_paused
        if state == "paused" and max_paused is not None and self.paused > max_paused:
            raise JobPausedTooLong(
                record,
                max_paused,
                self.paused,
                now - self.started_at,
                polls=self.polls,
                job_id=self.job_id,
            )
        return state

    def run(self, first_delay: float | None) -> PollOutcome:
        self.pause(self.next_delay() if first_delay is None else first_delay)
        while True:
            remaining = self.deadline - self.clock.now()
            if remaining <= 0:
                raise self.timed_out()
            self.polls += 1
            try:
                record = self.fetch(min(self.policy.read_timeout, remaining))
            except TransientError as err:
                self.errors += 1
                self.last_error = err
                if self.errors > self.policy.max_transient_errors:
                    raise RetriesExhausted(
                        err, attempts=self.errors, job=self.last, job_id=self.job_id
                    ) from err
                logger.debug(
                    "job %s: transient error %d of %d allowed (HTTP %s), retrying",
                    self.job_id,
                    self.errors,
                    self.policy.max_transient_errors,
                    err.status,
                )
                self.pause(self.next_delay(), err.retry_after)
                continue
            except JobNotFound as err:
                if self.last is not None:
                    raise JobLost(self.last, job_id=self.job_id) from err
                now = self.clock.now()
                if self.first_not_found is None:
                    self.first_not_found = now
                lasted = now - self.first_not_found
                if lasted >= self.policy.not_found_grace:
                    raise JobLost(None, job_id=self.job_id, not_found_for=lasted) from err
                self.pause(self.next_delay())
                continue
            self.errors = 0
            state = self.observe(record)
            if state == "success":
                return PollOutcome(record, self.polls, self.clock.now() - self.started_at)
            if state == "failure":
                raise JobFailed(record, job_id=self.job_id)
            self.pause(self.next_delay())


def wait_for_job(
    fetch: Fetch,
    *,
    clock: Clock,
    policy: PollPolicy,
    started_at: float,
    first_delay: float | None = None,
    rng: random.Random | None = None,
    on_progress: Callable[[JobRecord], None] | None = None,
    job_id: str | None = None,
) -> PollOutcome:
    """Poll a job with ``fetch`` until it succeeds; raise a typed error for any other end.

    ``started_at`` is the clock time the write was sent: the deadline is
    ``started_at + policy.timeout``, so the write's own time counts. ``first_delay`` is the
    sleep before the first GET (default: a jittered ``policy.interval``, since the write just
    said "not done"; 0 to look at once). ``on_progress`` gets each record whose state or message
    changed, the first included. ``job_id`` names the job in messages when no record says it.

    Raises JobFailed, JobTimeout (JobPausedTooLong), JobLost, RetriesExhausted, ProtocolError,
    or any other OntapJobError ``fetch`` raises (e.g. AuthError) unchanged, at once.
    """
    if first_delay is not None and (
        isinstance(first_delay, bool) or not math.isfinite(first_delay) or first_delay < 0
    ):
        raise ValueError(f"first_delay must be a finite number >= 0, got {first_delay!r}")
    waiter = _Waiter(
        fetch,
        clock,
        policy,
        started_at,
        rng if rng is not None else random.Random(),
        on_progress,
        job_id,
    )
    return waiter.run(first_delay)
