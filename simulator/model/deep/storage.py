"""Volumes and their snapshots: names, sizes, space, NAS settings, moves and restores.

Volumes (``/api/storage/volumes``):

- a POST names its SVM, its name and its aggregates (netapp-ontap's Volume.post lists them
  as required; a FlexGroup may name several); a name is 1 to 203 letters, digits and ``_``,
  starting with a letter or ``_``, unique in its SVM;
- the size is at least 20 MiB (ONTAP's smallest FlexVol, and the default); ``size`` and
  ``space.size`` are one value; the snapshot reserve is 0 to 90 percent; space available is
  the size less the reserve, nothing used;
- ``nas.unix_permissions`` takes 755, ``"0755"`` or ``"---rwxr-xr-x"`` and shows the octal
  digits as a decimal integer; ``nas.path`` is ``""`` or a path starting with ``/``;
- a PATCH may name the volume's own SVM and type, never others; ``movement.
  destination_aggregate`` moves the volume (at once); ``restore_to.snapshot`` (body or query)
  restores one of its snapshots (checked again when the job applies: a snapshot deleted
  meanwhile fails it with code 524511); ``quota.enabled`` turns quotas on or off;
- a volume another record holds (a mapped LUN, a SnapMirror destination) is not deleted; its
  snapshots go with it.

Snapshots (``/api/storage/volumes/{volume.uuid}/snapshots``): a name is 1 to 255 letters,
digits, ``_``, ``-`` and ``.``, starting with a letter or ``_``, unique in the volume.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlencode

from ...errors import ApiError, bad_value
from ...jobs import iso
from ...query import get_path
from ..behaviour import Behaviour, Event, register
from ..body import invalid
from ..spec import FieldSpec
from .inventory import derived_uuid
from .svm import check_name, check_policy_pair, check_range, fill_policy, svm_reference

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["MIN_VOLUME_SIZE"]

Record = dict[str, Any]

MIB = 1024 * 1024
#: ONTAP's smallest (and default) FlexVol size.
MIN_VOLUME_SIZE = 20 * MIB

_VOLUME_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,202}")
_SNAPSHOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,254}")
_PERMISSION_BITS = re.compile(r"[0-7]{1,4}")
_SYMBOLIC = re.compile(r"([-s][-s][-t])?((?:[-r][-w][-xst]){3})")
_SIZING = ("use_existing_resources", "add_new_resources")
#: ONTAP's built-in adaptive QoS policy groups (``qos adaptive-policy-group show``): name ->
#: expected and peak IOPS per TB, absolute minimum IOPS (INFERRED from ONTAP's documentation
#: of the built-in groups).
BUILTIN_ADAPTIVE_QOS: Mapping[str, tuple[int, int, int]] = {
    "extreme": (6144, 12288, 1000),
    "performance": (2048, 4096, 500),
    "value": (128, 512, 75),
}
#: Where a PATCH's planned restores wait for its job to apply (never stored).
_RESTORES = "restore_to"


def _restore_field(leaf: str) -> FieldSpec:
    return FieldSpec(
        name=f"restore_to.snapshot.{leaf}",
        type="string",
        is_list=False,
        in_list=None,
        enum=None,
        minimum=None,
        maximum=None,
        min_length=None,
        max_length=None,
        get=False,
        post=False,
        patch=True,
        expensive=False,
    )


def _now(store: Store) -> str:
    now = store.now()
    return iso(now if now is not None else time.time())


def _triplet(text: str) -> int:
    return (4 if text[0] == "r" else 0) + (2 if text[1] == "w" else 0) + (text[2] in "xst")


def unix_permissions(value: Any, target: str = "nas.unix_permissions") -> int:
    """ONTAP's ``nas.unix_permissions``: 755 as an integer, "755"/"0755", or "---rwxr-xr-x";
    the octal digits read as a decimal integer, as ONTAP shows them."""
    expected = 'expected octal digits such as 755, "0755" or "---rwxr-xr-x"'
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or not _PERMISSION_BITS.fullmatch(str(value)):
            raise invalid(target, value, expected)
        return value
    if not isinstance(value, str):
        raise invalid(target, value, expected)
    if _PERMISSION_BITS.fullmatch(value):
        return int(value, 10)
    symbolic = _SYMBOLIC.fullmatch(value)
    if symbolic is None:
        raise invalid(target, value, expected)
    special_text, modes = symbolic.group(1) or "---", symbolic.group(2)
    special = (4 if special_text[0] == "s" else 0) + (2 if special_text[1] == "s" else 0)
    special += 1 if special_text[2] == "t" else 0
    digits = [special] + [_triplet(modes[i : i + 3]) for i in (0, 3, 6)]
    return int("".join(str(d) for d in digits), 10)


def _check_sizing(store: Store) -> None:
    method = store.query.get("sizing_method")
    if method is not None and method not in _SIZING:
        raise ApiError(
            400,
            "262197",
            f'The value "{method}" is invalid for field "sizing_method" (<{"|".join(_SIZING)}>)',
            "sizing_method",
        )


def _merge_sizes(data: Record) -> None:
    """Check the sizes given and fold ``space.size`` into ``size`` (ONTAP keeps them equal)."""
    space = data.get("space")
    space_size = space.pop("size", None) if isinstance(space, dict) else None
    for target, size in (("size", data.get("size")), ("space.size", space_size)):
        if size is not None and size < MIN_VOLUME_SIZE:
            raise bad_value(
                target,
                f'The value {size} is invalid for field "{target}": the minimum volume size '
                f"is {MIN_VOLUME_SIZE} bytes (20MB).",
            )
    if space_size is None:
        return
    if "size" in data and data["size"] != space_size:
        raise bad_value("space.size", 'Fields "size" and "space.size" must be equal.')
    data["size"] = space_size


def _check_name(name: Any) -> None:
    check_name(
        _VOLUME_NAME,
        "volume",
        'names are 1 to 203 characters: letters, digits and "_", starting with a letter or "_"',
        name,
    )


def _check_fields(data: Record) -> None:
    check_range(data, "space.snapshot.reserve_percent", 0, 90)
    check_range(data, "tiering.min_cooling_days", 2, 183)
    check_range(data, "nas.uid", 0, 2**32 - 1)
    check_range(data, "nas.gid", 0, 2**32 - 1)
    check_range(data, "files.maximum", 0, None)
    path = data.get("nas", {}).get("path")
    if isinstance(path, str) and ((path and not path.startswith("/")) or len(path) > 255):
        raise invalid("nas.path", path, 'expected "" or a path starting with "/"')
    if data.get("type") == "ls":
        raise invalid("type", "ls", "expected one of rw|dp")
    if "aggregates" in data and not data["aggregates"]:
        raise bad_value("aggregates", 'Field "aggregates" needs at least one aggregate.')
    _merge_sizes(data)


def _defaults(store: Store, data: Record) -> Record:
    svm = store.tables.get("Svm", {}).get((str(data["svm"]["uuid"]),), {})
    return {
        "uuid": data.get("uuid"),
        "name": data.get("name"),
        "svm": {},
        "aggregates": [],
        "size": MIN_VOLUME_SIZE,
        "state": "online",
        "type": "rw",
        "style": "flexvol",
        "language": svm.get("language", "c.utf_8"),
        "space": {
            "snapshot": {"reserve_percent": 5},
            "logical_space": {"enforcement": False, "reporting": False},
        },
        "nas": {
            "security_style": "unix",
            "unix_permissions": 755,
            "uid": 0,
            "gid": 0,
            "export_policy": {"name": "default"},
        },
        "guarantee": {"type": "volume"},
        "snapshot_policy": {"name": "default"},
        "efficiency": {"compression": "none", "dedupe": "none"},
        "tiering": {"policy": "none"},
        "autosize": {"mode": "off"},
        "encryption": {"enabled": False},
        "snaplock": {"type": "non_snaplock"},
        "analytics": {"state": "off"},
    }


def _export_policy(store: Store, data: Record, svm_uuid: Any) -> None:
    """Resolve ``nas.export_policy`` (name or id) within the volume's SVM, both ways; an
    unknown one is refused ([TRI] volume_create: 918271 "Failed to get valid export
    policy."; INFERRED for a PATCH), except in a scenario's inventory, which may name a
    policy its ``records`` create (kept as given)."""
    ref = get_path(data, "nas.export_policy")
    if not isinstance(ref, dict):
        return
    given = {k: ref[k] for k in ("id", "name") if ref.get(k) not in (None, "")}
    if not given:
        return
    store.sync("ExportPolicy")  # an SVM's default policy exists while the SVM does
    for policy in store.tables.get("ExportPolicy", {}).values():  # as stored: not rendered
        if get_path(policy, "svm.uuid") == svm_uuid and all(
            str(policy.get(k)) == str(v) for k, v in given.items()
        ):
            ref.update(name=policy.get("name"), id=policy.get("id"))
            return
    if store.seeding:
        return
    key = "name" if "name" in given else "id"
    raise ApiError(400, "918271", "Failed to get valid export policy.", f"nas.export_policy.{key}")


def _snapshot_in(store: Store, volume_uuid: Any, ref: Mapping[str, Any]) -> Record:
    """The snapshot of the volume ``ref`` names (for ``restore_to``), or 400 naming it."""
    for snapshot in store.tables.get("Snapshot", {}).values():
        if snapshot.get("volume", {}).get("uuid") != volume_uuid:
            continue
        if all(snapshot.get(k) == v for k, v in ref.items()):
            return snapshot
    key = "uuid" if "uuid" in ref else "name"
    raise bad_value(f"restore_to.snapshot.{key}", f'Snapshot "{ref[key]}" does not exist.')


@register
class VolumeBehaviour(Behaviour):
    """The rules of a volume (``/api/storage/volumes``)."""

    resource = "Volume"
    rendered = True
    computed = True
    required_post = (("name",), ("svm.name", "svm.uuid"))
    params: ClassVar[Mapping[str, frozenset[str]]] = {
        "POST": frozenset({"sizing_method"}),
        "PATCH": frozenset(
            {"sizing_method", "restore_to.snapshot.name", "restore_to.snapshot.uuid"}
        ),
    }
    takes: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "patch": ("svm.name", "svm.uuid", "type", "language")
    }
    extra_fields: ClassVar[Mapping[str, FieldSpec]] = {
        f"restore_to.snapshot.{leaf}": _restore_field(leaf) for leaf in ("name", "uuid")
    }
    #: The export policy is resolved by :func:`_export_policy` (a scenario's inventory may
    #: name one its ``records`` create).
    unchecked = frozenset({"nas.export_policy"})
    #: [TRI] volume_create: 917551 "Specified snapshot policy not found." (INFERRED for a
    #: PATCH, whose list names none); a QoS policy: INFERRED, ONTAP's generic code.
    unknown_reference: ClassVar[Mapping[str, str]] = {"snapshot_policy": "917551"}

    def seed(self, store: Store) -> None:
        resource = store.spec.resources["QosPolicy"]
        for name, (expected, peak, low) in BUILTIN_ADAPTIVE_QOS.items():
            store.insert(
                resource,
                {
                    "uuid": derived_uuid("qos-policy", name),
                    "name": name,
                    "scope": "cluster",
                    "adaptive": {
                        "expected_iops": expected,
                        "peak_iops": peak,
                        "absolute_min_iops": low,
                        "expected_iops_allocation": "allocated_space",
                        "peak_iops_allocation": "used_space",
                    },
                },
            )

    def prepare_body(self, store: Store, body: Record, method: Literal["post", "patch"]) -> None:
        _check_name(body.get("name"))  # first: ONTAP names a bad name before other fields
        check_policy_pair(store, body)
        aggregates = body.get("aggregates")
        if isinstance(aggregates, list) and not all(isinstance(a, Mapping) for a in aggregates):
            raise invalid("aggregates", aggregates, "expected a list of objects with name or uuid")
        nas = body.get("nas")
        if isinstance(nas, dict) and "unix_permissions" in nas:
            nas["unix_permissions"] = unix_permissions(nas["unix_permissions"])

    def prepare_post(self, store: Store, data: Record) -> None:
        _check_sizing(store)
        _check_fields(data)
        if not data.get("aggregates"):
            raise bad_value("aggregates", 'Missing value for required field "aggregates".')
        merged = _defaults(store, data)
        from ..store import deep_merge

        deep_merge(merged, data)
        data.clear()
        data.update(merged)
        _export_policy(store, data, get_path(data, "svm.uuid"))
        fill_policy(store, data, get_path(data, "svm.uuid"))

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        _check_sizing(store)
        _export_policy(store, changes, get_path(record, "svm.uuid"))
        svm = changes.pop("svm", None)
        if svm:
            current = record.get("svm", {})
            if any(svm.get(k) not in (None, current.get(k)) for k in ("uuid", "name")):
                target = "svm.name" if "name" in svm else "svm.uuid"
                raise bad_value(target, "The SVM of a volume cannot be modified.")
        for fixed in ("type", "style"):
            if fixed in changes and changes.pop(fixed) != record.get(fixed):
                raise bad_value(fixed, f'Field "{fixed}" cannot be modified.')
        _check_fields(changes)
        movement = changes.get("movement")
        if isinstance(movement, dict) and "destination_aggregate" in movement:
            destination = movement.pop("destination_aggregate")
            if not movement:
                del changes["movement"]
            changes["aggregates"] = [{"name": destination["name"], "uuid": destination["uuid"]}]
        refs = [changes.pop("restore_to", {}).get("snapshot") or {}]
        refs.append(
            {
                leaf: store.query[f"restore_to.snapshot.{leaf}"]
                for leaf in ("name", "uuid")
                if f"restore_to.snapshot.{leaf}" in store.query
            }
        )
        restores = [
            {"uuid": found.get("uuid"), "name": found.get("name")}
            for found in (_snapshot_in(store, record.get("uuid"), ref) for ref in refs if ref)
        ]
        if restores:
            changes[_RESTORES] = restores

    def recheck_patch(self, store: Store, record: Record, changes: Record) -> None:
        snapshots = store.tables.get("Snapshot", {})
        for restore in changes.pop(_RESTORES, []):
            found = snapshots.get((str(record.get("uuid")), str(restore["uuid"])))
            if found is None:
                # [TRI] volume_modify: 524511 'Failed to restore snapshot
                # "restore_to.snapshot.name".' (the snapshot was deleted meanwhile)
                raise ApiError(400, "524511", f'Failed to restore snapshot "{restore["name"]}".')

    def check_delete(self, store: Store, record: Record) -> None:
        held = store.holder("Volume", str(record.get("uuid")))
        if held is not None:
            raise held

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "post":
            record["create_time"] = _now(store)
        elif event == "delete":
            store.release("Volume", str(record.get("uuid")))

    def render(self, store: Store, record: Record) -> Record:
        size = record.get("size", MIN_VOLUME_SIZE)
        space = record.get("space", {})
        reserve = space.get("snapshot", {}).get("reserve_percent", 0)
        record["svm"] = svm_reference(store, record.get("svm", {}).get("uuid")) or record.get("svm")
        available = size - size * reserve // 100
        record["space"] = {"size": size, "available": available, "used": 0, **space}
        files = record.setdefault("files", {})
        files.setdefault("maximum", max(size // 32768, 1))
        files["used"] = 96
        record["quota"] = {"state": "on" if record.pop("quota", {}).get("enabled") else "off"}
        return record

    def location(self, store: Store, record: Record) -> str | None:
        return "/api/storage/volumes/?" + urlencode({"name": record.get("name")})

    def job_svm(self, store: Store, record: Record) -> Record | None:
        return svm_reference(store, record.get("svm", {}).get("uuid"))


@register
class SnapshotBehaviour(Behaviour):
    """The rules of a volume's snapshot."""

    resource = "Snapshot"
    rendered = True
    computed = True

    def prepare_post(self, store: Store, data: Record) -> None:
        self.prepare_patch(store, {}, data)
        volume = store.tables.get("Volume", {}).get((str(data["volume"]["uuid"]),), {})
        owner = volume.get("svm", {})
        given = data.get("svm")
        if isinstance(given, dict) and given.get("uuid") not in (None, owner.get("uuid")):
            key = "uuid" if "uuid" in given else "name"
            raise bad_value(
                f"svm.{key}", 'Field "svm" does not match the volume in the request path.'
            )
        data["svm"] = {"name": owner.get("name"), "uuid": owner.get("uuid")}
        data.setdefault("state", "valid")
        data.setdefault("size", 0)

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        check_name(
            _SNAPSHOT_NAME,
            "snapshot",
            'names are 1 to 255 characters: letters, digits, "_", "-" and ".", '
            'starting with a letter or "_"',
            changes.get("name"),
        )

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "post":
            record["create_time"] = _now(store)

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        return kind == "Volume"

    def render(self, store: Store, record: Record) -> Record:
        volume = record.get("volume", {})
        volume["_links"] = {"self": {"href": f"/api/storage/volumes/{volume.get('uuid')}"}}
        record["svm"] = svm_reference(store, record.get("svm", {}).get("uuid")) or record.get("svm")
        return record

    def location(self, store: Store, record: Record) -> str | None:
        volume = record.get("volume", {}).get("uuid")
        href = f"/api/storage/volumes/{volume}/snapshots/?"
        return href + urlencode({"name": record.get("name")})

    def job_svm(self, store: Store, record: Record) -> Record | None:
        return svm_reference(store, record.get("svm", {}).get("uuid"))
