"""The direct WSGI adapter gives the app what the ``responses`` route (werkzeug's client) does."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from pytest_ontapjob._inprocess import INPROCESS_URL, WSGIAdapter, inprocess_transport

# Keys only werkzeug's test client sets (request URI copies and its own request object).
_CLIENT_ONLY = {"REQUEST_URI", "RAW_URI", "werkzeug.request"}


class Recorder:
    """A WSGI app that keeps what it was given and answers with two Set-Cookie lines."""

    def __init__(self) -> None:
        self.environ: dict[str, Any] = {}
        self.body = b""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.environ = dict(environ)
        self.body = environ["wsgi.input"].read()
        start_response(
            "201 CREATED",
            [
                ("Content-Type", "application/hal+json; charset=utf-8"),
                ("Content-Length", "9"),
                ("X-Twice", "a"),
                ("x-twice", "b"),
            ],
        )
        return [b'{"a":', b"1}"]


def _comparable(environ: dict[str, Any]) -> dict[str, Any]:
    skip = _CLIENT_ONLY | {"wsgi.input", "ontap_sim.drop"}
    return {key: value for key, value in environ.items() if key not in skip}


REQUESTS = [
    ("GET", "/api/cluster/jobs/1f2e?fields=state,message", {}),
    ("GET", "/api/storage/volumes/a%20b%2Fc/caf%C3%A9?name=%C3%A9*&x=1&x=2", {}),
    ("POST", "/api/storage/volumes?return_timeout=5", {"json": {"name": "vé"}}),
    ("PATCH", "/api/x", {"data": "plain text", "headers": {"X-Dot-Client-App": "t/1"}}),
    ("DELETE", "/api/x", {"headers": {"Content-Length": "0"}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), REQUESTS)
def test_the_adapter_builds_the_environ_the_responses_route_builds(
    method: str, path: str, kwargs: dict[str, Any]
) -> None:
    app = Recorder()
    with requests.Session() as session:
        session.mount(INPROCESS_URL + "/", WSGIAdapter(app))
        direct = session.request(method, INPROCESS_URL + path, auth=("u", "p"), **kwargs)
    direct_environ, direct_body = app.environ, app.body
    with inprocess_transport(app), requests.Session() as session:
        routed = session.request(method, INPROCESS_URL + path, auth=("u", "p"), **kwargs)
    assert _comparable(direct_environ) == _comparable(app.environ)
    assert direct_body == app.body
    assert direct_environ["ontap_sim.transport"] == "inprocess"
    assert direct.reason == "CREATED"  # the app's reason, as a real server sends it
    for answer in (direct, routed):
        assert (answer.status_code, answer.content) == (201, b'{"a":1}')
        assert answer.encoding == "utf-8"
        assert answer.json() == {"a": 1}
    assert dict(direct.headers) == dict(routed.headers)
    assert direct.headers["x-twice"] == "a, b"
    assert "Content-Length" not in direct.headers


def test_the_adapter_refuses_another_origin() -> None:
    with requests.Session() as session:
        session.mount("http://ontap-sim.", WSGIAdapter(Recorder()))
        with pytest.raises(requests.ConnectionError, match="no route to"):
            session.get("http://ontap-sim.invalid.example.com/api", timeout=1)


def test_a_dropped_connection_raises_connection_error() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["ontap_sim.drop"]()
        start_response("200 OK", [])
        return [b""]

    with requests.Session() as session:
        session.mount(INPROCESS_URL + "/", WSGIAdapter(app))
        with pytest.raises(requests.ConnectionError, match="dropped the connection"):
            session.get(INPROCESS_URL + "/api/cluster", timeout=1)
