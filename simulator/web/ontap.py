"""The ONTAP API view: a request on ``/api/...`` is matched once against the routing table of
every operation ONTAP documents (:class:`~simulator.model.routes.Routes`), and the operation
decides who answers: the jobs views for ``/api/cluster/jobs[/{uuid}]``, the simulator (deep
models and the generic store) for the rest. A path or method the table does not have is
answered by the simulator from the same table (404 262179, 405 with ``Allow``), after the
scenario's own endpoints and collection paths scoped by their first keys had their chance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from flask import Request, Response, request

from ..errors import ApiError
from ..model.routes import Routes, method_not_allowed, unknown_path
from ..query import parse_bool, parse_int
from .exchange import exchange
from .faults import FaultStage
from .jobs import JobsView
from .parse import api_path, json_body, query_params
from .render import respond, write_answer

if TYPE_CHECKING:
    from ..sim import Simulator

__all__ = ["OntapView"]

_WRITES = ("POST", "PATCH", "DELETE")
_JOBS = "/api/cluster/jobs"
_JOB = "/api/cluster/jobs/{uuid}"
#: A write's query arguments that are the HTTP exchange's, not ONTAP's query for the store.
_WAIT_PARAMS = ("return_timeout", "return_records")

Handler = Callable[[Request, str, tuple[str, ...], dict[str, str]], Response]


class OntapView:
    """``/api/<path>`` for ``sim``, its jobs served by ``jobs``; ``routes`` gives the table."""

    def __init__(
        self,
        sim: Simulator,
        routes: Callable[[], Routes],
        jobs: JobsView,
        faults: FaultStage,
    ) -> None:
        self.sim = sim
        self.routes = routes
        self.jobs = jobs
        self.faults = faults
        self._handlers: dict[tuple[str, str], Handler] = {
            ("GET", _JOBS): self._jobs_collection,
            ("PATCH", _JOBS): self._jobs_action,
            ("GET", _JOB): self._job_record,
            ("PATCH", _JOB): self._job_action,
        }

    def __call__(self, rest: str) -> Response:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        path = api_path(req.environ)
        if not path.startswith("/api/"):
            path = "/api/" + rest
        path = path.rstrip("/") or path
        params = query_params(req.environ)
        try:
            route = self.routes().match(req.method, path)
        except ApiError:
            handler = None
        else:
            handler = self._handlers.get((route.method, route.template))
        if handler is not None:
            return handler(req, path, route.values, params)
        return self._simulated(req, path, params)

    # -- the jobs ----------------------------------------------------------------------
    def _jobs_collection(
        self, req: Request, path: str, values: tuple[str, ...], params: dict[str, str]
    ) -> Response:
        return respond(200, self.jobs.collection(params))

    def _jobs_action(
        self, req: Request, path: str, values: tuple[str, ...], params: dict[str, str]
    ) -> Response:
        return respond(200, self.jobs.act_on_each(params, json_body(req, required=False)))

    def _job_record(
        self, req: Request, path: str, values: tuple[str, ...], params: dict[str, str]
    ) -> Response:
        # HEAD is served here too; only a GET is an observation for ``polls`` steps.
        return respond(200, self.jobs.record(values[0], params, observe=req.method == "GET"))

    def _job_action(
        self, req: Request, path: str, values: tuple[str, ...], params: dict[str, str]
    ) -> Response:
        self.jobs.act(values[0], params, json_body(req, required=False))
        return respond(200, None)

    # -- everything else -----------------------------------------------------------------
    def _simulated(self, req: Request, path: str, params: Mapping[str, str]) -> Response:
        sim = self.sim
        method = req.method
        if method in ("GET", "HEAD"):
            return respond(200, sim.read(path, params))
        if method not in _WRITES:
            allowed = sim.routes.allowed_methods(path)
            raise method_not_allowed(method, path, allowed) if allowed else unknown_path(path)
        sim.check_route(method, path)  # an unknown path answers 404 before its body is read
        # A PATCH whose query carries its arguments may come without a body (Trident restores a
        # storage unit or a volume with ``PATCH ...?restore_to.snapshot.name=s1`` and none).
        needs_body = method == "POST" or (
            method == "PATCH" and all(key in _WAIT_PARAMS for key in params)
        )
        body = json_body(req, required=needs_body)
        return_timeout = parse_int(params, "return_timeout", 0, 120) or 0
        return_records = parse_bool(params, "return_records", False)
        if "return_timeout" in params or "return_records" in params:
            params = {k: v for k, v in params.items() if k not in _WAIT_PARAMS}
        outcome = sim.submit(
            method,
            path,
            body,
            params,
            return_timeout=return_timeout,
            return_records=return_records,
        )
        state = exchange(req.environ)
        state.job_uuid = outcome.job_uuid
        self.faults.after_write(state.fault, outcome.job_uuid)
        return respond(*write_answer(outcome))
