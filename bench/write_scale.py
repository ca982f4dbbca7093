"""CPU µs of one volume POST with N volumes already stored (issue 15: a write's cost against
the records of its resource).

For each N, a fresh simulator gets N volumes inserted into its store, then ``--batches``
batches of ``--posts`` volume POSTs (each starting a job) go through the app's test client;
prints each batch's CPU µs per POST.

    python -m bench.write_scale --sizes 1000,10000,100000
"""

from __future__ import annotations

import argparse
import base64
import time

from simulator import Simulator

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}


def measure(stored: int, batches: int, posts: int) -> list[float]:
    sim = Simulator(clock="virtual")
    client = sim.app.test_client()
    svm = client.get("/api/svm/svms?name=vs0", headers=AUTH).get_json()["records"][0]
    aggregate = client.get("/api/storage/aggregates?name=aggr1", headers=AUTH).get_json()
    aggregate_uuid = aggregate["records"][0]["uuid"]
    spec = sim.store.spec.resources["Volume"]
    for index in range(stored):
        sim.store.insert(
            spec,
            {
                "name": f"x{index}",
                "svm": {"name": "vs0", "uuid": svm["uuid"]},
                "aggregates": [{"name": "aggr1", "uuid": aggregate_uuid}],
                "size": 20 * 1024 * 1024,
            },
        )
    out = []
    for batch in range(batches):
        started = time.process_time()
        for index in range(posts):
            body = {"name": f"v{batch}_{index}", "svm": {"name": "vs0"}}
            body["aggregates"] = [{"name": "aggr1"}]
            answer = client.post("/api/storage/volumes", json=body, headers=AUTH)
            assert answer.status_code == 202, answer.get_json()
        out.append((time.process_time() - started) / posts * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--posts", type=int, default=50)
    opts = parser.parse_args()
    for size in (int(text) for text in opts.sizes.split(",")):
        figures = measure(size, opts.batches, opts.posts)
        print(f"{size:>7} volumes stored: POST CPU µs {[round(f) for f in figures]}", flush=True)


if __name__ == "__main__":
    main()
