"""CPU µs of one job GET through the simulator's WSGI app, called with a prepared environ.

The request an ``OntapClient`` poll makes (its ``fields`` and ``Accept``, Basic auth) on a
running job; the environ is built once and copied per call, so only the app's own work is
timed. Prints the median of ``--repeats`` batches of ``--calls`` calls, CPU time per call.

    python -m bench.job_get_cpu --repeats 7 --calls 3000
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import time
from typing import Any

from simulator import Simulator

POLL_FIELDS = "uuid,state,message,code,error,description,start_time,end_time,svm"


def prepared(sim: Simulator) -> tuple[Any, dict[str, Any]]:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 10**6}, {"state": "success"}],
    )
    body = b'{"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}'
    answer = sim.submit("POST", "/api/storage/volumes", json.loads(body))
    assert answer.job_uuid
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/api/cluster/jobs/{answer.job_uuid}",
        "QUERY_STRING": "fields=" + POLL_FIELDS.replace(",", "%2C"),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_ACCEPT": "application/hal+json, application/json",
        "HTTP_AUTHORIZATION": f"Basic {token}",
        "HTTP_USER_AGENT": "pytest-ontapjob/bench requests/2",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    return sim.app, environ


def run(calls: int, repeats: int) -> list[float]:
    sim = Simulator()
    app, environ = prepared(sim)
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return None

    def once() -> None:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO()
        result = app(env, start_response)
        b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()

    for _ in range(500):
        once()
    assert statuses[-1].startswith("200"), statuses[-1]
    runs = []
    for _ in range(repeats):
        sim.clear_journal()
        t0 = time.process_time()
        for _ in range(calls):
            once()
        runs.append((time.process_time() - t0) / calls * 1e6)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    runs = run(args.calls, args.repeats)
    median, least = statistics.median(runs), min(runs)
    print(f"{median:.1f} µs median ({least:.1f} min) of {len(runs)} x {args.calls}")


if __name__ == "__main__":
    main()
