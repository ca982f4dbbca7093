"""The thin Flask layer: ONTAP's API and the ``/simulator`` control API over one Simulator.

Everything here is translation: parse the request, call the engine, render its answer or
:class:`~simulator.errors.ApiError` in ONTAP's error format. No request can produce a
traceback: unexpected exceptions are recorded on ``sim.errors`` (the pytest plugin fails the
test that caused them) and answered as ONTAP-style 500s.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Flask, Response, g, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from .errors import ApiError, bad_value
from .journal import JOURNAL_BODY_BYTES, redact
from .query import (
    COLLECTION_PARAMS,
    RECORD_PARAMS,
    check_params,
    parse_fields,
    parse_int,
    query_collection,
)
from .query import select_fields as _select

if TYPE_CHECKING:
    from .faults import FaultRule
    from .sim import Simulator

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "create_app", "parse_json"]

#: Larger request bodies are refused with 413 before they are read.
MAX_BODY_BYTES = 1024 * 1024
#: JSON bodies nested deeper are refused with 400 (ONTAP's bodies nest a few levels).
MAX_JSON_DEPTH = 64
#: A longer ``Authorization`` header is not decoded: 401 (a real one is under 1 KiB).
MAX_AUTHORIZATION_BYTES = 8 * 1024
#: Integers in JSON bodies must fit ONTAP's 64 bits.
_INT_LIMIT = 2**63

access_log = logging.getLogger("simulator.access")
error_log = logging.getLogger("simulator")

_HEADERS = {
    "Server": "libzapid-httpd",
    "Cache-Control": "no-cache,no-store,must-revalidate",
}
_CONTENT_TYPE = "application/hal+json"
_STATUS_LINES = {code: f"{code} {phrase}" for code, phrase in HTTP_STATUS_CODES.items()}
_JOB_FIELDS = [
    "uuid",
    "description",
    "state",
    "message",
    "code",
    "start_time",
    "end_time",
    "error.message",
    "error.code",
    "error.arguments",
    "svm.name",
    "svm.uuid",
    "node.name",
]


def _status_line(status: int) -> str:
    """``404 Not Found``: the reason phrase as ONTAP sends it (werkzeug would upper-case it)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"
    return line


#: Accept header values already parsed -> whether they prefer plain JSON (most clients send one).
_PLAIN_BY_ACCEPT: dict[str, bool] = {}
_PLAIN_BY_ACCEPT_MAX = 256


def _plain_json() -> bool:
    """Whether the client asked for ``application/json`` rather than HAL: ONTAP then leaves
    ``_links`` out of its answers, but for a collection's ``next`` link."""
    environ = request.environ
    plain: bool | None = environ.get("ontap_sim.plain_json")
    if plain is None:
        header = environ.get("HTTP_ACCEPT", "")
        plain = False
        if "application/json" in header and environ.get("PATH_INFO", "").startswith("/api"):
            known = _PLAIN_BY_ACCEPT.get(header)
            if known is None:
                accept = request.accept_mimetypes
                known = accept.quality("application/json") > accept.quality(_CONTENT_TYPE)
                if len(_PLAIN_BY_ACCEPT) >= _PLAIN_BY_ACCEPT_MAX:
                    _PLAIN_BY_ACCEPT.clear()
                _PLAIN_BY_ACCEPT[header] = known
            plain = known
        environ["ontap_sim.plain_json"] = plain
    return plain


def _without_links(body: Any, top: bool) -> Any:
    if isinstance(body, dict):
        out = {k: _without_links(v, False) for k, v in body.items() if k != "_links"}
        links = body.get("_links")
        if top and isinstance(links, dict) and "next" in links:
            out["_links"] = {"next": links["next"]}
        return out
    if isinstance(body, list):
        return [_without_links(item, False) for item in body]
    return body


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    content_type = _CONTENT_TYPE
    if body is not None and request and _plain_json():
        body = _without_links(body, True)
        content_type = "application/json"
    data = b"" if body is None else json.dumps(body).encode()
    response = Response(data, status=_status_line(status), content_type=content_type)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_response(error: ApiError) -> Response:
    return _json_response(error.status, error.body(), error.headers)


def _params() -> dict[str, str]:
    """Query arguments (a repeated argument keeps its last value).

    Parsed once per request (the handler and the journal both need them); each call returns
    its own copy.
    """
    environ = request.environ
    params: dict[str, str] | None = environ.get("ontap_sim.params")
    if params is None:
        args = request.args
        params = environ["ontap_sim.params"] = {key: args.getlist(key)[-1] for key in args}
    return dict(params)


def _raw_body() -> bytes:
    """The request body; 413 when over :data:`MAX_BODY_BYTES`, 400 when it ended early.

    A failed read is remembered (``g.body_error``) so the journal does not read again.
    """
    failed: ApiError | None = g.get("body_error")
    if failed is not None:
        raise failed
    environ = request.environ
    if environ.get("CONTENT_LENGTH") in _NO_LENGTH and "wsgi.input_terminated" not in environ:
        return b""  # werkzeug's get_data() would read an empty stream (most GETs: no body)
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        error = _too_large()
    except ClientDisconnected:
        error = bad_value("body", "The request body ended before its Content-Length.")
    else:
        # A chunked body is cut at MAX_CONTENT_LENGTH (one byte over ours) without an error.
        if len(raw) <= MAX_BODY_BYTES:
            return raw
        error = _too_large()
    g.body_error = error
    raise error


#: How many distinct validated job-GET queries the app remembers.
_CHECKED_QUERIES_MAX = 256
#: ... and only queries this short (so the memory it keeps is bounded too).
_CHECKED_QUERY_CHARS = 512

#: CONTENT_LENGTH values (absent, empty, zero) for which werkzeug reads no body at all.
_NO_LENGTH = (None, "", "0")


def _too_large() -> ApiError:
    return ApiError(413, "2", f"The request body exceeds {MAX_BODY_BYTES} bytes.", "body")


def _int_literal(text: str) -> int:
    # The digits are counted first: int() of a long string is slow (and capped at 4300 digits).
    if len(text.lstrip("-")) > 19 or not -_INT_LIMIT <= int(text) < _INT_LIMIT:
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise ValueError(f"the integer {shown} is outside 64 bits")
    return int(text)


def _float_literal(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:24]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _depth(data: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion.

    A dotted key counts as the objects it stands for (``{"a.b.c": 1}`` nests as deep as
    ``{"a": {"b": {"c": 1}}}``): ONTAP bodies take dotted names, expanded later.
    """
    if not isinstance(data, dict | list):
        return 0
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            for key, item in value.items():
                below = depth + key.count(".")
                deepest = max(deepest, below)
                if isinstance(item, dict | list):
                    stack.append((item, below + 1))
        else:
            stack.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return deepest


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN/Infinity, integers within 64 bits, nesting within
    :data:`MAX_JSON_DEPTH`; ApiError 400 (code 262199, target ``body``) otherwise."""
    too_deep = f"nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        data = json.loads(
            raw, parse_int=_int_literal, parse_float=_float_literal, parse_constant=_no_constant
        )
    except RecursionError:
        problem: str | None = too_deep
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        problem = str(exc)
    else:
        problem = None if _depth(data) <= MAX_JSON_DEPTH else too_deep
    if problem is not None:
        raise ApiError(400, "262199", f"Invalid JSON input: {problem}", "body")
    return data


def _body(*, required: bool) -> dict[str, Any] | None:
    raw = _raw_body()
    if not raw.strip():
        if required:
            raise bad_value("body", "A JSON object is required in the request body.")
        return None
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise bad_value("body", "The request body must be a JSON object.")
    return data


def _unkept(size: str) -> str:
    return f"<{size} bytes: over the journal's {JOURNAL_BODY_BYTES}-byte limit, not kept>"


def _logged_path() -> str:
    """The request path and query for the access log, password-like arguments redacted."""
    query = urlencode(list(redact(_params()).items()), safe="<>")
    return f"{request.path}?{query}" if query else request.path


def _spoil(data: bytes, mode: str) -> bytes:
    """A ``malformed`` fault's body: cut in half, an HTML page, or nothing."""
    if mode == "empty":
        return b""
    if mode == "invalid":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return data[: len(data) // 2] if len(data) > 1 else b"{"


def _basic_credentials() -> tuple[str | None, str | None]:
    """User and password of a well-formed ``Authorization: Basic`` header, else (None, None).

    Every malformed form (over :data:`MAX_AUTHORIZATION_BYTES`, a non-ASCII byte, bad base64
    or padding, not UTF-8, no colon) is simply no credentials: a 401, never an exception.
    """
    header = request.environ.get("HTTP_AUTHORIZATION", "")
    if len(header) > MAX_AUTHORIZATION_BYTES:
        return None, None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None, None
    try:
        # ValueError covers UnicodeEncodeError (non-ASCII), binascii.Error, UnicodeDecodeError.
        decoded = base64.b64decode(token.strip().encode("ascii"), validate=True).decode("utf-8")
    except ValueError:
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


def create_app(sim: Simulator) -> Flask:
    """Build the WSGI application serving ``sim``."""
    app = Flask("simulator")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1  # see _raw_body
    # "/x/" routes like "/x" (clients add trailing slashes); "//" is not redirected to "/".
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # -- cross-cutting: auth, faults, journal, headers ------------------------------------
    # The last Authorization header that passed, with the credentials it passed against:
    # a client repeats the same header, so it is compared (in constant time) instead of
    # being decoded and checked again.
    accepted: list[tuple[bytes, str, str]] = []

    def _authorized() -> bool:
        header = request.environ.get("HTTP_AUTHORIZATION", "")
        raw = header.encode("utf-8", "surrogatepass")
        username, password = sim.username, sim.password
        if accepted:
            known, known_user, known_password = accepted[0]
            same_credentials = known_user == username and known_password == password
            if same_credentials and hmac.compare_digest(raw, known):
                return True
        user, given = _basic_credentials()
        if not sim.check_auth(user, given):
            return False
        accepted[:] = [(raw, username, password)]
        return True

    @app.before_request
    def _before() -> Response | None:
        state = g._get_current_object()
        state.started = time.perf_counter()
        state.fault = None
        state.drop = False
        state.authorized = _authorized()
        if not state.authorized:
            error = ApiError(401, "6", "Authentication required: invalid or missing credentials.")
            error.headers["WWW-Authenticate"] = 'Basic realm="ontap-sim"'
            return _error_response(error)
        req = request._get_current_object()  # type: ignore[attr-defined]
        length = req.environ.get("CONTENT_LENGTH")  # what headers.get("Content-Length") reads
        if length is not None and not (length.strip().isascii() and length.strip().isdigit()):
            raise bad_value("Content-Length", f'The Content-Length "{length}" is invalid.')
        path = req.path
        if not path.startswith("/api"):
            return None
        rule = sim.faults.take(req.method, path)
        if rule is None:
            return None
        state.fault = rule
        return _apply_fault_before(rule)

    def _apply_fault_before(rule: FaultRule) -> Response | None:
        if rule.kind == "status":
            return _error_response(rule.error())
        if rule.kind == "delay":
            assert rule.delay is not None
            sim.clock.sleep(rule.delay)
            return None
        if rule.kind == "drop":
            g.drop = True
            _journal(None)  # before the socket closes, so a client never outruns the journal
            drop: Callable[[], None] | None = request.environ.get("ontap_sim.drop")
            if drop is not None:
                drop()
            response = Response(b"", status=599)
            response.headers["X-Ontap-Sim-Dropped"] = "1"
            return response
        if rule.kind == "vanish":
            parts = request.path.rstrip("/").split("/")
            if len(parts) == 5 and parts[:4] == ["", "api", "cluster", "jobs"]:
                sim.jobs.purge(parts[4])
        return None

    @app.after_request
    def _after(response: Response) -> Response:
        state = g._get_current_object()
        rule: FaultRule | None = getattr(state, "fault", None)
        if rule is not None and rule.kind == "malformed":
            response.set_data(_spoil(response.get_data(), rule.malformed or "truncated"))
            response.content_type = _CONTENT_TYPE
        headers = response.headers
        present = {key.lower() for key, _ in headers.items()}
        for key, value in _HEADERS.items():
            if key.lower() not in present:  # as headers.setdefault, in one pass
                headers.add(key, value)
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.path.startswith("/api") and not getattr(state, "drop", None):
            try:
                if getattr(state, "authorized", False):
                    _journal(response)
                else:  # a stranger's request costs one small entry: no query, no body
                    sim.record(
                        {
                            "method": req.method,
                            "path": req.path,
                            "status": response.status_code,
                            "time": sim.clock.now(),
                        }
                    )
            except Exception as exc:  # a journal bug must not turn an answer into a 500
                sim.errors.append(exc)
                error_log.error("cannot journal %s %s", req.method, req.path, exc_info=exc)
        if access_log.isEnabledFor(logging.INFO):  # its arguments cost ~6 % of a job GET
            elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            access_log.info(
                '%s "%s %s" %s %.1fms',
                request.remote_addr or "-",
                request.method,
                _logged_path(),
                "dropped" if g.get("drop") else response.status_code,
                elapsed,
            )
        return response

    def _journal(response: Response | None) -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        state = g._get_current_object()
        entry: dict[str, Any] = {
            "method": req.method,
            "path": req.path,
            "query": redact(_params()),
            "status": None if response is None else response.status_code,
            "time": sim.clock.now(),
        }
        length = (req.environ.get("CONTENT_LENGTH") or "").strip()
        if length.isascii() and length.isdigit() and int(length[:19]) > JOURNAL_BODY_BYTES:
            entry["body"] = _unkept(length)  # not read just to be journaled
        else:
            try:
                raw = _raw_body()
            except ApiError:
                entry["body"] = "<unread>"
            else:
                if len(raw) > JOURNAL_BODY_BYTES:
                    entry["body"] = _unkept(str(len(raw)))
                elif raw:
                    try:
                        entry["body"] = redact(parse_json(raw))
                    except ApiError:
                        entry["body"] = "<unparsable>"
        client_app = req.environ.get("HTTP_X_DOT_CLIENT_APP")  # headers.get("X-Dot-Client-App")
        if client_app:
            entry["client_app"] = client_app
        rule: FaultRule | None = getattr(state, "fault", None)
        if rule is not None:
            entry["fault"] = rule.kind
        job_uuid = getattr(state, "job_uuid", None)
        if job_uuid:
            entry["job"] = job_uuid
        sim.record(entry)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return _error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 400
        if status == 413:
            return _error_response(
                ApiError(413, "2", f"The request body exceeds {MAX_BODY_BYTES} bytes.", "body")
            )
        if status == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or [])
            return _error_response(_method_not_allowed(request.path, allowed))
        if status == 404:
            return _error_response(_unknown_path(request.path))
        return _error_response(ApiError(status, "2", error.description or error.name))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        sim.errors.append(error)
        error_log.error("internal error on %s %s", request.method, request.path, exc_info=error)
        return _error_response(
            ApiError(
                500, "3", f"Internal simulator error ({type(error).__name__}); see sim.errors."
            )
        )

    # -- ONTAP API ------------------------------------------------------------------------
    @app.route("/api/cluster/jobs", methods=["GET"])
    def jobs_collection() -> Response:
        params = _params()
        check_params(params, COLLECTION_PARAMS, _JOB_FIELDS)
        body = query_collection(
            sim.jobs.iter_records(**_page_window(params)),
            params,
            href="/api/cluster/jobs",
            keys=("uuid",),
        )
        return _json_response(200, body)

    # Query arguments of job GETs that passed check_params, with their parsed ``fields``: a
    # poller repeats the same query. Bounded, since clients choose the query strings.
    checked_queries: dict[tuple[tuple[str, str], ...], tuple[str, ...] | None] = {}

    @app.route("/api/cluster/jobs/<job_uuid>", methods=["GET"])
    def job_record(job_uuid: str) -> Response:
        params = _params()
        query = tuple(params.items())
        if query in checked_queries:
            fields = checked_queries[query]
        else:
            check_params(params, RECORD_PARAMS, _JOB_FIELDS)
            parsed = parse_fields(params.get("fields"))
            fields = None if parsed is None else tuple(parsed)
            size = sum(len(key) + len(value) for key, value in query)
            if len(checked_queries) < _CHECKED_QUERIES_MAX and size <= _CHECKED_QUERY_CHARS:
                checked_queries[query] = fields
        # Flask serves HEAD here too; only a GET is an observation for ``polls`` steps.
        record = sim.jobs.record(job_uuid, observe=request.method == "GET")
        return _json_response(200, _select(record, fields, ("uuid",)))

    @app.route("/api/cluster/jobs/<job_uuid>", methods=["PATCH"])
    def job_action(job_uuid: str) -> Response:
        params = _params()
        check_params(params, {"action"}, [])
        body = _body(required=False)
        if body:
            raise ApiError(400, "2", f'Unexpected argument "{next(iter(body))}".', next(iter(body)))
        action = params.get("action")
        if action is None:
            raise bad_value(
                "action", 'The "action" query argument is required (pause|resume|cancel).'
            )
        sim.jobs.act(job_uuid, action)
        return _json_response(200, None)

    @app.route(
        "/api/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]
    )
    def ontap(rest: str) -> Response:
        path = "/api/" + rest
        method = request.method
        params = _params()
        jobs_path = path.rstrip("/").split("/")[:4] == ["", "api", "cluster", "jobs"]
        if jobs_path:
            depth = len(path.rstrip("/").split("/"))
            if depth == 4:
                raise _method_not_allowed(path, ["GET"])
            if depth == 5:
                raise _method_not_allowed(path, ["GET", "PATCH"])
            raise _unknown_path(path)
        path = path.rstrip("/") or path
        if method in ("GET", "HEAD"):
            return _json_response(200, sim.read(path, params))
        if method not in ("POST", "PATCH", "DELETE"):
            allowed = sim.routes.allowed_methods(path)
            raise _method_not_allowed(path, allowed) if allowed else _unknown_path(path)
        sim.check_route(method, path)  # an unknown path answers 404 before its body is read
        body = _body(required=method in ("POST", "PATCH"))
        answer = sim.submit(method, path, body, params)
        g.job_uuid = answer.job_uuid
        rule: FaultRule | None = g.get("fault")
        if rule is not None and rule.kind == "vanish" and answer.job_uuid:
            sim.jobs.purge(answer.job_uuid)
        return _json_response(answer.status, answer.body, answer.headers)

    # -- control API ----------------------------------------------------------------------
    from .board import register_ui
    from .cli_passthrough import register_cli
    from .control import register_control

    register_cli(app, sim, _json_response, _body)
    register_control(app, sim, _json_response, _body)
    register_ui(app, sim, _json_response, _body)
    return app


def _page_window(params: Mapping[str, str]) -> dict[str, Any]:
    """For plain paging (no filter, no ``order_by``), the jobs the answer can show.

    The page starts at ``start.uuid`` and is ``max_records`` long; the job after it decides
    ``_links.next``. Rendering only those, not every retained job on every page, is what
    makes paging 110,000 jobs take seconds rather than minutes (see docs/benchmarks.md).
    """
    if (
        any(key not in COLLECTION_PARAMS for key in params)
        or params.get("order_by")
        or params.get("return_records", "true").strip().lower() not in ("true", "1")
    ):
        return {}
    limit = parse_int(params, "max_records", 0, None)
    return {"start": params.get("start.uuid"), "limit": None if limit is None else limit + 1}


def _method_not_allowed(path: str, allowed: list[str]) -> ApiError:
    error = ApiError(
        405,
        "3",
        f'The method "{request.method}" is not allowed on {path} (allowed: {", ".join(allowed)}).',
    )
    error.headers["Allow"] = ", ".join(allowed)
    return error


def _unknown_path(path: str) -> ApiError:
    segment = [part for part in path.split("/") if part][-1] if path.strip("/") else path
    return ApiError(404, "262179", f'Unexpected argument "{segment}".', segment)
