"""A validated write and what it does when its job succeeds (the plan/effect split)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WritePlan"]


@dataclass(frozen=True)
class WritePlan:
    """A validated write: what the job is called, and what it does if it succeeds.

    ``effect`` re-validates against the state of the moment it runs and raises
    :class:`~simulator.jobs.EffectError` rather than apply half a change. ``asynchronous``
    is False for an operation ONTAP answers at once (no 202 among its statuses): the effect
    then runs before the answer. ``records`` are the records a POST creates, for
    ``return_records=true``.
    """

    description: str
    effect: Callable[[], None]
    location: str | None
    svm: dict[str, Any] | None
    success_status: int
    asynchronous: bool = True
    records: tuple[dict[str, Any], ...] = field(default=())
