"""Real-clock ``return_timeout`` wake-up: how long after a job's scripted end its write answers.

Each write is a POST with ``return_timeout=5`` to an endpoint the scenario declares, scripted
to run a random 0.05-0.3 s (seeded) and then succeed. The lateness of one job is the client's
receive time minus the job's scripted end (``end_time`` as the engine computed it from the
script, on the same ``time.time()`` clock). Three modes, each ``--jobs`` jobs:

- ``http sequential``: one write at a time from a spawned client process, over ``serve(sim)``;
- ``http concurrent``: ``--concurrency`` writes in flight at once from that process;
- ``in-process``: ``Simulator.submit`` called directly (no HTTP, no Flask): the engine alone.

From the repository root::

    python -m bench.wakeup_latency [--runs 3] [--jobs 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import random
import statistics
import threading
import time
from typing import Any

import requests

from bench._common import machine, percentile, spread
from simulator import Simulator, serve
from simulator.web.render import write_answer

PATH = "/api/bench/jobs"
RETURN_TIMEOUT = 5


def make_sim() -> Simulator:
    return Simulator(
        clock="real",
        scenario={"endpoints": [{"method": "POST", "path": PATH}]},
        retention=3600,
    )


def durations(jobs: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(0.05, 0.3), 4) for _ in range(jobs)]


def script_all(sim: Simulator, seconds: list[float]) -> None:
    """One script rule per job, in order: the n-th write gets the n-th duration."""
    sim.reset()
    for s in seconds:
        sim.script("POST", PATH, [{"state": "running", "seconds": s}, {"state": "success"}])


def http_client(url: str, auth: tuple[str, str], jobs: int, concurrency: int) -> list[Any]:
    """Client side, in its own process: ``jobs`` writes; (job uuid, status, receive time)."""
    local = threading.local()

    def one(_: int) -> tuple[str, int, float]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.auth = auth
        r = session.post(url, params={"return_timeout": RETURN_TIMEOUT}, json={}, timeout=30)
        received = time.time()
        return r.json()["job"]["uuid"], r.status_code, received

    if concurrency == 1:
        return [one(i) for i in range(jobs)]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(jobs)))


def lateness(sim: Simulator, answers: list[Any]) -> list[float]:
    out = []
    for job_uuid, status, received in answers:
        if status != 201:
            raise AssertionError(f"job {job_uuid} answered {status}, not 201")
        job = sim.jobs.job(job_uuid)
        assert job.ended_at is not None
        out.append(received - job.ended_at)
    return out


def run_http(sim: Simulator, pool: Any, url: str, jobs: int, concurrency: int) -> list[float]:
    answers = pool.apply(http_client, (url, (sim.username, sim.password), jobs, concurrency))
    return lateness(sim, answers)


def run_inprocess(sim: Simulator, jobs: int) -> list[float]:
    answers = []
    for _ in range(jobs):
        answer = sim.submit("POST", PATH, {}, return_timeout=RETURN_TIMEOUT)
        answers.append((answer.job_uuid, write_answer(answer)[0], time.time()))
    return lateness(sim, answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    opts = parser.parse_args()
    print(machine())
    print(f"# {opts.runs} runs x {opts.jobs} jobs of 0.05-0.3 s; return_timeout={RETURN_TIMEOUT}")

    sim = make_sim()
    modes = ["http sequential", f"http concurrent ({opts.concurrency})", "in-process"]
    results: dict[str, list[list[float]]] = {m: [] for m in modes}
    ctx = multiprocessing.get_context("spawn")
    with serve(sim) as handle, ctx.Pool(1) as pool:
        url = handle.url + PATH
        pool.apply(time.sleep, (0,))  # start the worker before timing
        for run in range(opts.runs):
            for mode in modes:
                script_all(sim, durations(opts.jobs, seed=run))
                if mode == "in-process":
                    late = run_inprocess(sim, opts.jobs)
                else:
                    concurrency = 1 if mode == "http sequential" else opts.concurrency
                    late = run_http(sim, pool, url, opts.jobs, concurrency)
                results[mode].append(late)
                ms = [x * 1000 for x in late]
                print(
                    f"#   run {run + 1} {mode}: p50 {statistics.median(ms):.2f} ms, "
                    f"p99 {percentile(ms, 99):.2f} ms, max {max(ms):.2f} ms, "
                    f"min {min(ms):.2f} ms",
                    flush=True,
                )

    print()
    print("| mode | jobs/run | p50 ms | p90 ms | p99 ms | max ms | p99 ≤ 20 ms |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for mode, runs in results.items():
        p50 = [statistics.median(r) * 1000 for r in runs]
        p90 = [percentile(r, 90) * 1000 for r in runs]
        p99 = [percentile(r, 99) * 1000 for r in runs]
        worst = [max(r) * 1000 for r in runs]
        met = "met" if statistics.median(p99) <= 20 else "missed"
        print(
            f"| {mode} | {opts.jobs} | {spread(p50, '{:.2f}')} | {spread(p90, '{:.2f}')} "
            f"| {spread(p99, '{:.2f}')} | {spread(worst, '{:.1f}')} | {met} |"
        )


if __name__ == "__main__":
    main()
