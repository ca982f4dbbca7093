"""FC ports and their adapters' personality: ``/api/network/fc/ports``, and what ``ucadmin``
(the CLI passthrough's ``system node hardware unified-connect``) shows and changes.

A cluster without FC ports gets two per node when they are first read (INFERRED layout, the
same for every scenario): ``0e`` and ``0f``, unified target adapters (CNA hardware) in FC
mode, target type, enabled and online, fabric not connected. Each port's adapter has a
current and a pending mode (``fc``/``cna``) and type (``target``/``initiator``), kept in a
CLI-only table (REST shows neither): ``ucadmin modify`` sets the pending values, which ONTAP
applies at the node's next reboot; the simulator models no reboot, so they stay pending
(INFERRED simplification). A modify while the port is enabled is refused (ONTAP requires the
adapter offline; code INFERRED).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, bad_value
from ..behaviour import Behaviour, register

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["UCADMIN", "adapters", "fc_ports", "modify_adapter"]

Record = dict[str, Any]
PORTS = ("0e", "0f")
MODES = ("fc", "cna")
TYPES = ("target", "initiator")
UCADMIN = "cli:ucadmin"
_NAMESPACE = uuid.UUID("8f0c7c35-6a51-4f3a-9d8e-2c1b0e7f5a11")


def _port(number: int, name: str, node: Record) -> Record:
    wwn = f"20:{number:02x}:00:a0:98:00:00:{number:02x}"
    return {
        "uuid": str(uuid.uuid5(_NAMESPACE, f"{node.get('uuid')}/{name}")),
        "name": name,
        "node": {"name": node.get("name"), "uuid": node.get("uuid")},
        "description": f"Fibre Channel Target Adapter {name} (QLogic CNA 8324 (8362), rev. 2)",
        "enabled": True,
        "state": "online",
        "physical_protocol": "fibre_channel",
        "supported_protocols": ["fcp"],
        "wwnn": "20:00:00:a0:98:00:00:00",
        "wwpn": wwn,
        "speed": {"maximum": "16", "configured": "auto"},
        "fabric": {"connected": False},
        "interface_count": 0,
    }


def fc_ports(store: Store) -> dict[tuple[str, ...], Record]:
    """The FcPort table; two ports per node are derived from the nodes while it is empty."""
    table = store.tables.setdefault("FcPort", {})
    if not table:
        for node in store.tables.get("Node", {}).values():
            for name in PORTS:
                port = _port(len(table), name, node)
                table[(port["uuid"],)] = port
    return table


def adapters(store: Store) -> list[Record]:
    """One row per FC port's adapter: node, adapter, current and pending mode and type,
    ``status_admin`` (``up`` while the port is enabled)."""
    with store.lock:
        kept = store.tables.setdefault(UCADMIN, {})
        rows = []
        for port in fc_ports(store).values():
            node = str((port.get("node") or {}).get("name"))
            key = (node, str(port.get("name")))
            state = kept.setdefault(
                key, {"current_mode": "fc", "current_type": "target", "pending": {}}
            )
            rows.append(
                {
                    "node": key[0],
                    "adapter": key[1],
                    "current_mode": state["current_mode"],
                    "current_type": state["current_type"],
                    "pending_mode": state["pending"].get("mode"),
                    "pending_type": state["pending"].get("type"),
                    "status_admin": "up" if port.get("enabled", True) else "down",
                }
            )
        return rows


def modify_adapter(store: Store, node: str, adapter: str, mode: Any, kind: Any) -> None:
    """``ucadmin modify``: the adapter's pending mode and type (a value equal to the current
    one clears the pending change); refused while the port is enabled."""
    if mode is not None and mode not in MODES:
        raise bad_value("mode", f'Invalid value "{mode}" for "mode": use fc or cna.')
    if kind is not None and kind not in TYPES:
        raise bad_value("type", f'Invalid value "{kind}" for "type": use target or initiator.')
    with store.lock:
        port = next(
            (
                p
                for p in fc_ports(store).values()
                if (p.get("node") or {}).get("name") == node and p.get("name") == adapter
            ),
            None,
        )
        if port is None:
            raise ApiError(404, "4", f'Adapter "{adapter}" of node "{node}" does not exist.')
        if port.get("enabled", True):
            raise ApiError(
                409,
                "1",
                f'Adapter "{adapter}" of node "{node}" must be offline to be modified: '
                "disable its FC port first.",
                "adapter",
            )
        state = store.tables[UCADMIN][(node, adapter)]
        for name, value in (("mode", mode), ("type", kind)):
            if value is None:
                continue
            if value == state[f"current_{name}"]:
                state["pending"].pop(name, None)
            else:
                state["pending"][name] = value


@register
class FcPortBehaviour(Behaviour):
    """FC ports: two per node derived from the nodes when none exist."""

    resource = "FcPort"

    def sync(self, store: Store) -> None:
        fc_ports(store)
