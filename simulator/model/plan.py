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
    then runs before the answer. ``creates``: the completed write is a create as ONTAP answers
    it (a POST; 201), not a change (200). ``records`` are the records a POST creates, when
    the write asked for them (``return_records``).
    """

    description: str
    effect: Callable[[], None]
    location: str | None
    svm: dict[str, Any] | None
    creates: bool
    asynchronous: bool = True
    records: tuple[dict[str, Any], ...] = field(default=())
