"""A scenario's ``inventory``: the cluster, nodes, aggregates, SVMs, volumes and snapshots a
simulated cluster starts with (:data:`DEFAULT_INVENTORY` when the scenario gives none).

Loaded into the store when it starts and after every reset. SVMs, volumes and snapshots are
created as their POSTs create them (checked, defaults and rules of their deep models); every
entry may give a ``uuid``, else one is derived from its names, stable across resets and runs.
A bad entry raises ValueError naming it (``inventory: volumes[0] ('v1'): ...``).
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, bad_value
from ...jobs import EffectError
from ..body import expand_dotted

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["DEFAULT_INVENTORY", "derived_uuid", "load_inventory"]

Record = dict[str, Any]

DEFAULT_INVENTORY: Mapping[str, Any] = {
    "cluster": {"name": "cluster1", "version": "9.15.1"},
    "svms": [{"name": "vs0"}],
    "aggregates": [{"name": "aggr1"}],
    "volumes": [],
    "snapshots": [],
}
_KEYS = ("cluster", "nodes", "svms", "aggregates", "volumes", "snapshots")
#: Namespace of the uuids derived from names, so ``vs0`` has the same uuid in every run.
_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/")
_REFERENCE_FIELDS = frozenset({"name", "uuid"})


def derived_uuid(kind: str, *names: str) -> str:
    """The stable uuid of an inventory entry of ``kind`` named ``names``."""
    return str(uuidlib.uuid5(_NAMESPACE, "/".join((kind, *names))))


def _entry_uuid(entry: Record, where: str, derived: str, taken: Iterable[str]) -> str:
    raw = entry.pop("uuid", None)
    if raw is None:
        value = derived
    elif not isinstance(raw, str):
        raise ValueError(f"{where}: uuid must be a string, got {raw!r}")
    else:
        try:
            value = str(uuidlib.UUID(raw))
        except ValueError:
            raise ValueError(f"{where}: uuid {raw!r} is not a uuid") from None
    if value in set(taken):
        problem = "duplicate entry" if raw is None else f"uuid {value} is used twice"
        raise ValueError(f"{where}: {problem}")
    return value


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[str, Record]]:
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f"inventory: {key} must be a list, got {type(items).__name__}")
    out: list[tuple[str, Record]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValueError(f"inventory: {key}[{index}] must be an object")
        name = item.get("name")
        where = f"inventory: {key}[{index}]" + (f" ({name!r})" if name is not None else "")
        with _entry_errors(where):
            out.append((where, expand_dotted(item)))
    return out


@contextmanager
def _entry_errors(where: str) -> Iterator[None]:
    """Turn the refusals of a loaded entry into ValueError naming the entry."""
    try:
        yield
    except (ApiError, EffectError) as exc:
        raise ValueError(f"{where}: {exc.message}") from None


def _table(store: Store, resource: str) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault(resource, {})


def _post(store: Store, template: str, values: list[str], body: Record, uuid: str) -> None:
    """Create a record as a POST of ``body`` on ``template`` would, with ``uuid``."""
    from ..store import fill_path

    operation = next(o for o in store.spec.operations_on(template) if o.method == "POST")
    path = fill_path(template, values)
    target = store.target(template, path, values)
    store.plan(operation, target, body, {}, preset={"uuid": uuid}).effect()


def load_inventory(store: Store) -> None:
    """Load ``store.inventory`` (or the default one) into the store's empty tables."""
    data = DEFAULT_INVENTORY if store.inventory is None else store.inventory
    if not isinstance(data, Mapping):
        raise ValueError("inventory: must be an object")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValueError(f'inventory: unknown key "{unknown[0]}" (known: {", ".join(_KEYS)})')
    nodes = _load_cluster(store, data)
    _load_aggregates(store, data, nodes)
    for where, entry in _entries(data, "svms"):
        svm_uuid = _entry_uuid(
            entry, where, derived_uuid("svm", str(entry.get("name"))), _uuids(store, "Svm")
        )
        with _entry_errors(where):
            _post(store, "/api/svm/svms", [], entry, svm_uuid)
    aggregates = list(_table(store, "Aggregate").values())
    for where, entry in _entries(data, "volumes"):
        if "aggregates" not in entry and aggregates:
            # A scenario's volume may leave its aggregate out (a client's POST may not).
            entry["aggregates"] = [{"uuid": aggregates[0]["uuid"]}]
        svm = entry.get("svm")
        svm_name = svm.get("name") or svm.get("uuid") if isinstance(svm, Mapping) else None
        derived = derived_uuid("volume", str(svm_name), str(entry.get("name")))
        volume_uuid = _entry_uuid(entry, where, derived, _uuids(store, "Volume"))
        with _entry_errors(where):
            _post(store, "/api/storage/volumes", [], entry, volume_uuid)
    for where, entry in _entries(data, "snapshots"):
        volume_uuid = _snapshot_volume(store, where, entry)
        derived = derived_uuid("snapshot", volume_uuid, str(entry.get("name")))
        snapshot_uuid = _entry_uuid(entry, where, derived, _uuids(store, "Snapshot"))
        with _entry_errors(where):
            template = "/api/storage/volumes/{volume.uuid}/snapshots"
            _post(store, template, [volume_uuid], entry, snapshot_uuid)


def _uuids(store: Store, resource: str) -> list[str]:
    return [str(r.get("uuid")) for r in _table(store, resource).values()]


def _load_cluster(store: Store, data: Mapping[str, Any]) -> list[str]:
    """The cluster record and its nodes; the names of the nodes the inventory lists."""
    from .platform import CLUSTER_NAME, VERSION, version_of

    cluster = data.get("cluster")
    cluster = {} if cluster is None else cluster
    if not isinstance(cluster, Mapping):
        raise ValueError("inventory: cluster must be an object")
    extra = sorted(set(cluster) - {"name", "version", "uuid"})
    if extra:
        raise ValueError(f'inventory: cluster: unknown field "{extra[0]}"')
    name = cluster.get("name", "cluster1")
    if not isinstance(name, str) or not CLUSTER_NAME.fullmatch(name):
        raise ValueError(f"inventory: cluster: invalid name {name!r}")
    version = cluster.get("version", "9.15.1")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        shown = (
            version if not isinstance(version, str) or len(version) <= 40 else version[:40] + "..."
        )
        raise ValueError(
            'inventory: cluster: version must look like "9.15.1" (three numbers of 1 to 4 '
            f"digits), got {shown!r}"
        )
    entry = dict(cluster)
    uuid = _entry_uuid(entry, "inventory: cluster", derived_uuid("cluster", name), ())
    _table(store, "Cluster")[()] = {"name": name, "uuid": uuid, "version": version_of(version)}
    names: list[str] = []
    for where, node in _entries(data, "nodes"):
        node_name = node.pop("name", None)
        if node or not isinstance(node_name, str) or not CLUSTER_NAME.fullmatch(node_name):
            raise ValueError(f'{where}: a node is {{"name": ...}} (a valid name, only)')
        if node_name in names:
            raise ValueError(f"{where}: duplicate node name {node_name!r}")
        names.append(node_name)
    for node_name in names or [f"{name}-01"]:
        node_uuid = derived_uuid("node", node_name)
        _table(store, "Node")[(node_uuid,)] = {"uuid": node_uuid, "name": node_name}
    return names


def _load_aggregates(store: Store, data: Mapping[str, Any], nodes: list[str]) -> None:
    from .platform import AGGREGATE_NAME, DEFAULT_AGGREGATE_SIZE

    table = _table(store, "Aggregate")
    for where, entry in _entries(data, "aggregates"):
        node_ref = entry.pop("node", None)
        node_name = node_ref.get("name") if isinstance(node_ref, Mapping) else node_ref
        if node_ref is not None and node_name not in nodes:
            raise ValueError(f"{where}: node {node_name!r} is not one of the inventory's nodes")
        extra = sorted(set(entry) - {"name", "space", "uuid"})
        size = _pop(entry, ["space", "block_storage", "size"])
        if extra or entry.get("space"):
            raise ValueError(f'{where}: unknown field "{extra[0] if extra else "space"}"')
        name = entry.get("name")
        if not isinstance(name, str) or not AGGREGATE_NAME.fullmatch(name):
            raise ValueError(f"{where}: invalid or missing aggregate name {name!r}")
        if any(a["name"] == name for a in table.values()):
            raise ValueError(f"{where}: duplicate aggregate name {name!r}")
        if size is None:
            size = DEFAULT_AGGREGATE_SIZE
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"{where}: space.block_storage.size must be a positive integer")
        uuid = _entry_uuid(
            entry, where, derived_uuid("aggregate", name), _uuids(store, "Aggregate")
        )
        node = next(iter(_table(store, "Node").values()))
        if node_name is not None:
            node = _table(store, "Node")[(derived_uuid("node", node_name),)]
        table[(uuid,)] = {
            "uuid": uuid,
            "name": name,
            "node": {"name": node["name"], "uuid": node["uuid"]},
            "space": {"block_storage": {"size": size}},
        }


def _pop(record: Record, parts: list[str]) -> Any:
    """Remove and return the value at ``parts``, pruning the objects it leaves empty."""
    head = parts[0]
    if head not in record:
        return None
    if len(parts) == 1:
        return record.pop(head)
    child = record[head]
    if not isinstance(child, dict):
        return None
    value = _pop(child, parts[1:])
    if not child:
        del record[head]
    return value


def _snapshot_volume(store: Store, where: str, entry: Record) -> str:
    """The volume a loaded snapshot names (``volume`` and, if ambiguous, ``svm``)."""
    volume_ref = entry.pop("volume", None)
    svm_ref = entry.pop("svm", None)
    volumes = list(_table(store, "Volume").values())
    with _entry_errors(where):
        if not isinstance(volume_ref, Mapping) or not volume_ref:
            raise bad_value("volume", 'Field "volume" ({"name"} or {"uuid"}) is required.')
        _reference(volume_ref, "volume")
        if svm_ref is not None:
            if not isinstance(svm_ref, Mapping):
                raise bad_value("svm", 'Field "svm" must be an object.')
            _reference(svm_ref, "svm")
            svms = [
                s
                for s in _table(store, "Svm").values()
                if all(s.get(k) == v for k, v in svm_ref.items())
            ]
            if not svms:
                shown = svm_ref.get("name") or svm_ref.get("uuid")
                raise bad_value("svm.name", f'Svm "{shown}" does not exist.')
            volumes = [v for v in volumes if v["svm"]["uuid"] == svms[0]["uuid"]]
    matching = [
        str(v["uuid"])
        for v in volumes
        if volume_ref.get("uuid", v["uuid"]) == v["uuid"]
        and volume_ref.get("name", v["name"]) == v["name"]
    ]
    if len(matching) != 1:
        problem = "does not exist" if not matching else "is ambiguous: give its svm"
        raise ValueError(f"{where}: volume {dict(volume_ref)!r} {problem}")
    return matching[0]


def _reference(ref: Mapping[str, Any], target: str) -> None:
    """400 unless ``ref`` is ``{"name"}`` and/or ``{"uuid"}`` (non-empty strings)."""
    for key, value in ref.items():
        if key not in _REFERENCE_FIELDS:
            raise ApiError(400, "2", f'Unexpected argument "{target}.{key}".', f"{target}.{key}")
        if not isinstance(value, str) or not value:
            raise bad_value(
                f"{target}.{key}", f'Field "{target}.{key}" must be a non-empty string.'
            )


def copied(data: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A private copy of an inventory (the caller's may change later)."""
    return (
        None if data is None else copy.deepcopy(dict(data)) if isinstance(data, Mapping) else data
    )
