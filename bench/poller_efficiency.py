"""Poller efficiency: GETs per job and how late the end is noticed; deadline overrun under latency.

Part 1, virtual clock (``serve(sim)`` over real HTTP; every sleep advances the simulator's
clock, so a 10-minute job costs milliseconds): a POST answers 202 and the job then runs 10 s,
60 s or 600 s, plus a seeded offset of 0-5 s (the same for every poller) so that pollers on a
fixed grid do not all meet the end exactly. Pollers, each against the same simulator:

- ours: ``OntapClient(clock=sim.clock)`` with ``PollPolicy()`` defaults (1 s x1.5 up to 30 s,
  ±10 % jitter, 3,600 s timeout), over ``--seeds`` jitter seeds;
- ``netapp-ontap``'s ``utils.watch_job`` itself (``pip install netapp-ontap``), its
  ``time.sleep`` swapped for the virtual clock's: defaults (``poll_interval=5``,
  ``poll_timeout=30``), ``poll_interval=1``, and both with ``poll_timeout=3600`` so that they
  see long jobs end. ``poll_interval=1, poll_timeout=3600`` is the fixed 1 s baseline;
- Trident's schedule, modelled in Python on cenkalti/backoff v4's ``ExponentialBackOff``
  (GET at once, then 1 s x1.414 capped at 2 s, ±10 % jitter, give up when elapsed + next
  sleep > 120 s), GETs with ``fields=state``, then one GET with ``fields=**`` once the job
  ended (``RestClient.PollJobStatus`` in storage_drivers/ontap/api/ontap_rest.go).

GETs are counted from the simulator's journal; "late" is the time of the GET that saw the end
minus the job's scripted end.

Part 2, real clock, with a 0.2 s delay fault on every job GET and a job that never ends: wall
time from sending the write until the poller gives up, against its timeout: ours with
``PollPolicy(timeout=T)``, ``netapp-ontap`` with ``poll_timeout=T`` (its interval 1 and 5).
From the repository root::

    python -m bench.poller_efficiency [--runs 3] [--seeds 20] [--skip-overrun]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import statistics
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from bench._common import machine, spread
from pytest_ontapjob import OntapClient, PollPolicy
from simulator import Simulator, serve

PATH = "/api/bench/jobs"
DURATIONS = (10.0, 60.0, 600.0)
#: Each job runs its nominal length plus a seeded offset in [0, PHASE) s, the same for every
#: poller, so that fixed-interval pollers do not all land exactly on the end.
PHASE = 5.0
JOB_GET = "/api/cluster/jobs/"
#: Server latency injected on every job GET in part 2.
DELAY = 0.2


@dataclass
class Outcome:
    gets: int
    late: float | None  # None: gave up before the end
    virtual: float  # clock seconds from the write to the poller's return
    wall: float


def make_sim(clock: str) -> Simulator:
    return Simulator(
        clock=clock,  # type: ignore[arg-type]
        scenario={"endpoints": [{"method": "POST", "path": PATH}]},
        retention=10**6,
    )


def post_job(sim: Simulator, url: str, seconds: float | None) -> str:
    """POST a job (no return_timeout: 202) and return its href; ``seconds``: script it first."""
    if seconds is not None:
        sim.script("POST", PATH, [{"state": "running", "seconds": seconds}, {"state": "success"}])
    r = requests.post(url + PATH, json={}, auth=(sim.username, sim.password), timeout=30)
    assert r.status_code == 202, r.text
    href: str = r.json()["job"]["_links"]["self"]["href"]
    return href


def measure(sim: Simulator, wait: Callable[[], Any]) -> Outcome:
    """Run ``wait()``; count its job GETs and how late the last one saw the end."""
    sim.clear_journal()
    v0, w0 = sim.clock.now(), time.perf_counter()
    with contextlib.suppress(Exception):  # a poller giving up is an outcome, not an error
        wait()
    wall, virtual = time.perf_counter() - w0, sim.clock.now() - v0
    gets = [e for e in sim.journal if e["method"] == "GET" and e["path"].startswith(JOB_GET)]
    if len({e["path"] for e in gets}) > 1:
        raise AssertionError("one job per measurement")
    late = None
    if gets:
        job = sim.jobs.job(gets[-1]["path"].rsplit("/", 1)[-1])
        if job.ended_at is not None and gets[-1]["time"] >= job.ended_at:
            late = gets[-1]["time"] - job.ended_at
    return Outcome(len(gets), late, virtual, wall)


@contextlib.contextmanager
def netapp_sleep(sleep: Callable[[float], None]) -> Iterator[None]:
    """Make ``netapp_ontap.utils.watch_job`` sleep with ``sleep`` (it calls ``time.sleep``)."""
    import netapp_ontap.utils as nu

    original = nu.time
    nu.time = types.SimpleNamespace(sleep=sleep)  # type: ignore[assignment]
    try:
        yield
    finally:
        nu.time = original


def netapp_waiter(
    sim: Simulator, url: str, href: str, interval: int, timeout: int
) -> Callable[[], Any]:
    from netapp_ontap import HostConnection
    from netapp_ontap.utils import watch_job

    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = HostConnection(
        host,
        port=int(port),
        scheme="http",
        username=sim.username,
        password=sim.password,
        verify=False,
    )
    return lambda: watch_job(href, connection=conn, timeout=timeout, interval=interval)


def trident_waiter(
    sim: Simulator,
    url: str,
    href: str,
    rng: random.Random,
    sleep: Callable[[float], None],
    now: Callable[[], float],
    *,
    initial: float = 1.0,
    multiplier: float = 1.414,
    max_interval: float = 2.0,
    randomization: float = 0.1,
    max_elapsed: float = 120.0,
) -> Callable[[], Any]:
    """cenkalti/backoff v4 ``RetryNotify`` with Trident's ``PollJobStatus`` settings.

    ``NextBackOff``: a uniform draw in ``current * (1 ± randomization)``, then ``current``
    grows by ``multiplier`` up to ``max_interval``; stop when elapsed + that draw would pass
    ``max_elapsed``.
    """

    def wait() -> str:
        with requests.Session() as session:
            session.auth = (sim.username, sim.password)
            start, current = now(), initial
            while True:
                r = session.get(url + href, params={"fields": "state"}, timeout=30)
                if r.ok and r.json().get("state") in ("success", "failure"):
                    # Then PollJobStatus reads the whole record once more (fields=**).
                    session.get(url + href, params={"fields": "**"}, timeout=30)
                    return str(r.json()["state"])
                delta = randomization * current
                low = current - delta
                nxt = low + rng.random() * (current + delta - low + 1e-9)
                current = (
                    max_interval if current >= max_interval / multiplier else current * multiplier
                )
                if now() - start + nxt > max_elapsed:
                    raise TimeoutError("trident: MaxElapsedTime")
                sleep(nxt)

    return wait


def efficiency(opts: argparse.Namespace) -> None:
    sim = make_sim("virtual")
    rows: dict[str, dict[float, list[Outcome]]] = {}

    def add(name: str, seconds: float, outcome: Outcome) -> None:
        rows.setdefault(name, {}).setdefault(seconds, []).append(outcome)

    with serve(sim) as handle:
        url = handle.url
        for seconds in DURATIONS:
            for seed in range(opts.seeds):
                length = seconds + random.Random(seed).uniform(0.0, PHASE)
                steps = [{"state": "running", "seconds": length}, {"state": "success"}]
                sim.script("POST", PATH, steps)
                with OntapClient(
                    url,
                    auth=(sim.username, sim.password),
                    clock=sim.clock,
                    policy=PollPolicy(),
                    rng=random.Random(seed),
                ) as client:
                    outcome = measure(sim, lambda c=client: c.post(PATH, json={}))
                add("ours: PollPolicy() defaults", seconds, outcome)

                href = post_job(sim, url, length)
                wait = trident_waiter(
                    sim, url, href, random.Random(seed), sim.clock.sleep, sim.clock.now
                )
                add("Trident schedule (model)", seconds, measure(sim, wait))

                for interval, timeout in ((5, 30), (1, 30), (5, 3600), (1, 3600)):
                    href = post_job(sim, url, length)
                    with netapp_sleep(sim.clock.sleep):
                        outcome = measure(sim, netapp_waiter(sim, url, href, interval, timeout))
                    label = f"netapp-ontap poll_interval={interval}, poll_timeout={timeout}"
                    if (interval, timeout) == (5, 30):
                        label += " (defaults)"
                    if (interval, timeout) == (1, 3600):
                        label += " (= fixed 1 s)"
                    add(label, seconds, outcome)

    print()
    print("## Part 1: virtual clock, GETs per job and lateness (s) of the GET that saw the end")
    print()
    head = " | ".join(f"{s:.0f} s job: GETs | late s" for s in DURATIONS)
    print(f"| poller | {head} |")
    print("|---|" + "---:|---:|" * len(DURATIONS))
    for name, by_len in rows.items():
        cells = []
        for seconds in DURATIONS:
            outs = by_len[seconds]
            gets = spread([o.gets for o in outs], "{:.0f}")
            lates = [o.late for o in outs if o.late is not None]
            if len(lates) < len(outs):
                gave_up = statistics.median(o.virtual for o in outs)
                late = f"gave up at {gave_up:.0f} s"
            else:
                late = spread(lates, "{:.1f}")
            cells.append(f"{gets} | {late}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    walls = [o.wall for by_len in rows.values() for outs in by_len.values() for o in outs]
    print(
        f"# wall time per wait on the virtual clock: median {statistics.median(walls) * 1000:.1f}"
        f" ms, max {max(walls) * 1000:.1f} ms"
    )


def overrun(opts: argparse.Namespace) -> None:
    sim = make_sim("real")
    # Each case: (name, timeout, write_and_wait(url)); the clock starts before the write.
    cases: list[tuple[str, float, Callable[[str], Any]]] = []
    for timeout in (1, 3, 10):
        cases.append(
            (
                f"ours PollPolicy(timeout={timeout})",
                timeout,
                lambda url, t=timeout: _ours_real(sim, url, t),
            )
        )
        for interval in (1, 5):
            cases.append(
                (
                    f"netapp-ontap poll_timeout={timeout}, poll_interval={interval}",
                    timeout,
                    lambda url, t=timeout, i=interval: _netapp_real(sim, url, i, t),
                )
            )
    results: dict[str, list[tuple[float, int]]] = {}
    with serve(sim) as handle:
        url = handle.url
        for run in range(opts.runs):
            for name, timeout, make in cases:
                sim.reset()
                sim.fault(method="GET", path=JOB_GET + "*", times=None, delay=DELAY)
                sim.script(
                    "POST", PATH, [{"state": "running", "seconds": 3600}, {"state": "success"}]
                )
                sim.clear_journal()
                t0 = time.perf_counter()
                with contextlib.suppress(Exception):
                    make(url)
                wall = time.perf_counter() - t0
                # A GET the poller abandoned at its deadline is still journaled by the server
                # once its delay ends: let it land, then count this job's GETs only.
                time.sleep(DELAY + 0.3)
                journal = sim.journal
                job = next(e["job"] for e in journal if e["method"] == "POST")
                gets = sum(
                    1 for e in journal if e["method"] == "GET" and e["path"] == JOB_GET + job
                )
                results.setdefault(name, []).append((wall - timeout, gets))
                print(f"#   run {run + 1} {name}: {wall:.2f} s, {gets} GETs", flush=True)

    print()
    print("## Part 2: real clock, 0.2 s delay on every job GET, job never ends")
    print()
    print("| poller | timeout s | took s | overrun s | GETs | overrun ≤ 0.5 s |")
    print("|---|---:|---:|---:|---:|---|")
    for name, timeout, _ in cases:
        overs = [o for o, _ in results[name]]
        took = [o + timeout for o in overs]
        gets = [g for _, g in results[name]]
        met = "met" if statistics.median(overs) <= 0.5 else "missed"
        print(
            f"| {name} | {timeout} | {spread(took, '{:.2f}')} | {spread(overs, '{:.2f}')} "
            f"| {spread(gets, '{:.0f}')} | {met} |"
        )


def _ours_real(sim: Simulator, url: str, timeout: float) -> Any:
    """Our client: the write, then polling, within ``PollPolicy(timeout=...)``."""
    policy = PollPolicy(timeout=timeout)
    with OntapClient(url, auth=(sim.username, sim.password), policy=policy) as client:
        return client.post(PATH, json={})


def _netapp_real(sim: Simulator, url: str, interval: int, timeout: int) -> Any:
    """The write with requests (netapp-ontap sends it the same way), then ``watch_job``."""
    href = post_job(sim, url, None)
    return netapp_waiter(sim, url, href, interval, timeout)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of part 2 (real clock)")
    parser.add_argument("--seeds", type=int, default=20, help="jitter seeds in part 1")
    parser.add_argument("--skip-overrun", action="store_true")
    opts = parser.parse_args()
    logging.getLogger("netapp_ontap").setLevel(logging.ERROR)
    print(machine())
    efficiency(opts)
    if not opts.skip_overrun:
        overrun(opts)


if __name__ == "__main__":
    main()
