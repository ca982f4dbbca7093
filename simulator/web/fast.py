"""The job poll's fast path: ``GET /api/cluster/jobs/{uuid}`` answered at the WSGI level.

A poller makes this request more than any other, and Flask's per-request machinery (contexts,
URL adapter, request and response objects, hooks) is most of its cost. This middleware serves
it when nothing else could be asked of the request: a GET matched by the routing table to the
job record, without a body, with the right credentials, while no fault rule is armed. It does
what the Flask path does for that request, with the same pieces (auth, the jobs view, the
renderer's choices, the journal, the access log) and the same bytes on the wire; anything
else, or an error answer (an unknown job, a bad ``fields``), goes to the Flask app, which then
answers it from the start (nothing was observed or journaled yet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..faults import FaultSet
from ..model.routes import Routes
from .auth import BasicAuth
from .exchange import exchange
from .hooks import log_access
from .jobs import JobsView
from .journal import JournalWriter
from .parse import NO_LENGTH, path_of, query_params
from .render import CONTENT_TYPE, DEFAULT_HEADERS, plain_json, without_links

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JobPollFastPath"]

_PREFIX = "/api/cluster/jobs/"
_JOB = "/api/cluster/jobs/{uuid}"
_TAIL = tuple(DEFAULT_HEADERS.items())


class JobPollFastPath:
    """WSGI middleware in front of ``app`` (the Flask app's ``wsgi_app``)."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        routes: Callable[[], Routes],
        auth: BasicAuth,
        faults: FaultSet,
        jobs: JobsView,
        journal: JournalWriter,
    ) -> None:
        self.app = app
        self.routes = routes
        self.auth = auth
        self.faults = faults
        self.jobs = jobs
        self.journal = journal

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, data = answer
        start_response(status, headers)
        return [data]

    def _answer(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not environ.get("PATH_INFO", "").startswith(_PREFIX)
            or environ.get("CONTENT_LENGTH") not in NO_LENGTH
            or "wsgi.input_terminated" in environ
            or len(self.faults)
        ):
            return None
        state = exchange(environ)
        path = path_of(environ)
        try:
            route = self.routes().match("GET", path.rstrip("/") or path)
        except ApiError:
            return None
        if route.template != _JOB or not self.auth.check(environ):
            return None
        params = query_params(environ)
        try:
            body: Any = self.jobs.record(route.values[0], params, observe=True)
        except ApiError:
            return None
        content_type = CONTENT_TYPE
        if plain_json(environ):
            body = without_links(body)
            content_type = "application/json"
        data = json.dumps(body).encode()
        self.journal.write_bodiless(environ, path, 200)
        log_access(environ, path, state, 200)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(data))), *_TAIL]
        return "200 OK", headers, data
