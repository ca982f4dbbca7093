"""A small client for the NAS and networking tests: ONTAP calls on an in-process Simulator."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from simulator import Simulator

HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
GIB = 1024**3
NAS = {"name": "vs0"}
#: Two SVMs, a mounted volume and an unmounted one, a DP volume, vs0's CIFS server.
SCENARIO: dict[str, Any] = {
    "inventory": {
        "svms": [NAS, {"name": "vs1"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [
            {"name": "vol1", "svm": NAS, "size": GIB, "nas": {"path": "/vol1"}},
            {"name": "vol2", "svm": NAS, "size": GIB, "nas": {"security_style": "ntfs"}},
            {"name": "dst", "svm": NAS, "size": GIB, "type": "dp"},
            {"name": "other", "svm": {"name": "vs1"}, "size": GIB, "nas": {"path": "/other"}},
        ],
    },
    "records": {"CifsService": [{"svm": NAS, "name": "CIFS1", "workgroup": "WG"}]},
}


@dataclass
class Api:
    """ONTAP requests on ``sim`` (``return_timeout`` added to writes so jobs finish)."""

    sim: Simulator

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if method != "GET" and "return_timeout" not in path:
            path += ("&" if "?" in path else "?") + "return_timeout=30"
        response = self.sim.app.test_client().open(path, method=method, headers=HEADERS, json=body)
        return response.status_code, response.json

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        assert status == 200, body
        return body

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        assert status in (200, 201), answer
        return answer

    def refused(self, method: str, path: str, body: Any = None) -> tuple[int, str, str]:
        """(status, code, message) of a write ONTAP refuses."""
        status, answer = self.call(method, path, body)
        assert status >= 400, answer
        error = answer["error"]
        return status, error["code"], error["message"]

    def one(self, path: str, **query: str) -> Any:
        text = "&".join(f"{k}={v}" for k, v in {**query, "fields": "*"}.items())
        records = self.get(f"{path}?{text}")["records"]
        assert len(records) == 1, records
        return records[0]

    def uuid(self, path: str, name: str) -> str:
        return str(self.one(path, name=name)["uuid"])
