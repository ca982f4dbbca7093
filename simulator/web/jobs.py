"""The jobs views: ``/api/cluster/jobs`` (GET, and PATCH: the bulk form of job actions) and
``/api/cluster/jobs/{uuid}`` (GET, PATCH ``action=``), over the job engine.

Each takes parsed query arguments (and body) and returns the answer's body; rendering it is
the caller's work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ApiError, bad_value
from ..jobs import ACTIONS, JobEngine, invalid_action
from ..query import (
    COLLECTION_PARAMS,
    RECORD_PARAMS,
    check_params,
    compile_filter,
    parse_bool,
    parse_fields,
    parse_int,
    query_collection,
    select_fields,
)

__all__ = ["JOB_FIELDS", "JobsView"]

#: The job fields a query may name (filters, ``fields``).
JOB_FIELDS = [
    "uuid",
    "description",
    "state",
    "message",
    "code",
    "start_time",
    "end_time",
    "error.message",
    "error.code",
    "error.arguments",
    "svm.name",
    "svm.uuid",
    "node.name",
]
#: Query arguments of a bulk job PATCH besides the filters selecting the jobs.
BULK_PARAMS = frozenset(
    {"action", "continue_on_failure", "serial_records", "return_timeout", "return_records"}
)
#: How many distinct validated job-GET queries a view remembers...
_CHECKED_QUERIES_MAX = 256
#: ... and only queries this short (so the memory it keeps is bounded too).
_CHECKED_QUERY_CHARS = 512


def _refuse_body(body: Mapping[str, Any] | None) -> None:
    if body:
        name = next(iter(body))
        raise ApiError(400, "2", f'Unexpected argument "{name}".', name)


def _action(params: Mapping[str, str]) -> str:
    action = params.get("action")
    if action is None:
        raise bad_value("action", 'The "action" query argument is required (pause|resume|cancel).')
    return action


class JobsView:
    """ONTAP's job endpoints over ``jobs``."""

    def __init__(self, jobs: JobEngine) -> None:
        self.jobs = jobs
        # Query arguments of job GETs that passed check_params, with their parsed ``fields``:
        # a poller repeats the same query. Bounded, since clients choose the query strings.
        self._checked: dict[tuple[tuple[str, str], ...], tuple[str, ...] | None] = {}

    def collection(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/cluster/jobs``: filters, ``fields``, ``order_by``, paging."""
        check_params(params, COLLECTION_PARAMS, JOB_FIELDS)
        return query_collection(
            self.jobs.iter_records(**_page_window(params)),
            params,
            href="/api/cluster/jobs",
            keys=("uuid",),
        )

    def record(self, job_uuid: str, params: Mapping[str, str], *, observe: bool) -> dict[str, Any]:
        """``GET /api/cluster/jobs/{uuid}``; ``observe`` counts it toward ``polls`` steps."""
        query = tuple(params.items())
        checked = self._checked
        if query in checked:
            fields = checked[query]
        else:
            check_params(params, RECORD_PARAMS, JOB_FIELDS)
            parsed = parse_fields(params.get("fields"))
            fields = None if parsed is None else tuple(parsed)
            size = sum(len(key) + len(value) for key, value in query)
            if len(checked) < _CHECKED_QUERIES_MAX and size <= _CHECKED_QUERY_CHARS:
                checked[query] = fields
        return select_fields(self.jobs.record(job_uuid, observe=observe), fields, ("uuid",))

    def act(self, job_uuid: str, params: Mapping[str, str], body: Mapping[str, Any] | None) -> None:
        """``PATCH /api/cluster/jobs/{uuid}?action=pause|resume|cancel``."""
        check_params(params, {"action"}, [])
        _refuse_body(body)
        self.jobs.act(job_uuid, _action(params))

    def act_on_each(
        self, params: Mapping[str, str], body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``PATCH /api/cluster/jobs?<filters>&action=...``: ONTAP's bulk form. The filters
        select the retained jobs (any job field, ONTAP's query language); the action applies
        to each, in the jobs' order. A job that refuses it ends the request with that job's
        error (those before it keep the action), unless ``continue_on_failure`` skips it. A
        PATCH without a filter is refused. Answers ``num_records``: the jobs that took it."""
        check_params(params, BULK_PARAMS, JOB_FIELDS)
        _refuse_body(body)
        keep_going = parse_bool(params, "continue_on_failure", False)
        parse_bool(params, "serial_records", False)
        parse_bool(params, "return_records", False)
        parse_int(params, "return_timeout", 0, 120)
        filters = [compile_filter(k, v) for k, v in params.items() if k not in BULK_PARAMS]
        if not filters:
            raise bad_value(
                "query", "A PATCH on a collection needs a query naming the records it applies to."
            )
        action = _action(params)
        if action not in ACTIONS:
            raise invalid_action(action)
        chosen = [
            record["uuid"]
            for record in self.jobs.iter_records()
            if all(test(record) for test in filters)
        ]
        done = 0
        for job_uuid in chosen:
            try:
                self.jobs.act(job_uuid, action)
            except ApiError:
                if not keep_going:
                    raise
                continue
            done += 1
        return {"num_records": done}


def _page_window(params: Mapping[str, str]) -> dict[str, Any]:
    """For plain paging (no filter, no ``order_by``), the jobs the answer can show.

    The page starts at ``start.uuid`` and is ``max_records`` long; the job after it decides
    ``_links.next``. Rendering only those, not every retained job on every page, is what
    makes paging 110,000 jobs take seconds rather than minutes (see docs/benchmarks.md).
    """
    if (
        any(key not in COLLECTION_PARAMS for key in params)
        or params.get("order_by")
        or params.get("return_records", "true").strip().lower() not in ("true", "1")
    ):
        return {}
    limit = parse_int(params, "max_records", 0, None)
    return {"start": params.get("start.uuid"), "limit": None if limit is None else limit + 1}
