"""Records whose keys ONTAP assigns in a form the generic store cannot guess.

The store gives a new record its uuid, its next integer id, or (for another key a POST cannot
set) a uuid string (:func:`~simulator.model.store.assigns_key`); these models assign the keys
that have a shape of their own, so that their POST, which the declaration lets no client
complete, succeeds as on ONTAP:

- a CIFS local user's or group's ``sid``: the SVM's local domain SID and a relative id from
  1000 up, shared by users and groups (``S-1-5-21-<a>-<b>-<c>-<rid>``: Microsoft's layout;
  the SVM's three numbers are derived from its uuid here, INFERRED);
- a SnapLock event retention policy is keyed ``policy.name`` in the declaration and named by
  ``name`` in its body (netapp-ontap's example POSTs ``{"name": ..., "retention_period": ...}``);
- an AutoSupport message (``POST /api/support/autosupport/messages`` invokes AutoSupport) is
  one record per node and destination: ``smtp``, ``http`` and ``noteto``, ``http`` sent and the
  others ignored (netapp-ontap's examples); on every node when the body names none.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING, Any

from ...errors import ApiError
from ..behaviour import Behaviour, Event, register
from .common import all_records as _all
from .common import value_at as get_path

if TYPE_CHECKING:
    from ..store import Store

Record = dict[str, Any]
#: The first relative id of a local user or group (Microsoft's first non-built-in RID).
FIRST_RID = 1000
_LOCAL = ("LocalCifsUser", "LocalCifsGroup")


def domain_sid(svm_uuid: str) -> str:
    """The SVM's local domain SID (stable: derived from its uuid)."""
    number = uuidlib.UUID(svm_uuid).int if _is_uuid(svm_uuid) else hash(svm_uuid) & (2**96 - 1)
    parts = [(number >> shift) & 0xFFFFFFFF for shift in (64, 32, 0)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


class _LocalAccount(Behaviour):
    def prepare_post(self, store: Store, data: Record) -> None:
        svm = str(get_path(data, "svm.uuid"))
        prefix = domain_sid(svm) + "-"
        taken = [
            int(str(r.get("sid"))[len(prefix) :])
            for name in _LOCAL
            for r in store.tables.get(name, {}).values()
            if str(r.get("sid", "")).startswith(prefix) and str(r["sid"])[len(prefix) :].isdigit()
        ]
        data["sid"] = prefix + str(max([FIRST_RID - 1, *taken]) + 1)


@register
class LocalCifsUsers(_LocalAccount):
    """A CIFS local user gets its SID from its SVM's local domain."""

    resource = "LocalCifsUser"

    def prepare_post(self, store: Store, data: Record) -> None:
        super().prepare_post(store, data)
        data.setdefault("account_disabled", False)


@register
class LocalCifsGroups(_LocalAccount):
    """A CIFS local group gets its SID from its SVM's local domain."""

    resource = "LocalCifsGroup"


@register
class SnaplockRetentionPolicies(Behaviour):
    """An event retention policy is found by its ``name`` (the path's ``policy.name``)."""

    resource = "SnaplockRetentionPolicy"

    def prepare_post(self, store: Store, data: Record) -> None:
        data["policy"] = {"name": data.get("name")}

    def render(self, store: Store, record: Record) -> Record:
        record.pop("policy", None)
        return record


#: An AutoSupport message's destinations and the state each reaches (netapp-ontap's examples).
DESTINATIONS = {"smtp": "ignore", "http": "sent_successful", "noteto": "ignore"}


@register
class AutosupportMessages(Behaviour):
    """Invoking AutoSupport: a message per node (every node by default) and destination."""

    resource = "AutosupportMessage"

    def prepare_post(self, store: Store, data: Record) -> None:
        nodes = _all(store, "Node")
        if get_path(data, "node.uuid") is None and nodes:
            data["node"] = {"uuid": nodes[0]["uuid"], "name": nodes[0].get("name")}
            data["_every_node"] = True
        data["destination"] = "http"
        _fill_message(data)

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "post":
            return
        spec = store.spec.resources[self.resource]
        everywhere = record.pop("_every_node", False)
        table = store.tables.setdefault(self.resource, {})
        for node in _all(store, "Node"):
            if node["uuid"] != get_path(record, "node.uuid") and not everywhere:
                continue
            for destination, state in DESTINATIONS.items():
                if (str(node["uuid"]), str(record["index"]), destination) in table:
                    continue
                sibling = {k: v for k, v in record.items() if k not in ("node", "destination")}
                sibling["node"] = {"uuid": node["uuid"], "name": node.get("name")}
                sibling.update(destination=destination, state=state)
                store.insert(spec, sibling)

    def render(self, store: Store, record: Record) -> Record:
        for name in ("message", "type", "uri"):
            record.pop(name, None)
        return record


def _fill_message(data: Record) -> None:
    kind = str(data.get("type") or "test").upper()
    data["subject"] = f"USER_TRIGGERED ({kind}:{data.get('message', '')})"
    data["state"] = "sent_successful"


@register
class Licenses(Behaviour):
    """A license package is named after what its key unlocks, which the simulator cannot read
    from a key: a POST is refused as ONTAP refuses a key it cannot decode (1115159, Trident's
    ``license_create`` codes), never installed under a made-up name; a scenario's ``records``
    seed packages."""

    resource = "LicensePackage"

    def prepare_post(self, store: Store, data: Record) -> None:
        raise ApiError(
            400,
            "1115159",
            "License is not in an acceptable format: the simulator cannot decode license keys "
            '(seed license packages through a scenario\'s "records").',
            "keys",
        )
