"""Faults on cue: rules that make matching requests fail the way real clusters and networks do.

A rule matches by method and path glob (``/api/cluster/jobs/*``), fires at most ``times``
times (or forever with ``times: null``), with an optional seeded ``probability`` so flaky
behaviour is reproducible. Kinds:

- ``status``: answer that HTTP status with an ONTAP error body (``message``, ``code`` and
  ``target`` chosen or defaulted), optionally ``Retry-After``;
- ``delay``: hold the request ``delay`` seconds on the simulator's clock, then serve it;
- ``drop``: close the connection with no answer;
- ``malformed``: serve the request, then spoil its body: ``true`` or ``"truncated"`` sends the
  first half (cut mid-JSON), ``"invalid"`` an HTML error page, ``"empty"`` nothing (status and
  ``Content-Type: application/hal+json`` kept, as from a proxy or a crashed worker);
- ``vanish``: purge the job the request concerns (the job read, or the job a write creates)
  before its retention time, so pollers meet the 404 that slow clients see in the field.

``after: n`` lets the first ``n`` matching requests that reach the rule through before it fires
(a request an earlier rule answered never reaches it), so a recording (:mod:`simulator.record`)
can put an error at its place in a sequence of writes.

Faults apply to the ONTAP API only, never to ``/simulator/...``, so a test can always clear them.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_value
from .rules import MAX_GLOB_LENGTH, CountedRule, RuleBook

__all__ = ["FAULT_KINDS", "MALFORMED_MODES", "MAX_MESSAGE_LENGTH", "FaultRule", "FaultSet"]

FAULT_KINDS = ("status", "delay", "drop", "malformed", "vanish")
#: How a ``malformed`` fault spoils the body (``true`` means ``"truncated"``).
MALFORMED_MODES = ("truncated", "invalid", "empty")
_METHODS = ("*", "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS")
_KEYS = {
    "method",
    "path",
    "times",
    "probability",
    "seed",
    "after",
    "status",
    "retry_after",
    "message",
    "code",
    "target",
    "delay",
    "drop",
    "malformed",
    "vanish",
}

_DEFAULT_MESSAGES = {
    429: "too many requests are already being processed; retry after a short delay",
    500: "Internal error. Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_DEFAULT_CODES = {429: "262160", 503: "262160"}

#: Longest ``message`` a fault answers with.
MAX_MESSAGE_LENGTH = 4096

_ids = itertools.count(1)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _code_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= 20


def _number(data: Mapping[str, Any], name: str, *, low: float, high: float | None = None) -> float:
    value = data[name]
    try:
        finite = not isinstance(value, bool) and math.isfinite(value)
    except (TypeError, OverflowError):  # not a number, or an int beyond a float
        finite = False
    if not finite:
        raise bad_value(name, f'"{name}" must be a finite number, got {_short(value)}')
    if value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise bad_value(name, f'"{name}" must be {span}, got {value!r}')
    return float(value)


@dataclass
class FaultRule(CountedRule):
    """One fault rule; ``remaining`` is None for a rule that never runs out."""

    kind: str
    method: str = "*"
    path: str = "*"
    remaining: int | None = 1
    probability: float = 1.0
    seed: int | None = None
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    code: str | None = None
    target: str | None = None
    after: int = 0
    delay: float | None = None
    malformed: str | None = None
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def parse(cls, data: Any) -> FaultRule:
        """Validate a fault as posted to ``/simulator/faults``; ApiError 400 naming the field."""
        if not isinstance(data, Mapping):
            raise bad_value("body", "a fault must be a JSON object")
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ApiError(400, "2", f'Unexpected argument "{unknown[0]}".', unknown[0])
        # Present and not null/false (``"delay": 0`` and ``"status": 0`` still name their kind).
        kinds = [k for k in FAULT_KINDS if data.get(k) is not None and data.get(k) is not False]
        if len(kinds) != 1:
            raise bad_value(
                "kind",
                'a fault needs exactly one of "status", "delay", "drop", "malformed", "vanish"'
                + (f" (got {', '.join(kinds)})" if kinds else ""),
            )
        kind = kinds[0]
        method = data.get("method", "*")
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise bad_value("method", f'"method" must be one of {", ".join(_METHODS)}')
        path = data.get("path", "*")
        if not isinstance(path, str) or not path or len(path) > MAX_GLOB_LENGTH:
            raise bad_value(
                "path",
                f'"path" must be a non-empty glob of at most {MAX_GLOB_LENGTH} characters '
                'such as "/api/cluster/jobs/*"',
            )
        times = data.get("times", 1)
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise bad_value("times", f'"times" must be an integer >= 1 or null, got {times!r}')
        rule = cls(kind=kind, method=method.upper(), path=path, remaining=times)
        if "probability" in data:
            rule.probability = _number(data, "probability", low=0.0, high=1.0)
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise bad_value("seed", f'"seed" must be an integer, got {seed!r}')
        rule.seed = seed
        rule.rng = random.Random(seed)
        after = data.get("after", 0)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise bad_value("after", f'"after" must be an integer >= 0, got {_short(after)}')
        rule.after = after
        if kind == "status":
            status = data["status"]
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise bad_value(
                    "status", f'"status" must be an HTTP error status 400..599, got {status!r}'
                )
            rule.status = status
            if data.get("retry_after") is not None:
                rule.retry_after = _number(data, "retry_after", low=0.0, high=86400.0)
            message = data.get("message")
            if message is not None and (
                not isinstance(message, str) or len(message) > MAX_MESSAGE_LENGTH
            ):
                raise bad_value(
                    "message",
                    f'"message" must be a string of at most {MAX_MESSAGE_LENGTH} characters',
                )
            rule.message = message
            code = data.get("code")
            if code is not None and not _code_like(code):
                raise bad_value(
                    "code",
                    '"code" must be a string of at most 20 characters or a 64-bit integer',
                )
            rule.code = str(code) if code is not None else None
            target = data.get("target")
            if target is not None and not isinstance(target, str):
                raise bad_value("target", '"target" must be a string')
            rule.target = target
        else:
            for name in ("retry_after", "message", "code", "target"):
                if data.get(name) is not None:
                    raise bad_value(name, f'"{name}" applies only to a "status" fault')
        if kind == "delay":
            rule.delay = _number(data, "delay", low=0.0, high=3600.0)
        for flag in ("drop", "vanish"):
            if flag in data and not isinstance(data[flag], bool):
                raise bad_value(flag, f'"{flag}" must be true or false')
        if kind == "malformed":
            mode = data["malformed"]
            if mode is True:
                mode = "truncated"
            if mode not in MALFORMED_MODES:
                raise bad_value(
                    "malformed",
                    f'"malformed" must be true or one of {", ".join(MALFORMED_MODES)}, '
                    f"got {_short(mode)}",
                )
            rule.malformed = mode
        return rule

    def fires(self) -> bool:
        if self.after > 0:
            self.after -= 1
            return False
        return self.probability >= 1.0 or self.rng.random() < self.probability

    def error(self) -> ApiError:
        """The ONTAP error a ``status`` fault answers with."""
        assert self.status is not None
        status = self.status
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = _retry_after_text(self.retry_after)
        return ApiError(
            status,
            self.code or _DEFAULT_CODES.get(status, str(status)),
            self.message or _DEFAULT_MESSAGES.get(status, f"Injected fault: HTTP {status}"),
            self.target,
            headers=headers,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "times": self.remaining,
            "hits": self.hits,
        }
        if self.probability != 1.0:
            out["probability"] = self.probability
        if self.seed is not None:
            out["seed"] = self.seed
        if self.after:
            out["after"] = self.after
        if self.kind == "status":
            out["status"] = self.status
            for name in ("retry_after", "message", "code", "target"):
                if getattr(self, name) is not None:
                    out[name] = getattr(self, name)
        elif self.kind == "delay":
            out["delay"] = self.delay
        elif self.kind == "malformed":
            out["malformed"] = True if self.malformed == "truncated" else self.malformed
        else:
            out[self.kind] = True
        return out


def _retry_after_text(seconds: float) -> str:
    # Retry-After takes whole seconds; fractions are kept for tests on a virtual clock.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class FaultSet:
    """The active fault rules, consulted for each ONTAP API request in the order added.

    Spent rules leave the scan (the last few stay listed); at most ``MAX_RULES`` are armed.
    """

    def __init__(self) -> None:
        self._rules: RuleBook[FaultRule] = RuleBook("fault")
        self._lock = threading.Lock()

    def add(self, data: Mapping[str, Any] | FaultRule) -> FaultRule:
        rule = data if isinstance(data, FaultRule) else FaultRule.parse(data)
        with self._lock:
            return self._rules.add(rule)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request (spending one of its ``times``)."""
        with self._lock:
            return self._rules.take(method, path)

    def __len__(self) -> int:
        """How many rules are armed (0: no request can draw a fault)."""
        return len(self._rules)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules.rules()]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
