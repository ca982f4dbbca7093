"""``Simulator.inventory``: the cluster's storage objects (cluster, nodes, software,
aggregates, SVMs, volumes, snapshots) seen through the one API path, for tests and tools.

A thin view over the store: reads and writes go through the same routing table, store and
deep models as any request (:mod:`simulator.model.deep`); nothing here holds a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:
    from .model.plan import WritePlan
    from .model.routes import Routes
    from .model.store import Store

__all__ = ["RESOURCES", "Inventory"]

#: The resources a scenario's ``inventory`` holds (and this view shows).
RESOURCES = ("Cluster", "Node", "Software", "Aggregate", "Svm", "Volume", "Snapshot")
_METHODS = ("GET", "POST", "PATCH", "DELETE")
#: What a write without a body is checked as: not a JSON object.
_NO_BODY: Any = []

Record = dict[str, Any]
Reader = Callable[[str, Mapping[str, str]], Record]
Planner = Callable[[str, str, "Mapping[str, Any] | None", Mapping[str, str]], "WritePlan"]


class Inventory:
    """The storage objects of one simulator; every method takes its lock."""

    def __init__(
        self,
        api: Callable[[], tuple[Routes, Store]],
        read: Reader,
        plan: Planner,
        load: Callable[[Mapping[str, Any] | None], None],
    ) -> None:
        self._api = api
        self._read = read
        self._plan = plan
        self._load = load

    # -- configuration -----------------------------------------------------------------
    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the starting inventory with ``data`` and reset to it (see
        :mod:`simulator.model.deep.inventory`); a ValueError names a bad entry and changes
        nothing."""
        self._load(data)

    def reset(self) -> None:
        """Back to the starting inventory; jobs planned before can no longer apply."""
        _, store = self._api()
        self._load(store.inventory)

    # -- accessors ---------------------------------------------------------------------
    def records_of(self, resource: str) -> list[Record] | None:
        """The records of an inventory resource as a GET shows them; None for any other."""
        if resource not in RESOURCES:
            return None
        _, store = self._api()
        with store.lock:
            return store.records_of(resource)

    def volumes(self) -> list[Record]:
        """Every volume record, as a record GET shows it."""
        return self.records_of("Volume") or []

    def snapshots(self, volume_uuid: str | None = None) -> list[Record]:
        """Every snapshot record (of one volume, if given)."""
        return [
            s
            for s in self.records_of("Snapshot") or []
            if volume_uuid is None or s["volume"]["uuid"] == volume_uuid
        ]

    def svms(self) -> list[Record]:
        """Every SVM record."""
        return self.records_of("Svm") or []

    def aggregates(self) -> list[Record]:
        """Every aggregate record."""
        return self.records_of("Aggregate") or []

    def cluster(self) -> Record:
        """The cluster record."""
        return (self.records_of("Cluster") or [{}])[0]

    # -- requests ----------------------------------------------------------------------
    def allowed_methods(self, path: str) -> list[str]:
        """The methods ``path`` takes on an inventory resource, bulk forms aside ([] for a
        path of any other resource)."""
        routes, store = self._api()
        path = path.rstrip("/") or "/"
        try:
            route = routes.match("GET", path)
        except ApiError:
            return []
        resource = store.spec.resources.get(route.operation.resource or "")
        if resource is None or resource.name not in RESOURCES:
            return []
        allowed = routes.allowed_methods(path)
        bulk = route.template == resource.collection_path and not resource.singleton
        return [m for m in _METHODS if m in allowed and not (bulk and m in ("PATCH", "DELETE"))]

    def handles(self, method: str, path: str) -> bool:
        """Whether ``method`` on ``path`` is a request on an inventory resource."""
        return method.upper() in self.allowed_methods(path)

    def read(self, path: str, params: Mapping[str, str]) -> Record:
        """Answer a GET on ``path`` as the API does (404 for a path of another resource)."""
        if not self.handles("GET", path):
            raise ApiError(404, "262179", f'Unexpected argument "{path}".', path)
        return self._read(path, params)

    def plan(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
    ) -> WritePlan:
        """Validate a write as the API does and return its plan; changes nothing."""
        method = method.upper()
        allowed = self.allowed_methods(path)
        if not allowed:
            raise ApiError(404, "262179", f'Unexpected argument "{path}".', path)
        if method not in allowed or method == "GET":
            raise ApiError(405, "3", f'The method "{method}" is not allowed on {path}.')
        restoring = any(k.startswith("restore_to.") for k in params)
        if body is None and method in ("POST", "PATCH") and not restoring:
            body = _NO_BODY  # as the HTTP layer: a POST or PATCH needs a JSON object
        return self._plan(method, path.rstrip("/") or "/", body, params)
