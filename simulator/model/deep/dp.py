"""Data protection: SnapMirror relationships and transfers, snapshot policies, consistency groups.

The rules, with their sources, are in docs/data-protection.md. In short:

- a relationship joins two volumes named by path (``svm:volume``): both must exist, differ,
  and the destination must be a DP volume; it starts ``uninitialized``, and a PATCH of
  ``state`` initializes, quiesces (``paused``), resumes, breaks (``broken_off``) and resyncs
  it. Those PATCHes are jobs, as on ONTAP: the job is the transfer, so its script decides
  how long an initialize or a resync takes and whether it fails;
- ``POST .../transfers`` (an update, or an initialize of an uninitialized relationship)
  answers at once with a transfer record in state ``transferring``; the transfer itself runs
  as a job scripted like a write on that path (``POST /api/snapmirror/relationships/*/
  transfers``), and the record, and its relationship, show where it stands; a PATCH of
  ``state`` ``aborted`` stops it;
- a volume that is an endpoint of a relationship refuses deletion;
- ONTAP's built-in snapshot policies, SnapMirror policies and cron schedules exist from the
  start; a snapshot policy in use, or built in, refuses deletion;
- a consistency group gathers existing volumes of its SVM, each in one group at most.
"""

from __future__ import annotations

import re
import uuid as uuidlib
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ApiError, bad_value
from ...jobs import EffectError, iso
from ...query import get_path
from ..behaviour import Behaviour, Event, register

if TYPE_CHECKING:
    from ...jobs import Job
    from ..store import Store

Record = dict[str, Any]

_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/dp")

RELATIONSHIP = "SnapmirrorRelationship"
TRANSFER = "SnapmirrorTransfer"
SM_POLICY = "SnapmirrorPolicy"
SNAPSHOT_POLICY = "SnapshotPolicy"
POLICY_SCHEDULE = "SnapshotPolicySchedule"
SCHEDULE = "Schedule"
CONSISTENCY_GROUP = "ConsistencyGroup"

#: ONTAP's cron schedules present on every cluster (INFERRED: the common ones).
BUILTIN_SCHEDULES: Mapping[str, Mapping[str, list[int]]] = {
    "5min": {"minutes": [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]},
    "8hour": {"minutes": [15], "hours": [2, 10, 18]},
    "daily": {"minutes": [10], "hours": [0]},
    "hourly": {"minutes": [5]},
    "weekly": {"minutes": [15], "hours": [0], "weekdays": [0]},
}
#: ONTAP's built-in snapshot policies: name -> (schedule, count, prefix) copies, enabled.
BUILTIN_SNAPSHOT_POLICIES: Mapping[str, tuple[tuple[tuple[str, int], ...], bool]] = {
    "default": ((("hourly", 6), ("daily", 2), ("weekly", 2)), True),
    "default-1weekly": ((("hourly", 6), ("daily", 2), ("weekly", 1)), True),
    "none": ((), False),
}
#: ONTAP's built-in SnapMirror policies: name -> (type, sync_type).
BUILTIN_SNAPMIRROR_POLICIES: Mapping[str, tuple[str, str | None]] = {
    "Asynchronous": ("async", None),
    "MirrorAllSnapshots": ("async", None),
    "MirrorAllSnapshotsDiscardNetwork": ("async", None),
    "MirrorAndVault": ("async", None),
    "MirrorLatest": ("async", None),
    "DailyBackup": ("async", None),
    "Unified7year": ("async", None),
    "XDPDefault": ("async", None),
    "Sync": ("sync", "sync"),
    "StrictSync": ("sync", "strict_sync"),
}
DEFAULT_SNAPMIRROR_POLICY = "Asynchronous"
#: ONTAP's limit on the copies a snapshot policy keeps in all (INFERRED: a volume's limit).
MAX_POLICY_COPIES = 1023
_POLICY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,255}")
_CG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,202}")

#: The job of each transfer still tracked, by store and transfer uuid (a job's state is
#: read without settling the engine, so a read never applies effects halfway through).
_TRANSFER_JOBS: weakref.WeakKeyDictionary[Store, dict[str, Job]] = weakref.WeakKeyDictionary()


def stable_uuid(*parts: str) -> str:
    """A uuid derived from names, the same in every run and after every reset."""
    return str(uuidlib.uuid5(_NAMESPACE, "/".join(parts)))


def _table(store: Store, name: str) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault(name, {})


def _now(store: Store) -> float | None:
    return store.now()


def _iso_now(store: Store) -> str | None:
    now = _now(store)
    return None if now is None else iso(now)


def _duration(seconds: float) -> str:
    """ISO 8601 duration, as ONTAP writes ``lag_time`` (``PT1H2M3S``)."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def _error(status: int, code: str, message: str, target: str | None = None) -> ApiError:
    return ApiError(status, code, message, target)


def _effect_error(error: ApiError) -> EffectError:
    return EffectError(error.message, int(error.code))


# -- endpoints -----------------------------------------------------------------------------
def _split_path(path: Any, target: str) -> tuple[str, str]:
    """``svm:volume`` -> (svm, volume); 13303852 when there is no ":"."""
    if not isinstance(path, str) or ":" not in path:
        raise _error(400, "13303852", f'{target} provided does not contain ":".', target)
    svm, _, volume = path.partition(":")
    return svm, volume


def _svm_named(store: Store, name: str) -> Record | None:
    return next((s for s in store.records_of("Svm") if s.get("name") == name), None)


def _volume_at(store: Store, svm: str, volume: str) -> Record | None:
    return next(
        (
            v
            for v in store.records_of("Volume")
            if v.get("name") == volume and get_path(v, "svm.name") == svm
        ),
        None,
    )


def _endpoint(store: Store, data: Record, side: str) -> tuple[Record, Record]:
    """The SVM and the volume ``data[side]["path"]`` names; 400 naming the path otherwise."""
    target = f"{side}.path"
    svm_name, volume_name = _split_path(get_path(data, target), target)
    svm = _svm_named(store, svm_name)
    if svm is None:
        raise bad_value(target, f'SVM "{svm_name}" does not exist.')
    if not volume_name:
        raise _error(
            400,
            "13303841",
            "This operation is not supported for SnapMirror relationships between these "
            'endpoints: the simulator models volume endpoints ("svm:volume"), not SVM-DR.',
            target,
        )
    volume = _volume_at(store, svm_name, volume_name)
    if volume is None:
        raise bad_value(target, f'Volume "{volume_name}" does not exist in SVM "{svm_name}".')
    return svm, volume


def _policy(store: Store, ref: Mapping[str, Any] | None) -> Record | None:
    """The SnapMirror policy ``ref`` names (resolved by the store), or the default one."""
    policies = _table(store, SM_POLICY).values()
    if not ref:
        return next((p for p in policies if p.get("name") == DEFAULT_SNAPMIRROR_POLICY), None)
    uuid = ref.get("uuid")
    return next((p for p in policies if uuid is not None and p.get("uuid") == uuid), None)


def _initialized(record: Mapping[str, Any]) -> str:
    """The state an initialized relationship shows: ``in_sync`` for a sync policy."""
    return "in_sync" if get_path(record, "policy.type") == "sync" else "snapmirrored"


# -- transfers -----------------------------------------------------------------------------
def _transfers_of(store: Store, relationship_uuid: str) -> list[Record]:
    return [
        t
        for t in _table(store, TRANSFER).values()
        if get_path(t, "relationship.uuid") == relationship_uuid
    ]


def _transfer_state(store: Store, transfer: Mapping[str, Any]) -> tuple[str, Record | None]:
    """A transfer's state now, and its error when it failed: its job decides while it runs."""
    state = str(transfer.get("state"))
    if state not in ("transferring", "queued"):
        return state, None
    job = _TRANSFER_JOBS.get(store, {}).get(str(transfer.get("uuid")))
    if job is None:
        return state, None
    if job.state == "queued":
        return "queued", None
    if job.state == "failure":
        return "failed", {"code": job.code, "message": job.message}
    return "transferring", None


def _live_transfer(store: Store, relationship_uuid: str) -> Record | None:
    """The relationship's transfer still queued or transferring, if any."""
    for transfer in reversed(_transfers_of(store, relationship_uuid)):
        if _transfer_state(store, transfer)[0] in ("queued", "transferring"):
            return transfer
    return None


def _source_bytes(store: Store, relationship: Mapping[str, Any]) -> int:
    svm, _, volume = str(get_path(relationship, "source.path")).partition(":")
    found = _volume_at(store, svm, volume)
    used = get_path(found, "space.used") if found is not None else 0
    return used if isinstance(used, int) else 0


def _complete(store: Store, relationship: Record, transfer: Record, kind: str) -> None:
    """A transfer of ``kind`` succeeded: the relationship mirrors the source as of now."""
    now = _iso_now(store)
    transfer["state"] = "success"
    transfer["bytes_transferred"] = _source_bytes(store, relationship)
    if now is not None:
        transfer["end_time"] = transfer["last_updated_time"] = now
    count = len(_transfers_of(store, str(relationship["uuid"])))
    snapshot = f"snapmirror.{relationship['uuid']}_{count}"
    transfer["snapshot"] = snapshot
    relationship["state"] = _initialized(relationship)
    relationship["last_transfer_type"] = kind
    relationship["exported_snapshot"] = snapshot
    relationship["total_transfer_bytes"] = int(relationship.get("total_transfer_bytes") or 0) + int(
        transfer["bytes_transferred"]
    )
    relationship["transfer"] = {"uuid": transfer["uuid"], "type": kind}


def _new_transfer(store: Store, relationship: Record, state: str) -> Record:
    """A transfer record of ``relationship`` (not stored yet)."""
    record: Record = {
        "uuid": str(uuidlib.uuid4()),
        "relationship": {
            "uuid": relationship["uuid"],
            "destination": {
                "path": get_path(relationship, "destination.path"),
                "svm": dict(relationship["destination"].get("svm") or {}),
            },
            "restore": False,
        },
        "state": state,
        "bytes_transferred": 0,
    }
    now = _iso_now(store)
    if now is not None:
        record["last_updated_time"] = now
    return record


def _store_transfer(store: Store, record: Record) -> Record:
    key = (str(record["relationship"]["uuid"]), str(record["uuid"]))
    _table(store, TRANSFER)[key] = record
    return record


# -- SnapMirror relationships ----------------------------------------------------------------
#: (current state, requested state) -> the operation ONTAP runs; "=" is the initialized state.
_OPERATIONS: Mapping[tuple[str, str], str] = {
    ("uninitialized", "="): "initialize",
    ("=", "paused"): "quiesce",
    ("=", "broken_off"): "break",
    ("paused", "="): "resume",
    ("paused", "paused"): "none",
    ("paused", "broken_off"): "break",
    ("broken_off", "="): "resync",
}
_SYNC_ONLY = ("in_sync", "out_of_sync", "synchronizing")


def _operation(record: Mapping[str, Any], requested: str) -> str:
    """What a PATCH of ``state`` to ``requested`` does to ``record``; ApiError if refused."""
    initialized = _initialized(record)
    current = str(record.get("state"))
    if requested in _SYNC_ONLY and initialized == "snapmirrored":
        raise _error(
            400, "13303831", f'Invalid state "{requested}" for an async SnapMirror relationship.'
        )
    if requested == "snapmirrored" and initialized == "in_sync":
        raise _error(400, "13303829", 'Invalid state "snapmirrored": the policy is "sync".')
    key = (
        "=" if current == initialized else current,
        "=" if requested == initialized else requested,
    )
    if key == ("=", "="):
        raise _error(400, "13303832", "SnapMirror relationship is already initialized.", "state")
    operation = _OPERATIONS.get(key)
    if operation is None:
        raise _error(
            400,
            "13303818",
            f'Invalid state transition requested: from "{current}" to "{requested}".',
            "state",
        )
    return operation


_FLAGS_WITH_RESYNC = ("quick_resync", "preserve")


@register
class SnapmirrorRelationshipBehaviour(Behaviour):
    """Paths, DP destinations, one relationship per destination, and the state machine."""

    resource = RELATIONSHIP
    #: [TRI] snapmirror_relationship_create: 13304108 "Schedule not found in the Administrative
    #: SVM or the SVM for the relationship"; 13303821 "Invalid SnapMirror policy UUID" (for an
    #: unknown policy name too: INFERRED).
    unknown_reference: ClassVar[Mapping[str, str]] = {
        "transfer_schedule": "13304108",
        "policy": "13303821",
    }

    def seed(self, store: Store) -> None:
        table = _table(store, SM_POLICY)
        for name, (kind, sync_type) in BUILTIN_SNAPMIRROR_POLICIES.items():
            uuid = stable_uuid(SM_POLICY, name)
            record: Record = {"uuid": uuid, "name": name, "type": kind, "scope": "cluster"}
            if sync_type is not None:
                record["sync_type"] = sync_type
            table[(uuid,)] = record

    def prepare_post(self, store: Store, data: Record) -> None:
        source_svm, source = _endpoint(store, data, "source")
        destination_svm, destination = _endpoint(store, data, "destination")
        if source["uuid"] == destination["uuid"]:
            raise _error(
                400,
                "6619441",
                "The source volume cannot be the same as the destination volume.",
                "destination.path",
            )
        if destination.get("type") != "dp":
            raise _error(400, "6619546", "Destination must be a dp volume.", "destination.path")
        path = get_path(data, "destination.path")
        if any(
            get_path(r, "destination.path") == path for r in _table(store, RELATIONSHIP).values()
        ):
            raise _error(
                409,
                "6619637",
                "Relationship with specified destination volume already exists.",
                "destination.path",
            )
        if get_path(data, "create_destination.enabled") is True:
            raise _error(
                400,
                "13303868",
                "Create of destination endpoint and SnapMirror relationship failed: the "
                "simulator does not provision destinations; create the DP volume first.",
                "create_destination.enabled",
            )
        if data.get("restore") is True:
            raise _error(
                400,
                "13303841",
                "This operation is not supported for SnapMirror relationships between these "
                "endpoints: the simulator does not model restore relationships.",
                "restore",
            )
        if "state" in data:
            raise _error(
                400,
                "13303873",
                "Specifying a state when creating a relationship is only supported when "
                "creating a destination endpoint.",
                "state",
            )
        policy = _policy(store, data.get("policy"))
        if policy is not None:
            data["policy"] = {"name": policy["name"], "uuid": policy["uuid"]}
            data["policy"]["type"] = policy.get("type", "async")
        data["source"]["svm"] = {"name": source_svm["name"], "uuid": source_svm["uuid"]}
        data["destination"]["svm"] = {
            "name": destination_svm["name"],
            "uuid": destination_svm["uuid"],
        }
        data["state"] = "uninitialized"
        data["healthy"] = True
        data["group_type"] = "none"
        data["restore"] = False
        data.setdefault("throttle", 0)
        data.setdefault("backoff_level", "high")
        data["total_transfer_bytes"] = 0

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        for side in ("source", "destination"):
            given = get_path(changes, f"{side}.path")
            if isinstance(given, str) and given != get_path(record, f"{side}.path"):
                raise _error(
                    400,
                    "13304120",
                    "Values specified for the source.path and destination.path properties do "
                    "not match the relationship's source.path or destination.path properties.",
                    f"{side}.path",
                )
        if isinstance(changes.get("policy"), dict):
            policy = _policy(store, changes["policy"])
            kind = policy.get("type", "async") if policy is not None else "async"
            if kind != get_path(record, "policy.type"):
                raise _error(
                    400,
                    "13303866",
                    "Cannot use the specified policy to modify the policy of the relationship: "
                    f'its type "{kind}" differs.',
                    "policy.name",
                )
            changes["policy"]["type"] = kind
        requested = changes.pop("state", None) or changes.get("_requested_state")
        flags = [f for f in (*_FLAGS_WITH_RESYNC, "recover_after_break") if f in changes]
        if flags and requested is None:
            raise _error(
                400,
                "13303837",
                f'The flag "{flags[0]}" is valid only if a state change is requested.',
                flags[0],
            )
        for flag in flags:
            changes.pop(flag)
            if flag == "recover_after_break" and requested != "broken_off":
                raise _error(
                    400, "13303835", f'"{flag}" is valid only when PATCH state is broken_off.', flag
                )
            if flag in _FLAGS_WITH_RESYNC and requested not in ("snapmirrored", "in_sync"):
                raise _error(
                    400,
                    "13303836",
                    f'"{flag}" is valid only when PATCH state is snapmirrored or in_sync.',
                    flag,
                )
        if requested is None:
            return
        if _live_transfer(store, str(record["uuid"])) is not None:
            raise _error(
                409,
                "13303830",
                "Transient state: a transfer is in progress on this relationship; wait for it "
                "to end or abort it.",
                "state",
            )
        _operation(record, str(requested))
        changes["_requested_state"] = requested

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "delete":
            uuid = str(record["uuid"])
            table = _table(store, TRANSFER)
            for key in [k for k, t in table.items() if get_path(t, "relationship.uuid") == uuid]:
                del table[key]
            return
        requested = record.pop("_requested_state", None)
        if event != "patch" or requested is None:
            return
        try:
            operation = _operation(record, str(requested))
        except ApiError as refused:
            raise _effect_error(refused) from None
        if operation in ("initialize", "resync"):
            transfer = _store_transfer(store, _new_transfer(store, record, "transferring"))
            _complete(store, record, transfer, operation)
        elif operation in ("quiesce", "break"):
            record["state"] = "paused" if operation == "quiesce" else "broken_off"
        elif operation == "resume":
            record["state"] = _initialized(record)

    def check_delete(self, store: Store, record: Record) -> None:
        if _live_transfer(store, str(record["uuid"])) is not None:
            raise _error(
                409,
                "6619715",
                "Modification of relationship is in progress: a transfer is running. Retry "
                "the command after it ends, or abort the transfer.",
            )

    def render(self, store: Store, record: Record) -> Record:
        transfers = _transfers_of(store, str(record["uuid"]))
        if not transfers:
            record.pop("transfer", None)
            return record
        last = transfers[-1]
        state, error = _transfer_state(store, last)
        summary = dict(record.get("transfer") or {})
        summary.update(uuid=last["uuid"], state=state)
        summary["bytes_transferred"] = last.get("bytes_transferred", 0)
        if "end_time" in last:
            summary["end_time"] = last["end_time"]
        record["transfer"] = summary
        if error is not None:
            record["healthy"] = False
            record["unhealthy_reason"] = [
                {"code": str(error["code"]), "message": str(error["message"])}
            ]
        ended = [
            t["end_time"] for t in transfers if t.get("state") == "success" and "end_time" in t
        ]
        now = _now(store)
        if ended and now is not None:
            lag = now - datetime.fromisoformat(ended[-1]).timestamp()
            record["lag_time"] = _duration(lag)
        return record

    def refers(self, store: Store, record: Record) -> Iterable[tuple[str, str]]:
        for side in ("source", "destination"):
            svm, _, volume = str(get_path(record, f"{side}.path")).partition(":")
            found = _volume_at(store, svm, volume)
            if found is not None:
                yield ("Volume", str(found["uuid"]))

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        if kind != "Volume":
            return None
        return _error(
            400,
            "18436",
            "The volume is an endpoint of the SnapMirror relationship "
            f'"{get_path(record, "source.path")}" to "{get_path(record, "destination.path")}". '
            'Before you delete the volume, delete the relationship ("snapmirror delete"), and '
            'release its source information ("snapmirror release").',
        )


@register
class SnapmirrorTransferBehaviour(Behaviour):
    """An update (or an initialize) that runs in the background; a PATCH aborts it."""

    resource = TRANSFER

    def prepare_post(self, store: Store, data: Record) -> None:
        relationship_uuid = str(get_path(data, "relationship.uuid"))
        relationship = _table(store, RELATIONSHIP).get((relationship_uuid,))
        if relationship is None:
            raise _error(404, "4", "entry doesn't exist", "relationship.uuid")
        state = relationship.get("state")
        if state in ("broken_off", "paused"):
            reason = "broken off" if state == "broken_off" else "quiesced (paused)"
            raise _error(
                400,
                "13303844",
                f"Update operation failed: the relationship is {reason}.",
                "relationship.uuid",
            )
        if _live_transfer(store, relationship_uuid) is not None:
            raise _error(
                400,
                "13303844",
                "Update operation failed: another transfer is in progress on this relationship.",
                "relationship.uuid",
            )
        if data.get("files"):
            raise _error(400, "13303847", 'Invalid property "files": not a restore relationship.')
        transfer = _new_transfer(store, relationship, "transferring")
        data.update({k: v for k, v in transfer.items() if k != "uuid"})

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "post":
            return
        relationship_uuid = str(get_path(record, "relationship.uuid"))
        relationship = _table(store, RELATIONSHIP)[(relationship_uuid,)]
        kind = "initialize" if relationship.get("state") == "uninitialized" else "update"
        relationship["transfer"] = {"uuid": record["uuid"], "type": kind}
        transfer_uuid = str(record["uuid"])
        generation = store.generation

        def finish() -> None:
            with store.lock:
                rel = _table(store, RELATIONSHIP).get((relationship_uuid,))
                transfer = _table(store, TRANSFER).get((relationship_uuid, transfer_uuid))
                if store.generation != generation or rel is None or transfer is None:
                    raise EffectError("entry doesn't exist", 4)
                if transfer.get("state") in ("aborted", "hard_aborted"):
                    return
                _complete(store, rel, transfer, kind)

        if store.jobs is None or store.take_script is None:
            finish()
            return
        path = f"/api/snapmirror/relationships/{relationship_uuid}/transfers"
        script = store.take_script("POST", path)
        svm = relationship["destination"].get("svm")
        job = store.jobs.create(f"POST {path}", script, effect=finish, svm=svm)
        _TRANSFER_JOBS.setdefault(store, {})[transfer_uuid] = job

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        wanted = changes.get("state")
        if wanted is None:
            return
        state, _ = _transfer_state(store, record)
        if wanted not in ("aborted", "hard_aborted") or state not in ("queued", "transferring"):
            raise _error(
                400,
                "13303849",
                f'SnapMirror transfer state is invalid: cannot go from "{state}" to "{wanted}".',
                "state",
            )
        now = _iso_now(store)
        if now is not None:
            changes["end_time"] = changes["last_updated_time"] = now

    def render(self, store: Store, record: Record) -> Record:
        state, error = _transfer_state(store, record)
        record["state"] = state
        if error is not None:
            record["error_info"] = error
        return record


@register
class SnapmirrorPolicyBehaviour(Behaviour):
    """Built-in policies stay; a policy a relationship uses stays."""

    resource = SM_POLICY
    #: 6619699 "Schedule not found": snapmirror_relationship_create's code ([TRI]); that a
    #: policy's schedules answer it too is INFERRED.
    unknown_reference: ClassVar[Mapping[str, str]] = {
        "transfer_schedule": "6619699",
        "retention.creation_schedule": "6619699",
        "sync_common_snapshot_schedule": "6619699",
    }

    def prepare_post(self, store: Store, data: Record) -> None:
        data.setdefault("type", "async")
        data["scope"] = "svm" if data.get("svm") else "cluster"

    def check_delete(self, store: Store, record: Record) -> None:
        if record.get("uuid") == stable_uuid(SM_POLICY, str(record.get("name"))):
            raise _error(
                400,
                "13303865",
                f'Deleting the built-in SnapMirror policy "{record["name"]}" is not supported.',
            )
        users = [
            r
            for r in _table(store, RELATIONSHIP).values()
            if get_path(r, "policy.uuid") == record.get("uuid")
        ]
        if users:
            raise _error(
                400,
                "13303865",
                f'Deleting the SnapMirror policy "{record.get("name")}" is not supported: '
                f'the relationship to "{get_path(users[0], "destination.path")}" uses it.',
            )


# -- snapshot policies -----------------------------------------------------------------------
def _schedule_ref(store: Store, name: str) -> Record:
    uuid = stable_uuid(SCHEDULE, name)
    return {"name": name, "uuid": uuid}


def _policy_schedules(store: Store, policy: Mapping[str, Any]) -> list[Record]:
    """The policy's schedule records, one per entry of ``copies``."""
    out = []
    for copy_ in policy.get("copies") or []:
        schedule = copy_.get("schedule") or {}
        record: Record = {
            "snapshot_policy": {"name": policy.get("name"), "uuid": policy.get("uuid")},
            "schedule": {"name": schedule.get("name"), "uuid": schedule.get("uuid")},
            "count": copy_.get("count"),
        }
        for field in ("prefix", "retention_period", "snapmirror_label"):
            if field in copy_:
                record[field] = copy_[field]
        out.append(record)
    return out


def _check_copies(copies: list[Record]) -> None:
    total = 0
    prefixes: set[str] = set()
    for index, copy_ in enumerate(copies):
        if copy_.get("count") is None:
            raise _error(
                400,
                "1638407",
                "When adding schedule to a snapshot policy, the count for that schedule must "
                "be specified.",
                f"copies[{index}].count",
            )
        if not (copy_.get("schedule") or {}).get("name"):
            raise _error(
                400,
                "1638408",
                "When adding schedule to a snapshot policy, the schedule name must be specified.",
                f"copies[{index}].schedule.name",
            )
        total += int(copy_["count"])
        prefix = copy_.get("prefix") or copy_["schedule"]["name"]
        if prefix in prefixes:
            raise _error(
                400,
                "1638508",
                f'Another schedule has the same prefix "{prefix}" within this policy.',
                f"copies[{index}].prefix",
            )
        prefixes.add(prefix)
    if total > MAX_POLICY_COPIES:
        raise _error(
            400,
            "1638451",
            "This operation would result in total snapshot count for the policy to exceed "
            f"maximum supported count ({MAX_POLICY_COPIES}).",
            "copies.count",
        )


@register
class SnapshotPolicyBehaviour(Behaviour):
    """Names, copies (count and schedule), built-ins, and no deletion while in use."""

    resource = SNAPSHOT_POLICY
    #: [TRI] snapshot_policy_create: 1638413 "Schedule not found."
    unknown_reference: ClassVar[Mapping[str, str]] = {"copies.schedule": "1638413"}

    def seed(self, store: Store) -> None:
        schedules = _table(store, SCHEDULE)
        for name, cron in BUILTIN_SCHEDULES.items():
            uuid = stable_uuid(SCHEDULE, name)
            schedules[(uuid,)] = {
                "uuid": uuid,
                "name": name,
                "type": "cron",
                "scope": "cluster",
                "cron": {key: list(values) for key, values in cron.items()},
            }
        policies = _table(store, SNAPSHOT_POLICY)
        for name, (copies, enabled) in BUILTIN_SNAPSHOT_POLICIES.items():
            uuid = stable_uuid(SNAPSHOT_POLICY, name)
            policy: Record = {
                "uuid": uuid,
                "name": name,
                "enabled": enabled,
                "scope": "cluster",
                "comment": "",
                "copies": [
                    {"schedule": _schedule_ref(store, s), "count": count, "prefix": s}
                    for s, count in copies
                ],
            }
            policies[(uuid,)] = policy
            _sync_schedules(store, policy)

    def prepare_post(self, store: Store, data: Record) -> None:
        name = str(data.get("name"))
        if not _POLICY_NAME.fullmatch(name):
            raise _error(400, "1638417", f'Specified policy name "{name}" is invalid.', "name")
        svm = get_path(data, "svm.uuid")
        for other in _table(store, SNAPSHOT_POLICY).values():
            if other.get("name") == name and get_path(other, "svm.uuid") in (svm, None):
                raise _error(409, "1638527", f'Policy name "{name}" already exists.', "name")
        copies = data.get("copies") or []
        _check_copies(copies)
        for copy_ in copies:
            copy_.setdefault("prefix", copy_["schedule"]["name"])
        data.setdefault("enabled", True)
        data.setdefault("comment", "")
        data["scope"] = "svm" if data.get("svm") else "cluster"

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "delete":
            table = _table(store, POLICY_SCHEDULE)
            for key in [k for k in table if k[0] == record.get("uuid")]:
                del table[key]
        elif event == "post":
            _sync_schedules(store, record)

    def check_delete(self, store: Store, record: Record) -> None:
        name = record.get("name")
        if record.get("uuid") == stable_uuid(SNAPSHOT_POLICY, str(name)):
            raise _error(400, "1638431", "Cannot delete built-in policy.")
        scope = get_path(record, "svm.uuid")
        for volume in store.records_of("Volume"):
            if get_path(volume, "snapshot_policy.name") == name and (
                record.get("scope") == "cluster" or get_path(volume, "svm.uuid") == scope
            ):
                raise _error(
                    400,
                    "1638415",
                    "Cannot delete policy. Reason: Policy is in use by at least one volume "
                    f'("{volume.get("name")}").',
                )
        for svm in store.records_of("Svm"):
            if get_path(svm, "snapshot_policy.name") == name:
                raise _error(
                    400,
                    "1638430",
                    "Cannot delete policy. Reason: Policy is in use by at least one Vserver "
                    f'("{svm.get("name")}").',
                )


def _sync_schedules(store: Store, policy: Mapping[str, Any]) -> None:
    """Make the policy's schedule records match its ``copies``."""
    table = _table(store, POLICY_SCHEDULE)
    uuid = str(policy.get("uuid"))
    for key in [k for k in table if k[0] == uuid]:
        del table[key]
    for record in _policy_schedules(store, policy):
        table[(uuid, str(record["schedule"]["uuid"]))] = record


def _parent_policy(store: Store, record: Mapping[str, Any]) -> Record:
    uuid = str(get_path(record, "snapshot_policy.uuid"))
    policy = _table(store, SNAPSHOT_POLICY).get((uuid,))
    if policy is None:
        raise EffectError("entry doesn't exist", 4)
    return policy


@register
class SnapshotPolicyScheduleBehaviour(Behaviour):
    """A policy's schedules are its ``copies``: writing one rewrites the other."""

    resource = POLICY_SCHEDULE

    def prepare_post(self, store: Store, data: Record) -> None:
        policy = _table(store, SNAPSHOT_POLICY).get((str(get_path(data, "snapshot_policy.uuid")),))
        if policy is None:
            raise _error(404, "4", "entry doesn't exist", "snapshot_policy.uuid")
        schedule = data.get("schedule") or {}
        if any(get_path(c, "schedule.uuid") == schedule.get("uuid") for c in policy["copies"]):
            raise _error(
                409,
                "1638506",
                f'Schedule "{schedule.get("name")}" is already part of this policy.',
                "schedule.name",
            )
        entry = {"schedule": dict(schedule), "count": data.get("count")}
        entry["prefix"] = data.get("prefix") or schedule.get("name")
        _check_copies([*policy["copies"], entry])
        data["prefix"] = entry["prefix"]
        data["snapshot_policy"]["name"] = policy.get("name")

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if get_path(changes, "schedule.uuid") not in (None, get_path(record, "schedule.uuid")):
            raise bad_value("schedule", "The schedule of a policy's entry cannot be changed.")

    def applied(self, store: Store, event: Event, record: Record) -> None:
        policy = _parent_policy(store, record)
        schedule_uuid = get_path(record, "schedule.uuid")
        copies = [c for c in policy["copies"] if get_path(c, "schedule.uuid") != schedule_uuid]
        if event != "delete":
            entry: Record = {
                k: record[k] for k in ("count", "prefix", "retention_period") if k in record
            }
            entry["schedule"] = dict(record["schedule"])
            copies.append(entry)
        policy["copies"] = copies


# -- consistency groups -----------------------------------------------------------------------
def _members(store: Store, group: Mapping[str, Any]) -> list[Record]:
    wanted = {v.get("uuid") for v in group.get("volumes") or []}
    return [v for v in store.records_of("Volume") if v.get("uuid") in wanted]


def _group_of(store: Store, volume_uuid: str) -> Record | None:
    for group in _table(store, CONSISTENCY_GROUP).values():
        if any(v.get("uuid") == volume_uuid for v in group.get("volumes") or []):
            return group
    return None


def _cg_volumes(
    store: Store, group: Mapping[str, Any], given: list[Record], *, creating: bool
) -> list[Record]:
    """The group's volumes after ``given`` (each added, removed or kept by its action)."""
    svm_name = get_path(group, "svm.name")
    volumes = {v["uuid"]: v for v in (group.get("volumes") or []) if not creating}
    for index, entry in enumerate(given):
        target = f"volumes[{index}].name"
        name = entry.get("name") or ""
        action = get_path(entry, "provisioning_options.action")
        found = _volume_at(store, str(svm_name), str(name))
        if action == "remove":
            if found is None or found["uuid"] not in volumes:
                raise _error(
                    400, "53411861", f'Volume "{name}" is not in the consistency group.', target
                )
            del volumes[found["uuid"]]
            continue
        if found is None:
            raise _error(
                400,
                "53411861",
                f'Volume "{name}" does not exist in SVM "{svm_name}": the simulator adds '
                'existing volumes (provisioning_options.action "add") and does not provision '
                "new ones.",
                target,
            )
        if found["uuid"] in volumes:
            continue
        if action != "add":
            raise _error(
                400,
                "53411864",
                f'Request content insufficient to add the existing volume "{name}" to a '
                'consistency group: give provisioning_options.action "add".',
                target,
            )
        other = _group_of(store, str(found["uuid"]))
        if other is not None and other.get("uuid") != group.get("uuid"):
            raise _error(
                400,
                "53411865",
                f'Volume "{name}" is in the consistency group "{other.get("name")}": volumes '
                "contained in one consistency group cannot be added to a different one.",
                target,
            )
        volumes[found["uuid"]] = {"name": found["name"], "uuid": found["uuid"]}
    return list(volumes.values())


@register
class ConsistencyGroupBehaviour(Behaviour):
    """A named group of existing volumes of one SVM; each volume in one group at most."""

    resource = CONSISTENCY_GROUP

    def prepare_post(self, store: Store, data: Record) -> None:
        if not data.get("svm"):
            raise _error(
                400,
                "2621707",
                'No SVM was specified. Either "svm.name" or "svm.uuid" must be supplied.',
                "svm.name",
            )
        name = data.get("name")
        if not name:
            raise _error(400, "53411846", "Either name or UUID must be provided.", "name")
        if not _CG_NAME.fullmatch(str(name)):
            raise _error(
                400,
                "5376461",
                f'The specified name "{name}" is invalid because it does not match the format '
                "requirements.",
                "name",
            )
        svm = get_path(data, "svm.uuid")
        if any(
            g.get("name") == name and get_path(g, "svm.uuid") == svm
            for g in _table(store, CONSISTENCY_GROUP).values()
        ):
            raise _error(
                409,
                "53411860",
                f'An object with the same identifier in the same scope exists: "{name}".',
                "name",
            )
        for field in ("luns", "namespaces", "consistency_groups"):
            if data.get(field):
                raise _error(
                    400,
                    "53411856",
                    f'The simulator\'s consistency groups hold volumes only, not "{field}".',
                    field,
                )
        data["volumes"] = _cg_volumes(store, data, list(data.get("volumes") or []), creating=True)
        data["replicated"] = False
        data["replication_source"] = False

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if "volumes" in changes:
            changes["volumes"] = _cg_volumes(
                store, record, list(changes["volumes"] or []), creating=False
            )

    def render(self, store: Store, record: Record) -> Record:
        members = _members(store, record)
        record["volumes"] = [
            {
                "name": v.get("name"),
                "uuid": v.get("uuid"),
                "space": {
                    "size": get_path(v, "space.size"),
                    "available": get_path(v, "space.available"),
                    "used": get_path(v, "space.used"),
                },
            }
            for v in members
        ]
        record["space"] = {
            key: sum(int(get_path(v, f"space.{key}") or 0) for v in members)
            for key in ("size", "available", "used")
        }
        return record
