"""SAN: LUNs, igroups and their initiators, LUN maps; NVMe namespaces, subsystems, their
hosts and subsystem maps — the rules and side effects ONTAP documents (docs/san.md).

Each resource keeps its declared shape in the generic store; this module adds the rules: a
LUN or namespace lives at ``/vol/<volume>[/<qtree>]/<name>`` in a volume of its SVM and fits
in it, a map joins records of one SVM and gets the lowest free number, a mapped record
refuses deletion unless the caller allows it, and what is derived (status, serial numbers,
the maps a LUN or igroup shows) is computed on read. An igroup's initiators and a
subsystem's hosts live in their own sub-collections (one truth); the parent shows them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ApiError
from ...query import parse_bool
from ..behaviour import Behaviour, Event, register

if TYPE_CHECKING:
    from ...jobs import Job
    from ..store import Store

Record = dict[str, Any]

#: ONTAP's absolute bounds of ``space.size`` for LUNs and namespaces (the OpenAPI document).
MIN_SIZE = 4096
MAX_SIZE = 140737488355328
_PATH = re.compile(r"^/vol/(?P<volume>[^/]+)/(?:(?P<qtree>[^/]+)/)?(?P<leaf>[^/]+)$")
_LEAF = re.compile(r"^[A-Za-z0-9_.{}-]+$")
_IGROUP_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,96}$")
_SUBSYSTEM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,96}$")
_WWPN = re.compile(r"^([0-9a-f]{2}:){7}[0-9a-f]{2}$")
_ALLOW_MAPPED = "allow_delete_while_mapped"
#: Seconds a finished LUN movement stays shown (netapp-ontap's Lun docs: two minutes).
MOVEMENT_KEPT = 120.0
#: A movement's state by its job's (INFERRED: queued is ONTAP's "preparing").
_MOVE_STATES = {
    "queued": "preparing",
    "running": "replicating",
    "paused": "paused",
    "success": "complete",
    "failure": "failed",
}
#: The background job of each LUN movement, by its uuid (kept in the record as ``_job``).
_MOVE_JOBS: weakref.WeakKeyDictionary[Store, dict[str, Job]] = weakref.WeakKeyDictionary()


# -- small helpers -----------------------------------------------------------------------
def _dig(record: Mapping[str, Any], dotted: str) -> Any:
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _object(value: Any) -> Record:
    return value if isinstance(value, dict) else {}


def _refuse(code: str, message: str, target: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status, code, message, target)


def _table(store: Store, resource: str) -> list[Record]:
    return list(store.tables.get(resource, {}).values())


def _where(store: Store, resource: str, field: str, value: Any) -> Iterator[Record]:
    return (r for r in _table(store, resource) if value is not None and _dig(r, field) == value)


def _svm_of(record: Mapping[str, Any]) -> Any:
    return _dig(record, "svm.uuid")


def _node(store: Store) -> Record | None:
    nodes = store.records_of("Node")
    if not nodes:
        return None
    return {"name": nodes[0].get("name"), "uuid": nodes[0].get("uuid")}


def _link(href: str) -> Record:
    return {"self": {"href": href}}


def _serial(uuid: str, length: int = 12) -> str:
    """A serial number derived from the record's uuid: stable across runs, 12 characters
    of the alphabet ONTAP's serials use (``wf0Iq+N4uck3``)."""
    digest = hashlib.sha256(uuid.encode()).digest()
    return base64.b64encode(digest, altchars=b"+-").decode()[:length]


def _drop(store: Store, resource: str, record: Record) -> None:
    """Delete ``record`` of ``resource`` as a side effect, with what goes with it."""
    table = store.tables.get(resource, {})
    key = next((k for k, r in table.items() if r is record), None)
    if key is None:
        return
    del table[key]
    store.behaviour(store.spec.resources[resource]).applied(store, "delete", record)


def _release(store: Store, resource: str, event: Event, record: Mapping[str, Any]) -> None:
    """After a delete: what goes with ``record`` goes (its maps, initiators, hosts)."""
    if event == "delete" and record.get("uuid"):
        store.release(resource, str(record["uuid"]))


def _allowed(store: Store, name: str) -> bool:
    return parse_bool(store.query, name, False)


def _holds_svm(kind: str, what: str, record: Mapping[str, Any]) -> ApiError | None:
    """ONTAP's ``vserver delete`` wants an SVM's igroups (and, INFERRED, its NVMe subsystems)
    deleted first: such a record refuses its SVM's deletion (code INFERRED)."""
    if kind != "Svm":
        return None
    return _refuse(
        "1",
        f'Cannot delete SVM "{_dig(record, "svm.name")}" because it has {what} '
        f'"{record.get("name")}": delete it first.',
        "name",
        status=409,
    )


# -- LUNs and namespaces -------------------------------------------------------------------
class _Vdisk(Behaviour):
    """What LUNs and NVMe namespaces share: a path in a volume, a size that fits, a state."""

    kind: ClassVar[str] = ""
    leaf: ClassVar[str] = ""  # the location field naming the LUN or namespace in its volume
    map_resource: ClassVar[str] = ""
    map_key: ClassVar[str] = ""
    codes: ClassVar[Mapping[str, str]] = {}
    params: ClassVar[Mapping[str, frozenset[str]]] = {
        "DELETE": frozenset({_ALLOW_MAPPED, "bypass_recovery_queue"})
    }

    # -- lookups -------------------------------------------------------------------------
    def maps(self, store: Store, uuid: Any) -> list[Record]:
        return list(_where(store, self.map_resource, self.map_key, uuid))

    @staticmethod
    def volume(store: Store, svm: Any, name: Any = None, uuid: Any = None) -> Record | None:
        for volume in store.records_of("Volume") or []:
            if _svm_of(volume) != svm:
                continue
            if (uuid is None or volume.get("uuid") == uuid) and (
                name is None or volume.get("name") == name
            ):
                return volume
        return None

    def room(self, store: Store, volume: Mapping[str, Any], besides: Any) -> int:
        """Bytes a LUN or namespace may still take in ``volume``: its available space less
        what the space-reserved LUNs in it hold (thin ones reserve nothing)."""
        available = _dig(volume, "space.available")
        if not isinstance(available, int):
            available = int(volume.get("size") or 0)
        for resource in ("Lun", "NvmeNamespace"):
            for other in _where(store, resource, "location.volume.uuid", volume.get("uuid")):
                if other.get("uuid") != besides and _dig(other, "space.guarantee.requested"):
                    available -= int(_dig(other, "space.size") or 0)
        return available

    # -- checks --------------------------------------------------------------------------
    def locate(self, store: Store, data: Record, current: Mapping[str, Any] | None) -> None:
        """Make ``name`` and ``location`` agree (either given, the other derived) and name a
        volume of the record's SVM; ``current`` is the record a PATCH changes."""
        base: Mapping[str, Any] = current or {}
        svm = _svm_of(data) or _svm_of(base)
        location = _object(data.get("location"))
        volume_ref = _object(location.get("volume"))
        qtree_ref = _object(location["qtree"]) if "qtree" in location else None
        name = data.get("name")
        if name is not None:
            found = _PATH.match(str(name))
            if found is None:
                raise _refuse(
                    self.codes["invalid"],
                    f'The specified {self.kind} name is invalid: "{name}".',
                    "name",
                )
            volume_name, qtree_name, leaf = found.group("volume", "qtree", "leaf")
            if volume_ref.get("name") not in (None, volume_name):
                raise _refuse(
                    "5374858",
                    f'The volume specified by "name" ({volume_name}) is not the same as that '
                    f'specified by "location.volume" ({volume_ref["name"]}).',
                    "location.volume.name",
                )
            if location.get(self.leaf) not in (None, leaf):
                raise _refuse(
                    "5374861",
                    f'The {self.kind} base name specified by "name" ({leaf}) is not the same as '
                    f'that specified by "location.{self.leaf}".',
                    f"location.{self.leaf}",
                )
            if qtree_ref is not None and qtree_ref.get("name") not in (None, qtree_name):
                raise _refuse(
                    "5374860",
                    'The qtree specified by "name" is not the same as that specified by '
                    '"location.qtree".',
                    "location.qtree.name",
                )
        else:
            old = _PATH.match(str(base.get("name", "")))
            volume_name = volume_ref.get("name")
            leaf = location.get(self.leaf) or (old.group("leaf") if old else None)
            qtree_name = (qtree_ref or {}).get("name") or (old.group("qtree") if old else None)
            if volume_name is None and volume_ref.get("uuid") is None and old is not None:
                volume_name = old.group("volume")
        volume = self.volume(store, svm, volume_name, volume_ref.get("uuid"))
        if volume is None:
            shown = volume_name or volume_ref.get("uuid")
            raise _refuse(
                "917927",
                f'The specified volume "{shown}" was not found in the SVM.',
                "location.volume.name" if name is None else "name",
            )
        if not _LEAF.match(str(leaf)):
            raise _refuse(
                self.codes["chars"],
                f'A {self.kind} name can only contain characters A-Z, a-z, 0-9, "-", ".", "_", '
                f'"{{" and "}}": "{leaf}".',
                "name",
            )
        qtree: Record | None = None
        if qtree_name:
            match = next(
                (
                    q
                    for q in _where(store, "Qtree", "volume.uuid", volume["uuid"])
                    if q.get("name") == qtree_name
                ),
                None,
            )
            if match is None:
                raise _refuse(
                    "5242927", f'The specified qtree "{qtree_name}" was not found.', "name"
                )
            qtree = {"name": qtree_name, "id": match.get("id")}
        path = "/".join(["/vol", str(volume["name"]), *([qtree_name] if qtree_name else []), leaf])
        data["name"] = path
        location = {**location, "volume": {"name": volume["name"], "uuid": volume["uuid"]}}
        location[self.leaf] = leaf
        if qtree is not None:
            location["qtree"] = qtree
        else:
            location.pop("qtree", None)
        data["location"] = location
        for resource in ("Lun", "NvmeNamespace"):
            for other in _where(store, resource, "name", path):
                if _svm_of(other) == svm and other.get("uuid") != base.get("uuid"):
                    code = self.codes["exists" if current is None else "renamed_onto"]
                    raise _refuse(
                        code,
                        f'A LUN or NVMe namespace already exists at "{path}".',
                        "name",
                        status=409,
                    )

    def check_size(self, store: Store, data: Record, current: Mapping[str, Any] | None) -> None:
        """The size refusals, and whether it fits in the volume: checked when the size is
        given, the LUN moves to another volume or starts reserving its space."""
        base: Mapping[str, Any] = current or {}
        given = _dig(data, "space.size")
        moving = _dig(data, "location.volume.uuid") not in (
            None,
            _dig(base, "location.volume.uuid"),
        )
        reserving = _dig(data, "space.guarantee.requested") is True and not _dig(
            base, "space.guarantee.requested"
        )
        if given is None and not (current is not None and (moving or reserving)):
            return
        size = given if given is not None else _dig(base, "space.size")
        if not isinstance(size, int):
            return
        if size < 0:
            raise _refuse(
                self.codes["negative"], f"A negative size was provided: {size}.", "space.size"
            )
        old = _dig(base, "space.size")
        if current is not None and isinstance(old, int) and given is not None:
            if size < old:
                raise _refuse(
                    self.codes["shrink"],
                    f"The {self.kind} size cannot be reduced through REST ({old} to {size}).",
                    "space.size",
                )
            if size == old and "same_size" in self.codes:
                raise _refuse(
                    self.codes["same_size"],
                    f"Cannot patch a {self.kind}'s size to its current size "
                    "(New LUN size is the same as the old LUN size).",
                    "space.size",
                )
        if size < MIN_SIZE:
            raise _refuse(
                self.codes["small"],
                f"The specified size {size} is too small for the {self.kind} "
                f"(at least {MIN_SIZE}).",
                "space.size",
            )
        if size > MAX_SIZE:
            raise _refuse(
                self.codes["large"],
                f"The specified size {size} is too large for the {self.kind} (at most {MAX_SIZE}).",
                "space.size",
            )
        volume_uuid = _dig(data, "location.volume.uuid") or _dig(base, "location.volume.uuid")
        svm = _svm_of(data) or _svm_of(base)
        volume = self.volume(store, svm, uuid=volume_uuid)
        if volume is None:
            return
        room = self.room(store, volume, base.get("uuid"))
        if size > room:
            raise _refuse(
                self.codes["large"],
                f"The specified size {size} is too large for the {self.kind}: volume "
                f'"{volume["name"]}" has {max(room, 0)} bytes available for it.',
                "space.size",
            )

    def check_online(self, store: Store, record: Mapping[str, Any]) -> None:
        volume = self.volume(store, _svm_of(record), uuid=_dig(record, "location.volume.uuid"))
        if volume is not None and volume.get("state") == "offline":
            raise _refuse(
                self.codes["volume_offline"],
                f"The {self.kind}'s volume is offline. The volume must be online to modify or "
                f"remove the {self.kind}.",
            )

    # -- hooks ---------------------------------------------------------------------------
    def prepare_post(self, store: Store, data: Record) -> None:
        self.clone_from(store, data)
        self.locate(store, data, None)
        for field in ("os_type", "space.size"):
            if _dig(data, field) is None:
                raise _refuse(
                    self.codes["required"],
                    f'"{field}" is required to create a {self.kind} that is not a clone.',
                    field,
                )
        self.check_size(store, data, None)
        self.defaults(data)

    def clone_from(self, store: Store, data: Record) -> None:
        """A clone takes its source's ``os_type`` and size, which its body may not give."""
        source_ref = _dig(data, "clone.source")
        if not isinstance(source_ref, dict):
            return
        for field in ("os_type", "space.size"):
            if _dig(data, field) is not None:
                raise _refuse(
                    self.codes["clone_given"],
                    f'"{field}" cannot be specified when creating a {self.kind} clone: it is '
                    "the source's.",
                    field,
                )
        svm = _svm_of(data)
        source = next(
            (
                r
                for r in _table(store, self.resource)
                if _svm_of(r) == svm
                and any(
                    source_ref.get(k) is not None and r.get(k) == source_ref.get(k)
                    for k in ("uuid", "name")
                )
            ),
            None,
        )
        if source is None:
            shown = "name" if source_ref.get("name") is not None else "uuid"
            raise _refuse(
                self.codes["no_source"],
                "The specified clone.source was not found.",
                f"clone.source.{shown}",
            )
        data["clone"] = {"source": {"name": source["name"], "uuid": source["uuid"]}}
        data["os_type"] = source.get("os_type")
        data.setdefault("space", {})["size"] = _dig(source, "space.size")
        location = data.setdefault("location", {})
        source_volume = _dig(source, "location.volume")
        found = _PATH.match(str(data.get("name", "")))
        volume_name = _dig(location, "volume.name") or (found.group("volume") if found else None)
        if volume_name is not None and volume_name != _dig(source_volume or {}, "name"):
            raise _refuse(
                "1260121",
                f"Cloning a {self.kind} to a volume different than the source volume is not "
                "supported.",
                "name",
            )
        data["clone"]["created_as_clone"] = True

    def defaults(self, data: Record) -> None:
        """Fields ONTAP sets on create."""

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        self.check_online(store, record)
        if "name" in changes or "location" in changes:
            self.locate(store, changes, record)
        self.check_size(store, changes, record)

    def check_delete(self, store: Store, record: Record) -> None:
        self.check_online(store, record)
        if self.maps(store, record.get("uuid")) and not _allowed(store, _ALLOW_MAPPED):
            raise _refuse(
                self.codes["mapped"],
                f'The {self.kind} "{record.get("name")}" is mapped and cannot be deleted '
                f"without specifying the {_ALLOW_MAPPED} query parameter.",
            )

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        if kind != "Volume" or not self.maps(store, record.get("uuid")):
            return None
        return _refuse(
            self.codes["mapped"],
            f'The volume holds {self.kind} "{record.get("name")}", which is mapped: unmap it '
            "before deleting the volume.",
            status=409,
        )

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind == "Volume"

    def applied(self, store: Store, event: Event, record: Record) -> None:
        _release(store, self.resource, event, record)

    def render(self, store: Store, record: Record) -> Record:
        record.pop("_clone", None)  # a storage unit clone's lineage (storage_units.py)
        volume = self.volume(store, _svm_of(record), uuid=_dig(record, "location.volume.uuid"))
        offline = volume is not None and volume.get("state") == "offline"
        enabled = record.get("enabled", True) is not False
        status = record.setdefault("status", {})
        status["state"] = "online" if enabled and not offline else "offline"
        status["container_state"] = "volume_offline" if offline else "online"
        status["read_only"] = False
        status["mapped"] = bool(self.maps(store, record.get("uuid")))
        space = record.setdefault("space", {})
        space.setdefault("used", 0)
        node = _node(store)
        if node is not None and isinstance(record.get("location"), dict):
            record["location"]["node"] = node
        return record


@register
class Lun(_Vdisk):
    """A LUN: ``/vol/<volume>[/<qtree>]/<name>``, sized within its volume, mapped to igroups."""

    resource = "Lun"
    kind = "LUN"
    leaf = "logical_unit"
    map_resource = "LunMap"
    map_key = "lun.uuid"
    codes: ClassVar[Mapping[str, str]] = {
        "invalid": "5374127",
        "chars": "5374121",
        "exists": "5374242",
        "renamed_onto": "1254196",
        "negative": "5374123",
        "small": "5374124",
        "large": "5374125",
        "shrink": "5374892",
        "same_size": "1254226",
        "required": "5374884",
        "no_source": "5374875",
        "clone_given": "5374883",
        "volume_offline": "5374866",
        "mapped": "1254197",
    }

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        movement = _object(changes.get("movement"))
        steer = _dig(movement, "progress.state")
        job = self.moving(store, record)
        if steer is not None:
            if job is None or steer not in ("paused", "replicating"):
                raise _refuse(
                    "5374889",
                    f'An invalid value was specified for "movement.progress.state" ("{steer}"). '
                    "Active LUN movement operations can be PATCHed to only paused or "
                    "replicating.",
                    "movement.progress.state",
                )
            del movement["progress"]
            movement["_action"] = "pause" if steer == "paused" else "resume"
        elif "max_throughput" in movement and job is None:
            raise _refuse(
                "5374889",
                '"movement.max_throughput" is valid only while a LUN movement is active '
                "(INFERRED code).",
                "movement.max_throughput",
            )
        source = record.get("name")
        before = _dig(record, "location.volume.uuid")
        super().prepare_patch(store, record, changes)
        after = _dig(changes, "location.volume.uuid")
        if after in (None, before):
            return
        if job is not None:
            raise _refuse(
                "7018919",
                f'The LUN "{source}" is already being moved; a copy or move job exists for it.',
                "name",
                status=409,
            )
        volume = self.volume(store, _svm_of(record), uuid=after)
        if volume is not None and volume.get("state") not in (None, "online"):
            raise _refuse("5374904", "The destination volume is not online.", "location.volume")
        changes["movement"] = {
            **movement,
            "paths": {"source": source, "destination": changes.get("name")},
            "progress": {"state": "preparing", "percent_complete": 0},
            "_job": "",
        }

    @staticmethod
    def moving(store: Store, record: Mapping[str, Any]) -> Job | None:
        """The job of the LUN's movement while it has not ended."""
        job = _MOVE_JOBS.get(store, {}).get(str(_dig(record, "movement._job")))
        return job if job is not None and not job.terminal else None

    def applied(self, store: Store, event: Event, record: Record) -> None:
        super().applied(store, event, record)
        movement = record.get("movement")
        if event != "patch" or not isinstance(movement, dict) or store.jobs is None:
            return
        action = movement.pop("_action", None)
        job = _MOVE_JOBS.get(store, {}).get(str(movement.get("_job")))
        if action is not None and job is not None and not job.terminal:
            store.jobs.act(job.uuid, action)
        if movement.get("_job") == "" and store.take_script is not None:
            # ONTAP answers the PATCH, then copies the data in the background (``lun move
            # start``): the move's job, scriptable as PATCH /api/storage/luns/<uuid>/movement.
            script = store.take_script("PATCH", f"/api/storage/luns/{record['uuid']}/movement")
            job = store.jobs.create(
                f"lun move start {record.get('name')}", script, svm=record.get("svm")
            )
            _MOVE_JOBS.setdefault(store, {})[job.uuid] = job
            movement["_job"] = job.uuid

    def movement(self, store: Store, record: Record) -> None:
        """``movement`` as GET shows it: its state is its job's; gone two minutes after it
        ended."""
        movement = record.get("movement")
        if not isinstance(movement, dict):
            return
        job = _MOVE_JOBS.get(store, {}).get(str(movement.pop("_job", None)))
        movement.pop("_action", None)
        if job is None or store.jobs is None:
            record.pop("movement")
            return
        now = store.jobs.clock.now()
        ended = job.ended_at
        if ended is not None and now - ended > MOVEMENT_KEPT:
            record.pop("movement")
            return
        state = _MOVE_STATES.get(job.state, "replicating")
        elapsed = (ended if ended is not None else now) - job.created_at
        total = job.script.duration
        if state == "complete":
            percent = 100
        elif total:
            percent = min(99, int(100 * elapsed / total))
        else:
            percent = 0
        progress: Record = {
            "state": state,
            "percent_complete": percent,
            "elapsed": int(elapsed),
            "volume_snapshot_blocked": state in ("preparing", "replicating", "paused"),
        }
        if state == "failed":
            progress["failure"] = {"code": str(job.code), "message": job.message}
        movement["progress"] = progress

    def defaults(self, data: Record) -> None:
        data.setdefault("class", "regular")
        data["enabled"] = True
        space = data.setdefault("space", {})
        guarantee = space.setdefault("guarantee", {})
        guarantee.setdefault("requested", False)
        space.setdefault("scsi_thin_provisioning_support_enabled", False)
        clone = data.setdefault("clone", {})
        clone.setdefault("created_as_clone", False)
        clone.pop("source", None)
        if not clone.get("created_as_clone"):
            data.pop("clone")

    def render(self, store: Store, record: Record) -> Record:
        record = super().render(store, record)
        self.movement(store, record)
        space = record["space"]
        guarantee = space.setdefault("guarantee", {})
        guarantee["reserved"] = bool(guarantee.get("requested"))
        if record.get("uuid"):
            serial = _serial(str(record["uuid"]))
            record["serial_number"] = serial
            record["serial_number_hex"] = serial.encode().hex()
        record["lun_maps"] = [
            {
                "logical_unit_number": m.get("logical_unit_number"),
                "igroup": {
                    "uuid": _dig(m, "igroup.uuid"),
                    "name": _igroup_name(store, _dig(m, "igroup.uuid")),
                    "_links": _link(f"/api/protocols/san/igroups/{_dig(m, 'igroup.uuid')}"),
                },
                "_links": _link(
                    f"/api/protocols/san/lun-maps/{record['uuid']}/{_dig(m, 'igroup.uuid')}"
                ),
            }
            for m in self.maps(store, record.get("uuid"))
        ]
        return record


@register
class NvmeNamespace(_Vdisk):
    """An NVMe namespace: a path in a volume like a LUN's, mapped to one subsystem."""

    resource = "NvmeNamespace"
    kind = "namespace"
    leaf = "namespace"
    map_resource = "NvmeSubsystemMap"
    map_key = "namespace.uuid"
    codes: ClassVar[Mapping[str, str]] = {
        "invalid": "5374127",
        "chars": "72089732",
        "exists": "72089725",
        "renamed_onto": "72089725",
        "negative": "72089722",
        "small": "72089723",
        "large": "72089724",
        "shrink": "72090038",
        "required": "72090013",
        "no_source": "72090007",
        "clone_given": "72090012",
        "volume_offline": "72090017",
        "mapped": "72089796",
    }

    def defaults(self, data: Record) -> None:
        data["enabled"] = True
        space = data.setdefault("space", {})
        space.setdefault("block_size", 512 if data.get("os_type") == "vmware" else 4096)
        space["guarantee"] = {"requested": False, "reserved": False}
        data.pop("clone", None)

    def render(self, store: Store, record: Record) -> Record:
        record = super().render(store, record)
        maps = self.maps(store, record.get("uuid"))
        if maps:
            subsystem_uuid = _dig(maps[0], "subsystem.uuid")
            record["subsystem_map"] = {
                "nsid": maps[0].get("nsid"),
                "anagrpid": maps[0].get("anagrpid"),
                "subsystem": {
                    "uuid": subsystem_uuid,
                    "name": _record_name(store, "NvmeSubsystem", subsystem_uuid),
                    "_links": _link(f"/api/protocols/nvme/subsystems/{subsystem_uuid}"),
                },
                "_links": _link(
                    f"/api/protocols/nvme/subsystem-maps/{subsystem_uuid}/{record['uuid']}"
                ),
            }
        else:
            record.pop("subsystem_map", None)
        return record


def _record_name(store: Store, resource: str, uuid: Any) -> Any:
    return next((r.get("name") for r in _where(store, resource, "uuid", uuid)), None)


def _igroup_name(store: Store, uuid: Any) -> Any:
    return _record_name(store, "Igroup", uuid)


# -- igroups and initiators ------------------------------------------------------------------
def initiator_name(raw: Any, protocol: str | None, target: str) -> str:
    """An initiator name as ONTAP stores it (lower case; a bare WWPN gets its colons), or
    ONTAP's refusal naming what is wrong with it."""
    name = str(raw).strip().lower()
    if len(name) > 223:
        raise _refuse("5373992", f'The initiator name "{raw}" is too long to be valid.', target)
    fc = False
    if name.startswith("iqn."):
        rest = name[4:]
        if not rest:
            raise _refuse(
                "5373969",
                f'"{raw}" looks like an iSCSI IQN initiator, but the portions after the '
                "prefix are missing.",
                target,
            )
        if not re.fullmatch(r"\d{4}-\d{2}", rest[:7]) or rest[7:8] != ".":
            raise _refuse(
                "5373971",
                f'"{raw}" looks like an iSCSI IQN initiator, but the date portion is invalid.',
                target,
            )
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*(:.*)?", rest[8:]):
            raise _refuse(
                "5373972",
                f'"{raw}" looks like an iSCSI IQN initiator, but the naming authority portion '
                "is invalid.",
                target,
            )
    elif name.startswith("eui."):
        if len(name) != 20:
            raise _refuse(
                "5373977",
                f'"{raw}" looks like an iSCSI EUI initiator, but the length is invalid.',
                target,
            )
        if not re.fullmatch(r"[0-9a-f]{16}", name[4:]):
            raise _refuse(
                "5373978",
                f'"{raw}" looks like an iSCSI EUI initiator, but the format is invalid.',
                target,
            )
    elif re.fullmatch(r"[0-9a-f]{16}", name):
        name = ":".join(name[i : i + 2] for i in range(0, 16, 2))
        fc = True
    elif ":" in name and re.fullmatch(r"[0-9a-z:]+", name):
        if len(name) != 23:
            raise _refuse(
                "5373982",
                f'An invalid WWN was specified: "{raw}". The length is incorrect.',
                target,
            )
        if not _WWPN.match(name):
            raise _refuse(
                "5373983",
                f'An invalid WWN was specified: "{raw}". The format is incorrect.',
                target,
            )
        fc = True
    else:
        raise _refuse(
            "5373993", f'The initiator name "{raw}" does not match any valid format.', target
        )
    if fc and protocol == "iscsi":
        raise _refuse(
            "5374039", f'"{raw}" is a Fibre Channel WWPN, not an iSCSI initiator name.', target
        )
    if not fc and protocol == "fcp":
        raise _refuse(
            "5374038", f'"{raw}" is an iSCSI initiator name, not a Fibre Channel WWPN.', target
        )
    return name


def _initiators(store: Store, igroup_uuid: Any) -> list[Record]:
    return list(_where(store, "IgroupInitiator", "igroup.uuid", igroup_uuid))


def _initiator_names(store: Store, igroup: Mapping[str, Any]) -> set[str]:
    names = {str(i.get("name")) for i in _initiators(store, igroup.get("uuid"))}
    pending = igroup.get("initiators")
    if isinstance(pending, list):
        names |= {str(i.get("name")) for i in pending if isinstance(i, dict)}
    return names


def _os_conflict(
    store: Store, svm: Any, names: Iterable[str], os_type: Any, besides: Any, code: str
) -> None:
    """ONTAP refuses an initiator in two igroups of one SVM with different OS types."""
    wanted = set(names)
    for other in _table(store, "Igroup"):
        if other.get("uuid") == besides or _svm_of(other) != svm:
            continue
        if other.get("os_type") == os_type:
            continue
        shared = wanted & _initiator_names(store, other)
        if shared:
            raise _refuse(
                code,
                f'Initiator "{sorted(shared)[0]}" is already in initiator group '
                f'"{other.get("name")}", whose operating system type ({other.get("os_type")}) '
                f"conflicts with {os_type}.",
                "initiators",
            )


def _mapped_igroup(store: Store, uuid: Any) -> bool:
    return any(True for _ in _where(store, "LunMap", "igroup.uuid", uuid))


def _name_taken_by(store: Store, resource: str, svm: Any, name: Any, besides: Any) -> bool:
    return any(
        _svm_of(r) == svm and r.get("uuid") != besides
        for r in _where(store, resource, "name", name)
    )


@register
class Igroup(Behaviour):
    """An initiator group: a name unique in its SVM, an OS type, a protocol, initiators."""

    resource = "Igroup"
    params: ClassVar[Mapping[str, frozenset[str]]] = {"DELETE": frozenset({_ALLOW_MAPPED})}

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        return _holds_svm(kind, "the igroup", record)

    def check_name(self, store: Store, svm: Any, name: Any, besides: Any) -> None:
        if not _IGROUP_NAME.match(str(name)):
            raise _refuse(
                "5373958", f'An invalid initiator group name was supplied: "{name}".', "name"
            )
        if _name_taken_by(store, "Igroup", svm, name, besides):
            raise _refuse(
                "5374023",
                f'An initiator group with the name "{name}" already exists.',
                "name",
                status=409,
            )
        if _name_taken_by(store, "NvmeSubsystem", svm, name, None):
            raise _refuse(
                "5376488",
                f'An NVMe over Fabrics subsystem already exists with the name "{name}".',
                "name",
                status=409,
            )

    def prepare_post(self, store: Store, data: Record) -> None:
        svm = _svm_of(data)
        self.check_name(store, svm, data.get("name"), None)
        data.setdefault("protocol", "mixed")
        data.setdefault("delete_on_unmap", False)
        initiators = data.get("initiators")
        if isinstance(initiators, list):
            seen: set[str] = set()
            for index, item in enumerate(initiators):
                target = f"initiators[{index}].name"
                item["name"] = initiator_name(item.get("name"), data["protocol"], target)
                if item["name"] in seen:
                    raise _refuse("5374917", f'Initiator "{item["name"]}" is given twice.', target)
                seen.add(item["name"])
            _os_conflict(store, svm, seen, data.get("os_type"), None, "5374732")

    def applied(self, store: Store, event: Event, record: Record) -> None:
        _release(store, self.resource, event, record)
        if event != "post" or not isinstance(record.get("initiators"), list):
            return
        resource = store.spec.resources["IgroupInitiator"]
        for item in record.pop("initiators"):
            entry = {k: v for k, v in item.items() if k in ("name", "comment", "proximity")}
            store.insert(resource, {**entry, "igroup": {"uuid": record["uuid"]}})

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        svm = _svm_of(record)
        if "name" in changes and changes["name"] != record.get("name"):
            self.check_name(store, svm, changes["name"], record.get("uuid"))
        if "os_type" in changes and changes["os_type"] != record.get("os_type"):
            names = _initiator_names(store, record)
            _os_conflict(store, svm, names, changes["os_type"], record.get("uuid"), "5374733")

    def check_delete(self, store: Store, record: Record) -> None:
        if _mapped_igroup(store, record.get("uuid")) and not _allowed(store, _ALLOW_MAPPED):
            raise _refuse(
                "1254213",
                f'The initiator group "{record.get("name")}" is mapped to one or more LUNs and '
                f"{_ALLOW_MAPPED} has not been specified.",
            )

    def render(self, store: Store, record: Record) -> Record:
        if not isinstance(record.get("initiators"), list):
            uuid = record.get("uuid")
            record["initiators"] = [
                {
                    **{k: v for k, v in i.items() if k in ("name", "comment", "proximity")},
                    "_links": _link(f"/api/protocols/san/igroups/{uuid}/initiators/{i['name']}"),
                }
                for i in _initiators(store, uuid)
            ]
        record["lun_maps"] = [
            {
                "logical_unit_number": m.get("logical_unit_number"),
                "lun": {
                    "uuid": _dig(m, "lun.uuid"),
                    "name": _record_name(store, "Lun", _dig(m, "lun.uuid")),
                    "_links": _link(f"/api/storage/luns/{_dig(m, 'lun.uuid')}"),
                },
                "_links": _link(
                    f"/api/protocols/san/lun-maps/{_dig(m, 'lun.uuid')}/{record.get('uuid')}"
                ),
            }
            for m in _where(store, "LunMap", "igroup.uuid", record.get("uuid"))
        ]
        return record


def _batch(data: Record) -> list[Record]:
    """The entries a sub-collection POST adds: the body itself, or its ``records``."""
    records = data.pop("records", None)
    if isinstance(records, list) and records:
        first = records[0]
        data.update({k: v for k, v in first.items() if k not in data})
        return [dict(r) for r in records[1:]]
    return []


_MORE = "_more"


@register
class IgroupInitiator(Behaviour):
    """An initiator of an igroup: added one at a time or as ``records``, removed by name."""

    resource = "IgroupInitiator"
    params: ClassVar[Mapping[str, frozenset[str]]] = {"DELETE": frozenset({_ALLOW_MAPPED})}

    def prepare_post(self, store: Store, data: Record) -> None:
        igroup_uuid = _dig(data, "igroup.uuid")
        igroup = next(_where(store, "Igroup", "uuid", igroup_uuid), {})
        more = _batch(data)
        entries = [data, *more]
        present = _initiator_names(store, igroup)
        names: list[str] = []
        for index, entry in enumerate(entries):
            target = "name" if index == 0 and not more else f"records[{index}].name"
            if entry.get("name") is None:
                raise _refuse("5374033", "Initiators must be supplied.", target)
            entry["name"] = initiator_name(entry["name"], igroup.get("protocol"), target)
            if entry["name"] in present or entry["name"] in names:
                raise _refuse(
                    "5374035",
                    f'Initiator "{entry["name"]}" is already in the initiator group.',
                    target,
                    status=409,
                )
            names.append(entry["name"])
        _os_conflict(
            store, _svm_of(igroup), names, igroup.get("os_type"), igroup.get("uuid"), "5374734"
        )
        if more:
            data[_MORE] = [
                {k: v for k, v in e.items() if k in ("name", "comment", "proximity")} for e in more
            ]
        data.setdefault("igroup", {})["name"] = igroup.get("name")

    def applied(self, store: Store, event: Event, record: Record) -> None:
        more = record.pop(_MORE, None)
        if event == "post" and isinstance(more, list):
            resource = store.spec.resources[self.resource]
            for entry in more:
                store.insert(resource, {**entry, "igroup": dict(record["igroup"])})

    def check_delete(self, store: Store, record: Record) -> None:
        igroup_uuid = _dig(record, "igroup.uuid")
        if _mapped_igroup(store, igroup_uuid) and not _allowed(store, _ALLOW_MAPPED):
            raise _refuse(
                "1254213",
                f'The initiator group of "{record.get("name")}" is mapped to one or more LUNs '
                f"and {_ALLOW_MAPPED} has not been specified.",
            )

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind == "Igroup"

    def render(self, store: Store, record: Record) -> Record:
        record.pop(_MORE, None)
        name = _igroup_name(store, _dig(record, "igroup.uuid"))
        if name is not None:
            record.setdefault("igroup", {})["name"] = name
        return record


# -- LUN maps ----------------------------------------------------------------------------------
def _sharing_igroups(store: Store, igroup: Mapping[str, Any]) -> set[Any]:
    """The igroup and every igroup of its SVM sharing an initiator with it: an initiator
    sees the LUNs of all its igroups, so their logical unit numbers must differ."""
    names = _initiator_names(store, igroup)
    found = {igroup.get("uuid")}
    for other in _table(store, "Igroup"):
        if _svm_of(other) == _svm_of(igroup) and names & _initiator_names(store, other):
            found.add(other.get("uuid"))
    return found


@register
class LunMap(Behaviour):
    """A LUN mapped to an igroup of its SVM, with a logical unit number."""

    resource = "LunMap"
    #: [ERR] lun_map_create: 1254201 "The specified LUN does not exist"; 5374878 "The specified
    #: initiator group does not exist, is not accessible to the caller, or is not in the same
    #: SVM as the specified LUN" (lun_map_delete_collection, igroup_create).
    unknown_reference: ClassVar[Mapping[str, str]] = {"lun": "1254201", "igroup": "5374878"}

    def prepare_post(self, store: Store, data: Record) -> None:
        lun = next(_where(store, "Lun", "uuid", _dig(data, "lun.uuid")), None)
        igroup = next(_where(store, "Igroup", "uuid", _dig(data, "igroup.uuid")), None)
        if lun is None:
            raise _refuse("1254201", "The specified LUN does not exist.", "lun.name")
        if igroup is None:
            raise _refuse("5374878", "The specified initiator group does not exist.", "igroup")
        svm = _svm_of(data)
        if _svm_of(lun) != svm or _svm_of(igroup) != svm:
            raise _refuse(
                "5374878",
                "The LUN and the initiator group must be in the SVM of the map.",
                "igroup.name",
            )
        if any(
            _dig(m, "igroup.uuid") == igroup["uuid"]
            for m in _where(store, "LunMap", "lun.uuid", lun["uuid"])
        ):
            raise _refuse(
                "1254207",
                f'LUN "{lun["name"]}" is already mapped to initiator group "{igroup["name"]}".',
                "lun.name",
                status=409,
            )
        groups = _sharing_igroups(store, igroup)
        used = {
            m.get("logical_unit_number")
            for m in _table(store, "LunMap")
            if _dig(m, "igroup.uuid") in groups
        }
        number = data.get("logical_unit_number")
        if number is None:
            number = next(n for n in range(4096) if n not in used)
        elif number in used:
            raise _refuse(
                "1254324",
                f"Logical unit number {number} is already used by a LUN mapped to initiator "
                f'group "{igroup["name"]}" or to another initiator group of its initiators.',
                "logical_unit_number",
                status=409,
            )
        data["logical_unit_number"] = number
        data["lun"] = {"uuid": lun["uuid"], "name": lun["name"]}
        data["igroup"] = {"uuid": igroup["uuid"], "name": igroup["name"]}

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "delete":
            return
        igroup_uuid = _dig(record, "igroup.uuid")
        igroup = next(_where(store, "Igroup", "uuid", igroup_uuid), None)
        if (
            igroup is not None
            and igroup.get("delete_on_unmap")
            and not _mapped_igroup(store, igroup_uuid)
        ):
            _drop(store, "Igroup", igroup)

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind in ("Lun", "Igroup")

    def render(self, store: Store, record: Record) -> Record:
        igroup = next(_where(store, "Igroup", "uuid", _dig(record, "igroup.uuid")), None)
        if igroup is not None:
            record.setdefault("igroup", {}).update(
                {
                    "name": igroup.get("name"),
                    "os_type": igroup.get("os_type"),
                    "protocol": igroup.get("protocol"),
                    "initiators": sorted(_initiator_names(store, igroup)),
                }
            )
        node = _node(store)
        if node is not None:
            record.setdefault("lun", {})["node"] = node
            record["reporting_nodes"] = [node]
        return record


# -- NVMe subsystems, hosts and maps ---------------------------------------------------------
def check_nqn(raw: Any, target: str) -> str:
    """A host NQN as ONTAP takes it (``nqn.yyyy-mm.<naming authority>[:...]``)."""
    nqn = str(raw)
    if not nqn.startswith("nqn."):
        raise _refuse("72089772", f'The NQN "{raw}" is invalid. Add the prefix "nqn".', target)
    rest = nqn[4:]
    if not rest:
        raise _refuse(
            "72089771",
            f'The NQN "{raw}" is invalid. A non-empty qualifier is required after the prefix.',
            target,
        )
    if not re.fullmatch(r"\d{4}-\d{2}", rest[:7]) or rest[7:8] != ".":
        raise _refuse(
            "72089773",
            f'The NQN "{raw}" is invalid. The date field must be formatted yyyy-mm.',
            target,
        )
    if not rest[8:]:
        raise _refuse(
            "72089771",
            f'The NQN "{raw}" is invalid. A non-empty qualifier is required after the prefix.',
            target,
        )
    return nqn


def _hosts(store: Store, subsystem_uuid: Any) -> list[Record]:
    return list(_where(store, "NvmeSubsystemHost", "subsystem.uuid", subsystem_uuid))


@register
class NvmeSubsystem(Behaviour):
    """An NVMe subsystem: a name unique in its SVM, an OS type, hosts, mapped namespaces."""

    resource = "NvmeSubsystem"
    params: ClassVar[Mapping[str, frozenset[str]]] = {
        "DELETE": frozenset({_ALLOW_MAPPED, "allow_delete_with_hosts"})
    }

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        return _holds_svm(kind, "the NVMe subsystem", record)

    def prepare_post(self, store: Store, data: Record) -> None:
        svm, name = _svm_of(data), data.get("name")
        if not _SUBSYSTEM_NAME.match(str(name)):
            raise _refuse(
                "72089709",
                f'The NVMe subsystem name "{name}" contains an invalid character.',
                "name",
            )
        if _name_taken_by(store, "NvmeSubsystem", svm, name, None):
            raise _refuse(
                "72090025", f'The NVMe subsystem "{name}" already exists for the SVM.', "name", 409
            )
        if _name_taken_by(store, "Igroup", svm, name, None):
            raise _refuse(
                "72090043",
                f'An igroup already exists with the requested NVMe subsystem name "{name}".',
                "name",
                409,
            )
        data.setdefault("delete_on_unmap", False)
        hosts = data.get("hosts")
        if isinstance(hosts, list):
            seen: set[str] = set()
            for index, host in enumerate(hosts):
                target = f"hosts[{index}].nqn"
                if host.get("nqn") is None:
                    raise _refuse("72090003", 'A host is missing the "nqn" property.', target)
                nqn = check_nqn(host["nqn"], target)
                if nqn in seen:
                    raise _refuse("72090036", f'Host NQN "{nqn}" is duplicated.', target)
                seen.add(nqn)

    def applied(self, store: Store, event: Event, record: Record) -> None:
        _release(store, self.resource, event, record)
        if event != "post" or not isinstance(record.get("hosts"), list):
            return
        resource = store.spec.resources["NvmeSubsystemHost"]
        for host in record.pop("hosts"):
            entry = {k: v for k, v in host.items() if k in ("nqn", "priority")}
            store.insert(resource, {**entry, "subsystem": {"uuid": record["uuid"]}})

    def check_delete(self, store: Store, record: Record) -> None:
        uuid = record.get("uuid")
        if any(True for _ in _where(store, "NvmeSubsystemMap", "subsystem.uuid", uuid)) and not (
            _allowed(store, _ALLOW_MAPPED)
        ):
            raise _refuse(
                "72090023",
                f'The NVMe subsystem "{record.get("name")}" contains one or more mapped '
                f"namespaces. Use the {_ALLOW_MAPPED} query parameter to delete it.",
            )
        if _hosts(store, uuid) and not _allowed(store, "allow_delete_with_hosts"):
            raise _refuse(
                "72090024",
                f'The NVMe subsystem "{record.get("name")}" contains one or more NVMe hosts. '
                "Use the allow_delete_with_hosts query parameter to delete it.",
            )

    def render(self, store: Store, record: Record) -> Record:
        uuid = record.get("uuid")
        if not isinstance(record.get("hosts"), list):
            record["hosts"] = [
                {k: v for k, v in h.items() if k in ("nqn", "priority")}
                for h in _hosts(store, uuid)
            ]
        record["subsystem_maps"] = [
            {
                "nsid": m.get("nsid"),
                "anagrpid": m.get("anagrpid"),
                "namespace": {
                    "uuid": _dig(m, "namespace.uuid"),
                    "name": _record_name(store, "NvmeNamespace", _dig(m, "namespace.uuid")),
                },
            }
            for m in _where(store, "NvmeSubsystemMap", "subsystem.uuid", uuid)
        ]
        if uuid:
            record["serial_number"] = _serial(str(uuid), 20)
            svm_hex = str(_svm_of(record) or "").replace("-", "")
            record["target_nqn"] = (
                f"nqn.1992-08.com.netapp:sn.{svm_hex}:subsystem.{record.get('name')}"
            )
        return record


@register
class NvmeSubsystemHost(Behaviour):
    """A host (NQN) allowed to a subsystem: added one at a time or as ``records``."""

    resource = "NvmeSubsystemHost"

    def prepare_post(self, store: Store, data: Record) -> None:
        subsystem_uuid = _dig(data, "subsystem.uuid")
        more = _batch(data)
        present = {h.get("nqn") for h in _hosts(store, subsystem_uuid)}
        seen: list[str] = []
        for index, entry in enumerate([data, *more]):
            target = "nqn" if index == 0 and not more else f"records[{index}].nqn"
            if entry.get("nqn") is None:
                raise _refuse("72090003", 'A host is missing the "nqn" property.', target)
            nqn = check_nqn(entry["nqn"], target)
            if nqn in seen:
                raise _refuse("72090036", f'Host NQN "{nqn}" is duplicated in the input.', target)
            if nqn in present:
                raise _refuse(
                    "72089705",
                    f'The NVMe subsystem host "{nqn}" already exists for the subsystem.',
                    target,
                    409,
                )
            seen.append(nqn)
        if more:
            data[_MORE] = [{k: v for k, v in e.items() if k in ("nqn", "priority")} for e in more]

    def applied(self, store: Store, event: Event, record: Record) -> None:
        more = record.pop(_MORE, None)
        if event == "post" and isinstance(more, list):
            resource = store.spec.resources[self.resource]
            for entry in more:
                store.insert(resource, {**entry, "subsystem": dict(record["subsystem"])})

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind == "NvmeSubsystem"

    def render(self, store: Store, record: Record) -> Record:
        record.pop(_MORE, None)
        name = _record_name(store, "NvmeSubsystem", _dig(record, "subsystem.uuid"))
        if name is not None:
            record.setdefault("subsystem", {})["name"] = name
        return record


@register
class NvmeSubsystemMap(Behaviour):
    """A namespace mapped to a subsystem of its SVM (one subsystem per namespace), with an
    NSID assigned."""

    resource = "NvmeSubsystemMap"

    def prepare_post(self, store: Store, data: Record) -> None:
        namespace = next(_where(store, "NvmeNamespace", "uuid", _dig(data, "namespace.uuid")), None)
        subsystem = next(_where(store, "NvmeSubsystem", "uuid", _dig(data, "subsystem.uuid")), None)
        if namespace is None:
            raise _refuse("72089731", "The specified NVMe namespace does not exist.", "namespace")
        if subsystem is None:
            raise _refuse("72090001", "The NVMe subsystem does not exist.", "subsystem")
        svm = _svm_of(data)
        if _svm_of(namespace) != svm or _svm_of(subsystem) != svm:
            raise _refuse(
                "72090021",
                "The namespace and the subsystem must be in the SVM of the map.",
                "subsystem.name",
            )
        for existing in _where(store, "NvmeSubsystemMap", "namespace.uuid", namespace["uuid"]):
            same = _dig(existing, "subsystem.uuid") == subsystem["uuid"]
            other = _record_name(store, "NvmeSubsystem", _dig(existing, "subsystem.uuid"))
            raise _refuse(
                "72089790",
                f'NVMe namespace "{namespace["name"]}" is already mapped to '
                + ("this NVMe subsystem." if same else f'NVMe subsystem "{other}".'),
                "namespace.name",
                409,
            )
        used = {
            m.get("nsid")
            for m in _where(store, "NvmeSubsystemMap", "subsystem.uuid", subsystem["uuid"])
        }
        number = next(n for n in range(1, 4097) if _nsid(n) not in used)
        data["nsid"] = _nsid(number)
        data["anagrpid"] = _nsid(number)
        data["namespace"] = {"uuid": namespace["uuid"], "name": namespace["name"]}
        data["subsystem"] = {"uuid": subsystem["uuid"], "name": subsystem["name"]}

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "delete":
            return
        uuid = _dig(record, "subsystem.uuid")
        subsystem = next(_where(store, "NvmeSubsystem", "uuid", uuid), None)
        mapped = any(True for _ in _where(store, "NvmeSubsystemMap", "subsystem.uuid", uuid))
        if subsystem is not None and subsystem.get("delete_on_unmap") and not mapped:
            _drop(store, "NvmeSubsystem", subsystem)

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind in ("NvmeNamespace", "NvmeSubsystem")

    def render(self, store: Store, record: Record) -> Record:
        node = _node(store)
        if node is not None:
            record.setdefault("namespace", {})["node"] = node
        return record


def _nsid(number: int) -> str:
    """ONTAP's spelling of an NSID or ANA group id: eight hex digits and ``h``."""
    return f"{number:08x}h"
