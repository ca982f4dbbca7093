"""What one request carries between the pieces that serve it (auth, faults, the view, the
journal): kept in its WSGI environ, so each piece takes it explicitly and none needs Flask's
globals."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import ApiError
    from ..faults import FaultRule

__all__ = ["Exchange", "exchange"]

_KEY = "ontap_sim.exchange"


@dataclass(slots=True)
class Exchange:
    """One request's state: when it started, whether it passed auth, the fault it drew, whether
    it was dropped, the job it started, and a body read that failed (not retried)."""

    started: float
    authorized: bool = False
    fault: FaultRule | None = None
    dropped: bool = False
    job_uuid: str | None = None
    body_error: ApiError | None = None


def exchange(environ: MutableMapping[str, Any]) -> Exchange:
    """The request's :class:`Exchange` (made on first use)."""
    found: Exchange | None = environ.get(_KEY)
    if found is None:
        found = environ[_KEY] = Exchange(time.perf_counter())
    return found
