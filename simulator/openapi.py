"""The OpenAPI 3.0 document of the ONTAP endpoints a :class:`~simulator.Simulator` serves.

Served at ``GET /simulator/openapi.json``. Names, types, enums, query parameters, statuses and
bodies follow ONTAP's published REST spec for these paths (``basePath`` ``/api``, so paths read
``/cluster/jobs`` and the server URL is ``/api``), narrowed where the simulator models less than
ONTAP does (fewer volume fields, fewer enum values accepted on writes). One rename: the snapshot
paths call their volume parameter ``volume_uuid`` where ONTAP writes ``{volume.uuid}``, which
tools expanding path templates as format strings (schemathesis) cannot take. Extra asynchronous
endpoints a scenario declares are included. The ``/simulator/...`` control API is not part of
this document: it is not ONTAP's, and the README describes it.

The document is generated from small schema helpers so that a record's schema, its ``fields``
names and its query filters can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sim import Simulator

__all__ = ["OPENAPI_VERSION", "build_openapi"]

OPENAPI_VERSION = "3.0.3"
Schema = dict[str, Any]

_MEDIA_TYPES = ("application/json", "application/hal+json")
_GLOB = re.compile(r"[*?\[\]]")


# -- schema helpers ----------------------------------------------------------------------
def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _integer(minimum: int | None = None, maximum: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _boolean(**extra: Any) -> Schema:
    return {"type": "boolean", **extra}


def _enum(values: str, **extra: Any) -> Schema:
    """A string enum; ``values`` are separated by spaces."""
    return {"type": "string", "enum": values.split(), **extra}


def _object(required: Iterable[str] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def _read_only(schema: Schema) -> Schema:
    if "$ref" in schema:  # siblings of $ref are ignored in OpenAPI 3.0
        return {"allOf": [schema], "readOnly": True}
    return {**schema, "readOnly": True}


def _uuid(**extra: Any) -> Schema:
    return _string(format="uuid", example="1cd8a442-86d1-11e0-ae1c-123478563412", **extra)


def _named(*, links: bool = True) -> Schema:
    """A reference to another object: ``{"name", "uuid", "_links"}``."""
    props: dict[str, Schema] = {"name": _string(), "uuid": _uuid()}
    if links:
        props["_links"] = _read_only(_ref("self_link"))
    return _object(**props)


def _collection(record: str) -> Schema:
    return _object(
        ["num_records"],
        records=_array(_ref(record)),
        num_records=_integer(0, description="Number of records"),
        _links=_ref("collection_links"),
    )


# -- the records -------------------------------------------------------------------------
_VERSION = _object(
    full=_string(example="NetApp Release 9.15.1: Mon Jun 03 12:00:00 UTC 2024"),
    generation=_integer(example=9),
    major=_integer(example=15),
    minor=_integer(example=1),
)
_PROTOCOL = _object(enabled=_boolean(), allowed=_boolean())

_RECORDS: dict[str, Schema] = {
    "job": _object(
        uuid=_read_only(_uuid()),
        description=_read_only(_string(example="POST /api/storage/volumes")),
        state=_read_only(
            _enum(
                "queued running paused success failure",
                description="queued, running and paused are not terminal",
            )
        ),
        message=_read_only(_string(example="Complete: Successful")),
        code=_read_only(_integer(description="0 on success; the error code on failure")),
        start_time=_read_only(_string(format="date-time")),
        end_time=_read_only(_string(format="date-time", description="Absent until terminal")),
        error=_read_only(_ref("job_error")),
        svm=_read_only(_named()),
        node=_read_only(_object(name=_string())),
        _links=_read_only(_ref("self_link")),
    ),
    "cluster": _object(
        name=_string(example="cluster1"),
        uuid=_read_only(_uuid()),
        version=_read_only(_VERSION),
        _links=_read_only(_ref("self_link")),
    ),
    "node": _object(
        uuid=_read_only(_uuid()),
        name=_string(example="cluster1-01"),
        version=_read_only(_VERSION),
        model=_read_only(_string()),
        serial_number=_read_only(_string()),
        state=_read_only(_enum("up booting down taken_over waiting_for_giveback degraded unknown")),
        membership=_read_only(_enum("available joining member")),
        _links=_read_only(_ref("self_link")),
    ),
    "software": _object(
        version=_string(example="9.15.1"),
        pending_version=_read_only(_string()),
        nodes=_read_only(_array(_object(name=_string(), version=_string()))),
        state=_read_only(
            _enum(
                "in_progress waiting paused_by_user paused_on_error completed canceled failed"
                " pause_pending cancel_pending"
            )
        ),
        elapsed_duration=_read_only(_integer()),
        estimated_duration=_read_only(_integer()),
        _links=_read_only(_ref("self_link")),
    ),
    "aggregate": _object(
        uuid=_read_only(_uuid()),
        name=_string(example="aggr1"),
        node=_named(),
        space=_object(
            block_storage=_object(
                size=_read_only(_integer(0)),
                available=_read_only(_integer(0)),
                used=_read_only(_integer(0)),
            )
        ),
        state=_read_only(
            _enum(
                "online onlining offline offlining relocating unmounted restricted inconsistent"
                " failed unknown"
            )
        ),
        _links=_read_only(_ref("self_link")),
    ),
    "volume": _object(
        uuid=_read_only(_uuid()),
        name=_string(
            minLength=1,
            maxLength=203,
            pattern="^[A-Za-z_][A-Za-z0-9_]*$",
            example="vol_cs_dept",
        ),
        svm=_named(),
        aggregates=_array(_named(links=False)),
        size=_integer(20 * 1024 * 1024, description="Bytes; at least 20 MB"),
        space=_object(
            size=_integer(20 * 1024 * 1024),
            available=_read_only(_integer()),
            used=_read_only(_integer()),
            snapshot=_object(reserve_percent=_integer(0, 90)),
            logical_space=_object(enforcement=_boolean(), reporting=_boolean()),
        ),
        comment=_string(maxLength=1023),
        state=_enum("error mixed online offline restricted"),
        type=_enum("rw dp ls"),
        style=_enum("flexvol flexgroup flexgroup_constituent"),
        language=_string(example="c.utf_8"),
        nas=_object(
            path=_string(maxLength=255, example="/user/my_volume"),
            security_style=_enum("mixed ntfs unified unix"),
            unix_permissions=_integer(0, description="Octal digits read as decimal: 755"),
            uid=_integer(0, 2**32 - 1),
            gid=_integer(0, 2**32 - 1),
            export_policy=_object(name=_string()),
        ),
        guarantee=_object(type=_enum("volume none")),
        snapshot_policy=_object(name=_string()),
        efficiency=_object(
            compression=_enum("inline background both none mixed auto"),
            dedupe=_enum("inline background both none mixed"),
            policy=_object(name=_string()),
        ),
        tiering=_object(
            policy=_enum("all auto backup none snapshot_only"),
            min_cooling_days=_integer(2, 183),
        ),
        autosize=_object(mode=_enum("grow grow_shrink off")),
        qos=_object(policy=_object(name=_string())),
        encryption=_object(enabled=_boolean()),
        files=_object(maximum=_integer(0), used=_read_only(_integer(0))),
        snaplock=_object(type=_enum("compliance enterprise non_snaplock")),
        analytics=_object(state=_enum("unknown initializing off on error")),
        _tags=_array(_string(example="team:csi")),
        create_time=_read_only(_string(format="date-time")),
        _links=_read_only(_ref("self_link")),
    ),
    "snapshot": _object(
        uuid=_read_only(_uuid()),
        name=_string(maxLength=255, example="this_snapshot"),
        volume=_read_only(_named()),
        svm=_read_only(_named()),
        create_time=_read_only(_string(format="date-time")),
        comment=_string(maxLength=255),
        expiry_time=_string(format="date-time"),
        state=_read_only(_enum("valid invalid partial unknown pre_conversion")),
        size=_read_only(_integer(0)),
        _links=_read_only(_ref("self_link")),
    ),
    "svm": _object(
        uuid=_read_only(_uuid()),
        name=_string(maxLength=47, example="svm1"),
        state=_enum("starting running stopping stopped deleting initializing"),
        subtype=_enum("default dp_destination sync_source sync_destination"),
        language=_string(example="c.utf_8"),
        comment=_string(maxLength=255),
        aggregates=_array(_named(links=False)),
        ipspace=_object(name=_string(example="Default"), uuid=_read_only(_uuid())),
        snapshot_policy=_object(name=_string(example="default")),
        nfs=_PROTOCOL,
        cifs=_PROTOCOL,
        iscsi=_PROTOCOL,
        fcp=_PROTOCOL,
        nvme=_PROTOCOL,
        max_volumes=_string(example="unlimited", description='A number or "unlimited"'),
        _links=_read_only(_ref("self_link")),
    ),
}

_COMMON: dict[str, Schema] = {
    "href": _object(href=_string(example="/api/resourcelink")),
    "self_link": _object(self=_ref("href")),
    "collection_links": _object(self=_ref("href"), next=_ref("href")),
    "job_link": _object(uuid=_uuid(), _links=_ref("self_link")),
    "job_link_response": _object(["job"], job=_ref("job_link")),
    "error_arguments": _object(code=_string(), message=_string()),
    "returned_error": _object(
        message=_string(example="entry doesn't exist"),
        code=_string(example="4", description="A string, unlike a job's integer code"),
        target=_string(example="uuid"),
        arguments=_array(_ref("error_arguments")),
    ),
    "error_response": _object(["error"], error=_ref("returned_error")),
    "job_error": _object(
        message=_string(),
        code=_string(description="A string, unlike the job's own integer code"),
        arguments=_array(_ref("error_arguments")),
    ),
}


def _leaves(
    schema: Schema, schemas: Mapping[str, Schema], prefix: str = ""
) -> Iterator[tuple[str, Schema]]:
    """Dotted names and schemas of every scalar leaf of ``schema`` (``_links`` excluded)."""
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        yield from _leaves(schema["items"], schemas, prefix)
        return
    if schema.get("type") != "object":
        yield prefix.rstrip("."), schema
        return
    for name, child in schema["properties"].items():
        if name != "_links":
            yield from _leaves(child, schemas, f"{prefix}{name}.")


# -- parameters and responses ------------------------------------------------------------
def _query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


def _csv(name: str, items: Schema, description: str) -> Schema:
    return _query(name, _array(items), description, style="form", explode=False)


_PARAMETERS: dict[str, Schema] = {
    "max_records": _query("max_records", _integer(0), "Limit the number of records returned."),
    "return_records": _query(
        "return_records",
        _boolean(default=True),
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
        "The number of seconds to allow the call to execute before returning. When doing a "
        "POST, PATCH, or DELETE operation on a single record, the default is 0 seconds: the "
        "answer is 202 with a job link. A job done in time answers 201 (POST) or 200.",
    ),
    "write_return_records": _query(
        "return_records",
        _boolean(default=False),
        "The default is false. If set to true, the records are returned.",
    ),
    "order_by": _csv(
        "order_by",
        _string(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*( (asc|desc))?$"),
        "Order results by specified fields and optional [asc|desc] direction. Default "
        "direction is 'asc' for ascending.",
    ),
}


def _fields_param(names: list[str]) -> Schema:
    return _csv(
        "fields",
        {"type": "string", "enum": ["*", "**", *names]},
        "Specify the fields to return (* and ** mean all).",
    )


def _filter_params(names: list[tuple[str, Schema]]) -> list[Schema]:
    """ONTAP's per-field query filters (``name=v1|v2``, ``size=>1000``, ``state=!online``)."""
    params = []
    for name, leaf in names:
        kind = leaf.get("type", "string")
        schema: Schema = {"type": kind if kind in ("integer", "boolean", "number") else "string"}
        params.append(_query(name, schema, f"Filter by {name}"))
    return params


def _content(schema: Schema) -> Schema:
    return {media: {"schema": schema} for media in _MEDIA_TYPES}


def _answer(description: str, schema: str | None = None, **headers: Schema) -> Schema:
    response: Schema = {"description": description}
    if schema is not None:
        response["content"] = _content(_ref(schema))
    if headers:
        response["headers"] = {
            name.replace("_", "-"): {"schema": value} for name, value in headers.items()
        }
    return response


_ERROR_STATUSES = {
    "400": 'Bad request: an invalid value (code "2", "262197"), or invalid JSON',
    "401": "Bad or missing credentials",
    "404": 'Unknown record (code "4", target "uuid") or unexpected argument ("262179")',
    "409": 'Duplicate entry (code "1")',
    "413": "The request body is too large",
}
_RESPONSES: dict[str, Schema] = {
    **{
        f"error_{status}": _answer(text, "error_response")
        for status, text in _ERROR_STATUSES.items()
    },
    "error_default": _answer(
        "Any other ONTAP error, e.g. a job that failed within return_timeout (its message and "
        "code; 400 unless scripted otherwise), 403, 405 (with Allow), 429/5xx (with "
        "Retry-After)",
        "error_response",
    ),
    "job_created": _answer(
        "Created: the job finished within return_timeout",
        "job_link_response",
        Location=_string(example="/api/storage/volumes/?name=v1"),
    ),
    "job_done": _answer("OK: the job finished within return_timeout", "job_link_response"),
    "job_accepted": _answer(
        "Accepted: the job is still running; poll its link",
        "job_link_response",
        Location=_string(),
    ),
}


def _errors(*statuses: str) -> dict[str, Schema]:
    out = {status: {"$ref": f"#/components/responses/error_{status}"} for status in statuses}
    out["default"] = {"$ref": "#/components/responses/error_default"}
    return out


def _response_ref(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _param_ref(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _path_param(name: str, description: str, example: str | None = None) -> Schema:
    param: Schema = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _string(),
        "description": description,
    }
    if example is not None:
        param["example"] = example
    return param


# -- operations --------------------------------------------------------------------------
class _Builder:
    """Collects the document's paths from one simulator's current state."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.schemas: dict[str, Schema] = {**_COMMON, **_RECORDS}
        for name in _RECORDS:
            self.schemas[f"{name}_response"] = _collection(name)
        self.paths: dict[str, dict[str, Schema]] = {}

    def fields(self, record: str) -> list[tuple[str, Schema]]:
        return list(_leaves(_ref(record), self.schemas))

    def add(self, path: str, method: str, operation: Schema) -> None:
        self.paths.setdefault(path, {})[method] = operation

    def read_collection(
        self, path: str, record: str, tag: str, summary: str, params: list[Schema]
    ) -> None:
        fields = self.fields(record)
        self.add(
            path,
            "get",
            {
                "tags": [tag],
                "summary": summary,
                "operationId": f"{record}_collection_get",
                "parameters": [
                    *params,
                    *_filter_params(fields),
                    _fields_param([name for name, _ in fields]),
                    _param_ref("max_records"),
                    _param_ref("return_records"),
                    _param_ref("collection_return_timeout"),
                    _param_ref("order_by"),
                ],
                "responses": {
                    "200": _answer("OK", f"{record}_response"),
                    **_errors("400", "401", "404"),
                },
            },
        )

    def read_record(
        self, path: str, record: str, tag: str, summary: str, params: list[Schema]
    ) -> None:
        fields = [name for name, _ in self.fields(record)]
        self.add(
            path,
            "get",
            {
                "tags": [tag],
                "summary": summary,
                "operationId": f"{record}_get",
                "parameters": [*params, _fields_param(fields)],
                "responses": {"200": _answer("OK", record), **_errors("400", "401", "404")},
            },
        )

    def write(
        self,
        path: str,
        method: str,
        operation_id: str,
        tag: str,
        summary: str,
        params: list[Schema],
        body: Schema | None,
        body_required: bool = True,
    ) -> None:
        done = "job_created" if method == "post" else "job_done"
        operation: Schema = {
            "tags": [tag],
            "summary": summary,
            "description": "Runs as a job: 202 with a job link unless the job ends within "
            "return_timeout.",
            "operationId": operation_id,
            "parameters": [
                *params,
                _param_ref("write_return_timeout"),
                _param_ref("write_return_records"),
            ],
            "responses": {
                "201" if method == "post" else "200": _response_ref(done),
                "202": _response_ref("job_accepted"),
                **_errors("400", "401", "404", "409", "413"),
            },
        }
        if body is not None:
            operation["requestBody"] = {
                "required": body_required,
                "content": {"application/json": {"schema": body}},
            }
        self.add(path, method, operation)

    def resource(
        self,
        collection: str,
        record_path: str,
        record: str,
        tag: str,
        scope: list[Schema],
        uuid_param: Schema,
        post_required: Iterable[str] = ("name",),
    ) -> None:
        """GET/POST on ``collection``, GET/PATCH/DELETE on ``record_path``."""
        self.read_collection(collection, record, tag, f"Retrieves {record}s", scope)
        self.write(
            collection,
            "post",
            f"{record}_create",
            tag,
            f"Creates a {record}",
            scope,
            {"allOf": [_ref(record), {"required": list(post_required)}]},
        )
        here = [*scope, uuid_param]
        self.read_record(record_path, record, tag, f"Retrieves a {record}", here)
        self.write(
            record_path, "patch", f"{record}_modify", tag, f"Updates a {record}", here, _ref(record)
        )
        self.write(
            record_path,
            "delete",
            f"{record}_delete",
            tag,
            f"Deletes a {record}",
            here,
            _object(),
            body_required=False,
        )

    def ontap(self) -> None:
        inventory = self.sim.inventory
        svms = inventory.svms()
        aggregates = inventory.aggregates()
        volumes = inventory.volumes()
        nodes = inventory.read("/api/cluster/nodes", {})["records"]
        node_uuid = nodes[0]["uuid"] if nodes else None
        jobs = self.sim.jobs.records()
        job_uuid = _path_param("uuid", "Job UUID", jobs[-1]["uuid"] if jobs else None)

        self.read_collection("/cluster/jobs", "job", "cluster", "Retrieves jobs", [])
        self.read_record("/cluster/jobs/{uuid}", "job", "cluster", "Retrieves a job", [job_uuid])
        self.add(
            "/cluster/jobs/{uuid}",
            "patch",
            {
                "tags": ["cluster"],
                "summary": "Pauses, resumes or cancels a job",
                "description": 'Refusals: "458762" already terminal, "458776" not running '
                '(or not paused), "458783" no pause, "458784" no cancel.',
                "operationId": "job_modify",
                "parameters": [
                    job_uuid,
                    _query(
                        "action",
                        _enum("pause resume cancel"),
                        "The action to take on the job.",
                        required=True,
                    ),
                ],
                "responses": {"200": {"description": "OK"}, **_errors("400", "401", "404")},
            },
        )
        self.read_record("/cluster", "cluster", "cluster", "Retrieves the cluster", [])
        self.read_collection("/cluster/nodes", "node", "cluster", "Retrieves the nodes", [])
        self.read_record(
            "/cluster/nodes/{uuid}",
            "node",
            "cluster",
            "Retrieves a node",
            [_path_param("uuid", "Node UUID", node_uuid)],
        )
        self.read_record("/cluster/software", "software", "cluster", "Retrieves the software", [])
        self.read_collection(
            "/storage/aggregates", "aggregate", "storage", "Retrieves aggregates", []
        )
        self.read_record(
            "/storage/aggregates/{uuid}",
            "aggregate",
            "storage",
            "Retrieves an aggregate",
            [_path_param("uuid", "Aggregate UUID", aggregates[0]["uuid"] if aggregates else None)],
        )
        volume_example = volumes[0]["uuid"] if volumes else None
        snapshots = inventory.snapshots(volume_example) if volume_example else []
        snapshot_example = snapshots[0]["uuid"] if snapshots else None
        self.resource(
            "/storage/volumes",
            "/storage/volumes/{uuid}",
            "volume",
            "storage",
            [],
            _path_param("uuid", "Volume UUID", volume_example),
            post_required=("name", "svm", "aggregates"),
        )
        self.resource(
            "/storage/volumes/{volume_uuid}/snapshots",
            "/storage/volumes/{volume_uuid}/snapshots/{uuid}",
            "snapshot",
            "storage",
            [_path_param("volume_uuid", "Volume UUID", volume_example)],
            _path_param("uuid", "Snapshot UUID", snapshot_example),
        )
        self.resource(
            "/svm/svms",
            "/svm/svms/{uuid}",
            "svm",
            "svm",
            [],
            _path_param("uuid", "SVM UUID", svms[0]["uuid"] if svms else None),
        )

    def endpoints(self) -> None:
        """The extra asynchronous endpoints the scenario declares (glob segments as params)."""
        for endpoint in self.sim.endpoints:
            if not endpoint.path.startswith("/api/"):
                continue
            segments: list[str] = []
            params: list[Schema] = []
            for segment in endpoint.path[len("/api") :].split("/")[1:]:
                if _GLOB.search(segment):
                    name = f"key{len(params) + 1}"
                    segments.append("{" + name + "}")
                    params.append(_path_param(name, f"Matches the glob {segment!r}"))
                else:
                    segments.append(segment)
            path = "/" + "/".join(segments)
            method = endpoint.method.lower()
            if method in self.paths.get(path, {}):
                continue  # the simulator routes it to the modelled operation
            self.write(
                path,
                method,
                f"scenario_{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}",
                "scenario",
                f"{endpoint.method} {endpoint.path} (declared by the scenario)",
                params,
                _object() if method == "delete" else {"type": "object"},
                body_required=method != "delete",
            )


def build_openapi(sim: Simulator) -> dict[str, Any]:
    """OpenAPI 3.0 document for ``sim``'s ONTAP API (control API excluded)."""
    builder = _Builder(sim)
    version = sim.inventory.cluster()["version"]
    builder.ontap()
    builder.endpoints()
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "ONTAP REST API (ontap-sim)",
            "version": "{generation}.{major}.{minor}".format(**version),
            "description": "The ONTAP endpoints ontap-sim serves, after ONTAP's published "
            "spec. Writes run as jobs: poll /cluster/jobs/{uuid} until success or failure. "
            "Methods not listed on a path answer 405 with an Allow header. The /simulator "
            "control API is not described here.",
        },
        "servers": [{"url": "/api"}],
        "security": [{"basic_auth": []}],
        "tags": [
            {"name": "cluster"},
            {"name": "storage"},
            {"name": "svm"},
            *([{"name": "scenario"}] if sim.endpoints else []),
        ],
        "paths": builder.paths,
        "components": {
            "schemas": builder.schemas,
            "parameters": _PARAMETERS,
            "responses": _RESPONSES,
            "securitySchemes": {"basic_auth": {"type": "http", "scheme": "basic"}},
        },
    }
