"""Faults on the ONTAP API: a :class:`~simulator.faults.FaultRule` drawn for a request is
applied before the view runs (status, delay, drop, vanish) and after it (malformed, and the
vanishing of the job a write started)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from flask import Response

from ..faults import FaultRule, FaultSet
from .render import CONTENT_TYPE, error_response

__all__ = ["FaultStage", "spoil"]

_JOB_RECORD = ["", "api", "cluster", "jobs"]


def spoil(data: bytes, mode: str) -> bytes:
    """A ``malformed`` fault's body: cut in half, an HTML page, or nothing."""
    if mode == "empty":
        return b""
    if mode == "invalid":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return data[: len(data) // 2] if len(data) > 1 else b"{"


class FaultStage:
    """Draws and applies faults: ``sleep`` waits on the simulator's clock, ``purge`` makes a
    job's record vanish."""

    def __init__(
        self, faults: FaultSet, sleep: Callable[[float], None], purge: Callable[[str], bool]
    ) -> None:
        self.faults = faults
        self.sleep = sleep
        self.purge = purge

    def take(self, method: str, path: str) -> FaultRule | None:
        """The fault this request draws (only requests on ``/api`` draw one)."""
        if not path.startswith("/api"):
            return None
        return self.faults.take(method, path)

    def before(self, rule: FaultRule, path: str) -> Response | None:
        """Apply ``rule`` before the view: an answer replacing the view's, or None to go on.
        (A ``drop`` is :meth:`drop`: the journal must see it first.)"""
        if rule.kind == "status":
            return error_response(rule.error())
        if rule.kind == "delay":
            assert rule.delay is not None
            self.sleep(rule.delay)
        elif rule.kind == "vanish":
            parts = path.rstrip("/").split("/")
            if len(parts) == 5 and parts[:4] == _JOB_RECORD:
                self.purge(parts[4])
        return None

    @staticmethod
    def drop(environ: MutableMapping[str, Any]) -> Response:
        """Close the connection without an answer (the server's ``ontap_sim.drop`` hook); the
        599 returned is what a WSGI caller without that hook sees."""
        close: Callable[[], None] | None = environ.get("ontap_sim.drop")
        if close is not None:
            close()
        response = Response(b"", status=599)
        response.headers["X-Ontap-Sim-Dropped"] = "1"
        return response

    def after_write(self, rule: FaultRule | None, job_uuid: str | None) -> None:
        """A ``vanish`` fault on a write: the job it started is gone at once."""
        if rule is not None and rule.kind == "vanish" and job_uuid:
            self.purge(job_uuid)

    @staticmethod
    def after(rule: FaultRule | None, response: Response) -> None:
        """A ``malformed`` fault spoils the answer's body."""
        if rule is not None and rule.kind == "malformed":
            response.set_data(spoil(response.get_data(), rule.malformed or "truncated"))
            response.content_type = CONTENT_TYPE
