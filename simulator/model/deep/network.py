"""Networking: IPspaces, broadcast domains, ethernet ports, IP interfaces, service policies.

Read mostly from the scenario (``records``: a cluster's physical ports, its broadcast domains
and LIFs are what it has, not what a client creates), with the writes ONTAP documents and
netapp.ontap's modules make: VLAN and LAG ports, ports moved between broadcast domains,
interfaces created, moved, renamed, taken down and deleted. Facts and their sources are in
docs/nas.md; INFERRED marks what ONTAP does not document.

- the ``Default`` and ``Cluster`` IPspaces always exist; each SVM has ONTAP's built-in service
  policies (``default-data-files``, ...), which give an interface its ``services``;
- a port belongs to at most one broadcast domain, whose MTU it takes; a domain lists its
  ports from the ports themselves (one source of truth), and keeps them from its deletion;
- an interface's home port must exist on its node and be in a broadcast domain of the
  interface's IPspace; its address is unique in that IPspace; it keeps its ports from
  deletion.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import uuid as uuidlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ...errors import ApiError, bad_value
from ..behaviour import Behaviour, Event, register
from .common import all_records as _all
from .common import value_at as get_path

if TYPE_CHECKING:
    from ..store import Store

Record = dict[str, Any]


Method = Literal["post", "patch"]

_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/")
#: IPspaces every cluster has (``network ipspace show``).
_SYSTEM_IPSPACES = ("Default", "Cluster")
#: ONTAP's built-in service policies of a data SVM and their services (netapp-ontap's
#: IpInterface docs name the policies; the services are ONTAP 9.8+'s, INFERRED).
_SERVICE_POLICIES: Mapping[str, tuple[str, ...]] = {
    "default-data-files": ("data_core", "data_nfs", "data_cifs", "data_flexcache"),
    "default-data-blocks": ("data_core", "data_iscsi"),
    "default-data-iscsi": ("data_core", "data_iscsi"),
    "default-data-nvme-tcp": ("data_core", "data_nvme_tcp"),
    "default-management": ("data_core", "management_https", "management_ssh"),
}
_MTU = (68, 9000)


def _error(code: str, message: str, target: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status, code, message, target)


def ipspace_uuid(name: str) -> str:
    """The uuid of a system IPspace: the one the SVMs of the inventory name."""
    return str(uuidlib.uuid5(_NAMESPACE, f"ipspace/{name}"))


def _table(store: Store, name: str) -> dict[tuple[str, ...], Record]:
    return store.tables.setdefault(name, {})


def _ports(store: Store) -> list[Record]:
    return _all(store, "Port")


def _port_named(store: Store, node: Any, name: Any) -> Record | None:
    return next(
        (p for p in _ports(store) if p.get("name") == name and get_path(p, "node.name") == node),
        None,
    )


def _port_ref(ref: Any, store: Store, node: Any) -> Record | None:
    """The port a ``{"name", "uuid", "node": {"name"}}`` reference names (on ``node``)."""
    if not isinstance(ref, Mapping):
        return None
    if ref.get("uuid") is not None:
        return next((p for p in _ports(store) if p.get("uuid") == ref["uuid"]), None)
    return _port_named(store, get_path(ref, "node.name") or node, ref.get("name"))


def _domain(store: Store, ref: Any, ipspace: Any = None) -> Record | None:
    if not isinstance(ref, Mapping):
        return None
    for domain in _all(store, "BroadcastDomain"):
        if ref.get("uuid") is not None:
            if domain.get("uuid") == ref["uuid"]:
                return domain
        elif domain.get("name") == ref.get("name") and (
            (get_path(ref, "ipspace.name") or ipspace or "Default")
            == get_path(domain, "ipspace.name")
        ):
            return domain
    return None


def _interfaces_on(store: Store, port: Mapping[str, Any]) -> list[Record]:
    node, name = get_path(port, "node.name"), port.get("name")
    return [
        lif
        for lif in _all(store, "IpInterface")
        if any(
            get_path(lif, f"location.{where}.name") == name
            and (
                get_path(lif, f"location.{where}.node.name")
                or get_path(lif, "location.home_node.name")
            )
            == node
            for where in ("home_port", "port")
        )
    ]


@register
class Ipspaces(Behaviour):
    """IPspaces: ``Default`` and ``Cluster`` always there, with the SVMs' uuid for Default."""

    resource = "Ipspace"

    def sync(self, store: Store) -> None:
        table = _table(store, self.resource)
        names = {r.get("name") for r in table.values()}
        for name in _SYSTEM_IPSPACES:
            if name not in names:
                store.insert(
                    store.spec.resources[self.resource],
                    {"name": name, "uuid": ipspace_uuid(name)},
                )

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if "name" in changes and record.get("name") in _SYSTEM_IPSPACES:
            raise bad_value("name", f'The system IPspace "{record["name"]}" cannot be renamed.')

    def check_delete(self, store: Store, record: Record) -> None:
        name = record.get("name")
        if name in _SYSTEM_IPSPACES:
            raise bad_value("uuid", f'The system IPspace "{name}" cannot be deleted.')
        users = [
            d.get("name")
            for d in _all(store, "BroadcastDomain")
            if get_path(d, "ipspace.name") == name
        ] + [s.get("name") for s in _all(store, "Svm") if get_path(s, "ipspace.name") == name]
        if users:
            raise bad_value("uuid", f'IPspace "{name}" is in use by "{users[0]}".')


@register
class ServicePolicies(Behaviour):
    """ONTAP's built-in service policies, one set per SVM."""

    resource = "IpServicePolicy"

    def sync(self, store: Store) -> None:
        table = _table(store, self.resource)
        have = {(get_path(r, "svm.uuid"), r.get("name")) for r in table.values()}
        svms = _all(store, "Svm")
        alive = {s["uuid"] for s in svms}
        for key, record in list(table.items()):
            owner = get_path(record, "svm.uuid")
            if record.get("is_built_in") and isinstance(owner, str) and owner not in alive:
                del table[key]
        for svm in svms:
            for name, services in _SERVICE_POLICIES.items():
                uuid = str(uuidlib.uuid5(_NAMESPACE, f"policy/{svm['uuid']}/{name}"))
                if (svm["uuid"], name) in have or (uuid,) in table:  # kept, perhaps renamed
                    continue
                store.insert(
                    store.spec.resources[self.resource],
                    {
                        "uuid": uuid,
                        "name": name,
                        "svm": {"name": svm["name"], "uuid": svm["uuid"]},
                        "ipspace": dict(svm.get("ipspace") or {"name": "Default"}),
                        "scope": "svm",
                        "services": list(services),
                        "is_built_in": True,
                    },
                )

    def check_delete(self, store: Store, record: Record) -> None:
        if record.get("is_built_in"):
            raise bad_value(
                "uuid", f'The built-in service policy "{record["name"]}" cannot be deleted.'
            )


@register
class BroadcastDomains(Behaviour):
    """Broadcast domains: an MTU their ports take, names unique per IPspace."""

    resource = "BroadcastDomain"
    unique_within: ClassVar[tuple[str, ...] | None] = ("ipspace.name",)
    unknown_reference: ClassVar[Mapping[str, str]] = {"ipspace": "1377267"}

    def prepare_body(self, store: Store, body: Record, method: Method) -> None:
        mtu = body.get("mtu")
        if isinstance(mtu, int) and not _MTU[0] <= mtu <= _MTU[1]:
            raise _error("1966460", "The provided MTU was either too large or too small.", "mtu")

    def prepare_post(self, store: Store, data: Record) -> None:
        if "ipspace" not in data:
            data["ipspace"] = {"name": "Default", "uuid": ipspace_uuid("Default")}
        self._unique(store, data.get("name"), get_path(data, "ipspace.name"), None)

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if "name" in changes:
            self._unique(
                store, changes["name"], get_path(record, "ipspace.name"), record.get("uuid")
            )
        if (
            "ipspace" in changes
            and get_path(changes, "ipspace.name")
            not in (
                None,
                get_path(record, "ipspace.name"),
            )
            and any(
                get_path(p, "broadcast_domain.uuid") == record.get("uuid") for p in _ports(store)
            )
        ):
            raise bad_value("ipspace", "Remove the ports before moving the broadcast domain.")

    @staticmethod
    def _unique(store: Store, name: Any, ipspace: Any, besides: Any) -> None:
        for domain in _all(store, "BroadcastDomain"):
            if (
                domain.get("name") == name
                and get_path(domain, "ipspace.name") == ipspace
                and domain.get("uuid") != besides
            ):
                raise _error(
                    "1377560", "Broadcast domain already exists in specified IPspace.", "name", 409
                )

    def check_delete(self, store: Store, record: Record) -> None:
        if any(get_path(p, "broadcast_domain.uuid") == record.get("uuid") for p in _ports(store)):
            raise _error("1967103", "A broadcast domain with ports cannot be deleted.", "uuid")

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event != "patch":
            return
        for port in _table(store, "Port").values():
            if get_path(port, "broadcast_domain.uuid") == record.get("uuid"):
                port["broadcast_domain"]["name"] = record.get("name")

    def render(self, store: Store, record: Record) -> Record:
        record["ports"] = [
            {
                "name": p.get("name"),
                "uuid": p.get("uuid"),
                "node": {"name": get_path(p, "node.name")},
            }
            for p in _table(store, "Port").values()
            if get_path(p, "broadcast_domain.uuid") == record.get("uuid")
        ]
        return record


@register
class Ports(Behaviour):
    """Ethernet ports: physical ones from the scenario; VLANs and LAGs created and deleted."""

    resource = "Port"
    unique_within: ClassVar[tuple[str, ...] | None] = ("node.uuid",)
    required_post: ClassVar[tuple[tuple[str, ...], ...] | None] = (("node.name", "node.uuid"),)
    unknown_reference: ClassVar[Mapping[str, str]] = {"node": "1967085"}

    def prepare_post(self, store: Store, data: Record) -> None:
        node = get_path(data, "node.name")
        vlan, lag = data.get("vlan"), data.get("lag")
        kind = data.setdefault("type", "vlan" if vlan else "lag" if lag else "physical")
        if vlan and lag:
            raise bad_value("vlan", 'Fields "vlan" and "lag" cannot be specified together.')
        if kind == "physical" or kind not in ("vlan", "lag"):
            if not store.loading:
                raise _error(
                    "1967083",
                    "The specified type is not valid: a POST creates a VLAN or a LAG port.",
                    "type",
                )
            if not data.get("name"):
                raise bad_value("name", "A physical port of a scenario needs a name.")
        elif kind == "vlan":
            self._vlan(store, data, node)
        else:
            self._lag(store, data, node)
        if _port_named(store, node, data.get("name")) is not None:
            raise bad_value("name", f'Port "{node}:{data.get("name")}" already exists.')
        domain_ref = data.get("broadcast_domain")
        if domain_ref is not None:
            domain = _domain(store, domain_ref)
            if domain is None:
                raise _error(
                    "1967088",
                    "The specified broadcast domain name does not exist in the specified IPspace.",
                    "broadcast_domain.name",
                )
            data["broadcast_domain"] = _domain_ref(domain)
        data.setdefault("enabled", True)
        data.setdefault("state", "up")
        data.setdefault("mtu", 1500)
        if data["type"] == "physical":
            data.setdefault("speed", 10000)
        data.setdefault("mac_address", _mac(f"{node}:{data.get('name')}"))

    @staticmethod
    def _vlan(store: Store, data: Record, node: Any) -> None:
        tag, base_ref = get_path(data, "vlan.tag"), get_path(data, "vlan.base_port")
        if tag is None or base_ref is None:
            raise _error("1967190", "Missing or incomplete VLAN specification.", "vlan")
        if not 1 <= tag <= 4094:
            raise _error("1966466", "VLAN ID must be a number from 1 to 4094.", "vlan.tag")
        base = _port_ref(base_ref, store, node)
        if base is None or get_path(base, "node.name") != node:
            raise _error(
                "1967091",
                "The specified VLAN base port name and node name are not valid.",
                "vlan.base_port",
            )
        if any(base.get("uuid") in _members(p) for p in _ports(store)):
            raise _error(
                "1376857", "Cannot create a VLAN on a port that is a member of a LAG.", "vlan"
            )
        data["vlan"]["base_port"] = {
            "name": base["name"],
            "uuid": base["uuid"],
            "node": {"name": node},
        }
        data["name"] = f"{base['name']}-{tag}"

    @staticmethod
    def _lag(store: Store, data: Record, node: Any) -> None:
        lag = data["lag"]
        members = lag.get("member_ports") or []
        if not members or lag.get("mode") is None or lag.get("distribution_policy") is None:
            raise _error("1967191", "Missing or incomplete lag specification.", "lag")
        resolved = []
        for ref in members:
            port = _port_ref(ref, store, node)
            if port is None or get_path(port, "node.name") != node:
                raise _error(
                    "1967095",
                    "The specified LAG member port name and node name combination is not valid.",
                    "lag.member_ports",
                )
            if any(port["uuid"] in _members(p) for p in _ports(store)):
                raise _error("1376361", "Port is already a member of a LAG.", "lag.member_ports")
            if any(get_path(p, "vlan.base_port.uuid") == port["uuid"] for p in _ports(store)):
                raise _error(
                    "1376369",
                    "Cannot add port to the interface group because the port hosts one or more "
                    "VLANs.",
                    "lag.member_ports",
                )
            if _interfaces_on(store, port):
                raise _error(
                    "1966189",
                    "Port is the home port or current port of an interface.",
                    "lag.member_ports",
                )
            resolved.append({"name": port["name"], "uuid": port["uuid"], "node": {"name": node}})
        lag["member_ports"] = resolved
        taken = {p.get("name") for p in _ports(store) if get_path(p, "node.name") == node}
        data["name"] = next(f"a0{c}" for c in "abcdefghijklmnopqrstuvwxyz" if f"a0{c}" not in taken)

    def applied(self, store: Store, event: Event, record: Record) -> None:
        if event == "post" and record.get("type") == "lag":
            # LAG members leave their broadcast domain (``network port ifgrp add-port``).
            members = _members(record)
            for port in _table(store, "Port").values():
                if port.get("uuid") in members:
                    port.pop("broadcast_domain", None)

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        domain_ref = changes.get("broadcast_domain")
        if domain_ref is not None:
            domain = _domain(store, domain_ref)
            if domain is None:
                raise _error(
                    "1967088",
                    "The specified broadcast domain name does not exist in the specified IPspace.",
                    "broadcast_domain.name",
                )
            if domain.get("uuid") != get_path(record, "broadcast_domain.uuid") and _interfaces_on(
                store, record
            ):
                raise _error(
                    "1377608",
                    "Port cannot be used because it is currently the home port or current port "
                    "of an interface.",
                    "broadcast_domain",
                )
            changes["broadcast_domain"] = _domain_ref(domain)
        if (
            changes.get("enabled") is False
            and get_path(record, "broadcast_domain.ipspace.name") == "Cluster"
        ):
            raise _error(
                "1376488",
                "Disabling the last operational cluster port on a node is not allowed.",
                "enabled",
            )
        members = get_path(changes, "lag.member_ports")
        if members is not None:
            if record.get("type") != "lag":
                raise bad_value("lag.member_ports", "Only a LAG port has member ports.")
            if not members:
                raise _error("1967126", "A LAG requires at least one member port.", "lag")
            resolved = []
            for ref in members:
                port = _port_ref(ref, store, get_path(record, "node.name"))
                if port is None:
                    raise _error(
                        "1967094",
                        "The specified LAG member port UUID is not valid.",
                        "lag.member_ports",
                    )
                owner = next((p for p in _ports(store) if port["uuid"] in _members(p)), None)
                if owner is not None and owner.get("uuid") != record.get("uuid"):
                    raise _error(
                        "1377563", "Port is already a member of a LAG.", "lag.member_ports"
                    )
                resolved.append(
                    {
                        "name": port["name"],
                        "uuid": port["uuid"],
                        "node": {"name": get_path(port, "node.name")},
                    }
                )
            changes["lag"]["member_ports"] = resolved
            record_lag = record.get("lag")
            if isinstance(record_lag, dict):
                changes["lag"] = {**record_lag, **changes["lag"]}

    def check_delete(self, store: Store, record: Record) -> None:
        if record.get("type") == "physical":
            raise _error("1967105", "Cannot delete a physical port.", "uuid")
        if _interfaces_on(store, record):
            raise _error(
                "1966189", "Port is the home port or current port of an interface.", "uuid"
            )
        if any(get_path(p, "vlan.base_port.uuid") == record.get("uuid") for p in _ports(store)):
            raise _error(
                "1966302",
                "This interface group is hosting VLAN interfaces that must be deleted before "
                "running this command.",
                "uuid",
            )

    def render(self, store: Store, record: Record) -> Record:
        domain = _domain(store, {"uuid": get_path(record, "broadcast_domain.uuid")})
        if domain is not None:
            record["mtu"] = domain.get("mtu", record.get("mtu"))
        record["interface_count"] = len(_interfaces_on(store, record))
        if record.get("enabled") is False:
            record["state"] = "down"
        return record


def _members(port: Mapping[str, Any]) -> set[Any]:
    """The uuids of a LAG's member ports (none for another port)."""
    lag = port.get("lag")
    members = lag.get("member_ports") if isinstance(lag, Mapping) else None
    return {m.get("uuid") for m in members or [] if isinstance(m, Mapping)}


def _domain_ref(domain: Mapping[str, Any]) -> Record:
    return {
        "name": domain.get("name"),
        "uuid": domain.get("uuid"),
        "ipspace": {"name": get_path(domain, "ipspace.name")},
    }


def _node_ref(store: Store, name: Any) -> Record:
    node = next((n for n in _all(store, "Node") if n.get("name") == name), None)
    return {"name": name, "uuid": (node or {}).get("uuid")}


def _mac(seed: str) -> str:
    digest = uuidlib.uuid5(_NAMESPACE, f"mac/{seed}").hex
    return "00:a0:98:" + ":".join(digest[i : i + 2] for i in (0, 2, 4))


@register
class IpInterfaces(Behaviour):
    """IP interfaces (LIFs): a home port in a broadcast domain, unique names and addresses."""

    resource = "IpInterface"
    unique_within: ClassVar[tuple[str, ...] | None] = ("svm.uuid", "ipspace.name")
    required_post: ClassVar[tuple[tuple[str, ...], ...] | None] = (
        ("name",),
        ("ip", "subnet"),
        ("svm.name", "svm.uuid", "ipspace.name", "ipspace.uuid"),
    )
    unknown_reference: ClassVar[Mapping[str, str]] = {"location.home_node": "1967115"}

    def prepare_post(self, store: Store, data: Record) -> None:
        svm = data.get("svm")
        data.setdefault("scope", "svm" if svm else "cluster")
        if svm:
            owner = next((s for s in _all(store, "Svm") if s["uuid"] == svm.get("uuid")), None)
            space = (owner or {}).get("ipspace") or {"name": "Default"}
            if data.get("ipspace") and get_path(data, "ipspace.name") != space.get("name"):
                raise bad_value("ipspace", "An SVM's interface is in the SVM's IPspace.")
            data["ipspace"] = {
                "name": space.get("name"),
                "uuid": space.get("uuid") or ipspace_uuid(str(space.get("name"))),
            }
        ipspace = get_path(data, "ipspace.name")
        data.setdefault("enabled", True)
        data.setdefault(
            "service_policy",
            {
                "name": "default-data-files"
                if svm
                else ("default-cluster" if ipspace == "Cluster" else "default-management")
            },
        )
        self._check_ip(store, data, None)
        self._place(store, data, ipspace)
        location = data.setdefault("location", {})
        location.setdefault("auto_revert", True)
        location.setdefault("failover", "default" if svm else "broadcast_domain_only")
        location["node"] = copy.deepcopy(location["home_node"])
        location["port"] = copy.deepcopy(location["home_port"])
        self._unique_name(store, data.get("name"), get_path(data, "svm.uuid"), ipspace, None)

    @staticmethod
    def _unique_name(store: Store, name: Any, svm: Any, ipspace: Any, besides: Any) -> None:
        for lif in _all(store, "IpInterface"):
            if lif.get("uuid") == besides or lif.get("name") != name:
                continue
            if get_path(lif, "svm.uuid") == svm and get_path(lif, "ipspace.name") == ipspace:
                raise _error(
                    "1966140", "An interface with the same name already exists.", "name", 409
                )

    @staticmethod
    def _check_ip(store: Store, data: Mapping[str, Any], besides: Any) -> None:
        ip = data.get("ip")
        if not isinstance(ip, Mapping) or ip.get("address") is None:
            return
        try:
            address = ipaddress.ip_address(ip["address"])
        except ValueError:
            raise bad_value("ip.address", f'"{ip["address"]}" is not an IP address.') from None
        netmask = str(ip.get("netmask", ""))
        if netmask.isdigit():
            high = 32 if address.version == 4 else 127
            if not 1 <= int(netmask) <= high:
                raise _error(
                    "1966269" if address.version == 4 else "1966267",
                    f"IPv{address.version} addresses must have a prefix length between 1 and "
                    f"{high}.",
                    "ip.netmask",
                )
        elif netmask:
            try:
                ipaddress.ip_network(f"0.0.0.0/{netmask}")
            except ValueError:
                raise bad_value("ip.netmask", f'"{netmask}" is not a netmask.') from None
        ipspace = get_path(data, "ipspace.name")
        for lif in _all(store, "IpInterface"):
            if (
                lif.get("uuid") != besides
                and get_path(lif, "ip.address") == str(address)
                and get_path(lif, "ipspace.name") == ipspace
            ):
                raise _error("1376963", "Duplicate IP address.", "ip.address", 409)

    @staticmethod
    def _place(store: Store, data: Record, ipspace: Any) -> None:
        """Fill the home node and port from what the body names; ONTAP's refusals."""
        location = data.setdefault("location", {})
        node = get_path(location, "home_node.name") or get_path(location, "home_port.node.name")
        home_port = location.get("home_port")
        if home_port is None:
            domain_ref = location.pop("broadcast_domain", None)
            if node is None and domain_ref is None:
                raise _error(
                    "1967111",
                    "A home node must be specified by at least one location.home_node, "
                    "location.home_port, or location.broadcast_domain field.",
                    "location",
                )
            domain = _domain(store, domain_ref, ipspace) if domain_ref else None
            candidates = [
                p
                for p in _ports(store)
                if get_path(p, "broadcast_domain.ipspace.name") == ipspace
                and (domain is None or get_path(p, "broadcast_domain.uuid") == domain.get("uuid"))
                and (node is None or get_path(p, "node.name") == node)
                and p.get("enabled", True)
            ]
            if not candidates:
                raise _error(
                    "1966685",
                    "There are no ports on the node that are in the broadcast domain associated "
                    "with the IPspace.",
                    "location",
                )
            port = candidates[0]
        else:
            found = _port_ref(home_port, store, node)
            if found is None:
                raise _error("1966217", "Invalid port on the node.", "location.home_port")
            port = found
            if get_path(port, "broadcast_domain.uuid") is None:
                raise _error(
                    "1966454",
                    "A port on the node is not a member of a broadcast domain.",
                    "location.home_port",
                )
            if get_path(port, "broadcast_domain.ipspace.name") != ipspace:
                raise _error(
                    "1966373",
                    "Failed to create interface because the home-port is not in the IPspace "
                    "associated with the SVM.",
                    "location.home_port",
                )
        node = get_path(port, "node.name")
        location["home_node"] = _node_ref(store, node)
        location["home_port"] = {"name": port["name"], "uuid": port["uuid"], "node": {"name": node}}

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        if "name" in changes:
            self._unique_name(
                store,
                changes["name"],
                get_path(record, "svm.uuid"),
                get_path(record, "ipspace.name"),
                record.get("uuid"),
            )
        if "ip" in changes:
            merged = {**record, "ip": {**(record.get("ip") or {}), **changes["ip"]}}
            self._check_ip(store, merged, record.get("uuid"))
        location = changes.get("location")
        if not isinstance(location, dict):
            return
        ipspace = get_path(record, "ipspace.name")
        if "home_port" in location or "home_node" in location:
            moved: Record = {
                "location": {k: location[k] for k in ("home_port", "home_node") if k in location}
            }
            self._place(store, moved, ipspace)
            location.update(moved["location"])
        if "port" in location or "node" in location:
            node = get_path(location, "node.name") or get_path(location, "port.node.name")
            port = _port_ref(location.get("port"), store, node) if location.get("port") else None
            if port is None:
                raise _error(
                    "1967133", "The specified location.port.name is not valid.", "location.port"
                )
            home = _port_ref(record["location"]["home_port"], store, None) or {}
            if get_path(port, "broadcast_domain.uuid") != get_path(home, "broadcast_domain.uuid"):
                raise _error(
                    "1377607",
                    "The specified location.port is not in the same broadcast domain as the home "
                    "port of the interface.",
                    "location.port",
                )
            location["port"] = {
                "name": port["name"],
                "uuid": port["uuid"],
                "node": {"name": get_path(port, "node.name")},
            }
            location["node"] = _node_ref(store, get_path(port, "node.name"))
        if location.get("is_home") is False:
            raise _error(
                "1967389",
                'Patching location.is_home to the value "false" is not supported.',
                "location.is_home",
            )

    def applied(self, store: Store, event: Event, record: Record) -> None:
        location = record.get("location")
        if event == "patch" and isinstance(location, dict) and location.pop("is_home", None):
            # ``"location": {"is_home": true}`` reverts the interface to its home port.
            location["port"] = copy.deepcopy(location["home_port"])
            location["node"] = copy.deepcopy(location["home_node"])

    def render(self, store: Store, record: Record) -> Record:
        location = record.get("location")
        if isinstance(location, dict) and "home_port" in location:
            location.setdefault("port", copy.deepcopy(location["home_port"]))
            location.setdefault("node", copy.deepcopy(location.get("home_node") or {}))
            location["is_home"] = get_path(location, "port.uuid") == get_path(
                location, "home_port.uuid"
            )
        ip = record.get("ip")
        if isinstance(ip, dict) and "address" in ip and "family" not in ip:
            with contextlib.suppress(ValueError):
                ip["family"] = f"ipv{ipaddress.ip_address(ip['address']).version}"
        record["state"] = "up" if record.get("enabled", True) else "down"
        policy = next(
            (
                p
                for p in _all(store, "IpServicePolicy")
                if p.get("name") == get_path(record, "service_policy.name")
                and get_path(p, "svm.uuid") == get_path(record, "svm.uuid")
            ),
            None,
        )
        if policy is not None:
            record["services"] = list(policy.get("services") or [])
        return record
