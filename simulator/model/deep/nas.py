"""NAS: qtrees, NFS export policies and rules, CIFS servers and shares, quota rules.

ONTAP's rules as netapp-ontap's docstrings and the error tables of Trident's generated REST
client document them (docs/nas.md lists each with its source; INFERRED marks the ones that
are not documented). Shapes come from the declaration; what is here is the rules:

- every SVM has an export policy ``default`` (the one volumes name unless told otherwise),
  whose id, like every policy's, is ONTAP's ``(SVM number << 32) + n``;
- rules of a policy are numbered by ``index``: a new rule goes to the end, or takes the index
  it names and moves the rules from there along up to the first gap; a policy POST or PATCH
  with ``rules`` creates (replaces) its rule records;
- a qtree lives in a volume of its SVM, numbered per volume (id 0 is the volume's default
  qtree, ``""``), and inherits the volume's security style, permissions and export policy;
- a CIFS share needs the SVM's CIFS server (a ``CifsService`` record) and a path in a mounted
  volume; it keeps that volume from deletion; a CIFS server comes with ``c$``, ``admin$`` and
  ``ipc$``;
- a quota rule's type decides its target (users, group or qtree); creating an explicit rule
  adds the volume's default rule of that type.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid as uuidlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ...errors import ApiError, bad_value
from ...jobs import EffectError
from ...query import parse_int
from ..behaviour import Behaviour, Event, register
from .common import all_records as _all
from .common import value_at as get_path

if TYPE_CHECKING:
    from ..store import Store

Record = dict[str, Any]


Method = Literal["post", "patch"]

#: ONTAP numbers an SVM's export policies from ``svm_number << 32`` (netapp-ontap's docs show
#: 8589934593, ``2 << 32 | 1``); data SVMs are numbered from 2 (INFERRED).
_POLICY_SHIFT = 32
_FIRST_SVM_NUMBER = 2
_MAX_INDEX = 4294967295
_FLAVORS = frozenset({"any", "none", "never", "krb5", "krb5i", "krb5p", "ntlm", "sys"})
_PROTOCOLS = frozenset({"any", "nfs", "nfs3", "nfs4", "cifs", "flexcache", "nfs4.1", "nfs4.2"})
#: ONTAP's defaults for a rule POST (netapp-ontap's ExportRule.post docstring).
_RULE_DEFAULTS: Mapping[str, Any] = {
    "protocols": ["any"],
    # The docstring says "none"; clusters show the CLI's default, 65534, and netapp.ontap's
    # na_ontap_export_policy_rule reads the field unconditionally (INFERRED).
    "anonymous_user": "65534",
    "superuser": ["any"],
    "allow_device_creation": True,
    "ntfs_unix_security": "fail",
    "chown_mode": "restricted",
    "allow_suid": True,
    "allow_nfs_tls_only": False,
}
#: ONTAP's defaults for a share POST (netapp-ontap's CifsShare.post docstring).
_SHARE_DEFAULTS: Mapping[str, Any] = {
    "home_directory": False,
    "oplocks": True,
    "access_based_enumeration": False,
    "change_notify": True,
    "encryption": False,
    "unix_symlink": "local",
}
#: Shares a CIFS server has from its creation (``vserver cifs share show``).
_ADMIN_SHARES = ("admin$", "c$", "ipc$")
#: Their comments (Windows' own; INFERRED for ONTAP).
_ADMIN_COMMENTS = {"admin$": "Remote Admin", "c$": "Default Share", "ipc$": "Remote IPC"}
_SHARE_NAME_BAD = re.compile(r'["/\\\[\]:|<>+=;,?*\x00-\x1f]')
_HOSTNAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*"
)
_NETGROUP = re.compile(r"[A-Za-z0-9._\-]+")
_NETBIOS_BAD = re.compile(r'[\\/:*?"<>|.\s]')
#: ``rwxr-xr-x``, with ONTAP's leading type or special-bit characters (``---rwxr-xr-x``).
_PERMISSIONS = re.compile(r"(?:[-d]|[-sStT]{3})?(?:[r-][w-][xsStT-]){3}")


def _error(code: str, message: str, target: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status, code, message, target)


def _by_name(records: Iterable[Record], name: Any) -> Record | None:
    return next((r for r in records if r.get("name") == name), None)


def _svm_uuid(record: Mapping[str, Any]) -> str | None:
    value = get_path(record, "svm.uuid")
    return value if isinstance(value, str) else None


def _volume_of(store: Store, uuid: Any) -> Record | None:
    volumes: dict[Any, Record] = store.cached(
        ("volumes by uuid", None), lambda: {v.get("uuid"): v for v in _all(store, "Volume")}
    )
    return volumes.get(uuid)


def _svm_named(store: Store, ref: Any) -> Record | None:
    """The SVM a body's ``svm`` (``{"name"}``, ``{"uuid"}``) names, if any."""
    if not isinstance(ref, Mapping):
        return None
    for svm in _all(store, "Svm"):
        given = [k for k in ("name", "uuid") if ref.get(k) is not None]
        if given and all(svm.get(k) == ref[k] for k in given):
            return svm
    return None


def _permissions(value: Any) -> Any:
    """ONTAP's spellings of UNIX permissions as the integer GET shows (``755``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) <= 4 and all(c in "01234567" for c in text):
            return int(text)
        if _PERMISSIONS.fullmatch(text):
            bits = text[-9:]
            digits = [
                sum(v for c, v in zip(bits[i : i + 3], (4, 2, 1), strict=True) if c not in "-ST")
                for i in (0, 3, 6)
            ]
            return int("".join(str(d) for d in digits))
    return value


def _integer_text(value: Any) -> Any:
    """A JSON string of digits as the integer it spells (netapp.ontap sends limits so)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


# -- NFS export policies ------------------------------------------------------------------
def _policies(store: Store) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault("ExportPolicy", {})


def _rules(store: Store) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault("ExportRule", {})


def _policy_rules(store: Store, policy_id: Any) -> list[Record]:
    found = [r for r in _rules(store).values() if str(get_path(r, "policy.id")) == str(policy_id)]
    return sorted(found, key=lambda r: int(r.get("index", 0)))


def _new_policy_id(store: Store, svm_uuid: str) -> int:
    svms = [s.get("uuid") for s in _all(store, "Svm")]
    number = _FIRST_SVM_NUMBER + (svms.index(svm_uuid) if svm_uuid in svms else len(svms))
    taken = {r.get("id") for r in _policies(store).values()}
    low = [
        int(i) & 0xFFFFFFFF for i in taken if isinstance(i, int) and i >> _POLICY_SHIFT == number
    ]
    candidate = (number << _POLICY_SHIFT) + max(low, default=0) + 1
    while candidate in taken:
        candidate += 1
    return candidate


def _check_policy_name(body: Mapping[str, Any]) -> None:
    name = body.get("name")
    if not isinstance(name, str):
        return
    if len(name) > 256:
        raise _error(
            "1704047", "The export policy name cannot be longer than 256 characters.", "name"
        )
    if not name or any(c.isspace() for c in name):
        raise _error(
            "1703952",
            "Invalid ruleset name provided. No spaces are allowed in a ruleset name.",
            "name",
        )


def _check_match(match: str, target: str) -> list[str]:
    """The client matches one ``clients.match`` string holds (a comma-separated list)."""
    entries = [part.strip() for part in match.split(",")]
    if len(set(entries)) != len(entries):
        raise _error(
            "1704050",
            "Invalid clientmatch: clientmatch list contains a duplicate string.",
            target,
        )
    for entry in entries:
        _check_client(entry, target)
    return entries


def _check_client(entry: str, target: str) -> None:
    if not entry:
        raise _error("1704039", f'Invalid clientmatch "{entry}".', target)
    if entry.startswith("@"):
        if len(entry) == 1:
            raise _error("1704038", "Invalid clientmatch: missing netgroup name.", target)
        if not _NETGROUP.fullmatch(entry[1:]):
            raise _error(
                "1704054", "Invalid clientmatch: invalid characters in netgroup name.", target
            )
        return
    if entry.startswith("."):
        if len(entry) == 1:
            raise _error("1704036", "Invalid clientmatch: missing domain name.", target)
        if not _HOSTNAME.fullmatch(entry[1:]):
            raise _error(
                "1704045", "Invalid clientmatch: invalid characters in domain name.", target
            )
        return
    address, slash, mask = entry.partition("/")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if slash:
            raise _error("1704037", "Invalid clientmatch: missing network name.", target) from None
        if not _HOSTNAME.fullmatch(entry):
            raise _error(
                "1704044", "Invalid clientmatch: invalid characters in host name.", target
            ) from None
        return
    if not slash:
        return
    bits = ip.max_prefixlen
    if mask.isdigit():
        if int(mask) > bits:
            raise _error("1704042", "Invalid clientmatch: too many bits in netmask.", target)
        prefix = int(mask)
    else:
        try:
            prefix = ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen
        except ValueError:
            raise _error("1704043", "Invalid clientmatch: invalid netmask.", target) from None
    try:
        ipaddress.ip_network(f"{address}/{prefix}")
    except ValueError:
        raise _error(
            "1704040",
            "Invalid clientmatch: address bytes masked out by netmask are non-zero.",
            target,
        ) from None


def _check_rule(rule: Record, prefix: str = "") -> None:
    """ONTAP's checks of one rule's fields (those present)."""
    for index, client in enumerate(rule.get("clients") or []):
        match = client.get("match") if isinstance(client, Mapping) else None
        if isinstance(match, str):
            _check_match(match, f"{prefix}clients.match")
        elif index == 0 and match is None:
            raise bad_value(f"{prefix}clients.match", "Each client needs a match.")
    for field in ("ro_rule", "rw_rule", "superuser"):
        values = rule.get(field)
        if values is None:
            continue
        allowed = _FLAVORS - ({"never"} if field == "superuser" else set())
        bad = [v for v in values if v not in allowed]
        if bad or (field != "superuser" and not values):
            raise bad_value(
                prefix + field,
                f'The value "{bad[0] if bad else ""}" is invalid for field "{field}" '
                f"(expected {'|'.join(sorted(allowed))}).",
            )
    protocols = rule.get("protocols")
    if protocols is not None:
        bad = [p for p in protocols if p not in _PROTOCOLS]
        if bad:
            raise bad_value(
                prefix + "protocols",
                f'The value "{bad[0]}" is invalid for field "protocols" '
                f"(expected {'|'.join(sorted(_PROTOCOLS))}).",
            )
    anonymous = rule.get("anonymous_user")
    if anonymous is not None:
        if anonymous == "":
            raise _error(
                "3277149", 'The "Anon" field cannot be an empty string.', prefix + "anonymous_user"
            )
        if anonymous.lstrip("-").isdigit() and not 0 <= int(anonymous) <= _MAX_INDEX:
            raise _error(
                "3277083",
                "User ID is not valid. Enter a value for User ID from 0 to 4294967295.",
                prefix + "anonymous_user",
            )
    position = rule.get("index")
    if position is not None and not 1 <= position <= _MAX_INDEX:
        raise _error(
            "3277162",
            f'The specified "index", {position}, is invalid. Valid values are values from 1 to '
            "4294967295.",
            prefix + "index",
        )


def _rule_values(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes two rules the same rule (ONTAP refuses a second one, 1704070)."""
    return tuple(
        repr(rule.get(f))
        for f in ("clients", "ro_rule", "rw_rule", "superuser", "protocols", "anonymous_user")
    )


def _shift_from(indexes: set[int], wanted: int) -> list[int]:
    """The taken indexes that move up by one when a rule takes ``wanted``: from it to the
    first gap (netapp-ontap's docs: "either to the end of the list or to an open space")."""
    moved = []
    index = wanted
    while index in indexes:
        moved.append(index)
        index += 1
    return moved


def _insert_rule(store: Store, policy_id: Any, record: Record) -> None:
    """Store ``record`` at its index in the policy, moving the rules in the way along."""
    table = _rules(store)
    rules = _policy_rules(store, policy_id)
    index = int(record["index"])
    by_index = {int(r["index"]): r for r in rules}
    for old in reversed(_shift_from(set(by_index), index)):
        moving = table.pop((str(policy_id), str(old)))
        moving["index"] = old + 1
        table[(str(policy_id), str(old + 1))] = moving
    table[(str(policy_id), str(index))] = record


def _next_index(store: Store, policy_id: Any) -> int:
    rules = _policy_rules(store, policy_id)
    last = max((int(r["index"]) for r in rules), default=0)
    if last >= _MAX_INDEX:
        raise _error(
            "3277163",
            'The system cannot automatically specify an "index" for this rule, because a rule '
            'with "index" 4294967295 exists.',
            "index",
        )
    return last + 1


def _rule_record(policy: Mapping[str, Any], rule: Mapping[str, Any]) -> Record:
    record: Record = {**_RULE_DEFAULTS, **rule}
    record["policy"] = {"id": policy["id"], "name": policy.get("name")}
    if policy.get("svm"):
        record["svm"] = dict(policy["svm"])
    return record


def _inline_rules(store: Store, rules: list[Record]) -> list[Record]:
    """A policy body's ``rules``, checked and numbered as one POST each would number them."""
    numbered: list[Record] = []
    seen: set[tuple[Any, ...]] = set()
    for position, rule in enumerate(rules):
        _check_rule(rule, f"rules[{position}].")
        for field in ("clients.match", "ro_rule", "rw_rule"):
            if get_path(rule, field) is None or get_path(rule, field) == []:
                raise bad_value(
                    f"rules.{field}", f'Missing value for required field "rules.{field}".'
                )
        values = _rule_values({**_RULE_DEFAULTS, **rule})
        if values in seen:
            raise _error(
                "1704071",
                "The export policy was not created because of duplicate export policy rules "
                "present in the request.",
                "rules",
            )
        seen.add(values)
        taken = {int(r["index"]) for r in numbered}
        wanted = rule.get("index")
        if wanted is None:
            wanted = max(taken, default=0) + 1
        for other in numbered:
            if int(other["index"]) in _shift_from(taken, wanted):
                other["index"] = int(other["index"]) + 1
        numbered.append({**rule, "index": wanted})
    return numbered


def _replace_rules(store: Store, policy: Record, rules: list[Record]) -> None:
    table = _rules(store)
    for key in [k for k, r in table.items() if str(get_path(r, "policy.id")) == str(policy["id"])]:
        del table[key]
    for rule in rules:
        table[(str(policy["id"]), str(rule["index"]))] = _rule_record(policy, rule)


@register
class ExportPolicyRules(Behaviour):
    """NFS export policies: ids, the SVM's ``default``, inline rules, refusals in use."""

    resource = "ExportPolicy"

    def sync(self, store: Store) -> None:
        svms = {s["uuid"]: s for s in _all(store, "Svm")}
        table = _policies(store)
        for key, record in list(table.items()):
            owner = _svm_uuid(record)
            if owner is not None and owner not in svms:
                del table[key]
        have = {_svm_uuid(r) for r in table.values() if r.get("name") == "default"}
        resource = store.spec.resources[self.resource]
        for uuid, svm in svms.items():
            if uuid not in have:
                record = {
                    "id": _new_policy_id(store, uuid),
                    "name": "default",
                    "svm": {"name": svm["name"], "uuid": uuid},
                }
                store.insert(resource, record)

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        _check_policy_name(body)

    def prepare_post(self, store: Store, data: Record) -> None:
        uuid = _svm_uuid(data)
        if data.get("id") is None and uuid is not None:
            data["id"] = _new_policy_id(store, uuid)
        if "rules" in data:
            data["rules"] = _inline_rules(store, data["rules"])

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        svm = changes.pop("svm", None)
        if svm and any(svm.get(k) not in (None, get_path(record, f"svm.{k}")) for k in svm):
            raise bad_value("svm", "The SVM of an export policy cannot be modified.")
        if "rules" in changes:
            changes["rules"] = _inline_rules(store, changes["rules"])

    def check_delete(self, store: Store, record: Record) -> None:
        name, svm = record.get("name"), _svm_uuid(record)
        if name == "default":
            raise _error(
                "1703947",
                "Cannot delete default ruleset. This ruleset will be deleted when the owning "
                "Vserver is deleted.",
                "id",
            )
        for volume in _all(store, "Volume"):
            if (
                get_path(volume, "svm.uuid") == svm
                and get_path(volume, "nas.export_policy.name") == name
            ):
                raise _error(
                    "1703945",
                    f'Ruleset "{name}" is in use by volume "{volume["name"]}". It cannot be '
                    "deleted until all volumes that refer to it are first deleted.",
                    "id",
                )
        for qtree in _all(store, "Qtree"):
            if get_path(qtree, "export_policy.id") == record.get("id"):
                raise _error(
                    "1703953",
                    f'Ruleset "{name}" is in use by qtree "{qtree.get("name")}". It cannot be '
                    "deleted until all qtree policies that refer to it are first deleted.",
                    "id",
                )

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "delete":
            _replace_rules(store, record, [])
            return
        if "rules" in record:
            _replace_rules(store, record, record.pop("rules"))
        if event == "patch":
            for rule in _policy_rules(store, record["id"]):
                rule["policy"]["name"] = record.get("name")

    def render(self, store: Store, record: Record) -> Record:
        if "rules" not in record:
            record["rules"] = [
                {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("policy", "svm")}
                for rule in _policy_rules(store, record.get("id"))
            ]
        return record


@register
class ExportPolicyRule(Behaviour):
    """Rules of a policy: checked clients and flavors, ``index`` assigned or honoured."""

    resource = "ExportRule"
    params: ClassVar[Mapping[str, frozenset[str]]] = {"PATCH": frozenset({"new_index"})}
    unknown_reference: ClassVar[Mapping[str, str]] = {"policy": "1703954"}

    def sync(self, store: Store) -> None:
        ids = {str(r.get("id")) for r in _all(store, "ExportPolicy")}
        table = _rules(store)
        for key, record in list(table.items()):
            if str(get_path(record, "policy.id")) not in ids:
                del table[key]

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        if method == "patch" and "svm" in body:
            leaf = next(iter(body["svm"])) if isinstance(body["svm"], Mapping) else "name"
            raise _error(
                "262203" if leaf == "uuid" else "262196",
                f"Field 'svm.{leaf}' is not supported in the body of PATCH request.",
                f"svm.{leaf}",
            )
        if "index" in body:
            body["index"] = _integer_text(body["index"])

    def prepare_post(self, store: Store, data: Record) -> None:
        _check_rule(data)
        policy_id = get_path(data, "policy.id")
        policy = next(
            (p for p in _all(store, "ExportPolicy") if str(p.get("id")) == str(policy_id)),
            None,
        )
        if policy is None:
            raise _error("1703954", "Export policy does not exist.", "policy.id")
        for field, value in _RULE_DEFAULTS.items():
            data.setdefault(field, value)
        data["policy"] = {"id": policy_id, "name": policy.get("name")}
        if policy.get("svm"):
            data["svm"] = dict(policy["svm"])
        values = _rule_values(data)
        if any(_rule_values(r) == values for r in _policy_rules(store, policy_id)):
            raise _error(
                "1704070",
                "Export policy rule already exists. The export policy rule was not created "
                "because an export policy rule with the same values already exists.",
                status=409,
            )
        if data.get("index") is None:
            data["index"] = _next_index(store, policy_id)

    def make_room(self, store: Store, key: tuple[str, ...], record: Record, apply: bool) -> bool:
        if apply:
            table = _rules(store)
            moving = {int(k[1]): k for k in table if k[0] == key[0]}
            for old in reversed(_shift_from(set(moving), int(key[1]))):
                rule = table.pop((key[0], str(old)))
                rule["index"] = old + 1
                table[(key[0], str(old + 1))] = rule
        return True

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        # ``PATCH .../rules/1?new_index=5`` moves the rule (netapp.ontap's
        # na_ontap_export_policy_rule; ONTAP's ``vserver export-policy rule setindex``).
        new_index = parse_int(store.query, "new_index", 0, None)
        if new_index is not None:
            changes["index"] = new_index
        _check_rule(changes)

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "patch":
            return
        table = _rules(store)
        policy_id = get_path(record, "policy.id")
        old_key = next(k for k, r in table.items() if r is record)
        if old_key[1] != str(record["index"]):
            del table[old_key]
            _insert_rule(store, policy_id, record)


# -- qtrees ----------------------------------------------------------------------------------
def _qtrees(store: Store) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault("Qtree", {})


def _check_export_policy(store: Store, body: Mapping[str, Any], svm_uuid: str | None) -> None:
    """ONTAP's codes for an export policy a qtree names (1703954, 5242951, 5242952)."""
    ref = body.get("export_policy")
    if not isinstance(ref, Mapping) or svm_uuid is None:
        return
    name, policy_id = ref.get("name"), _integer_text(ref.get("id"))
    policies = [p for p in _all(store, "ExportPolicy") if _svm_uuid(p) == svm_uuid]
    if policy_id is not None:
        by_id = next((p for p in policies if p.get("id") == policy_id), None)
        if by_id is None:
            raise _error("5242952", "Export Policy ID specified is invalid.", "export_policy.id")
        if name is not None and by_id.get("name") != name:
            raise _error(
                "5242951",
                "Export Policy supplied does not belong to the specified Export Policy ID.",
                "export_policy.name",
            )
    elif name is not None and _by_name(policies, name) is None:
        raise _error(
            "1703954",
            f'Export Policy name specified is invalid: "{name}" does not exist in this SVM.',
            "export_policy.name",
        )


@register
class QtreeRules(Behaviour):
    """Qtrees: inside a volume of the SVM, numbered per volume, defaults from the volume."""

    resource = "Qtree"
    unknown_reference: ClassVar[Mapping[str, str]] = {"volume": "917525", "svm": "2621462"}

    def sync(self, store: Store) -> None:
        volumes = {v["uuid"]: v for v in _all(store, "Volume")}
        table = _qtrees(store)
        for key, record in list(table.items()):
            if get_path(record, "volume.uuid") not in volumes:
                del table[key]
        for uuid, volume in volumes.items():
            if (uuid, "0") not in table:
                table[(uuid, "0")] = {
                    "volume": {"name": volume["name"], "uuid": uuid},
                    "svm": dict(volume["svm"]),
                    "id": 0,
                    "name": "",
                }

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        if "unix_permissions" in body:
            body["unix_permissions"] = _permissions(body["unix_permissions"])
        policy = body.get("export_policy")
        if isinstance(policy, Mapping) and "id" in policy:
            body["export_policy"] = {**policy, "id": _integer_text(policy["id"])}
        if method == "post":
            svm = _svm_named(store, body.get("svm"))
            _check_export_policy(store, body, svm["uuid"] if svm else None)

    def prepare_post(self, store: Store, data: Record) -> None:
        name = data.get("name")
        if name == "":
            raise _error(
                "5242894",
                'Qtree with empty name "" is not allowed, as that is reserved for the default '
                "qtree.",
                "name",
            )
        _check_qtree_name(name)
        volume = _volume_of(store, get_path(data, "volume.uuid"))
        if volume is None:
            raise _error("917927", "The specified volume was not found.", "volume.uuid")
        if volume.get("type") == "dp":
            raise _error(
                "5242881", "Cannot create qtree because the volume is read-only.", "volume"
            )
        if data.get("security_style") == "unified":
            raise _error(
                "9437324", "The security style unified is not supported.", "security_style"
            )
        nas = volume.get("nas", {})
        data.setdefault("security_style", nas.get("security_style", "unix"))
        data.setdefault("unix_permissions", nas.get("unix_permissions", 755))
        if "export_policy" not in data:
            policy = _by_name(
                (p for p in _all(store, "ExportPolicy") if _svm_uuid(p) == _svm_uuid(data)),
                get_path(volume, "nas.export_policy.name"),
            )
            if policy is not None:
                data["export_policy"] = {"name": policy["name"], "id": policy["id"]}
        else:
            _fill_policy_id(store, data)
        ids = [
            int(r["id"])
            for r in _qtrees(store).values()
            if get_path(r, "volume.uuid") == volume["uuid"]
        ]
        if data.get("id") is None:
            data["id"] = max(ids, default=0) + 1
        if data["id"] > 4994:
            raise _error("5242886", "Failed to create qtree: the volume holds 4995 qtrees.")

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        _check_export_policy(store, changes, _svm_uuid(record))
        if changes.get("security_style") == "unified":
            raise _error(
                "9437324", "The security style unified is not supported.", "security_style"
            )
        _fill_policy_id(store, changes, _svm_uuid(record))
        name = changes.get("name")
        if name is None or name == record.get("name"):
            return
        if record.get("id") == 0 or name == "":
            raise _error("5242894", "The default qtree cannot be renamed.", "name")
        _check_qtree_name(name)
        volume_uuid = get_path(record, "volume.uuid")
        if any(
            q.get("name") == name and get_path(q, "volume.uuid") == volume_uuid
            for q in _qtrees(store).values()
        ):
            raise _error(
                "5242972",
                f'Cannot rename qtree as that name "{name}" already exists on a volume in the '
                "Vserver.",
                "name",
            )

    def check_delete(self, store: Store, record: Record) -> None:
        if record.get("id") == 0:
            raise _error("5242894", "The default qtree cannot be deleted.", "id")
        volume = _volume_of(store, get_path(record, "volume.uuid"))
        prefix = f"/vol/{volume['name'] if volume else ''}/{record.get('name')}/"
        if any(str(lun.get("name", "")).startswith(prefix) for lun in _all(store, "Lun")):
            raise _error(
                "5242916", "Cannot delete qtree because the volume contains one or more LUNs."
            )

    def applied(self, store: Store, event: Event, record: Record) -> None:
        volume_uuid = get_path(record, "volume.uuid")
        rules = store.tables.setdefault("QuotaRule", {})
        for key, rule in list(rules.items()):
            if get_path(rule, "volume.uuid") != volume_uuid:
                continue
            if get_path(rule, "qtree.id") != record.get("id"):
                continue
            # A qtree's quota rules follow it (INFERRED): renamed with it, deleted with it.
            if event == "delete":
                del rules[key]
            elif event == "patch":
                rule["qtree"]["name"] = record.get("name")

    def render(self, store: Store, record: Record) -> Record:
        volume = _volume_of(store, get_path(record, "volume.uuid"))
        if volume is None:
            return record
        name = record.get("name", "")
        if record.get("id") == 0:
            nas = volume.get("nas", {})
            record.setdefault("security_style", nas.get("security_style"))
            record.setdefault("unix_permissions", nas.get("unix_permissions"))
            policy = _by_name(
                (p for p in _all(store, "ExportPolicy") if _svm_uuid(p) == _svm_uuid(record)),
                get_path(volume, "nas.export_policy.name"),
            )
            if policy is not None:
                record.setdefault("export_policy", {"name": policy["name"], "id": policy["id"]})
        record["path"] = f"/vol/{volume['name']}" + (f"/{name}" if name else "")
        junction = get_path(volume, "nas.path")
        if isinstance(junction, str) and junction:
            record["nas"] = {"path": junction.rstrip("/") + (f"/{name}" if name else "")}
        return record


def _check_qtree_name(name: Any) -> None:
    if isinstance(name, str) and (name in (".", "..") or "/" in name or len(name) > 64):
        raise _error("262245", f'Invalid field value: qtree name "{name}".', "name")


def _fill_policy_id(store: Store, data: Record, svm_uuid: str | None = None) -> None:
    ref = data.get("export_policy")
    if not isinstance(ref, dict):
        return
    svm = svm_uuid or _svm_uuid(data)
    policy = next(
        (
            p
            for p in _all(store, "ExportPolicy")
            if _svm_uuid(p) == svm
            and (
                p.get("id") == ref.get("id")
                or (ref.get("id") is None and p.get("name") == ref.get("name"))
            )
        ),
        None,
    )
    if policy is not None:
        ref["id"], ref["name"] = policy["id"], policy["name"]


# -- CIFS ------------------------------------------------------------------------------------
def _shares(store: Store) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault("CifsShare", {})


def _share_volume(store: Store, svm_uuid: str | None, path: str) -> Record | None:
    """The mounted volume of the SVM whose junction holds ``path`` (the deepest one)."""
    best: Record | None = None
    for volume in _all(store, "Volume"):
        junction = get_path(volume, "nas.path")
        if get_path(volume, "svm.uuid") != svm_uuid or not isinstance(junction, str):
            continue
        junction = junction.rstrip("/")
        if not junction or not (path == junction or path.startswith(junction + "/")):
            continue
        if best is None or len(junction) > len(str(get_path(best, "nas.path"))):
            best = volume
    return best


def _check_share_path(store: Store, svm_uuid: str | None, path: Any) -> Record | None:
    """The volume a share's path lies in (None for the SVM root ``/``); ONTAP's refusals."""
    if not isinstance(path, str):
        return None
    if not path.startswith("/"):
        raise _error(
            "656423",
            "Failed to create CIFS share. The Shares must define an absolute share path.",
            "path",
        )
    if path.rstrip("/") == "":
        return None
    volume = _share_volume(store, svm_uuid, path.rstrip("/"))
    if volume is None:
        raise _error(
            "655551",
            f'CIFS Share Creation failed because the specified path "{path}" does not exist.',
            "path",
        )
    return volume


@register
class CifsServer(Behaviour):
    """The CIFS server of an SVM: one per SVM, with its administrative shares."""

    resource = "CifsService"

    def sync(self, store: Store) -> None:
        svms = {s["uuid"] for s in _all(store, "Svm")}
        table = store.tables.setdefault(self.resource, {})
        for key, record in list(table.items()):
            owner = _svm_uuid(record)
            if owner is not None and owner not in svms:
                del table[key]

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        if kind != "Svm" or not get_path(record, "ad_domain.fqdn"):
            return None  # a workgroup CIFS server goes with its SVM (INFERRED)
        return _error(
            "2621525",
            "SVM cannot be deleted as it is associated with an Active Directory configured CIFS "
            'server. Delete the CIFS server using "cifs delete" and retry the operation.',
            "name",
            409,
        )

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        name = body.get("name")
        if isinstance(name, str):
            if len(name) > 15:
                raise _error("655562", "NetBIOS name is longer than 15 characters.", "name")
            if not name or _NETBIOS_BAD.search(name):
                raise _error(
                    "655563", "NetBIOS name contains characters that are not allowed.", "name"
                )

    def prepare_post(self, store: Store, data: Record) -> None:
        svm = _svm_uuid(data)
        if any(_svm_uuid(r) == svm for r in store.tables.get(self.resource, {}).values()):
            raise _error("655477", "Only one CIFS server is supported per SVM.", "svm", 409)
        data.setdefault("enabled", True)

    def applied(self, store: Store, event: Event, record: Record) -> None:
        svm = record.get("svm") or {}
        table = _shares(store)
        if event == "delete":
            for key in [k for k, s in table.items() if _svm_uuid(s) == svm.get("uuid")]:
                del table[key]
        elif event == "post":
            for name in _ADMIN_SHARES:
                key = (str(svm.get("uuid")), name)
                table.setdefault(
                    key,
                    {
                        "svm": {"name": svm.get("name"), "uuid": svm.get("uuid")},
                        "name": name,
                        "path": "/",
                        "comment": _ADMIN_COMMENTS[name],
                        **_SHARE_DEFAULTS,
                    },
                )


@register
class CifsShareRules(Behaviour):
    """CIFS shares: the SVM's CIFS server, a path in a mounted volume, the volume held."""

    resource = "CifsShare"
    unknown_reference: ClassVar[Mapping[str, str]] = {"svm": "2621706"}

    def sync(self, store: Store) -> None:
        servers = {_svm_uuid(r) for r in _all(store, "CifsService")}
        table = _shares(store)
        for key, record in list(table.items()):
            if record.get("name") in _ADMIN_SHARES and _svm_uuid(record) not in servers:
                del table[key]

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        name = body.get("name")
        if isinstance(name, str):
            if len(name) > 80:
                raise _error(
                    "655577", "The CIFS share name cannot be more than 80 characters long.", "name"
                )
            if not name or _SHARE_NAME_BAD.search(name):
                raise _error(
                    "656426",
                    f'CIFS Share Creation failed because the share name "{name}" is invalid.',
                    "name",
                )

    def prepare_post(self, store: Store, data: Record) -> None:
        svm = _svm_uuid(data)
        if not any(_svm_uuid(r) == svm for r in _all(store, "CifsService")):
            raise _error(
                "655399",
                "Failed to create CIFS share. The CIFS server does not exist for specified SVM.",
                "svm",
            )
        if data.get("name") in _ADMIN_SHARES:
            raise _error(
                "656424",
                f"Failed to create CIFS the administrator share '{data['name']}' because you are "
                "not permitted to created any admin shares.",
                "name",
            )
        volume = _check_share_path(store, svm, data.get("path"))
        if volume is not None:
            data["volume"] = {"name": volume["name"], "uuid": volume["uuid"]}
        for field, value in _SHARE_DEFAULTS.items():
            data.setdefault(field, value)
        data.setdefault(
            "acls",
            [{"user_or_group": "Everyone", "permission": "full_control", "type": "windows"}],
        )

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        name = record.get("name")
        if name == "ipc$":
            raise _error("656420", "Cannot modify the standard share ipc$.", "name")
        if name == "admin$":
            raise _error("656421", "Cannot modify the standard share admin$.", "name")
        if "path" not in changes:
            return
        if name in _ADMIN_SHARES:
            raise _error(
                "656425",
                "Failed to modify the CIFS share because the path for an administrative share "
                "cannot be modified.",
                "path",
            )
        try:
            volume = _check_share_path(store, _svm_uuid(record), changes["path"])
        except ApiError as refused:
            message = refused.message.replace("Creation", "modification")
            raise ApiError(refused.status, refused.code, message, refused.target) from None
        if volume is not None:
            changes["volume"] = {"name": volume["name"], "uuid": volume["uuid"]}

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "patch" and str(record.get("path", "")).rstrip("/") == "":
            record.pop("volume", None)  # moved to the SVM's root: in no volume

    def check_delete(self, store: Store, record: Record) -> None:
        if record.get("name") in _ADMIN_SHARES:
            raise _error("655393", "Standard admin shares cannot be removed.", "name")

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        if kind != "Volume" or "volume" not in record:
            return None
        return _error(
            "2",
            f'Volume "{get_path(record, "volume.name")}" cannot be deleted: CIFS share '
            f'"{record.get("name")}" of SVM "{get_path(record, "svm.name")}" is in it. Delete '
            "the share first.",
            "uuid",
            409,
        )


# -- quotas ----------------------------------------------------------------------------------
#: Namespace of the uuids of default rules added beside an explicit one (stable across runs).
_DEFAULTS = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/quota")
_LIMITS = ("space.hard_limit", "space.soft_limit", "files.hard_limit", "files.soft_limit")
#: How a rule's target is spelled, by type.
_TARGET = {"user": "users", "group": "group", "tree": "qtree"}


def _quota_rules(store: Store) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault("QuotaRule", {})


def _target_of(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a rule applies to: (volume, type, qtree, users or group), names and ids."""
    users = tuple(sorted((u.get("name"), u.get("id")) for u in rule.get("users") or []))
    group = rule.get("group") or {}
    return (
        get_path(rule, "volume.uuid"),
        rule.get("type"),
        get_path(rule, "qtree.name") if rule.get("type") != "tree" else None,
        get_path(rule, "qtree.name") if rule.get("type") == "tree" else None,
        users,
        (group.get("name"), group.get("id")),
    )


def _is_default(rule: Mapping[str, Any]) -> bool:
    kind = rule.get("type")
    if kind == "user":
        return [u.get("name") for u in rule.get("users") or []] == [""]
    if kind == "group":
        return bool(get_path(rule, "group.name") == "")
    return bool(get_path(rule, "qtree.name") == "")


def _check_limits(rule: Record) -> None:
    for field in _LIMITS:
        value = get_path(rule, field)
        if value is None or not isinstance(value, int):
            continue
        if value < 0:
            raise _error("5308574", f'Input value is out of range for field "{field}".', field)
        if field.startswith("space") and value < 1024:
            # "If less than 1024 bytes, the value is rounded up to 1024 bytes." (netapp-ontap)
            rule[field.split(".")[0]][field.split(".")[1]] = 1024
    for kind in ("space", "files"):
        hard, soft = get_path(rule, f"{kind}.hard_limit"), get_path(rule, f"{kind}.soft_limit")
        if isinstance(hard, int) and isinstance(soft, int) and soft > hard:
            raise _error(
                "5308575",
                f'Input value is incorrectly larger than listed field: "{kind}.soft_limit" is '
                f'larger than "{kind}.hard_limit".',
                f"{kind}.soft_limit",
            )


def _unlimited(rule: Record) -> None:
    """Drop limits spelled ``-`` (netapp.ontap's "reset to unlimited"; kept as -1 until here)."""
    for field in _LIMITS:
        head, leaf = field.split(".")
        if get_path(rule, field) == -1:
            del rule[head][leaf]
            if not rule[head]:
                del rule[head]


@register
class QuotaRules(Behaviour):
    """Quota rules: the target each type takes, limits checked, default rules added."""

    resource = "QuotaRule"
    unknown_reference: ClassVar[Mapping[str, str]] = {"volume": "917927", "svm": "2621462"}

    def sync(self, store: Store) -> None:
        volumes = {v["uuid"] for v in _all(store, "Volume")}
        table = _quota_rules(store)
        for key, record in list(table.items()):
            owner = get_path(record, "volume.uuid")
            if isinstance(owner, str) and owner not in volumes:
                del table[key]

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        for field in _LIMITS:
            head, leaf = field.split(".")
            part = body.get(head)
            if isinstance(part, dict) and leaf in part:
                value = part[leaf]
                part[leaf] = -1 if value == "-" else _integer_text(value)

    def prepare_post(self, store: Store, data: Record) -> None:
        kind = data.get("type")
        users, group = data.get("users"), data.get("group")
        if kind == "user" and (not users or group is not None):
            raise _error(
                "5308562",
                "users is a required input for creating a user rule and group is not allowed.",
                "users",
            )
        if kind == "group" and (group is None or users is not None):
            raise _error(
                "5308563",
                "group is a required input for creating a group rule and users is not allowed.",
                "group",
            )
        if kind == "tree" and (users is not None or group is not None):
            raise _error(
                "5308564",
                "qtree.name is a required input for creating a tree rule and users and group are "
                "not allowed.",
                "qtree.name",
            )
        for user in users or []:
            if (user.get("name") is None) == (user.get("id") is None):
                raise _error(
                    "5308565",
                    "Only one of name or id is allowed for each entry in the users array.",
                    "users",
                )
        if group is not None and (group.get("name") is None) == (group.get("id") is None):
            raise _error("5308566", "Only one of name or id is allowed for group.", "group")
        if "user_mapping" in data and kind != "user":
            raise _error(
                "5308469",
                "User mapping can be specified only for a user quota rule.",
                "user_mapping",
            )
        self._qtree_in_volume(store, data)
        _unlimited(data)
        _check_limits(data)
        target = _target_of(data)
        if any(_target_of(r) == target for r in _quota_rules(store).values()):
            raise _error("1", "duplicate entry: this quota rule exists already.", "type", 409)

    @staticmethod
    def _qtree_in_volume(store: Store, data: Record) -> None:
        name = get_path(data, "qtree.name")
        if not name:
            return
        volume_uuid = get_path(data, "volume.uuid")
        qtree = next(
            (
                q
                for q in _qtrees(store).values()
                if get_path(q, "volume.uuid") == volume_uuid and q.get("name") == name
            ),
            None,
        )
        if qtree is None:
            raise bad_value(
                "qtree.name",
                f'Qtree "{name}" does not exist in volume "{get_path(data, "volume.name")}".',
            )
        data["qtree"] = {"name": name, "id": qtree["id"]}

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if "user_mapping" in changes and record.get("type") != "user":
            raise _error(
                "5308478",
                "User mapping can only be turned on for UNIX usernames or Windows account names.",
                "user_mapping",
            )
        merged = {k: dict(v) if isinstance(v, dict) else v for k, v in record.items()}
        for head in ("space", "files"):
            if isinstance(changes.get(head), dict):
                merged[head] = {**merged.get(head, {}), **changes[head]}
        _unlimited(merged)
        _check_limits(merged)
        space = changes.get("space")
        if isinstance(space, dict):
            for leaf, value in space.items():
                if isinstance(value, int) and 0 <= value < 1024:
                    space[leaf] = 1024

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "patch":
            _unlimited(record)
            return
        volume_uuid = get_path(record, "volume.uuid")
        table = _quota_rules(store)
        if event == "post" and not _is_default(record):
            # "When an explicit rule or a qtree-scoped rule of a type is created on a volume, a
            # default rule of the same type is automatically added" (netapp-ontap's docs).
            default: Record = {
                "svm": dict(record.get("svm") or {}),
                "volume": dict(record.get("volume") or {}),
                "type": record["type"],
                "qtree": {"name": ""},
            }
            if record["type"] == "user":
                default["users"] = [{"name": ""}]
            elif record["type"] == "group":
                default["group"] = {"name": ""}
            if not any(_target_of(r) == _target_of(default) for r in table.values()):
                default["uuid"] = str(uuidlib.uuid5(_DEFAULTS, str(record.get("uuid"))))
                store.insert(store.spec.resources[self.resource], default)
        if event == "delete":
            volume = _volume_of(store, volume_uuid)
            left = [r for r in table.values() if get_path(r, "volume.uuid") == volume_uuid]
            if volume is not None and get_path(volume, "quota.state") == "on" and not left:
                raise EffectError(
                    "Quota policy rule delete operation succeeded, however the rule is still "
                    "being enforced. To stop enforcing the rule, disable quotas and enable them "
                    "again for this volume.",
                    5308572,
                )
