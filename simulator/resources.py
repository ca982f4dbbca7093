"""The simulated cluster's objects: cluster, nodes, aggregates, SVMs, volumes and snapshots.

Reads answer at once from the applied state. Writes are split in two, as ONTAP does:
:meth:`Inventory.plan` validates a request synchronously against the applied state (404, 400
and 409 answers come from here, and no job is created then) and returns a :class:`WritePlan`
whose ``effect`` the job engine runs if and when the job succeeds. The effect re-validates
(the target may have been deleted, a duplicate created, meanwhile) and raises
:class:`~simulator.jobs.EffectError` instead of applying half a change.

Records carry ONTAP's field names, since clients such as ``netapp-ontap`` and Ansible's
``netapp.ontap`` read and compare them. Stored records keep references to other objects by
uuid only, so renaming an SVM or a volume shows at once in everything that refers to it.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .clock import Clock
from .errors import ApiError, bad_value, duplicate, not_found, unexpected_argument
from .jobs import EffectError, iso
from .model.body import check_body, expand_dotted, invalid, refused_field, show
from .model.plan import WritePlan
from .model.spec import load_spec
from .model.store import deep_merge
from .query import (
    COLLECTION_PARAMS,
    RECORD_PARAMS,
    check_params,
    parse_bool,
    parse_fields,
    parse_int,
    query_collection,
    select_fields,
)

__all__ = [
    "DEFAULT_INVENTORY",
    "MIN_VOLUME_SIZE",
    "Inventory",
    "WritePlan",
    "expand_dotted",
    "leaf_names",
    "schema_fields",
]

Record = dict[str, Any]
Validator = Callable[[Any, str], Any]
#: A body schema: field name -> validator (a leaf) or a nested schema (an object).
Schema = Mapping[str, Any]

MIB = 1024 * 1024
#: ONTAP's smallest (and default) FlexVol size.
MIN_VOLUME_SIZE = 20 * MIB
DEFAULT_AGGREGATE_SIZE = 1024**4

DEFAULT_INVENTORY: Mapping[str, Any] = {
    "cluster": {"name": "cluster1", "version": "9.15.1"},
    "svms": [{"name": "vs0"}],
    "aggregates": [{"name": "aggr1"}],
    "volumes": [],
    "snapshots": [],
}

#: Namespace of the uuids derived from names, so ``vs0`` has the same uuid in every run.
_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/")
_RELEASE_DATE = "Mon Jun 03 12:00:00 UTC 2024"

# fmt: off
_LANGUAGE_BASES = (
    "c", "ar", "cs", "da", "de", "en", "en_us", "es", "fi", "fr", "he", "hr", "hu", "it", "ja",
    "ja_jp.pck", "ja_jp.932", "ja_jp.pck_v2", "ja_v1", "ko", "nl", "no", "pl", "pt", "ro", "ru",
    "sk", "sl", "sv", "tr", "zh", "zh.gbk", "zh_tw", "zh_tw.big5",
)
# fmt: on
#: ONTAP's language codes, for volumes and SVMs.
_LANGUAGES = frozenset(b + s for b in _LANGUAGE_BASES for s in ("", ".utf_8")) | {"utf8mb4"}

_VOLUME_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,202}")
_SNAPSHOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,254}")
_SVM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,46}")
_AGGREGATE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_CLUSTER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,43}")
_VERSION = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})")
_DIGITS = re.compile(r"[0-9]{1,19}")
_PERMISSION_BITS = re.compile(r"[0-7]{1,4}")


# -- records' shapes --------------------------------------------------------------------
def leaf_names(example: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every leaf of ``example``; lists of objects are entered."""
    names: list[str] = []
    for key, value in example.items():
        dotted = prefix + key
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            value = value[0]
        if isinstance(value, Mapping) and value:
            names.extend(leaf_names(value, dotted + "."))
        else:
            names.append(dotted)
    return names


def _links(href: str) -> Record:
    return {"self": {"href": href}}


@functools.cache
def schema_fields(resource: str) -> tuple[str, ...]:
    """Every field a GET of ``resource`` can show, from the compiled declaration (one place:
    ``fields``, filters and ``order_by`` take any of them; a record without a value for one
    matches no filter on it, as on ONTAP)."""
    fields = load_spec().resources[resource].fields
    return tuple(name for name, field in fields.items() if field.get)


_SINGLETON_PARAMS = RECORD_PARAMS | {"max_records"}
#: The kinds of path whose writes :meth:`_State.plan_platform` answers, with their resource.
_PLATFORM_KINDS = {
    "cluster": "Cluster",
    "nodes": "Node",
    "node": "Node",
    "software": "Software",
    "aggregates": "Aggregate",
    "aggregate": "Aggregate",
}


# -- request bodies ---------------------------------------------------------------------
def _string(*, min_len: int = 0, max_len: int | None = None) -> Validator:
    def check(value: Any, target: str) -> str:
        if not isinstance(value, str):
            raise invalid(target, value, "expected a string")
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            limits = f"{min_len}..{max_len}" if max_len is not None else f"{min_len}.."
            raise invalid(target, value, f"expected <{limits}> characters")
        return value

    return check


def _choice(*choices: str, expected: str = "") -> Validator:
    def check(value: Any, target: str) -> str:
        if not isinstance(value, str) or value not in choices:
            raise invalid(target, value, expected or "expected one of " + "|".join(choices))
        return value

    return check


def _boolean(value: Any, target: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(target, value, "expected true or false")
    return value


def _integer(low: int, high: int | None = None) -> Validator:
    def check(value: Any, target: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(target, value, "expected an integer")
        if value < low or (high is not None and value > high):
            limits = f"<{low}..{high}>" if high is not None else f"<{low}..>"
            raise invalid(target, value, f"expected {limits}")
        return value

    return check


def _size(value: Any, target: str) -> int:
    size: int = _integer(0)(value, target)
    if size < MIN_VOLUME_SIZE:
        raise bad_value(
            target,
            f'The value {size} is invalid for field "{target}": the minimum volume size '
            f"is {MIN_VOLUME_SIZE} bytes (20MB).",
        )
    return size


def _named(pattern: re.Pattern[str], what: str, rule: str) -> Validator:
    def check(value: Any, target: str) -> str:
        if not isinstance(value, str):
            raise invalid(target, value, "expected a string")
        if not pattern.fullmatch(value):
            raise bad_value(target, f"Invalid {what} name {show(value)}: {rule}.")
        return value

    return check


_volume_name = _named(
    _VOLUME_NAME,
    "volume",
    'names are 1 to 203 characters: letters, digits and "_", starting with a letter or "_"',
)
_snapshot_name = _named(
    _SNAPSHOT_NAME,
    "snapshot",
    'names are 1 to 255 characters: letters, digits, "_", "-" and ".", '
    'starting with a letter or "_"',
)
_svm_name = _named(
    _SVM_NAME,
    "SVM",
    'names are 1 to 47 characters: letters, digits, "_", "-" and ".", '
    'starting with a letter or "_"',
)


def _permission_triplet(text: str) -> int:
    return (
        (4 if text[0] == "r" else 0) + (2 if text[1] == "w" else 0) + (1 if text[2] in "xst" else 0)
    )


def _unix_permissions(value: Any, target: str) -> int:
    """ONTAP's ``nas.unix_permissions``: 755 as an integer, "755"/"0755", or "---rwxr-xr-x".

    The value is the octal digits read as a decimal integer, as ONTAP shows it.
    """
    expected = 'expected octal digits such as 755, "0755" or "---rwxr-xr-x"'
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or not _PERMISSION_BITS.fullmatch(str(value)):
            raise invalid(target, value, expected)
        return value
    if not isinstance(value, str):
        raise invalid(target, value, expected)
    if _PERMISSION_BITS.fullmatch(value):
        return int(value, 10)
    symbolic = re.fullmatch(r"([-s][-s][-t])?((?:[-r][-w][-xst]){3})", value)
    if symbolic is None:
        raise invalid(target, value, expected)
    special_text, modes = symbolic.group(1) or "---", symbolic.group(2)
    special = (4 if special_text[0] == "s" else 0) + (2 if special_text[1] == "s" else 0)
    special += 1 if special_text[2] == "t" else 0
    digits = [special] + [_permission_triplet(modes[i : i + 3]) for i in (0, 3, 6)]
    return int("".join(str(d) for d in digits), 10)


def _junction(value: Any, target: str) -> str:
    path: str = _string(max_len=255)(value, target)
    if path and not path.startswith("/"):
        raise invalid(target, value, 'expected "" or a path starting with "/"')
    return path


def _timestamp(value: Any, target: str) -> str:
    text: str = _string(min_len=1)(value, target)
    try:
        datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise invalid(target, value, "expected an ISO 8601 date-time") from None
    return text


def _max_volumes(value: Any, target: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and (value == "unlimited" or _DIGITS.fullmatch(value)):
        return value
    raise invalid(target, value, 'expected "unlimited" or a number of volumes')


def _tags(value: Any, target: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise invalid(target, value, 'expected a list of "key:value" strings')
    return list(value)


def _references(value: Any, target: str) -> list[Record]:
    """A list of ``{"name"}`` and/or ``{"uuid"}`` objects (aggregates of a volume or SVM)."""
    if not isinstance(value, list):
        raise invalid(target, value, "expected a list of objects with name or uuid")
    out: list[Record] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise invalid(target, value, "expected a list of objects with name or uuid")
        out.append(_check_body(item, _REFERENCE, target + "."))
        if not out[-1]:
            raise bad_value(f"{target}.name", f'Each of "{target}" needs a name or a uuid.')
    return out


_nonempty = _string(min_len=1)
_language = _choice(*sorted(_LANGUAGES), expected="expected a language code such as c.utf_8")
_REFERENCE: Schema = {"name": _nonempty, "uuid": _nonempty}
_VOLUME_SCHEMA: Schema = {
    "name": _volume_name,
    "svm": _REFERENCE,
    "aggregates": _references,
    "size": _size,
    "comment": _string(max_len=1023),
    "state": _choice("online", "offline", "restricted"),
    "type": _choice("rw", "dp"),
    "style": _choice("flexvol", "flexgroup"),
    "language": _language,
    "nas": {
        "path": _junction,
        "security_style": _choice("unix", "ntfs", "mixed", "unified"),
        "unix_permissions": _unix_permissions,
        "uid": _integer(0, 2**32 - 1),
        "gid": _integer(0, 2**32 - 1),
        "export_policy": {"name": _nonempty},
    },
    "guarantee": {"type": _choice("volume", "none")},
    "snapshot_policy": {"name": _nonempty},
    "space": {
        "size": _size,
        "snapshot": {"reserve_percent": _integer(0, 90)},
        "logical_space": {"enforcement": _boolean, "reporting": _boolean},
    },
    "efficiency": {
        "compression": _choice("none", "inline", "background", "both", "auto"),
        "dedupe": _choice("none", "inline", "background", "both"),
        "policy": {"name": _nonempty},
    },
    "tiering": {
        "policy": _choice("all", "auto", "backup", "none", "snapshot_only"),
        "min_cooling_days": _integer(2, 183),
        "object_tags": _tags,
    },
    "autosize": {"mode": _choice("grow", "grow_shrink", "off")},
    "qos": {"policy": {"name": _nonempty}},
    "encryption": {"enabled": _boolean},
    "files": {"maximum": _integer(0)},
    "snaplock": {"type": _choice("non_snaplock", "compliance", "enterprise")},
    "analytics": {"state": _choice("on", "off")},
    "_tags": _tags,
}
_VOLUME_POST = dict(_VOLUME_SCHEMA)
_VOLUME_PATCH = {k: v for k, v in _VOLUME_SCHEMA.items() if k not in ("style", "snaplock")}
_VOLUME_PATCH["movement"] = {"destination_aggregate": _REFERENCE}
_VOLUME_PATCH["restore_to"] = {"snapshot": _REFERENCE}
# Quotas on or off (netapp-ontap's Volume docs: PATCH '{"quota.enabled": "true"}').
_VOLUME_PATCH["quota"] = {"enabled": _boolean}

_SNAPSHOT_PATCH: Schema = {
    "name": _snapshot_name,
    "comment": _string(max_len=255),
    "expiry_time": _timestamp,
}
_SNAPSHOT_POST: Schema = {**_SNAPSHOT_PATCH, "volume": _REFERENCE, "svm": _REFERENCE}

_PROTOCOLS = ("nfs", "cifs", "iscsi", "fcp", "nvme", "s3")
_PROTOCOL: Schema = {"enabled": _boolean, "allowed": _boolean}
_SVM_SCHEMA: Schema = {
    "name": _svm_name,
    "comment": _string(max_len=255),
    "state": _choice("running", "stopped"),
    "subtype": _choice("default", "dp_destination", "sync_source", "sync_destination"),
    "language": _language,
    "aggregates": _references,
    "ipspace": {"name": _nonempty},
    "snapshot_policy": {"name": _nonempty},
    "nfs": _PROTOCOL,
    "cifs": _PROTOCOL,
    "iscsi": _PROTOCOL,
    "fcp": _PROTOCOL,
    "nvme": _PROTOCOL,
    "s3": _PROTOCOL,
    "ndmp": {"allowed": _boolean},
    "max_volumes": _max_volumes,
    "auto_enable_analytics": _boolean,
    "auto_enable_activity_tracking": _boolean,
    "storage": {"limit": _integer(0), "limit_threshold_alert": _integer(0, 100)},
}


def _check_body(
    body: Mapping[str, Any], schema: Schema, prefix: str = "", known: Iterable[str] = ()
) -> Record:
    """Validate ``body`` (already expanded) against ``schema``; return normalised values."""
    known_names = tuple(known)
    out: Record = {}
    for key, value in body.items():
        dotted = prefix + key
        spec = schema.get(key)
        if spec is None:
            raise refused_field(dotted, known_names)
        if isinstance(spec, Mapping):
            if isinstance(value, str) and "name" in spec:
                # A bare string names a named reference: ONTAP takes "ipspace": "Default" for
                # {"name": "Default"} (INFERRED from netapp.ontap's na_ontap_svm, whose REST
                # bodies send ipspace and snapshot_policy so to real clusters).
                value = {"name": value}
            if not isinstance(value, Mapping):
                raise invalid(dotted, value, "expected an object")
            out[key] = _check_body(value, spec, dotted + ".", known_names)
        else:
            out[key] = spec(value, dotted)
    return out


def _dig(record: Mapping[str, Any], dotted: str) -> Any:
    current: Any = record
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _pop(record: Record, dotted: str) -> Any:
    """Remove and return the value at ``dotted``, pruning objects it leaves empty."""
    head, _, rest = dotted.partition(".")
    if head not in record:
        return None
    if not rest:
        return record.pop(head)
    child = record[head]
    if not isinstance(child, dict):
        return None
    value = _pop(child, rest)
    if not child:
        del record[head]
    return value


def _body_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise bad_value("body", "The request body must be a JSON object.")
    return body


def _check_write_params(params: Mapping[str, str], allowed: Iterable[str]) -> None:
    allowed_set = {"return_timeout", "return_records", *allowed}
    for key in params:
        if key not in allowed_set:
            raise unexpected_argument(key, status=404)
    parse_bool(params, "return_records", False)
    method = params.get("sizing_method")
    if method is not None and method not in ("use_existing_resources", "add_new_resources"):
        raise ApiError(
            400,
            "262197",
            f'The value "{method}" is invalid for field "sizing_method" '
            "(<use_existing_resources|add_new_resources>)",
            "sizing_method",
        )


def _derived_uuid(kind: str, *names: str) -> str:
    return str(uuidlib.uuid5(_NAMESPACE, "/".join((kind, *names))))


_GONE = ("entry doesn't exist", 4)
_DUPLICATE = ("duplicate entry", 1)


# -- the state --------------------------------------------------------------------------
class _State:
    """One generation of the inventory. ``reset`` and ``load`` replace it, which makes the
    effects of jobs planned against the old one fail instead of touching the new one."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.live = True
        #: Why a deep record (resource name, uuid) is held by a record of another model
        #: (a LUN holds its volume), as the error to answer; set by the Simulator.
        self.holder: Callable[[str, str], ApiError | None] = lambda kind, uuid: None
        #: Told (resource name, uuid) when a deep record is deleted, so that records of
        #: another model that go with it go too (an unmapped LUN with its volume).
        self.released: Callable[[str, str], None] = lambda kind, uuid: None
        self.cluster: Record = {}
        #: Node names, in order; a cluster without any listed has one, ``<cluster>-01``.
        self.nodes: list[str] = []
        self.aggregates: dict[str, Record] = {}
        self.svms: dict[str, Record] = {}
        self.volumes: dict[str, Record] = {}
        self.snapshots: dict[str, Record] = {}
        #: Fields of the cluster, its node, software and aggregates that clients set and the
        #: model keeps as given (location, contact, ...), by (kind, uuid): never dropped.
        self.extra: dict[tuple[str, str], Record] = {}

    # -- lookups -----------------------------------------------------------------------
    def node(self, name: str | None = None) -> Record:
        """The node first named ``name`` (the first node when None), as a reference."""
        name = name or (self.nodes[0] if self.nodes else f"{self.cluster['name']}-01")
        node_uuid = _derived_uuid("node", name)
        renamed = self.extra.get(("node", node_uuid), {}).get("name")
        return {"name": renamed or name, "uuid": node_uuid}

    def all_nodes(self) -> list[Record]:
        names: list[str | None] = [*self.nodes] or [None]
        return [self.node(name) for name in names]

    def with_extra(self, kind: str, key: str, record: Record) -> Record:
        """``record`` with the fields clients set on it that the model keeps as given."""
        extra = self.extra.get((kind, key))
        if extra:
            deep_merge(record, extra)
        return record

    def svm_ref(self, svm_uuid: str) -> Record:
        return {
            "name": self.svms[svm_uuid]["name"],
            "uuid": svm_uuid,
            "_links": _links(f"/api/svm/svms/{svm_uuid}"),
        }

    def volume_ref(self, volume_uuid: str) -> Record:
        return {
            "name": self.volumes[volume_uuid]["name"],
            "uuid": volume_uuid,
            "_links": _links(f"/api/storage/volumes/{volume_uuid}"),
        }

    def svm_named(self, name: str) -> str | None:
        return next((u for u, s in self.svms.items() if s["name"] == name), None)

    def volume_named(self, svm_uuid: str, name: str, *, besides: str | None = None) -> bool:
        return any(
            v["svm"]["uuid"] == svm_uuid and v["name"] == name and u != besides
            for u, v in self.volumes.items()
        )

    def snapshot_named(self, volume_uuid: str, name: str, *, besides: str | None = None) -> bool:
        return any(
            s["volume"]["uuid"] == volume_uuid and s["name"] == name and u != besides
            for u, s in self.snapshots.items()
        )

    def resolve(
        self, table: Mapping[str, Record], ref: Mapping[str, Any], target: str, what: str
    ) -> str:
        """The uuid a ``{"name"}``/``{"uuid"}`` reference names, or 400 naming the value."""
        name, ref_uuid = ref.get("name"), ref.get("uuid")
        if ref_uuid is not None:
            if ref_uuid not in table:
                raise bad_value(f"{target}.uuid", f'{what} with uuid "{ref_uuid}" does not exist.')
            if name is not None and table[ref_uuid]["name"] != name:
                raise bad_value(
                    f"{target}.name", f'{what} "{name}" does not have uuid "{ref_uuid}".'
                )
            return str(ref_uuid)
        found = next((u for u, r in table.items() if r["name"] == name), None)
        if found is None:
            raise bad_value(f"{target}.name", f'{what} "{name}" does not exist.')
        return found

    def aggregate_uuids(self, refs: list[Record], target: str) -> list[Record]:
        return [{"uuid": self.resolve(self.aggregates, ref, target, "Aggregate")} for ref in refs]

    # -- rendering ---------------------------------------------------------------------
    def render_aggregate(self, aggr_uuid: str) -> Record:
        stored = self.aggregates[aggr_uuid]
        size = stored["size"]
        used = sum(
            v["size"]
            for v in self.volumes.values()
            if v["guarantee"]["type"] == "volume"
            and v["aggregates"]
            and v["aggregates"][0]["uuid"] == aggr_uuid
        )
        used = min(used, size)
        node = self.node(stored.get("node"))
        return {
            "uuid": aggr_uuid,
            "name": stored["name"],
            "node": {**node, "_links": _links(f"/api/cluster/nodes/{node['uuid']}")},
            "space": {"block_storage": {"size": size, "available": size - used, "used": used}},
            "state": "online",
            **self.with_extra("aggregate", aggr_uuid, {}),
            "_links": _links(f"/api/storage/aggregates/{aggr_uuid}"),
        }

    def render_volume(self, volume_uuid: str) -> Record:
        record = copy.deepcopy(self.volumes[volume_uuid])
        size = record["size"]
        reserve = record["space"]["snapshot"]["reserve_percent"]
        record["svm"] = self.svm_ref(record["svm"]["uuid"])
        record["aggregates"] = [
            {"name": self.aggregates[a["uuid"]]["name"], "uuid": a["uuid"]}
            for a in record["aggregates"]
        ]
        available = size - size * reserve // 100
        record["space"] = {"size": size, "available": available, "used": 0, **record["space"]}
        files = record.setdefault("files", {})
        files.setdefault("maximum", max(size // 32768, 1))
        files["used"] = 96
        record["quota"] = {"state": "on" if record.pop("quota", {}).get("enabled") else "off"}
        record["_links"] = _links(f"/api/storage/volumes/{volume_uuid}")
        return record

    def render_snapshot(self, snapshot_uuid: str) -> Record:
        record = copy.deepcopy(self.snapshots[snapshot_uuid])
        volume_uuid = record["volume"]["uuid"]
        record["volume"] = self.volume_ref(volume_uuid)
        record["svm"] = self.svm_ref(self.volumes[volume_uuid]["svm"]["uuid"])
        record["_links"] = _links(f"/api/storage/volumes/{volume_uuid}/snapshots/{snapshot_uuid}")
        return record

    def render_svm(self, svm_uuid: str) -> Record:
        record = copy.deepcopy(self.svms[svm_uuid])
        record["aggregates"] = [
            {"name": self.aggregates[a["uuid"]]["name"], "uuid": a["uuid"]}
            for a in record["aggregates"]
        ]
        record["_links"] = _links(f"/api/svm/svms/{svm_uuid}")
        return record

    def version(self) -> Record:
        text = self.cluster["version"]
        generation, major, minor = (int(p) for p in text.split("."))
        return {
            "full": f"NetApp Release {text}: {_RELEASE_DATE}",
            "generation": generation,
            "major": major,
            "minor": minor,
        }

    def render_cluster(self) -> Record:
        record = {"name": self.cluster["name"], "uuid": self.cluster["uuid"]}
        record["version"] = self.version()
        return {**self.with_extra("cluster", "", record), "_links": _links("/api/cluster")}

    def render_nodes(self) -> list[Record]:
        names: list[str | None] = [*self.nodes] or [None]
        return [self.render_node(name) for name in names]

    def render_node(self, name: str | None = None) -> Record:
        node = self.node(name)
        return {
            **node,
            "version": self.version(),
            "model": "SIMBOX",
            "serial_number": "4082368-50-7",
            "state": "up",
            "membership": "member",
            **self.with_extra("node", node["uuid"], {}),
            "name": node["name"],
            "_links": _links(f"/api/cluster/nodes/{node['uuid']}"),
        }

    def render_software(self) -> Record:
        version = self.cluster["version"]
        return {
            "version": version,
            "nodes": [{"name": n["name"], "version": version} for n in self.all_nodes()],
            "state": "completed",
            "elapsed_duration": 0,
            "estimated_duration": 0,
            **self.with_extra("software", "", {}),
            "_links": _links("/api/cluster/software"),
        }

    # -- the cluster, its node, software and aggregates --------------------------------
    def plan_platform(
        self,
        kind: str,
        method: str,
        path: str,
        ids: tuple[str, ...],
        raw: Mapping[str, Any] | None,
        params: Mapping[str, str],
        lock: threading.RLock,
    ) -> WritePlan:
        """Writes on the cluster, its node, its software and aggregates.

        Bodies are checked against the declaration; what the model derives (names, the
        version, sizes) changes it, every other field is kept as given and read back.
        """
        node = next((n for n in self.all_nodes() if ids and n["uuid"] == ids[0]), self.node())
        if kind == "node" and ids[0] != node["uuid"]:
            raise not_found("uuid")
        if kind == "aggregate" and ids[0] not in self.aggregates:
            raise not_found("uuid")
        _check_write_params(params, ())
        description = f"{method} {path}"
        if method == "DELETE":
            if raw:
                raise bad_value("body", "A DELETE takes no request body.")
            if kind == "node":
                # INFERRED: the simulated cluster has one node, and ONTAP keeps a node that
                # holds the cluster's aggregates and root volume.
                raise ApiError(
                    409,
                    "1",
                    f'Cannot remove node "{node["name"]}": it is the '
                    "cluster's only node and holds its aggregates.",
                    "uuid",
                )
            return self._plan_aggregate_delete(ids[0], description, lock)
        resource = _PLATFORM_KINDS[kind]
        body = check_body(
            load_spec().resources[resource],
            _body_object(raw or {}),
            "post" if method == "POST" else "patch",
        )
        if kind == "cluster" and method == "POST":
            # INFERRED: ONTAP creates a cluster only on nodes that are not in one.
            raise ApiError(409, "1", f'The cluster "{self.cluster["name"]}" is already set up.')
        if kind == "nodes":
            # INFERRED: adding a node needs a node that is not in the cluster; none is.
            raise ApiError(400, "2", "There is no node outside the cluster to add.", "name")
        if kind == "aggregates":
            return self._plan_aggregate_post(body, description, lock)
        key = {"node": node["uuid"], "aggregate": ids[0] if ids else ""}.get(kind, "")
        name = body.get("name")
        if kind == "cluster" and name is not None and not _CLUSTER_NAME.fullmatch(name):
            raise invalid("name", name, "a cluster name: a letter, then letters, digits, _ . -")
        if kind == "aggregate" and name is not None:
            if not _AGGREGATE_NAME.fullmatch(name):
                raise invalid("name", name, "letters, digits and _, starting with a letter or _")
            if any(a["name"] == name for u, a in self.aggregates.items() if u != key):
                raise duplicate("name", f'duplicate entry: aggregate "{name}" already exists.')
        version = body.get("version")
        if kind == "software" and version is not None and not _VERSION.fullmatch(version):
            raise invalid("version", version, 'a version like "9.16.1"')

        def apply() -> None:
            if kind == "aggregate" and key not in self.aggregates:
                raise EffectError(*_GONE)
            changes = copy.deepcopy(body)
            if kind == "cluster" and "name" in changes:
                self.cluster["name"] = changes.pop("name")
            if kind == "aggregate" and "name" in changes:
                self.aggregates[key]["name"] = changes.pop("name")
            if kind == "software" and "version" in changes:
                self.cluster["version"] = changes.pop("version")  # the upgrade, at once
            deep_merge(self.extra.setdefault((kind, key), {}), changes)

        return WritePlan(description, self.effect(lock, apply), None, None, 200)

    def _plan_aggregate_post(
        self, body: Record, description: str, lock: threading.RLock
    ) -> WritePlan:
        name = body.get("name")
        if name is None:
            raise bad_value("name", 'Missing value for required field "name".')
        if not _AGGREGATE_NAME.fullmatch(name):
            raise invalid("name", name, "letters, digits and _, starting with a letter or _")
        if any(a["name"] == name for a in self.aggregates.values()):
            raise duplicate("name", f'duplicate entry: aggregate "{name}" already exists.')
        wanted = body.pop("node", None) or {}
        node = next(
            (
                n
                for n in self.all_nodes()
                if all(wanted.get(k) in (None, n[k]) for k in ("name", "uuid"))
            ),
            None,
        )
        if node is None:
            shown = wanted.get("name") or wanted.get("uuid")
            raise bad_value("node.name", f'Node "{shown}" does not exist.')
        base = next((b for b in self.nodes if _derived_uuid("node", b) == node["uuid"]), None)
        aggr_uuid = str(uuidlib.uuid4())

        def apply() -> None:
            if any(a["name"] == name for a in self.aggregates.values()):
                raise EffectError(*_DUPLICATE)
            self.aggregates[aggr_uuid] = {
                "uuid": aggr_uuid,
                "name": name,
                "size": DEFAULT_AGGREGATE_SIZE,
                "node": base,
            }
            extra = {k: v for k, v in body.items() if k != "name"}
            if extra:
                self.extra[("aggregate", aggr_uuid)] = copy.deepcopy(extra)

        location = "/api/storage/aggregates/" + aggr_uuid
        return WritePlan(description, self.effect(lock, apply), location, None, 201)

    def _plan_aggregate_delete(
        self, aggr_uuid: str, description: str, lock: threading.RLock
    ) -> WritePlan:
        def holding() -> str | None:
            name = self.aggregates[aggr_uuid]["name"]
            if any(a["uuid"] == aggr_uuid for v in self.volumes.values() for a in v["aggregates"]):
                # INFERRED code: ONTAP refuses to delete an aggregate that holds volumes.
                return f'Cannot delete aggregate "{name}" because it contains volumes.'
            return None

        reason = holding()
        if reason is not None:
            raise ApiError(409, "1", reason, "uuid")

        def apply() -> None:
            if aggr_uuid not in self.aggregates:
                raise EffectError(*_GONE)
            again = holding()
            if again is not None:
                raise EffectError(again, 1)
            del self.aggregates[aggr_uuid]
            self.extra.pop(("aggregate", aggr_uuid), None)
            for svm in self.svms.values():
                svm["aggregates"] = [a for a in svm["aggregates"] if a["uuid"] != aggr_uuid]

        return WritePlan(description, self.effect(lock, apply), None, None, 200)

    # -- record lookups for requests ---------------------------------------------------
    def volume_uuid(self, volume_uuid: str) -> str:
        if volume_uuid not in self.volumes:
            raise not_found("uuid")
        return volume_uuid

    def snapshot_uuid(self, volume_uuid: str, snapshot_uuid: str) -> str:
        self.volume_uuid(volume_uuid)
        snapshot = self.snapshots.get(snapshot_uuid)
        if snapshot is None or snapshot["volume"]["uuid"] != volume_uuid:
            raise not_found("uuid")
        return snapshot_uuid

    def svm_uuid(self, svm_uuid: str) -> str:
        if svm_uuid not in self.svms:
            raise not_found("uuid")
        return svm_uuid

    # -- effects -----------------------------------------------------------------------
    def effect(self, lock: threading.RLock, apply: Callable[[], None]) -> Callable[[], None]:
        """Wrap ``apply`` so it runs under ``lock`` and only on this generation's state."""

        def run() -> None:
            with lock:
                if not self.live:
                    raise EffectError(*_GONE)
                apply()

        return run

    def write_plan(
        self,
        description: str,
        apply: Callable[[], None],
        lock: threading.RLock,
        svm_uuid: str,
        *,
        location: str | None = None,
    ) -> WritePlan:
        """The plan of a write on an object of SVM ``svm_uuid``: 201 with a Location for a
        POST that creates, 200 otherwise."""
        return WritePlan(
            description=description,
            effect=self.effect(lock, apply),
            location=location,
            svm=self.svm_ref(svm_uuid),
            success_status=201 if location is not None else 200,
        )

    def patch_plan(
        self,
        description: str,
        table: dict[str, Record],
        record_uuid: str,
        body: Record,
        lock: threading.RLock,
        svm_uuid: str,
        *,
        name_taken: Callable[[str], str | None],
        also_needed: Callable[[], bool] = lambda: True,
    ) -> WritePlan:
        """Plan a PATCH of ``table[record_uuid]`` with ``body``.

        ``name_taken(name)`` says why a rename to ``name`` is refused (a duplicate), or None;
        it is checked now and again when the job applies the change, as ONTAP does.
        """
        new_name = body.get("name")
        why = name_taken(new_name) if new_name is not None else None
        if why is not None:
            raise duplicate("name", why)

        def apply() -> None:
            if record_uuid not in table or not also_needed():
                raise EffectError(*_GONE)
            if new_name is not None and name_taken(new_name) is not None:
                raise EffectError(*_DUPLICATE)
            deep_merge(table[record_uuid], body)

        return self.write_plan(description, apply, lock, svm_uuid)

    # -- volumes -----------------------------------------------------------------------
    def plan_volume_post(
        self, raw: Mapping[str, Any], lock: threading.RLock, new_uuid: str | None = None
    ) -> WritePlan:
        body = _check_body(raw, _VOLUME_POST, known=schema_fields("Volume"))
        name = body.get("name")
        if name is None:
            raise bad_value("name", 'Missing value for required field "name".')
        svm_ref = body.pop("svm", None)
        if not svm_ref:
            raise bad_value("svm.name", 'Missing value for required field "svm.name".')
        svm_uuid = self.resolve(self.svms, svm_ref, "svm", "SVM")
        # Required, as netapp-ontap's Volume.post documents ("aggregates.name or
        # aggregates.uuid"); a FlexGroup may name several.
        if "aggregates" not in body:
            raise bad_value("aggregates", 'Missing value for required field "aggregates".')
        if not body["aggregates"]:
            raise bad_value("aggregates", 'Field "aggregates" needs at least one aggregate.')
        aggregates = self.aggregate_uuids(body.pop("aggregates"), "aggregates")
        self._merge_sizes(body)
        if self.volume_named(svm_uuid, name):
            raise duplicate(
                "name",
                f'duplicate entry: volume "{name}" already exists in SVM '
                f'"{self.svms[svm_uuid]["name"]}".',
            )
        volume_uuid = new_uuid or str(uuidlib.uuid4())
        record: Record = {
            "uuid": volume_uuid,
            "name": name,
            "svm": {"uuid": svm_uuid},
            "aggregates": aggregates,
            "size": MIN_VOLUME_SIZE,
            "state": "online",
            "type": "rw",
            "style": "flexvol",
            "language": self.svms[svm_uuid]["language"],
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
        deep_merge(record, body)

        def apply() -> None:
            if svm_uuid not in self.svms or any(
                a["uuid"] not in self.aggregates for a in aggregates
            ):
                raise EffectError(*_GONE)
            if self.volume_named(svm_uuid, name):
                raise EffectError(*_DUPLICATE)
            created = copy.deepcopy(record)
            created["create_time"] = iso(self.clock.now())
            self.volumes[volume_uuid] = created

        return self.write_plan(
            "POST /api/storage/volumes",
            apply,
            lock,
            svm_uuid,
            location="/api/storage/volumes/?" + urlencode({"name": name}),
        )

    @staticmethod
    def _merge_sizes(body: Record) -> None:
        """Fold ``space.size`` into ``size`` (ONTAP keeps them equal); both given must agree."""
        space_size = _pop(body, "space.size")
        if space_size is None:
            return
        if "size" in body and body["size"] != space_size:
            raise bad_value("space.size", 'Fields "size" and "space.size" must be equal.')
        body["size"] = space_size

    def plan_volume_patch(
        self,
        volume_uuid: str,
        raw: Mapping[str, Any],
        params: Mapping[str, str],
        lock: threading.RLock,
    ) -> WritePlan:
        current = self.volumes[volume_uuid]
        svm_uuid = current["svm"]["uuid"]
        body = _check_body(raw, _VOLUME_PATCH, known=schema_fields("Volume"))
        svm_ref = body.pop("svm", None)
        if svm_ref:
            target = "svm.uuid" if "uuid" in svm_ref else "svm.name"
            same = (
                svm_ref.get("uuid", svm_uuid) == svm_uuid
                and svm_ref.get("name", self.svms[svm_uuid]["name"]) == self.svms[svm_uuid]["name"]
            )
            if not same:
                raise bad_value(target, "The SVM of a volume cannot be modified.")
        if "type" in body and body.pop("type") != current["type"]:
            raise bad_value("type", 'Field "type" cannot be modified.')
        if "aggregates" in body:
            if not body["aggregates"]:
                raise bad_value("aggregates", 'Field "aggregates" needs at least one aggregate.')
            body["aggregates"] = self.aggregate_uuids(body["aggregates"], "aggregates")
        destination = _pop(body, "movement.destination_aggregate")
        if destination:
            aggr = self.resolve(
                self.aggregates, destination, "movement.destination_aggregate", "Aggregate"
            )
            body["aggregates"] = [{"uuid": aggr}]
        restore_refs = [_pop(body, "restore_to.snapshot") or {}]
        restore_refs.append(
            {
                k: v
                for k, v in (
                    ("name", params.get("restore_to.snapshot.name")),
                    ("uuid", params.get("restore_to.snapshot.uuid")),
                )
                if v is not None
            }
        )
        restore = [self._snapshot_in(volume_uuid, ref) for ref in restore_refs if ref]
        self._merge_sizes(body)

        def name_taken(name: str) -> str | None:
            if not self.volume_named(svm_uuid, name, besides=volume_uuid):
                return None
            return (
                f'duplicate entry: volume "{name}" already exists in SVM '
                f'"{self.svms[svm_uuid]["name"]}".'
            )

        return self.patch_plan(
            f"PATCH /api/storage/volumes/{volume_uuid}",
            self.volumes,
            volume_uuid,
            body,
            lock,
            svm_uuid,
            name_taken=name_taken,
            also_needed=lambda: all(s in self.snapshots for s in restore),
        )

    def _snapshot_in(self, volume_uuid: str, ref: Mapping[str, Any]) -> str:
        """The uuid of the snapshot ``ref`` names in the volume (for ``restore_to``)."""
        candidates = {u: s for u, s in self.snapshots.items() if s["volume"]["uuid"] == volume_uuid}
        return self.resolve(candidates, ref, "restore_to.snapshot", "Snapshot")

    def plan_volume_delete(self, volume_uuid: str, lock: threading.RLock) -> WritePlan:
        svm_uuid = self.volumes[volume_uuid]["svm"]["uuid"]
        refusal = self.holder("Volume", volume_uuid)
        if refusal is not None:
            raise refusal

        def apply() -> None:
            if volume_uuid not in self.volumes:
                raise EffectError(*_GONE)
            held = self.holder("Volume", volume_uuid)
            if held is not None:
                raise EffectError(held.message, int(held.code))
            del self.volumes[volume_uuid]
            for snapshot_uuid in [
                u for u, s in self.snapshots.items() if s["volume"]["uuid"] == volume_uuid
            ]:
                del self.snapshots[snapshot_uuid]
            self.released("Volume", volume_uuid)

        return self.write_plan(f"DELETE /api/storage/volumes/{volume_uuid}", apply, lock, svm_uuid)

    # -- snapshots ---------------------------------------------------------------------
    def plan_snapshot_post(
        self,
        volume_uuid: str,
        raw: Mapping[str, Any],
        lock: threading.RLock,
        new_uuid: str | None = None,
    ) -> WritePlan:
        body = _check_body(raw, _SNAPSHOT_POST, known=schema_fields("Snapshot"))
        volume = self.volumes[volume_uuid]
        svm_uuid = volume["svm"]["uuid"]
        for field, table, expected in (
            ("volume", self.volumes, volume_uuid),
            ("svm", self.svms, svm_uuid),
        ):
            ref = body.pop(field, None)
            if ref and self.resolve(table, ref, field, field.upper()) != expected:
                raise bad_value(
                    f"{field}.{'uuid' if 'uuid' in ref else 'name'}",
                    f'Field "{field}" does not match the volume in the request path.',
                )
        name = body.get("name")
        if name is None:
            raise bad_value("name", 'Missing value for required field "name".')
        if self.snapshot_named(volume_uuid, name):
            raise duplicate(
                "name",
                f'duplicate entry: snapshot "{name}" already exists in volume "{volume["name"]}".',
            )
        snapshot_uuid = new_uuid or str(uuidlib.uuid4())

        def apply() -> None:
            if volume_uuid not in self.volumes:
                raise EffectError(*_GONE)
            if self.snapshot_named(volume_uuid, name):
                raise EffectError(*_DUPLICATE)
            record: Record = {
                "uuid": snapshot_uuid,
                "name": name,
                "volume": {"uuid": volume_uuid},
                "create_time": iso(self.clock.now()),
                "state": "valid",
                "size": 0,
            }
            deep_merge(record, body)
            self.snapshots[snapshot_uuid] = record

        href = f"/api/storage/volumes/{volume_uuid}/snapshots"
        return self.write_plan(
            f"POST {href}", apply, lock, svm_uuid, location=f"{href}/?" + urlencode({"name": name})
        )

    def plan_snapshot_patch(
        self, volume_uuid: str, snapshot_uuid: str, raw: Mapping[str, Any], lock: threading.RLock
    ) -> WritePlan:
        body = _check_body(raw, _SNAPSHOT_PATCH, known=schema_fields("Snapshot"))

        def name_taken(name: str) -> str | None:
            if not self.snapshot_named(volume_uuid, name, besides=snapshot_uuid):
                return None
            return (
                f'duplicate entry: snapshot "{name}" already exists in volume '
                f'"{self.volumes[volume_uuid]["name"]}".'
            )

        return self.patch_plan(
            f"PATCH /api/storage/volumes/{volume_uuid}/snapshots/{snapshot_uuid}",
            self.snapshots,
            snapshot_uuid,
            body,
            lock,
            self.volumes[volume_uuid]["svm"]["uuid"],
            name_taken=name_taken,
        )

    def plan_snapshot_delete(
        self, volume_uuid: str, snapshot_uuid: str, lock: threading.RLock
    ) -> WritePlan:
        def apply() -> None:
            if snapshot_uuid not in self.snapshots:
                raise EffectError(*_GONE)
            del self.snapshots[snapshot_uuid]

        return self.write_plan(
            f"DELETE /api/storage/volumes/{volume_uuid}/snapshots/{snapshot_uuid}",
            apply,
            lock,
            self.volumes[volume_uuid]["svm"]["uuid"],
        )

    # -- SVMs --------------------------------------------------------------------------
    def _svm_changes(self, raw: Mapping[str, Any]) -> Record:
        body = _check_body(raw, _SVM_SCHEMA, known=schema_fields("Svm"))
        ipspace = _dig(body, "ipspace.name")
        if ipspace is not None and ipspace != "Default":
            raise bad_value("ipspace.name", f'IPspace "{ipspace}" does not exist.')
        if "aggregates" in body:
            body["aggregates"] = self.aggregate_uuids(body["aggregates"], "aggregates")
        return body

    def plan_svm_post(
        self, raw: Mapping[str, Any], lock: threading.RLock, new_uuid: str | None = None
    ) -> WritePlan:
        body = self._svm_changes(raw)
        name = body.get("name")
        if name is None:
            raise bad_value("name", 'Missing value for required field "name".')
        if self.svm_named(name) is not None:
            raise duplicate("name", f'duplicate entry: SVM "{name}" already exists.')
        svm_uuid = new_uuid or str(uuidlib.uuid4())
        record: Record = {
            "uuid": svm_uuid,
            "name": name,
            "state": "running",
            "subtype": "default",
            "language": "c.utf_8",
            "aggregates": [],
            "ipspace": {"name": "Default", "uuid": _derived_uuid("ipspace", "Default")},
            "snapshot_policy": {"name": "default"},
            **{p: {"enabled": False, "allowed": True} for p in _PROTOCOLS},
            "ndmp": {"allowed": True},
            "max_volumes": "unlimited",
            "auto_enable_analytics": False,
            "auto_enable_activity_tracking": False,
            "storage": {"limit": 0, "limit_threshold_alert": 0},
        }
        deep_merge(record, body)
        aggregates = record["aggregates"]

        def apply() -> None:
            if any(a["uuid"] not in self.aggregates for a in aggregates):
                raise EffectError(*_GONE)
            if self.svm_named(name) is not None:
                raise EffectError(*_DUPLICATE)
            self.svms[svm_uuid] = copy.deepcopy(record)

        return WritePlan(
            description="POST /api/svm/svms",
            effect=self.effect(lock, apply),
            location="/api/svm/svms/?" + urlencode({"name": name}),
            svm={"name": name, "uuid": svm_uuid, "_links": _links(f"/api/svm/svms/{svm_uuid}")},
            success_status=201,
        )

    def plan_svm_patch(
        self, svm_uuid: str, raw: Mapping[str, Any], lock: threading.RLock
    ) -> WritePlan:
        body = self._svm_changes(raw)

        def name_taken(name: str) -> str | None:
            if self.svm_named(name) in (None, svm_uuid):
                return None
            return f'duplicate entry: SVM "{name}" already exists.'

        return self.patch_plan(
            f"PATCH /api/svm/svms/{svm_uuid}",
            self.svms,
            svm_uuid,
            body,
            lock,
            svm_uuid,
            name_taken=name_taken,
        )

    def svm_in_use(self, svm_uuid: str) -> ApiError | None:
        """Why the SVM cannot be deleted now (its volumes, or a record that holds it), or None."""
        if any(v["svm"]["uuid"] == svm_uuid for v in self.volumes.values()):
            name = self.svms[svm_uuid]["name"]
            message = f'Cannot delete SVM "{name}" because it contains volumes.'
            return ApiError(409, "1", message, "name")
        return self.holder("Svm", svm_uuid)

    def plan_svm_delete(self, svm_uuid: str, lock: threading.RLock) -> WritePlan:
        refusal = self.svm_in_use(svm_uuid)
        if refusal is not None:
            raise refusal

        def apply() -> None:
            if svm_uuid not in self.svms:
                raise EffectError(*_GONE)
            held = self.svm_in_use(svm_uuid)
            if held is not None:
                raise EffectError(held.message, int(held.code))
            del self.svms[svm_uuid]
            self.released("Svm", svm_uuid)  # what ONTAP deletes with the SVM goes with it

        return self.write_plan(f"DELETE /api/svm/svms/{svm_uuid}", apply, lock, svm_uuid)


# -- loading an inventory ---------------------------------------------------------------
_INVENTORY_KEYS = ("cluster", "nodes", "svms", "aggregates", "volumes", "snapshots")


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
        try:
            entry = expand_dotted(item)
        except ApiError as exc:
            raise ValueError(f"{where}: {exc.message}") from None
        out.append((where, entry))
    return out


def _snapshot_volume(state: _State, where: str, entry: Record) -> str:
    """The volume a loaded snapshot names (``volume`` and, if ambiguous, ``svm``)."""
    volume_ref = entry.pop("volume", None)
    svm_ref = entry.pop("svm", None)
    with _entry_errors(where):
        if not isinstance(volume_ref, Mapping) or not volume_ref:
            raise bad_value("volume", 'Field "volume" ({"name"} or {"uuid"}) is required.')
        volume_ref = _check_body(volume_ref, _REFERENCE, "volume.")
        candidates = dict(state.volumes)
        if svm_ref is not None:
            if not isinstance(svm_ref, Mapping):
                raise bad_value("svm", 'Field "svm" must be an object.')
            svm = _check_body(svm_ref, _REFERENCE, "svm.")
            svm_uuid = state.resolve(state.svms, svm, "svm", "SVM")
            candidates = {u: v for u, v in candidates.items() if v["svm"]["uuid"] == svm_uuid}
    matching = [
        u
        for u, v in candidates.items()
        if volume_ref.get("uuid", u) == u and volume_ref.get("name", v["name"]) == v["name"]
    ]
    if len(matching) != 1:
        problem = "does not exist" if not matching else "is ambiguous: give its svm"
        raise ValueError(f"{where}: volume {dict(volume_ref)!r} {problem}")
    return matching[0]


@contextmanager
def _entry_errors(where: str) -> Iterator[None]:
    """Turn the refusals of a loaded entry into ValueError naming the entry."""
    try:
        yield
    except (ApiError, EffectError) as exc:
        raise ValueError(f"{where}: {exc.message}") from None


def _build_state(data: Mapping[str, Any], clock: Clock, lock: threading.RLock) -> _State:
    """A fresh state holding ``data``; ValueError naming the bad entry if it is invalid."""
    if not isinstance(data, Mapping):
        raise ValueError("inventory: must be an object")
    unknown = sorted(set(data) - set(_INVENTORY_KEYS))
    if unknown:
        raise ValueError(
            f'inventory: unknown key "{unknown[0]}" (known: {", ".join(_INVENTORY_KEYS)})'
        )
    state = _State(clock)
    cluster = data.get("cluster")
    cluster = {} if cluster is None else cluster
    if not isinstance(cluster, Mapping):
        raise ValueError("inventory: cluster must be an object")
    extra = sorted(set(cluster) - {"name", "version", "uuid"})
    if extra:
        raise ValueError(f'inventory: cluster: unknown field "{extra[0]}"')
    name = cluster.get("name", "cluster1")
    if not isinstance(name, str) or not _CLUSTER_NAME.fullmatch(name):
        raise ValueError(f"inventory: cluster: invalid name {name!r}")
    version = cluster.get("version", "9.15.1")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        shown = (
            version if not isinstance(version, str) or len(version) <= 40 else version[:40] + "..."
        )
        raise ValueError(
            'inventory: cluster: version must look like "9.15.1" (three numbers of 1 to 4 '
            f"digits), got {shown!r}"
        )
    cluster_entry = dict(cluster)
    state.cluster = {
        "name": name,
        "version": version,
        "uuid": _entry_uuid(
            cluster_entry, "inventory: cluster", _derived_uuid("cluster", name), ()
        ),
    }

    for where, entry in _entries(data, "nodes"):
        node_name = entry.pop("name", None)
        if entry or not isinstance(node_name, str) or not _CLUSTER_NAME.fullmatch(node_name):
            raise ValueError(f'{where}: a node is {{"name": ...}} (a valid name, only)')
        if node_name in state.nodes:
            raise ValueError(f"{where}: duplicate node name {node_name!r}")
        state.nodes.append(node_name)

    for where, entry in _entries(data, "aggregates"):
        node_ref = entry.pop("node", None)
        node_name = node_ref.get("name") if isinstance(node_ref, Mapping) else node_ref
        if node_ref is not None and node_name not in state.nodes:
            raise ValueError(f"{where}: node {node_name!r} is not one of the inventory's nodes")
        extra = sorted(set(entry) - {"name", "space", "uuid"})
        size = _pop(entry, "space.block_storage.size")
        if extra or entry.get("space"):
            raise ValueError(f'{where}: unknown field "{extra[0] if extra else "space"}"')
        aggr_name = entry.get("name")
        if not isinstance(aggr_name, str) or not _AGGREGATE_NAME.fullmatch(aggr_name):
            raise ValueError(f"{where}: invalid or missing aggregate name {aggr_name!r}")
        if any(a["name"] == aggr_name for a in state.aggregates.values()):
            raise ValueError(f"{where}: duplicate aggregate name {aggr_name!r}")
        if size is None:
            size = DEFAULT_AGGREGATE_SIZE
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"{where}: space.block_storage.size must be a positive integer")
        derived = _derived_uuid("aggregate", aggr_name)
        aggr_uuid = _entry_uuid(entry, where, derived, state.aggregates)
        state.aggregates[aggr_uuid] = {
            "uuid": aggr_uuid,
            "name": aggr_name,
            "size": size,
            "node": node_name,
        }

    for where, entry in _entries(data, "svms"):
        derived = _derived_uuid("svm", str(entry.get("name")))
        svm_uuid = _entry_uuid(entry, where, derived, state.svms)
        with _entry_errors(where):
            state.plan_svm_post(entry, lock, svm_uuid).effect()

    for where, entry in _entries(data, "volumes"):
        if "aggregates" not in entry and state.aggregates:
            # A scenario's volume may leave its aggregate out (a client's POST may not).
            entry["aggregates"] = [{"uuid": next(iter(state.aggregates))}]
        svm_name = _dig(entry, "svm.name") or _dig(entry, "svm.uuid")
        derived = _derived_uuid("volume", str(svm_name), str(entry.get("name")))
        volume_uuid = _entry_uuid(entry, where, derived, state.volumes)
        with _entry_errors(where):
            state.plan_volume_post(entry, lock, volume_uuid).effect()

    for where, entry in _entries(data, "snapshots"):
        volume_uuid = _snapshot_volume(state, where, entry)
        derived = _derived_uuid("snapshot", volume_uuid, str(entry.get("name")))
        snapshot_uuid = _entry_uuid(entry, where, derived, state.snapshots)
        with _entry_errors(where):
            state.plan_snapshot_post(volume_uuid, entry, lock, snapshot_uuid).effect()
    return state


# -- routing ----------------------------------------------------------------------------
_SEGMENT = r"([^/]+)"
_ROUTES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern.replace("{}", _SEGMENT)), kind, methods)
    for pattern, kind, methods in (
        ("/api/cluster", "cluster", ("GET", "POST", "PATCH")),
        ("/api/cluster/nodes", "nodes", ("GET", "POST")),
        ("/api/cluster/nodes/{}", "node", ("GET", "PATCH", "DELETE")),
        ("/api/cluster/software", "software", ("GET", "PATCH")),
        ("/api/storage/aggregates", "aggregates", ("GET", "POST")),
        ("/api/storage/aggregates/{}", "aggregate", ("GET", "PATCH", "DELETE")),
        ("/api/storage/volumes", "volumes", ("GET", "POST")),
        ("/api/storage/volumes/{}", "volume", ("GET", "PATCH", "DELETE")),
        ("/api/storage/volumes/{}/snapshots", "snapshots", ("GET", "POST")),
        ("/api/storage/volumes/{}/snapshots/{}", "snapshot", ("GET", "PATCH", "DELETE")),
        ("/api/svm/svms", "svms", ("GET", "POST")),
        ("/api/svm/svms/{}", "svm", ("GET", "PATCH", "DELETE")),
    )
)


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"


def _route(path: str) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """(kind, uuids in the path, methods) for a path this module serves, else None."""
    for pattern, kind, methods in _ROUTES:
        found = pattern.fullmatch(path)
        if found:
            return kind, found.groups(), methods
    return None


# -- the public face --------------------------------------------------------------------
class Inventory:
    """The cluster's objects; every public method takes the shared lock.

    Starts with :data:`DEFAULT_INVENTORY` (SVM ``vs0``, aggregate ``aggr1``); :meth:`load`
    replaces the starting inventory and :meth:`reset` goes back to it. Objects in the starting
    inventory have uuids derived from their names, stable across resets and runs.
    """

    def __init__(self, clock: Clock, lock: threading.RLock) -> None:
        self.clock = clock
        self.lock = lock
        self._start: Mapping[str, Any] = copy.deepcopy(DEFAULT_INVENTORY)
        #: Why a deep record (resource name, uuid) may not be deleted because a record of
        #: another model holds it; the Simulator connects it to the generic store.
        self.holder: Callable[[str, str], ApiError | None] = lambda kind, uuid: None
        #: Told when a deep record is deleted; the Simulator connects it to the store.
        self.released: Callable[[str, str], None] = lambda kind, uuid: None
        self._state = self._build(self._start)

    def _build(self, data: Mapping[str, Any]) -> _State:
        state = _build_state(data, self.clock, self.lock)
        state.holder = lambda kind, uuid: self.holder(kind, uuid)
        state.released = lambda kind, uuid: self.released(kind, uuid)
        return state

    # -- configuration -----------------------------------------------------------------
    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the starting inventory with ``data`` and reset to it.

        ``data`` holds ``cluster``, ``nodes`` (``{"name"}`` each; an aggregate may name its
        ``node``), ``svms``, ``aggregates``, ``volumes``, ``snapshots`` (all optional); entries
        take the fields a POST takes, plus an optional ``uuid``. Invalid
        data raises ValueError naming the bad entry and changes nothing.
        """
        with self.lock:
            state = self._build(data)
            self._start = copy.deepcopy(dict(data))
            self._state.live = False
            self._state = state

    def reset(self) -> None:
        """Back to the starting inventory; jobs planned before it can no longer apply."""
        with self.lock:
            self._state.live = False
            self._state = self._build(self._start)

    # -- accessors (for tests and the control API) -------------------------------------
    def volumes(self) -> list[dict[str, Any]]:
        """Every volume record, as a record GET shows it."""
        with self.lock:
            return [self._state.render_volume(u) for u in self._state.volumes]

    def snapshots(self, volume_uuid: str | None = None) -> list[dict[str, Any]]:
        """Every snapshot record (of one volume, if given)."""
        with self.lock:
            state = self._state
            return [
                state.render_snapshot(u)
                for u, s in state.snapshots.items()
                if volume_uuid is None or s["volume"]["uuid"] == volume_uuid
            ]

    def svms(self) -> list[dict[str, Any]]:
        """Every SVM record."""
        with self.lock:
            return [self._state.render_svm(u) for u in self._state.svms]

    def aggregates(self) -> list[dict[str, Any]]:
        """Every aggregate record."""
        with self.lock:
            return [self._state.render_aggregate(u) for u in self._state.aggregates]

    def cluster(self) -> dict[str, Any]:
        """The cluster record."""
        with self.lock:
            return self._state.render_cluster()

    def records_of(self, resource: str) -> list[dict[str, Any]] | None:
        """Records of a deep resource by its declaration's name; None for any other."""
        with self.lock:
            state = self._state
            if resource == "Svm":
                return [state.render_svm(u) for u in state.svms]
            if resource == "Volume":
                return [state.render_volume(u) for u in state.volumes]
            if resource == "Snapshot":
                return [state.render_snapshot(u) for u in state.snapshots]
            if resource == "Aggregate":
                return [state.render_aggregate(u) for u in state.aggregates]
            if resource == "Node":
                return state.render_nodes()
            if resource == "Cluster":
                return [state.render_cluster()]
            return None

    # -- routing -----------------------------------------------------------------------
    def handles(self, method: str, path: str) -> bool:
        """Whether this module serves ``method`` on ``path``."""
        return method.upper() in self.allowed_methods(path)

    def allowed_methods(self, path: str) -> list[str]:
        """The methods ``path`` takes ([] when this module does not know the path)."""
        route = _route(_normalise(path))
        return list(route[2]) if route else []

    # -- reads -------------------------------------------------------------------------
    def read(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer a GET on ``path``; raises ApiError (404 for unknown uuids or arguments)."""
        path = _normalise(path)
        route = _route(path)
        if route is None or "GET" not in route[2]:
            raise ApiError(404, "262179", f'Unexpected argument "{path}".', path)
        kind, ids, _ = route
        with self.lock:  # render under the lock; query (filter, order, cut) outside it
            rendered, field_names, singleton = self._render(kind, ids)
        if isinstance(rendered, list):
            return self._many(rendered, params, field_names, path)
        if singleton:
            return self._singleton(rendered, params, field_names)
        return self._one(rendered, params, field_names)

    def _render(
        self, kind: str, ids: tuple[str, ...]
    ) -> tuple[Record | list[Record], Iterable[str], bool]:
        """What a GET of ``kind`` shows, as fresh copies: (record or records, its field names,
        whether it is a singleton outside any collection)."""
        state = self._state
        if kind == "cluster":
            return state.render_cluster(), schema_fields("Cluster"), True
        if kind == "software":
            return state.render_software(), schema_fields("Software"), True
        if kind == "nodes":
            return state.render_nodes(), schema_fields("Node"), False
        if kind == "node":
            node = next((n for n in state.render_nodes() if n["uuid"] == ids[0]), None)
            if node is None:
                raise not_found("uuid")
            return node, schema_fields("Node"), False
        if kind == "aggregates":
            return (
                [state.render_aggregate(u) for u in state.aggregates],
                schema_fields("Aggregate"),
                False,
            )
        if kind == "aggregate":
            if ids[0] not in state.aggregates:
                raise not_found("uuid")
            return state.render_aggregate(ids[0]), schema_fields("Aggregate"), False
        if kind == "volumes":
            return [state.render_volume(u) for u in state.volumes], schema_fields("Volume"), False
        if kind == "volume":
            return state.render_volume(state.volume_uuid(ids[0])), schema_fields("Volume"), False
        if kind == "snapshots":
            volume_uuid = state.volume_uuid(ids[0])
            records = [
                state.render_snapshot(u)
                for u, s in state.snapshots.items()
                if s["volume"]["uuid"] == volume_uuid
            ]
            return records, schema_fields("Snapshot"), False
        if kind == "snapshot":
            snapshot_uuid = state.snapshot_uuid(ids[0], ids[1])
            return state.render_snapshot(snapshot_uuid), schema_fields("Snapshot"), False
        if kind == "svms":
            return [state.render_svm(u) for u in state.svms], schema_fields("Svm"), False
        return state.render_svm(state.svm_uuid(ids[0])), schema_fields("Svm"), False

    @staticmethod
    def _singleton(record: Record, params: Mapping[str, str], field_names: Iterable[str]) -> Record:
        """A GET on an object outside any collection (the cluster, its software).

        ``max_records`` is accepted and ignored there (INFERRED: generic readers such as
        ``na_ontap_rest_info`` send it on every GET, and work against real clusters).
        """
        check_params(params, _SINGLETON_PARAMS, field_names)
        parse_int(params, "max_records", 0, None)
        return select_fields(record, parse_fields(params.get("fields")), ())

    @staticmethod
    def _one(
        record: Record,
        params: Mapping[str, str],
        field_names: Iterable[str],
        keys: tuple[str, ...] = ("uuid", "name"),
    ) -> Record:
        check_params(params, RECORD_PARAMS, field_names)
        return select_fields(record, parse_fields(params.get("fields")), keys)

    @staticmethod
    def _many(
        records: list[Record], params: Mapping[str, str], field_names: Iterable[str], href: str
    ) -> Record:
        check_params(params, COLLECTION_PARAMS, field_names)
        return query_collection(records, params, href=href)

    # -- writes ------------------------------------------------------------------------
    def plan(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
    ) -> WritePlan:
        """Validate a write against the applied state and return its plan; changes nothing.

        Raises ApiError: 404 (code 4, target uuid) for an unknown record, 404 262179 for an
        unknown query argument, 400 (code 2) for a bad body, 409 (code 1) for a duplicate.
        """
        method = method.upper()
        path = _normalise(path)
        route = _route(path)
        if route is None:
            raise ApiError(404, "262179", f'Unexpected argument "{path}".', path)
        kind, ids, methods = route
        if method not in methods or method == "GET":
            raise ApiError(405, "3", f'The method "{method}" is not allowed on {path}.')
        with self.lock:
            state = self._state
            lock = self.lock
            if kind in _PLATFORM_KINDS:
                return state.plan_platform(kind, method, path, ids, body, params, lock)
            # The target record first: an unknown uuid answers 404 whatever else is wrong.
            if kind in ("volume", "snapshots"):
                state.volume_uuid(ids[0])
            elif kind == "snapshot":
                state.snapshot_uuid(ids[0], ids[1])
            elif kind == "svm":
                state.svm_uuid(ids[0])
            extras: tuple[str, ...] = ()
            if kind == "volumes":
                extras = ("sizing_method",)
            elif kind == "volume" and method == "PATCH":
                extras = ("sizing_method", "restore_to.snapshot.name", "restore_to.snapshot.uuid")
            _check_write_params(params, extras)
            if method == "DELETE":
                if body:
                    raise bad_value("body", "A DELETE takes no request body.")
                if body is not None:
                    _body_object(body)
                if kind == "volume":
                    return state.plan_volume_delete(ids[0], lock)
                if kind == "snapshot":
                    return state.plan_snapshot_delete(ids[0], ids[1], lock)
                return state.plan_svm_delete(ids[0], lock)
            if (
                body is None
                and kind == "volume"
                and any(k.startswith("restore_to.") for k in params)
            ):
                body = {}
            data = expand_dotted(_body_object(body))
            if kind == "volumes":
                return state.plan_volume_post(data, lock)
            if kind == "volume":
                return state.plan_volume_patch(ids[0], data, params, lock)
            if kind == "snapshots":
                return state.plan_snapshot_post(ids[0], data, lock)
            if kind == "snapshot":
                return state.plan_snapshot_patch(ids[0], ids[1], data, lock)
            if kind == "svms":
                return state.plan_svm_post(data, lock)
            return state.plan_svm_patch(ids[0], data, lock)
