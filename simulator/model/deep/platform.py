"""The cluster itself: the cluster record, its nodes, its software and its aggregates.

The cluster, its nodes and aggregates come from the scenario's ``inventory`` (loaded by
:func:`simulator.model.deep.inventory.load_inventory` when the store starts and after every
reset); clients change what ONTAP lets them change, and every other field a PATCH sets is kept
as given and read back. Renaming the cluster renames neither its nodes nor changes their uuids
(``cluster identity modify`` changes the cluster's name only; a node's uuid is its identity);
a node is renamed by a PATCH of its own. What is derived: the version every node and the
software show (the cluster's; a software PATCH of ``version`` upgrades at once), an
aggregate's used and available space (the sizes of the volumes it holds with a ``volume``
guarantee).

Refusals (INFERRED where ONTAP documents no code): a cluster POST on a cluster that exists
(409), a node POST (400: no node outside the cluster), a node DELETE (409: it holds the
cluster's aggregates), an aggregate DELETE while it holds volumes (409).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, bad_value
from ..behaviour import Behaviour, Event, register
from ..body import invalid
from .inventory import load_inventory

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["DEFAULT_AGGREGATE_SIZE", "cluster_record", "version_of"]

Record = dict[str, Any]

#: An aggregate's size when the inventory gives none (1 TiB).
DEFAULT_AGGREGATE_SIZE = 1024**4
_RELEASE_DATE = "Mon Jun 03 12:00:00 UTC 2024"
CLUSTER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,43}")
VERSION = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})")
AGGREGATE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def version_of(text: str) -> Record:
    """The ``version`` object of a cluster running ``text`` (``"9.15.1"``)."""
    generation, major, minor = (int(part) for part in text.split("."))
    return {
        "full": f"NetApp Release {text}: {_RELEASE_DATE}",
        "generation": generation,
        "major": major,
        "minor": minor,
    }


def cluster_record(store: Store) -> Record:
    """The cluster's stored record."""
    return store.tables.setdefault("Cluster", {}).setdefault((), {})


def _version_text(store: Store) -> str:
    version = cluster_record(store).get("version", {})
    return f"{version.get('generation')}.{version.get('major')}.{version.get('minor')}"


def _link(href: str) -> Record:
    return {"self": {"href": href}}


def _check_name(pattern: re.Pattern[str], name: Any, rule: str) -> None:
    if isinstance(name, str) and not pattern.fullmatch(name):
        raise invalid("name", name, rule)


@register
class ClusterBehaviour(Behaviour):
    """The cluster: set up already (a POST is refused), renamed with a valid name."""

    resource = "Cluster"
    required_post = ()
    rendered = True
    computed = True

    def seed(self, store: Store) -> None:
        load_inventory(store)

    def prepare_post(self, store: Store, data: Record) -> None:
        name = cluster_record(store).get("name")
        # INFERRED: ONTAP creates a cluster only on nodes that are not in one.
        raise ApiError(409, "1", f'The cluster "{name}" is already set up.')

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        _check_name(
            CLUSTER_NAME,
            changes.get("name"),
            "a cluster name: a letter, then letters, digits, _ . -",
        )

    def render(self, store: Store, record: Record) -> Record:
        record["_links"] = _link("/api/cluster")
        return record


@register
class NodeBehaviour(Behaviour):
    """The cluster's nodes: running the cluster's version; none is added or removed."""

    resource = "Node"
    required_post = ()
    rendered = True
    computed = True

    def prepare_post(self, store: Store, data: Record) -> None:
        # INFERRED: adding a node needs a node that is not in the cluster; none is.
        raise ApiError(400, "2", "There is no node outside the cluster to add.", "name")

    def check_delete(self, store: Store, record: Record) -> None:
        # INFERRED: ONTAP keeps a node that holds the cluster's aggregates and root volume.
        raise ApiError(
            409,
            "1",
            f'Cannot remove node "{record.get("name")}": it is the '
            "cluster's only node and holds its aggregates.",
            "uuid",
        )

    def render(self, store: Store, record: Record) -> Record:
        return {
            "uuid": record.get("uuid"),
            "name": record.get("name"),
            "version": version_of(_version_text(store)),
            "model": "SIMBOX",
            "serial_number": "4082368-50-7",
            "state": "up",
            "membership": "member",
            **record,
        }


@register
class SoftwareBehaviour(Behaviour):
    """The cluster's software: its version is the cluster's; a PATCH upgrades at once."""

    resource = "Software"

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        version = changes.get("version")
        if version is not None and not VERSION.fullmatch(version):
            raise invalid("version", version, 'a version like "9.16.1"')

    def applied(self, store: Store, event: Event, record: Record) -> None:
        version = record.pop("version", None)
        if isinstance(version, str):
            cluster_record(store)["version"] = version_of(version)

    def render(self, store: Store, record: Record) -> Record:
        version = _version_text(store)
        nodes = [{"name": n.get("name"), "version": version} for n in _nodes(store)]
        return {
            "version": version,
            "nodes": nodes,
            "state": "completed",
            "elapsed_duration": 0,
            "estimated_duration": 0,
            **record,
            "_links": _link("/api/cluster/software"),
        }


def _nodes(store: Store) -> list[Record]:
    return list(store.tables.get("Node", {}).values())


@register
class AggregateBehaviour(Behaviour):
    """Aggregates: on a node of the cluster (the first by default); space from the volumes."""

    resource = "Aggregate"
    required_post = (("name",),)
    rendered = True
    computed = True

    def prepare_post(self, store: Store, data: Record) -> None:
        self.prepare_patch(store, {}, data)
        if "node" not in data:
            node = next(iter(_nodes(store)), None)
            if node is None:
                raise bad_value("node.name", "The cluster has no node.")
            data["node"] = {"name": node["name"], "uuid": node["uuid"]}
        data.setdefault("space", {}).setdefault("block_storage", {}).setdefault(
            "size", DEFAULT_AGGREGATE_SIZE
        )

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        _check_name(
            AGGREGATE_NAME,
            changes.get("name"),
            "letters, digits and _, starting with a letter or _",
        )

    def check_delete(self, store: Store, record: Record) -> None:
        uuid = record.get("uuid")
        for volume in store.tables.get("Volume", {}).values():
            if any(a.get("uuid") == uuid for a in volume.get("aggregates", [])):
                # INFERRED code: ONTAP refuses to delete an aggregate that holds volumes.
                raise ApiError(
                    409,
                    "1",
                    f'Cannot delete aggregate "{record.get("name")}" because it contains volumes.',
                    "uuid",
                )

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "delete":
            return
        for svm in store.tables.get("Svm", {}).values():
            kept = [a for a in svm.get("aggregates", []) if a.get("uuid") != record.get("uuid")]
            svm["aggregates"] = kept

    def render(self, store: Store, record: Record) -> Record:
        block = record.setdefault("space", {}).setdefault("block_storage", {})
        size = int(block.get("size", DEFAULT_AGGREGATE_SIZE))
        used = sum(
            int(v.get("size", 0))
            for v in store.tables.get("Volume", {}).values()
            if v.get("guarantee", {}).get("type") == "volume"
            and v.get("aggregates")
            and v["aggregates"][0].get("uuid") == record.get("uuid")
        )
        used = min(used, size)
        block.update({"size": size, "available": size - used, "used": used})
        node = record.get("node")
        if isinstance(node, dict) and node.get("uuid"):
            node["_links"] = _link(f"/api/cluster/nodes/{node['uuid']}")
        record.setdefault("state", "online")
        return record
