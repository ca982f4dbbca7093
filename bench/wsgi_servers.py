"""Which WSGI server should the simulator run on? Measure, by hand.

For each server: requests/s of a trivial Flask JSON endpoint from a separate client process
(``--threads`` threads, one keep-alive ``requests.Session`` each, ``--seconds`` long), whether
the connection was reused, and how long a fast request waits while ``--slow`` requests sit
1 s each inside the app (a fixed worker pool of N queues the rest; thread-per-connection does
not). waitress and cheroot are optional and must not go into pyproject: install them aside,
e.g. ``pip install --target /tmp/wsgibench waitress cheroot``, then from the repository root::

    PYTHONPATH=/tmp/wsgibench python -m bench.wsgi_servers [--tls] [--seconds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import platform
import shutil
import ssl
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from flask import Flask, jsonify
from werkzeug.serving import WSGIRequestHandler, make_server

from simulator.server import serve
from simulator.tlsgen import TlsFiles, generate_tls_files

SLOW_SECONDS = 1.0


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/json")
    def small() -> Any:
        return jsonify(name="cluster1", version={"generation": 9, "major": 14, "minor": 1})

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(SLOW_SECONDS)
        return jsonify(slept=SLOW_SECONDS)

    return app


Starter = Callable[[Flask, TlsFiles | None], contextlib.AbstractContextManager[str]]


class _QuietStockHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextlib.contextmanager
def werkzeug_stock(app: Flask, tls: TlsFiles | None) -> Iterator[str]:
    """werkzeug's threaded make_server with its own handler (access log off)."""
    context = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_QuietStockHandler, ssl_context=context
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def werkzeug_ours(app: Flask, tls: TlsFiles | None) -> Iterator[str]:
    """simulator.server.serve: werkzeug's threaded server with our keep-alive handler."""
    kwargs = {"certfile": tls.cert_file, "keyfile": tls.key_file} if tls else {}
    with serve(app, **kwargs) as handle:  # type: ignore[arg-type]
        yield handle.url


@contextlib.contextmanager
def waitress_default(app: Flask, tls: TlsFiles | None) -> Iterator[str]:
    """waitress with its default fixed pool (threads=4); no TLS support."""
    if tls is not None:
        raise NotImplementedError("waitress has no TLS; it expects a proxy in front")
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown(timeout=5)
        server.close()


@contextlib.contextmanager
def cheroot_default(app: Flask, tls: TlsFiles | None) -> Iterator[str]:
    """cheroot with its default fixed pool (numthreads=10), builtin TLS adapter."""
    from cheroot import wsgi

    server = wsgi.Server(("127.0.0.1", 0), app)
    if tls is not None:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        server.ssl_adapter = BuiltinSSLAdapter(tls.cert_file, tls.key_file)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(5)


SERVERS: dict[str, Starter] = {
    "werkzeug (stock handler)": werkzeug_stock,
    "werkzeug + simulator.server": werkzeug_ours,
    "waitress (threads=4)": waitress_default,
    "cheroot (numthreads=10)": cheroot_default,
}


def load(url: str, threads: int, seconds: float, verify: str | bool) -> dict[str, Any]:
    """Client side, run in its own process: hammer ``url`` with keep-alive sessions."""
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    reused = [True] * threads
    start = threading.Barrier(threads + 1)
    end = 0.0

    def worker(i: int) -> None:
        with requests.Session() as session:
            session.get(url, verify=verify, timeout=10).raise_for_status()  # warm up
            start.wait()
            while time.monotonic() < end:
                t0 = time.perf_counter()
                r = session.get(url, verify=verify, timeout=10)
                latencies[i].append(time.perf_counter() - t0)
                r.raise_for_status()
                if "close" in r.headers.get("Connection", "").lower():
                    reused[i] = False
                counts[i] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    began = time.monotonic()
    end = began + seconds  # set before the barrier releases the workers
    start.wait()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - began
    flat = sorted(x for xs in latencies for x in xs)
    return {
        "rps": sum(counts) / elapsed,
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": flat[int(len(flat) * 0.99)] * 1000,
        "keep_alive": all(reused),
    }


def slow_waits(base: str, slow: int, verify: str | bool) -> dict[str, Any]:
    """Client side: ``slow`` concurrent 1 s requests, then time one fast request."""
    results: list[float] = []

    def one() -> None:
        requests.get(base + "/slow", verify=verify, timeout=120).raise_for_status()
        results.append(time.monotonic())

    began = time.monotonic()
    workers = [threading.Thread(target=one) for _ in range(slow)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    requests.get(base + "/json", verify=verify, timeout=120).raise_for_status()
    fast = time.monotonic() - t0
    for w in workers:
        w.join()
    return {"fast_s": fast, "slow_total_s": max(results) - began}


def _client(job: str, args: tuple[Any, ...]) -> dict[str, Any]:
    return load(*args) if job == "load" else slow_waits(*args)


def measure(
    name: str, starter: Starter, tls: TlsFiles | None, opts: argparse.Namespace
) -> dict[str, Any]:
    verify: str | bool = tls.ca_file if tls else True
    ctx = multiprocessing.get_context("spawn")
    row: dict[str, Any] = {"server": name, "scheme": "https" if tls else "http"}
    try:
        with starter(make_app(), tls) as base, ctx.Pool(1) as pool:
            row |= pool.apply(
                _client, ("load", (base + "/json", opts.threads, opts.seconds, verify))
            )
            row |= pool.apply(_client, ("slow", (base, opts.slow, verify)))
    except NotImplementedError as exc:
        row["note"] = str(exc)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--slow", type=int, default=64)
    parser.add_argument("--tls", action="store_true", help="also measure over HTTPS")
    parser.add_argument("--only", nargs="*", default=list(SERVERS), choices=list(SERVERS))
    opts = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # waitress warns about queue depth under load

    print(f"# python {platform.python_version()} on {platform.platform()}")
    print(f"# client: {opts.threads} threads x {opts.seconds}s; {opts.slow} x {SLOW_SECONDS}s slow")
    print(
        "| server | scheme | req/s | p50 ms | p99 ms | keep-alive | fast req during "
        f"{opts.slow} slow (s) | {opts.slow} slow done after (s) |"
    )
    print("|---|---|---:|---:|---:|---|---:|---:|")
    tls = generate_tls_files() if opts.tls else None
    try:
        for scheme_tls in [None, tls] if tls else [None]:
            for name in opts.only:
                row = measure(name, SERVERS[name], scheme_tls, opts)
                if "note" in row:
                    print(f"| {name} | {row['scheme']} | {row['note']} |||||")
                    continue
                print(
                    f"| {name} | {row['scheme']} | {row['rps']:.0f} | {row['p50_ms']:.2f} "
                    f"| {row['p99_ms']:.2f} | {'yes' if row['keep_alive'] else 'no'} "
                    f"| {row['fast_s']:.3f} | {row['slow_total_s']:.2f} |",
                    flush=True,
                )
    finally:
        if tls is not None:
            shutil.rmtree(tls.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
