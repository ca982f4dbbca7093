"""ONTAP's CLI passthrough, ``/api/private/cli/<command path>``: one table of the commands
NetApp's Ansible collection and Trident use, each mapped onto the simulator's state.

A command that has a REST counterpart reads and writes the records REST serves (a volume
created through ``POST /api/private/cli/volume`` is the one ``GET /api/storage/volumes``
shows), through the same validation, rules and jobs; one without (``system timeout``,
``cluster ha``, ...) keeps its settings in the store, so a reset restores them. The
passthrough's rules, as ONTAP applies them (sources in docs/cli-passthrough.md):

- a command path is the CLI command with spaces as slashes, ``show``/``create``/``modify``/
  ``delete`` being GET/POST/PATCH/DELETE on it and other verbs their own segment
  (``vserver add-protocols`` -> ``/api/private/cli/vserver/add-protocols``);
- fields are CLI names with ``-`` written ``_`` (``destination-aggregate`` is accepted too);
- a GET shows a command's key fields; ``fields=a,b`` adds others; ``fields=*`` is refused
  (262220); other query arguments select records with REST's query syntax (``v*``,
  ``!x``, ``a|b``);
- a PATCH or DELETE applies to every record its query selects (``{"num_records": n}``);
- a command that runs as a job on ONTAP (``volume create``, ``volume delete``, ...) answers
  202 with the job and its ``cli_output``; others answer at once;
- an unknown command is ONTAP's 404, never a silent 200.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from .errors import ApiError, bad_value, not_found
from .jobs import EffectError
from .model.body import check_body
from .query import get_path, matches, parse_fields, parse_int
from .web.render import write_answer

if TYPE_CHECKING:
    from flask import Flask, Response

    from .sim import Simulator

__all__ = ["CLI_PREFIX", "COMMANDS", "Command", "execute", "register_cli"]

Record = dict[str, Any]
CLI_PREFIX = "/api/private/cli"
#: Query arguments of the passthrough itself; every other argument selects records.
RESERVED = frozenset({"fields", "privilege_level", "return_timeout", "max_records"})
PRIVILEGES = ("admin", "advanced", "diagnostic")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_PROTOCOLS = ("nfs", "cifs", "fcp", "iscsi", "ndmp", "nvme", "s3")


# -- values ----------------------------------------------------------------------------------
def size_in_bytes(value: Any, target: str = "size") -> int:
    """A CLI size (``10g``, ``500MB``, ``1048576``) in bytes; 400 naming ``target`` if bad."""
    if isinstance(value, bool):
        raise bad_value(target, f'Invalid size "{value}".')
    if isinstance(value, int):
        return value
    found = _SIZE.fullmatch(str(value).strip())
    if found is None:
        raise bad_value(target, f'Invalid size "{value}": a number with an optional k, m, g, t.')
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def _mode_to_int(value: Any) -> Any:
    """``---rwxr-xr-x`` (or ``755``) as REST's octal-digits integer 755."""
    text = str(value)
    if re.fullmatch(r"[0-7]{3,4}", text):
        return int(text)
    bits = text[-9:]
    if len(bits) != 9 or not re.fullmatch(r"[r-][w-][xsStT-]" * 3, bits):
        raise bad_value("unix_permissions", f'Invalid permissions "{value}".')
    digits = "".join(
        str((bits[i] == "r") * 4 + (bits[i + 1] == "w") * 2 + (bits[i + 2] not in "-ST"))
        for i in (0, 3, 6)
    )
    return int(digits)


def _mode_to_text(value: Any) -> Any:
    if not isinstance(value, int):
        return value
    digits = f"{value:03d}"[-3:]
    return "---" + "".join(
        ("r" if int(d) & 4 else "-") + ("w" if int(d) & 2 else "-") + ("x" if int(d) & 1 else "-")
        for d in digits
    )


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def cli_name(name: str) -> str:
    """A field name as the passthrough spells it (``destination-aggregate`` -> ``_``)."""
    return name.replace("-", "_")


# -- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One CLI field: the REST field it shows (or a function of the REST record), and how a
    CLI value becomes the REST one (None: the field is read-only)."""

    rest: str | None = None
    show: Callable[[Record], Any] | None = None
    to_rest: Callable[[Any], Any] | None = lambda value: value
    #: The REST body key a write sets (default ``rest``); "" merges the converted value,
    #: an object, into the body.
    key: str | None = None

    def value(self, record: Record) -> Any:
        if self.show is not None:
            return self.show(record)
        if self.rest is None:
            return None
        found = get_path(record, self.rest)
        if isinstance(found, list):
            return found[0] if len(found) == 1 else found
        return None if found is _ABSENT else found


_ABSENT = get_path({}, "absent")


def ro(rest: str | None = None, show: Callable[[Record], Any] | None = None) -> Field:
    """A read-only field."""
    return Field(rest=rest, show=show, to_rest=None)


@dataclass(frozen=True)
class Answer:
    """What a command answers: status and body."""

    status: int
    body: Record


#: A write handler: (sim, command, selected REST records or None for a create, CLI args).
Handler = Callable[
    ["Simulator", "Command", "list[Record] | None", Record, Mapping[str, str]], Answer
]


@dataclass(frozen=True)
class Command:
    """One CLI command path.

    ``records`` lists the REST records the command shows (one row each); ``fields`` maps CLI
    names onto them; ``keys`` are shown by every GET and identify a record. ``post``,
    ``patch`` and ``delete`` handle the writes the command takes (``None``: ONTAP's 405).
    """

    path: str
    keys: tuple[str, ...]
    fields: Mapping[str, Field]
    records: Callable[[Simulator], list[Record]]
    post: Handler | None = None
    patch: Handler | None = None
    delete: Handler | None = None
    get: bool = True
    doc: str = ""
    #: Fields a GET shows besides the keys (a setting's value).
    shown: tuple[str, ...] = ()
    #: A POST creates records from its body although the command has no GET (``... add``).
    creates: bool = False

    def row(self, record: Record) -> Record:
        return {name: spec.value(record) for name, spec in self.fields.items()}

    def methods(self) -> list[str]:
        found = ["GET"] if self.get else []
        for method, handler in (
            ("POST", self.post),
            ("PATCH", self.patch),
            ("DELETE", self.delete),
        ):
            if handler is not None:
                found.append(method)
        return found


class Handlers(TypedDict):
    """The writes of a command whose records are REST records."""

    post: Handler | None
    patch: Handler | None
    delete: Handler | None


@dataclass
class _Rest:
    """Where a command's records live in REST: the resource, its collection, its records.

    ``record`` is the record path's template (``{svm.uuid}``, ``{name}``: values of the
    record), by default the collection and the record's uuid; a collection with
    ``{svm.uuid}`` is filled from the SVM a create names."""

    resource: str
    collection: str
    jobs: frozenset[str] = field(default_factory=frozenset)
    record: str | None = None

    def record_path(self, record: Mapping[str, Any]) -> str:
        if self.record is None:
            return f"{self.collection}/{record['uuid']}"
        return _fill(self.record, record)

    def collection_for(self, sim: Simulator, body: Record) -> str:
        """The collection a create posts to (its SVM's, for a collection under an SVM)."""
        if "{svm.uuid}" not in self.collection:
            return self.collection
        name = body.pop("svm.name", None)
        if name is None:
            raise bad_value("vserver", 'Missing value for required field "vserver".')
        svm = next((r for r in rest_records(sim, "Svm") if r.get("name") == name), None)
        if svm is None:
            raise bad_value("vserver", f'Vserver "{name}" does not exist.')
        return self.collection.replace("{svm.uuid}", str(svm["uuid"]))

    def rows(self, sim: Simulator) -> list[Record]:
        """The REST records, each naming its SVM (records under an SVM hold its uuid only)."""
        names = {r.get("uuid"): r.get("name") for r in rest_records(sim, "Svm")}
        found = rest_records(sim, self.resource)
        for record in found:
            svm = record.get("svm")
            if isinstance(svm, dict) and "name" not in svm:
                svm["name"] = names.get(svm.get("uuid"))
        return found


def _fill(template: str, record: Mapping[str, Any]) -> str:
    return re.sub(
        r"\{([^}]+)\}", lambda m: quote(str(get_path(record, m.group(1))), safe=""), template
    )


def rest_records(sim: Simulator, resource: str) -> list[Record]:
    """Every record of ``resource`` as a REST GET shows it (all fields)."""
    deep = sim.inventory.records_of(resource)
    if deep is not None:
        return deep
    store = sim.store
    spec = store.spec.resources[resource]
    with store.lock:
        return [store.render(spec, r) for r in list(store.tables.get(resource, {}).values())]


def _plan_and_apply(sim: Simulator, method: str, path: str, body: Record | None) -> None:
    """Validate and apply a REST write at once (a synchronous CLI command): no job."""
    if sim.inventory.handles(method, path):
        plan = sim.inventory.plan(method, path, body, {})
    else:
        route = sim.routes.match(method, path)
        target = sim.store.target(route.template, path, route.values)
        plan = sim.store.plan(route.operation, target, body, {})
    try:
        plan.effect()
    except EffectError as exc:
        raise ApiError(404 if exc.code == 4 else 409, str(exc.code), exc.message) from None


def _job_answer(
    sim: Simulator,
    method: str,
    path: str,
    body: Record | None,
    params: Mapping[str, str],
    what: str,
) -> Answer:
    """Run a REST write as a job, as the CLI command does on ONTAP; its CLI answer."""
    return_timeout = parse_int(params, "return_timeout", 0, 120) or 0
    outcome = sim.submit(method, path, body, return_timeout=return_timeout)
    status, answered, _ = write_answer(outcome)
    if "error" in answered:
        return Answer(status, answered)
    job = answered.get("job")
    if job is None:
        return Answer(200, {"num_records": 1})
    state = sim.jobs.record(job["uuid"])["state"]
    output = (
        f"[Job {job['uuid']}] Job succeeded: {what}"
        if state == "success"
        else f"[Job {job['uuid']}] Job is queued: {what}."
    )
    return Answer(status, {"job": job, "cli_output": output})


def _rest_body(
    command: Command, args: Mapping[str, Any], *, allowed: Iterable[str] | None = None
) -> Record:
    """A REST body (dotted names) from CLI ``args``; 400 naming a field it cannot take."""
    body: Record = {}
    names = set(allowed) if allowed is not None else None
    for name, value in args.items():
        spec = command.fields.get(name)
        if spec is None:
            raise ApiError(400, "262179", f'Unexpected argument "{name}".', name)
        key = spec.key if spec.key is not None else spec.rest
        if spec.to_rest is None or key is None or (names is not None and name not in names):
            raise bad_value(name, f'Field "{name}" cannot be set by "{command.path}".')
        converted = spec.to_rest(value)
        if key:
            body[key] = converted
        else:
            body.update(converted)
    return body


def rest_object(
    rest: _Rest,
    *,
    create: Sequence[str] | None = None,
    modify: bool = True,
    delete: bool = True,
    prepare: Callable[[Simulator, Record], None] | None = None,
) -> Handlers:
    """Handlers of a command whose records are REST records: create (the ``create`` CLI
    fields), modify and delete (each record the query selects), as jobs where ``rest.jobs``
    says ONTAP's CLI runs them as jobs."""

    def post(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        body = _rest_body(command, args, allowed=create)
        if prepare is not None:
            prepare(sim, body)
        name = args.get(command.keys[-1], "")
        collection = rest.collection_for(sim, body)
        if "POST" in rest.jobs:
            return _job_answer(sim, "POST", collection, body, params, f"Create {name}")
        # What the CLI's create takes and REST only modifies is set by a PATCH after the POST.
        fields = sim.store.spec.resources[rest.resource].fields
        later = {
            k: body.pop(k)
            for k in list(body)
            if k in fields and not fields[k].post and fields[k].patch
        }
        _plan_and_apply(sim, "POST", collection, body)
        if later:
            keys = {k: args[k] for k in command.keys if k in args}
            for record, _ in _select(command, sim, keys):
                _plan_and_apply(sim, "PATCH", rest.record_path(record), dict(later))
        return Answer(201, {"num_records": 1})

    def patch(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        changeable = [name for name in command.fields if name not in command.keys]
        body = _rest_body(command, args, allowed=changeable)
        for record in selected or []:
            _plan_and_apply(sim, "PATCH", rest.record_path(record), dict(body))
        return Answer(200, {"num_records": len(selected or [])})

    def remove(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        records = selected or []
        if "DELETE" in rest.jobs and len(records) == 1:
            name = command.row(records[0]).get(command.keys[-1])
            return _job_answer(
                sim, "DELETE", rest.record_path(records[0]), None, params, f"Delete {name}"
            )
        for record in records:
            _plan_and_apply(sim, "DELETE", rest.record_path(record), None)
        return Answer(200, {"num_records": len(records)})

    return {
        "post": post if create is not None else None,
        "patch": patch if modify else None,
        "delete": remove if delete else None,
    }


def action(
    run: Callable[[Simulator, Command, Record, Record, Mapping[str, str]], Answer | None],
    *,
    args: Sequence[str],
) -> Handler:
    """A handler running ``run(sim, command, record, args, params)`` on each selected record
    (its ``args``: the CLI fields of the body that are not keys)."""

    def handler(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        given: Record,
        params: Mapping[str, str],
    ) -> Answer:
        for name in given:
            if name not in args:
                raise ApiError(400, "262179", f'Unexpected argument "{name}".', name)
        records = selected or []
        if not records:
            raise not_found(command.keys[-1])
        last: Answer | None = None
        for record in records:
            last = run(sim, command, record, given, params)
        if last is not None and len(records) == 1:
            return last
        return Answer(200, {"num_records": len(records)})

    return handler


# -- volumes, SVMs, aggregates -----------------------------------------------------------------
VOLUMES = _Rest("Volume", "/api/storage/volumes", jobs=frozenset({"POST", "DELETE"}))
SVMS = _Rest("Svm", "/api/svm/svms", jobs=frozenset({"POST", "DELETE"}))


def _svm_of_volume(sim: Simulator, body: Record) -> None:
    if "svm.name" not in body:
        raise bad_value("vserver", 'Missing value for required field "vserver".')


VOLUME_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "volume": Field("name"),
    "uuid": ro("uuid"),
    "aggregate": Field("aggregates.name", key="aggregates", to_rest=lambda v: [{"name": v}]),
    "size": Field("size", to_rest=size_in_bytes),
    "available": ro("space.available"),
    "used": ro("space.used"),
    "state": Field("state"),
    "type": Field("type", show=lambda r: _upper(r.get("type")), to_rest=_lower),
    "policy": Field("nas.export_policy.name"),
    "junction_path": Field("nas.path"),
    "security_style": Field("nas.security_style"),
    "unix_permissions": Field(
        "nas.unix_permissions",
        show=lambda r: _mode_to_text(get_path(r, "nas.unix_permissions")),
        to_rest=_mode_to_int,
    ),
    "comment": Field("comment"),
    "snapshot_policy": Field("snapshot_policy.name"),
    "percent_snapshot_space": Field("space.snapshot.reserve_percent"),
    "space_guarantee": Field("guarantee.type"),
    "language": Field("language"),
    "tiering_policy": Field("tiering.policy"),
}


def _protocols(record: Record, allowed: bool) -> list[str]:
    return [p for p in _PROTOCOLS if (record.get(p) or {}).get("allowed", True) is allowed]


def _allowed_body(value: Any) -> Record:
    wanted = _as_list(value)
    unknown = [p for p in wanted if p not in _PROTOCOLS]
    if unknown:
        raise bad_value("allowed_protocols", f'Unknown protocol "{unknown[0]}".')
    return {f"{p}.allowed": p in wanted for p in _PROTOCOLS}


def _max_volumes(value: Any) -> str:
    return str(value)


def _vservers(sim: Simulator) -> list[Record]:
    cluster = sim.inventory.cluster()
    admin = {"name": cluster["name"], "uuid": cluster["uuid"], "_cli_type": "admin"}
    return [admin, *rest_records(sim, "Svm")]


VSERVER_FIELDS: Mapping[str, Field] = {
    "vserver": Field("name"),
    "uuid": ro("uuid"),
    "type": ro(show=lambda r: r.get("_cli_type", "data")),
    "subtype": Field("subtype"),
    "admin_state": Field("state"),
    "operational_state": ro("state"),
    "language": Field("language"),
    "comment": Field("comment"),
    "snapshot_policy": Field("snapshot_policy.name"),
    "ipspace": Field("ipspace.name"),
    "aggr_list": Field(
        "aggregates.name",
        key="aggregates",
        to_rest=lambda v: [{"name": a} for a in _as_list(v)],
    ),
    "max_volumes": Field("max_volumes", to_rest=_max_volumes),
    "allowed_protocols": Field(
        show=lambda r: _protocols(r, True) if "_cli_type" not in r else None,
        key="",
        to_rest=_allowed_body,
    ),
    "disallowed_protocols": ro(show=lambda r: _protocols(r, False) if "_cli_type" not in r else []),
}


def _protocols_action(allowed: bool) -> Callable[..., Answer | None]:
    def run(
        sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
    ) -> Answer | None:
        if "_cli_type" in record:
            raise bad_value("vserver", f'"{record["name"]}" is not a data SVM.')
        protocols = _as_list(args.get("protocols", []))
        if not protocols:
            raise bad_value("protocols", 'Missing value for required field "protocols".')
        for protocol in protocols:
            if protocol not in _PROTOCOLS:
                raise bad_value("protocols", f'Unknown protocol "{protocol}".')
        body = {f"{p}.allowed": allowed for p in protocols}
        _plan_and_apply(sim, "PATCH", SVMS.record_path(record), body)
        return None

    return run


def _move_start(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    aggregate = args.get("destination_aggregate")
    if not aggregate:
        raise bad_value("destination_aggregate", 'Missing value for "destination_aggregate".')
    body = {"movement": {"destination_aggregate": {"name": aggregate}}}
    return _job_answer(
        sim, "PATCH", VOLUMES.record_path(record), body, params, f"Move {record['name']}"
    )


AGGREGATE_FIELDS: Mapping[str, Field] = {
    "aggregate": ro("name"),
    "uuid": ro("uuid"),
    "node": ro("node.name"),
    "size": ro("space.block_storage.size"),
    "availsize": ro("space.block_storage.available"),
    "usedsize": ro("space.block_storage.used"),
    "state": ro("state"),
}

# -- SnapMirror --------------------------------------------------------------------------------
RELATIONSHIPS = _Rest("SnapmirrorRelationship", "/api/snapmirror/relationships")


def _split(record: Record, side: str, part: int) -> Any:
    path = get_path(record, f"{side}.path")
    return str(path).partition(":")[2 * part] if isinstance(path, str) else None


def _mirror_state(record: Record) -> Any:
    state = record.get("state")
    if state == "paused":
        return "snapmirrored"
    return state.replace("_", "-") if isinstance(state, str) else state


def _status(record: Record) -> str:
    if record.get("state") == "paused":
        return "quiesced"
    transfer = get_path(record, "transfer.state")
    return "transferring" if transfer in ("transferring", "queued") else "idle"


SNAPMIRROR_FIELDS: Mapping[str, Field] = {
    "source_path": Field("source.path"),
    "destination_path": Field("destination.path"),
    "source_vserver": ro(show=lambda r: _split(r, "source", 0)),
    "source_volume": ro(show=lambda r: _split(r, "source", 1)),
    "destination_vserver": ro(show=lambda r: _split(r, "destination", 0)),
    "destination_volume": ro(show=lambda r: _split(r, "destination", 1)),
    "relationship_id": ro("uuid"),
    "relationship_type": ro(show=lambda r: "extended-data-protection"),
    "policy": Field("policy.name"),
    "policy_type": ro("policy.type"),
    "schedule": Field("transfer_schedule.name"),
    "throttle": Field("throttle"),
    "mirror_state": ro(show=_mirror_state),
    "status": ro(show=_status),
    "healthy": ro("healthy"),
    "last_transfer_type": ro("last_transfer_type"),
    "lag_time": ro("lag_time"),
    "newest_snapshot": ro("exported_snapshot"),
}


def _state_action(state: str, verb: str, *, job: bool) -> Callable[..., Answer | None]:
    """``snapmirror <verb>``: a PATCH of the relationship's state, a job where it transfers."""

    def run(
        sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
    ) -> Answer | None:
        path = RELATIONSHIPS.record_path(record)
        wanted = "in_sync" if state == "=" and get_path(record, "policy.type") == "sync" else state
        wanted = "snapmirrored" if wanted == "=" else wanted
        destination = get_path(record, "destination.path")
        if job:
            status, answered, _ = write_answer(sim.submit("PATCH", path, {"state": wanted}))
            if "error" in answered:
                return Answer(status, answered)
            output = f'Operation is queued: snapmirror {verb} of destination "{destination}".'
            return Answer(200, {"num_records": 1, "cli_output": output})
        _plan_and_apply(sim, "PATCH", path, {"state": wanted})
        return Answer(
            200,
            {
                "num_records": 1,
                "cli_output": f"Operation succeeded: snapmirror {verb} for the relationship "
                f'with destination "{destination}".',
            },
        )

    return run


def _update(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    transfers = f"{RELATIONSHIPS.record_path(record)}/transfers"
    status, answered, _ = write_answer(sim.submit("POST", transfers, {}))
    if "error" in answered:
        return Answer(status, answered)
    destination = get_path(record, "destination.path")
    output = f'Operation is queued: snapmirror update of destination "{destination}".'
    return Answer(200, {"num_records": 1, "cli_output": output})


# -- LUNs, NVMe subsystems ---------------------------------------------------------------------
LUNS = _Rest("Lun", "/api/storage/luns")
SUBSYSTEMS = _Rest("NvmeSubsystem", "/api/protocols/nvme/subsystems")

LUN_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "path": Field("name"),
    "volume": ro("location.volume.name"),
    "size": Field("space.size", to_rest=size_in_bytes),
    "ostype": Field("os_type"),
    "state": ro(show=lambda r: get_path(r, "status.state")),
    "mapped": ro(show=lambda r: "mapped" if get_path(r, "status.mapped") is True else "unmapped"),
    "serial": ro("serial_number"),
    "uuid": ro("uuid"),
    "comment": Field("comment"),
}
SUBSYSTEM_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "subsystem": Field("name"),
    "ostype": Field("os_type"),
    "uuid": ro("uuid"),
    "target_nqn": ro("target_nqn"),
    "comment": Field("comment"),
}


# -- networking: a broadcast domain's ports ------------------------------------------------------
def _domains(sim: Simulator) -> list[Record]:
    return rest_records(sim, "BroadcastDomain")


def _remove_ports(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    """``network port broadcast-domain remove-ports``: the ports (``node:port``) leave the
    domain, as REST then shows them (no REST write takes a port out of its domain)."""
    wanted = _as_list(args.get("ports", []))
    store = sim.store
    with store.lock:
        ports = list(store.tables.get("Port", {}).values())
        chosen = []
        for name in wanted:
            node, _, port_name = name.partition(":")
            port = next(
                (
                    p
                    for p in ports
                    if get_path(p, "node.name") == node and p.get("name") == port_name
                ),
                None,
            )
            if port is None or get_path(port, "broadcast_domain.uuid") != record.get("uuid"):
                raise ApiError(
                    400,
                    "1967087",
                    f'Port "{name}" is not a member of broadcast domain "{record.get("name")}".',
                    "ports",
                )
            chosen.append(port)
        for port in chosen:
            interface = next(
                (
                    i
                    for i in store.tables.get("IpInterface", {}).values()
                    if port.get("uuid")
                    in (get_path(i, "location.home_port.uuid"), get_path(i, "location.port.uuid"))
                ),
                None,
            )
            if interface is not None:
                raise ApiError(
                    400,
                    "1377608",
                    f'Port "{get_path(port, "node.name")}:{port.get("name")}" is the home or '
                    f'current port of interface "{interface.get("name")}".',
                    "ports",
                )
        for port in chosen:
            port.pop("broadcast_domain", None)
    return None


# -- NAS: CIFS local users, preferred domain controllers, FPolicy ----------------------------------
LOCAL_USERS = _Rest(
    "LocalCifsUser",
    "/api/protocols/cifs/local-users",
    record="/api/protocols/cifs/local-users/{svm.uuid}/{sid}",
)
LOCAL_USER_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "user_name": Field("name"),
    "full_name": Field("full_name"),
    "description": Field("description"),
    "is_account_disabled": Field("account_disabled", to_rest=lambda v: _boolean(v)),
    "password": Field("password", show=lambda r: None),
}
PREFERRED_DCS = _Rest(
    "ActiveDirectoryPreferredDc",
    "/api/protocols/active-directory/{svm.uuid}/preferred-domain-controllers",
    record="/api/protocols/active-directory/{svm.uuid}/preferred-domain-controllers/"
    "{fqdn}/{server_ip}",
)
PREFERRED_DC_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "domain": Field("fqdn"),
    "preferred_dc": Field("server_ip"),
    "skip_config_validation": ro(show=lambda r: None),
}


def _add_preferred_dcs(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver active-directory preferred-dc add``: one REST record per address."""
    body = _rest_body(command, {k: v for k, v in args.items() if k != "preferred_dc"})
    collection = PREFERRED_DCS.collection_for(sim, body)
    addresses = _as_list(args.get("preferred_dc", []))
    if not addresses:
        raise bad_value("preferred_dc", 'Missing value for required field "preferred_dc".')
    for address in addresses:
        _plan_and_apply(sim, "POST", collection, {**body, "server_ip": address})
    return Answer(201, {"num_records": len(addresses)})


def _listed(path: str) -> Callable[[Record], Any]:
    return lambda r: list(r.get(path) or [])


def _flags(path: str) -> Callable[[Record], Any]:
    return lambda r: sorted(k for k, v in (r.get(path) or {}).items() if v is True)


FPOLICY_ENGINES = _Rest(
    "FpolicyEngine",
    "/api/protocols/fpolicy/{svm.uuid}/engines",
    record="/api/protocols/fpolicy/{svm.uuid}/engines/{name}",
)
FPOLICY_ENGINE_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "engine_name": Field("name"),
    "primary_servers": Field(
        show=_listed("primary_servers"), key="primary_servers", to_rest=_as_list
    ),
    "secondary_servers": Field(
        show=_listed("secondary_servers"), key="secondary_servers", to_rest=_as_list
    ),
    "port": Field("port", to_rest=lambda v: _integer(v)),
    "extern_engine_type": Field("type"),
    "ssl_option": Field("ssl_option"),
    "max_connection_retries": Field("max_connection_retries", to_rest=lambda v: _integer(v)),
    "max_server_reqs": Field("max_server_requests", to_rest=lambda v: _integer(v)),
    "certificate_common_name": Field("certificate.name"),
    "certificate_serial": Field("certificate.serial_number"),
    "certificate_ca": Field("certificate.ca"),
    "recv_buffer_size": Field("buffer_size.recv_buffer", to_rest=lambda v: _integer(v)),
    "send_buffer_size": Field("buffer_size.send_buffer", to_rest=lambda v: _integer(v)),
    "is_resiliency_enabled": Field("resiliency.enabled", to_rest=lambda v: _boolean(v)),
    "resiliency_directory_path": Field("resiliency.directory_path"),
}
FPOLICY_EVENTS = _Rest(
    "FpolicyEvent",
    "/api/protocols/fpolicy/{svm.uuid}/events",
    record="/api/protocols/fpolicy/{svm.uuid}/events/{name}",
)
FPOLICY_EVENT_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "event_name": Field("name"),
    "protocol": Field("protocol"),
    "file_operations": Field(
        show=_flags("file_operations"),
        key="file_operations",
        to_rest=lambda v: {name: True for name in _as_list(v)},
    ),
    "filters": Field(
        show=_flags("filters"),
        key="filters",
        to_rest=lambda v: {name: True for name in _as_list(v)},
    ),
    "volume_operation": Field("volume_monitoring", to_rest=lambda v: _boolean(v)),
}


FPOLICY_POLICIES = _Rest(
    "FpolicyPolicy",
    "/api/protocols/fpolicy/{svm.uuid}/policies",
    record="/api/protocols/fpolicy/{svm.uuid}/policies/{name}",
)


def _yes_no(value: Any) -> str:
    return "yes" if _boolean(value) else "no"


FPOLICY_POLICY_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "policy_name": Field("name"),
    "events": Field(
        show=lambda r: [e.get("name") for e in r.get("events") or []],
        key="events",
        to_rest=lambda v: [{"name": name} for name in _as_list(v)],
    ),
    "engine": Field("engine.name"),
    "is_mandatory": Field(
        "mandatory", show=lambda r: r.get("mandatory", True), to_rest=lambda v: _boolean(v)
    ),
    "allow_privileged_access": Field(
        show=lambda r: _yes_no(r.get("allow_privileged_access", False)),
        key="allow_privileged_access",
        to_rest=lambda v: _boolean(v),
    ),
    "privileged_user_name": Field("privileged_user"),
    "is_passthrough_read_enabled": Field(
        "passthrough_read",
        show=lambda r: r.get("passthrough_read", False),
        to_rest=lambda v: _boolean(v),
    ),
    "status": ro(show=lambda r: "on" if r.get("enabled") else "off"),
}


def _create_policy(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver fpolicy policy create``: a disabled policy, without scope or priority."""
    from .model.deep.fpolicy import create_policy

    body = _rest_body(command, args, allowed=[n for n in command.fields if n != "status"])
    FPOLICY_POLICIES.collection_for(sim, body)  # the SVM exists
    if not body.get("events"):
        raise bad_value("events", 'Missing value for required field "events".')
    svm = next(r for r in rest_records(sim, "Svm") if r.get("name") == args.get("vserver"))
    body = check_body(sim.store.spec.resources["FpolicyPolicy"], body, "post")
    body["svm"] = {"name": svm["name"], "uuid": svm["uuid"]}
    create_policy(sim.store, body)
    return Answer(201, {"num_records": 1})


def _modify_policy(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver fpolicy policy modify``: a REST PATCH; ``events`` (which REST's PATCH does not
    take) is set with the checks of a create."""
    from .model.deep.fpolicy import set_events

    changeable = [n for n in command.fields if n not in command.keys and n != "status"]
    body = _rest_body(command, args, allowed=changeable)
    events = body.pop("events", None)
    for record in selected or []:
        if events is not None:
            set_events(sim.store, str(get_path(record, "svm.uuid")), record["name"], events)
        if body:
            _plan_and_apply(sim, "PATCH", FPOLICY_POLICIES.record_path(record), dict(body))
    return Answer(200, {"num_records": len(selected or [])})


#: ``vserver fpolicy policy scope``'s fields: the policy's ``scope``.
_SCOPE_LISTS = {
    "volumes_to_include": "include_volumes",
    "volumes_to_exclude": "exclude_volumes",
    "shares_to_include": "include_shares",
    "shares_to_exclude": "exclude_shares",
    "export_policies_to_include": "include_export_policies",
    "export_policies_to_exclude": "exclude_export_policies",
    "file_extensions_to_include": "include_extension",
    "file_extensions_to_exclude": "exclude_extension",
}
_SCOPE_FLAGS = {
    "is_file_extension_check_on_directories_enabled": "check_extensions_on_directories",
    "check_extensions_on_directories": "check_extensions_on_directories",
    "is_monitoring_of_objects_with_no_extension_enabled": "object_monitoring_with_no_extension",
}


def _at(record: Record, path: str) -> Any:
    found = get_path(record, path)
    return None if found is _ABSENT else found


def _scope_list(rest: str) -> Field:
    return Field(
        show=lambda r: list(_at(r, f"scope.{rest}") or []) or None,
        key=f"scope.{rest}",
        to_rest=_as_list,
    )


def _scope_flag(rest: str) -> Field:
    return Field(
        show=lambda r: _at(r, f"scope.{rest}") is True,
        key=f"scope.{rest}",
        to_rest=lambda v: _boolean(v),
    )


FPOLICY_SCOPE_FIELDS: Mapping[str, Field] = {
    "vserver": Field("svm.name"),
    "policy_name": Field("name"),
    **{cli: _scope_list(rest) for cli, rest in _SCOPE_LISTS.items()},
    **{cli: _scope_flag(rest) for cli, rest in _SCOPE_FLAGS.items()},
}


def _scoped(sim: Simulator) -> list[Record]:
    return [r for r in FPOLICY_POLICIES.rows(sim) if r.get("scope")]


def _scope_policy(sim: Simulator, args: Record) -> Record:
    policy = next(
        (
            r
            for r in FPOLICY_POLICIES.rows(sim)
            if get_path(r, "svm.name") == args.get("vserver")
            and r.get("name") == args.get("policy_name")
        ),
        None,
    )
    if policy is None:
        raise ApiError(
            404, "4", f'FPolicy policy "{args.get("policy_name")}" does not exist.', "policy_name"
        )
    return policy


def _create_scope(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver fpolicy policy scope create``: the policy's ``scope`` (a REST PATCH); a
    policy that has one already: 409, code 1 (INFERRED)."""
    policy = _scope_policy(sim, args)
    if policy.get("scope"):
        raise ApiError(
            409,
            "1",
            f'The scope of FPolicy policy "{policy["name"]}" already exists.',
            "policy_name",
        )
    fields = [n for n in command.fields if n not in command.keys]
    body = _rest_body(
        command, {k: v for k, v in args.items() if k not in command.keys}, allowed=fields
    )
    _plan_and_apply(sim, "PATCH", FPOLICY_POLICIES.record_path(policy), body)
    return Answer(201, {"num_records": 1})


def _delete_scope(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver fpolicy policy scope delete``: the policy has no scope any more."""
    from .model.deep.fpolicy import clear_scope

    for record in selected or []:
        clear_scope(sim.store, str(get_path(record, "svm.uuid")), record["name"])
    return Answer(200, {"num_records": len(selected or [])})


# -- the recovery queue ------------------------------------------------------------------------
def _recovery_queue(sim: Simulator) -> list[Record]:
    """Deleted volumes kept for recovery: none, since the simulator destroys a deleted volume
    at once (as ``volume delete -force`` does)."""
    return []


def _purge(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    raise not_found("volume")  # pragma: no cover - the queue is always empty


# -- settings without a REST counterpart ---------------------------------------------------------
def settings(
    name: str, defaults: Callable[[Simulator], list[Record]]
) -> Callable[[Simulator], list[Record]]:
    """The records of a CLI-only setting, kept in the store (a reset brings the defaults back)."""
    table_name = f"cli:{name}"

    def records(sim: Simulator) -> list[Record]:
        store = sim.store
        with store.lock:
            table = store.tables.get(table_name)
            if table is None:
                rows = defaults(sim)
                table = store.tables[table_name] = {(str(i),): row for i, row in enumerate(rows)}
            return list(table.values())

    return records


#: What ``snaplock compliance-clock show`` says of a node whose clock was never initialized.
CLOCK_NOT_CONFIGURED = "ComplianceClock is not configured."
_compliance_settings = settings(
    "snaplock/compliance-clock", lambda sim: [{"node": n, "configured": False} for n in _nodes(sim)]
)


def _compliance_clocks(sim: Simulator) -> list[Record]:
    """Each node's SnapLock compliance clock: the cluster's time once initialized."""
    now = time.strftime("%a %b %d %H:%M:%S UTC %Y +00:00", time.gmtime(sim.clock.now()))
    with sim.store.lock:
        rows = _compliance_settings(sim)
        for row in rows:
            row["time"] = now if row["configured"] else CLOCK_NOT_CONFIGURED
        return rows


def _initialize_clock(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    with sim.store.lock:
        if record["configured"]:
            raise bad_value(
                "node", f'The compliance clock of node "{record["node"]}" is already initialized.'
            )
        record["configured"] = True
    return None


def _modify_setting(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    changes = {}
    for name, value in args.items():
        spec = command.fields.get(name)
        if spec is None:
            raise ApiError(400, "262179", f'Unexpected argument "{name}".', name)
        if spec.to_rest is None or name in command.keys:
            raise bad_value(name, f'Field "{name}" cannot be modified.')
        changes[name] = spec.to_rest(value)
    with sim.store.lock:
        for record in selected or []:
            record.update(changes)
    return Answer(200, {"num_records": len(selected or [])})


def _nodes(sim: Simulator) -> list[str]:
    return [str(n["name"]) for n in sim.inventory.records_of("Node") or []]


def _on_off(value: Any) -> str:
    text = str(value).lower()
    if text in ("true", "on"):
        return "on"
    if text in ("false", "off"):
        return "off"
    raise bad_value("value", f'The value "{value}" is invalid: use on or off.')


def _boolean(value: Any) -> bool:
    text = str(value).lower()
    if text in ("true", "on"):
        return True
    if text in ("false", "off"):
        return False
    raise bad_value("value", f'The value "{value}" is invalid: use true or false.')


def _integer(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise bad_value("value", f'The value "{value}" is not an integer.') from None


def _setting(
    path: str,
    keys: tuple[str, ...],
    fields: Mapping[str, Field],
    defaults: Callable[[Simulator], list[Record]],
    doc: str,
) -> Command:
    shown = () if keys else tuple(fields)
    return Command(
        path, keys, fields, settings(path, defaults), patch=_modify_setting, doc=doc, shown=shown
    )


def _same(name: str, to_rest: Callable[[Any], Any] | None = lambda v: v) -> Field:
    return Field(name, to_rest=to_rest)


# -- disks: ownership ------------------------------------------------------------------------------
def _disk_rows(sim: Simulator) -> list[Record]:
    from .model.deep.disks import disks

    with sim.store.lock:
        return list(disks(sim.store).values())


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise bad_value("count", f'The value "{value}" is not an integer.')
    try:
        return int(str(value))
    except ValueError:
        raise bad_value("count", f'The value "{value}" is not an integer.') from None


def _check_args(args: Record, allowed: Iterable[str]) -> None:
    for name in args:
        if name not in allowed:
            raise ApiError(400, "262179", f'Unexpected argument "{name}".', name)


def _disk_assign(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``storage disk assign``: ``disk`` (names), ``count`` (of ``type``) or ``all`` unassigned
    disks become spares of ``owner`` (``node`` with ``all``, as na_ontap_disks sends it)."""
    from .model.deep.disks import assign_disks

    _check_args(args, ("disk", "owner", "node", "count", "type", "all"))
    owner = args.get("owner", args.get("node"))
    count = _count(args["count"]) if "count" in args else None
    every = _boolean(args["all"]) if "all" in args else False
    kind = str(args["type"]) if "type" in args else None
    names = _as_list(args["disk"]) if "disk" in args else []
    done = assign_disks(sim.store, owner, names=names, count=count, kind=kind, every=every)
    return Answer(200, {"num_records": done})


def _disk_removeowner(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``storage disk removeowner``: each named spare disk becomes unassigned."""
    from .model.deep.disks import remove_owner

    _check_args(args, ("disk",))
    names = _as_list(args.get("disk", []))
    if not names:
        raise bad_value("disk", 'Missing value for required field "disk".')
    for name in names:
        remove_owner(sim.store, name)
    return Answer(200, {"num_records": len(names)})


DISK_FIELDS: Mapping[str, Field] = {
    "disk": ro("name"),
    "owner": ro("node.name"),
    "home": ro("home_node.name"),
    "container_type": ro("container_type"),
    "type": ro(show=lambda r: _upper(r.get("type"))),
}


# -- security login role config: account rules per role -----------------------------------------
#: ONTAP's predefined roles (its documentation's "Predefined roles for cluster administrators"
#: and "... for SVM administrators"): the admin vserver's, and each data SVM's.
CLUSTER_ROLES = ("admin", "autosupport", "backup", "none", "readonly")
SVM_ROLES = (
    "vsadmin",
    "vsadmin-backup",
    "vsadmin-protocol",
    "vsadmin-readonly",
    "vsadmin-snaplock",
    "vsadmin-volume",
)
#: A role's account rules by default, as na_ontap_user_role_config documents them.
ROLE_CONFIG_DEFAULTS: Mapping[str, Any] = {
    "username_minlength": 3,
    "username_alphanum": "disabled",
    "passwd_minlength": 8,
    "passwd_alphanum": "enabled",
    "passwd_min_special_chars": 0,
    "passwd_expiry_time": "unlimited",
    "require_initial_passwd_update": "disabled",
    "max_failed_login_attempts": 5,
    "disallowed_reuse": 6,
    "change_delay": 0,
    "delay_after_failed_login": 4,
    "passwd_min_lowercase_chars": 0,
    "passwd_min_uppercase_chars": 0,
    "passwd_min_digits": 0,
    "passwd_expiry_warn_time": "unlimited",
    "account_expiry_time": "unlimited",
    "account_inactive_limit": "unlimited",
    "account_lockout_duration": "PT1H",
}
_ROLE_CONFIG = "cli:security/login/role/config"


def _enabled(value: Any) -> str:
    text = str(value).lower()
    if text in ("enabled", "true", "on"):
        return "enabled"
    if text in ("disabled", "false", "off"):
        return "disabled"
    raise bad_value("value", f'The value "{value}" is invalid: use enabled or disabled.')


def _bounded(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        number = _integer(value)
        if not low <= number <= high:
            raise bad_value("value", f'The value "{value}" is out of range ({low} to {high}).')
        return number

    return convert


def _days(value: Any) -> Any:
    if str(value).lower() in ("unlimited", "-1"):
        return "unlimited"
    return _bounded(0, 70000)(value)


def _role_field(name: str, to_rest: Callable[[Any], Any]) -> Field:
    return Field(name, to_rest=to_rest)


ROLE_CONFIG_FIELDS: Mapping[str, Field] = {
    "vserver": ro("vserver"),
    "role": ro("role"),
    "username_minlength": _role_field("username_minlength", _bounded(3, 32)),
    "username_alphanum": _role_field("username_alphanum", _enabled),
    "passwd_minlength": _role_field("passwd_minlength", _bounded(3, 127)),
    "passwd_alphanum": _role_field("passwd_alphanum", _enabled),
    "passwd_min_special_chars": _role_field("passwd_min_special_chars", _bounded(0, 127)),
    "passwd_expiry_time": _role_field("passwd_expiry_time", _days),
    "require_initial_passwd_update": _role_field("require_initial_passwd_update", _enabled),
    "max_failed_login_attempts": _role_field("max_failed_login_attempts", _bounded(0, 1000)),
    "disallowed_reuse": _role_field("disallowed_reuse", _bounded(1, 25)),
    "change_delay": _role_field("change_delay", _bounded(0, 1000)),
    "delay_after_failed_login": _role_field("delay_after_failed_login", _bounded(0, 1000)),
    "passwd_min_lowercase_chars": _role_field("passwd_min_lowercase_chars", _bounded(0, 127)),
    "passwd_min_uppercase_chars": _role_field("passwd_min_uppercase_chars", _bounded(0, 127)),
    "passwd_min_digits": _role_field("passwd_min_digits", _bounded(0, 127)),
    "passwd_expiry_warn_time": _role_field("passwd_expiry_warn_time", _days),
    "account_expiry_time": _role_field("account_expiry_time", _days),
    "account_inactive_limit": _role_field("account_inactive_limit", _days),
    "account_lockout_duration": _role_field("account_lockout_duration", str),
}


def _role_configs(sim: Simulator) -> list[Record]:
    """One row per role: the predefined ones and those of /api/security/roles, each with its
    account rules (the defaults, then what ``modify`` set, kept in the store)."""
    cluster = str(sim.inventory.cluster()["name"])
    svms = {str(r.get("uuid")): str(r.get("name")) for r in rest_records(sim, "Svm")}
    roles = [(cluster, role) for role in CLUSTER_ROLES]
    roles += [(svm, role) for svm in svms.values() for role in SVM_ROLES]
    for record in rest_records(sim, "Role"):
        owner = record.get("owner") or {}
        vserver = owner.get("name") or svms.get(str(owner.get("uuid")), cluster)
        if (vserver, record.get("name")) not in roles:
            roles.append((vserver, str(record.get("name"))))
    with sim.store.lock:
        changed = sim.store.tables.setdefault(_ROLE_CONFIG, {})
        return [
            {"vserver": v, "role": r, **ROLE_CONFIG_DEFAULTS, **changed.get((v, r), {})}
            for v, r in roles
        ]


def _modify_role_config(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``security login role config modify``: the selected roles' rules, kept in the store."""
    changes: Record = {}
    for name, value in args.items():
        spec = command.fields[name]
        if spec.to_rest is None:
            raise bad_value(name, f'Field "{name}" cannot be modified.')
        changes[name] = spec.to_rest(value)
    with sim.store.lock:
        table = sim.store.tables.setdefault(_ROLE_CONFIG, {})
        for row in selected or []:
            table.setdefault((row["vserver"], row["role"]), {}).update(changes)
    return Answer(200, {"num_records": len(selected or [])})


# -- network bgp config: a node's BGP settings ----------------------------------------------------
_BGP = "cli:network/bgp/config"
BGP_FIELDS: Mapping[str, Field] = {
    "node": ro("node"),
    "asn": Field("asn", to_rest=_bounded(1, 4294967295)),
    "hold_time": Field("hold_time", to_rest=_bounded(10, 65535)),
    "router_id": Field("router_id", to_rest=str),
}
#: The router id of a node without an IPv4 address (INFERRED): an id, not an address bound.
NO_ROUTER_ID = "0.0.0.0"  # noqa: S104
_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def _bgp_rows(sim: Simulator) -> list[Record]:
    with sim.store.lock:
        return list(sim.store.tables.setdefault(_BGP, {}).values())


def _router_id(value: Any) -> str:
    text = str(value)
    found = _IPV4.fullmatch(text)
    if found is None or any(int(part) > 255 for part in found.groups()):
        raise bad_value("router_id", f'Invalid IPv4 address "{value}" for "router_id".')
    return text


def _create_bgp(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``network bgp config create``: a node's BGP settings (``asn`` required; ``hold_time``
    180 and ``router_id`` one of the node's IPv4 addresses by default, as ONTAP documents)."""
    node = args.get("node")
    if node not in _nodes(sim):
        raise ApiError(404, "4", f'Node "{node}" does not exist.', "node")
    if "asn" not in args:
        raise bad_value("asn", 'Missing value for required field "asn".')
    row: Record = {
        "node": node,
        "asn": BGP_FIELDS["asn"].to_rest(args["asn"]),  # type: ignore[misc]
        "hold_time": BGP_FIELDS["hold_time"].to_rest(args.get("hold_time", 180)),  # type: ignore[misc]
    }
    addresses = [
        str(get_path(i, "ip.address"))
        for i in rest_records(sim, "IpInterface")
        if get_path(i, "location.home_node.name") == node
        and _IPV4.fullmatch(str(get_path(i, "ip.address")))
    ]
    given = args.get("router_id")
    row["router_id"] = _router_id(given) if given is not None else (addresses or [NO_ROUTER_ID])[0]
    with sim.store.lock:
        table = sim.store.tables.setdefault(_BGP, {})
        if (node,) in table:
            raise ApiError(409, "1", f'BGP configuration for node "{node}" already exists.', "node")
        table[(node,)] = row
    return Answer(201, {"num_records": 1})


def _modify_bgp(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    changes: Record = {}
    for name, value in args.items():
        spec = command.fields[name]
        if spec.to_rest is None:
            raise bad_value(name, f'Field "{name}" cannot be modified.')
        changes[name] = _router_id(value) if name == "router_id" else spec.to_rest(value)
    with sim.store.lock:
        for row in selected or []:
            row.update(changes)
    return Answer(200, {"num_records": len(selected or [])})


def _delete_bgp(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``network bgp config delete``: refused while a BGP peer group of /api/network/ip/bgp
    uses a port of the node (409, code 1, INFERRED)."""
    groups = rest_records(sim, "BgpPeerGroup")
    for row in selected or []:
        used = [g for g in groups if get_path(g, "local.port.node.name") == row["node"]]
        if used:
            raise ApiError(
                409,
                "1",
                f'Cannot delete the BGP configuration of node "{row["node"]}": peer group '
                f'"{used[0].get("name")}" uses it.',
                "node",
            )
    with sim.store.lock:
        table = sim.store.tables.setdefault(_BGP, {})
        for row in selected or []:
            table.pop((row["node"],), None)
    return Answer(200, {"num_records": len(selected or [])})


# -- sp reboot-sp: a node's service processor reboots ----------------------------------------------
#: How long a service processor takes to reboot on the simulator's clock (INFERRED).
SP_REBOOT_SECONDS = 60.0


def _reboot_sp(
    sim: Simulator, command: Command, record: Record, args: Record, params: Mapping[str, str]
) -> Answer | None:
    """The node's ``service_processor.state`` (REST) is ``rebooting`` now and ``online``
    SP_REBOOT_SECONDS later (a job); a reboot while rebooting: 409, code 1 (INFERRED)."""
    from .jobs import JobScript

    with sim.store.lock:
        stored = sim.store.tables["Node"][(record["uuid"],)]
        processor = stored.setdefault("service_processor", {})
        if processor.get("state") == "rebooting":
            raise ApiError(
                409, "1", f'The service processor of node "{record["name"]}" is rebooting.', "node"
            )
        processor["state"] = "rebooting"

    def online() -> None:
        with sim.store.lock:
            stored.setdefault("service_processor", {})["state"] = "online"

    script = JobScript.parse(
        [{"state": "running", "seconds": SP_REBOOT_SECONDS}, {"state": "success"}]
    )
    sim.jobs.create(f"Reboot the service processor of {record['name']}", script, effect=online)
    return None


# -- system node autosupport check details: read-only, from the AutoSupport configuration ---------
AUTOSUPPORT_CHECK_FIELDS: Mapping[str, Field] = {
    name: ro(name)
    for name in (
        "node",
        "check_type",
        "check_category",
        "status",
        "error_detail",
        "corrective_action",
    )
}


def _autosupport_checks(sim: Simulator) -> list[Record]:
    """Each node's AutoSupport checks, derived from /api/support/autosupport (its defaults,
    INFERRED, where unset: enabled, transport https, on-demand enabled)."""
    found = rest_records(sim, "Autosupport")
    config = found[0] if found else {}
    enabled = config.get("enabled", True)
    transport = config.get("transport", "https")
    rows = []
    for node in _nodes(sim):

        def row(kind: str, category: str, error: str = "", action: str = "") -> Record:
            status = "failed" if error else "ok"
            if not enabled and kind != "configuration":
                status = "not-run"
            return {
                "node": node,  # noqa: B023
                "check_type": kind,
                "check_category": category,
                "status": status,
                "error_detail": error or "None",
                "corrective_action": action or "None",
            }

        rows.append(
            row(
                "configuration",
                "configuration",
                "" if enabled else "AutoSupport is disabled.",
                "" if enabled else "Enable it: system node autosupport modify -state enable.",
            )
        )
        if transport == "smtp":
            hosts = config.get("mail_hosts") or []
            rows.append(
                row(
                    "smtp",
                    "transport",
                    "" if hosts else "No mail server is configured.",
                    "" if hosts else "Set -mail-hosts with system node autosupport modify.",
                )
            )
        else:
            rows.append(row("http-https", "transport"))
        rows.append(
            row(
                "aod",
                "ondemand",
                "" if config.get("ondemand_enabled", True) else "AutoSupport OnDemand is disabled.",
            )
        )
    return rows


# -- CLI-only tables: records ONTAP keeps that REST does not show ---------------------------------
def _table_rows(
    name: str, only: Mapping[str, Any] | None = None
) -> Callable[[Simulator], list[Record]]:
    def rows(sim: Simulator) -> list[Record]:
        with sim.store.lock:
            found = list(sim.store.tables.setdefault(name, {}).values())
        return [r for r in found if all(r.get(k) == v for k, v in (only or {}).items())]

    return rows


def _svm_named(sim: Simulator, name: Any) -> Record:
    if not name:
        raise bad_value("vserver", 'Missing value for required field "vserver".')
    svm = next((r for r in rest_records(sim, "Svm") if r.get("name") == name), None)
    if svm is None:
        raise ApiError(404, "4", f'Vserver "{name}" does not exist.', "vserver")
    return svm


def _converted(command: Command, args: Record) -> Record:
    out: Record = {}
    for name, value in args.items():
        spec = command.fields.get(name)
        if spec is None:
            raise ApiError(400, "262179", f'Unexpected argument "{name}".', name)
        if spec.to_rest is None:
            raise bad_value(name, f'Field "{name}" cannot be set by "{command.path}".')
        out[name] = spec.to_rest(value)
    return out


Check = Callable[["Simulator", Record], None]
#: The codes of a missing key, where ONTAP's are known (REST's ACL create, Trident's client).
_MISSING = {
    "account": ("10485810", "User is a required field."),
    "access_type": ("10485811", "Access is a required field."),
}


def _table_create(
    table: str,
    keys: Sequence[str],
    defaults: Callable[[Simulator, Record], Record],
    check: Check | None = None,
    *,
    fixed: Mapping[str, Any] | None = None,
) -> Handler:
    """A create of a CLI-only record: ``keys`` required, a duplicate 409 code 1 (INFERRED)."""

    def post(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        row = _converted(command, args)
        for name in keys:
            if row.get(name) in (None, ""):
                code, message = _MISSING.get(
                    name, ("2", f'Missing value for required field "{name}".')
                )
                raise ApiError(400, code, message, name)
        _svm_named(sim, row["vserver"])
        row = {**defaults(sim, row), **row, **(fixed or {})}
        if check is not None:
            check(sim, row)
        key = tuple(str(row[k]) for k in (*(fixed or {}), *keys))
        with sim.store.lock:
            rows = sim.store.tables.setdefault(table, {})
            if key in rows:
                shown = ", ".join(f"{k} {row[k]}" for k in keys)
                raise ApiError(409, "1", f"The entry ({shown}) already exists.", keys[-1])
            rows[key] = row
        return Answer(201, {"num_records": 1})

    return post


def _table_modify(check: Check | None = None) -> Handler:
    def patch(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        changes = _converted(command, args)
        for name in changes:
            if name in command.keys:
                raise bad_value(name, f'Field "{name}" cannot be modified.')
        for row in selected or []:
            if check is not None:
                check(sim, {**row, **changes})
        with sim.store.lock:
            for row in selected or []:
                row.update(changes)
        return Answer(200, {"num_records": len(selected or [])})

    return patch


def _table_delete(
    table: str, keys: Sequence[str], check: Check | None = None, *, fixed: Sequence[str] = ()
) -> Handler:
    def remove(
        sim: Simulator,
        command: Command,
        selected: list[Record] | None,
        args: Record,
        params: Mapping[str, str],
    ) -> Answer:
        records = selected or []
        for row in records:
            if check is not None:
                check(sim, row)
        with sim.store.lock:
            rows = sim.store.tables.setdefault(table, {})
            for row in records:
                rows.pop(tuple(str(row[k]) for k in (*fixed, *keys)), None)
        return Answer(200, {"num_records": len(records)})

    return remove


# -- vserver security file-directory: NTFS security descriptors, policies, apply -----------------
def _choice(name: str, allowed: Sequence[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).replace("_", "-") if name != "access_control" else str(value)
        if text not in allowed:
            raise bad_value(name, f'Invalid value "{value}" for "{name}" ({"|".join(allowed)}).')
        return text

    return convert


SD_KEYS = ("vserver", "ntfs_sd")
SD_FIELDS: Mapping[str, Field] = {
    "vserver": Field("vserver"),
    "ntfs_sd": Field("ntfs_sd"),
    "owner": Field("owner", to_rest=str),
    "group": Field("group", to_rest=str),
    "control_flags_raw": Field("control_flags_raw", to_rest=str),
}
ACE_KEYS = ("vserver", "ntfs_sd", "access_type", "account")
_RIGHTS = ("no-access", "full-control", "modify", "read-and-execute", "read", "write")
_APPLY_TO = ("this-folder", "sub-folders", "files")


def _apply_to(value: Any) -> list[str]:
    found = [v.replace("_", "-") for v in _as_list(value)]
    for item in found:
        if item not in _APPLY_TO:
            raise bad_value("apply_to", f'Invalid value "{item}" for "apply_to".')
    return found


def _ace_fields(types: Sequence[str]) -> Mapping[str, Field]:
    return {
        "vserver": Field("vserver"),
        "ntfs_sd": Field("ntfs_sd"),
        "access_type": Field("access_type", to_rest=_choice("access_type", types)),
        "account": Field("account", to_rest=str),
        "rights": Field("rights", to_rest=_choice("rights", _RIGHTS)),
        "apply_to": Field(show=_listed("apply_to"), key="apply_to", to_rest=_apply_to),
    }


def _sd_exists(sim: Simulator, row: Record) -> None:
    from .model.deep.filesecurity import descriptors

    if row["ntfs_sd"] not in descriptors(sim.store, row["vserver"]):
        raise ApiError(
            404, "4", f'Security descriptor "{row["ntfs_sd"]}" does not exist.', "ntfs_sd"
        )


def _ace_required(sim: Simulator, row: Record) -> None:
    _sd_exists(sim, row)


def _ace_defaults(sim: Simulator, row: Record) -> Record:
    return {"rights": "full-control", "apply_to": list(_APPLY_TO)}


def _sd_unused(sim: Simulator, row: Record) -> None:
    """A security descriptor a policy task names is not deleted (409, code 1, INFERRED)."""
    from .model.deep.filesecurity import ACES, TASKS

    with sim.store.lock:
        user = next(
            (
                t
                for t in sim.store.tables.get(TASKS, {}).values()
                if t["vserver"] == row["vserver"] and row["ntfs_sd"] in t.get("ntfs_sd", [])
            ),
            None,
        )
        if user is not None:
            raise ApiError(
                409,
                "1",
                f'Security descriptor "{row["ntfs_sd"]}" is used by a task of policy '
                f'"{user["policy_name"]}".',
                "ntfs_sd",
            )
        aces = sim.store.tables.get(ACES, {})
        for key, ace in list(aces.items()):
            if ace["vserver"] == row["vserver"] and ace["ntfs_sd"] == row["ntfs_sd"]:
                del aces[key]


POLICY_KEYS = ("vserver", "policy_name")
TASK_KEYS = ("vserver", "policy_name", "path")
TASK_FIELDS: Mapping[str, Field] = {
    "vserver": Field("vserver"),
    "policy_name": Field("policy_name"),
    "path": Field("path", to_rest=str),
    "ntfs_mode": Field(
        "ntfs_mode", to_rest=_choice("ntfs_mode", ("propagate", "ignore", "replace"))
    ),
    "ntfs_sd": Field(show=_listed("ntfs_sd"), key="ntfs_sd", to_rest=_as_list),
    "security_type": Field("security_type", to_rest=_choice("security_type", ("ntfs", "nfsv4"))),
    "access_control": Field(
        "access_control", to_rest=_choice("access_control", ("file_directory", "slag"))
    ),
    "index_num": Field("index_num", to_rest=_bounded(1, 9999)),
}


def _policy_named(sim: Simulator, vserver: str, name: str) -> None:
    from .model.deep.filesecurity import POLICIES

    with sim.store.lock:
        if (vserver, name) not in sim.store.tables.get(POLICIES, {}):
            raise ApiError(404, "4", f'Policy "{name}" does not exist.', "policy_name")


def _task_defaults(sim: Simulator, row: Record) -> Record:
    from .model.deep.filesecurity import TASKS

    with sim.store.lock:
        taken = [
            t["index_num"]
            for t in sim.store.tables.get(TASKS, {}).values()
            if (t["vserver"], t["policy_name"]) == (row["vserver"], row["policy_name"])
        ]
    return {
        "ntfs_mode": "propagate",
        "ntfs_sd": [],
        "security_type": "ntfs",
        "access_control": "file_directory",
        "index_num": max(taken, default=0) + 1,
    }


def _task_check(sim: Simulator, row: Record) -> None:
    _policy_named(sim, row["vserver"], row["policy_name"])
    for name in row.get("ntfs_sd", []):
        _sd_exists(sim, {"vserver": row["vserver"], "ntfs_sd": name})


def _drop_tasks(sim: Simulator, row: Record) -> None:
    """Deleting a policy deletes its tasks (INFERRED)."""
    from .model.deep.filesecurity import TASKS

    with sim.store.lock:
        tasks = sim.store.tables.get(TASKS, {})
        for key in [k for k in tasks if k[:2] == (row["vserver"], row["policy_name"])]:
            del tasks[key]


FILE_SECURITY = _Rest(
    "FileDirectorySecurity",
    "/api/protocols/file-security/permissions/{svm.uuid}",
    record="/api/protocols/file-security/permissions/{svm.uuid}/{file_directory_security.path}",
)
_ACL_WORD = {
    "access_allow": "ALLOW",
    "access_deny": "DENY",
    "audit_success": "AUDIT-SUCCESS",
    "audit_failure": "AUDIT-FAILURE",
}


def _acl_lines(record: Record) -> list[str]:
    """A path's ACEs as the CLI lists them: ``ALLOW-Everyone-full_control`` (INFERRED)."""
    return [
        f"{_ACL_WORD.get(str(a.get('access')), a.get('access'))}-{a.get('user')}-{a.get('rights')}"
        for a in record.get("acls") or []
    ]


FILE_DIRECTORY_FIELDS: Mapping[str, Field] = {
    "vserver": ro("svm.name"),
    "path": ro(show=lambda r: "/" + str(get_path(r, "file_directory_security.path"))),
    "owner": ro("owner"),
    "group": ro("group"),
    "control_flags": ro("control_flags"),
    "acls": ro(show=_acl_lines),
}


def _apply_file_security(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``vserver security file-directory apply``: the policy's tasks, in ``index_num`` order,
    set each path's REST security (simulator/model/deep/filesecurity.py)."""
    from .model.deep.filesecurity import TASKS, descriptors, rest_acls, rest_path, task_paths_exist

    _check_args(args, POLICY_KEYS)
    svm = _svm_named(sim, args.get("vserver"))
    name = str(args.get("policy_name", ""))
    _policy_named(sim, svm["name"], name)
    with sim.store.lock:
        tasks = sorted(
            (
                dict(t)
                for t in sim.store.tables.get(TASKS, {}).values()
                if (t["vserver"], t["policy_name"]) == (svm["name"], name)
            ),
            key=lambda t: t["index_num"],
        )
    junctions = [
        str(get_path(v, "nas.path"))
        for v in rest_records(sim, "Volume")
        if get_path(v, "svm.name") == svm["name"] and isinstance(get_path(v, "nas.path"), str)
    ]
    sds = descriptors(sim.store, svm["name"])
    for task in tasks:
        task_paths_exist(task["path"], junctions)
        for sd in task["ntfs_sd"]:
            _sd_exists(sim, {"vserver": svm["name"], "ntfs_sd": sd})
    for task in tasks:
        body: Record = {"acls": []}
        for sd in task["ntfs_sd"]:
            for field_name, rest in (("owner", "owner"), ("group", "group")):
                if sds[sd].get(field_name):
                    body[rest] = sds[sd][field_name]
            if sds[sd].get("control_flags_raw"):
                body["control_flags"] = sds[sd]["control_flags_raw"]
            body["acls"].extend(rest_acls(sim.store, svm["name"], sd))
        path = f"{FILE_SECURITY.collection.replace('{svm.uuid}', svm['uuid'])}/"
        path += rest_path(task["path"])
        with sim.store.lock:
            held = (svm["uuid"], rest_path(task["path"])) in sim.store.tables.get(
                "FileDirectorySecurity", {}
            )
        if held:
            _plan_and_apply(sim, "DELETE", path, None)
        _plan_and_apply(sim, "POST", path, body)
    return Answer(200, {"num_records": len(tasks)})


# -- ucadmin: FC adapters' personality; storage disk partition: partition ownership -------------
UCADMIN_FIELDS: Mapping[str, Field] = {
    name: ro(name)
    for name in (
        "node",
        "adapter",
        "current_mode",
        "current_type",
        "pending_mode",
        "pending_type",
        "status_admin",
    )
} | {"mode": ro(show=lambda r: None), "type": ro(show=lambda r: None)}


def _ucadmin_rows(sim: Simulator) -> list[Record]:
    from .model.deep.fc import adapters

    return adapters(sim.store)


def _ucadmin_modify(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    """``ucadmin modify``: the pending ``mode`` and ``type`` of each selected adapter."""
    from .model.deep.fc import modify_adapter

    _check_args(args, ("mode", "type"))
    for row in selected or []:
        modify_adapter(sim.store, row["node"], row["adapter"], args.get("mode"), args.get("type"))
    return Answer(200, {"num_records": len(selected or [])})


PARTITION_FIELDS: Mapping[str, Field] = {
    name: ro(name)
    for name in (
        "partition",
        "disk",
        "container_type",
        "disk_type",
        "partitioning_method",
        "is_root",
        "owner_node_name",
        "home_node_name",
        "nodelist",
        "usable_size",
    )
}


def _partition_rows(sim: Simulator) -> list[Record]:
    from .model.deep.disks import partitions

    with sim.store.lock:
        return [dict(r) for r in partitions(sim.store).values()]


def _partition_assign(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    from .model.deep.disks import assign_partition

    _check_args(args, ("partition", "owner"))
    assign_partition(sim.store, args.get("partition"), args.get("owner"))
    return Answer(200, {"num_records": 1})


def _partition_removeowner(
    sim: Simulator,
    command: Command,
    selected: list[Record] | None,
    args: Record,
    params: Mapping[str, str],
) -> Answer:
    from .model.deep.disks import remove_partition_owner

    _check_args(args, ("partition",))
    remove_partition_owner(sim.store, args.get("partition"))
    return Answer(200, {"num_records": 1})


def _file_directory_commands() -> list[Command]:
    from .model.deep.filesecurity import ACES, POLICIES, SDS, TASKS

    sds = _table_rows(SDS)
    tasks = _table_rows(TASKS)
    commands = [
        Command(
            "vserver/security/file-directory",
            ("vserver", "path"),
            FILE_DIRECTORY_FIELDS,
            FILE_SECURITY.rows,
            doc="vserver security file-directory show: /api/protocols/file-security/permissions",
        ),
        Command(
            "vserver/security/file-directory/ntfs",
            SD_KEYS,
            SD_FIELDS,
            sds,
            post=_table_create(SDS, SD_KEYS, lambda sim, row: {}),
            patch=_table_modify(),
            delete=_table_delete(SDS, SD_KEYS, _sd_unused),
            doc="vserver security file-directory ntfs: security descriptors (CLI-only)",
        ),
        Command(
            "vserver/security/file-directory/policy",
            POLICY_KEYS,
            {"vserver": Field("vserver"), "policy_name": Field("policy_name")},
            _table_rows(POLICIES),
            post=_table_create(POLICIES, POLICY_KEYS, lambda sim, row: {}),
            delete=_table_delete(POLICIES, POLICY_KEYS, _drop_tasks),
            doc="vserver security file-directory policy: policies (CLI-only)",
        ),
        Command(
            "vserver/security/file-directory/policy/task",
            TASK_KEYS,
            TASK_FIELDS,
            tasks,
            patch=_table_modify(_task_check),
            doc="vserver security file-directory policy task show/modify (CLI-only)",
        ),
        Command(
            "vserver/security/file-directory/policy/task/add",
            TASK_KEYS,
            TASK_FIELDS,
            tasks,
            get=False,
            creates=True,
            post=_table_create(TASKS, TASK_KEYS, _task_defaults, _task_check),
            doc="vserver security file-directory policy task add",
        ),
        Command(
            "vserver/security/file-directory/policy/task/remove",
            TASK_KEYS,
            TASK_FIELDS,
            tasks,
            get=False,
            delete=_table_delete(TASKS, TASK_KEYS),
            doc="vserver security file-directory policy task remove",
        ),
        Command(
            "vserver/security/file-directory/apply",
            POLICY_KEYS,
            {"vserver": Field("vserver"), "policy_name": Field("policy_name")},
            _table_rows(POLICIES),
            get=False,
            creates=True,
            post=_apply_file_security,
            doc="vserver security file-directory apply: the policy's tasks set REST's security",
        ),
    ]
    for kind, types in (("dacl", ("allow", "deny")), ("sacl", ("success", "failure"))):
        fields = _ace_fields(types)
        rows = _table_rows(ACES, {"list": kind})
        fixed = {"list": kind}
        commands += [
            Command(
                f"vserver/security/file-directory/ntfs/{kind}",
                ACE_KEYS,
                fields,
                rows,
                patch=_table_modify(),
                doc=f"vserver security file-directory ntfs {kind} show/modify (CLI-only)",
            ),
            Command(
                f"vserver/security/file-directory/ntfs/{kind}/add",
                ACE_KEYS,
                fields,
                rows,
                get=False,
                creates=True,
                post=_table_create(ACES, ACE_KEYS, _ace_defaults, _ace_required, fixed=fixed),
                doc=f"vserver security file-directory ntfs {kind} add",
            ),
            Command(
                f"vserver/security/file-directory/ntfs/{kind}/remove",
                ACE_KEYS,
                fields,
                rows,
                get=False,
                delete=_table_delete(ACES, ACE_KEYS, fixed=("list",)),
                doc=f"vserver security file-directory ntfs {kind} remove",
            ),
        ]
    return commands


# -- the commands --------------------------------------------------------------------------------
def _commands() -> list[Command]:
    volume = rest_object(
        VOLUMES,
        create=(
            "vserver",
            "volume",
            "aggregate",
            "size",
            "state",
            "type",
            "policy",
            "junction_path",
            "security_style",
            "unix_permissions",
            "comment",
            "snapshot_policy",
            "percent_snapshot_space",
            "space_guarantee",
            "language",
            "tiering_policy",
        ),
        prepare=_svm_of_volume,
    )
    vserver = rest_object(
        SVMS,
        create=(
            "vserver",
            "subtype",
            "language",
            "comment",
            "snapshot_policy",
            "ipspace",
            "aggr_list",
        ),
    )
    snapmirror = rest_object(
        RELATIONSHIPS, create=("source_path", "destination_path", "policy", "schedule", "throttle")
    )
    lun = rest_object(LUNS, create=("vserver", "path", "size", "ostype", "comment"))
    subsystem = rest_object(SUBSYSTEMS, create=("vserver", "subsystem", "ostype", "comment"))
    local_user = rest_object(
        LOCAL_USERS,
        create=(
            "vserver",
            "user_name",
            "full_name",
            "description",
            "is_account_disabled",
            "password",
        ),
    )
    fpolicy_engine = rest_object(FPOLICY_ENGINES, create=tuple(FPOLICY_ENGINE_FIELDS))
    fpolicy_event = rest_object(FPOLICY_EVENTS, create=tuple(FPOLICY_EVENT_FIELDS))
    remove_dcs = rest_object(PREFERRED_DCS, modify=False)
    fpolicy_policy = rest_object(FPOLICY_POLICIES, modify=False)
    fpolicy_scope = rest_object(FPOLICY_POLICIES, delete=False)
    return [
        *_file_directory_commands(),
        Command(
            "ucadmin",
            ("node", "adapter"),
            UCADMIN_FIELDS,
            _ucadmin_rows,
            patch=_ucadmin_modify,
            doc="ucadmin show/modify: FC adapters' current and pending mode and type",
        ),
        Command(
            "storage/disk/partition",
            ("partition",),
            PARTITION_FIELDS,
            _partition_rows,
            doc="storage disk partition show: root-data partitions derived from the disks",
        ),
        Command(
            "storage/disk/partition/assign",
            ("partition",),
            PARTITION_FIELDS,
            _partition_rows,
            get=False,
            creates=True,
            post=_partition_assign,
            doc="storage disk partition assign: an unassigned partition becomes a spare",
        ),
        Command(
            "storage/disk/partition/removeowner",
            ("partition",),
            PARTITION_FIELDS,
            _partition_rows,
            get=False,
            creates=True,
            post=_partition_removeowner,
            doc="storage disk partition removeowner: a spare partition becomes unassigned",
        ),
        Command(
            "security/login/role/config",
            ("vserver", "role"),
            ROLE_CONFIG_FIELDS,
            _role_configs,
            patch=_modify_role_config,
            doc="security login role config show/modify: each role's account rules",
        ),
        Command(
            "network/bgp/config",
            ("node",),
            BGP_FIELDS,
            _bgp_rows,
            post=_create_bgp,
            patch=_modify_bgp,
            delete=_delete_bgp,
            doc="network bgp config: a node's BGP settings",
        ),
        Command(
            "sp/reboot-sp",
            ("node",),
            {"node": ro("name")},
            lambda sim: rest_records(sim, "Node"),
            get=False,
            post=action(_reboot_sp, args=()),
            patch=action(_reboot_sp, args=()),
            doc="sp reboot-sp: service_processor.state rebooting, then online",
        ),
        Command(
            "system/node/autosupport/check/details",
            ("node", "check_type"),
            AUTOSUPPORT_CHECK_FIELDS,
            _autosupport_checks,
            doc="system node autosupport check show-details: from the AutoSupport configuration",
        ),
        Command(
            "storage/disk/assign",
            ("disk",),
            DISK_FIELDS,
            _disk_rows,
            get=False,
            creates=True,
            post=_disk_assign,
            doc="storage disk assign: unassigned disks become the owner's spares",
        ),
        Command(
            "storage/disk/removeowner",
            ("disk",),
            DISK_FIELDS,
            _disk_rows,
            get=False,
            creates=True,
            post=_disk_removeowner,
            doc="storage disk removeowner: a spare disk becomes unassigned",
        ),
        Command(
            "network/port/broadcast-domain/remove-ports",
            ("broadcast_domain", "ipspace"),
            {"broadcast_domain": Field("name"), "ipspace": Field("ipspace.name"), "ports": Field()},
            _domains,
            get=False,
            patch=action(_remove_ports, args=("ports",)),
            doc="network port broadcast-domain remove-ports: the ports leave the domain",
        ),
        Command(
            "vserver/cifs/users-and-groups/local-user",
            ("vserver", "user_name"),
            LOCAL_USER_FIELDS,
            LOCAL_USERS.rows,
            **local_user,
            doc="vserver cifs users-and-groups local-user: /api/protocols/cifs/local-users",
        ),
        Command(
            "vserver/active-directory/preferred-dc",
            ("vserver", "domain", "preferred_dc"),
            PREFERRED_DC_FIELDS,
            PREFERRED_DCS.rows,
            doc="vserver active-directory preferred-dc show: one row per address",
        ),
        Command(
            "vserver/active-directory/preferred-dc/add",
            ("vserver", "domain", "preferred_dc"),
            PREFERRED_DC_FIELDS,
            PREFERRED_DCS.rows,
            get=False,
            creates=True,
            post=_add_preferred_dcs,
            doc="vserver active-directory preferred-dc add: POST each address",
        ),
        Command(
            "vserver/active-directory/preferred-dc/remove",
            ("vserver", "domain", "preferred_dc"),
            PREFERRED_DC_FIELDS,
            PREFERRED_DCS.rows,
            get=False,
            delete=remove_dcs["delete"],
            doc="vserver active-directory preferred-dc remove: DELETE each address",
        ),
        Command(
            "vserver/fpolicy/policy/external-engine",
            ("vserver", "engine_name"),
            FPOLICY_ENGINE_FIELDS,
            FPOLICY_ENGINES.rows,
            **fpolicy_engine,
            doc="vserver fpolicy policy external-engine: /api/protocols/fpolicy/{svm}/engines",
        ),
        Command(
            "vserver/fpolicy/policy/event",
            ("vserver", "event_name"),
            FPOLICY_EVENT_FIELDS,
            FPOLICY_EVENTS.rows,
            **fpolicy_event,
            doc="vserver fpolicy policy event: /api/protocols/fpolicy/{svm}/events",
        ),
        Command(
            "vserver/fpolicy/policy",
            ("vserver", "policy_name"),
            FPOLICY_POLICY_FIELDS,
            FPOLICY_POLICIES.rows,
            post=_create_policy,
            patch=_modify_policy,
            delete=fpolicy_policy["delete"],
            doc="vserver fpolicy policy: /api/protocols/fpolicy/{svm}/policies (created disabled)",
        ),
        Command(
            "vserver/fpolicy/policy/scope",
            ("vserver", "policy_name"),
            FPOLICY_SCOPE_FIELDS,
            _scoped,
            post=_create_scope,
            patch=fpolicy_scope["patch"],
            delete=_delete_scope,
            doc="vserver fpolicy policy scope: the policy's scope",
        ),
        Command(
            "volume",
            ("vserver", "volume"),
            VOLUME_FIELDS,
            lambda sim: rest_records(sim, "Volume"),
            **volume,
            doc="volume show/create/modify/delete: the volumes of /api/storage/volumes",
        ),
        Command(
            "volume/move/start",
            ("vserver", "volume"),
            VOLUME_FIELDS,
            lambda sim: rest_records(sim, "Volume"),
            get=False,
            post=action(_move_start, args=("destination_aggregate", "encrypt_destination")),
            patch=action(_move_start, args=("destination_aggregate", "encrypt_destination")),
            doc="volume move start: PATCH movement.destination_aggregate, as a job",
        ),
        Command(
            "volume/recovery-queue",
            ("vserver", "volume"),
            {"vserver": ro("vserver"), "volume": ro("volume"), "deleter": ro("deleter")},
            _recovery_queue,
            doc="volume recovery-queue show: always empty (deleted volumes go at once)",
        ),
        Command(
            "volume/recovery-queue/purge",
            ("vserver", "volume"),
            {"vserver": ro("vserver"), "volume": ro("volume")},
            _recovery_queue,
            get=False,
            post=action(_purge, args=()),
            doc="volume recovery-queue purge: nothing to purge",
        ),
        Command(
            "vserver",
            ("vserver",),
            VSERVER_FIELDS,
            _vservers,
            **vserver,
            doc="vserver show/create/modify/delete: /api/svm/svms, plus the admin vserver",
        ),
        *(
            Command(
                f"vserver/{verb}-protocols",
                ("vserver",),
                {"vserver": Field("name"), "protocols": Field()},
                lambda sim: rest_records(sim, "Svm"),
                get=False,
                post=action(_protocols_action(allowed), args=("protocols",)),
                patch=action(_protocols_action(allowed), args=("protocols",)),
                doc=f"vserver {verb}-protocols: <protocol>.allowed {str(allowed).lower()}",
            )
            for verb, allowed in (("add", True), ("remove", False))
        ),
        Command(
            "storage/aggregate",
            ("aggregate",),
            AGGREGATE_FIELDS,
            lambda sim: rest_records(sim, "Aggregate"),
            doc="storage aggregate show: /api/storage/aggregates",
        ),
        Command(
            "snapmirror",
            ("source_path", "destination_path"),
            SNAPMIRROR_FIELDS,
            lambda sim: rest_records(sim, "SnapmirrorRelationship"),
            **snapmirror,
            doc="snapmirror show/create/modify/delete: /api/snapmirror/relationships",
        ),
        *[
            Command(
                f"snapmirror/{verb}",
                ("source_path", "destination_path"),
                SNAPMIRROR_FIELDS,
                lambda sim: rest_records(sim, "SnapmirrorRelationship"),
                get=False,
                post=action(run, args=()),
                patch=action(run, args=()),
                doc=f"snapmirror {verb}: {what}",
            )
            for verb, run, what in (
                ("initialize", _state_action("=", "initialize", job=True), "PATCH state, a job"),
                ("resync", _state_action("=", "resync", job=True), "PATCH state, a job"),
                ("break", _state_action("broken_off", "break", job=False), "PATCH state"),
                ("quiesce", _state_action("paused", "quiesce", job=False), "PATCH state"),
                ("resume", _state_action("=", "resume", job=False), "PATCH state"),
                ("update", _update, "POST .../transfers"),
            )
        ],
        Command(
            "lun",
            ("vserver", "path"),
            LUN_FIELDS,
            lambda sim: rest_records(sim, "Lun"),
            **lun,
            doc="lun show/create/modify/delete: /api/storage/luns",
        ),
        Command(
            "vserver/nvme/subsystem",
            ("vserver", "subsystem"),
            SUBSYSTEM_FIELDS,
            lambda sim: rest_records(sim, "NvmeSubsystem"),
            **subsystem,
            doc="vserver nvme subsystem show/create/modify/delete: /api/protocols/nvme/subsystems",
        ),
        Command(
            "version",
            ("version",),
            {"version": ro("version.full")},
            lambda sim: [sim.inventory.cluster()],
            doc="version: the cluster's version string",
        ),
        Command(
            "snaplock/compliance-clock",
            ("node",),
            {"node": ro("node"), "time": ro("time")},
            _compliance_clocks,
            doc="snaplock compliance-clock show: per node, not configured until initialized",
        ),
        Command(
            "snaplock/compliance-clock/initialize",
            ("node",),
            {"node": ro("node"), "time": ro("time")},
            _compliance_clocks,
            get=False,
            post=action(_initialize_clock, args=()),
            patch=action(_initialize_clock, args=()),
            doc="snaplock compliance-clock initialize: the node's clock starts from the cluster's",
        ),
        _setting(
            "system/timeout",
            (),
            {"timeout": _same("timeout", _integer)},
            lambda sim: [{"timeout": 30}],
            "system timeout show/modify: the CLI session timeout in minutes",
        ),
        _setting(
            "cluster/ha",
            (),
            {"configured": _same("configured", _boolean)},
            lambda sim: [{"configured": False}],
            "cluster ha show/modify",
        ),
        _setting(
            "storage/failover",
            ("node",),
            {
                "node": ro("node"),
                "enabled": _same("enabled", _boolean),
                "auto_giveback": _same("auto_giveback", _boolean),
                "auto_giveback_after_panic": _same("auto_giveback_after_panic", _boolean),
                "partner_name": ro("partner_name"),
                "possible": ro("possible"),
            },
            lambda sim: [
                {
                    "node": n,
                    "enabled": False,
                    "auto_giveback": False,
                    "auto_giveback_after_panic": False,
                    "partner_name": "-",
                    "possible": False,
                }
                for n in _nodes(sim)
            ],
            "storage failover show/modify, per node",
        ),
        _setting(
            "storage/disk/option",
            ("node",),
            {
                "node": ro("node"),
                "autoassign": _same("autoassign", _on_off),
                "autoassign_policy": _same("autoassign_policy"),
                "autocopy": _same("autocopy", _on_off),
                "bkg_firmware_update": _same("bkg_firmware_update", _on_off),
            },
            lambda sim: [
                {
                    "node": n,
                    "autoassign": "on",
                    "autoassign_policy": "default",
                    "autocopy": "on",
                    "bkg_firmware_update": "on",
                }
                for n in _nodes(sim)
            ],
            "storage disk option show/modify, per node",
        ),
    ]


COMMANDS: Mapping[str, Command] = {command.path: command for command in _commands()}

#: Commands NetApp's Ansible collection uses that the simulator does not model (yet): ONTAP
#: has them, so they are refused as not modelled (405), not as unknown commands.
NOT_MODELLED: frozenset[str] = frozenset()


# -- the passthrough -----------------------------------------------------------------------------
def unknown_command(path: str) -> ApiError:
    """ONTAP's 404 for a path under /api/private/cli that names no command it knows."""
    shown = " ".join(part for part in path.split("/") if part)
    return ApiError(404, "262179", f'Unexpected argument "{shown}": not a CLI command.', shown)


def not_modelled(path: str) -> ApiError:
    """405 for a command ONTAP has that the simulator does not model: refused, never faked."""
    shown = " ".join(part for part in path.split("/") if part)
    return ApiError(
        405,
        "3",
        f'The simulator does not model the CLI command "{shown}" yet '
        "(see docs/cli-passthrough.md).",
    )


def _field_names(command: Command, names: Iterable[str], where: str) -> None:
    for name in names:
        if name not in command.fields:
            if where == "fields":
                raise ApiError(
                    400,
                    "262197",
                    f'The value "{name}" is invalid for field "fields" (<field,...>)',
                    "fields",
                )
            raise ApiError(
                404 if where == "query" else 400, "262179", f'Unexpected argument "{name}".', name
            )


def _select(
    command: Command, sim: Simulator, query: Mapping[str, Any]
) -> list[tuple[Record, Record]]:
    """(REST record, CLI row) of every record the query selects."""
    pairs = [(record, command.row(record)) for record in command.records(sim)]
    return [
        (record, row)
        for record, row in pairs
        if all(_row_matches(row, name, _query_text(value)) for name, value in query.items())
    ]


def _row_matches(row: Record, name: str, text: str) -> bool:
    """``matches``, with a boolean field's ``true``/``false`` in any case: the CLI takes
    ``-is-root False`` as ``false`` (INFERRED: na_ontap_partitions sends Python's ``False``
    on every query and relies on it)."""
    if isinstance(get_path(row, name), bool):
        text = text.lower()
    return matches(row, name, text)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def _show(command: Command, row: Record, fields: Sequence[str]) -> Record:
    out: Record = {}
    for name in (*command.keys, *command.shown, *fields):
        value = row.get(name)
        if value is not None and name not in out:
            out[name] = value
    return out


def execute(
    sim: Simulator,
    method: str,
    path: str,
    params: Mapping[str, str],
    body: Mapping[str, Any] | None,
) -> Answer:
    """Run the CLI command at ``path`` (below /api/private/cli) as ONTAP's passthrough does."""
    command = COMMANDS.get(path.strip("/"))
    if command is None:
        if path.strip("/") in NOT_MODELLED:
            raise not_modelled(path)
        raise unknown_command(path)
    allowed = command.methods()
    if method not in allowed:
        error = ApiError(
            405,
            "3",
            f'The method "{method}" is not allowed on {CLI_PREFIX}/{command.path} '
            f"(allowed: {', '.join(allowed)}).",
        )
        error.headers["Allow"] = ", ".join(allowed)
        raise error
    privilege = params.get("privilege_level", "admin")
    if privilege not in PRIVILEGES:
        raise ApiError(
            400,
            "262197",
            f'The value "{privilege}" is invalid for field "privilege_level" '
            f"(<{'|'.join(PRIVILEGES)}>)",
            "privilege_level",
        )
    parse_int(params, "return_timeout", 0, 120)
    parse_int(params, "max_records", 0, None)
    query = {cli_name(k): v for k, v in params.items() if k not in RESERVED}
    args = {cli_name(str(k)): v for k, v in (body or {}).items()}
    _field_names(command, query, "query")
    if method == "GET":
        fields = [cli_name(f) for f in parse_fields(params.get("fields")) or []]
        if any(f in ("*", "**") for f in fields):
            raise ApiError(
                400,
                "262220",
                'The value "*" is not supported for field "fields" by the CLI passthrough: '
                "name the fields to retrieve.",
                "fields",
            )
        _field_names(command, fields, "fields")
        rows = [_show(command, row, fields) for _, row in _select(command, sim, query)]
        return Answer(200, {"records": rows, "num_records": len(rows)})
    handler = {"POST": command.post, "PATCH": command.patch, "DELETE": command.delete}[method]
    assert handler is not None
    if command.get:
        _field_names(command, args, "body")  # an action checks its own arguments
    if method == "POST" and (command.get or command.creates):
        return handler(sim, command, None, args, params)
    if method in ("POST", "DELETE"):
        # Records are named in the query or, as key fields, in the body.
        keys = {k: v for k, v in args.items() if k in command.keys or method == "DELETE"}
        args = {k: v for k, v in args.items() if k not in keys}
        query = {**query, **keys}
    selected = [record for record, _ in _select(command, sim, query)]
    return handler(sim, command, selected, args, params)


def register_cli(
    app: Flask,
    sim: Simulator,
    respond: Callable[..., Response],
    read_body: Callable[..., dict[str, Any] | None],
) -> None:
    """Serve the CLI passthrough on ``app`` (auth, faults and the journal as for /api)."""
    from flask import request

    @app.route(
        f"{CLI_PREFIX}/<path:command>", methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
    )
    def cli(command: str) -> Response:
        method = request.method
        if method == "OPTIONS":
            found = COMMANDS.get(command.strip("/"))
            if found is None:
                raise (
                    not_modelled(command)
                    if command.strip("/") in NOT_MODELLED
                    else (unknown_command(command))
                )
            return respond(200, {}, {"Allow": ", ".join([*found.methods(), "OPTIONS"])})
        params = {key: request.args.getlist(key)[-1] for key in request.args}
        body = read_body(required=False) if method != "GET" else None
        answer = execute(sim, method, command, params, body)
        return respond(answer.status, answer.body)
