"""The whole API's cost at rest and at start (issue 12, item 7).

- ``ontap-sim``'s first line: wall and CPU seconds from exec to the URL line (median of N);
- RSS of an ``ontap-sim`` process at start, and after one GET of every collection path and one
  POST to every collection that takes one (every resource touched once), over HTTP.

    python -m bench.whole_api --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.model.spec import load_spec  # noqa: E402
from simulator.model.store import fill_path, path_variables  # noqa: E402

ENV = {**os.environ, "ONTAP_SIM_PASSWORD": "bench"}
AUTH = ("admin", "bench")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def first_line(runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=ENV,
            cwd="/tmp",
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        walls.append(time.perf_counter() - started)
        proc.terminate()
        _, _, usage = os.wait4(proc.pid, 0)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def touch_everything() -> tuple[int, int, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--clock", "virtual"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
        cwd="/tmp",
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        time.sleep(0.5)
        at_start = _rss_kib(proc.pid)
        spec = load_spec()
        session = requests.Session()
        session.auth = AUTH
        touched = 0
        for op in spec.operations:
            if op.method not in ("GET", "POST") or op.resource is None:
                continue
            resource = spec.resources[op.resource]
            if op.path != resource.collection_path:
                continue
            path = fill_path(op.path, ["x"] * len(path_variables(op.path)))
            body = {} if op.method == "POST" else None
            session.request(op.method, url + path, json=body, timeout=10)
            touched += 1
        return at_start, _rss_kib(proc.pid), touched
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    wall, cpu = first_line(args.runs)
    print(f"first line: wall median {wall:.3f} s, CPU median {cpu:.3f} s ({args.runs} runs)")
    at_start, after, touched = touch_everything()
    print(
        f"RSS at start {at_start / 1024:.1f} MiB; after {touched} requests touching every "
        f"resource {after / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()
