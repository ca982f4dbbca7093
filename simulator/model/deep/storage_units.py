"""Storage units (ONTAP 9.16+): one view of the LUNs and NVMe namespaces, and their snapshots
(docs/san.md, "Storage units").

Nothing here is a second copy: a storage unit *is* a LUN or a namespace (same uuid), and its
snapshots *are* the snapshots of the volume holding it. ``sync`` rebuilds both tables from
those records before every read or write (their identities only: uuid, name, SVM, type), and
``render`` fills the rest from the underlying record as its own GET shows it, so a LUN created,
resized, mapped or deleted through ``/api/storage/luns`` is the storage unit a GET shows.
Writes act on the underlying records: a snapshot POST, PATCH or DELETE on the volume's
snapshot, a restore (``PATCH ...?restore_to.snapshot.name=``) on the volume, a POST (a clone,
the only storage unit ONTAP creates directly) creates a LUN or namespace clone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ApiError, bad_value
from ...query import parse_bool
from ..behaviour import BEHAVIOURS, Behaviour, Event, register
from .san import _dig

if TYPE_CHECKING:
    from ..store import Store

Record = dict[str, Any]

#: The resource of each storage unit ``type``.
SOURCES: Mapping[str, str] = {"lun": "Lun", "namespace": "NvmeNamespace"}
_RESTORE = ("restore_to.snapshot.name", "restore_to.snapshot.uuid")
_RESTORE_PARAMS = frozenset(
    {*_RESTORE, "restore_to.keep_snapshots", "restore_to.start_byte", "restore_to.byte_count"}
)
#: Where a PATCH's planned restore waits for its job to apply (never shown).
_PLANNED = "_restore"
#: Where a POST's clone waits for its job to apply (never shown).
_CLONE = "_clone"


def _svm(record: Mapping[str, Any]) -> Record:
    svm = record.get("svm") or {}
    return {"uuid": svm.get("uuid"), "name": svm.get("name")}


def _set(record: Record, dotted: str, value: Any) -> None:
    node = record
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _project(store: Store, resource: str, shown: Mapping[str, Any], record: Record) -> None:
    """Fill ``record`` with the fields of ``resource``'s declaration that ``shown`` (the
    underlying record as its GET shows it) holds and ``record`` does not."""
    for name, spec in store.spec.resources[resource].fields.items():
        if spec.in_list is not None or not spec.get or name.endswith("_links.self.href"):
            continue
        value = _dig(shown, name)
        if value is not None and _dig(record, name) is None:
            _set(record, name, value)


def _underlying(store: Store, unit: Mapping[str, Any]) -> tuple[str, Record] | None:
    """The resource and stored record of the LUN or namespace ``unit`` shows."""
    resource = SOURCES.get(str(unit.get("type")))
    if resource is None:
        return None
    record = store.tables.get(resource, {}).get((str(unit.get("uuid")),))
    return None if record is None else (resource, record)


def _volume_uuid(store: Store, unit_uuid: Any) -> Any:
    for resource in SOURCES.values():
        record = store.tables.get(resource, {}).get((str(unit_uuid),))
        if record is not None:
            return _dig(record, "location.volume.uuid")
    return None


def _snapshots_of(store: Store, volume_uuid: Any) -> list[Record]:
    """The volume's snapshots, oldest first (the order they were created in)."""
    return [
        s
        for s in store.tables.get("Snapshot", {}).values()
        if _dig(s, "volume.uuid") == volume_uuid and volume_uuid is not None
    ]


@register
class StorageUnit(Behaviour):
    """A LUN or an NVMe namespace, shown as a storage unit (its uuid, name and fields)."""

    resource = "StorageUnit"
    params: ClassVar[Mapping[str, frozenset[str]]] = {"PATCH": _RESTORE_PARAMS}
    required_post = (
        ("name",),
        ("svm.name", "svm.uuid"),
        ("clone.source.storage_unit.uuid", "clone.source.storage_unit.name"),
    )
    #: ``clone.source.snapshot`` names a snapshot of the source's volume: looked up there.
    unchecked = frozenset({"clone.source.snapshot"})

    def sync(self, store: Store) -> None:
        table = store.tables.setdefault(self.resource, {})
        table.clear()
        for kind, resource in SOURCES.items():
            for record in store.tables.get(resource, {}).values():
                uuid = record.get("uuid")
                table[(str(uuid),)] = {
                    "uuid": uuid,
                    "name": record.get("name"),
                    "type": kind,
                    "svm": _svm(record),
                }

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return False  # a view: the LUN or namespace goes, and the storage unit with it

    def render(self, store: Store, record: Record) -> Record:
        found = _underlying(store, record)
        if found is None:
            return record
        resource, stored = found
        shown = store.render(store.spec.resources[resource], stored)
        _project(store, self.resource, shown, record)
        record["maps"] = self._maps(shown)
        clone = record.setdefault("clone", {})
        lineage = stored.get(_CLONE)
        clone["is_flexclone"] = isinstance(lineage, dict)
        if isinstance(lineage, dict):
            clone["source"] = lineage
            clone.setdefault("split_initiated", False)
        record.setdefault("encryption", {"state": "unencrypted"})
        record.setdefault("space", {}).setdefault("efficiency_ratio", 1.0)
        return record

    @staticmethod
    def _maps(shown: Mapping[str, Any]) -> list[Record]:
        maps: list[Record] = []
        for lun_map in shown.get("lun_maps") or []:
            igroup = lun_map.get("igroup") or {}
            maps.append(
                {
                    "host_group": {"name": igroup.get("name"), "uuid": igroup.get("uuid")},
                    "lun_map": {
                        "igroup": {"name": igroup.get("name"), "uuid": igroup.get("uuid")},
                        "logical_unit_number": lun_map.get("logical_unit_number"),
                    },
                }
            )
        subsystem_map = shown.get("subsystem_map")
        if isinstance(subsystem_map, dict):
            subsystem = subsystem_map.get("subsystem") or {}
            ref = {"name": subsystem.get("name"), "uuid": subsystem.get("uuid")}
            maps.append(
                {
                    "host_group": dict(ref),
                    "subsystem_map": {"nsid": subsystem_map.get("nsid"), "subsystem": ref},
                }
            )
        return maps

    # -- PATCH: a restore from a snapshot, a clone split ---------------------------------
    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        query = store.query
        given = {k.rsplit(".", 1)[1]: query[k] for k in _RESTORE if k in query}
        volume_uuid = _volume_uuid(store, record.get("uuid"))
        if given:
            for field in ("restore_to.start_byte", "restore_to.byte_count"):
                if field in query and not query[field].isdigit():
                    raise bad_value(field, f'The value "{query[field]}" is invalid for "{field}".')
            snapshot = next(
                (
                    s
                    for s in _snapshots_of(store, volume_uuid)
                    if all(str(s.get(k)) == v for k, v in given.items())
                ),
                None,
            )
            if snapshot is None:
                key = "uuid" if "uuid" in given else "name"
                raise bad_value(
                    f"restore_to.snapshot.{key}", f'Snapshot "{given[key]}" does not exist.'
                )
            changes[_PLANNED] = {
                "uuid": snapshot.get("uuid"),
                "name": snapshot.get("name"),
                "keep": parse_bool(query, "restore_to.keep_snapshots", False),
                "partial": "restore_to.byte_count" in query,
            }
        split = _dig(changes, "clone.split_initiated")
        if split is not None:
            found = _underlying(store, record)
            if split is not True or found is None or not isinstance(found[1].get(_CLONE), dict):
                # INFERRED code: ONTAP's generic "invalid value" (a split needs a FlexClone).
                raise bad_value(
                    "clone.split_initiated",
                    f'Storage unit "{record.get("name")}" is not a FlexClone: it cannot be split.',
                )

    def recheck_patch(self, store: Store, record: Record, changes: Record) -> None:
        planned = changes.get(_PLANNED)
        if not isinstance(planned, dict):
            return
        volume_uuid = _volume_uuid(store, record.get("uuid"))
        if not any(s.get("uuid") == planned["uuid"] for s in _snapshots_of(store, volume_uuid)):
            # As a volume's restore: [TRI] volume_modify 524511 (INFERRED for storage units).
            raise ApiError(400, "524511", f'Failed to restore snapshot "{planned["name"]}".')

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "post":
            self._create_clone(store, record)
            return
        if event != "patch":
            return
        planned = record.pop(_PLANNED, None)
        found = _underlying(store, record)
        if isinstance(planned, dict) and not planned["keep"] and not planned["partial"]:
            volume_uuid = _volume_uuid(store, record.get("uuid"))
            snapshots = _snapshots_of(store, volume_uuid)
            index = next(i for i, s in enumerate(snapshots) if s.get("uuid") == planned["uuid"])
            for later in snapshots[index + 1 :]:
                _drop_snapshot(store, later)
        if _dig(record, "clone.split_initiated") and found is not None:
            # The split ends at once (no data to copy): the unit is no longer a FlexClone.
            found[1].pop(_CLONE, None)
            found[1].pop("clone", None)

    # -- POST: a clone of a storage unit -------------------------------------------------
    def prepare_post(self, store: Store, data: Record) -> None:
        source_uuid = _dig(data, "clone.source.storage_unit.uuid")
        source = store.tables.get(self.resource, {}).get((str(source_uuid),))
        if source is None or _svm(source)["uuid"] != _svm(data)["uuid"]:
            # [NOS] "The storage unit clone and its source must reside on the same SVM."
            raise bad_value(
                "clone.source.storage_unit.uuid",
                "The source storage unit does not exist in the SVM of the clone.",
            )
        found = _underlying(store, source)
        assert found is not None
        resource, stored = found
        volume = _dig(stored, "location.volume.name")
        snapshot_ref = _dig(data, "clone.source.snapshot")
        lineage: Record = {
            "storage_unit": {"uuid": source["uuid"], "name": source["name"]},
            "svm": _svm(source),
        }
        if isinstance(snapshot_ref, dict) and snapshot_ref:
            volume_uuid = _dig(stored, "location.volume.uuid")
            snapshot = next(
                (
                    s
                    for s in _snapshots_of(store, volume_uuid)
                    if all(s.get(k) == v for k, v in snapshot_ref.items() if k in ("name", "uuid"))
                ),
                None,
            )
            if snapshot is None:
                raise bad_value(
                    "clone.source.snapshot.name",
                    f'Snapshot "{snapshot_ref.get("name") or snapshot_ref.get("uuid")}" of the '
                    "source storage unit does not exist.",
                )
            lineage["snapshot"] = {"name": snapshot.get("name"), "uuid": snapshot.get("uuid")}
        name = str(data.get("name"))
        path = name if name.startswith("/vol/") else f"/vol/{volume}/{name}"
        body: Record = {
            "name": path,
            "svm": _svm(source),
            "clone": {"source": {"uuid": source["uuid"]}},
        }
        BEHAVIOURS[resource].prepare_post(store, body)
        body[_CLONE] = lineage
        data["name"] = body["name"]
        data["type"] = source["type"]
        data[_CLONE] = {"resource": resource, "record": body}

    def _create_clone(self, store: Store, record: Record) -> None:
        planned = record.pop(_CLONE)
        resource = store.spec.resources[planned["resource"]]
        created = store.insert(resource, {**planned["record"], "uuid": record["uuid"]})
        BEHAVIOURS[resource.name].applied(store, "post", created)


def _drop_snapshot(store: Store, snapshot: Record) -> None:
    table = store.tables.get("Snapshot", {})
    key = next((k for k, s in table.items() if s is snapshot), None)
    if key is not None:
        del table[key]
        BEHAVIOURS["Snapshot"].applied(store, "delete", snapshot)
        store.release("Snapshot", str(snapshot.get("uuid")))


@register
class StorageUnitSnapshot(Behaviour):
    """A snapshot of the volume holding a storage unit, shown under the storage unit."""

    resource = "StorageUnitSnapshot"

    def sync(self, store: Store) -> None:
        store.sync("StorageUnit")
        table = store.tables.setdefault(self.resource, {})
        table.clear()
        for unit in store.tables.get("StorageUnit", {}).values():
            volume_uuid = _volume_uuid(store, unit["uuid"])
            for snapshot in _snapshots_of(store, volume_uuid):
                uuid = snapshot.get("uuid")
                table[(str(unit["uuid"]), str(uuid))] = {
                    "storage_unit": {"uuid": unit["uuid"], "name": unit["name"]},
                    "uuid": uuid,
                    "name": snapshot.get("name"),
                    "svm": _svm(unit),
                }

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return False  # a view of a volume's snapshot, which goes with its volume

    @staticmethod
    def snapshot(store: Store, record: Mapping[str, Any]) -> Record | None:
        volume_uuid = _volume_uuid(store, _dig(record, "storage_unit.uuid"))
        return store.tables.get("Snapshot", {}).get((str(volume_uuid), str(record.get("uuid"))))

    def render(self, store: Store, record: Record) -> Record:
        snapshot = self.snapshot(store, record)
        if snapshot is None:
            return record
        shown = store.render(store.spec.resources["Snapshot"], snapshot)
        _project(store, self.resource, shown, record)
        return record

    def prepare_post(self, store: Store, data: Record) -> None:
        volume_uuid = _volume_uuid(store, _dig(data, "storage_unit.uuid"))
        body = self._snapshot_fields(data)
        body["volume"] = {"uuid": volume_uuid}
        given = data.get("svm")
        if isinstance(given, dict) and given.get("uuid") not in (None, _svm(data)["uuid"]):
            raise bad_value("svm.uuid", 'Field "svm" does not match the storage unit.')
        BEHAVIOURS["Snapshot"].prepare_post(store, body)
        data["svm"] = body["svm"]

    @staticmethod
    def _snapshot_fields(data: Mapping[str, Any]) -> Record:
        """The fields of a storage unit's snapshot that its volume's snapshot stores."""
        keep = ("name", "comment", "expiry_time", "snapmirror_label", "snaplock")
        return {k: data[k] for k in keep if k in data}

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        BEHAVIOURS["Snapshot"].prepare_patch(store, {}, self._snapshot_fields(changes))

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "post":
            volume_uuid = _volume_uuid(store, _dig(record, "storage_unit.uuid"))
            volume = store.tables.get("Volume", {}).get((str(volume_uuid),), {})
            body = self._snapshot_fields(record)
            body.update(
                uuid=record["uuid"],
                volume={"uuid": volume_uuid, "name": volume.get("name")},
                svm=dict(record.get("svm") or {}),
                state="valid",
                size=0,
            )
            created = store.insert(store.spec.resources["Snapshot"], body)
            BEHAVIOURS["Snapshot"].applied(store, "post", created)
            return
        snapshot = self.snapshot(store, record)
        if snapshot is None:
            return
        if event == "patch":
            snapshot.update(self._snapshot_fields(record))
        elif event == "delete":
            _drop_snapshot(store, snapshot)
