"""Job-GET throughput: the simulator (auth and journal on) against pytest-httpserver.

Both serve the same bytes for ``GET /api/cluster/jobs/<uuid>?fields=state,message``: the
simulator renders a finished job through ``serve(sim)`` (basic auth checked, every request
journaled); pytest-httpserver answers a permanent expectation that also matches the
``Authorization`` header, with the body and headers the simulator sent. Clients, in the same
run against each server in turn: ``wrk`` (C, keep-alive) and a Python client in a separate
spawned process (``--threads`` threads, one keep-alive ``requests.Session`` each). pytest-httpserver
is not a project dependency; install it aside, then from the repository root::

    pip install pytest-httpserver py-spy && apt-get install -y wrk
    python -m bench.job_get_throughput [--runs 3] [--seconds 5] [--profile]

It then prints the CPU cost per job GET of each layer under werkzeug's test client (bare WSGI,
werkzeug, pytest-httpserver's app, bare Flask, the simulator's app with and without its request
hooks). ``--profile`` samples this process with py-spy during one extra wrk run on the simulator
and prints where the server's time goes.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from bench._common import machine, percentile, pyspy_record, spread, summarize_profile, wrk
from simulator import Simulator, serve

QUERY = "fields=state,message"


def make_sim() -> tuple[Simulator, str]:
    """A simulator holding one finished job; returns it and the job's path."""
    sim = Simulator(clock="virtual")  # never advanced: the finished job is never purged
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    answer = sim.submit(
        "POST",
        "/api/storage/volumes",
        {"name": "bench", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
    )
    return sim, f"/api/cluster/jobs/{answer.job_uuid}"


def auth_header(sim: Simulator) -> str:
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    return f"Basic {token}"


@contextlib.contextmanager
def simulator_server(sim: Simulator, path: str) -> Iterator[str]:
    with serve(sim) as handle:
        yield handle.url + path


@contextlib.contextmanager
def httpserver(sim: Simulator, path: str, threaded: bool) -> Iterator[str]:
    """pytest-httpserver answering the simulator's own bytes for the same request."""
    from pytest_httpserver import HTTPServer

    client = sim.app.test_client()
    reference = client.get(f"{path}?{QUERY}", headers={"Authorization": auth_header(sim)})
    assert reference.status_code == 200, reference.data
    headers = {
        k: v
        for k, v in reference.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    server = HTTPServer(host="127.0.0.1", port=0, threaded=threaded)
    server.expect_request(
        path, method="GET", headers={"Authorization": auth_header(sim)}
    ).respond_with_data(
        reference.data, status=200, headers=headers, content_type=reference.mimetype
    )
    server.start()
    try:
        yield server.url_for(path)
    finally:
        server.clear_log()
        server.stop()


def python_load(url: str, auth: str, threads: int, seconds: float) -> dict[str, Any]:
    """Client side, in its own process: ``threads`` keep-alive sessions GET ``url``."""
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    start = threading.Barrier(threads + 1)
    end = 0.0

    def worker(i: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = auth
            session.get(url, timeout=10).raise_for_status()  # warm up, open the connection
            start.wait()
            while time.monotonic() < end:
                t0 = time.perf_counter()
                r = session.get(url, timeout=10)
                latencies[i].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    failures[i] += 1
                counts[i] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    began = time.monotonic()
    end = began + seconds
    start.wait()
    for w in workers:
        w.join(seconds + 30)
    elapsed = time.monotonic() - began
    flat = [x for xs in latencies for x in xs]
    return {
        "rps": sum(counts) / elapsed,
        "requests": sum(counts) + threads,  # the warm-up GETs included
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": percentile(flat, 99) * 1000,
        "non_2xx": sum(failures),
    }


def app_costs(sim: Simulator, path: str, gets: int = 3000, repeats: int = 5) -> dict[str, float]:
    """CPU µs per job GET of each WSGI app under werkzeug's test client (no socket).

    Same request, same body: what each layer adds, from a bare WSGI callable (the test
    client's own cost) to the simulator's app with and without its request hooks.
    """
    from flask import Flask
    from flask import Response as FlaskResponse
    from pytest_httpserver import HTTPServer
    from werkzeug.test import Client
    from werkzeug.wrappers import Request, Response

    auth = auth_header(sim)
    headers = {"Authorization": auth}
    url = f"{path}?{QUERY}"
    body = sim.app.test_client().get(url, headers=headers).data

    def raw(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    @Request.application
    def plain_werkzeug(request: Request) -> Response:
        return Response(body, content_type="application/hal+json")

    bare_flask = Flask("bare")
    bare_flask.add_url_rule(
        "/api/cluster/jobs/<uuid>",
        "job",
        lambda uuid: FlaskResponse(body, content_type="application/hal+json"),
    )
    httpserver = HTTPServer(host="127.0.0.1", port=0)  # never started: its WSGI app only
    httpserver.expect_request(path, method="GET", headers=headers).respond_with_data(
        body, content_type="application/hal+json"
    )

    def cost(app: Any) -> float:
        client = Client(app)
        for _ in range(200):
            client.get(url, headers=headers)
        runs = []
        for _ in range(repeats):
            t0 = time.process_time()
            for _ in range(gets):
                client.get(url, headers=headers)
            runs.append((time.process_time() - t0) / gets * 1e6)
        httpserver.clear_log()
        return statistics.median(runs)

    app = sim.app
    out = {
        "bare WSGI callable (the test client's own cost)": cost(raw),
        "werkzeug Request.application": cost(plain_werkzeug),
        "pytest-httpserver's WSGI app": cost(Request.application(httpserver.application)),
        "bare Flask route": cost(bare_flask),
        "simulator app": cost(app),
    }
    fast_path = app.wsgi_app
    hooks = app.after_request_funcs[None], app.before_request_funcs[None]
    try:
        app.wsgi_app = getattr(fast_path, "app", fast_path)  # type: ignore[method-assign]
        out["simulator app, Flask path (the job-poll fast path off)"] = cost(app)
        app.after_request_funcs[None] = []
        out["simulator app without after_request (journal, headers, access log)"] = cost(app)
        app.before_request_funcs[None] = []
        out["simulator app without before/after_request (also no auth, faults)"] = cost(app)
    finally:
        app.after_request_funcs[None], app.before_request_funcs[None] = hooks
        app.wsgi_app = fast_path  # type: ignore[method-assign]
    return out


Server = Callable[[Simulator, str], contextlib.AbstractContextManager[str]]
SERVERS: dict[str, Server] = {
    "simulator (serve, auth + journal)": simulator_server,
    "pytest-httpserver (default, threaded=False)": lambda s, p: httpserver(s, p, False),
    "pytest-httpserver (threaded=True)": lambda s, p: httpserver(s, p, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4, help="Python client threads")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[1, 4], help="wrk connections (each)"
    )
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the simulator under wrk")
    opts = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # pytest-httpserver's access log

    print(machine())
    print(
        f"# {opts.runs} runs x {opts.seconds:g} s; wrk -c{opts.connections}; "
        f"python client {opts.threads} threads (spawned process); median (min-max)"
    )
    sim, path = make_sim()
    auth = auth_header(sim)
    wrks = [] if opts.no_wrk else [f"wrk -c{n}" for n in opts.connections]
    clients = [*wrks, "python"]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        for run in range(opts.runs):
            for name, server in SERVERS.items():
                with server(sim, path) as base:
                    url = f"{base}?{QUERY}"
                    for client in clients:
                        cpu0 = time.process_time()  # this process runs only the server
                        if client.startswith("wrk"):
                            connections = int(client.removeprefix("wrk -c"))
                            row = wrk(
                                url,
                                threads=min(2, connections),
                                connections=connections,
                                seconds=opts.seconds,
                                headers=[f"Authorization: {auth}"],
                            )
                        else:
                            row = pool.apply(python_load, (url, auth, opts.threads, opts.seconds))
                        row["cpu_us"] = (time.process_time() - cpu0) / row["requests"] * 1e6
                        results.setdefault((name, client), []).append(row)
                        print(f"#   run {run + 1} {name} / {client}: {row}", flush=True)
                sim.clear_journal()

    print()
    print("| server | client | req/s | p50 ms | p99 ms | server CPU µs/req | non-2xx |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (name, client), rows in results.items():
        print(
            f"| {name} | {client} | {spread([r['rps'] for r in rows])} "
            f"| {spread([r['p50_ms'] for r in rows], '{:.2f}')} "
            f"| {spread([r['p99_ms'] for r in rows], '{:.2f}')} "
            f"| {spread([r['cpu_us'] for r in rows])} "
            f"| {sum(r['non_2xx'] for r in rows)} |"
        )
    print()
    for client in clients:
        ours = statistics.median(
            r["rps"] for r in results[("simulator (serve, auth + journal)", client)]
        )
        for name in SERVERS:
            if name.startswith("pytest-httpserver"):
                theirs = statistics.median(r["rps"] for r in results[(name, client)])
                print(f"# {client}: simulator / {name} = {ours / theirs:.2f}x")

    print("\n| WSGI app under werkzeug's test client | CPU µs per job GET |\n|---|---:|")
    for name, cpu in app_costs(sim, path).items():
        print(f"| {name} | {cpu:.0f} |")

    if opts.profile and not opts.no_wrk:
        for gil in (False, True):
            with simulator_server(sim, path) as base, pyspy_record(opts.seconds, gil=gil) as prof:
                time.sleep(0.3)
                row = wrk(
                    f"{base}?{QUERY}",
                    threads=2,
                    connections=max(opts.connections),
                    seconds=opts.seconds,
                    headers=[f"Authorization: {auth}"],
                )
            what = "GIL holder only (--gil)" if gil else "all active threads"
            print(f"\n# profiled wrk -c{max(opts.connections)} run, {what}: {row['rps']:.0f} req/s")
            if "error" in prof:
                print(f"# py-spy: {prof['error']}")
            else:
                print(summarize_profile(prof["samples"], under="process_request_thread", top=25))


if __name__ == "__main__":
    main()
