"""ONTAP's REST API as data: resources, their fields, keys, references and operations.

``load_spec()`` reads ``ontap_api.json`` (compiled by ``tools/compile_ontap_api.py`` from the
``netapp-ontap`` package's schemas and ``operations.tsv``) once, on first use, and merges
``ontap_api_extra.json`` (compiled by ``tools/compile_trident_models.py`` from the go-swagger
models in NetApp's Trident repository) for the operations netapp-ontap has no resource for.
Nothing here imports netapp-ontap or marshmallow.

Names and paths use ONTAP's JSON spelling: a field is its dotted leaf (``space.snapshot.
reserve_percent``; the items of a list of objects are entered, ``aggregates.name``) and a path
template spells keys as operations.tsv does (``/api/storage/volumes/{volume.uuid}/snapshots``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast

__all__ = [
    "FORMAT",
    "ApiSpec",
    "FieldSpec",
    "FieldType",
    "Operation",
    "ResourceSpec",
    "load_spec",
]

#: The data file's layout version; ``tools/compile_ontap_api.py`` writes the same number.
FORMAT = 1
DATA_FILE = "ontap_api.json"
#: Declarations for the operations ``DATA_FILE`` has no resource for.
EXTRA_FILE = "ontap_api_extra.json"

FieldType = Literal["string", "integer", "number", "boolean", "date-time", "object", "any"]

_TYPES: Mapping[str, FieldType] = {
    "s": "string",
    "i": "integer",
    "n": "number",
    "b": "boolean",
    "d": "date-time",
    "o": "object",
    "a": "any",
}
_LIST, _GET, _POST, _PATCH, _EXPENSIVE = 1, 2, 4, 8, 16
_PLACEHOLDER = re.compile(r"\{[^{}]+\}")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One leaf field of a resource.

    ``in_list`` is the dotted prefix of the innermost enclosing list of objects ("aggregates"
    for "aggregates.name"); ``is_list`` says the leaf itself holds a list of scalars. ``enum``
    holds the values ONTAP documents (netapp-ontap compares them case-insensitively, as
    strings). ``get``/``post``/``patch`` say which methods carry the field; ``expensive`` ones
    come back only when ``fields`` names them.
    """

    name: str
    type: FieldType
    is_list: bool
    in_list: str | None
    enum: tuple[str, ...] | None
    minimum: float | None
    maximum: float | None
    min_length: int | None
    max_length: int | None
    get: bool
    post: bool
    patch: bool
    expensive: bool


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """One netapp-ontap resource: where it lives, how its records are keyed, what they hold.

    ``keys`` are netapp-ontap's ``_keys``, parent keys first; they name, in order, the
    placeholders of ``record_path`` (whose spelling follows operations.tsv, e.g.
    ``{uuid}`` for a parent that netapp-ontap calls ``node.uuid``). A ``singleton`` is one object
    at ``collection_path`` (``record_path`` is then the same path); a collection whose records
    have no key of their own (metrics samples, EMS events) has ``record_path`` None.
    ``required_post`` lists groups of alternatives, one of each group being required.
    """

    name: str
    module: str
    collection_path: str
    record_path: str | None
    keys: tuple[str, ...]
    fields: Mapping[str, FieldSpec] = field(hash=False)
    required_post: tuple[tuple[str, ...], ...]
    references: Mapping[str, str] = field(hash=False)
    singleton: bool


@dataclass(frozen=True, slots=True)
class Operation:
    """One line of operations.tsv, with the resource that serves its path (if any)."""

    method: str
    path: str
    statuses: tuple[int, ...]
    is_async: bool
    resource: str | None


class ApiSpec:
    """The whole API: resources by name, and every operation in operations.tsv's order."""

    __slots__ = (
        "_by_path",
        "_by_shape",
        "_ops_by_path",
        "ontap_version",
        "operations",
        "resources",
        "source",
    )

    ontap_version: str
    source: str
    resources: Mapping[str, ResourceSpec]
    operations: tuple[Operation, ...]

    def __init__(
        self,
        ontap_version: str,
        source: str,
        resources: Mapping[str, ResourceSpec],
        operations: tuple[Operation, ...],
    ) -> None:
        self.ontap_version = ontap_version
        self.source = source
        self.resources = MappingProxyType(dict(resources))
        self.operations = operations
        by_path: dict[str, ResourceSpec] = {}
        for res in self.resources.values():
            for path in (res.collection_path, res.record_path):
                if path is not None:
                    by_path.setdefault(path, res)
        ops_by_path: dict[str, list[Operation]] = {}
        for op in operations:
            ops_by_path.setdefault(op.path, []).append(op)
            if op.resource is not None:
                by_path.setdefault(op.path, self.resources[op.resource])
        self._by_path = by_path
        self._by_shape = {_shape(path): res for path, res in by_path.items()}
        self._ops_by_path = {path: tuple(ops) for path, ops in ops_by_path.items()}

    def __repr__(self) -> str:
        return (
            f"<ApiSpec ONTAP {self.ontap_version} ({self.source}): {len(self.resources)}"
            f" resources, {len(self.operations)} operations>"
        )

    def resource_for(self, path_template: str) -> ResourceSpec | None:
        """The resource whose collection or record lives at a path template, else None.

        Keys may be spelt any way (``{uuid}``, ``{volume.uuid}``): a template matches by its
        segments when it is not one of the known spellings.
        """
        found = self._by_path.get(path_template)
        return found if found is not None else self._by_shape.get(_shape(path_template))

    def operations_on(self, path_template: str) -> tuple[Operation, ...]:
        """The operations operations.tsv lists on exactly this path template, in its order."""
        return self._ops_by_path.get(path_template, ())


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", path)


class _Fields(Mapping[str, FieldSpec]):
    """A resource's fields, decoded from the data file's rows on first use."""

    __slots__ = ("_decoded", "_enums", "_rows")

    def __init__(self, rows: list[list[Any]], enums: list[tuple[str, ...]]) -> None:
        self._rows: list[list[Any]] | None = rows
        self._enums = enums
        self._decoded: dict[str, FieldSpec] = {}

    def _all(self) -> dict[str, FieldSpec]:
        rows = self._rows
        if rows is not None:  # two threads may both decode: either result is whole and equal
            self._decoded = _decode_fields(rows, self._enums)
            self._rows = None
        return self._decoded

    def __getitem__(self, name: str) -> FieldSpec:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __repr__(self) -> str:
        return f"<{len(self)} fields>"


def _decode_fields(rows: list[list[Any]], enums: list[tuple[str, ...]]) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    name = ""
    for row in rows:
        shared, suffix, code, flags, in_list = row[:5]
        enum, minimum, maximum, min_length, max_length = (row[5:] + [None] * 5)[:5]
        name = name[:shared] + suffix
        out[name] = FieldSpec(
            name=name,
            type=_TYPES[code],
            is_list=bool(flags & _LIST),
            in_list=name[:in_list] if in_list else None,
            enum=None if enum is None else enums[enum],
            minimum=None if minimum is None else float(minimum),
            maximum=None if maximum is None else float(maximum),
            min_length=min_length,
            max_length=max_length,
            get=bool(flags & _GET),
            post=bool(flags & _POST),
            patch=bool(flags & _PATCH),
            expensive=bool(flags & _EXPENSIVE),
        )
    return out


def _parse_resources(data: Mapping[str, Any], file: str) -> dict[str, ResourceSpec]:
    if data.get("format") != FORMAT:
        raise RuntimeError(
            f"{file} has format {data.get('format')!r}, this loader reads {FORMAT}:"
            f" run python tools/{_COMPILERS[file]}"
        )
    enums = [tuple(values) for values in data["enums"]]
    specs: dict[str, ResourceSpec] = {}
    for row in data["resources"]:
        name, module, collection, record, keys, singleton, required, refs, rows = row
        specs[name] = ResourceSpec(
            name=name,
            module=module,
            collection_path=collection,
            record_path=record,
            keys=tuple(keys),
            fields=_Fields(rows, enums),
            required_post=tuple(tuple(group) for group in required),
            references=MappingProxyType(dict(refs)),
            singleton=bool(singleton),
        )
    return specs


_COMPILERS = {DATA_FILE: "compile_ontap_api.py", EXTRA_FILE: "compile_trident_models.py"}


def parse_spec(text: str, extra: str | None = None) -> ApiSpec:
    """Build an ``ApiSpec`` from the data file's text, and the extra declarations' if given.

    The extra file's resources serve only the paths the data file has no resource for; a
    resource name both files declare is refused.
    """
    data = json.loads(text)
    specs = _parse_resources(data, DATA_FILE)
    owners: dict[str, str] = {}
    if extra is not None:
        more = json.loads(extra)
        added = _parse_resources(more, EXTRA_FILE)
        both = sorted(specs.keys() & added.keys())
        if both:
            raise RuntimeError(f"{EXTRA_FILE} declares resources {DATA_FILE} has: {both}")
        specs.update(added)
        owners = {str(path): str(owner) for path, owner in more["paths"]}
    paths = [
        (str(path), cast("str | None", owner) or owners.get(str(path)))
        for path, owner in data["paths"]
    ]
    operations = []
    for index, method, statuses in data["operations"]:
        path, owner = paths[index]
        codes = tuple(int(s) for s in statuses)
        operations.append(Operation(method, path, codes, 202 in codes, owner))
    return ApiSpec(data["ontap_version"], data["source"], specs, tuple(operations))


@functools.cache
def load_spec() -> ApiSpec:
    """The compiled API declaration shipped with the package (read once, then cached)."""
    package = resources.files(__name__.rpartition(".")[0])
    return parse_spec(
        package.joinpath(DATA_FILE).read_text(encoding="utf-8"),
        package.joinpath(EXTRA_FILE).read_text(encoding="utf-8"),
    )
