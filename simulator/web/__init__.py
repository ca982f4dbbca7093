"""The HTTP layer: ONTAP's API and the ``/simulator`` control API over one Simulator.

Everything here is translation: parse the request, call the simulator, render its answer or
:class:`~simulator.errors.ApiError` in ONTAP's error format. Small pieces, each with its state
explicit: :mod:`.auth` (Basic auth), :mod:`.faults` (faults before and after a view),
:mod:`.journal` (journal entries), :mod:`.render` (HAL or plain JSON, status lines, errors),
:mod:`.parse` (query arguments, JSON bodies), :mod:`.hooks` (what runs around every view),
:mod:`.ontap` (the ONTAP API, routed by one table), :mod:`.jobs` (the jobs views) and
:mod:`.fast` (the job poll served below Flask, by the same pieces).
No request can produce a traceback: unexpected exceptions are recorded on ``sim.errors`` (the
pytest plugin fails the test that caused them) and answered as ONTAP-style 500s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..errors import ApiError
from ..model.routes import shared_routes
from .auth import BasicAuth
from .fast import JobPollFastPath
from .faults import FaultStage
from .hooks import Hooks
from .jobs import JobsView
from .journal import JournalWriter
from .ontap import OntapView
from .parse import MAX_BODY_BYTES, MAX_JSON_DEPTH, SimRequest, json_body, parse_json
from .render import respond

if TYPE_CHECKING:
    from ..sim import Simulator

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "create_app", "parse_json"]

_API_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]


def read_body(*, required: bool) -> dict[str, Any] | None:
    """The JSON body of the request being served (for the control routes)."""
    from flask import request

    return json_body(request._get_current_object(), required=required)  # type: ignore[attr-defined]


def create_app(sim: Simulator) -> Flask:
    """Build the WSGI application serving ``sim``."""
    app = Flask("simulator")
    app.request_class = SimRequest
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1  # see parse.raw_body
    # "/x/" routes like "/x" (clients add trailing slashes); "//" is not redirected to "/".
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]

    faults = FaultStage(sim.faults, sim.clock.sleep, sim.jobs.purge)
    hooks = Hooks(BasicAuth(sim), faults, JournalWriter(sim.record, sim.clock.now), sim.errors)
    app.before_request(hooks.before)
    app.after_request(hooks.after)
    app.register_error_handler(ApiError, hooks.api_error)
    app.register_error_handler(HTTPException, hooks.http_error)
    app.register_error_handler(Exception, hooks.unexpected)

    # The same table as sim.routes, without loading the API's declaration; its file is read
    # now, not by the first request (which could find the process out of file descriptors).
    shared_routes()
    jobs = JobsView(sim.jobs)
    ontap = OntapView(sim, shared_routes, jobs, faults)
    app.add_url_rule("/api/<path:rest>", "ontap", ontap, methods=_API_METHODS)
    app.wsgi_app = JobPollFastPath(  # type: ignore[method-assign]
        app.wsgi_app,
        routes=shared_routes,
        auth=hooks.auth,
        faults=sim.faults,
        jobs=jobs,
        journal=hooks.journal,
    )

    # The control API, the job board and the CLI passthrough: Flask rules beside /api.
    from ..board import register_ui
    from ..cli_passthrough import register_cli
    from ..control import register_control

    register_cli(app, sim, respond, read_body)
    register_control(app, sim, respond, read_body)
    register_ui(app, sim, respond, read_body)
    return app
