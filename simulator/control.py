"""The ``/simulator`` control API: reset, scripts, clock, request journal, faults.

Same auth as the ONTAP API; errors in ONTAP's error body. Success is any 2xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from .errors import ApiError, bad_value

if TYPE_CHECKING:
    from .sim import Simulator

__all__ = ["register_control"]

JsonResponder = Callable[..., Response]
BodyReader = Callable[..., "dict[str, Any] | None"]


def _collection(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"records": records, "num_records": len(records)}


def _no_query() -> None:
    for key in request.args:
        raise ApiError(404, "262179", f'Unexpected argument "{key}".', key)


def register_control(
    app: Flask, sim: Simulator, respond: JsonResponder, read_body: BodyReader
) -> None:
    """Add the control routes to ``app``."""

    @app.route("/simulator/reset", methods=["POST"])
    def reset() -> Response:
        _no_query()
        sim.reset()
        return respond(200, {})

    @app.route("/simulator/scripts", methods=["GET", "POST", "DELETE"])
    def scripts() -> Response:
        _no_query()
        if request.method == "GET":
            return respond(200, _collection(sim.scripts()))
        if request.method == "DELETE":
            sim.clear_scripts()
            return respond(200, {})
        rule = sim.add_script(read_body(required=True))
        return respond(201, rule.to_json())

    @app.route("/simulator/clock", methods=["GET", "POST"])
    def clock() -> Response:
        _no_query()
        if request.method == "POST":
            body = read_body(required=True)
            assert body is not None
            unknown = sorted(set(body) - {"advance"})
            if unknown:
                raise ApiError(400, "2", f'Unexpected argument "{unknown[0]}".', unknown[0])
            if "advance" not in body:
                raise bad_value("advance", '"advance" (seconds, a number >= 0) is required.')
            sim.advance(body["advance"])
        return respond(200, {"mode": sim.clock.mode, "now": sim.clock.now()})

    @app.route("/simulator/requests", methods=["GET", "DELETE"])
    def journal() -> Response:
        _no_query()
        if request.method == "DELETE":
            sim.clear_journal()
            return respond(200, {})
        return respond(200, _collection(sim.journal))

    @app.route("/simulator/faults", methods=["GET", "POST", "DELETE"])
    def faults() -> Response:
        _no_query()
        if request.method == "GET":
            return respond(200, _collection(sim.faults.list()))
        if request.method == "DELETE":
            sim.faults.clear()
            return respond(200, {})
        rule = sim.faults.add(read_body(required=True) or {})
        return respond(201, rule.to_json())

    @app.route("/simulator/openapi.json", methods=["GET"])
    def openapi() -> Response:
        _no_query()
        from .openapi import build_openapi

        return respond(200, build_openapi(sim), {"Content-Type": "application/json"})

    @app.route("/simulator/errors", methods=["GET"])
    def errors() -> Response:
        _no_query()
        return respond(200, _collection([{"error": repr(e)} for e in sim.errors]))
