"""What every request goes through around its view, as Flask hooks: auth, faults, the journal,
the default headers and the access log before and after; ONTAP error answers for every error,
and a 500 (recorded on ``errors``) for an unexpected one, never a traceback."""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlencode

from flask import Request, Response, request
from werkzeug.exceptions import HTTPException

from ..errors import ApiError, bad_value
from ..journal import redact
from ..model.routes import method_not_allowed, unknown_path
from .auth import BasicAuth
from .exchange import Exchange, exchange
from .faults import FaultStage
from .journal import JournalWriter
from .parse import query_params, too_large
from .render import DEFAULT_HEADERS, error_response

__all__ = ["Hooks", "access_log", "error_log"]

access_log = logging.getLogger("simulator.access")
error_log = logging.getLogger("simulator")


def add_default_headers(response: Response) -> None:
    headers = response.headers
    present = {key.lower() for key, _ in headers.items()}
    for key, value in DEFAULT_HEADERS.items():
        if key.lower() not in present:  # as headers.setdefault, in one pass
            headers.add(key, value)


def log_access(environ: MutableMapping[str, Any], path: str, state: Exchange, status: int) -> None:
    """One access-log line, password-like query arguments redacted (only when it is on)."""
    if not access_log.isEnabledFor(logging.INFO):  # its arguments cost ~6 % of a job GET
        return
    query = urlencode(list(redact(query_params(environ)).items()), safe="<>")
    access_log.info(
        '%s "%s %s" %s %.1fms',
        environ.get("REMOTE_ADDR") or "-",
        environ.get("REQUEST_METHOD", "GET").upper(),
        f"{path}?{query}" if query else path,
        "dropped" if state.dropped else status,
        (time.perf_counter() - state.started) * 1000,
    )


class Hooks:
    """The hooks of one app: ``errors`` collects unexpected exceptions (``sim.errors``)."""

    def __init__(
        self,
        auth: BasicAuth,
        faults: FaultStage,
        journal: JournalWriter,
        errors: list[BaseException],
    ) -> None:
        self.auth = auth
        self.faults = faults
        self.journal = journal
        self.errors = errors

    def before(self) -> Response | None:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        state = exchange(environ)
        state.authorized = self.auth.check(environ)
        if not state.authorized:
            return error_response(self.auth.challenge())
        length = environ.get("CONTENT_LENGTH")  # what headers.get("Content-Length") reads
        if length is not None and not (length.strip().isascii() and length.strip().isdigit()):
            raise bad_value("Content-Length", f'The Content-Length "{length}" is invalid.')
        path = req.path
        rule = self.faults.take(req.method, path)
        if rule is None:
            return None
        state.fault = rule
        if rule.kind == "drop":
            state.dropped = True
            self.journal.write(req, state, None)  # before the socket closes: never outrun
            return self.faults.drop(environ)
        return self.faults.before(rule, path)

    def after(self, response: Response) -> Response:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        state = exchange(req.environ)
        self.faults.after(state.fault, response)
        add_default_headers(response)
        if req.path.startswith("/api") and not state.dropped:
            try:
                if state.authorized:
                    self.journal.write(req, state, response.status_code)
                else:
                    self.journal.stranger(req.method, req.path, response.status_code)
            except Exception as exc:  # a journal bug must not turn an answer into a 500
                self.errors.append(exc)
                error_log.error("cannot journal %s %s", req.method, req.path, exc_info=exc)
        log_access(req.environ, req.path, state, response.status_code)
        return response

    @staticmethod
    def api_error(error: ApiError) -> Response:
        return error_response(error)

    @staticmethod
    def http_error(error: HTTPException) -> Response:
        status = error.code or 400
        if status == 413:
            return error_response(too_large())
        if status == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or [])
            return error_response(method_not_allowed(request.method, request.path, allowed))
        if status == 404:
            return error_response(unknown_path(request.path))
        return error_response(ApiError(status, "2", error.description or error.name))

    def unexpected(self, error: Exception) -> Response:
        self.errors.append(error)
        error_log.error("internal error on %s %s", request.method, request.path, exc_info=error)
        return error_response(
            ApiError(
                500, "3", f"Internal simulator error ({type(error).__name__}); see sim.errors."
            )
        )
