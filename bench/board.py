"""The job board (``/simulator/ui``) with 10,000 retained jobs: server cost, page load, updates.

Builds a virtual-clock simulator holding ``--jobs`` jobs (success, failure, running, queued and
user-paused, newest paused) and a journal at its 100,000-entry limit, then measures:

- **server**: each JSON answer the page polls, in process (Flask test client), median and p95
  wall time, CPU time, and size; ``jobs_page`` alone is the time the simulator's lock is held;
- **tick over HTTP**: the page's four polls in a row on one keep-alive ``requests.Session``;
- **browser** (headless Chromium through Selenium, as tests/test_ui.py runs it): page load to
  the first drawn table (``performance`` mark ``board:first-draw``), the script's draw time
  per update while the clock moves every poll (``board:draw`` measures), and the delay from
  a write answered to its row on screen.

From the repository root::

    python -m bench.board [--jobs 10000] [--journal 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from bench._common import machine, percentile
from simulator import Simulator, serve

AUTH = ("admin", "netapp1!")
HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
PATH = "/api/bench/jobs"
FOREVER = 10**6
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
POLLS = {
    "jobs, newest page (limit 50)": "/simulator/jobs?offset=0&limit=50",
    "jobs, last page": "/simulator/jobs?offset={last}&limit=50",
    "jobs, state=running": "/simulator/jobs?offset=0&limit=50&state=running",
    "jobs, limit 200": "/simulator/jobs?offset=0&limit=200",
    "journal, latest 100": "/simulator/requests/latest?limit=100",
    "journal, match=v9 (no hit: 20,000 entries scanned)": "/simulator/requests/latest?match=v9",
    "journal, match=fields (all hit)": "/simulator/requests/latest?limit=100&match=fields",
    "scripts": "/simulator/scripts",
    "faults": "/simulator/faults",
}
TICK = [
    "/simulator/jobs?offset=0&limit=50",
    "/simulator/requests/latest?limit=100",
    "/simulator/scripts",
    "/simulator/faults",
]


def build(jobs: int, journal: int) -> Simulator:
    """A simulator with ``jobs`` retained jobs in every state, and ``journal`` journal entries
    (one per write, then job GETs)."""
    sim = Simulator(clock="virtual", scenario={"endpoints": [{"method": "POST", "path": PATH}]})
    fifth = jobs // 5
    steps: list[tuple[list[dict[str, Any]], int]] = [
        ([{"state": "running", "seconds": 1}, {"state": "success"}], jobs - 4 * fifth),
        ([{"state": "running", "seconds": 1}, {"state": "failure", "code": 5}], fifth),
        ([{"state": "queued", "seconds": FOREVER}, {"state": "success"}], fifth),
        ([{"state": "running", "seconds": FOREVER}, {"state": "success"}], fifth),
        ([{"state": "running", "seconds": FOREVER}, {"state": "success"}], fifth),
    ]
    for script, times in steps:
        sim.script("POST", PATH, script, times=times)
    client = sim.app.test_client()
    uuids = []
    for _ in range(jobs):
        uuids.append(client.post(PATH, json={}, headers=HEADERS).json["job"]["uuid"])
    sim.advance(2)
    for job_uuid in uuids[-fifth:]:
        sim.jobs.act(job_uuid, "pause")
    sim.fault("GET", "/api/cluster/jobs/*", times=3, status=503)
    for i in range(journal - jobs):
        job_uuid = uuids[i % len(uuids)]
        path = f"/api/cluster/jobs/{job_uuid}"
        query = {"fields": "state,message,code,error"}
        sim.record({"method": "GET", "path": path, "query": query, "status": 200, "time": 0.0})
    return sim


def _time(call: Callable[[], Any], n: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus


def server_table(sim: Simulator, runs: int) -> None:
    from simulator.board import jobs_page

    client = sim.app.test_client()
    last = (len(sim.jobs) - 1) // 50 * 50
    print("| answer | ms wall, median | p95 | ms CPU, median | KiB |")
    print("|---|---:|---:|---:|---:|")
    for name, path in POLLS.items():
        url = path.format(last=last)
        size = len(client.get(url, headers=HEADERS).data) / 1024
        walls, cpus = _time(lambda url=url: client.get(url, headers=HEADERS), runs)
        print(
            f"| `{name}` | {statistics.median(walls):.2f} | {percentile(walls, 95):.2f} | "
            f"{statistics.median(cpus):.2f} | {size:.1f} |"
        )
    params = {"offset": "0", "limit": "50"}
    walls, cpus = _time(lambda: jobs_page(sim, params), runs)
    print(
        f"| `jobs_page()` alone (lock held) | {statistics.median(walls):.2f} | "
        f"{percentile(walls, 95):.2f} | {statistics.median(cpus):.2f} | |"
    )
    tick = sum((len(client.get(p, headers=HEADERS).data) for p in TICK), 0) / 1024
    walls, cpus = _time(lambda: [client.get(p, headers=HEADERS) for p in TICK], runs)
    print(
        f"| **one tick** (the 4 polls, in process) | {statistics.median(walls):.2f} | "
        f"{percentile(walls, 95):.2f} | {statistics.median(cpus):.2f} | {tick:.1f} |"
    )


def http_tick(url: str, runs: int) -> None:
    with requests.Session() as session:
        session.auth = AUTH
        walls, cpus = _time(lambda: [session.get(url + p, timeout=10) for p in TICK], runs)
    print(
        f"| **one tick over HTTP** (keep-alive, server in this process) | "
        f"{statistics.median(walls):.2f} | {percentile(walls, 95):.2f} | "
        f"{statistics.median(cpus):.2f} | |"
    )


@contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        raise SystemExit("chromium and chromedriver are needed (apt-get install chromium ...)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            driver.set_window_size(1280, 900)
            yield driver
        finally:
            driver.quit()


def _wait(driver: Any, script: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.005)
    raise TimeoutError(script)


def browser(sim: Simulator, url: str, runs: int) -> None:
    page = url.replace("://", "://{}:{}@".format(*AUTH)) + "/simulator/ui"
    with chromium() as driver:
        loads, dcl = [], []
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(page)
            first = _wait(
                driver,
                "const m = performance.getEntriesByName('board:first-draw')[0];"
                "return m && m.startTime;",
            )
            nav = driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
            )
            loads.append(first)
            dcl.append(nav)
        rows = driver.execute_script("return document.querySelectorAll('#job-rows tr').length")
        print(
            f"| page load to the first drawn table ({rows} rows) | {statistics.median(loads):.0f} "
            f"| {min(loads):.0f}-{max(loads):.0f} |"
        )
        print(
            f"| · of which DOMContentLoaded (HTML, CSS, script) | {statistics.median(dcl):.0f} "
            f"| {min(dcl):.0f}-{max(dcl):.0f} |"
        )

        # What the open page costs the client under test: job GETs with and without it.
        running = next(job.uuid for job in sim.jobs if job.state == "running")
        for label in ("with the page open", "without it (about:blank)"):
            with requests.Session() as session:
                session.auth = AUTH
                job_url = f"{url}/api/cluster/jobs/{running}?fields=state,message,code"
                latencies = []
                for _ in range(runs * 200):
                    started = time.perf_counter()
                    session.get(job_url, timeout=10)
                    latencies.append((time.perf_counter() - started) * 1000)
            print(
                f"| job GET over HTTP, {label} ({len(latencies)} GETs) "
                f"| {statistics.median(latencies):.2f} | p99 {percentile(latencies, 99):.1f}, "
                f"max {max(latencies):.1f} |"
            )
            driver.get("about:blank")
        driver.get(page)
        _wait(driver, "return performance.getEntriesByName('board:first-draw').length")

        # Updates: the clock moves before every poll, so every row's timeline is redrawn.
        driver.execute_script("performance.clearMeasures('board:draw')")
        with requests.Session() as session:
            session.auth = AUTH
            for _ in range(runs * 6):
                session.post(url + "/simulator/clock", json={"advance": 1}, timeout=10)
                time.sleep(0.5)
            draws = driver.execute_script(
                "return performance.getEntriesByName('board:draw').map(e => e.duration)"
            )
            print(
                f"| script time per update, every row changed ({len(draws)} updates) "
                f"| {statistics.median(draws):.1f} | {min(draws):.1f}-{max(draws):.1f} "
                f"(p95 {percentile(draws, 95):.1f}) |"
            )
            # A write answered → its row on screen.
            delays = []
            for i in range(runs * 4):
                answer = session.post(url + PATH, json={}, timeout=10).json()
                answered = time.perf_counter()
                uuid = answer["job"]["uuid"]
                _wait(driver, f"return document.querySelector('tr[data-uuid=\"{uuid}\"]')")
                delays.append((time.perf_counter() - answered) * 1000)
                time.sleep(0.05 * (i % 10))  # writes land at different points of the poll
        print(
            f"| a write answered → its row on screen ({len(delays)} writes) "
            f"| {statistics.median(delays):.0f} | {min(delays):.0f}-{max(delays):.0f} "
            f"(p95 {percentile(delays, 95):.0f}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--journal", type=int, default=100_000, help="journal entries")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    started = time.perf_counter()
    sim = build(args.jobs, args.journal)
    print(
        f"# {len(sim.jobs)} jobs retained, journal {len(sim.journal)} entries, "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    print()
    server_table(sim, runs=args.runs * 40)
    with serve(sim) as handle:
        http_tick(handle.url, runs=args.runs * 40)
        print()
        print("| in Chromium | ms, median | min-max |")
        print("|---|---:|---:|")
        browser(sim, handle.url, args.runs)


if __name__ == "__main__":
    main()
