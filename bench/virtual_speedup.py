"""Virtual-time speed-up through the pytest fixtures: a 30-minute job waited on by ``ontap_client``.

Generates a test module in a temporary directory whose ``--tests`` tests each script a volume
POST to run 1,800 s (5 s queued, 1,795 s running, then success) and wait for it with the
``ontap_client`` fixture (default ``PollPolicy()``, the simulator's virtual clock), then runs
pytest on it in a subprocess, once per transport (``http``: a real server on 127.0.0.1;
``inprocess``: the ``responses`` transport). Each test measures its own wall time around
``ontap_client.post`` (and the CPU time of the pytest process, server thread included: it
moves less with other processes' load) and the virtual time that passed; a conftest hook
records pytest's setup/call/teardown durations. Speed-up = simulated seconds / wall seconds.
From the repository root::

    python -m bench.virtual_speedup [--runs 3] [--tests 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench._common import machine, spread

JOB_SECONDS = 1800.0

TEST_MODULE = textwrap.dedent(
    """
    import json
    import os
    import time

    import pytest

    STEPS = [
        {"state": "queued", "seconds": 5},
        {"state": "running", "seconds": 1795},
        {"state": "success"},
    ]


    @pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
    def test_thirty_minute_job(ontap_sim, ontap_client, n):
        ontap_sim.script("POST", "/api/storage/volumes", STEPS)
        virtual0 = ontap_sim.clock.now()
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        result = ontap_client.post(
            "/api/storage/volumes",
            json={"name": f"v{n}", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
        )
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        virtual = ontap_sim.clock.now() - virtual0
        assert result.state == "success"
        with open(os.environ["BENCH_OUT"], "a") as out:
            row = {"wall": wall, "cpu": cpu, "virtual": virtual, "polls": result.polls}
            out.write(json.dumps(row) + "\\n")
    """
)

CONFTEST = textwrap.dedent(
    """
    import json
    import os


    def pytest_runtest_logreport(report):
        with open(os.environ["BENCH_PHASES"], "a") as out:
            out.write(json.dumps({"when": report.when, "duration": report.duration}) + "\\n")
    """
)


def run_pytest(directory: Path, transport: str, tests: int) -> dict[str, float]:
    out = directory / f"out-{transport}.jsonl"
    phases = directory / f"phases-{transport}.jsonl"
    for path in (out, phases):
        path.unlink(missing_ok=True)
    env = dict(
        os.environ,
        BENCH_OUT=str(out),
        BENCH_PHASES=str(phases),
        BENCH_TESTS=str(tests),
        ONTAP_URL="",
    )
    env.pop("ONTAP_TRANSPORT", None)
    env.pop("ONTAP_CLOCK", None)
    began = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--ontap-transport={transport}",
            "--rootdir",
            str(directory),
            str(directory / "test_speedup.py"),
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    total = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"pytest failed ({transport}):\n{proc.stdout[-3000:]}{proc.stderr}")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    phase_rows = [json.loads(line) for line in phases.read_text().splitlines()]
    assert len(rows) == tests, rows
    per_test = {
        when: sum(p["duration"] for p in phase_rows if p["when"] == when) / tests
        for when in ("setup", "call", "teardown")
    }
    wall = statistics.median(r["wall"] for r in rows)
    cpu = statistics.median(r["cpu"] for r in rows)
    virtual = statistics.median(r["virtual"] for r in rows)
    return {
        "virtual_s": virtual,
        "wall_ms": wall * 1000,
        "speedup": virtual / wall,
        "speedup_cpu": virtual / cpu,
        "polls": statistics.median(r["polls"] for r in rows),
        "test_ms": sum(per_test.values()) * 1000,
        "speedup_test": virtual / sum(per_test.values()),
        "setup_ms": per_test["setup"] * 1000,
        "teardown_ms": per_test["teardown"] * 1000,
        "pytest_s": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tests", type=int, default=20)
    opts = parser.parse_args()
    print(machine())
    print(f"# {opts.runs} runs x {opts.tests} tests, each waiting on a {JOB_SECONDS:.0f} s job")
    transports = ["http", "inprocess"]
    results: dict[str, list[dict[str, float]]] = {t: [] for t in transports}
    with tempfile.TemporaryDirectory(prefix="bench-speedup-") as tmp:
        directory = Path(tmp)
        (directory / "test_speedup.py").write_text(TEST_MODULE)
        (directory / "conftest.py").write_text(CONFTEST)
        for run in range(opts.runs):
            for transport in transports:
                row = run_pytest(directory, transport, opts.tests)
                results[transport].append(row)
                print(f"#   run {run + 1} {transport}: {row}", flush=True)

    print()
    print(
        "| transport | simulated s | GETs | wall ms (post + wait) | speed-up (post + wait) "
        "| per CPU second (post + wait) | ms per test (setup+call+teardown) "
        "| speed-up (whole test) | pytest process s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for transport, rows in results.items():
        print(
            f"| {transport} | {statistics.median(r['virtual_s'] for r in rows):.0f} "
            f"| {statistics.median(r['polls'] for r in rows):.0f} "
            f"| {spread([r['wall_ms'] for r in rows], '{:.1f}')} "
            f"| {spread([r['speedup'] for r in rows], '{:,.0f}')}x "
            f"| {spread([r['speedup_cpu'] for r in rows], '{:,.0f}')}x "
            f"| {spread([r['test_ms'] for r in rows], '{:.1f}')} "
            f"| {spread([r['speedup_test'] for r in rows], '{:,.0f}')}x "
            f"| {spread([r['pytest_s'] for r in rows], '{:.2f}')} |"
        )


if __name__ == "__main__":
    main()
