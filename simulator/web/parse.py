"""Parsing a request: its path, its query arguments and its JSON body, with ONTAP's errors
for what cannot be parsed (413 for a body too large, 400 for bad JSON)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" codec error handler
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property

from ..errors import ApiError, bad_value
from .exchange import exchange

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "NO_LENGTH",
    "SimRequest",
    "api_path",
    "json_body",
    "parse_json",
    "parse_query",
    "path_of",
    "query_params",
    "raw_body",
    "too_large",
]

#: Larger request bodies are refused with 413 before they are read.
MAX_BODY_BYTES = 1024 * 1024
#: JSON bodies nested deeper are refused with 400 (ONTAP's bodies nest a few levels).
MAX_JSON_DEPTH = 64
#: Integers in JSON bodies must fit ONTAP's 64 bits.
_INT_LIMIT = 2**63
#: CONTENT_LENGTH values (absent, empty, zero) for which werkzeug reads no body at all.
NO_LENGTH = (None, "", "0")
_PARAMS_KEY = "ontap_sim.params"
#: werkzeug's codec error handler: an undecodable byte stays ``%XX``.
_ERRORS = "werkzeug.url_quote"
#: Parsed query strings remembered (each at most ``_PARSED_CHARS`` long).
_PARSED: dict[str, dict[str, str]] = {}
_PARSED_MAX = 256
_PARSED_CHARS = 512
#: What the routing table decodes in a path variable's value (see :func:`api_path`).
_ESCAPES = re.compile("%2[fF5]")


def path_of(environ: MutableMapping[str, Any]) -> str:
    """The request path as werkzeug's ``Request.path`` reads it from ``PATH_INFO``."""
    raw: str = environ.get("PATH_INFO") or ""
    return "/" + raw.encode("latin1").decode(errors="replace").lstrip("/")


def api_path(environ: MutableMapping[str, Any]) -> str:
    """The request path, with a path segment's encoded ``/`` (``%2F``) or ``%`` kept encoded:
    ONTAP takes a key that is a path URL-encoded (``.../permissions/{svm.uuid}/v1%2Fdir/acl``),
    which decoding the whole path first would split into segments. The routing table decodes
    the values it matches. Any other path reads as :func:`path_of` reads it."""
    raw: str = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    target = raw.partition("?")[0]
    if "%2" not in target.upper():  # neither %2F nor %25: nothing decodes differently
        return path_of(environ)
    if not target.startswith("/"):  # absolute form: http://host/path
        target = "/" + target.partition("://")[2].partition("/")[2]
    segments = []
    for segment in target.split("/"):
        text = unquote(segment, errors="replace")
        if "/" in text or _ESCAPES.search(text):  # else the routing table reads it as it is
            text = text.replace("%", "%25").replace("/", "%2F")
        segments.append(text)
    return "/".join(segments)


def _query_text(raw: str) -> str:
    """``QUERY_STRING`` as text: a raw byte that is not UTF-8 stays percent-encoded, as
    werkzeug leaves a bad ``%XX`` escape (werkzeug itself raises on such a byte)."""
    try:
        data = raw.encode("latin1")  # what a WSGI server puts in QUERY_STRING
    except UnicodeEncodeError:
        data = raw.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "werkzeug.url_quote")


class SimRequest(Request):
    """Flask's request, whose ``args`` take any query string (the control API's too)."""

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        text = _query_text(self.environ.get("QUERY_STRING", ""))
        return ImmutableMultiDict(parse_qsl(text, keep_blank_values=True, errors=_ERRORS))


def parse_query(raw: str) -> dict[str, str]:
    """A WSGI ``QUERY_STRING``'s arguments, decoded as werkzeug's ``Request.args`` (a
    repeated argument keeps its last value; raw bytes that are not UTF-8, which werkzeug
    cannot decode, are percent-encoded). The caller must not change the dict: a short
    query's is remembered (pollers repeat theirs), up to :data:`_PARSED_MAX` of them."""
    found = _PARSED.get(raw)
    if found is None:
        text = _query_text(raw)
        found = dict(parse_qsl(text, keep_blank_values=True, errors=_ERRORS))
        if len(raw) <= _PARSED_CHARS:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[raw] = found
    return found


def query_params(environ: MutableMapping[str, Any]) -> dict[str, str]:
    """The request's query arguments (:func:`parse_query`); each call returns its own copy."""
    params: dict[str, str] | None = environ.get(_PARAMS_KEY)
    if params is None:
        params = environ[_PARAMS_KEY] = parse_query(environ.get("QUERY_STRING", ""))
    return dict(params)


def too_large() -> ApiError:
    return ApiError(413, "2", f"The request body exceeds {MAX_BODY_BYTES} bytes.", "body")


def raw_body(request: Request) -> bytes:
    """The request body; 413 when over :data:`MAX_BODY_BYTES`, 400 when it ended early.

    A failed read is remembered on the request's exchange, so the journal does not read again.
    """
    environ = request.environ
    state = exchange(environ)
    if state.body_error is not None:
        raise state.body_error
    if environ.get("CONTENT_LENGTH") in NO_LENGTH and "wsgi.input_terminated" not in environ:
        return b""  # werkzeug's get_data() would read an empty stream (most GETs: no body)
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        error = too_large()
    except ClientDisconnected:
        error = bad_value("body", "The request body ended before its Content-Length.")
    else:
        # A chunked body is cut at MAX_CONTENT_LENGTH (one byte over ours) without an error.
        if len(raw) <= MAX_BODY_BYTES:
            return raw
        error = too_large()
    state.body_error = error
    raise error


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


def json_body(request: Request, *, required: bool) -> dict[str, Any] | None:
    """The body as a JSON object (``None`` when empty and not ``required``); 400 otherwise."""
    raw = raw_body(request)
    if not raw.strip():
        if required:
            raise bad_value("body", "A JSON object is required in the request body.")
        return None
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise bad_value("body", "The request body must be a JSON object.")
    return data
