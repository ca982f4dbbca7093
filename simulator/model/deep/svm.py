"""SVMs: names, ONTAP's defaults, protocols, limits, and the refusal to delete one in use.

- a name is 1 to 47 characters: letters, digits, ``_``, ``-`` and ``.``, starting with a
  letter or ``_``; unique in the cluster;
- defaults as ``vserver create`` sets them: running, subtype ``default``, language
  ``c.utf_8``, the ``Default`` IPspace, snapshot policy ``default``, every protocol allowed
  and none enabled, unlimited volumes;
- ``max_volumes`` is ``"unlimited"`` or a number (an integer is taken as one);
- an SVM that holds volumes is not deleted (409, code 1), nor one another record holds (its
  own refusal); what ONTAP deletes with an SVM goes with it.

- an SVM POST's ``dns`` (``domains``, ``servers``) creates the SVM's DNS configuration, the
  record of ``/api/name-services/dns/{svm.uuid}``; the SVM's ``dns`` shows that record (one
  state: a DNS PATCH or DELETE shows in the SVM). The DNS record is keyed by its SVM's uuid,
  one per SVM, and goes with the SVM.

What the SVM's own record keeps although ONTAP configures it as a resource of its own (not
yet one state with it): ``nfs``/``cifs``/``iscsi``/``fcp``/``nvme``/``s3`` ``enabled``,
``cifs.name``/``ad_domain``, ``ldap``, ``nis``, ``nsswitch``; an SVM POST's
``ip_interfaces``, ``fc_interfaces`` and ``routes`` are kept as given on the SVM record (no
interface or route record is created).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from ...errors import ApiError, bad_value
from ...query import get_path
from ..behaviour import Behaviour, Event, register
from ..body import invalid, show
from .inventory import derived_uuid

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["svm_reference"]

Record = dict[str, Any]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,46}")
_DIGITS = re.compile(r"[0-9]{1,19}")
_PROTOCOLS = ("nfs", "cifs", "iscsi", "fcp", "nvme", "s3")
DNS = "Dns"


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


def check_policy_pair(store: Store, body: Record) -> None:
    """ONTAP's 400 1638587 when ``snapshot_policy`` names one policy by name and another by
    uuid ([TRI] volume_create; INFERRED for the other writes)."""
    ref = body.get("snapshot_policy")
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("uuid"):
        return
    found = store.tables.get("SnapshotPolicy", {}).get((str(ref["uuid"]),))
    if found is not None and found.get("name") != ref["name"]:
        raise ApiError(
            400,
            "1638587",
            "The specified snapshot_policy.name and snapshot_policy.uuid refer to different "
            "snapshot policies.",
            "snapshot_policy.name",
        )


def fill_policy(store: Store, data: Record, svm_uuid: Any) -> None:
    """Give ``snapshot_policy`` its uuid where it has a name only (a default): the policy of
    that name in the SVM, else the cluster's."""
    ref = data.get("snapshot_policy")
    if not isinstance(ref, dict) or "uuid" in ref or not ref.get("name"):
        return
    candidates = [
        p
        for p in store.tables.get("SnapshotPolicy", {}).values()
        if p.get("name") == ref["name"] and (p.get("svm") or {}).get("uuid") in (svm_uuid, None)
    ]
    candidates.sort(key=lambda p: (p.get("svm") or {}).get("uuid") is None)
    if candidates:
        ref["uuid"] = candidates[0].get("uuid")


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
    #: QoS templates are kept as given (INFERRED: the simulator does not model templates).
    unchecked = frozenset({"qos_policy_group_template", "qos_adaptive_policy_group_template"})
    #: [TRI] svm_modify: 13434886 "Invalid snapshot policy." (INFERRED for a POST, whose
    #: list names none); a QoS policy: INFERRED, ONTAP's generic code.
    unknown_reference: ClassVar[Mapping[str, str]] = {"snapshot_policy": "13434886"}

    def prepare_body(self, store: Store, body: Record, method: Any) -> None:
        check_policy_pair(store, body)
        limit = body.get("max_volumes")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            body["max_volumes"] = str(limit)
        elif limit is not None and not (
            isinstance(limit, str) and (limit == "unlimited" or _DIGITS.fullmatch(limit))
        ):
            raise invalid("max_volumes", limit, 'expected "unlimited" or a number of volumes')

    def prepare_post(self, store: Store, data: Record) -> None:
        self.prepare_patch(store, {}, data)
        if "dns" in data:
            _check_dns(data["dns"], "dns.")
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
        fill_policy(store, data, data.get("uuid"))

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
        dns = record.pop("dns", None)  # the DNS record holds it, never the SVM
        if event == "post" and isinstance(dns, dict):
            body = {"svm": {"uuid": record.get("uuid")}, **dns}
            create(store, "/api/name-services/dns", body)

    def render(self, store: Store, record: Record) -> Record:
        dns = store.tables.get(DNS, {}).get((str(record.get("uuid")),))
        if dns is not None:
            record["dns"] = {
                **{k: copy.deepcopy(dns[k]) for k in ("domains", "servers") if k in dns},
                "_links": {"self": {"href": f"/api/name-services/dns/{record.get('uuid')}"}},
            }
        return record

    def location(self, store: Store, record: Record) -> str | None:
        return "/api/svm/svms/?" + urlencode({"name": record.get("name")})

    def job_svm(self, store: Store, record: Record) -> Record | None:
        uuid = record.get("uuid")
        return {
            "name": record.get("name"),
            "uuid": uuid,
            "_links": {"self": {"href": f"/api/svm/svms/{uuid}"}},
        }


@register
class DnsBehaviour(Behaviour):
    """An SVM's DNS configuration: keyed by its SVM's uuid, as ONTAP's path says."""

    resource = DNS

    def prepare_post(self, store: Store, data: Record) -> None:
        _check_dns(data, "")
        svm = get_path(data, "svm.uuid")
        if isinstance(svm, str):
            # INFERRED: ONTAP's record path is /api/name-services/dns/{svm.uuid}.
            data["uuid"] = svm
            data.setdefault("scope", "svm")


def _check_dns(dns: Record, prefix: str) -> None:
    """400 naming ``domains`` or ``servers`` when a DNS configuration lacks either
    (INFERRED: ``vserver services name-service dns create`` takes both as mandatory)."""
    for field in ("domains", "servers"):
        if not dns.get(field):
            raise bad_value(
                f"{prefix}{field}", f'Missing value for required field "{prefix}{field}".'
            )


def create(store: Store, template: str, body: Record) -> None:
    """Create a record as a POST of ``body`` on ``template`` would, at once (another write's
    side effect: the write's own query arguments are kept)."""
    from ..store import fill_path

    operation = next(o for o in store.spec.operations_on(template) if o.method == "POST")
    target = store.target(template, fill_path(template, []), [])
    query = store.query
    try:
        store.plan(operation, target, body, {}).effect()
    finally:
        store.query = query


def _merge_under(data: Record, defaults: Record) -> None:
    """``data`` with ``defaults`` filled in beneath what it gives (objects key by key)."""
    from ..store import deep_merge

    merged = defaults
    deep_merge(merged, data)
    data.clear()
    data.update(merged)
