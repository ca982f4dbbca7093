"""Memory a hostile client can make ``ontap-sim`` hold: RSS before and after large bodies.

Starts ``python -m simulator --port 0`` in a subprocess, reads its ``VmRSS`` from /proc, then
sends ``--count`` POSTs of a 1 MiB JSON body (``[{}, {}, ...]``: many small objects, the body
that costs the most once parsed) to ``/api/storage/volumes``: first without credentials (401),
then with credentials (refused: the body is a list, 400). RSS after each stage. From the
repository root::

    python -m bench.hostile_rss [--count 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import requests

from bench._common import machine

PASSWORD = "netapp1!"  # the simulator's documented default


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    body = b"[" + b",".join([b"{}"] * (1024 * 1024 // 3 - 1)) + b"]"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--clock", "virtual"],
        stdout=subprocess.PIPE,
        text=True,
        env={"ONTAP_SIM_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        with requests.Session() as session:
            session.get(url + "/api/cluster", auth=("admin", PASSWORD), timeout=10)
            time.sleep(0.2)
            print(machine())
            print(f"# {args.count} POSTs of a {len(body):,}-byte body each")
            print(f"start: {_rss_mb(proc.pid):.0f} MiB")
            headers = {"Content-Type": "application/json"}
            for auth, label in ((None, "unauthenticated (401)"), (("admin", PASSWORD), "refused")):
                statuses = set()
                for _ in range(args.count):
                    answer = session.post(
                        url + "/api/storage/volumes",
                        data=body,
                        auth=auth,
                        headers=headers,
                        timeout=60,
                    )
                    statuses.add(answer.status_code)
                print(f"after {label} {sorted(statuses)}: {_rss_mb(proc.pid):.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
