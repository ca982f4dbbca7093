"""SVMs: names, ONTAP's defaults, protocols, limits, and the refusal to delete one in use.

- a name is 1 to 47 characters: letters, digits, ``_``, ``-`` and ``.``, starting with a
  letter or ``_``; unique in the cluster;
- defaults as ``vserver create`` sets them: running, subtype ``default``, language
  ``c.utf_8``, the ``Default`` IPspace, snapshot policy ``default``, every protocol allowed
  and none enabled, unlimited volumes;
- ``max_volumes`` is ``"unlimited"`` or a number (an integer is taken as one);
- an SVM that holds volumes is not deleted (409, code 1), nor one another record holds (its
  own refusal); what ONTAP deletes with an SVM goes with it.

The SVM's DNS is its own resource here (``/api/name-services/dns``): an SVM POST naming
``dns`` is refused rather than dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from ...errors import ApiError
from ..behaviour import Behaviour, Event, register
from ..body import invalid, refused_field, show
from .inventory import derived_uuid

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["svm_reference"]

Record = dict[str, Any]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,46}")
_DIGITS = re.compile(r"[0-9]{1,19}")
_PROTOCOLS = ("nfs", "cifs", "iscsi", "fcp", "nvme", "s3")


def svm_reference(store: Store, svm_uuid: Any) -> Record | None:
    """``{"name", "uuid", "_links"}`` of the SVM ``svm_uuid``, as volumes and jobs show it."""
    svm = store.tables.get("Svm", {}).get((str(svm_uuid),))
    if svm is None:
        return None
    return {
        "name": svm.get("name"),
        "uuid": svm_uuid,
        "_links": {"self": {"href": f"/api/svm/svms/{svm_uuid}"}},
    }


def check_range(data: Record, dotted: str, low: int, high: int | None) -> None:
    """400 naming ``dotted`` when its integer is outside ``low..high``."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if node < low or (high is not None and node > high):
        shown = f"<{low}..{high}>" if high is not None else f"<{low}..>"
        raise invalid(dotted, node, f"expected {shown}")


def check_name(pattern: re.Pattern[str], what: str, rule: str, name: Any) -> None:
    """400 naming ``name`` unless it matches ``pattern``."""
    if isinstance(name, str) and not pattern.fullmatch(name):
        raise ApiError(400, "2", f"Invalid {what} name {show(name)}: {rule}.", "name")


@register
class SvmBehaviour(Behaviour):
    """The rules of an SVM (``/api/svm/svms``)."""

    resource = "Svm"
    rendered = True
    computed = True
    takes: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "post": ("state",),
        "patch": (
            "subtype",
            "ipspace.name",
            *(f"{protocol}.enabled" for protocol in _PROTOCOLS),
        ),
    }
    unchecked = frozenset(
        {
            "snapshot_policy",
            "qos_policy",
            "qos_policy_group_template",
            "qos_adaptive_policy_group_template",
        }
    )

    def prepare_body(self, store: Store, body: Record, method: Any) -> None:
        if "dns" in body:
            raise refused_field("dns", ())
        limit = body.get("max_volumes")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            body["max_volumes"] = str(limit)
        elif limit is not None and not (
            isinstance(limit, str) and (limit == "unlimited" or _DIGITS.fullmatch(limit))
        ):
            raise invalid("max_volumes", limit, 'expected "unlimited" or a number of volumes')

    def prepare_post(self, store: Store, data: Record) -> None:
        self.prepare_patch(store, {}, data)
        defaults: Record = {
            "uuid": data.get("uuid"),
            "name": data.get("name"),
            "state": "running",
            "subtype": "default",
            "language": "c.utf_8",
            "aggregates": [],
            "ipspace": {"name": "Default", "uuid": derived_uuid("ipspace", "Default")},
            "snapshot_policy": {"name": "default"},
            **{p: {"enabled": False, "allowed": True} for p in _PROTOCOLS},
            "ndmp": {"allowed": True},
            "max_volumes": "unlimited",
            "auto_enable_analytics": False,
            "auto_enable_activity_tracking": False,
            "storage": {"limit": 0, "limit_threshold_alert": 0},
        }
        if "ipspace" in data:
            del defaults["ipspace"]
        _merge_under(data, defaults)

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        check_name(
            _NAME,
            "SVM",
            'names are 1 to 47 characters: letters, digits, "_", "-" and ".", '
            'starting with a letter or "_"',
            changes.get("name"),
        )
        check_range(changes, "storage.limit", 0, None)
        check_range(changes, "storage.limit_threshold_alert", 0, 100)

    def check_delete(self, store: Store, record: Record) -> None:
        uuid = record.get("uuid")
        if any(
            v.get("svm", {}).get("uuid") == uuid for v in store.tables.get("Volume", {}).values()
        ):
            raise ApiError(
                409,
                "1",
                f'Cannot delete SVM "{record.get("name")}" because it contains volumes.',
                "name",
            )
        held = store.holder("Svm", str(uuid))
        if held is not None:
            raise held

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "delete":
            store.release("Svm", str(record.get("uuid")))  # what ONTAP deletes with the SVM

    def location(self, store: Store, record: Record) -> str | None:
        return "/api/svm/svms/?" + urlencode({"name": record.get("name")})

    def job_svm(self, store: Store, record: Record) -> Record | None:
        uuid = record.get("uuid")
        return {
            "name": record.get("name"),
            "uuid": uuid,
            "_links": {"self": {"href": f"/api/svm/svms/{uuid}"}},
        }


def _merge_under(data: Record, defaults: Record) -> None:
    """``data`` with ``defaults`` filled in beneath what it gives (objects key by key)."""
    from ..store import deep_merge

    merged = defaults
    deep_merge(merged, data)
    data.clear()
    data.update(merged)
