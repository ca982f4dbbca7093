"""What a hostile client's queries and rules cost the simulator's other clients.

1. ``filter``: one ``GET /api/storage/volumes?name=q0|q1|…`` of ``--alternatives`` plain values
   over 300 volumes, on a real socket, while another client GETs ``/api/cluster`` in a loop:
   the heavy query's status and time, and the other client's slowest answer.
2. ``costliest``: the costliest query within the bounds (32 ``?`` patterns against 300 volumes
   whose comments are 1,000 characters) while another client POSTs volumes: p50 and max.
3. ``spent``: a volume PATCH through Flask's test client (median of 200) with no rules, then
   after arming and spending 25,000 ``times: 1`` scripts and 25,000 faults.

From the repository root::

    python -m bench.hostile_app [--alternatives 8000]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import statistics
import threading
import time
from typing import Any
from urllib.parse import quote

import requests

from bench._common import machine
from simulator import Simulator, serve

AUTH = ("admin", "netapp1!")
HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
VOLUME: dict[str, Any] = {"svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def _inventory(comment: str = "") -> dict[str, Any]:
    volumes = [{"name": f"vol{i}", **VOLUME, "comment": comment} for i in range(300)]
    return {"svms": [{"name": "vs0"}], "aggregates": [{"name": "aggr1"}], "volumes": volumes}


def _while_heavy(sim: Simulator, query: str, other: str) -> None:
    """Run the heavy query on one connection; ``other`` requests on another meanwhile."""
    with serve(sim) as handle, requests.Session() as session:
        session.auth = AUTH
        session.get(handle.url + "/api/cluster", timeout=10)
        heavy: dict[str, Any] = {}

        def run() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=600)
            started = time.perf_counter()
            conn.request("GET", "/api/storage/volumes?" + query, headers=HEADERS)
            answer = conn.getresponse()
            answer.read()
            heavy.update(status=answer.status, seconds=time.perf_counter() - started)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.2)
        latencies: list[float] = []
        while thread.is_alive():
            started = time.perf_counter()
            if other == "get":
                session.get(handle.url + "/api/cluster", timeout=600)
            else:
                body = {"name": f"n{len(latencies)}", **VOLUME}
                session.post(handle.url + "/api/storage/volumes", json=body, timeout=600)
            latencies.append(time.perf_counter() - started)
        thread.join()
    shown = "none (the heavy query ended first)"
    if latencies:
        shown = (
            f"{len(latencies)} answered, p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
    print(f"  heavy query: {heavy['status']} in {heavy['seconds']:.3f} s; other client: {shown}")


def _spent() -> None:
    sim = Simulator()
    client = sim.app.test_client()
    sim.inventory.load(_inventory())
    volume = sim.inventory.volumes()[0]["uuid"]

    def timed() -> float:
        out = []
        for _ in range(200):
            started = time.perf_counter()
            answer = client.patch(
                f"/api/storage/volumes/{volume}", json={"comment": "x"}, headers=HEADERS
            )
            out.append(time.perf_counter() - started)
            assert answer.status_code == 202, answer.json
        return statistics.median(out) * 1000

    print(f"  no rules: {timed():.2f} ms")
    armed_at_once = 500
    for _ in range(25_000 // armed_at_once):
        for _ in range(armed_at_once):
            sim.script("PATCH", "/api/storage/volumes/*", [{"state": "success"}], times=1)
            sim.fault("GET", "/api/nothing/*", times=1, status=503)
        for _ in range(armed_at_once):
            sim.submit("PATCH", f"/api/storage/volumes/{volume}", {"comment": "y"})
            sim.faults.take("GET", "/api/nothing/x")
    print(
        f"  25,000 spent scripts and faults: {timed():.2f} ms "
        f"(listed: {len(sim.scripts())} scripts, {len(sim.faults.list())} faults)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alternatives", type=int, default=8000)
    args = parser.parse_args()
    print(machine())
    print(f"filter: name= {args.alternatives} plain alternatives over 300 volumes")
    query = "name=" + "|".join(f"q{i:x}" for i in range(args.alternatives))
    _while_heavy(Simulator(scenario={"inventory": _inventory()}), query, "get")
    print("costliest: 32 '?' patterns against 300 comments of 1,000 characters")
    patterns = "|".join(["*" + "a?" * 120 + "c*"] * 32)
    sim = Simulator(clock="real", scenario={"inventory": _inventory("ab" * 500)})
    _while_heavy(sim, "comment=" + quote(patterns), "post")
    print("spent: a volume PATCH through Flask's test client, median of 200")
    _spent()


if __name__ == "__main__":
    main()
