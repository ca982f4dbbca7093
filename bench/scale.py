"""Scale: 10,000 jobs in flight and 100,000 retained: memory, job-GET latency, paging.

On a virtual clock that never moves (so nothing ends or expires), jobs are created through the
engine (``sim.jobs.create``, what ``Simulator.submit`` calls after validating a write): first
``--in-flight`` running jobs, then ``--retained`` finished ones. After each stage: RSS
(``VmRSS``), job-GET latency on random jobs through Flask's test client (in process) and over
HTTP (``serve(sim)``, one keep-alive ``requests.Session``), counting the collection
(``return_records=false``), paging all of it with ``max_records=1000`` (following
``_links.next``) in process, and the peak RSS so far (``VmHWM``). From the repository root::

    python -m bench.scale [--runs 3] [--in-flight 10000] [--retained 100000]

Each run is a fresh process (``--child``), so memory figures do not carry over.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from typing import Any

import requests

from bench._common import machine, percentile, rss_mb, spread
from simulator import Simulator, serve
from simulator.jobs import JobScript

RUNNING = JobScript.parse([{"state": "running", "seconds": 10**9}, {"state": "success"}])
FINISHED = JobScript.parse([{"state": "success"}])
PAGE = 1000
PAGING_BUDGET_S = 900.0  # stop paging (and say so) after this long


def peak_rss_mb() -> float:
    """Peak RSS of this process so far (``VmHWM``), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def latency_us(get: Any, uuids: list[str], count: int, rng: random.Random) -> dict[str, float]:
    times = []
    for _ in range(count):
        job = rng.choice(uuids)
        t0 = time.perf_counter()
        status = get(f"/api/cluster/jobs/{job}?fields=state,message")
        times.append((time.perf_counter() - t0) * 1e6)
        assert status == 200, status
    return {"p50": statistics.median(times), "p99": percentile(times, 99)}


def page_all(client: Any, auth: dict[str, str]) -> dict[str, float]:
    """Follow ``_links.next`` from ``?max_records=1000``; total time, pages, records."""
    url: str | None = f"/api/cluster/jobs?max_records={PAGE}"
    pages = records = 0
    slowest = 0.0
    began = time.perf_counter()
    while url is not None:
        t0 = time.perf_counter()
        r = client.get(url, headers=auth)
        slowest = max(slowest, time.perf_counter() - t0)
        assert r.status_code == 200, r.data[:300]
        body = r.get_json()
        pages += 1
        records += len(body["records"])
        url = body["_links"].get("next", {}).get("href")
        if time.perf_counter() - began > PAGING_BUDGET_S:
            break
    return {
        "seconds": time.perf_counter() - began,
        "pages": pages,
        "records": records,
        "complete": url is None,
        "slowest_page_ms": slowest * 1000,
    }


def stage(sim: Simulator, uuids: list[str], gets: int, http_gets: int) -> dict[str, Any]:
    gc.collect()
    out: dict[str, Any] = {"jobs": len(sim.jobs), "rss_mb": rss_mb()}
    rng = random.Random(1)
    auth = {"Authorization": requests.auth._basic_auth_str(sim.username, sim.password)}
    client = sim.app.test_client()
    out["inprocess_us"] = latency_us(
        lambda u: client.get(u, headers=auth).status_code, uuids, gets, rng
    )
    with serve(sim) as handle, requests.Session() as session:
        session.auth = (sim.username, sim.password)
        session.get(handle.url + "/api/cluster").raise_for_status()
        out["http_us"] = latency_us(
            lambda u: session.get(handle.url + u, timeout=30).status_code, uuids, http_gets, rng
        )
    t0 = time.perf_counter()
    r = client.get("/api/cluster/jobs?return_records=false", headers=auth)
    out["count_ms"] = (time.perf_counter() - t0) * 1000
    assert r.get_json()["num_records"] == len(uuids)
    out["paging"] = page_all(client, auth)
    out["peak_rss_mb"] = peak_rss_mb()
    sim.clear_journal()
    return out


def child(opts: argparse.Namespace) -> None:
    gc.collect()
    base_rss = rss_mb()
    sim = Simulator(clock="virtual")
    sim.app  # noqa: B018 - build the Flask app before measuring
    uuids = [sim.jobs.create("POST /api/storage/volumes", FINISHED).uuid]
    results: dict[str, Any] = {"python_rss_mb": base_rss}
    results["1 job"] = stage(sim, uuids, opts.gets, opts.http_gets)

    t0 = time.perf_counter()
    for i in range(opts.in_flight):
        uuids.append(sim.jobs.create(f"PATCH /api/storage/volumes/{i}", RUNNING).uuid)
    results["create_in_flight_s"] = time.perf_counter() - t0
    results[f"+{opts.in_flight:,} in flight"] = stage(sim, uuids, opts.gets, opts.http_gets)

    t0 = time.perf_counter()
    for i in range(opts.retained):
        uuids.append(sim.jobs.create(f"POST /api/storage/volumes/{i}", FINISHED).uuid)
    results["create_retained_s"] = time.perf_counter() - t0
    results[f"+{opts.retained:,} retained"] = stage(sim, uuids, opts.gets, opts.http_gets)
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=10_000)
    parser.add_argument("--retained", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=2000, help="in-process GETs per stage")
    parser.add_argument("--http-gets", type=int, default=1000, help="HTTP GETs per stage")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts)
        return

    print(machine())
    args = [
        f"--in-flight={opts.in_flight}",
        f"--retained={opts.retained}",
        f"--gets={opts.gets}",
        f"--http-gets={opts.http_gets}",
    ]
    runs = []
    for run in range(opts.runs):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.scale", "--child", *args],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"#   run {run + 1}: {runs[-1]}", flush=True)

    stages = [k for k, v in runs[0].items() if isinstance(v, dict)]
    print()
    print(f"# Python interpreter + imports before the simulator: {runs[0]['python_rss_mb']:.0f} MB")
    print(
        f"# creating {opts.in_flight:,} in-flight jobs: "
        f"{spread([r['create_in_flight_s'] for r in runs], '{:.2f}')} s; "
        f"{opts.retained:,} retained: {spread([r['create_retained_s'] for r in runs], '{:.2f}')} s"
    )
    print()
    print(
        "| jobs held | RSS MB | peak RSS MB | job GET in process p50 / p99 µs "
        "| job GET over HTTP p50 / p99 µs | count (return_records=false) ms "
        "| page all, max_records=1000: s | pages | slowest page ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in stages:
        rows = [r[name] for r in runs]
        paging = [r["paging"] for r in rows]
        done = (
            "" if all(p["complete"] for p in paging) else f" (stopped at {PAGING_BUDGET_S:.0f} s)"
        )
        print(
            f"| {name} ({rows[0]['jobs']:,}) | {spread([r['rss_mb'] for r in rows])} "
            f"| {spread([r['peak_rss_mb'] for r in rows])} "
            f"| {spread([r['inprocess_us']['p50'] for r in rows])} / "
            f"{spread([r['inprocess_us']['p99'] for r in rows])} "
            f"| {spread([r['http_us']['p50'] for r in rows])} / "
            f"{spread([r['http_us']['p99'] for r in rows])} "
            f"| {spread([r['count_ms'] for r in rows], '{:.1f}')} "
            f"| {spread([p['seconds'] for p in paging], '{:.2f}')}{done} "
            f"| {paging[0]['pages']} | {spread([p['slowest_page_ms'] for p in paging])} |"
        )
    last = runs[0][stages[-1]]["rss_mb"]
    met = "met" if statistics.median(r[stages[-1]]["rss_mb"] for r in runs) < 200 else "missed"
    print(f"\n# goal: RSS with {stages[-1]} < 200 MB: {met} (run 1: {last:.0f} MB)")


if __name__ == "__main__":
    main()
