"""Cost of one job poll: over HTTP against in process, in µs per ``GET /api/cluster/jobs/<uuid>``.

Every mode GETs the same running job with the fields ``OntapClient`` asks for, sequentially
from one thread, auth and journal on:

- ``engine``: ``sim.jobs.record(uuid, observe=True)``: no HTTP, no Flask (the floor);
- ``flask test client``: ``sim.app.test_client().get(...)``: WSGI, no socket;
- ``responses transport``: ``requests.Session`` through ``pytest_ontapjob._inprocess``
  (what ``--ontap-transport inprocess`` uses): requests + responses + werkzeug test client;
- ``http keep-alive``: ``requests.Session`` to ``serve(sim)`` on 127.0.0.1 (the default
  transport), server thread in this process as the fixtures run it;
- ``OntapClient.wait (http)`` / ``(inprocess)``: a whole ``wait()`` on a job that ends after N
  polls, divided by N: everything a poll costs inside the product (poller, client, transport);
  also with the session's ``trust_env`` off (no proxy lookup in ``os.environ`` per request).

From the repository root::

    python -m bench.poll_cost [--runs 3] [--gets 2000] [--profile MODE]

CPU time (``time.process_time``: client and server threads together) is printed beside wall
time: on a shared machine it moves less with other processes' load. ``--profile MODE`` runs
that mode once more under cProfile and prints the inclusive time of the key calls.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import requests

from bench._common import machine, spread
from pytest_ontapjob import OntapClient, PollPolicy
from pytest_ontapjob._inprocess import INPROCESS_URL, inprocess_transport
from pytest_ontapjob.client import POLL_FIELDS
from simulator import Simulator, serve

PATH = "/api/bench/jobs"
FOREVER = [{"state": "running", "seconds": 10**9}, {"state": "success"}]


def make_sim() -> tuple[Simulator, str]:
    sim = Simulator(clock="virtual", scenario={"endpoints": [{"method": "POST", "path": PATH}]})
    sim.script("POST", PATH, FOREVER)
    answer = sim.submit("POST", PATH, {})
    assert answer.job_uuid is not None
    return sim, answer.job_uuid


Mode = Callable[[Simulator, str, int], tuple[float, float]]


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU of the whole process: client and server threads) seconds since ``t0``."""
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def engine(sim: Simulator, job: str, gets: int) -> tuple[float, float]:
    record = sim.jobs.record
    t0 = _now()
    for _ in range(gets):
        record(job, observe=True)
    return _since(t0)


def flask_test_client(sim: Simulator, job: str, gets: int) -> tuple[float, float]:
    client = sim.app.test_client()
    auth = {"Authorization": requests.auth._basic_auth_str(sim.username, sim.password)}
    url = f"/api/cluster/jobs/{job}?fields={POLL_FIELDS}"
    t0 = _now()
    for _ in range(gets):
        r = client.get(url, headers=auth)
        assert r.status_code == 200
    return _since(t0)


def _session_loop(session: requests.Session, base: str, job: str, gets: int) -> tuple[float, float]:
    url = f"{base}/api/cluster/jobs/{job}"
    params = {"fields": POLL_FIELDS}
    session.get(url, params=params, timeout=10).raise_for_status()  # connect / warm up
    t0 = _now()
    for _ in range(gets):
        r = session.get(url, params=params, timeout=10)
        assert r.status_code == 200
        r.json()
    return _since(t0)


def responses_transport(sim: Simulator, job: str, gets: int) -> tuple[float, float]:
    with inprocess_transport(sim.app) as mock, requests.Session() as session:
        session.auth = (sim.username, sim.password)
        try:
            return _session_loop(session, INPROCESS_URL, job, gets)
        finally:
            mock.calls.reset()


def http_keepalive(sim: Simulator, job: str, gets: int) -> tuple[float, float]:
    with serve(sim) as handle, requests.Session() as session:
        session.auth = (sim.username, sim.password)
        return _session_loop(session, handle.url, job, gets)


@contextmanager
def _client(sim: Simulator, transport: str) -> Iterator[OntapClient]:
    with ExitStack() as stack:
        if transport == "http":
            base = stack.enter_context(serve(sim)).url
        else:
            base = INPROCESS_URL
            stack.enter_context(inprocess_transport(sim.app))
        policy = PollPolicy(interval=1.0, backoff=1.0, jitter=0.0, timeout=10**8)
        yield stack.enter_context(
            OntapClient(base, auth=(sim.username, sim.password), clock=sim.clock, policy=policy)
        )


def client_wait(transport: str, trust_env: bool = True) -> Mode:
    def mode(sim: Simulator, job: str, gets: int) -> tuple[float, float]:
        # The GET that ends a polls step still shows it; the next one shows success.
        steps = [{"state": "running", "polls": gets - 1}, {"state": "success"}]
        sim.script("POST", PATH, steps)
        uuid = sim.submit("POST", PATH, {}).job_uuid
        assert uuid is not None
        with _client(sim, transport) as client:
            client.session.trust_env = trust_env
            client.get("/api/cluster")  # connect / warm up
            t0 = _now()
            result = client.wait(uuid)
            elapsed = _since(t0)
        assert result.polls == gets, result.polls
        return elapsed

    return mode


MODES: dict[str, Mode] = {
    "engine": engine,
    "flask test client": flask_test_client,
    "responses transport": responses_transport,
    "http keep-alive": http_keepalive,
    "OntapClient.wait (inprocess)": client_wait("inprocess"),
    "OntapClient.wait (http)": client_wait("http"),
    # A proposal, measured: requests scans os.environ for proxy settings twice per request
    # unless the session's trust_env is off (sensible for a client of the local simulator).
    "OntapClient.wait (inprocess, trust_env=False)": client_wait("inprocess", trust_env=False),
    "OntapClient.wait (http, trust_env=False)": client_wait("http", trust_env=False),
}


#: (label, file suffix, function) whose inclusive time --profile reports.
INCLUSIVE = [
    ("poller loop (pytest_ontapjob.poller)", "pytest_ontapjob/poller.py", "run"),
    ("OntapClient fetch", "pytest_ontapjob/client.py", "fetch"),
    ("requests Session.request (client side, all of it)", "requests/sessions.py", "request"),
    (
        "  requests merge_environment_settings (proxy env scan)",
        "requests/sessions.py",
        "merge_environment_settings",
    ),
    ("  requests prepare_request", "requests/sessions.py", "prepare_request"),
    ("  responses mock dispatch", "responses/__init__.py", "_on_request"),
    ("    _inprocess callback", "pytest_ontapjob/_inprocess.py", "answer"),
    ("      werkzeug test Client.open", "werkzeug/test.py", "open"),
    ("        simulator job poll fast path (server side)", "simulator/web/fast.py", "__call__"),
    ("          BasicAuth.check", "simulator/web/auth.py", "check"),
    ("          JobsView.record", "simulator/web/jobs.py", "record"),
    ("            JobEngine.record", "simulator/jobs.py", "record"),
    ("          journal entry", "simulator/web/journal.py", "write_bodiless"),
    ("        Flask.wsgi_app (what the fast path leaves to Flask)", "flask/app.py", "wsgi_app"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--profile", choices=list(MODES))
    opts = parser.parse_args()
    print(machine())
    print(f"# {opts.runs} runs x {opts.gets} GETs per mode, sequential, one thread")
    sim, job = make_sim()
    wall: dict[str, list[float]] = {name: [] for name in MODES}
    cpu: dict[str, list[float]] = {name: [] for name in MODES}
    for run in range(opts.runs):
        for name, mode in MODES.items():
            sim.clear_journal()
            seconds, cpu_seconds = mode(sim, job, opts.gets)
            wall[name].append(seconds / opts.gets * 1e6)
            cpu[name].append(cpu_seconds / opts.gets * 1e6)
            print(
                f"#   run {run + 1} {name}: {wall[name][-1]:.0f} µs/GET wall, "
                f"{cpu[name][-1]:.0f} µs CPU",
                flush=True,
            )
    print()
    print("| mode | µs per job GET (wall) | µs CPU per job GET | GETs/s (one thread, wall) |")
    print("|---|---:|---:|---:|")
    for name in MODES:
        print(
            f"| {name} | {spread(wall[name])} | {spread(cpu[name])} "
            f"| {1e6 / statistics.median(wall[name]):,.0f} |"
        )

    if opts.profile:
        profiler = cProfile.Profile()
        sim.clear_journal()
        profiler.enable()
        MODES[opts.profile](sim, job, opts.gets)
        profiler.disable()
        stats = pstats.Stats(profiler)
        entries = stats.stats  # type: ignore[attr-defined]
        total = max(cum for (_, _, _, cum, _) in entries.values())
        print(f"\n# cProfile, {opts.profile}, {opts.gets} GETs: inclusive time of key calls")
        print("| call | share of the mode's time |\n|---|---:|")
        for label, suffix, function in INCLUSIVE:
            cum = sum(
                value[3]
                for (filename, _, name), value in entries.items()
                if name == function and filename.replace("\\", "/").endswith(suffix)
            )
            if cum:
                depth = (len(label) - len(label.lstrip())) // 2
                print(f"| {'· ' * depth}{label.strip()} | {100 * cum / total:.0f} % |")
        print()
        stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
