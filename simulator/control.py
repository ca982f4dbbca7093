"""The ``/simulator`` control API: reset, scripts, clock, request journal, faults.

Same auth as the ONTAP API; errors in ONTAP's error body. Success is any 2xx.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from .errors import ApiError, bad_value

if TYPE_CHECKING:
    from .sim import Simulator

__all__ = ["register_control"]

JsonResponder = Callable[..., Response]
BodyReader = Callable[..., "dict[str, Any] | None"]

#: The latest clock time ONTAP timestamps can show (9999-12-31T23:59:59Z).
LATEST_TIME = 253402300799.0


def _check_advance(value: Any, now: float) -> None:
    """400 unless ``value`` is a finite number of seconds >= 0 keeping the clock renderable."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_value("advance", f'"advance" must be a number of seconds, got {value!r}')
    if value < 0:
        raise bad_value(
            "advance", f'"advance" must be >= 0 (the clock never goes back), got {value!r}'
        )
    if value > LATEST_TIME - now:
        raise bad_value("advance", f'"advance" {value!r} would move the clock past the year 9999')


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
            # A malformed value is 400 on either clock; a real clock then answers 409.
            _check_advance(body["advance"], sim.clock.now() if sim.clock.mode == "virtual" else 0)
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
