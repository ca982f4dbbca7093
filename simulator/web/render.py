"""Rendering: JSON bodies as HAL or plain JSON (by ``Accept``), status lines with the reason
phrases ONTAP sends, and :class:`~simulator.errors.ApiError` as ONTAP's error answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import HTTP_STATUS_CODES, parse_accept_header

from ..errors import ApiError

if TYPE_CHECKING:
    from ..sim import WriteKind, WriteOutcome

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_HEADERS",
    "error_response",
    "job_link",
    "json_response",
    "plain_json",
    "respond",
    "status_line",
    "without_links",
    "write_answer",
]

CONTENT_TYPE = "application/hal+json"
#: Headers every answer carries (unless the answer sets its own).
DEFAULT_HEADERS = {
    "Server": "libzapid-httpd",
    "Cache-Control": "no-cache,no-store,must-revalidate",
}
_STATUS_LINES = {code: f"{code} {phrase}" for code, phrase in HTTP_STATUS_CODES.items()}
#: Accept header values already parsed -> whether they prefer plain JSON (most clients send one).
_PLAIN_BY_ACCEPT: dict[str, bool] = {}
_PLAIN_BY_ACCEPT_MAX = 256
_PLAIN_KEY = "ontap_sim.plain_json"
#: What a URI may hold besides letters and digits: kept as they are in a ``Location``
#: (``%`` too: a location may be percent-encoded already).
_URI_CHARS = "/:?#[]@!$&'()*+,;=-._~%"
#: The status of a write that did not fail, by what it came to.
_WRITE_STATUS: dict[WriteKind, int] = {"created": 201, "done": 200, "accepted": 202}


def status_line(status: int) -> str:
    """``404 Not Found``: the reason phrase as ONTAP sends it (werkzeug would upper-case it)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"
    return line


def plain_json(environ: MutableMapping[str, Any]) -> bool:
    """Whether the client asked for ``application/json`` rather than HAL: ONTAP then leaves
    ``_links`` out of its answers, but for a collection's ``next`` link. Decided once per
    request (kept in the environ) and once per distinct ``Accept`` value."""
    plain: bool | None = environ.get(_PLAIN_KEY)
    if plain is None:
        header = environ.get("HTTP_ACCEPT", "")
        plain = False
        if "application/json" in header and environ.get("PATH_INFO", "").startswith("/api"):
            known = _PLAIN_BY_ACCEPT.get(header)
            if known is None:
                accept = parse_accept_header(header, MIMEAccept)
                known = accept.quality("application/json") > accept.quality(CONTENT_TYPE)
                if len(_PLAIN_BY_ACCEPT) >= _PLAIN_BY_ACCEPT_MAX:
                    _PLAIN_BY_ACCEPT.clear()
                _PLAIN_BY_ACCEPT[header] = known
            plain = known
        environ[_PLAIN_KEY] = plain
    return plain


def without_links(body: Any, top: bool = True) -> Any:
    """``body`` without HAL ``_links``, but for the top level's paging ``next`` link."""
    if isinstance(body, dict):
        out = {k: without_links(v, False) for k, v in body.items() if k != "_links"}
        links = body.get("_links")
        if top and isinstance(links, dict) and "next" in links:
            out["_links"] = {"next": links["next"]}
        return out
    if isinstance(body, list):
        return [without_links(item, False) for item in body]
    return body


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    plain: bool = False,
) -> Response:
    """An answer with ``body`` as JSON (``None``: no body); ``plain`` drops HAL links."""
    content_type = CONTENT_TYPE
    if body is not None and plain:
        body = without_links(body)
        content_type = "application/json"
    data = b"" if body is None else json.dumps(body).encode()
    response = Response(data, status=status_line(status), content_type=content_type)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def respond(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """:func:`json_response` for the request being served (its ``Accept`` decides HAL)."""
    plain = body is not None and bool(request) and plain_json(request.environ)
    return json_response(status, body, headers, plain=plain)


def error_response(error: ApiError) -> Response:
    """ONTAP's ``{"error": ...}`` answer for ``error``, with its headers."""
    return respond(error.status, error.body(), error.headers)


def job_link(uuid: str) -> dict[str, Any]:
    """The ``job`` object a write answers with: the job's uuid and link."""
    return {"uuid": uuid, "_links": {"self": {"href": f"/api/cluster/jobs/{uuid}"}}}


def write_answer(outcome: WriteOutcome) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of a write's answer: 202 for a job still going, 201 (with
    ``Location``, quoted: a key may hold any character) or 200 for one that completed, the
    job's error for one that failed; ``job`` and ``records`` as the outcome has them."""
    error = outcome.error
    if error is not None:
        return error.status, error.body(), {}
    body: dict[str, Any] = {}
    if outcome.job_uuid is not None:
        body["job"] = job_link(outcome.job_uuid)
    if outcome.records:
        body["num_records"] = len(outcome.records)
        body["records"] = list(outcome.records)
    location = outcome.location
    headers = {"Location": quote(location, safe=_URI_CHARS)} if location else {}
    return _WRITE_STATUS[outcome.kind], body, headers
