"""Compile declarations for the operations netapp-ontap has no resource for.

The source is the other public copy of ONTAP's schemas: the go-swagger client and models that
NetApp's Trident repository (Apache-2.0) generates from ONTAP's swagger document, under
``storage_drivers/ontap/api/rest``. The facts read from them (paths, body and payload models,
field names, Go types, ``Read Only``, ``Required``, ``Enum``, ``Format``, bounds) are written to
``simulator/model/ontap_api_extra.json`` in the layout of ``ontap_api.json``; no Go code or
comment text is copied. CI has no Trident checkout, so the data file is committed.

    python tools/compile_trident_models.py --trident-git DIR            # write the data file
    python tools/compile_trident_models.py --trident-git DIR --check    # exit 1 when stale
    python tools/compile_trident_models.py --trident-git DIR --report   # a summary

``DIR`` is a clone of github.com/NetApp/trident (a work tree or a bare git directory): files
are read from its ``HEAD`` with git, so no checkout is needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from datafile import (
    FLAG_GET,
    FLAG_LIST,
    FLAG_PATCH,
    FLAG_POST,
    LeafRow,
    encode_fields,
    print_sections,
    render,
    write_or_check,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "simulator" / "model"
DATA_FILE = MODEL_DIR / "ontap_api_extra.json"
MAIN_FILE = MODEL_DIR / "ontap_api.json"
OPERATIONS_FILE = MODEL_DIR / "operations.tsv"

FORMAT = 1
REPOSITORY = "https://github.com/NetApp/trident"
LICENSE = "Apache-2.0"
REST = "storage_drivers/ontap/api/rest"
MODELS = f"{REST}/models"
CLIENT = f"{REST}/client"
GIT_TIMEOUT = 120
MAX_DEPTH = 12
#: How often one model may nest inside itself along a path.
MAX_RECURSION = 3

NOTES = {
    "fields": "the record model of the operations' payloads (GET), and the body models of their"
    " POST and PATCH (an action's fields are its POST body's); leaves sorted by name",
    "get": "in a GET payload model, unless its swagger format is password",
    "post/patch": "in that method's body model and not readOnly in the swagger (readOnly is the"
    " only write-access marker the Go models carry; readOnly on an object covers what it holds);"
    " _links is never written",
    "expensive": "none (the Go models do not say)",
    "required_post": "the POST body model's `required` properties (top level, or below required"
    " objects), minus path keys and read-only ones",
    "keys": "the record path's variables (a variable naming a model field but for underscores"
    " takes that field's name); an action or singleton is keyed by its path's variables",
    "references": "objects shaped as ONTAP's references (identifiers only: uuid, name, id; with a"
    " name or _links, or a <x>_reference model) whose model or field names a keyed resource of"
    " either declaration",
}

_GO_SCALARS = {
    "string": "string",
    "bool": "boolean",
    "int64": "integer",
    "int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "int": "integer",
    "uint64": "integer",
    "uint32": "integer",
    "float64": "number",
    "float32": "number",
    "any": "any",
    "interface{}": "any",
    "strfmt.DateTime": "date-time",
    "strfmt.Date": "string",
    "strfmt.UUID": "string",
    "strfmt.Password": "string",
    "strfmt.URI": "string",
    "strfmt.Email": "string",
    "strfmt.Hostname": "string",
    "strfmt.IPv4": "string",
    "strfmt.IPv6": "string",
    "strfmt.Duration": "string",
    "strfmt.Base64": "string",
}
IDENTIFIERS = frozenset({"uuid", "name", "id"})

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


# --- git ------------------------------------------------------------------------------------


class Git:
    """Read files from a repository's HEAD without a checkout."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def run(self, *args: str, data: bytes | None = None) -> bytes:
        result = subprocess.run(  # noqa: S603 - git, with arguments we build
            ["git", "-C", str(self.directory), *args],  # noqa: S607
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise SystemExit(f"git {' '.join(args[:2])} in {self.directory}: {message}")
        return result.stdout

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").decode().strip()

    def files(self, folder: str) -> list[str]:
        out = self.run("ls-tree", "-r", "--name-only", "HEAD", folder).decode()
        return [line for line in out.splitlines() if line.endswith(".go")]

    def read(self, paths: Iterable[str]) -> dict[str, str]:
        """The text of each path at HEAD (one ``git cat-file --batch`` for all)."""
        wanted = list(paths)
        out = self.run("cat-file", "--batch", data="".join(f"HEAD:{p}\n" for p in wanted).encode())
        texts: dict[str, str] = {}
        at = 0
        for path in wanted:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3:
                raise SystemExit(f"{path}: not in {self.directory} at HEAD")
            size = int(header[2])
            texts[path] = out[end + 1 : end + 1 + size].decode()
            at = end + 1 + size + 1
        return texts

    def bindings_version(self) -> tuple[str, str]:
        """The ONTAP version the models were last regenerated for, from that commit's subject."""
        log = self.run("log", "--format=%H %s", "HEAD", "--", MODELS).decode()
        for line in log.splitlines():
            commit, _, subject = line.partition(" ")
            match = re.search(r"REST bindings for ONTAP (\d+(?:\.\d+)+)", subject)
            if match:
                return match.group(1), commit
        return "", ""


# --- Go declarations ------------------------------------------------------------------------


@dataclasses.dataclass
class GoField:
    json: str
    go_type: str
    read_only: bool = False
    required: bool = False
    enum: tuple[str, ...] | None = None
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclasses.dataclass
class GoType:
    name: str
    swagger: str | None
    fields: list[GoField] | None  # None: not a struct
    alias: str | None = None  # the underlying type of a named non-struct type
    enum: tuple[str, ...] | None = None


_TYPE_LINE = re.compile(r"^type (\w+) (.+?)\s*$")
_FIELD_LINE = re.compile(r"^\s+(\w+)\s+(\S+)\s+`json:\"([^\",]*)[^`]*`")
_ANNOTATION = re.compile(
    r"^\s*// (Read Only|Required|Enum|Format|Minimum|Maximum|Max Length|Min Length): (.*)$"
)
_SWAGGER_MODEL = re.compile(r"swagger:model (\S+)")
_TYPE_ENUM = re.compile(
    r"var res \[\](\w+)\s+if err := json\.Unmarshal\(\[\]byte\(`(\[.*?\])`\)", re.S
)


def _enum_values(text: str) -> tuple[str, ...]:
    values = json.loads(text)
    return tuple(v if isinstance(v, str) else json.dumps(v) for v in values)


def _annotate(field: GoField, comments: list[str]) -> None:
    for line in comments:
        match = _ANNOTATION.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "Read Only":
            field.read_only = value == "true"
        elif key == "Required":
            field.required = value == "true"
        elif key == "Enum":
            field.enum = _enum_values(value)
        elif key == "Format":
            field.format = value
        elif key == "Minimum":
            field.minimum = float(value)
        elif key == "Maximum":
            field.maximum = float(value)
        elif key == "Min Length":
            field.min_length = int(value)
        else:
            field.max_length = int(value)


def parse_go(text: str) -> dict[str, GoType]:
    """The named types one Go file declares: structs with their tagged fields, and aliases."""
    types: dict[str, GoType] = {}
    lines = text.splitlines()
    enums = {name: _enum_values(values) for name, values in _TYPE_ENUM.findall(text)}
    preamble: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        match = _TYPE_LINE.match(line)
        if not match:
            preamble = [*preamble, line] if line.startswith(("//", "/*", "*/", "\t", " ")) else []
            continue
        name, rest = match.groups()
        swagger = _SWAGGER_MODEL.search("\n".join(preamble))
        model = swagger.group(1) if swagger else None
        preamble = []
        if rest != "struct {":
            types[name] = GoType(name, model, None, alias=rest, enum=enums.get(name))
            continue
        fields: list[GoField] = []
        comments: list[str] = []
        while index < len(lines) and lines[index] != "}":
            body = lines[index]
            index += 1
            if body.strip().startswith("//"):
                comments.append(body)
                continue
            tagged = _FIELD_LINE.match(body)
            if tagged and tagged.group(3) != "-":
                field = GoField(tagged.group(3), tagged.group(2))
                _annotate(field, comments)
                fields.append(field)
            comments = []
        types[name] = GoType(name, model, fields)
    return types


class Types:
    """Go types by package: ``models`` and each client package's own (inline bodies)."""

    def __init__(self, models: Mapping[str, GoType]) -> None:
        self.models = dict(models)
        self.local: dict[str, dict[str, GoType]] = {}

    def add_local(self, package: str, types: Mapping[str, GoType]) -> None:
        self.local.setdefault(package, {}).update(types)

    def find(self, name: str, package: str) -> tuple[GoType, str] | None:
        """The type ``name`` means inside ``package`` ("models" or a client package)."""
        if name.startswith("models."):
            name, package = name[len("models.") :], "models"
        if package != "models" and name in self.local.get(package, {}):
            return self.local[package][name], package
        found = self.models.get(name)
        return (found, "models") if found is not None else None


# --- leaves ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Leaf:
    name: str
    type: str
    is_list: bool
    in_list: str | None
    enum: tuple[str, ...] | None
    minimum: float | None
    maximum: float | None
    min_length: int | None
    max_length: int | None
    get: bool = False
    post: bool = False
    patch: bool = False


@dataclasses.dataclass
class Walked:
    """A model flattened: leaves with whether each is writable, and its object fields."""

    leaves: dict[str, tuple[Leaf, bool, str | None]]  # name -> (leaf, writable, format)
    objects: dict[str, str]  # dotted object field -> its Go type
    required: list[str]
    cuts: list[str]


def _strip(go_type: str) -> tuple[str, bool]:
    """``go_type`` without pointers, and whether it is a slice."""
    is_list = go_type.startswith("[]")
    return go_type.removeprefix("[]").lstrip("*"), is_list


class Walker:
    def __init__(self, types: Types) -> None:
        self.types = types

    def walk(self, model: str, package: str) -> Walked:
        out = Walked({}, {}, [], [])
        found = self.types.find(model, package)
        if found is None:
            raise SystemExit(f"model {model} not found")
        self._visit(found[0], found[1], "", None, False, True, (), out)
        return out

    def _visit(
        self,
        go: GoType,
        package: str,
        prefix: str,
        in_list: str | None,
        read_only: bool,
        required: bool,
        ancestors: tuple[str, ...],
        out: Walked,
    ) -> None:
        for field in go.fields or ():
            name = prefix + field.json
            frozen = read_only or field.read_only or field.json == "_links"
            if field.required and required and not frozen:
                out.required.append(name)
            self._field(
                field, package, name, in_list, frozen, field.required and required, ancestors, out
            )

    def _field(
        self,
        field: GoField,
        package: str,
        name: str,
        in_list: str | None,
        read_only: bool,
        required: bool,
        ancestors: tuple[str, ...],
        out: Walked,
    ) -> None:
        base, is_list = _strip(field.go_type)
        enum = field.enum
        while base not in _GO_SCALARS and not base.startswith("map["):
            found = self.types.find(base, package)
            if found is None:
                raise SystemExit(f"{name}: unknown Go type {field.go_type}")
            go, go_package = found
            if go.fields is not None:
                if len(ancestors) >= MAX_DEPTH or ancestors.count(go.name) >= MAX_RECURSION:
                    out.cuts.append(name)
                    return
                if not go.fields:
                    break  # a free-form object
                self._visit(
                    go,
                    go_package,
                    name + ".",
                    name if is_list else in_list,
                    read_only,
                    required,
                    (*ancestors, go.name),
                    out,
                )
                out.objects.setdefault(name, go.name)
                return
            assert go.alias is not None
            enum = enum or go.enum
            inner, inner_list = _strip(go.alias)
            base, is_list = inner, is_list or inner_list
            package = go_package
        kind = _GO_SCALARS.get(base, "object")
        if kind == "string" and field.format == "date-time":
            kind = "date-time"
        numeric = kind in ("integer", "number")
        leaf = Leaf(
            name=name,
            type=kind,
            is_list=is_list,
            in_list=in_list,
            enum=enum,
            minimum=field.minimum if numeric else None,
            maximum=field.maximum if numeric else None,
            min_length=field.min_length or None if kind == "string" else None,
            max_length=field.max_length if kind == "string" else None,
        )
        out.leaves.setdefault(name, (leaf, not read_only, field.format))


# --- operations -----------------------------------------------------------------------------


@dataclasses.dataclass
class GoOperation:
    stem: str  # client file path without "_responses.go"
    package: str
    method: str
    path: str  # with "/api"
    operation_id: str
    payloads: dict[int, str]  # status -> Go type of the payload
    statuses: tuple[int, ...]
    body: str | None = None
    path_params: list[str] = dataclasses.field(default_factory=list)


_RESPONSE_LINE = re.compile(r'"\[(GET|POST|PATCH|DELETE) ([^\]]+)\]\[%d\] (\w+) ')
_RESPONSE_TYPE = re.compile(r"^type (\w+) struct \{(.*?)^\}", re.S | re.M)
_RESPONSE_STATUS = re.compile(r"case (\d+):\s+result := New(\w+)\(\)")
_PAYLOAD = re.compile(r"^\s+Payload (\S+)", re.M)
_PARAMS_TYPE = re.compile(r"^type \w+Params struct \{(.*?)^\}", re.S | re.M)
_INFO_FIELD = re.compile(r"^\tInfo (\S+)$", re.M)
_PATH_PARAM = re.compile(r'SetPathParam\("([^"]+)"')


def read_operations(path: Path = OPERATIONS_FILE) -> list[tuple[str, str, tuple[int, ...]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["method", "path", "statuses"]:
        raise SystemExit(f"{path}: expected the header 'method<TAB>path<TAB>statuses'")
    ops = []
    for line in lines[1:]:
        method, op_path, statuses = line.split("\t")
        ops.append((method, op_path, tuple(int(s) for s in statuses.split(","))))
    return ops


def unserved_operations() -> list[tuple[str, str, tuple[int, ...]]]:
    """operations.tsv's lines whose path has no resource in ontap_api.json (netapp-ontap's)."""
    data = json.loads(MAIN_FILE.read_text(encoding="utf-8"))
    owners = {path: owner for path, owner in data["paths"]}
    return [op for op in read_operations() if owners.get(op[1]) is None]


def go_operations(git: Git, files: list[str]) -> dict[tuple[str, str], GoOperation]:
    """Every operation of the client, by (method, path), from its ``*_responses.go``."""
    texts = git.read(f for f in files if f.endswith("_responses.go"))
    ops: dict[tuple[str, str], GoOperation] = {}
    for file, text in texts.items():
        first = _RESPONSE_LINE.search(text)
        if first is None:
            continue
        method, path = first.group(1), "/api" + first.group(2)
        readers = {name: int(code) for code, name in _RESPONSE_STATUS.findall(text)}
        payloads = {}
        for type_name, body in _RESPONSE_TYPE.findall(text):
            payload = _PAYLOAD.search(body)
            if type_name in readers and payload:
                payloads[readers[type_name]] = payload.group(1)
        stem = file[: -len("_responses.go")]
        ops[(method, path)] = GoOperation(
            stem=stem,
            package=file.split("/")[-2],
            method=method,
            path=path,
            operation_id=stem.rsplit("/", 1)[-1],
            payloads=payloads,
            statuses=tuple(sorted(readers.values())),
        )
    return ops


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", path)


# --- resources ------------------------------------------------------------------------------


@dataclasses.dataclass
class Resource:
    name: str
    module: str
    collection_path: str
    record_path: str | None
    keys: list[str]
    singleton: bool
    action: bool
    paths: list[str]
    get_models: list[tuple[str, str]]  # (Go type, package)
    post_models: list[tuple[str, str]]
    patch_models: list[tuple[str, str]]
    leaves: dict[str, Leaf] = dataclasses.field(default_factory=dict)
    objects: dict[str, str] = dataclasses.field(default_factory=dict)
    required_post: list[list[str]] = dataclasses.field(default_factory=list)
    references: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    missing: list[str] = dataclasses.field(default_factory=list)
    path_params: list[str] = dataclasses.field(default_factory=list)
    statuses: list[str] = dataclasses.field(default_factory=list)
    depth_cuts: list[str] = dataclasses.field(default_factory=list)
    renamed_keys: list[str] = dataclasses.field(default_factory=list)
    unmatched_references: list[str] = dataclasses.field(default_factory=list)


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.strip("_").split("_"))


_OPERATION_SUFFIX = r"_(collection_get|get|create|modify|delete)$"


def _model_of(payload: str | None, types: Types, package: str) -> tuple[str, str, bool] | None:
    """The record model a payload carries, its package, and whether it is a collection."""
    if payload is None:
        return None
    base, _ = _strip(payload)
    found = types.find(base, package)
    if found is None or found[0].fields is None:
        return None
    go, go_package = found
    records = next((f for f in go.fields or () if f.json == "records"), None)
    if records is not None and records.go_type.startswith("[]"):
        return _strip(records.go_type)[0], go_package, True
    return go.name, go_package, False


def _body_model(op: GoOperation | None, types: Types) -> list[tuple[str, str]]:
    """The model an operation's body carries (``Info *models.X``), if it is an object."""
    if op is None or op.body is None:
        return []
    found = types.find(_strip(op.body)[0], op.package)
    return [(found[0].name, found[1])] if found and found[0].fields is not None else []


def plan_resources(
    unserved: list[tuple[str, str, tuple[int, ...]]],
    client: Mapping[tuple[str, str], GoOperation],
    types: Types,
    taken: set[str],
    report: Report,
) -> tuple[list[Resource], dict[str, str]]:
    """Group the unserved operations' paths into resources; return them and path -> name.

    - a path whose GET payload holds ``records`` is a collection; so is a path taking only a
      POST whose ``/{key}`` child takes a GET (it creates the records the child reads); the
      child is its record path;
    - a path ending in a key, whose GET payload is one object and with no collection above
      it, is a record path whose collection ONTAP does not document;
    - any other path is a singleton; one that takes no GET is an action (a rekey, a restore).
    """
    methods: dict[str, dict[str, GoOperation]] = {}
    for method, path, statuses in unserved:
        op = find_operation(client, method, path)
        if op is None:
            report.missing.append(f"{method} {path}")
            continue
        if sorted(op.path_params) != sorted(_PLACEHOLDER.findall(path)):
            report.path_params.append(f"{method} {path}: {op.path_params}")
        if op.statuses != tuple(sorted(statuses)):
            report.statuses.append(f"{method} {path}: {op.statuses}, tsv {statuses}")
        methods.setdefault(path, {})[method] = op
    paths = list(methods)

    def payload(path: str) -> tuple[str, str, bool] | None:
        op = methods.get(path, {}).get("GET")
        return None if op is None else _model_of(op.payloads.get(200), types, op.package)

    def child(path: str) -> str | None:
        depth = path.count("/") + 1
        return next(
            (
                p
                for p in paths
                if p.startswith(path + "/{") and p.endswith("}") and p.count("/") == depth
            ),
            None,
        )

    def is_collection(path: str) -> bool:
        got = payload(path)
        if got is not None:
            return got[2]
        return "GET" not in methods.get(path, {"GET": None}) and child(path) is not None

    resources: list[Resource] = []
    owner: dict[str, str] = {}
    for path in paths:
        if path in owner:
            continue
        parent = path.rsplit("/", 1)[0]
        singleton = action = False
        if is_collection(path):
            collection, record_path = path, child(path)
        elif path.endswith("}") and is_collection(parent):
            continue  # placed with its collection
        elif path.endswith("}") and payload(path) is not None:
            collection, record_path = parent, path
        else:
            collection, record_path, singleton = path, path, True
            action = "GET" not in methods[path]
        own = [p for p in dict.fromkeys([collection, record_path or collection]) if p in methods]
        get_models: list[tuple[str, str]] = []
        for p in own:
            got = payload(p)
            if got is not None and got[:2] not in get_models:
                get_models.append(got[:2])
        post = [m for p in own for m in _body_model(methods[p].get("POST"), types)]
        # a collection's PATCH body merges the record's and the response's fields (records...)
        patch = _body_model(methods.get(record_path or collection, {}).get("PATCH"), types)
        ops = methods[own[0]]
        first = ops.get("GET") or next(iter(ops.values()))
        module = first.operation_id
        main = (get_models or post or patch)[:1]
        if main and not action:
            found = types.find(*main[0])
            module = (found[0].swagger if found else None) or module
        name = _camel(module)
        if name in taken:  # e.g. two paths listing the same model
            module = re.sub(_OPERATION_SUFFIX, "", first.operation_id)
            name = _camel(module)
        if name in taken:
            raise SystemExit(f"resource name {name} is taken ({own})")
        taken.add(name)
        resources.append(
            Resource(
                name=name,
                module=module,
                collection_path=collection,
                record_path=record_path,
                keys=_PLACEHOLDER.findall(record_path or collection),
                singleton=singleton,
                action=action,
                paths=own,
                get_models=get_models,
                post_models=post,
                patch_models=patch,
            )
        )
        owner.update(dict.fromkeys(own, name))
    return resources, owner


def find_operation(
    client: Mapping[tuple[str, str], GoOperation], method: str, path: str
) -> GoOperation | None:
    """The client's operation for (method, path), its keys spelt as the path's or not."""
    found = client.get((method, path))
    if found is None:
        shape = _shape(path)
        found = next(
            (op for (m, p), op in client.items() if m == method and _shape(p) == shape), None
        )
    return found


def fill_fields(res: Resource, walker: Walker, report: Report) -> None:
    """The resource's leaves: from its GET models, then its POST and PATCH bodies."""
    for method, models in (
        ("get", res.get_models),
        ("post", res.post_models),
        ("patch", res.patch_models),
    ):
        for model, package in models:
            walked = walker.walk(model, package)
            report.depth_cuts += [f"{res.name}: {cut}" for cut in walked.cuts]
            for name, (leaf, writable, fmt) in walked.leaves.items():
                mine = res.leaves.setdefault(name, leaf)
                if method == "get":
                    mine.get = fmt != "password"
                elif writable:
                    setattr(mine, method, True)
            for name, obj in walked.objects.items():
                res.objects.setdefault(name, obj)
            if method == "post":
                for name in walked.required:
                    if not any(
                        n == name or n.startswith(name + ".")
                        for n, (_l, w, _f) in walked.leaves.items()
                        if w
                    ):
                        continue
                    if [name] not in res.required_post:
                        res.required_post.append([name])
    res.leaves = dict(sorted(res.leaves.items()))


def rename_keys(res: Resource, report: Report) -> None:
    """A key spelt like a model field but for underscores takes the field's name; the path
    gives the keys, so none is a required body field."""
    squashed = {name.replace("_", ""): name for name in res.leaves}
    keys = []
    for key in res.keys:
        field = key if key in res.leaves else squashed.get(key.replace("_", ""))
        if field is not None and field != key and field not in res.keys:
            report.renamed_keys.append(f"{res.name}: {{{key}}} is {field}")
            keys.append(field)
        else:
            keys.append(key)
    res.keys = keys
    res.required_post = [group for group in res.required_post if group[0] not in keys]


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(name: str) -> list[str]:
    return re.findall(r"[A-Z][a-z0-9]*", name)


def find_references(
    res: Resource,
    targets: Mapping[str, tuple[str, str, bool]],
    types: Types,
    report: Report,
) -> None:
    """Objects shaped as ONTAP's references to another record, and the resource they name.

    An object is a reference when it holds identifiers only (uuid, name, id) with a ``name``
    or a ``_links`` among them, or its model is a ``<x>_reference``. ``targets`` maps a
    resource's name, lower case, to its name, its last key's leaf and whether it is keyless.
    Candidates, first keyed match that the object identifies wins: ``<x>``; the field's name,
    singular too, then its last word, each after the words of the object holding it, then
    after as many of this resource's leading words as match ("parent_job" of DataEngineJob is
    a DataEngineJob), then alone ("peer_svm" is an Svm).
    """
    mine = _words(res.name)
    for name, go_name in res.objects.items():
        below = {n[len(name) + 1 :].split(".")[0] for n in res.leaves if n.startswith(name + ".")}
        own = below - {"_links"}
        go = types.models.get(go_name)
        swagger = go.swagger if go is not None and go.swagger else ""
        shaped = "_links" in below or "name" in own or swagger.endswith("_reference")
        if not own or not own <= IDENTIFIERS or not shaped:
            continue
        parts = name.split(".")
        last = parts[-1]
        holder = _words(_camel(_singular(parts[-2]))) if len(parts) > 1 else []
        candidates = []
        if swagger.endswith("_reference"):
            candidates.append(_camel(swagger[: -len("_reference")]))
        stems = [_camel(last), _camel(_singular(last)), _camel(_singular(last.rsplit("_", 1)[-1]))]
        for stem in dict.fromkeys(stems):
            for words in (holder, mine):
                candidates += ["".join(words[:i]) + stem for i in range(len(words), 0, -1)]
            candidates.append(stem)
        for candidate in dict.fromkeys(candidates):
            target = targets.get(candidate.lower())
            if target is None or target[2]:
                continue
            if "name" in own or target[1] in own:
                res.references[name] = target[0]
                break
        else:
            report.unmatched_references.append(f"{res.name}: {name} ({go_name})")


# --- compile --------------------------------------------------------------------------------


def compile_extra(directory: Path) -> tuple[dict[str, Any], Report, list[Resource]]:
    git = Git(directory)
    report = Report()
    model_files = git.files(MODELS)
    models: dict[str, GoType] = {}
    for text in git.read(model_files).values():
        models.update(parse_go(text))
    types = Types(models)
    client = go_operations(git, git.files(CLIENT))
    unserved = unserved_operations()
    wanted = [op for m, p, _ in unserved if (op := find_operation(client, m, p)) is not None]
    params = git.read(f"{op.stem}_parameters.go" for op in wanted)
    locals_ = git.read(f"{op.stem}_responses.go" for op in wanted)
    for op in wanted:
        text = params[f"{op.stem}_parameters.go"]
        struct = _PARAMS_TYPE.search(text)
        info = _INFO_FIELD.search(struct.group(1)) if struct else None
        op.body = info.group(1) if info else None
        op.path_params = _PATH_PARAM.findall(text)
        types.add_local(op.package, parse_go(text))
        types.add_local(op.package, parse_go(locals_[f"{op.stem}_responses.go"]))
    main = json.loads(MAIN_FILE.read_text(encoding="utf-8"))
    taken = {row[0] for row in main["resources"]}
    resources, owner = plan_resources(unserved, client, types, taken, report)
    walker = Walker(types)
    for res in resources:
        fill_fields(res, walker, report)
        rename_keys(res, report)
    targets = {
        str(row[0]).lower(): (str(row[0]), _leaf_of(row[4]), bool(row[5]) or not row[4])
        for row in main["resources"]
    }
    targets.update(
        {r.name.lower(): (r.name, _leaf_of(r.keys), r.singleton or not r.keys) for r in resources}
    )
    for res in resources:
        find_references(res, targets, types, report)
    version, version_commit = git.bindings_version()
    data = {
        "format": FORMAT,
        "source": f"NetApp/trident {git.head()[:12]} (go-swagger models of ONTAP's swagger)",
        "repository": REPOSITORY,
        "commit": git.head(),
        "path": REST,
        "license": LICENSE,
        "ontap_version": version,
        "ontap_version_from": f"subject of commit {version_commit}" if version_commit else "",
        "notes": NOTES,
        **_encode(resources),
        "paths": [
            [path, owner[path]]
            for path in dict.fromkeys(p for _, p, _ in unserved)
            if path in owner
        ],
    }
    return data, report, resources


def _leaf_of(keys: list[str]) -> str:
    return keys[-1].rsplit(".", 1)[-1] if keys else ""


def _encode(resources: list[Resource]) -> dict[str, Any]:
    enums: dict[tuple[str, ...], int] = {}
    rows = []
    for res in resources:
        fields = encode_fields(
            (
                LeafRow(
                    leaf.name,
                    leaf.type,
                    (FLAG_LIST if leaf.is_list else 0)
                    | (FLAG_GET if leaf.get else 0)
                    | (FLAG_POST if leaf.post else 0)
                    | (FLAG_PATCH if leaf.patch else 0),
                    leaf.in_list,
                    leaf.enum,
                    leaf.minimum,
                    leaf.maximum,
                    leaf.min_length,
                    leaf.max_length,
                )
                for leaf in res.leaves.values()
            ),
            enums,
        )
        rows.append(
            [
                res.name,
                res.module,
                res.collection_path,
                res.record_path,
                res.keys,
                1 if res.singleton else 0,
                res.required_post,
                dict(sorted(res.references.items())),
                fields,
            ]
        )
    return {"enums": [list(e) for e in enums], "resources": rows}


def print_report(data: Mapping[str, Any], report: Report, resources: list[Resource]) -> None:
    unserved = unserved_operations()
    owners = dict(data["paths"])
    served = [op for op in unserved if op[1] in owners]
    print(f"{data['source']}; describes ONTAP {data['ontap_version'] or '(unknown)'}")
    print(f"operations without a netapp-ontap resource: {len(unserved)}; given one: {len(served)}")
    print(f"resources: {len(resources)}, fields (leaves): {sum(len(r.leaves) for r in resources)}")
    for res in resources:
        kind = "action" if res.action else "singleton" if res.singleton else "collection"
        print(
            f"  {res.name} ({kind}) {res.record_path or res.collection_path} keys={res.keys}"
            f" fields={len(res.leaves)} required={res.required_post}"
            f" references={res.references}"
        )
    sections = [
        ("operations with no Trident operation", report.missing),
        ("operations whose Go path parameters are not the path's", report.path_params),
        ("operations whose Go statuses are not operations.tsv's", report.statuses),
        ("fields cut at the depth limit", report.depth_cuts),
        ("path keys named after a model field", report.renamed_keys),
        ("identifier objects naming no resource", report.unmatched_references),
    ]
    print_sections(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--trident-git",
        type=Path,
        required=True,
        metavar="DIR",
        help="a clone of github.com/NetApp/trident (work tree or git directory)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 if the data file is stale")
    group.add_argument("--report", action="store_true", help="print a summary; write nothing")
    parser.add_argument(
        "--output", type=Path, default=DATA_FILE, help=f"the data file (default: {DATA_FILE})"
    )
    args = parser.parse_args(argv)
    data, report, resources = compile_extra(args.trident_git)
    text = render(data)
    out: Path = args.output
    if args.report:
        print_report(data, report, resources)
        return 0
    return write_or_check(
        out,
        text,
        check=args.check,
        origin="commit",
        rerun="python tools/compile_trident_models.py --trident-git DIR",
    )


if __name__ == "__main__":
    sys.exit(main())
