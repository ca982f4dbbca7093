"""The in-process transport: ``requests`` calls answered by a WSGI app, with no socket.

Two routes, giving the same answers:

- :func:`inprocess_transport` installs a ``responses`` mock whose callbacks hand every request
  for one fake base URL to the simulator's Flask app through werkzeug's test client, so any
  ``requests`` code runs in process. Any other URL is refused (``requests.ConnectionError``): a
  test in this mode never reaches the network.
- :class:`WSGIAdapter` is a ``requests`` transport adapter that calls the app directly; mounted
  on one session (as the ``ontap_client`` fixture does), it skips ``responses``, urllib3 and the
  test client, a third of an in-process poll's cost.

A "drop" fault (the app calls ``environ["ontap_sim.drop"]()``) becomes the ``ConnectionError``
a closed connection gives.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from requests import ConnectionError as RequestsConnectionError
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

if TYPE_CHECKING:
    import responses

__all__ = ["INPROCESS_URL", "WSGIAdapter", "inprocess_transport"]

#: The base URL the in-process simulator answers on (``.invalid`` never resolves: RFC 6761).
INPROCESS_URL = "http://ontap-sim.invalid"

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DROP_KEY = "ontap_sim.drop"
_TRANSPORT_KEY = "ontap_sim.transport"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

Callback = Callable[["PreparedRequest"], "tuple[int, dict[str, str], bytes]"]


def _dropped(request: PreparedRequest) -> RequestsConnectionError:
    return RequestsConnectionError(
        "Connection aborted: the simulator dropped the connection (drop fault)",
        request=request,
    )


def _callback(app: Any, base_url: str) -> Callback:
    from werkzeug.test import Client

    client = Client(app, use_cookies=False)

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url or "")
        dropped = False

        def drop() -> None:
            nonlocal dropped
            dropped = True

        body = request.body
        data = body.encode() if isinstance(body, str) else (body or b"")
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() != "content-length"
        ]
        response = client.open(
            parts.path or "/",
            base_url=base_url,
            method=request.method or "GET",
            query_string=parts.query,
            headers=headers,
            data=data,
            environ_overrides={_DROP_KEY: drop, _TRANSPORT_KEY: "inprocess"},
        )
        try:
            content = response.get_data()
        finally:
            response.close()
        if dropped:
            raise _dropped(request)
        out_headers = {
            name: value for name, value in response.headers if name.lower() not in _HOP_BY_HOP
        }
        return response.status_code, out_headers, content

    return answer


@contextmanager
def inprocess_transport(
    app: Any, base_url: str = INPROCESS_URL
) -> Iterator[responses.RequestsMock]:
    """Route ``requests`` calls for ``base_url`` to the WSGI ``app`` while the block runs.

    ``app`` is a WSGI callable (``Simulator.app``). Yields the active ``responses.RequestsMock``
    (its ``calls`` list every request). Requests to any other URL raise ``ConnectionError``.
    """
    import responses

    base_url = base_url.rstrip("/")
    pattern = re.compile(re.escape(base_url) + r"(?:[/?#].*)?\Z")
    callback = _callback(app, base_url)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    for method in _METHODS:
        mock.add_callback(method, pattern, callback=callback, content_type=None)
    with mock:
        yield mock


class WSGIAdapter(BaseAdapter):
    """A ``requests`` adapter answering every request from the WSGI ``app``, with no socket.

    Mount it on a session for ``base_url`` (``session.mount(base_url + "/", adapter)``). The
    app sees the environ werkzeug's test client builds (so the same answers as
    :func:`inprocess_transport`); a request for another origin raises ``ConnectionError``.
    """

    def __init__(self, app: Any, base_url: str = INPROCESS_URL) -> None:
        super().__init__()
        self.app = app
        parts = urlsplit(base_url)
        self._origin = (parts.scheme.lower(), parts.netloc.lower())
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._environ: dict[str, Any] = {
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "HTTP_HOST": parts.netloc,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            _TRANSPORT_KEY: "inprocess",
        }

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Hand ``request`` to the app; its answer, whole, as a ``requests.Response``."""
        url = request.url or ""
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
            raise RequestsConnectionError(
                f"in-process transport: no route to {parts.scheme}://{parts.netloc}",
                request=request,
            )
        body = request.body
        data = body.encode() if isinstance(body, str) else (body or b"")
        if not isinstance(data, bytes):
            data = b"".join(data)
        dropped = False

        def drop() -> None:
            nonlocal dropped
            dropped = True

        environ = self._environ.copy()
        environ["REQUEST_METHOD"] = request.method or "GET"
        environ["PATH_INFO"] = unquote(parts.path or "/").encode().decode("latin1")
        environ["QUERY_STRING"] = parts.query.encode().decode("latin1")
        environ["wsgi.input"] = io.BytesIO(data)
        environ[_DROP_KEY] = drop
        if data:
            environ["CONTENT_LENGTH"] = str(len(data))
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key != "CONTENT_LENGTH":
                environ["HTTP_" + key] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return None

        iterable: Iterable[bytes] = self.app(environ, start_response)
        try:
            content = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        if dropped:
            raise _dropped(request)
        status, headers = started
        response = Response()
        code, _, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        merged: dict[str, tuple[str, str]] = {}
        for name, value in headers:
            lower = name.lower()
            if lower in _HOP_BY_HOP:
                continue
            if lower in merged:
                first, seen = merged[lower]
                merged[lower] = (first, f"{seen}, {value}")
            else:
                merged[lower] = (name, value)
        out: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(merged.values()))
        response.headers = out
        response.encoding = get_encoding_from_headers(out)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True  # type: ignore[attr-defined]
        response.url = url
        response.request = request
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        """Nothing to close: no connection was opened."""
