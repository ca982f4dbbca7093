"""A fake NetApp ONTAP REST server whose jobs follow scripted state sequences.

``Simulator`` is the cluster (clock, jobs, objects, scripts, faults, journal); ``serve`` runs
its WSGI app on a real socket. See the README for the HTTP contract and the control API.
"""

from __future__ import annotations

import typing

from .clock import LATEST_TIME, VIRTUAL_EPOCH, Clock, RealClock, VirtualClock
from .errors import ApiError
from .faults import FaultRule
from .jobs import DEFAULT_SCRIPT, JobScript, ScriptError, Step
from .server import ServerHandle, ServerLimits, serve
from .sim import DEFAULT_PASSWORD, DEFAULT_USERNAME, ScriptRule, Simulator

if typing.TYPE_CHECKING:
    from flask import Flask


def _create_app(sim: Simulator) -> Flask:
    """``Simulator.app``'s factory: the HTTP layer (Flask loads with the first app)."""
    from .web import create_app

    return create_app(sim)


Simulator.app_factory = _create_app

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_SCRIPT",
    "DEFAULT_USERNAME",
    "LATEST_TIME",
    "VIRTUAL_EPOCH",
    "ApiError",
    "Clock",
    "FaultRule",
    "JobScript",
    "RealClock",
    "ScriptError",
    "ScriptRule",
    "ServerHandle",
    "ServerLimits",
    "Simulator",
    "Step",
    "VirtualClock",
    "serve",
]
