"""A job's whole lifecycle as a user's suite feels it, against a hand-written ``responses`` mock.

Generates six test modules of ``--tests`` tests each in a temporary directory and runs pytest on
each in a subprocess (``-p no:cacheprovider``), the six interleaved, ``--runs`` times; a figure
is the best of the runs:

- ``mock``: a hand-written ``responses`` mock, ``time.sleep`` patched out: a 202 for the POST and
  a callback for the job GET that walks queued -> running -> success (1 POST + 4 GETs);
- ``empty``: ``ontap_sim`` + ``ontap_client`` and an empty test body (in process);
- ``3-poll``: a scripted job that ``ontap_client.post`` sees end on its 3rd poll, in process and
  over HTTP;
- ``30-min``: a 30-minute scripted job with the default ``PollPolicy`` (~67 polls), in process
  and over HTTP.

Each run reports pytest's own session time (the ``in N s`` of its summary line) and the CPU time
of the pytest process between ``pytest_sessionstart`` and ``pytest_sessionfinish``, which moves
much less with the load of a shared machine than wall time does. Ratios are to ``mock``.

``--scale`` adds the cost of one job GET and of one write (a volume POST that starts a job), in
CPU µs through the app's test client, with 1k, 10k and 100k finished jobs retained. From the
repository root::

    python -m bench.lifecycle [--runs 3] [--tests 200] [--scale]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench._common import machine

MOCK = textwrap.dedent(
    """
    import json
    import time

    import pytest
    import requests
    import responses

    URL = "https://cluster.example.com"
    UUID = "3a4a1f7e-0000-4000-8000-000000000001"
    JOB = "/api/cluster/jobs/" + UUID


    @pytest.mark.parametrize("n", range(TESTS))
    def test_lifecycle(monkeypatch, n):
        monkeypatch.setattr(time, "sleep", lambda seconds: None)
        states = iter(["queued", "running", "running", "success"])

        def job(request):
            body = {"uuid": UUID, "state": next(states), "message": ""}
            return 200, {}, json.dumps(body)

        with responses.RequestsMock() as mock:
            mock.add(
                responses.POST,
                URL + "/api/storage/volumes",
                json={"job": {"uuid": UUID, "_links": {"self": {"href": JOB}}}},
                status=202,
            )
            mock.add_callback(responses.GET, URL + "/api/cluster/jobs/" + UUID, callback=job)
            with requests.Session() as session:
                session.auth = ("admin", "netapp1!")
                r = session.post(URL + "/api/storage/volumes", json={"name": f"v{n}"}, timeout=30)
                uuid = r.json()["job"]["uuid"]
                while True:
                    state = session.get(
                        f"{URL}/api/cluster/jobs/{uuid}", params={"fields": "state,message"},
                        timeout=30,
                    ).json()["state"]
                    if state in ("success", "failure"):
                        break
                    time.sleep(1)
            assert len(mock.calls) == 5
        assert state == "success"
    """
)

EMPTY = textwrap.dedent(
    """
    import pytest


    @pytest.mark.parametrize("n", range(TESTS))
    def test_empty(ontap_sim, ontap_client, n):
        pass
    """
)

SCRIPTED = textwrap.dedent(
    """
    import pytest

    STEPS = STEPS_LITERAL
    BODY = {"svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


    @pytest.mark.parametrize("n", range(TESTS))
    def test_scripted(ontap_sim, ontap_client, n):
        ontap_sim.script("POST", "/api/storage/volumes", STEPS)
        result = ontap_client.post("/api/storage/volumes", json={"name": f"v{n}", **BODY})
        assert result.state == "success"
        assert POLLS_CHECK
    """
)

# Polls at ~1 s, ~2.5 s, ~4.75 s (1 s x1.5, +-10 %): the job ends at 3 s, seen on the 3rd poll.
THREE_POLL = [{"state": "queued", "seconds": 0.5}, {"state": "running", "seconds": 2.5}]
THIRTY_MIN = [{"state": "queued", "seconds": 5}, {"state": "running", "seconds": 1795}]

CONFTEST = textwrap.dedent(
    """
    import json
    import os
    import time

    _began = {}


    def pytest_sessionstart(session):
        _began["cpu"] = time.process_time()


    def pytest_sessionfinish(session):
        with open(os.environ["BENCH_OUT"], "w") as out:
            json.dump({"cpu": time.process_time() - _began["cpu"]}, out)
    """
)

#: name -> (module text, pytest options)
CASES: dict[str, tuple[str, list[str]]] = {}


def _scripted(steps: list[dict[str, object]], polls_check: str) -> str:
    steps = [*steps, {"state": "success"}]
    return SCRIPTED.replace("STEPS_LITERAL", repr(steps)).replace("POLLS_CHECK", polls_check)


def cases(transports: list[str]) -> dict[str, tuple[str, list[str]]]:
    out = {
        "mock": (MOCK, []),
        "empty, inprocess": (EMPTY, ["--ontap-transport=inprocess"]),
    }
    for name, steps, check in (
        ("3-poll", THREE_POLL, "result.polls == 3"),
        ("30-min", THIRTY_MIN, "60 <= result.polls <= 75"),
    ):
        for transport in transports:
            out[f"{name}, {transport}"] = (
                _scripted(steps, check),
                [f"--ontap-transport={transport}"],
            )
    return out


SUMMARY = re.compile(r"(\d+) passed.* in ([0-9.]+)s")


def run_case(
    directory: Path, name: str, text: str, options: list[str], tests: int
) -> dict[str, float]:
    slug = re.sub(r"[^a-z0-9]+", "_", name)
    module = directory / f"test_{slug}.py"
    module.write_text(text.replace("TESTS", str(tests)))
    out = directory / f"out_{slug}.json"
    env = dict(os.environ, BENCH_OUT=str(out), ONTAP_URL="")
    for key in ("ONTAP_TRANSPORT", "ONTAP_CLOCK", "ONTAP_SCENARIO", "PYTEST_ADDOPTS"):
        env.pop(key, None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *options,
            "--rootdir",
            str(directory),
            str(module),
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found = SUMMARY.search(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")
    if proc.returncode != 0 or found is None or int(found.group(1)) != tests:
        raise RuntimeError(f"pytest failed ({name}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return {"session_s": float(found.group(2)), "cpu_s": json.loads(out.read_text())["cpu"]}


def scale(sizes: list[int], gets: int, writes: int) -> list[dict[str, float]]:
    """CPU µs per job GET and per write with ``sizes`` finished jobs retained (cumulative)."""
    import requests

    from simulator import Simulator
    from simulator.jobs import JobScript

    finished = JobScript.parse([{"state": "success"}])
    sim = Simulator(clock="virtual")
    client = sim.app.test_client()
    auth = {"Authorization": requests.auth._basic_auth_str(sim.username, sim.password)}
    uuids: list[str] = []
    rows = []
    made = 0
    for size in sizes:
        while len(uuids) < size:
            uuids.append(sim.jobs.create(f"POST /api/storage/volumes/{len(uuids)}", finished).uuid)
        gc.collect()
        job = uuids[len(uuids) // 2]
        path = f"/api/cluster/jobs/{job}?fields=state,message"
        samples = []
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(gets // 5):
                assert client.get(path, headers=auth).status_code == 200
            samples.append((time.process_time() - t0) / (gets // 5) * 1e6)
        get_us = statistics.median(samples)
        samples = []
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(writes // 5):
                made += 1
                r = client.post(
                    "/api/storage/volumes",
                    json={
                        "name": f"w{made}",
                        "svm": {"name": "vs0"},
                        "aggregates": [{"name": "aggr1"}],
                    },
                    headers=auth,
                )
                assert r.status_code == 202, r.data[:300]
            samples.append((time.process_time() - t0) / (writes // 5) * 1e6)
        write_us = statistics.median(samples)
        rows.append(
            {
                "jobs": len(sim.jobs),
                "volumes": made,
                "journal": len(sim.journal),
                "get_us": get_us,
                "write_us": write_us,
            }
        )
        print(f"#   scale {size:,}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument(
        "--transports",
        default="inprocess,http",
        help="comma-separated --ontap-transport values for the scripted cases",
    )
    parser.add_argument("--only", default="", help="comma-separated case names to run")
    parser.add_argument("--scale", action="store_true", help="also measure cost against scale")
    parser.add_argument("--no-lifecycle", action="store_true", help="only --scale")
    opts = parser.parse_args()
    print(machine())
    table = cases(opts.transports.split(","))
    if opts.only:
        wanted = set(opts.only.split(","))
        table = {k: v for k, v in table.items() if k in wanted or k == "mock"}
    if not opts.no_lifecycle:
        print(f"# {opts.runs} runs x {opts.tests} tests per case, interleaved; best of the runs")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in table}
        with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as tmp:
            directory = Path(tmp)
            (directory / "conftest.py").write_text(CONFTEST)
            for run in range(opts.runs):
                for name, (text, options) in table.items():
                    row = run_case(directory, name, text, options, opts.tests)
                    results[name].append(row)
                    print(f"#   run {run + 1} {name}: {row}", flush=True)
        best = {
            name: {key: min(r[key] for r in rows) for key in rows[0]}
            for name, rows in results.items()
        }
        base = best["mock"]
        print()
        print(
            f"| {opts.tests} tests, each … | pytest session s | x mock | session CPU s | x mock "
            "| ms CPU a test |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name, row in best.items():
            print(
                f"| {name} | {row['session_s']:.2f} | {row['session_s'] / base['session_s']:.2f}x "
                f"| {row['cpu_s']:.2f} | {row['cpu_s'] / base['cpu_s']:.2f}x "
                f"| {row['cpu_s'] / opts.tests * 1000:.1f} |"
            )
    if opts.scale:
        rows = scale([1_000, 10_000, 100_000], gets=2000, writes=500)
        print()
        print("| finished jobs retained | jobs held | job GET CPU µs | write CPU µs | journal |")
        print("|---:|---:|---:|---:|---:|")
        for size, row in zip([1_000, 10_000, 100_000], rows, strict=True):
            print(
                f"| {size:,} | {row['jobs']:,.0f} | {row['get_us']:.0f} | {row['write_us']:.0f} "
                f"| {row['journal']:,.0f} |"
            )


if __name__ == "__main__":
    main()
