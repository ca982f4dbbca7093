"""The in-process transport: ``requests`` calls answered by a WSGI app, with no socket.

:func:`inprocess_transport` installs a ``responses`` mock whose callbacks hand every request
for one fake base URL to the simulator's Flask app through werkzeug's test client, so the same
client code runs over HTTP or in process. Any other URL is refused (``requests.ConnectionError``):
a test in this mode never reaches the network. A "drop" fault (the app calls
``environ["ontap_sim.drop"]()``) becomes the ``ConnectionError`` a closed connection gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

__all__ = ["INPROCESS_URL", "inprocess_transport"]

#: The base URL the in-process simulator answers on (``.invalid`` never resolves: RFC 6761).
INPROCESS_URL = "http://ontap-sim.invalid"

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DROP_KEY = "ontap_sim.drop"
_TRANSPORT_KEY = "ontap_sim.transport"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

Callback = Callable[["PreparedRequest"], "tuple[int, dict[str, str], bytes]"]


def _callback(app: Any, base_url: str) -> Callback:
    from requests import ConnectionError as RequestsConnectionError
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
            raise RequestsConnectionError(
                "Connection aborted: the simulator dropped the connection (drop fault)",
                request=request,
            )
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
