"""Disks and their ownership: ``/api/storage/disks``, and what ``storage disk assign`` and
``storage disk removeowner`` (the CLI passthrough) change on them.

A cluster's disks are derived from its inventory when first read (INFERRED layout, the same
for every scenario): three disks in each aggregate (``container_type: aggregate``, owned by the
aggregate's node), two spares per node, and four unassigned disks (no ``node`` nor
``home_node``), named ``1.0.<n>``, SAS, 1 TiB each. Ownership rules (ONTAP's ``storage disk
assign`` and ``removeowner``; codes INFERRED): assigning makes an unassigned disk a spare of
the owner (``node`` and ``home_node``); a disk that has an owner is not assigned again (400,
code 2); only a spare loses its owner (an aggregate's disk: 409, code 1); an unknown disk or
node: 404, code 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, bad_value
from ..behaviour import Behaviour, register

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "assign_disks",
    "assign_partition",
    "disks",
    "partitions",
    "remove_owner",
    "remove_partition_owner",
]

Record = dict[str, Any]
DISK_SIZE = 1024**4
AGGREGATE_DISKS = 3
SPARES_PER_NODE = 2
UNASSIGNED = 4


def _owner(node: Record) -> Record:
    return {"name": node.get("name"), "uuid": node.get("uuid")}


def _disk(number: int, container: str, node: Record | None) -> Record:
    disk: Record = {
        "name": f"1.0.{number}",
        "uid": f"5000CCA0:{number:08X}:00000000:00000000:00000000:00000000:00000000:00000000",
        "serial_number": f"SIMD{number:06d}",
        "model": "SIMDISK",
        "vendor": "NETAPP",
        "type": "sas",
        "effective_type": "sas",
        "class": "performance",
        "state": "present",
        "pool": "pool0",
        "bay": number,
        "shelf": {"uid": "1"},
        "usable_size": DISK_SIZE,
        "physical_size": DISK_SIZE,
        "container_type": container,
    }
    if node is not None:
        disk["node"] = _owner(node)
        disk["home_node"] = _owner(node)
    return disk


def disks(store: Store) -> dict[tuple[str, ...], Record]:
    """The Disk table, derived from the nodes and aggregates the first time it is needed."""
    table = store.tables.get("Disk")
    if table is not None:
        return table
    nodes = {n.get("uuid"): n for n in store.tables.get("Node", {}).values()}
    made: list[Record] = []
    for aggregate in store.tables.get("Aggregate", {}).values():
        node = nodes.get((aggregate.get("node") or {}).get("uuid"))
        for _ in range(AGGREGATE_DISKS):
            disk = _disk(len(made), "aggregate", node)
            disk["aggregates"] = [{"name": aggregate.get("name"), "uuid": aggregate.get("uuid")}]
            made.append(disk)
    for node in nodes.values():
        made.extend(_disk(len(made), "spare", node) for _ in range(SPARES_PER_NODE))
    made.extend(_disk(len(made), "unassigned", None) for _ in range(UNASSIGNED))
    table = store.tables["Disk"] = {(d["name"],): d for d in made}
    return table


def _node(store: Store, name: Any, target: str) -> Record:
    if not name:
        raise bad_value(target, f'Missing value for required field "{target}".')
    found = next((n for n in store.tables.get("Node", {}).values() if n.get("name") == name), None)
    if found is None:
        raise ApiError(404, "4", f'Node "{name}" does not exist.', target)
    return found


def _find(store: Store, name: str) -> Record:
    found = disks(store).get((name,))
    if found is None:
        raise ApiError(404, "4", f'Disk "{name}" does not exist.', "disk")
    return found


def assign_disks(
    store: Store,
    owner: Any,
    *,
    names: Sequence[str] = (),
    count: int | None = None,
    kind: str | None = None,
    every: bool = False,
) -> int:
    """``storage disk assign``: the named disks, ``count`` unassigned ones (of type ``kind``)
    or ``every`` unassigned one become spares of node ``owner``; how many were assigned."""
    with store.lock:
        node = _node(store, owner, "owner")
        if names:
            chosen = [_find(store, name) for name in names]
            for disk in chosen:
                if disk.get("container_type") != "unassigned":
                    holder = (disk.get("node") or {}).get("name")
                    raise bad_value(
                        "disk", f'Disk "{disk["name"]}" is already owned by node "{holder}".'
                    )
        else:
            free = [
                d
                for d in disks(store).values()
                if d.get("container_type") == "unassigned"
                and (kind is None or str(d.get("type")).lower() == kind.lower())
            ]
            if count is not None:
                if count < 1:
                    raise bad_value("count", f'Invalid value "{count}" for "count": at least 1.')
                if count > len(free):
                    raise bad_value(
                        "count",
                        f"Only {len(free)} unassigned disks are available; {count} requested.",
                    )
                chosen = free[:count]
            elif every:
                chosen = free
            else:
                raise bad_value("disk", 'Name the disks: "disk", "count" or "all".')
        for disk in chosen:
            disk["node"] = _owner(node)
            disk["home_node"] = _owner(node)
            disk["container_type"] = "spare"
        return len(chosen)


def _releasable(container: Any, what: str, name: Any) -> None:
    """Only a spare loses its owner: an unowned one 400 code 2, one in use 409 code 1."""
    if container == "unassigned":
        raise bad_value(what, f'{what.capitalize()} "{name}" is not owned by any node.')
    if container != "spare":
        raise ApiError(
            409,
            "1",
            f'{what.capitalize()} "{name}" is in use ({container}): only a spare loses its owner.',
            what,
        )


def remove_owner(store: Store, name: Any) -> None:
    """``storage disk removeowner``: a spare disk becomes unassigned."""
    if not name:
        raise bad_value("disk", 'Missing value for required field "disk".')
    with store.lock:
        disk = _find(store, str(name))
        _releasable(disk.get("container_type"), "disk", name)
        disk.pop("node", None)
        disk.pop("home_node", None)
        disk["container_type"] = "unassigned"


@register
class DiskBehaviour(Behaviour):
    """Disks: derived from the nodes and aggregates, ownership changed by the CLI."""

    resource = "Disk"

    def sync(self, store: Store) -> None:
        disks(store)


# -- partitions (``storage disk partition``: CLI-only, REST's disks show none) -----------------
PARTITIONS = "cli:storage/disk/partition"


def partitions(store: Store) -> dict[tuple[str, ...], Record]:
    """The partitions of root-data partitioning (INFERRED layout), derived from the disks the
    first time they are read: each disk ``1.0.<n>`` holds a data partition ``1.0.<n>P1`` and
    a root partition ``1.0.<n>P2``, both owned as the disk is (an aggregate's disk: both in
    the aggregate; a spare's: spares of its node; an unassigned disk's: unassigned)."""
    table = store.tables.get(PARTITIONS)
    if table is not None:
        return table
    nodes = [str(n.get("name")) for n in store.tables.get("Node", {}).values()]
    table = {}
    for disk in disks(store).values():
        owner = (disk.get("node") or {}).get("name")
        for suffix, root in (("P1", False), ("P2", True)):
            name = f"{disk['name']}{suffix}"
            table[(name,)] = {
                "partition": name,
                "disk": disk["name"],
                "container_type": disk.get("container_type"),
                "disk_type": str(disk.get("type", "")).upper(),
                "partitioning_method": "root_data",
                "is_root": root,
                "owner_node_name": owner,
                "home_node_name": owner,
                "nodelist": nodes,
                "usable_size": DISK_SIZE // 8 if root else DISK_SIZE - DISK_SIZE // 8,
            }
    store.tables[PARTITIONS] = table
    return table


def _partition(store: Store, name: Any) -> Record:
    if not name:
        raise bad_value("partition", 'Missing value for required field "partition".')
    found = partitions(store).get((str(name),))
    if found is None:
        raise ApiError(404, "4", f'Partition "{name}" does not exist.', "partition")
    return found


def assign_partition(store: Store, name: Any, owner: Any) -> None:
    """``storage disk partition assign``: an unassigned partition becomes a spare of node
    ``owner``; one that has an owner: 400, code 2 (INFERRED, as for disks)."""
    with store.lock:
        node = _node(store, owner, "owner")
        partition = _partition(store, name)
        if partition["container_type"] != "unassigned":
            raise bad_value(
                "partition",
                f'Partition "{name}" is already owned by node "{partition["owner_node_name"]}".',
            )
        partition["owner_node_name"] = partition["home_node_name"] = node.get("name")
        partition["container_type"] = "spare"


def remove_partition_owner(store: Store, name: Any) -> None:
    """``storage disk partition removeowner``: a spare partition becomes unassigned; an
    aggregate's: 409, code 1; an unowned one: 400, code 2 (INFERRED, as for disks)."""
    with store.lock:
        partition = _partition(store, name)
        _releasable(partition["container_type"], "partition", name)
        partition["owner_node_name"] = partition["home_node_name"] = None
        partition["container_type"] = "unassigned"
