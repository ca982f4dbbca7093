"""Compile ONTAP's REST API declaration into ``simulator/model/ontap_api.json``.

Reads the installed ``netapp-ontap`` package (its resource classes, marshmallow schemas, per-method
field lists, validators and method docstrings) and ``simulator/model/operations.tsv``, and writes
one compact, deterministic JSON file that ``simulator.model.spec`` loads at run time without
importing netapp-ontap or marshmallow.

    python tools/compile_ontap_api.py            # write the data file
    python tools/compile_ontap_api.py --check    # exit 1 when the file on disk is stale
    python tools/compile_ontap_api.py --report   # a human summary of what was compiled

The data format is private to this script and ``simulator/model/spec.py``: ``FORMAT`` below and
``spec.FORMAT`` change together.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import itertools
import pkgutil
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from datafile import (
    FLAG_EXPENSIVE,
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
DATA_FILE = MODEL_DIR / "ontap_api.json"
OPERATIONS_FILE = MODEL_DIR / "operations.tsv"

FORMAT = 1
MAX_DEPTH = 12
#: How often one schema may nest inside itself (igroups in igroups: ONTAP allows three levels).
MAX_RECURSION = 3

METHODS = ("get", "post", "patch")
METHOD_FLAGS = {"get": FLAG_GET, "post": FLAG_POST, "patch": FLAG_PATCH}
FIELD_LISTS = {"get": "gettable_fields", "post": "postable_fields", "patch": "patchable_fields"}

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_NETAPP_PLACEHOLDER = re.compile(r"\{(\w+)\[(\w+)\]\}")


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
    methods: set[str] = dataclasses.field(default_factory=set)
    expensive: bool = False


@dataclasses.dataclass
class Resource:
    name: str
    module: str
    netapp_path: str
    keys: list[str]
    leaves: dict[str, Leaf]
    objects: dict[str, Any]  # dotted object field -> its nested schema class
    required_post: list[list[str]] = dataclasses.field(default_factory=list)
    references: dict[str, str] = dataclasses.field(default_factory=dict)
    collection_path: str = ""
    record_path: str | None = None
    singleton: bool = False
    has_collection: bool = False


@dataclasses.dataclass
class Report:
    depth_cuts: list[str] = dataclasses.field(default_factory=list)
    bad_entries: list[str] = dataclasses.field(default_factory=list)
    dropped_required: list[str] = dataclasses.field(default_factory=list)
    conditional_required: list[str] = dataclasses.field(default_factory=list)
    unmatched_expensive: list[str] = dataclasses.field(default_factory=list)
    key_mismatches: list[str] = dataclasses.field(default_factory=list)
    shared_paths: list[str] = dataclasses.field(default_factory=list)
    doc_enums: int = 0


# --- netapp-ontap introspection -------------------------------------------------------------


def _resource_classes() -> Iterator[tuple[str, type[Any]]]:
    import netapp_ontap.resources as package
    from netapp_ontap.resource import Resource as Base

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, Base)
            and obj.__module__ == module.__name__
            and getattr(obj, "_path", None)
        ]
        for cls in sorted(found, key=lambda c: c.__name__):
            yield info.name, cls


def _field_docstrings(schema: type[Any], cache: dict[str, dict[str, str]]) -> dict[str, str]:
    """The string literal under each field assignment of a schema class (what pdoc shows)."""
    key = f"{schema.__module__}.{schema.__qualname__}"
    if key not in cache:
        docs: dict[str, str] = {}
        module: ModuleType = sys.modules[schema.__module__]
        tree = ast.parse(inspect.getsource(module))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == schema.__name__:
                body = node.body
                for stmt, nxt in itertools.pairwise(body):
                    if (
                        isinstance(stmt, ast.Assign)
                        and len(stmt.targets) == 1
                        and isinstance(stmt.targets[0], ast.Name)
                        and isinstance(nxt, ast.Expr)
                        and isinstance(nxt.value, ast.Constant)
                        and isinstance(nxt.value.value, str)
                    ):
                        docs[stmt.targets[0].id] = nxt.value.value
        cache[key] = docs
    return cache[key]


def _doc_choices(doc: str) -> tuple[str, ...] | None:
    """The values listed under "Valid choices:" in a field's docstring."""
    marker = doc.find("Valid choices:")
    if marker < 0:
        return None
    choices: list[str] = []
    for line in doc[marker:].splitlines()[1:]:
        line = line.strip()
        if not line:
            if choices:
                break
            continue
        if not line.startswith("* "):
            break
        choices.append(line[2:].split()[0])
    return tuple(choices) or None


def _validators(field: Any) -> dict[str, dict[str, Any]]:
    """netapp-ontap's validators on a field, by kind, with the arguments they closed over."""
    found: dict[str, dict[str, Any]] = {}
    for validator in getattr(field, "validators", ()):
        kind = getattr(validator, "__qualname__", "").split(".")[0]
        closure = getattr(validator, "__closure__", None) or ()
        names = validator.__code__.co_freevars if closure else ()
        found[kind] = {n: c.cell_contents for n, c in zip(names, closure, strict=True)}
    return found


def _scalar_type(field: Any) -> str:
    from marshmallow import fields as mf
    from netapp_ontap.resource import ImpreciseDateTime, Size

    if isinstance(field, (Size, mf.Integer)):
        return "integer"
    if isinstance(field, mf.Number):
        return "number"
    if isinstance(field, mf.Boolean):
        return "boolean"
    if isinstance(field, (ImpreciseDateTime, mf.DateTime)):
        return "date-time"
    if isinstance(field, mf.String):
        return "string"
    if isinstance(field, mf.Dict):
        return "object"
    if isinstance(field, mf.Raw) and type(field) is mf.Raw:
        return "any"
    raise TypeError(f"unsupported field class {type(field).__name__}")


def _nested_schema(field: Any) -> Any:
    nested = field.nested
    return nested() if callable(nested) and not inspect.isclass(nested) else nested


Trie = dict[str, Any]


def _trie(entries: list[str]) -> Trie:
    """Field-list entries as a tree; ``None`` marks an entry that names a whole field."""
    root: Trie = {}
    for entry in entries:
        node = root
        parts = entry.split(".")
        for part in parts[:-1]:
            if part in node and node[part] is None:  # the whole field is already selected
                break
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = None
    return root


class Walker:
    """Expands a schema's per-method field lists into leaves, the way netapp-ontap reads them.

    A dotted entry selects that path; an entry naming a nested field as a whole selects that
    nested schema's own list for the same method, recursively.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self.doc_cache: dict[str, dict[str, str]] = {}

    def walk(self, resource: str, schema: type[Any]) -> tuple[dict[str, Leaf], dict[str, Any]]:
        leaves: dict[str, Leaf] = {}
        objects: dict[str, Any] = {}
        tries = {m: _trie(list(getattr(schema, FIELD_LISTS[m]))) for m in METHODS}
        self._visit(resource, schema, tries, "", None, (), leaves, objects)
        return leaves, objects

    def _visit(
        self,
        resource: str,
        schema: type[Any],
        tries: Mapping[str, Trie],
        prefix: str,
        in_list: str | None,
        ancestors: tuple[type[Any], ...],
        leaves: dict[str, Leaf],
        objects: dict[str, Any],
    ) -> None:
        from marshmallow import fields as mf

        declared = schema._declared_fields
        for method, trie in tries.items():
            for attr in trie:
                if attr not in declared:
                    self.report.bad_entries.append(
                        f"{resource}: {method} entry {prefix}{attr} is not a field"
                    )
        for attr, field in declared.items():
            selected = {m: t[attr] for m, t in tries.items() if attr in t}
            if not selected:
                continue
            name = prefix + (field.data_key or attr)
            inner, is_list = (field.inner, True) if isinstance(field, mf.List) else (field, False)
            if isinstance(inner, mf.Nested):
                nested = _nested_schema(inner)
                if len(ancestors) >= MAX_DEPTH or ancestors.count(nested) >= MAX_RECURSION:
                    self.report.depth_cuts.append(f"{resource}: {name}")
                    continue
                child_tries = {
                    m: _trie(list(getattr(nested, FIELD_LISTS[m]))) if sub is None else sub
                    for m, sub in selected.items()
                }
                objects.setdefault(name, nested)
                self._visit(
                    resource,
                    nested,
                    child_tries,
                    name + ".",
                    name if is_list else in_list,
                    (*ancestors, nested),
                    leaves,
                    objects,
                )
                continue
            for method, sub in selected.items():
                if sub is not None:
                    self.report.bad_entries.append(
                        f"{resource}: {method} entry goes below the scalar {name}"
                    )
            leaf = leaves.get(name)
            if leaf is None:
                leaf = leaves[name] = self._leaf(schema, attr, inner, name, is_list, in_list)
            leaf.methods.update(selected)

    def _leaf(
        self,
        schema: type[Any],
        attr: str,
        field: Any,
        name: str,
        is_list: bool,
        in_list: str | None,
    ) -> Leaf:
        checks = _validators(field)
        enum = checks.get("enum_validation")
        choices = tuple(str(c) for c in enum["choices"]) if enum else None
        if choices is None:
            choices = _doc_choices(_field_docstrings(schema, self.doc_cache).get(attr, ""))
            if choices is not None:
                self.report.doc_enums += 1
        bounds = checks.get("integer_validation", {})
        lengths = checks.get("len_validation", {})
        minimum, maximum = bounds.get("minimum"), bounds.get("maximum")
        min_length = lengths.get("minimum")
        return Leaf(
            name=name,
            type=_scalar_type(field),
            is_list=is_list,
            in_list=in_list,
            enum=choices,
            minimum=None if minimum is None else float(minimum),
            maximum=None if maximum is None else float(maximum),
            min_length=min_length or None,
            max_length=lengths.get("maximum"),
        )


# --- docstrings -----------------------------------------------------------------------------


def _section(doc: str, title: str) -> list[str]:
    match = re.search(rf"^### {re.escape(title)}[ \t]*\n(.*?)(?=^###|^---|\Z)", doc, re.S | re.M)
    return match.group(1).splitlines() if match else []


def _method_doc(cls: type[Any], *names: str) -> str:
    for name in names:
        attr = cls.__dict__.get(name)
        if attr is None:
            continue
        func = attr.__func__ if isinstance(attr, (classmethod, staticmethod)) else attr
        if func.__doc__:
            return str(func.__doc__)
    return ""


#: Bullets under "Required properties" that ONTAP requires only for one kind of record, although
#: the docstring does not word them as conditions (the consistency-group volumes of a SnapMirror
#: relationship between Application Consistency Groups, per ONTAP's own description of them).
_ONLY_SOMETIMES_REQUIRED = frozenset(
    {
        ("SnapmirrorRelationship", "source.consistency_group_volumes"),
        ("SnapmirrorRelationship", "destination.consistency_group_volumes"),
    }
)
_CONDITIONAL = re.compile(r"(?i)\b(required (only )?(when|if)|only required|if|unless)\b")
_BULLET_HEAD = re.compile(r"^\* ((?:`[^`]+`|\s+|,|or\b|and\b|both\b)+)")


def _required_post(cls: type[Any], res: Resource, report: Report) -> list[list[str]]:
    """The groups of alternatives under "### Required properties" that a POST body can carry.

    Only top-level bullets whose head is a list of `field` names count; "a or b" is one group of
    alternatives, "a and b" two groups; a mix of both is kept as one group (never over-strict).
    A bullet whose description sets a condition ("Required when creating a non-clone LUN", "if
    the quota type is user") is left out: a tuple of alternatives cannot say when it applies.
    Names that are not postable, or are keys of the collection's path, are dropped and listed in
    the report.
    """
    lines = _section(_method_doc(cls, "post", "post_collection"), "Required properties")
    if any("not required" in line for line in lines):
        return []
    postable = [n for n, leaf in res.leaves.items() if "post" in leaf.methods]
    path_keys = set(_PLACEHOLDER.findall(res.collection_path))
    groups: list[list[str]] = []
    for line in lines:
        match = _BULLET_HEAD.match(line)
        if not match:
            continue
        head = match.group(1)
        quoted_head = tuple(re.findall(r"`([^`]+)`", head))
        only_sometimes = any((res.name, n) in _ONLY_SOMETIMES_REQUIRED for n in quoted_head)
        if only_sometimes or _CONDITIONAL.search(line[match.end() :]):
            report.conditional_required.append(f"{res.name}: {line[2 : match.end()].strip()}")
            continue
        names = [
            name.replace("[]", "").strip()
            for quoted in re.findall(r"`([^`]+)`", head)
            for name in quoted.split(" or ")
        ]
        words = set(re.findall(r"\b(or|and)\b", re.sub(r"`[^`]+`", "", head)))
        parts = [[n] for n in names] if words == {"and"} else [names]
        for group in parts:
            kept = [
                n
                for n in group
                if n not in path_keys and any(p == n or p.startswith(n + ".") for p in postable)
            ]
            for n in group:
                if n not in kept:
                    report.dropped_required.append(f"{res.name}: {n}")
            if kept and kept not in groups:
                groups.append(kept)
    return groups


def _mark_expensive(cls: type[Any], res: Resource, report: Report) -> None:
    lines = _section(_method_doc(cls, "get_collection", "get"), "Expensive properties")
    for line in lines:
        match = re.match(r"^\* `([^`]+)`", line.strip())
        if not match:
            continue
        pattern = match.group(1)
        base = pattern[:-2] if pattern.endswith(".*") else pattern
        hit = False
        for name, leaf in res.leaves.items():
            if name == base or name.startswith(base + "."):
                leaf.expensive = hit = True
        if not hit:
            report.unmatched_expensive.append(f"{res.name}: {pattern}")


# --- references -----------------------------------------------------------------------------


def _words(name: str) -> list[str]:
    return re.findall(r"[A-Z][a-z0-9]*", name)


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


IDENTIFIERS = frozenset({"name", "uuid", "id"})


def _references(
    res: Resource, by_name: Mapping[str, Resource], schema_owner: Mapping[str, str]
) -> dict[str, str]:
    """Object fields that name another record by its key or name, and that record's resource.

    Candidates, first match wins: the resource whose schema the field nests; the resource named
    after the field, with the owner's leading words first ("policy" of ExportRule ->
    ExportPolicy), singular too ("aggregates" -> Aggregate); the field's last word
    ("parent_volume" -> Volume). A candidate counts when it is a collection whose records the
    object identifies (it carries ``name`` or the target's own key), and, for a top-level field,
    is not a sub-collection of this resource's own records. An object that takes anything but
    identifiers in a POST or PATCH is an embedded record (an export policy's ``rules``), not a
    reference.
    """
    refs: dict[str, str] = {}
    owner_words = _words(res.name)
    own_shape = _shape(res.record_path) + "/" if res.record_path else None
    embedded: list[str] = []
    for name, schema in res.objects.items():
        if any(name.startswith(e + ".") for e in embedded):
            continue
        below = {
            leaf[len(name) + 1 :]: v
            for leaf, v in res.leaves.items()
            if leaf.startswith(name + ".")
        }
        attrs = {a for a in below if "." not in a}
        writable = {
            a.split(".")[0]
            for a, leaf in below.items()
            if leaf.methods & {"post", "patch"} and not a.startswith("_links")
        }
        candidates = []
        owner = schema_owner.get(f"{schema.__module__}.{schema.__name__}")
        if owner:
            candidates.append(owner)
        last = name.rsplit(".", 1)[-1]
        for stem in dict.fromkeys([_camel(last), _camel(_singular(last))]):
            candidates += ["".join(owner_words[:i]) + stem for i in range(len(owner_words), -1, -1)]
        candidates.append(_camel(_singular(last.rsplit("_", 1)[-1])))
        for candidate in candidates:
            target = by_name.get(candidate)
            if target is None or target.singleton or not target.keys:
                continue
            own_key = target.keys[-1].rsplit(".", 1)[-1]
            if "name" not in attrs and own_key not in attrs:
                continue
            if writable - IDENTIFIERS - {own_key}:
                embedded.append(name)
                break
            if (
                "." not in name
                and own_shape is not None
                and _shape(target.collection_path).startswith(own_shape)
            ):
                continue
            refs[name] = target.name
            break
    return refs


# --- paths ----------------------------------------------------------------------------------


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", path)


def read_operations(path: Path = OPERATIONS_FILE) -> list[tuple[str, str, tuple[int, ...]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["method", "path", "statuses"]:
        raise SystemExit(f"{path}: expected the header 'method<TAB>path<TAB>statuses'")
    ops = []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != 3:
            raise SystemExit(f"{path}:{number}: expected 3 tab-separated columns")
        method, op_path, statuses = parts
        ops.append((method, op_path, tuple(int(s) for s in statuses.split(","))))
    return ops


def _place(
    resources: list[Resource], ops: list[tuple[str, str, tuple[int, ...]]], report: Report
) -> dict[str, str]:
    """Set each resource's paths (in operations.tsv's spelling) and return path -> resource.

    A path matches a resource's path when both name the same segments, whatever their keys are
    called (operations.tsv spells some parent keys ``{uuid}``, netapp-ontap ``{node[uuid]}``).
    """
    by_shape: dict[str, list[str]] = {}
    for _method, path, _statuses in ops:
        spellings = by_shape.setdefault(_shape(path), [])
        if path not in spellings:
            spellings.append(path)

    def in_tsv(path: str) -> str | None:
        spellings = by_shape.get(_shape(path), [])
        return path if path in spellings else next(iter(spellings), None)

    owner_by_shape: dict[str, str] = {}
    for res in resources:
        own = _NETAPP_PLACEHOLDER.sub(r"{\1.\2}", res.netapp_path)
        in_path = _PLACEHOLDER.findall(own)
        extra = [k for k in res.keys if k not in in_path]
        record = own + "".join(f"/{{{k}}}" for k in extra)
        collection = in_tsv(own)
        res.collection_path = collection or own
        res.singleton = not extra and not res.has_collection
        if res.singleton:
            res.record_path = collection
        elif extra:
            res.record_path = in_tsv(record)
        else:
            res.record_path = None  # a collection whose records have no key of their own
        if in_path + extra != res.keys:
            report.key_mismatches.append(f"{res.name}: keys {res.keys} vs path {record}")
        for path in dict.fromkeys(p for p in (res.collection_path, res.record_path) if p):
            shape = _shape(path)
            if owner_by_shape.setdefault(shape, res.name) != res.name:
                report.shared_paths.append(f"{path}: {owner_by_shape[shape]}, {res.name}")
    return {
        path: owner_by_shape[shape]
        for shape, spellings in by_shape.items()
        if shape in owner_by_shape
        for path in spellings
    }


# --- compile --------------------------------------------------------------------------------


def compile_api() -> tuple[dict[str, Any], Report, list[Resource], dict[str, str]]:
    import netapp_ontap

    report = Report()
    walker = Walker(report)
    resources: list[Resource] = []
    classes: dict[str, type[Any]] = {}
    for module, cls in _resource_classes():
        leaves, objects = walker.walk(cls.__name__, cls._schema)
        resources.append(
            Resource(
                name=cls.__name__,
                module=module,
                netapp_path=cls._path,
                keys=list(cls._keys),
                leaves=leaves,
                objects=objects,
                has_collection="get_collection" in vars(cls),
            )
        )
        classes[cls.__name__] = cls
    ops = read_operations()
    path_owner = _place(resources, ops, report)
    by_name = {r.name: r for r in resources}
    schema_owner = {
        f"{cls._schema.__module__}.{cls._schema.__name__}": name for name, cls in classes.items()
    }
    for res in resources:
        cls = classes[res.name]
        res.required_post = _required_post(cls, res, report)
        _mark_expensive(cls, res, report)
        res.references = _references(res, by_name, schema_owner)

    enums: dict[tuple[str, ...], int] = {}
    out_resources = []
    for res in resources:
        fields = encode_fields(
            (
                LeafRow(
                    leaf.name,
                    leaf.type,
                    (FLAG_LIST if leaf.is_list else 0)
                    | (FLAG_EXPENSIVE if leaf.expensive else 0)
                    | sum(METHOD_FLAGS[m] for m in set(leaf.methods)),
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
        out_resources.append(
            [
                res.name,
                res.module,
                res.collection_path,
                res.record_path,
                res.keys,
                1 if res.singleton else 0,
                res.required_post,
                res.references,
                fields,
            ]
        )
    paths: dict[str, int] = {}
    out_paths: list[list[Any]] = []
    out_ops: list[list[Any]] = []
    for method, path, statuses in ops:
        if path not in paths:
            paths[path] = len(paths)
            out_paths.append([path, path_owner.get(path)])
        out_ops.append([paths[path], method, list(statuses)])
    data = {
        "format": FORMAT,
        "ontap_version": ".".join(netapp_ontap.__version__.split(".")[:3]),
        "source": f"netapp-ontap {netapp_ontap.__version__}",
        "enums": [list(e) for e in enums],
        "resources": out_resources,
        "paths": out_paths,
        "operations": out_ops,
    }
    return data, report, resources, path_owner


def print_report(
    data: Mapping[str, Any],
    report: Report,
    resources: list[Resource],
    path_owner: Mapping[str, str],
) -> None:
    ops = read_operations()
    leaves = sum(len(r.leaves) for r in resources)
    print(f"{data['source']} (ONTAP {data['ontap_version']})")
    print(f"resources: {len(resources)}, fields (leaves): {leaves}")
    print(f"enums: {len(data['enums'])} distinct; {report.doc_enums} leaves from field docstrings")
    print(f"references: {sum(len(r.references) for r in resources)}")
    served = [op for op in ops if op[1] in path_owner]
    paths = list(dict.fromkeys(op[1] for op in ops))
    unmatched = [p for p in paths if p not in path_owner]
    print(
        f"operations with a resource: {len(served)}/{len(ops)}"
        f" ({100 * len(served) / len(ops):.1f}%);"
        f" paths: {len(paths) - len(unmatched)}/{len(paths)}"
    )
    no_tsv = [r for r in resources if r.collection_path not in paths and r.record_path is None]
    sections: list[tuple[str, list[str]]] = [
        ("tsv paths with no resource", unmatched),
        ("resources with no path in operations.tsv", [r.name for r in no_tsv]),
        ("fields cut at the depth limit", report.depth_cuts),
        ("field-list entries that name no field", report.bad_entries),
        ("required properties dropped (not postable, or a path key)", report.dropped_required),
        ("required properties left out as conditional", report.conditional_required),
        ("expensive properties matching no field", report.unmatched_expensive),
        ("keys not matching the path", report.key_mismatches),
        ("paths claimed by two resources (first kept)", report.shared_paths),
    ]
    print_sections(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 if the data file is stale")
    group.add_argument("--report", action="store_true", help="print a summary; write nothing")
    parser.add_argument(
        "--output", type=Path, default=DATA_FILE, help=f"the data file (default: {DATA_FILE})"
    )
    args = parser.parse_args(argv)
    out: Path = args.output
    data, report, resources, path_owner = compile_api()
    text = render(data)
    if args.report:
        print_report(data, report, resources, path_owner)
        return 0
    return write_or_check(
        out, text, check=args.check, origin="source", rerun="python tools/compile_ontap_api.py"
    )


if __name__ == "__main__":
    sys.exit(main())
