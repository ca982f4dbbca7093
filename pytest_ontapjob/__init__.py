"""Test and run NetApp ONTAP job-handling code.

``OntapClient`` sends ONTAP REST writes and waits for their jobs with a deadline-honouring,
fault-tolerant poller (:func:`~pytest_ontapjob.poller.wait_for_job`); the pytest plugin
(``pytest_ontapjob.plugin``) hands tests a simulator or a live cluster.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pytest-ontapjob")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from .client import JobResult, OntapClient
from .errors import (
    AuthError,
    JobError,
    JobFailed,
    JobLost,
    JobPausedTooLong,
    JobTimeout,
    OntapError,
    OntapJobError,
    ProtocolError,
    RetriesExhausted,
    TransportError,
)
from .poller import PollOutcome, PollPolicy, SystemClock, wait_for_job

__all__ = [
    "AuthError",
    "JobError",
    "JobFailed",
    "JobLost",
    "JobPausedTooLong",
    "JobResult",
    "JobTimeout",
    "OntapClient",
    "OntapError",
    "OntapJobError",
    "PollOutcome",
    "PollPolicy",
    "ProtocolError",
    "RetriesExhausted",
    "SystemClock",
    "TransportError",
    "__version__",
    "wait_for_job",
]
