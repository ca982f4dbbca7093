"""Rendering: JSON bodies as HAL or plain JSON (by ``Accept``), status lines with the reason
phrases ONTAP sends, and :class:`~simulator.errors.ApiError` as ONTAP's error answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import Any

from flask import Response, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import HTTP_STATUS_CODES, parse_accept_header

from ..errors import ApiError

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_HEADERS",
    "error_response",
    "json_response",
    "plain_json",
    "respond",
    "status_line",
    "without_links",
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
