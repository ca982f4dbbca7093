"""The OpenAPI 3.0 document of everything a :class:`~simulator.Simulator` serves.

Served at ``GET /simulator/openapi.json``. The ONTAP part is generated from the compiled
declaration (:func:`simulator.model.spec.load_spec`), the same data that routes, validates and
renders requests, so the document cannot drift from the simulator: every operation of
operations.tsv with the statuses it lists, a record schema per resource built from its declared
fields (readOnly where no write takes a field, writeOnly where no GET returns it), POST and PATCH
bodies holding only what each method takes, and the query language every GET takes. Written by
hand, because no declaration has them: the error body, the job link, the job actions
(``PATCH /api/cluster/jobs/{uuid}?action=``), and the ``/simulator/...`` control API.

Paths are written in full (``/api/storage/volumes``, ``/simulator/reset``; the server URL is
``/``). One rename: path variables spell their dots as underscores (``{volume_uuid}`` where
ONTAP writes ``{volume.uuid}``), which tools expanding templates as format strings need.

What depends on the declaration only (2.7 MB of JSON) is built once, on first use (1.5 s on a
loaded machine), and kept as text; each call parses a fresh copy (0.1 s) and adds what depends
on the simulator: examples of path variables (the keys of records it holds) and a scenario's
extra asynchronous endpoints.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .board import JOBS_PAGE_MAX, JOURNAL_PAGE_MAX, STATIC_FILES
from .faults import FAULT_KINDS, MALFORMED_MODES
from .jobs import STATES
from .model.spec import FieldSpec, Operation, ResourceSpec, load_spec
from .model.store import path_variables

if TYPE_CHECKING:
    from .sim import Simulator

__all__ = ["OPENAPI_VERSION", "build_openapi", "doc_path"]

OPENAPI_VERSION = "3.0.3"
Schema = dict[str, Any]

_MEDIA_TYPES = ("application/json", "application/hal+json")
_GLOB = re.compile(r"[*?\[\]]")
_VARIABLE = re.compile(r"\{([^}]+)\}")


def doc_path(template: str) -> str:
    """The document's spelling of a path template: ``{volume.uuid}`` becomes ``{volume_uuid}``."""
    return _VARIABLE.sub(lambda m: "{" + m.group(1).replace(".", "_") + "}", template)


# -- small helpers -----------------------------------------------------------------------------
def _ref(name: str, section: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{section}/{name}"}


def _object(required: Iterable[str] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def _integer(minimum: int | None = None, maximum: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _content(schema: Schema) -> Schema:
    """Answers are HAL by default, plain JSON when the client asks for it."""
    return {media: {"schema": schema} for media in _MEDIA_TYPES}


def _answer(description: str, schema: Schema | None = None, **headers: Schema) -> Schema:
    response: Schema = {"description": description}
    if schema is not None:
        response["content"] = _content(schema)
    if headers:
        response["headers"] = {
            name.replace("_", "-"): {"schema": value} for name, value in headers.items()
        }
    return response


def _request(schema: Schema, *, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


def _csv(name: str, items: Schema, description: str) -> Schema:
    return _query(name, _array(items), description, style="form", explode=False)


def _path_param(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _string(),
        "description": description,
    }


# -- what no declaration holds -----------------------------------------------------------------
_COMMON: dict[str, Schema] = {
    "href": _object(href=_string(example="/api/resourcelink")),
    "self_link": _object(self=_ref("href")),
    "collection_links": _object(self=_ref("href"), next=_ref("href")),
    "job_link": _object(
        uuid=_string(format="uuid", example="1cd8a442-86d1-11e0-ae1c-123478563412"),
        _links=_ref("self_link"),
    ),
    "job_link_response": _object(["job"], job=_ref("job_link")),
    "write_response": _object(job=_ref("job_link")),
    "error_arguments": _object(code=_string(), message=_string()),
    "returned_error": _object(
        message=_string(example="entry doesn't exist"),
        code=_string(example="4", description="A string, unlike a job's integer code"),
        target=_string(example="uuid"),
        arguments=_array(_ref("error_arguments")),
    ),
    "error_response": _object(["error"], error=_ref("returned_error")),
}

_FILTER_SYNTAX = (
    "ONTAP's query syntax: a|b (either), !x (not), * and ? wildcards, <n, >n, <=n, >=n, "
    "lo..hi (range), null and !null. A filter on a field a record has no value for matches "
    "nothing."
)

_PARAMETERS: dict[str, Schema] = {
    "max_records": _query("max_records", _integer(0), "Limit the number of records returned."),
    "return_records": _query(
        "return_records",
        {"type": "boolean", "default": True},
        "The default is true for GET calls. When set to false, only the number of records "
        "is returned.",
    ),
    "collection_return_timeout": _query(
        "return_timeout",
        _integer(0, 120, default=15),
        "The number of seconds to allow the call to execute before returning. When iterating "
        "over a collection, the default is 15 seconds.",
    ),
    "write_return_timeout": _query(
        "return_timeout",
        _integer(0, 120, default=0),
        "The number of seconds to allow the call to execute before returning. On a write "
        "that runs as a job the default is 0: the answer is 202 with a job link. A job done "
        "in time answers 201 (POST) or 200.",
    ),
    "write_return_records": _query(
        "return_records",
        {"type": "boolean", "default": False},
        "The default is false. If set to true, a POST returns the records it creates.",
    ),
    "order_by": _csv(
        "order_by",
        _string(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*( (asc|desc))?$"),
        "Order results by specified fields and optional [asc|desc] direction. Default "
        "direction is 'asc' for ascending. A name that is no field of the resource is "
        'refused (400, code "262268").',
    ),
    "continue_on_failure": _query(
        "continue_on_failure",
        {"type": "boolean", "default": False},
        "Continue with the next matching record when one fails.",
    ),
    "filters": _query(
        "filters",
        {"type": "object", "additionalProperties": {"type": "string"}},
        "Field filters, each a query argument of its own named by a field of the resource "
        f"(any name its fields parameter takes, e.g. svm.name=vs1). {_FILTER_SYNTAX}",
        style="form",
        explode=True,
    ),
    "serial_records": _query(
        "serial_records",
        {"type": "boolean", "default": False},
        "Apply the change to the matching records one at a time.",
    ),
}

_RESPONSES: dict[str, Schema] = {
    "error": _answer(
        "An ONTAP error, as ONTAP documents its errors on every operation. 400: an invalid "
        'value or field (code "2", target naming it), a bad query argument ("262197", '
        '"262268") or invalid JSON ("262199"); 401: bad or missing credentials; 404: no such '
        'record (code "4") or an unexpected argument ("262179"); 405 (with Allow): a method '
        'the path does not take; 409: a duplicate entry (code "1") or a conflict with the '
        "state of the system; 413: a body over 1 MiB; a job that failed within "
        "return_timeout: its message and code (400 unless scripted otherwise); faults: any "
        "status, 429 and 503 with Retry-After.",
        _ref("error_response"),
    ),
    "job_accepted": _answer(
        "Accepted: the job is still running; poll its link", _ref("job_link_response")
    ),
    "written": _answer(
        "OK: done (the job link when it ran as a job that ended within return_timeout)",
        _ref("write_response"),
    ),
}


_ERRORS = {"default": _ref("error", "responses")}


# -- a resource's schemas, from its declared leaves --------------------------------------------
_TYPES: Mapping[str, Schema] = {
    "string": {"type": "string"},
    "date-time": {"type": "string", "format": "date-time"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
    "any": {},
}


def _number(value: float, kind: str) -> float | int:
    return int(value) if kind == "integer" and float(value).is_integer() else value


def _leaf(spec: FieldSpec, *, marks: bool) -> Schema:
    """One declared leaf: its type, enum, bounds (and readOnly/writeOnly when ``marks``)."""
    schema: Schema = dict(_TYPES[spec.type])
    if spec.enum is not None:
        if spec.type in ("string", "date-time"):
            schema["enum"] = list(spec.enum)
        elif spec.type == "integer" and all(v.lstrip("-").isdigit() for v in spec.enum):
            schema["enum"] = [int(v) for v in spec.enum]
    if spec.minimum is not None:
        schema["minimum"] = _number(spec.minimum, spec.type)
    if spec.maximum is not None:
        schema["maximum"] = _number(spec.maximum, spec.type)
    if spec.min_length is not None:
        schema["minLength"] = spec.min_length
    if spec.max_length is not None:
        schema["maxLength"] = spec.max_length
    if spec.is_list:
        schema = _array(schema)
    if marks:
        if not spec.post and not spec.patch:
            schema["readOnly"] = True
        elif not spec.get:
            schema["writeOnly"] = True
    return schema


def _list_prefixes(resource: ResourceSpec) -> frozenset[str]:
    return frozenset(spec.in_list for spec in resource.fields.values() if spec.in_list)


def _tree(
    leaves: Iterable[FieldSpec], lists: frozenset[str], *, marks: bool, closed: bool
) -> Schema:
    """Nested objects from dotted leaves; arrays of objects where a prefix is a list.

    ``closed`` forbids properties the leaves do not name (request bodies: the simulator refuses
    an unknown field).
    """
    root: Schema = {"type": "object", "properties": {}}
    objects: dict[str, Schema] = {"": root}

    def node(prefix: str) -> Schema:
        found = objects.get(prefix)
        if found is None:
            parent_name, _, name = prefix.rpartition(".")
            parent = node(parent_name)
            found = {"type": "object", "properties": {}}
            if closed:
                found["additionalProperties"] = False
            objects[prefix] = found
            parent["properties"][name] = _array(found) if prefix in lists else found
        return found

    if closed:
        root["additionalProperties"] = False
    for spec in leaves:
        parent_name, _, name = spec.name.rpartition(".")
        node(parent_name)["properties"][name] = _leaf(spec, marks=marks)
    return root


def _requirement(groups: Sequence[Sequence[str]], lists: frozenset[str]) -> list[Schema]:
    """``required_post`` as schemas: a group of alternatives becomes ``required`` (one
    alternative) or ``anyOf`` of them, nested through objects, stopping at a list."""

    def need(alternatives: list[list[str]], prefix: str) -> Schema:
        heads = list(dict.fromkeys(alt[0] for alt in alternatives))
        if len(heads) > 1:
            return {"anyOf": [need([a for a in alternatives if a[0] == h], prefix) for h in heads]}
        head = heads[0]
        schema: Schema = {"required": [head]}
        here = prefix + head
        rests = [alt[1:] for alt in alternatives]
        if all(rests) and here not in lists:
            schema["properties"] = {head: need(rests, here + ".")}
        return schema

    return [need([name.split(".") for name in group], "") for group in groups]


# -- the ONTAP operations ------------------------------------------------------------------
_SINGULAR = {"GET": "get", "POST": "create", "PATCH": "modify", "DELETE": "delete"}


class _OntapBuilder:
    """The declaration's operations as paths, and the components they name."""

    def __init__(self) -> None:
        self.spec = load_spec()
        self.schemas: dict[str, Schema] = dict(_COMMON)
        self.parameters: dict[str, Schema] = dict(_PARAMETERS)
        self.responses: dict[str, Schema] = dict(_RESPONSES)
        self.paths: dict[str, dict[str, Any]] = {}
        self.operation_ids: set[str] = set()

    # -- components, each built once -----------------------------------------------------
    def record(self, resource: ResourceSpec) -> str:
        name = resource.module
        if name not in self.schemas:
            shown = (f for f in resource.fields.values() if f.get or f.post or f.patch)
            self.schemas[name] = _tree(shown, _list_prefixes(resource), marks=True, closed=False)
        return name

    def body(self, resource: ResourceSpec, method: str) -> str:
        name = f"{resource.module}_{method}"
        if name not in self.schemas:
            takes = (
                f for f in resource.fields.values() if (f.post if method == "post" else f.patch)
            )
            self.schemas[name] = _tree(takes, _list_prefixes(resource), marks=False, closed=True)
        return name

    def fields_param(self, resource: ResourceSpec) -> Schema:
        """``fields``: an enum of what a GET returns (``order_by`` and filters take the same).

        ``_links`` are left out: they come with the object they belong to.
        """
        name = f"{resource.module}_fields"
        if name not in self.parameters:
            names = [
                f.name
                for f in resource.fields.values()
                if f.get and not f.name.startswith("_links.") and "._links." not in f.name
            ]
            self.parameters[name] = _csv(
                "fields",
                {"type": "string", "enum": ["*", "**", *names]},
                "The fields to return besides the keys: * for all but the expensive ones, ** "
                "for all.",
            )
        return _ref(name, "parameters")

    def read_response(self, resource: ResourceSpec, is_record: bool) -> Schema:
        name = resource.module if is_record else f"{resource.module}_collection"
        if name not in self.responses:
            schema = _ref(self.record(resource))
            if not is_record:
                schema = _object(
                    ["num_records"],
                    records=_array(schema),
                    num_records=_integer(0, description="Number of records"),
                    _links=_ref("collection_links"),
                )
            self.responses[name] = _answer("OK", schema)
        return _ref(name, "responses")

    def post_response(self, resource: ResourceSpec, status: int) -> Schema:
        """A POST's answer: the job link (when it runs as a job), the records it creates
        (with ``return_records=true``), ``Location`` when it creates one."""
        name = f"{resource.module}_post_{status}"
        if name not in self.responses:
            answer = f"{resource.module}_post_response"
            self.schemas[answer] = _object(
                job=_ref("job_link"),
                num_records=_integer(0),
                records=_array(_ref(self.record(resource))),
            )
            schema = _ref(answer)
            text = "OK"
            if status == 201:
                text = "Created (the job link when it ran as a job that ended in time)"
            elif status == 202:
                text = "Accepted: the job is still running; poll its link"
                schema = {"allOf": [schema], "required": ["job"]}
            headers = {} if resource.singleton else {"Location": _string()}
            self.responses[name] = _answer(text, schema, **headers)
        return _ref(name, "responses")

    # -- operations --------------------------------------------------------------------
    def operation_id(self, resource: ResourceSpec, op: Operation, is_record: bool) -> str:
        verb = _SINGULAR[op.method]
        if not is_record and op.method != "POST":
            verb = "collection_get" if op.method == "GET" else f"{verb}_collection"
        base = f"{resource.module}_{verb}"
        candidate, n = base, 2
        while candidate in self.operation_ids:
            candidate, n = f"{base}_{n}", n + 1
        self.operation_ids.add(candidate)
        return candidate

    def add(self, op: Operation) -> None:
        assert op.resource is not None
        resource = self.spec.resources[op.resource]
        variables = path_variables(op.path)
        record_path = resource.record_path
        is_record = resource.singleton or (
            record_path is not None and len(path_variables(record_path)) == len(variables)
        )
        item = self.paths.setdefault(doc_path(op.path), {})
        if variables and "parameters" not in item:
            item["parameters"] = [
                _path_param(v.replace(".", "_"), f"ONTAP's {v}") for v in variables
            ]
        operation: Schema = {
            "tags": [op.path.split("/")[2]],
            "operationId": self.operation_id(resource, op, is_record),
        }
        if op.is_async:
            operation["description"] = (
                "Runs as a job: 202 with a job link unless the job ends within return_timeout."
            )
        if op.method == "GET":
            self.read(operation, resource, is_record)
        else:
            self.write(operation, resource, op, is_record, len(variables))
        item[op.method.lower()] = operation

    def read(self, operation: Schema, resource: ResourceSpec, is_record: bool) -> None:
        params = [self.fields_param(resource)]
        if not is_record:
            params += [
                _ref(name, "parameters")
                for name in (
                    "max_records",
                    "return_records",
                    "collection_return_timeout",
                    "order_by",
                    "filters",
                )
            ]
        operation["parameters"] = params
        operation["responses"] = {
            "200": self.read_response(resource, is_record),
            **_ERRORS,
        }

    def write(
        self,
        operation: Schema,
        resource: ResourceSpec,
        op: Operation,
        is_record: bool,
        given: int,
    ) -> None:
        names = ["write_return_timeout", "write_return_records"]
        if op.method != "POST" and not is_record:
            names += ["continue_on_failure", "serial_records", "filters"]
            operation["description"] = (
                operation.get("description", "") + " The query (field filters, at least one) "
                "selects the records; one job for the lot."
            ).strip()
        operation["parameters"] = [_ref(name, "parameters") for name in names]
        if op.method == "POST":
            schema: Schema = _ref(self.body(resource, "post"))
            keys = set(resource.keys[:given])
            takes = [n for n, f in resource.fields.items() if f.post]
            groups = [
                [a for a in group if any(n == a or n.startswith(a + ".") for n in takes)]
                for group in resource.required_post
                if not keys & set(group)
            ]
            needs = _requirement([g for g in groups if g], _list_prefixes(resource))
            if needs:
                schema = {"allOf": [schema, *needs]}
            operation["requestBody"] = _request(schema)
            answers = {str(s): self.post_response(resource, s) for s in op.statuses}
        else:
            if op.method == "PATCH":
                body = _ref(self.body(resource, "patch"))
                operation["requestBody"] = _request(body)
            answers = {
                str(s): _ref("job_accepted" if s == 202 else "written", "responses")
                for s in op.statuses
            }
        operation["responses"] = {**answers, **_ERRORS}

    def job_actions(self) -> None:
        """``PATCH /api/cluster/jobs[/{uuid}]`` takes no body but ``action`` in the query."""
        action = _query(
            "action",
            {"type": "string", "enum": ["pause", "resume", "cancel"]},
            "The action to take on the job.",
            required=True,
        )
        selection = [
            _ref(name, "parameters")
            for name in ("continue_on_failure", "serial_records", "filters")
        ]
        counted = _answer("OK", _object(["num_records"], num_records=_integer(0)))
        for path, summary, description, parameters, done in (
            (
                "/api/cluster/jobs/{uuid}",
                "Pauses, resumes or cancels a job",
                'Refusals: "458762" already terminal, "458776" not running (or not paused), '
                '"458783" no pause, "458784" no cancel.',
                [action],
                {"description": "OK"},
            ),
            (
                "/api/cluster/jobs",
                "Pauses, resumes or cancels the jobs the query selects",
                "The field filters (at least one) select the retained jobs; the action applies "
                "to each. A job that refuses it ends the request with its error (as for one "
                "job) unless continue_on_failure is true. Answers how many jobs took the action.",
                [action, *selection],
                counted,
            ),
        ):
            operation = self.paths[path]["patch"]
            operation.pop("requestBody", None)
            operation["summary"] = summary
            operation["description"] = description
            operation["parameters"] = parameters
            operation["responses"] = {"200": done, **_ERRORS}

    def build(self) -> None:
        for op in self.spec.operations:
            self.add(op)
        self.job_actions()
        self.schemas = _share(self.schemas)


def _share(schemas: dict[str, Schema], least: int = 80) -> dict[str, Schema]:
    """``schemas`` with every object schema that occurs twice or more (and is at least
    ``least`` characters of JSON) made a component of its own and referred to: the dotted
    leaves give each resource its own copy of ``svm``, ``_links``, ... otherwise."""
    canon: dict[int, str] = {}
    counts: dict[str, int] = {}
    first_seen: dict[str, tuple[str, Schema]] = {}

    def key(node: Any, under: str) -> str:
        if isinstance(node, dict):
            text = "{" + ",".join(
                f"{json.dumps(k)}:{key(v, under if k == 'items' else k)}"
                for k, v in sorted(node.items())
            )
            text += "}"
            if node.get("type") == "object" and node.get("properties"):
                canon[id(node)] = text
                counts[text] = counts.get(text, 0) + 1
                first_seen.setdefault(text, (under, node))
            return text
        if isinstance(node, list):
            return "[" + ",".join(key(v, under) for v in node) + "]"
        return json.dumps(node)

    for name, schema in schemas.items():
        key(schema, name)
    names: dict[str, str] = {}
    taken = set(schemas)
    for text, count in counts.items():
        if count < 2 or len(text) < least:
            continue
        base = "shared." + first_seen[text][0].strip("_")
        name, n = base, 2
        while name in taken:
            name, n = f"{base}.{n}", n + 1
        taken.add(name)
        names[text] = name

    def rewrite(node: Any, top: bool) -> Any:
        if isinstance(node, dict):
            text = canon.get(id(node))
            if not top and text in names:
                return _ref(names[text])
            return {k: rewrite(v, False) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v, False) for v in node]
        return node

    out = {name: rewrite(schema, True) for name, schema in schemas.items()}
    for text, name in names.items():
        out[name] = rewrite(first_seen[text][1], True)
    return out


# -- the control API -------------------------------------------------------------------------
def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _control_schemas() -> dict[str, Schema]:
    http_error = _integer(400, 599)
    step = _object(
        ["state"],
        state={"type": "string", "enum": list(STATES)},
        seconds={"type": "number", "minimum": 0},
        polls=_integer(1),
        message=_string(),
        code=_integer(),
        status=http_error,
    )
    step["additionalProperties"] = False
    script_fields: dict[str, Schema] = {
        "steps": _array(_ref("sim_step"), minItems=1),
        "pausable": {"type": "boolean", "default": True},
        "cancellable": {"type": "boolean", "default": True},
        "on_cancel": _ref("sim_step"),
        "status": http_error,
    }
    rule_fields: dict[str, Schema] = {
        "method": _string(),
        "path": _string(description="A glob, e.g. /api/storage/volumes/*"),
        "times": _nullable(_integer(1, description="null: every matching request")),
    }
    counted = {
        "id": _integer(),
        "hits": _integer(0),
        "times": _nullable(_integer(0, description="Uses left; null: no limit")),
    }
    script_in = _object(["method", "path", "steps"], **rule_fields, **script_fields)
    script_in["properties"]["method"] = {"type": "string", "enum": ["POST", "PATCH", "DELETE", "*"]}
    script_in["additionalProperties"] = False
    fault_fields: dict[str, Schema] = {
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": _nullable(_integer()),
        "after": _integer(0),
        "status": http_error,
        "retry_after": {"type": "number", "minimum": 0, "maximum": 86400},
        "message": _string(),
        "code": _string(),
        "target": _string(),
        "delay": {"type": "number", "minimum": 0, "maximum": 3600},
        "drop": {"type": "boolean"},
        "malformed": {
            "oneOf": [{"type": "boolean"}, {"type": "string", "enum": list(MALFORMED_MODES)}]
        },
        "vanish": {"type": "boolean"},
    }
    fault_in = _object(**rule_fields, **fault_fields)
    fault_in["properties"]["method"] = {
        "type": "string",
        "enum": ["*", "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"],
    }
    fault_in["description"] = "Exactly one of " + ", ".join(FAULT_KINDS) + " names the kind."
    fault_in["additionalProperties"] = False
    journal_entry = _object(
        method=_string(),
        path=_string(),
        query={"type": "object", "additionalProperties": _string()},
        status=_nullable(_integer(description="null: the connection was dropped")),
        time={"type": "number"},
        body={"description": "The JSON body, password-like fields redacted"},
        client_app=_string(),
        fault=_string(),
        job=_string(),
    )
    span = _object(state=_string(), start={"type": "number"}, end={"type": "number"})
    clock = _object(mode={"type": "string", "enum": ["real", "virtual"]}, now={"type": "number"})
    return {
        "sim_step": step,
        "sim_script_input": script_in,
        "sim_script": _object(**{**rule_fields, **counted}, **script_fields),
        "sim_fault_input": fault_in,
        "sim_fault": _object(**{**rule_fields, **counted}, **fault_fields),
        "sim_scripts": _object(records=_array(_ref("sim_script")), num_records=_integer(0)),
        "sim_faults": _object(records=_array(_ref("sim_fault")), num_records=_integer(0)),
        "sim_clock": clock,
        "sim_journal": _object(records=_array(journal_entry), num_records=_integer(0)),
        "sim_journal_latest": _object(
            records=_array(journal_entry),
            num_records=_integer(0),
            matched=_integer(0),
            scanned=_integer(0),
            total=_integer(0),
        ),
        "sim_board_job": {
            "allOf": [
                _ref("job"),
                _object(
                    created={"type": "number"},
                    ended=_nullable({"type": "number"}),
                    pausable={"type": "boolean"},
                    cancellable={"type": "boolean"},
                    timeline=_array(span),
                ),
            ]
        },
        "sim_board_jobs": _object(
            records=_array(_ref("sim_board_job")),
            num_records=_integer(0),
            offset=_integer(0),
            limit=_integer(1),
            matched=_integer(0),
            total=_integer(0),
            counts=_object(**{state: _integer(0) for state in STATES}),
            clock=_ref("sim_clock"),
        ),
        "sim_errors": _object(records=_array(_object(error=_string())), num_records=_integer(0)),
    }


def _control_paths() -> dict[str, dict[str, Any]]:
    def op(summary: str, status: str, schema: Schema | None, **extra: Any) -> Schema:
        body: Schema = {"description": "OK" if status == "200" else "Created"}
        if schema is not None:
            body["content"] = _content(schema)
        return {
            "tags": ["simulator"],
            "summary": summary,
            "operationId": "sim_" + re.sub(r"\W+", "_", summary.lower()).strip("_"),
            **extra,
            "responses": {status: body, **_ERRORS},
        }

    def takes(schema: str) -> Schema:
        return {"requestBody": _request(_ref(schema))}

    empty = _object()
    action = _query(
        "action",
        {"type": "string", "enum": ["pause", "resume", "cancel"]},
        "The action to take on the job.",
        required=True,
    )
    files = {
        name: {"schema": _string()}
        for name in dict.fromkeys(t.split(";")[0] for t in STATIC_FILES.values())
    }
    return {
        "/simulator/reset": {
            "post": op("Reset to the starting state (scenario reapplied)", "200", empty)
        },
        "/simulator/scripts": {
            "get": op("List job scripts", "200", _ref("sim_scripts")),
            "post": op("Add a job script", "201", _ref("sim_script"), **takes("sim_script_input")),
            "delete": op("Clear job scripts", "200", empty),
        },
        "/simulator/clock": {
            "get": op("Read the clock", "200", _ref("sim_clock")),
            "post": op(
                "Advance a virtual clock",
                "200",
                _ref("sim_clock"),
                requestBody=_request(
                    _object(["advance"], advance={"type": "number", "minimum": 0})
                ),
            ),
        },
        "/simulator/requests": {
            "get": op("Read the request journal", "200", _ref("sim_journal")),
            "delete": op("Clear the request journal", "200", empty),
        },
        "/simulator/requests/latest": {
            "get": op(
                "Read the latest journal entries",
                "200",
                _ref("sim_journal_latest"),
                parameters=[
                    _query("limit", _integer(1, JOURNAL_PAGE_MAX, default=100), "How many"),
                    _query(
                        "match",
                        _string(maxLength=200),
                        "Words every entry kept contains (case-insensitive)",
                    ),
                ],
            )
        },
        "/simulator/faults": {
            "get": op("List faults", "200", _ref("sim_faults")),
            "post": op("Add a fault", "201", _ref("sim_fault"), **takes("sim_fault_input")),
            "delete": op("Clear faults", "200", empty),
        },
        "/simulator/openapi.json": {
            "get": op("This document", "200", {"type": "object"}),
        },
        "/simulator/errors": {
            "get": op("Unexpected errors the simulator met", "200", _ref("sim_errors")),
        },
        "/simulator/jobs": {
            "get": op(
                "The job board's page of jobs",
                "200",
                _ref("sim_board_jobs"),
                parameters=[
                    _query("offset", _integer(0, default=0), "Jobs to skip, newest first"),
                    _query("limit", _integer(1, JOBS_PAGE_MAX, default=50), "How many"),
                    _csv(
                        "state",
                        {"type": "string", "enum": list(STATES)},
                        "Only jobs in these states",
                    ),
                ],
            )
        },
        "/simulator/jobs/{uuid}": {
            "parameters": [_path_param("uuid", "Job UUID")],
            "patch": op("Act on a job from the board", "200", empty, parameters=[action]),
        },
        "/simulator/ui": {
            "get": {
                "tags": ["simulator"],
                "summary": "The job board",
                "operationId": "sim_job_board",
                "responses": {
                    "200": {
                        "description": "The page",
                        "content": {"text/html": {"schema": _string()}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/simulator/ui/{name}": {
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": list(STATIC_FILES)},
                    "description": "A file of the job board",
                }
            ],
            "get": {
                "tags": ["simulator"],
                "summary": "A file of the job board",
                "operationId": "sim_job_board_file",
                "responses": {
                    "200": {"description": "The file", "content": files},
                    **_ERRORS,
                },
            },
        },
    }


# -- the document ------------------------------------------------------------------------------
@functools.cache
def _static_text() -> str:
    """The document without what depends on a simulator, as JSON (built once)."""
    builder = _OntapBuilder()
    builder.build()
    schemas = {**builder.schemas, **_control_schemas()}
    spec = builder.spec
    tags = sorted({op.path.split("/")[2] for op in spec.operations})
    doc = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "ONTAP REST API (ontap-sim)",
            "version": spec.ontap_version,
            "description": (
                f"Every operation of ONTAP {spec.ontap_version}'s REST API as ontap-sim serves "
                f"it, generated from the declaration it serves them from ({spec.source}). "
                "Writes that run as jobs answer 202 with a job link: poll "
                "/api/cluster/jobs/{uuid} until success or failure. Methods not listed on a "
                "path answer 405 with an Allow header. The simulator's own control API is "
                "under /simulator (tag simulator): leave it out when fuzzing, or a fuzzer will "
                "inject faults and reset the state it tests."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"basic_auth": []}],
        "tags": [*({"name": t} for t in tags), {"name": "simulator"}],
        "paths": {**builder.paths, **_control_paths()},
        "components": {
            "schemas": schemas,
            "parameters": builder.parameters,
            "responses": builder.responses,
            "securitySchemes": {"basic_auth": {"type": "http", "scheme": "basic"}},
        },
    }
    return json.dumps(doc, separators=(",", ":"))


def _key_examples(sim: Simulator) -> dict[str, list[str]]:
    """Path template → values of its variables naming a record ``sim`` holds, where it holds
    one: the keys of a record of the path's resource, else (a collection) of its parent's."""
    spec = sim.store.spec
    firsts: dict[str, list[str] | None] = {}

    def keys_of(resource: ResourceSpec) -> list[str] | None:
        if resource.name not in firsts:
            records = sim.store.records_of(resource.name)
            values = [_get(records[0], key) for key in resource.keys] if records else []
            shown = [v for v in values if isinstance(v, str | int) and not isinstance(v, bool)]
            firsts[resource.name] = [str(v) for v in shown] if records and shown == values else None
        return firsts[resource.name]

    out: dict[str, list[str]] = {}
    for template in {op.path for op in spec.operations}:
        count = len(path_variables(template))
        resource = spec.resource_for(template)
        if count == 0 or resource is None:
            continue
        values = keys_of(resource)
        if values is None or len(values) < count:
            parent = spec.resource_for(template[: template.rindex("}") + 1])
            values = keys_of(parent) if parent is not None and parent is not resource else None
        if values is not None and len(values) >= count:
            out[doc_path(template)] = values[:count]
    return out


def _get(record: Mapping[str, Any], dotted: str) -> Any:
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _scenario_endpoints(sim: Simulator, paths: dict[str, dict[str, Any]]) -> bool:
    """Add what a scenario declares: a job on a declared operation, or a path of its own."""
    added = False
    templates = {path: _VARIABLE.sub("x", path) for path in paths if path.startswith("/api/")}
    for endpoint in sim.endpoints:
        if not endpoint.path.startswith("/api/"):
            continue
        method = endpoint.method.lower()
        declared = [
            path
            for path, sample in templates.items()
            if method in paths[path] and fnmatch.fnmatchcase(sample, endpoint.path)
        ]
        for path in declared:  # it runs as a job there now, whatever ONTAP does
            item = paths[path] = dict(paths[path])
            operation = item[method] = dict(item[method])
            operation["responses"] = {
                "201" if method == "post" else "200": _ref("written", "responses"),
                "202": _ref("job_accepted", "responses"),
                **operation["responses"],
            }
        if declared:
            continue
        segments: list[str] = []
        params: list[Schema] = []
        for segment in endpoint.path.split("/")[1:]:
            if _GLOB.search(segment):
                name = f"key{len(params) + 1}"
                segments.append("{" + name + "}")
                params.append(_path_param(name, f"Matches the glob {segment!r}"))
            else:
                segments.append(segment)
        path = "/" + "/".join(segments)
        item = paths.setdefault(path, {"parameters": params} if params else {})
        if method in item:
            continue
        item[method] = {
            "tags": ["scenario"],
            "summary": f"{endpoint.method} {endpoint.path} (declared by the scenario)",
            "operationId": f"scenario_{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}",
            "description": "Runs as a job: 202 with a job link unless the job ends within "
            "return_timeout.",
            "parameters": [_ref("write_return_timeout", "parameters")],
            "requestBody": _request({"type": "object"}, required=method != "delete"),
            "responses": {
                "201" if method == "post" else "200": _ref("written", "responses"),
                "202": _ref("job_accepted", "responses"),
                **_ERRORS,
            },
        }
        added = True
    return added


def build_openapi(sim: Simulator) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``sim``: every ONTAP operation, and the control API.

    A fresh document each call: the caller may change it.
    """
    doc: dict[str, Any] = json.loads(_static_text())
    paths: dict[str, dict[str, Any]] = doc["paths"]
    for path, values in _key_examples(sim).items():
        for param, value in zip(paths[path]["parameters"], values, strict=False):
            param["example"] = value
    if _scenario_endpoints(sim, paths):
        doc["tags"].append({"name": "scenario"})
    return doc
