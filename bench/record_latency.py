"""Latency ``ontap-sim record`` adds per request, against a local upstream.

An upstream ``ontap-sim`` (real clock) and ``ontap-sim record`` in front of it run as two
processes, as they would in a lab; this process is the client (one ``requests.Session`` each,
keep-alive). Each kind of request is sent ``--requests`` times to the upstream directly and
through the recorder, interleaved, and the per-request wall times are compared:

- ``GET /api/cluster``: a read passed through;
- ``GET /api/cluster/jobs/<uuid>`` with the fields ``OntapClient`` asks for: a poll;
- ``POST <endpoint>``: a write that starts a job (which the recorder then follows with its own
  GETs, in the background).

From the repository root::

    python -m bench.record_latency [--runs 3] [--requests 300]

The recorder's own line on stop (time spent in its code per request, excluding the upstream
and the extra hop) is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from bench._common import machine, percentile, spread
from pytest_ontapjob.client import POLL_FIELDS

AUTH = ("admin", "netapp1!")
ENDPOINT = "/api/bench/jobs"
SCENARIO = json.dumps(
    {
        "endpoints": [{"method": "POST", "path": ENDPOINT}],
        "scripts": [
            {"method": "POST", "path": ENDPOINT, "times": None, "steps": [{"state": "success"}]}
        ],
    }
)


@contextmanager
def process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m simulator *args``; yields it and the URL of its first line."""
    env = {k: v for k, v in os.environ.items() if k != "ONTAP_SIM_PASSWORD"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ontap-sim listening on "), first
        yield proc, first.split(" on ", 1)[1].strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def timed(call: Callable[[], requests.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - started
    assert answer.status_code < 300, (answer.status_code, answer.text[:200])
    return elapsed


def one_run(count: int) -> tuple[dict[str, dict[str, list[float]]], str]:
    """Per kind, the direct and proxied request times (seconds); the recorder's summary line."""
    with tempfile.TemporaryDirectory() as tmp:
        scenario = os.path.join(tmp, "bench.json")
        with open(scenario, "w", encoding="utf-8") as out:
            out.write(SCENARIO)
        out_file = os.path.join(tmp, "recorded.json")
        with (
            process("--port", "0", "--quiet", "--scenario", scenario) as (_, upstream),
            process(
                "record", "--upstream", upstream, "--out", out_file, "--port", "0", "--quiet"
            ) as (recorder, proxy),
        ):
            direct, proxied = requests.Session(), requests.Session()
            for session in (direct, proxied):
                session.auth = AUTH
                session.trust_env = False
            proxied.get(proxy + "/api/cluster", timeout=30)  # the one-off inventory read
            job = direct.post(upstream + ENDPOINT, json={}, timeout=30).json()["job"]["uuid"]
            kinds: dict[str, Callable[[requests.Session, str], requests.Response]] = {
                "GET /api/cluster": lambda s, u: s.get(u + "/api/cluster", timeout=30),
                "GET job (poll)": lambda s, u: s.get(
                    f"{u}/api/cluster/jobs/{job}", params={"fields": POLL_FIELDS}, timeout=30
                ),
                "POST write (job)": lambda s, u: s.post(u + ENDPOINT, json={}, timeout=30),
            }
            times: dict[str, dict[str, list[float]]] = {}
            for kind, call in kinds.items():
                times[kind] = {"direct": [], "proxied": []}
                for _ in range(count):
                    times[kind]["direct"].append(timed(lambda c=call: c(direct, upstream)))
                    times[kind]["proxied"].append(timed(lambda c=call: c(proxied, proxy)))
            time.sleep(1.0)  # let the recorder's followers see the last jobs end
            recorder.send_signal(signal.SIGINT)
            said, _ = recorder.communicate(timeout=60)
    summary = next(
        (line for line in said.splitlines() if line.startswith("ontap-sim record: wrote")), ""
    )
    return times, summary.split("; ", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(machine())
    runs = [one_run(args.requests) for _ in range(args.runs)]
    print(f"\n{args.requests} requests of each kind per run, {args.runs} runs; ms per request\n")
    print(
        "| request | direct median | through recorder median | added median | direct p99 "
        "| through recorder p99 | added p99 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in runs[0][0]:
        rows: dict[str, list[float]] = {k: [] for k in ("dm", "pm", "am", "dp", "pp", "ap")}
        for times, _ in runs:
            d, p = times[kind]["direct"], times[kind]["proxied"]
            dm, pm = statistics.median(d) * 1000, statistics.median(p) * 1000
            dp, pp = percentile(d, 99) * 1000, percentile(p, 99) * 1000
            for key, value in zip(rows, (dm, pm, pm - dm, dp, pp, pp - dp), strict=True):
                rows[key].append(value)
        cells = " | ".join(spread(rows[k], "{:.2f}") for k in rows)
        print(f"| {kind} | {cells} |")
    print("\nThe recorder's own summary per run (time in its code, upstream and hop excluded):")
    for _, summary in runs:
        print(f"- {summary}")


if __name__ == "__main__":
    main()
