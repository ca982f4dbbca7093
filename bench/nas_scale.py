"""NAS reads and writes as a cluster grows: a qtree collection GET (every volume has its
default qtree), a qtree POST and a volume GET, with N mounted volumes.

Run by hand: ``python -m bench.nas_scale 1000`` (medians of 20, in-process, virtual clock).
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from collections.abc import Callable

from bench._common import machine
from simulator import Simulator

AUTH = {"Authorization": "Basic YWRtaW46bmV0YXBwMSE="}


def median_ms(action: Callable[[], object], runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(volumes: int) -> None:
    svm = {"name": "vs0"}
    inventory = {
        "svms": [svm],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [
            {"name": f"v{i}", "svm": svm, "nas": {"path": f"/v{i}"}} for i in range(volumes)
        ],
    }
    client = Simulator(clock="virtual", scenario={"inventory": inventory}).app.test_client()
    names = (f"q{i}" for i in itertools.count())
    body = {"svm": svm, "volume": {"name": "v1"}}
    cases = {
        "qtree GET (10 records)": lambda: client.get(
            "/api/storage/qtrees?max_records=10", headers=AUTH
        ),
        "qtree POST": lambda: client.post(
            "/api/storage/qtrees?return_timeout=5", headers=AUTH, json={**body, "name": next(names)}
        ),
        "volume GET": lambda: client.get("/api/storage/volumes?name=v1", headers=AUTH),
    }
    print(machine())
    for name, action in cases.items():
        print(f"{volumes} volumes, {name}: {median_ms(action):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
