"""FPolicy: an SVM's configuration (``/api/protocols/fpolicy``) and its policies.

Facts (netapp-ontap's ``fpolicy*`` docstrings, ONTAP 9.19): engines, events and policies are
created in an *existing SVM* (``svm.uuid`` is their only precondition); ``/protocols/fpolicy``
shows an SVM's FPolicy configuration — its engines, events, policies and persistent stores —
and its POST creates them together, its DELETE removes them. So every SVM has a configuration
(an empty one until something is created in it: INFERRED, ONTAP lists no SVM without one in its
examples); it is not a record of its own here but the view of the SVM's FPolicy objects.

A policy's POST requires ``events``, ``scope`` and ``priority`` (REST creates it enabled, at
that priority); ``fpolicy policy create`` (the CLI) takes neither, creating a disabled policy
whose scope ``fpolicy policy scope create`` sets later: :func:`create_policy` is that path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ApiError
from ..behaviour import Behaviour, Event, register
from .common import all_records as _all
from .common import value_at as get_path

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["clear_scope", "create_policy", "set_events"]

Record = dict[str, Any]
#: The SVM's FPolicy objects the configuration shows, by its field and their resource.
PARTS = {
    "engines": "FpolicyEngine",
    "events": "FpolicyEvent",
    "policies": "FpolicyPolicy",
    "persistent_stores": "FpolicyPersistentStore",
}
#: The engine ONTAP uses when a policy names none (netapp-ontap: ``engine`` defaults to native).
NATIVE = "native"


def _svm_uuid(record: Mapping[str, Any]) -> Any:
    return get_path(record, "svm.uuid")


def _of_svm(store: Store, resource: str, svm: Any) -> list[Record]:
    return [r for r in store.tables.get(resource, {}).values() if _svm_uuid(r) == svm]


@register
class FpolicyConfiguration(Behaviour):
    """``/api/protocols/fpolicy``: one configuration per SVM, showing its FPolicy objects."""

    resource = "Fpolicy"

    def sync(self, store: Store) -> None:
        svms = {s["uuid"]: s.get("name") for s in _all(store, "Svm")}
        table = store.tables.setdefault(self.resource, {})
        for key, record in list(table.items()):
            if _svm_uuid(record) not in svms:
                del table[key]
        for uuid, name in svms.items():
            table.setdefault((str(uuid),), {"svm": {"uuid": uuid, "name": name}})

    def make_room(self, store: Store, key: tuple[str, ...], record: Record, apply: bool) -> bool:
        return True  # the SVM's configuration exists already: a POST adds objects to it

    def prepare_post(self, store: Store, data: Record) -> None:
        svm = _svm_uuid(data)
        for part, resource in PARTS.items():
            taken = {r.get("name") for r in _of_svm(store, resource, svm)}
            for item in data.get(part) or []:
                if item.get("name") in taken:
                    raise ApiError(
                        409,
                        "9765032",
                        f'FPolicy {part[:-1]} "{item.get("name")}" already exists.',
                        part,
                    )
                taken.add(item.get("name"))

    def applied(self, store: Store, event: Event, record: Record) -> None:
        svm = {"uuid": _svm_uuid(record), "name": get_path(record, "svm.name")}
        if event == "delete":
            for resource in PARTS.values():
                table = store.tables.get(resource, {})
                for key in [k for k, r in table.items() if _svm_uuid(r) == svm["uuid"]]:
                    del table[key]
            return
        if event != "post":
            return
        for part in ("persistent_stores", "engines", "events", "policies"):
            spec = store.spec.resources[PARTS[part]]
            for item in record.pop(part, None) or []:
                data = {**copy.deepcopy(item), "svm": dict(svm)}
                if part == "policies":
                    data.setdefault("enabled", True)
                    data.setdefault("mandatory", True)
                    data.setdefault("engine", {"name": NATIVE})
                store.insert(spec, data)

    def render(self, store: Store, record: Record) -> Record:
        svm = _svm_uuid(record)
        for part, resource in PARTS.items():
            found = [
                {k: v for k, v in copy.deepcopy(r).items() if k not in ("svm", "_links")}
                for r in _of_svm(store, resource, svm)
            ]
            if found:
                record[part] = found
        return record


def _check_policy(store: Store, data: Record) -> None:
    """A policy's events and engine exist in its SVM (Trident's ``fpolicy_policy_create``
    codes); its priority is 1 to 10 (netapp-ontap; code INFERRED)."""
    svm = _svm_uuid(data)
    events = {r.get("name") for r in _of_svm(store, "FpolicyEvent", svm)}
    for event in data.get("events") or []:
        if event.get("name") not in events:
            raise ApiError(
                400, "9764875", f'FPolicy event "{event.get("name")}" does not exist.', "events"
            )
    engine = get_path(data, "engine.name")
    if engine not in (None, NATIVE) and engine not in {
        r.get("name") for r in _of_svm(store, "FpolicyEngine", svm)
    }:
        raise ApiError(400, "9764888", f'FPolicy engine "{engine}" does not exist.', "engine.name")
    priority = data.get("priority")
    if priority is not None and not 1 <= int(priority) <= 10:
        raise ApiError(400, "2", "The priority ranges from 1 to 10.", "priority")


@register
class FpolicyPolicies(Behaviour):
    """A policy names events and an engine of its SVM; the native engine by default."""

    resource = "FpolicyPolicy"
    unknown_reference: ClassVar[Mapping[str, str]] = {"engine": "9764888"}
    #: ``scope`` is required too, refused with its own code by :meth:`prepare_post`.
    required_post: ClassVar[tuple[tuple[str, ...], ...] | None] = (
        ("events",),
        ("name",),
        ("priority",),
    )

    def prepare_body(self, store: Store, body: Record, method: Any) -> None:
        if get_path(body, "engine.name") == NATIVE:
            body.pop("engine")  # the built-in engine is no FpolicyEngine record

    def prepare_post(self, store: Store, data: Record) -> None:
        if not data.get("scope"):
            raise ApiError(
                400,
                "9764898",
                "An FPolicy policy cannot be created without defining its scope.",
                "scope",
            )
        _check_policy(store, data)
        data.setdefault("enabled", True)
        data.setdefault("mandatory", True)
        data.setdefault("engine", {"name": NATIVE})

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        merged = {**copy.deepcopy(record), **changes}
        _check_policy(store, merged)


def create_policy(store: Store, data: Record) -> None:
    """``vserver fpolicy policy create``: a disabled policy without scope or priority (the CLI
    takes neither), after the checks a REST POST makes of its events and engine."""
    with store.lock:
        _check_policy(store, data)
        svm, name = _svm_uuid(data), data.get("name")
        if any(r.get("name") == name for r in _of_svm(store, "FpolicyPolicy", svm)):
            raise ApiError(409, "9765032", f'FPolicy policy "{name}" already exists.', "name")
        data.setdefault("enabled", False)
        data.setdefault("mandatory", True)
        data.setdefault("engine", {"name": NATIVE})
        store.insert(store.spec.resources["FpolicyPolicy"], data)


def _policy(store: Store, svm: str, name: str) -> Record:
    found = next((r for r in _of_svm(store, "FpolicyPolicy", svm) if r.get("name") == name), None)
    if found is None:
        raise ApiError(404, "4", f'FPolicy policy "{name}" does not exist.', "name")
    return found


def set_events(store: Store, svm: str, name: str, events: list[Record]) -> None:
    """``vserver fpolicy policy modify -events``: the policy monitors these events (each must
    exist, as for a create)."""
    with store.lock:
        record = _policy(store, svm, name)
        _check_policy(store, {**record, "events": events})
        record["events"] = copy.deepcopy(events)


def clear_scope(store: Store, svm: str, name: str) -> None:
    """``vserver fpolicy policy scope delete``: the policy has no scope any more."""
    with store.lock:
        _policy(store, svm, name).pop("scope", None)
