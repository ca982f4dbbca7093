"""The netapp-ontap test files' one setup: a real-clock simulator over HTTP, and a
``HostConnection`` to it for each test, checked and reset afterwards."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from netapp_ontap import HostConnection

from simulator import ServerHandle, Simulator, serve

PASSWORD = "netapp1!"
#: The library polls a job this often (a float works: it is only slept).
POLL = 0.02


@contextmanager
def served(scenario: Mapping[str, Any]) -> Iterator[tuple[Simulator, ServerHandle]]:
    """A real-clock simulator with ``scenario``, served on 127.0.0.1 for a module."""
    sim = Simulator(clock="real", password=PASSWORD, scenario=scenario)
    with serve(sim) as handle:
        yield sim, handle


@contextmanager
def connected(server: tuple[Simulator, ServerHandle]) -> Iterator[Simulator]:
    """netapp-ontap connected to ``server`` for one test; no simulator errors, then a reset."""
    sim, handle = server
    with HostConnection(
        handle.host,
        port=handle.port,
        scheme="http",
        username="admin",
        password=PASSWORD,
        verify=False,
        poll_interval=POLL,
    ):
        try:
            yield sim
        finally:
            assert sim.errors == []
            sim.reset()
