"""The resource store: the records of every ONTAP resource, from its declaration.

Records are kept in ONTAP's shape, keyed by the resource's keys (``_keys`` in netapp-ontap:
parent keys first). What a resource takes and returns, its keys, references and required
fields all come from its :class:`~simulator.model.spec.ResourceSpec`; nothing here is written
per resource. Deep models (volumes, SVMs, LUNs, ...) add their rules as
:class:`~simulator.model.behaviour.Behaviour` hooks (:mod:`simulator.model.deep`).

Writes follow the plan/effect split: :meth:`Store.plan` validates against the state of now
and returns a :class:`~simulator.model.plan.WritePlan` whose effect re-checks and applies.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ApiError, bad_value, duplicate, not_found
from ..jobs import EffectError
from ..query import (
    COLLECTION_PARAMS,
    RECORD_PARAMS,
    check_params,
    get_path,
    matches,
    parse_bool,
    parse_fields,
    parse_int,
    query_collection,
    select_fields,
)
from .behaviour import BEHAVIOURS, Behaviour
from .body import check_body, check_required, expand_dotted, widened
from .plan import WritePlan
from .spec import ApiSpec, Operation, ResourceSpec

if TYPE_CHECKING:
    from ..jobs import JobEngine, JobScript

__all__ = ["Store", "Target", "assigns_key", "deep_merge", "fill_path", "path_variables"]

Record = dict[str, Any]
Tables = dict[str, dict[tuple[str, ...], Record]]

_VARIABLE = re.compile(r"\{([^}]+)\}")
_GONE = ("entry doesn't exist", 4)
_DUPLICATE = ("duplicate entry", 1)
#: Query arguments of a write besides field filters (bulk writes take filters too) and a
#: resource's own: none (``return_timeout`` and ``return_records`` are the caller's, parsed
#: by the HTTP layer and handed to :meth:`Store.plan` as values).
_WRITE_PARAMS: frozenset[str] = frozenset()
_BULK_PARAMS = _WRITE_PARAMS | {"continue_on_failure", "serial_records"}
#: Fields that identify a record when another names it.
_IDENTITY = ("uuid", "name", "id")


def path_variables(template: str) -> list[str]:
    """The ``{...}`` names of a path template, in order."""
    return _VARIABLE.findall(template)


def assigns_key(resource: ResourceSpec, name: str) -> bool:
    """Whether the store gives a new record key ``name`` when the body has none: an integer
    (the next free one), a uuid, or a string ONTAP assigns (a key a POST cannot set, such as
    a SnapLock litigation's ``id``: a uuid string, INFERRED) unless a deep model fills it."""
    field = resource.fields.get(name)
    if name.rsplit(".", 1)[-1] == "uuid":
        return True
    return field is not None and (field.type == "integer" or not field.post)


def fill_path(template: str, values: Sequence[str]) -> str:
    """``template`` with its variables replaced, in order, by ``values``."""
    parts = iter(values)
    return _VARIABLE.sub(lambda _: str(next(parts)), template)


def _normal(template: str) -> str:
    return _VARIABLE.sub("{}", template)


def _set_path(record: Record, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def deep_merge(target: Record, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into ``target``, objects key by key, everything else replaced (copied)."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


_GENERIC = Behaviour()
_ABSENT = get_path({}, "absent")  # what get_path answers where a record has no value


def _present(value: Any) -> bool:
    return value is not None and value is not _ABSENT


@dataclass(frozen=True)
class Target:
    """A concrete path resolved: the resource, the key values the path gives, and whether it
    names one record (a record path, or a singleton) or a collection."""

    resource: ResourceSpec
    template: str
    path: str
    keys: tuple[tuple[str, str], ...]
    is_record: bool

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.keys)


class Store:
    """Records of every resource the simulator serves; every method takes ``lock``.

    ``inventory`` is the scenario's starting inventory (cluster, nodes, aggregates, SVMs,
    volumes, snapshots; None for the default one), which the cluster's deep model loads when
    the store starts and after every reset.
    """

    def __init__(
        self,
        spec: ApiSpec,
        lock: threading.RLock,
        inventory: Mapping[str, Any] | None = None,
        *,
        jobs: JobEngine | None = None,
    ) -> None:
        # The deep models register their behaviours when imported: here, not at start-up
        # (they cost ~60 ms to import; ontap-sim's first line should not wait for them).
        from . import deep as _deep  # noqa: F401

        self.spec = spec
        self.lock = lock
        self.inventory = inventory
        self.tables: Tables = {}
        self.generation = 0
        #: True while a scenario's records are created: deep models may then allow what only
        #: the cluster itself creates (physical ports, ...).
        self.loading = False
        #: True while the behaviours seed the store (built-ins, the scenario's inventory),
        #: before a scenario's ``records`` exist.
        self.seeding = False
        #: The query arguments of the write whose deep rules are running (hooks read the
        #: arguments their ``params`` declare, such as ``allow_delete_while_mapped``).
        self.query: Mapping[str, str] = {}
        #: Rendered records read once per collection GET: they cannot change while it holds
        #: the lock, and rendering each record would otherwise render them again (a LUN's
        #: volume).
        self._deep_seen: dict[str, list[Record]] | None = None
        self._ids: dict[str, Iterator[int]] = {}
        self._memo: dict[Any, Any] = {}
        self._depth = 0
        self._owner: int | None = None
        self._by_record_path = {
            _normal(r.record_path): r for r in spec.resources.values() if r.record_path
        }
        #: The simulator's job engine, and the script the next write on (method, path)
        #: takes: deep models that run work in the background (a SnapMirror transfer, which
        #: ONTAP answers at once) start jobs with them. Set by the Simulator.
        self.jobs: JobEngine | None = jobs
        self.take_script: Callable[[str, str], JobScript] | None = None
        #: The seeded tables, copied back on reset instead of seeding again (reads ~330 us of
        #: deep rules, a copy ~50 us); kept only once two seeds gave the same tables and
        #: neither read the clock nor numbered a key (see :meth:`reset`).
        self._pristine: Tables | None = None
        self._candidate: Tables | None = None
        self._seed_read_clock = False
        self._seed()
        self._keep_seed()

    @staticmethod
    def behaviour(resource: ResourceSpec) -> Behaviour:
        """The deep rules of ``resource`` (a do-nothing behaviour for a generic one)."""
        return BEHAVIOURS.get(resource.name, _GENERIC)

    def referrers(self, target_name: str, value: str) -> list[tuple[ResourceSpec, Record]]:
        """Records, of any resource, whose references name the record of ``target_name``
        with uuid (or id, or name) ``value``: what still holds a volume, an igroup, ..."""
        found: list[tuple[ResourceSpec, Record]] = []
        for name, table in self.tables.items():
            resource = self.spec.resources.get(name)
            if resource is None:
                continue
            fields = [f for f, t in resource.references.items() if t == target_name]
            behaviour = self.behaviour(resource)
            for record in table.values():
                for field in fields:
                    ref = get_path(record, field)
                    refs = ref if isinstance(ref, list) else [ref]
                    if any(
                        isinstance(r, Mapping) and value in (str(r.get(k)) for k in _IDENTITY)
                        for r in refs
                    ):
                        found.append((resource, record))
                        break
                else:
                    if (target_name, value) in behaviour.refers(self, record):
                        found.append((resource, record))
        return found

    def holder(self, kind: str, value: str) -> ApiError | None:
        """Why the record of ``kind`` with uuid/id/name ``value`` cannot be deleted now (a
        record whose deep rules say it holds it), or None."""
        with self._operation():
            for resource, record in self.referrers(kind, value):
                refusal = self.behaviour(resource).holds(self, kind, record)
                if refusal is not None:
                    return refusal
        return None

    def release(self, kind: str, value: str) -> None:
        """The record of ``kind`` with uuid (or id) ``value`` is gone: delete the records
        whose deep rules say they go with it (a LUN map with its LUN), running their
        ``applied(..., "delete", ...)`` (which may release what goes with them in turn)."""
        with self.lock:
            for resource, record in self.referrers(kind, value):
                behaviour = self.behaviour(resource)
                if not behaviour.goes_with(self, kind, record):
                    continue
                table = self.tables.get(resource.name, {})
                key = next((k for k, r in table.items() if r is record), None)
                if key is not None:
                    del table[key]
                    behaviour.applied(self, "delete", record)

    # -- state -------------------------------------------------------------------------
    def reset(self, inventory: Mapping[str, Any] | None = None, *, replace: bool = False) -> None:
        """Forget every record and seed again; effects planned before can no longer apply.

        With ``replace``, ``inventory`` becomes the starting inventory; a ValueError (naming
        the bad entry) then leaves everything as it was.

        Seeding is deterministic for most inventories: once two seeds gave equal tables, read
        no clock (a snapshot's ``create_time``) and numbered no key, a reset copies those
        tables back instead of running the deep rules again. An inventory whose seed differs
        each time (generated uuids) is seeded on every reset, as before.
        """
        with self.lock:
            saved = (self.tables, self._ids, self.generation, self.inventory)
            saved_seed = (self._pristine, self._candidate)
            if replace:
                self.inventory = inventory
                self._pristine = self._candidate = None
            self._ids = {}
            self.generation += 1
            if self._pristine is not None:
                self.tables = _copy_tables(self._pristine)
                return
            self.tables = {}
            try:
                self._seed()
            except ValueError:
                self.tables, self._ids, self.generation, self.inventory = saved
                self._pristine, self._candidate = saved_seed
                raise
            self._keep_seed()

    def _seed(self) -> None:
        self.seeding = True
        self._seed_read_clock = False
        try:
            for behaviour in BEHAVIOURS.values():
                behaviour.seed(self)
        finally:
            self.seeding = False

    def _keep_seed(self) -> None:
        """After a seed: keep its tables as the candidate snapshot, or as the snapshot once a
        second seed gave the same; a seed that read the clock or numbered a key is not kept."""
        if self._seed_read_clock or self._ids or not _plain(self.tables):
            self._candidate = None
        elif self._candidate is not None and self._candidate == self.tables:
            self._pristine = self._candidate
            self._candidate = None
        else:
            self._candidate = _copy_tables(self.tables)

    def now(self) -> float | None:
        """The simulator's clock (None without a job engine); deep rules read time here."""
        if self.seeding:
            self._seed_read_clock = True
        return self.jobs.clock.now() if self.jobs is not None else None

    @contextmanager
    def _operation(self) -> Iterator[None]:
        """One read or write under the lock: what :meth:`cached` keeps lives as long as it."""
        with self.lock:
            if self._depth == 0:
                self._memo = {}
                self._owner = threading.get_ident()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._memo = {}
                    self._owner = None

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, computed once per read or write (nothing changes meanwhile): deep
        rules look other records up for every record they render. Outside one, not kept."""
        if self._depth == 0 or self._owner != threading.get_ident():
            return compute()
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def sync(self, resource: str) -> None:
        """Let the deep rules of ``resource`` bring its derived records up to date."""
        behaviour = BEHAVIOURS.get(resource)
        if behaviour is not None:
            with self.lock:
                behaviour.sync(self)

    def records_of(self, resource: str) -> list[Record]:
        """Every record of ``resource``: as stored, or as a GET shows it where its deep
        model says so (``Behaviour.rendered``)."""
        seen = self._deep_seen
        if seen is not None and resource in seen:
            return seen[resource]
        self.sync(resource)
        records = list(self.tables.get(resource, {}).values())
        behaviour = BEHAVIOURS.get(resource)
        if behaviour is None or not behaviour.rendered:
            return records
        with self._operation():
            spec = self.spec.resources[resource]
            rendered = [self.render(spec, r) for r in records]
        if seen is not None:
            seen[resource] = rendered
        return rendered

    def insert(self, resource: ResourceSpec, record: Mapping[str, Any]) -> Record:
        """Store ``record`` as it is (a scenario's inventory, a test's fixture); keys generated."""
        with self.lock:
            data = copy.deepcopy(dict(record))
            key = self._own_keys(resource, data, ())
            table = self.tables.setdefault(resource.name, {})
            if key in table:
                raise ValueError(f"{resource.name}: a record with keys {key} exists already")
            table[key] = data
            return data

    # -- paths -------------------------------------------------------------------------
    def target(self, template: str, path: str, values: Sequence[str]) -> Target:
        """Resolve ``path`` (matching ``template``, whose variables took ``values``)."""
        resource = self.spec.resource_for(template)
        if resource is None:
            raise ApiError(
                405,
                "3",
                f'The simulator has no schema for "{template}" (see docs/coverage.md).',
            )
        names = resource.keys[: len(values)]
        is_record = template == resource.record_path or resource.singleton
        return Target(resource, template, path, tuple(zip(names, values, strict=False)), is_record)

    def _check_parents(self, target: Target) -> None:
        """404 (code 4) when a record the path goes through does not exist."""
        variables = path_variables(target.template)
        last = len(variables) - (1 if target.is_record and not target.resource.singleton else 0)
        for index in range(last):
            end = target.template.index("{" + variables[index] + "}") + len(variables[index]) + 2
            parent = self._by_record_path.get(_normal(target.template[:end]))
            if parent is None or parent is target.resource:
                continue
            values = [value for _, value in target.keys[: index + 1]]
            wanted = list(zip(parent.keys[-len(values) :], values, strict=False))
            if not any(self._has_keys(r, wanted) for r in self._stored(parent.name)):
                raise not_found(variables[index].rsplit(".", 1)[-1])
        if target.resource.singleton:
            # An object per SVM (or per volume...): the record its key names must exist.
            for name, value in target.keys:
                owner, _, leaf = name.rpartition(".")
                referred = target.resource.references.get(owner)
                if referred is not None and not any(
                    str(r.get(leaf)) == value for r in self._stored(referred)
                ):
                    raise not_found(name)

    def _stored(self, resource: str) -> Iterable[Record]:
        """The records of ``resource`` as stored (their keys are what a GET shows)."""
        self.sync(resource)
        return self.tables.get(resource, {}).values()

    @staticmethod
    def _has_keys(record: Mapping[str, Any], wanted: Iterable[tuple[str, str]]) -> bool:
        return all(str(get_path(record, name)) == value for name, value in wanted)

    def _find(self, target: Target) -> tuple[tuple[str, ...], Record]:
        table = self.tables.setdefault(target.resource.name, {})
        key = tuple(value for _, value in target.keys)
        owned = all(n.rpartition(".")[0] in target.resource.references for n in target.key_names)
        if target.resource.singleton and owned:
            # One object per parent (an SVM's web settings, the cluster's ...): it exists as
            # long as its parent does, with the settings written to it so far.
            if key not in table:
                table[key] = {}
                for name, value in target.keys:
                    _set_path(table[key], name, value)
            return key, table[key]
        record = table.get(key)
        if record is None:
            raise not_found(target.key_names[-1].rsplit(".", 1)[-1] if target.keys else "uuid")
        return key, record

    def href(self, resource: ResourceSpec, record: Mapping[str, Any]) -> str:
        """The record's ``_links.self.href``."""
        values = [str(get_path(record, name)) for name in resource.keys]
        template = resource.record_path or resource.collection_path
        return fill_path(template, values[: len(path_variables(template))])

    # -- reads -------------------------------------------------------------------------
    def render(self, resource: ResourceSpec, record: Mapping[str, Any]) -> Record:
        """A stored record as GET shows it: references' names current, ``_links`` added."""
        out = copy.deepcopy(dict(record))
        for field, target_name in resource.references.items():
            self._refresh(out, field.split("."), target_name)
        out = self.behaviour(resource).render(self, out)
        for parts in _write_only(resource):  # a password is taken, never shown
            _drop(out, parts)
        if not resource.singleton or resource.keys:
            out["_links"] = {"self": {"href": self.href(resource, record)}}
        return out

    def _refresh(self, node: Any, parts: list[str], target_name: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._refresh(item, parts, target_name)
            return
        if not isinstance(node, dict) or parts[0] not in node:
            return
        if len(parts) > 1:
            self._refresh(node[parts[0]], parts[1:], target_name)
            return
        refs = node[parts[0]]
        target = self.spec.resources.get(target_name)
        unique_id = target is not None and target.keys == ("id",)
        for ref in refs if isinstance(refs, list) else [refs]:
            if isinstance(ref, dict) and ("uuid" in ref or "id" in ref):
                # By what stays when the record is renamed: its uuid, or an id unique in the
                # cluster (an export policy's; a qtree's id is unique in its volume only).
                by = "uuid" if "uuid" in ref else "id" if unique_id else None
                found = self._lookup(target_name, {by: ref[by]} if by else ref, None)
                if found is not None and "name" in found and "name" in ref:
                    ref["name"] = found["name"]

    def read(self, target: Target, params: Mapping[str, str]) -> Record:
        """Answer a GET on ``target`` (after settling jobs: it sees every job ended by now)."""
        if self.jobs is not None:
            self.jobs.settle()
        resource = target.resource
        names = [n for n, f in resource.fields.items() if f.get]
        with self._operation():
            self.sync(resource.name)
            self._check_parents(target)
            if target.is_record:
                # ``max_records`` on a record (INFERRED: generic readers such as
                # na_ontap_rest_info send it on every GET, record paths included, and work
                # against clusters): checked as a number, and meaningless for one record.
                check_params(params, RECORD_PARAMS | {"max_records"}, names)
                parse_int(params, "max_records", 0, None)
                _, record = self._find(target)
                rendered = self.render(resource, record)
            else:
                check_params(params, COLLECTION_PARAMS, names)
                scope = target.keys
                self._deep_seen = {}
                try:
                    rendered_all = [
                        self.render(resource, r)
                        for r in self.tables.get(resource.name, {}).values()
                        if self._has_keys(r, scope)
                    ]
                finally:
                    self._deep_seen = None
        fields = parse_fields(params.get("fields"))
        _check_order_by(params.get("order_by"), names)
        keys = self._shown_keys(resource, target)
        fields_cut = ["**", *(fields or ())] if self.behaviour(resource).computed else fields
        if target.is_record:
            return select_fields(_cut(resource, rendered, fields_cut), fields, keys)
        records = [_cut(resource, r, fields_cut) for r in rendered_all]
        return query_collection(records, params, href=target.path, keys=keys)

    @staticmethod
    def _shown_keys(resource: ResourceSpec, target: Target) -> tuple[str, ...]:
        own = tuple(k for k in resource.keys if k not in target.key_names or target.is_record)
        if resource.singleton and not resource.keys:
            return own  # the cluster, its software: one object, shown as ``fields`` asks
        return (*own, *(("name",) if "name" in resource.fields else ()))

    # -- references --------------------------------------------------------------------
    def _lookup(
        self, target_name: str, ref: Mapping[str, Any], svm_uuid: str | None
    ) -> Record | None:
        # Stored records: what names a record (uuid, name, id, SVM) is stored as shown.
        found: list[Record] = self.cached(
            ("stored", target_name), lambda: list(self._stored(target_name))
        )
        if ref.get("uuid") is not None:
            # By uuid through an index: rendering N records that refer to N others stays O(N).
            by_uuid: dict[str, list[Record]] = self.cached(("by uuid", target_name), dict)
            if not by_uuid:
                for record in found:
                    by_uuid.setdefault(str(record.get("uuid")), []).append(record)
            found = by_uuid.get(str(ref["uuid"]), [])
        for record in found:
            if svm_uuid is not None:
                owner = get_path(record, "svm.uuid")
                if isinstance(owner, str) and owner != svm_uuid:
                    continue
            given = [(k, ref[k]) for k in _IDENTITY if ref.get(k) is not None]
            if given and all(str(record.get(k)) == str(v) for k, v in given):
                return record
        return None

    def _resolve(self, resource: ResourceSpec, data: Record, svm_uuid: Any = None) -> None:
        """Fill every reference in ``data`` both ways (name and uuid); 400 naming an unknown one.

        References are looked up within the record's SVM (``svm_uuid``, else the one ``data``
        names), so an igroup named in a LUN map is the one of that map's SVM.
        """
        refs = sorted(resource.references.items(), key=lambda item: item[0] != "svm")
        behaviour = self.behaviour(resource)
        codes = behaviour.unknown_reference
        for field, target_name in refs:
            if field in behaviour.unchecked:
                continue
            scope = None if field == "svm" else (svm_uuid or get_path(data, "svm.uuid"))
            try:
                self._resolve_at(data, field.split("."), field, target_name, scope)
            except ApiError as unknown:
                if field not in codes:
                    raise
                raise ApiError(
                    unknown.status, codes[field], unknown.message, unknown.target
                ) from None

    def _resolve_at(
        self, node: Any, parts: list[str], field: str, target_name: str, svm_uuid: Any
    ) -> None:
        if isinstance(node, list):
            for item in node:
                self._resolve_at(item, parts, field, target_name, svm_uuid)
            return
        if not isinstance(node, dict) or parts[0] not in node:
            return
        if len(parts) > 1:
            self._resolve_at(node[parts[0]], parts[1:], field, target_name, svm_uuid)
            return
        refs = node[parts[0]]
        for ref in refs if isinstance(refs, list) else [refs]:
            if not isinstance(ref, dict):
                continue
            given = [k for k in _IDENTITY if ref.get(k) not in (None, "")]
            if not given:
                continue  # "" names no record: ONTAP's default rule, "no qtree", ...
            scope = svm_uuid if isinstance(svm_uuid, str) else None
            found = self._lookup(target_name, ref, scope)
            if found is None:
                shown = given[0]
                raise bad_value(
                    f"{field}.{shown}",
                    f'{target_name} "{ref[shown]}" does not exist'
                    + (" in this SVM." if scope else "."),
                )
            for key in _IDENTITY:
                if key in found and found[key] is not None and key in ref.keys() | {"uuid", "name"}:
                    ref[key] = found[key]

    # -- writes ------------------------------------------------------------------------
    def plan(
        self,
        operation: Operation,
        target: Target,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
        *,
        preset: Mapping[str, Any] | None = None,
        return_records: bool = False,
    ) -> WritePlan:
        """Validate a write on ``target`` now and return its plan; changes nothing.

        ``params`` is ONTAP's query for the write (bulk filters, ``continue_on_failure``,
        ``serial_records``, a resource's own arguments). ``preset`` gives a POST's own keys (a
        scenario's stable uuids) instead of new ones; ``return_records`` puts the records a
        POST creates in the plan.
        The write's query arguments are :attr:`query` while its deep rules run, now and when
        its effect applies.
        """
        query = dict(params)
        with self._operation():
            self.query = query
            plan = self._plan_write(operation, target, body, params, preset or {}, return_records)
        effect = plan.effect

        def apply() -> None:
            with self._operation():
                self.query = query
                effect()

        return dataclasses.replace(plan, effect=apply)

    def _plan_write(
        self,
        operation: Operation,
        target: Target,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
        preset: Mapping[str, Any],
        return_records: bool,
    ) -> WritePlan:
        method = operation.method
        own = self.behaviour(target.resource).params.get(method, frozenset())
        self.sync(target.resource.name)
        self._check_parents(target)
        if method in ("POST", "PATCH") and body is not None and not isinstance(body, Mapping):
            # checked after the path and query: a 404 or an unknown argument comes first
            if method == "POST" or target.is_record:
                if target.is_record:
                    self._find(target)
                _check_write_params(params, _WRITE_PARAMS | own, ())
            raise bad_value("body", "The request body must be a JSON object.")
        if method == "POST":
            _check_write_params(params, _WRITE_PARAMS | own, ())
            return self._plan_post(operation, target, body or {}, preset, return_records)
        if target.is_record:
            key, _ = self._find(target)
            _check_write_params(params, _WRITE_PARAMS | own, ())
            if method == "PATCH":
                return self._plan_patch(operation, target, [key], body, params)
            if body:
                raise bad_value("body", "A DELETE takes no request body.")
            return self._plan_delete(operation, target, [key], params)
        return self._plan_bulk(operation, target, body, params)

    def _plan_post(
        self,
        operation: Operation,
        target: Target,
        body: Mapping[str, Any],
        preset: Mapping[str, Any],
        return_records: bool,
    ) -> WritePlan:
        resource = target.resource
        behaviour = self.behaviour(resource)
        data = self._checked(resource, body, "post")
        self._check_path_references(target, data)
        for name, value in [*target.keys, *preset.items()]:
            _set_path(data, name, value)
        check_required(resource, data, target.key_names, behaviour.required_post)
        self._resolve(resource, data)
        referred = self._referred(resource, data)
        behaviour.prepare_post(self, data)
        if resource.singleton and "GET" not in {
            o.method for o in self.spec.operations_on(target.template)
        }:
            return self._plan_action(operation, target, data)
        key = self._own_keys(resource, data, target.key_names)
        table_name = resource.name
        if not behaviour.make_room(self, key, data, False):
            self._refuse_duplicate(resource, key, data)
        generation = self.generation
        record = data
        href = self.href(resource, record)

        def apply() -> None:
            table = self.tables.setdefault(table_name, {})
            if self.generation != generation:
                raise EffectError(*_GONE)
            if any(self._lookup(kind, {"uuid": uuid}, None) is None for kind, uuid in referred):
                raise EffectError(*_GONE)  # a record it names went meanwhile
            if key in table and not behaviour.make_room(self, key, record, True):
                raise EffectError(*_DUPLICATE)
            try:
                self._refuse_duplicate(resource, key, record, besides=key)
            except ApiError:
                raise EffectError(*_DUPLICATE) from None
            table[key] = copy.deepcopy(record)
            behaviour.applied(self, "post", table[key])

        return WritePlan(
            description=f"POST {target.path}",
            effect=self._locked(apply),
            location=behaviour.location(self, record) or href,
            svm=self._job_svm(resource, record),
            creates=True,
            asynchronous=operation.is_async,
            records=(self.render(resource, record),) if return_records else (),
        )

    def _check_path_references(self, target: Target, data: Mapping[str, Any]) -> None:
        """400 when the body names another record than the path's parent (a snapshot POST
        naming another volume than the one in its path)."""
        for name, value in target.keys:
            owner, _, leaf = name.rpartition(".")
            kind = target.resource.references.get(owner)
            ref = data.get(owner) if "." not in owner else None
            if kind is None or not isinstance(ref, Mapping):
                continue
            given = [k for k in _IDENTITY if ref.get(k) is not None]
            if not given:
                continue
            found = self._lookup(kind, ref, None)
            if found is None or str(found.get(leaf)) != value:
                raise bad_value(
                    f"{owner}.{given[0]}",
                    f'Field "{owner}" does not match the {owner} in the request path.',
                )

    def _referred(self, resource: ResourceSpec, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(resource, uuid)`` of the records ``data``'s checked references name."""
        found: list[tuple[str, str]] = []
        unchecked = self.behaviour(resource).unchecked
        for field, kind in resource.references.items():
            if field in unchecked:
                continue
            refs = get_path(data, field)
            for ref in refs if isinstance(refs, list) else [refs]:
                if isinstance(ref, Mapping) and isinstance(ref.get("uuid"), str):
                    found.append((kind, ref["uuid"]))
        return found

    def _job_svm(self, resource: ResourceSpec, record: Mapping[str, Any]) -> Record | None:
        own = self.behaviour(resource).job_svm(self, dict(record))
        return own if own is not None else self._svm_of(record)

    def _plan_action(self, operation: Operation, target: Target, data: Record) -> WritePlan:
        """A POST on a path ONTAP takes no GET on (a rekey, a restore, a ping): it acts on the
        records its path names and creates none, so it can be repeated; 201 (or 200 where
        ONTAP answers so) with no ``Location``."""
        generation = self.generation

        def apply() -> None:
            if self.generation != generation:
                raise EffectError(*_GONE)

        return WritePlan(
            description=f"POST {target.path}",
            effect=self._locked(apply),
            location=None,
            svm=self._svm_of(data),
            creates=201 in operation.statuses,
            asynchronous=operation.is_async,
        )

    def _own_keys(
        self, resource: ResourceSpec, data: Record, given: Sequence[str]
    ) -> tuple[str, ...]:
        """The record's key values, generating a uuid or an integer id where it has none."""
        values = []
        for name in resource.keys:
            value = get_path(data, name)
            if not _present(value):
                if name in given:
                    raise bad_value(name, f'Missing value for required field "{name}".')
                field = resource.fields.get(name)
                if field is not None and field.type == "integer":
                    counter = self._ids.setdefault(resource.name, itertools.count(1))
                    value = next(counter)
                    while any(
                        get_path(r, name) == value
                        for r in self.tables.get(resource.name, {}).values()
                    ):
                        value = next(counter)
                elif assigns_key(resource, name):
                    value = str(uuidlib.uuid4())
                else:
                    raise bad_value(name, f'Missing value for required field "{name}".')
                _set_path(data, name, value)
            values.append(str(value))
        return tuple(values)

    def _refuse_duplicate(
        self,
        resource: ResourceSpec,
        key: tuple[str, ...],
        data: Mapping[str, Any],
        besides: tuple[str, ...] | None = None,
    ) -> None:
        table = self.tables.get(resource.name, {})
        if besides is None and key in table and resource.keys:
            raise duplicate(resource.keys[-1], "duplicate entry")
        name = data.get("name")
        if name is None or "name" in resource.keys:
            return
        within = self.behaviour(resource).unique_within
        scope = resource.keys[:-1] if within is None else within
        svm = get_path(data, "svm.uuid")
        for other_key, other in table.items():
            if other_key == besides or other.get("name") != name:
                continue
            if within is None and get_path(other, "svm.uuid") != svm and _present(svm):
                continue
            if all(get_path(other, k) == get_path(data, k) for k in scope):
                raise duplicate("name", f'duplicate entry: "{name}" already exists.')

    def _plan_patch(
        self,
        operation: Operation,
        target: Target,
        keys: list[tuple[str, ...]],
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
    ) -> WritePlan:
        resource = target.resource
        checked = self._checked(resource, body or {}, "patch")
        current = self.tables.get(resource.name, {})
        behaviour = self.behaviour(resource)
        each: dict[tuple[str, ...], Record] = {}
        for key in keys:
            record = current.get(key, {})
            changes = each[key] = copy.deepcopy(checked) if len(keys) > 1 else checked
            self._resolve(resource, changes, get_path(record, "svm.uuid"))
            behaviour.prepare_patch(self, record, changes)
            if "name" in changes:
                merged = copy.deepcopy(record)
                deep_merge(merged, changes)
                self._refuse_duplicate(resource, key, merged, besides=key)

        def change(table: dict[tuple[str, ...], Record], key: tuple[str, ...]) -> None:
            changes = copy.deepcopy(each[key])
            behaviour.recheck_patch(self, table[key], changes)
            if "name" in changes:  # a duplicate created meanwhile: refused, nothing applied
                merged = copy.deepcopy(table[key])
                deep_merge(merged, changes)
                self._refuse_duplicate(resource, key, merged, besides=key)
            deep_merge(table[key], changes)
            behaviour.applied(self, "patch", table[key])

        return self._plan_each(operation, target, keys, params, change)

    def _plan_delete(
        self,
        operation: Operation,
        target: Target,
        keys: list[tuple[str, ...]],
        params: Mapping[str, str],
    ) -> WritePlan:
        current = self.tables.get(target.resource.name, {})
        behaviour = self.behaviour(target.resource)
        for key in keys:
            if key in current:
                behaviour.check_delete(self, current[key])

        def change(table: dict[tuple[str, ...], Record], key: tuple[str, ...]) -> None:
            behaviour.check_delete(self, table[key])
            behaviour.applied(self, "delete", table.pop(key))

        return self._plan_each(operation, target, keys, params, change)

    def _plan_each(
        self,
        operation: Operation,
        target: Target,
        keys: list[tuple[str, ...]],
        params: Mapping[str, str],
        change: Callable[[dict[tuple[str, ...], Record], tuple[str, ...]], None],
    ) -> WritePlan:
        """The plan of a PATCH or DELETE of the records ``keys``: ``change`` applies to each
        when the job succeeds; a record gone or refusing meanwhile fails the job, unless
        ``continue_on_failure`` lets it go on to the next."""
        generation = self.generation
        table_name = target.resource.name
        keep_going = parse_bool(params, "continue_on_failure", False)

        def apply() -> None:
            table = self.tables.get(table_name, {})
            if self.generation != generation:
                raise EffectError(*_GONE)
            for key in keys:
                if key not in table:
                    if keep_going:
                        continue
                    raise EffectError(*_GONE)
                try:
                    change(table, key)
                except ApiError as refused:
                    if keep_going:
                        continue
                    raise EffectError(refused.message, int(refused.code)) from None

        current = self.tables.get(table_name, {})
        svm = (
            self._job_svm(target.resource, current[keys[0]])
            if keys and keys[0] in current
            else None
        )
        return WritePlan(
            description=f"{operation.method} {target.path}",
            effect=self._locked(apply),
            location=None,
            svm=svm,
            creates=False,
            asynchronous=operation.is_async,
        )

    def _plan_bulk(
        self,
        operation: Operation,
        target: Target,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str],
    ) -> WritePlan:
        """PATCH or DELETE on a collection: the query selects the records; one job for the lot."""
        resource = target.resource
        if operation.method == "PATCH":
            self._checked(resource, body or {}, "patch")  # a bad body is named before the query
        names = [n for n, f in resource.fields.items() if f.get]
        own = self.behaviour(resource).params.get(operation.method, frozenset())
        filters = {k: v for k, v in params.items() if k not in _BULK_PARAMS | own}
        check_params(filters, (), names)
        _check_write_params(params, _BULK_PARAMS | own, filters)
        if not filters:
            raise bad_value(
                "query",
                f"A {operation.method} on a collection needs a query naming the records "
                "it applies to.",
            )
        table = self.tables.get(resource.name, {})
        scoped = {k: r for k, r in table.items() if self._has_keys(r, target.keys)}
        rendered = {k: self.render(resource, r) for k, r in scoped.items()}
        keys = [k for k, r in rendered.items() if all(matches(r, f, v) for f, v in filters.items())]
        if operation.method == "PATCH":
            return self._plan_patch(operation, target, keys, body, params)
        if body:
            raise bad_value("body", "A DELETE takes no request body.")
        return self._plan_delete(operation, target, keys, params)

    def _checked(
        self, resource: ResourceSpec, body: Mapping[str, Any], method: Literal["post", "patch"]
    ) -> Record:
        """``body`` as the deep rules spell it, checked against the declaration."""
        raw = expand_dotted(body)
        behaviour = self.behaviour(resource)
        behaviour.prepare_body(self, raw, method)
        taking = widened(resource, behaviour.takes, behaviour.extra_fields)
        return check_body(taking, raw, "load" if self.loading and method == "post" else method)

    def _svm_of(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The SVM a job on ``record`` shows: its uuid and name (an SVM's own objects hold
        the uuid only: the name is looked up)."""
        svm = record.get("svm")
        if not isinstance(svm, Mapping) or not svm.get("uuid"):
            return None
        name = svm.get("name")
        if not isinstance(name, str):
            found = self._lookup("Svm", {"uuid": svm["uuid"]}, None)
            name = found.get("name") if found is not None else None
        return (
            {"name": name, "uuid": svm["uuid"]} if isinstance(name, str) else {"uuid": svm["uuid"]}
        )

    def _locked(self, apply: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with self._operation():
                apply()

        return run


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _copy_value(v) for k, v in value.items()}
    if kind is list:
        return [_copy_value(v) for v in value]
    return value


def _copy_tables(tables: Tables) -> Tables:
    """A copy of ``tables`` sharing no dict or list with it (JSON values: see :func:`_plain`);
    a quarter of ``copy.deepcopy``'s cost."""
    return {
        name: {key: _copy_value(record) for key, record in table.items()}
        for name, table in tables.items()
    }


def _plain(tables: Tables) -> bool:
    """Whether every record holds only dicts, lists, str, int, float, bool and None, and no dict
    or list twice (what :func:`_copy_tables` copies faithfully)."""
    seen: set[int] = set()
    stack: list[Any] = [r for table in tables.values() for r in table.values()]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict or kind is list:
            if id(value) in seen:
                return False
            seen.add(id(value))
            stack.extend(value.values() if kind is dict else value)
        elif kind not in (str, int, float, bool) and value is not None:
            return False
    return True


def _cut(resource: ResourceSpec, record: Record, fields: Sequence[str] | None) -> Record:
    """``record`` without its expensive fields, unless ``fields`` asks for them (or ``**``)."""
    if fields is not None and "**" in fields:
        return record
    asked = set(fields or ())
    lists: dict[str, bool] = {}
    for spec in resource.fields.values():
        if spec.in_list is not None:
            lists[spec.in_list] = lists.get(spec.in_list, True) and spec.expensive
    for name, spec in resource.fields.items():
        if spec.expensive and not any(name == a or name.startswith(a + ".") for a in asked):
            _drop(record, name.split("."))
    for name, expensive in lists.items():
        # A list of objects whose every field is expensive goes too, empty or emptied.
        if expensive and not any(
            name == a or name.startswith(a + ".") or a.startswith(name + ".") for a in asked
        ):
            _drop(record, name.split("."))
    return record


_WRITE_ONLY: dict[str, tuple[list[str], ...]] = {}


def _write_only(resource: ResourceSpec) -> tuple[list[str], ...]:
    """The fields of ``resource`` a write takes and no GET returns, split at their dots."""
    found = _WRITE_ONLY.get(resource.name)
    if found is None:
        found = tuple(name.split(".") for name, spec in resource.fields.items() if not spec.get)
        _WRITE_ONLY[resource.name] = found
    return found


def _drop(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _drop(item, parts)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        return
    if len(parts) == 1:
        del node[parts[0]]
        return
    _drop(node[parts[0]], parts[1:])
    if node[parts[0]] == {}:
        del node[parts[0]]


def _check_order_by(order_by: str | None, names: Sequence[str]) -> None:
    """ONTAP's 400 262268 for an ``order_by`` naming no field of the resource."""
    if not order_by:
        return
    for term in order_by.split(","):
        name = term.strip().partition(" ")[0]
        if name and not any(n == name or n.startswith(name + ".") for n in names):
            raise ApiError(
                400, "262268", f'Invalid field "{name}" specified in "order_by".', "order_by"
            )


def _check_write_params(
    params: Mapping[str, str], allowed: Iterable[str], filters: Iterable[str]
) -> None:
    allowed_set = {*allowed, *filters}
    for key in params:
        if key not in allowed_set:
            raise ApiError(404, "262179", f'Unexpected argument "{key}".', key)
    parse_bool(params, "continue_on_failure", False)
    parse_bool(params, "serial_records", False)
