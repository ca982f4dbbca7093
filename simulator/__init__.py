"""A fake NetApp ONTAP REST server whose jobs follow scripted state sequences.

``Simulator`` is the cluster (clock, jobs, objects, scripts, faults, journal); ``serve`` runs
its WSGI app on a real socket. See the README for the HTTP contract and the control API.
"""

from .clock import LATEST_TIME, VIRTUAL_EPOCH, Clock, RealClock, VirtualClock
from .errors import ApiError
from .faults import FaultRule
from .jobs import DEFAULT_SCRIPT, JobScript, ScriptError, Step
from .server import ServerHandle, ServerLimits, serve
from .sim import DEFAULT_PASSWORD, DEFAULT_USERNAME, ScriptRule, Simulator

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
