"""The job board: ``GET /simulator/ui``, a page to watch the simulator's jobs and push them along.

The page is plain HTML, CSS and one script shipped in ``simulator/ui/`` (no build step, nothing
fetched from another origin: its Content-Security-Policy forbids it). It polls the control API
twice a second: ``/simulator/scripts``, ``/simulator/faults`` and the read endpoints below, which
are views of the engine's own state, for the page and for anyone with curl:

- ``GET /simulator/jobs``: retained jobs, newest first, paged, each with the span of every state
  it went through;
- ``PATCH /simulator/jobs/{uuid}?action=pause|resume|cancel``: the job engine's action, so the
  same rules and refusals as ``PATCH /api/cluster/jobs/{uuid}``, but neither journaled nor
  subject to faults (the board watches the client under test; it is not one);
- ``GET /simulator/requests/latest``: the journal's latest entries, newest first, filterable.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from .errors import ApiError, bad_value, unexpected_argument
from .jobs import STATES, Job
from .query import check_params, parse_int

if TYPE_CHECKING:
    from .sim import Simulator

__all__ = ["register_ui"]

JsonResponder = Callable[..., Response]
BodyReader = Callable[..., "dict[str, Any] | None"]

#: The page's files and their content types; nothing else under ``/simulator/ui/`` is served.
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "board.css": "text/css; charset=utf-8",
    "board.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: Same origin only, no inline script or style, no framing, no form posts elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
JOBS_PAGE_MAX = 500
JOURNAL_PAGE_MAX = 1000
_MATCH_MAX = 200
#: A ``match`` looks through this many of the latest journal entries at most.
JOURNAL_SCAN = 20_000


def _static(name: str) -> Response:
    if name not in STATIC_FILES:
        raise unexpected_argument(name, status=404)
    data = resources.files(__package__).joinpath(f"ui/{name}").read_bytes()
    response = Response(data, status=200, content_type=STATIC_FILES[name])
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def timeline(job: Job, now: float) -> list[dict[str, Any]]:
    """Each state the job went through, with its start and end clock times.

    The state the job is in ends ``now``; a terminal state starts and ends when the job ended.
    """
    spans: list[dict[str, Any]] = []
    history = job.history
    for i, (start, state) in enumerate(history):
        if i + 1 < len(history):
            end = history[i + 1][0]
        elif job.ended_at is not None:
            end = job.ended_at
        else:
            end = max(now, start)
        spans.append({"state": state, "start": start, "end": end})
    return spans


def board_record(job: Job, now: float) -> dict[str, Any]:
    """The job's ONTAP record, plus what the board draws: its times, timeline, and whether its
    script lets it be paused and cancelled."""
    return {
        **job.to_record(),
        "created": job.created_at,
        "ended": job.ended_at,
        "pausable": job.script.pausable,
        "cancellable": job.script.cancellable,
        "timeline": timeline(job, now),
    }


def _states(params: dict[str, str]) -> tuple[str, ...]:
    raw = params.get("state", "").strip()
    if not raw:
        return ()
    states = tuple(part.strip() for part in raw.split(","))
    for state in states:
        if state not in STATES:
            raise ApiError(
                400,
                "262197",
                f'The value "{state}" is invalid for field "state" (<{"|".join(STATES)}>)',
                "state",
            )
    return states


def jobs_page(sim: Simulator, params: dict[str, str]) -> dict[str, Any]:
    """``GET /simulator/jobs``: a page of retained jobs, newest first, and counts by state."""
    check_params(params, {"offset", "limit", "state"}, [])
    offset = parse_int(params, "offset", 0, None) or 0
    limit = parse_int(params, "limit", 1, JOBS_PAGE_MAX) or 50
    wanted = _states(params)
    with sim.lock:
        jobs = list(sim.jobs)  # settles them first
        now = sim.clock.now()
        counts = dict.fromkeys(STATES, 0)
        matching: list[Job] = []
        for job in reversed(jobs):
            state = job.state
            counts[state] += 1
            if not wanted or state in wanted:
                matching.append(job)
        records = [board_record(job, now) for job in matching[offset : offset + limit]]
    return {
        "records": records,
        "num_records": len(records),
        "offset": offset,
        "limit": limit,
        "matched": len(matching),
        "total": len(jobs),
        "counts": counts,
        "clock": {"mode": sim.clock.mode, "now": now},
    }


def _haystack(entry: dict[str, Any]) -> str:
    status = entry.get("status")
    parts = [
        entry.get("method", ""),
        entry.get("path", ""),
        "dropped" if status is None else str(status),
        entry.get("fault", ""),
        entry.get("job", ""),
        entry.get("client_app", ""),
    ]
    query = entry.get("query")
    if query:
        parts.append("?" + "&".join(f"{key}={value}" for key, value in query.items()))
    return " ".join(parts).lower()


def _has_words(haystack: str, words: list[str]) -> bool:
    return all(word in haystack for word in words)


def latest_requests(sim: Simulator, params: dict[str, str]) -> dict[str, Any]:
    """``GET /simulator/requests/latest``: the last ``limit`` journal entries, newest first.

    ``match`` keeps the entries that contain all its words (case-insensitive) in their method,
    path, status, fault, job, client app or query, looking through the latest
    :data:`JOURNAL_SCAN` entries at most (``scanned`` says how many were).
    """
    check_params(params, {"limit", "match"}, [])
    limit = parse_int(params, "limit", 1, JOURNAL_PAGE_MAX) or 100
    match = params.get("match", "")
    if len(match) > _MATCH_MAX:
        raise ApiError(
            400, "262197", f'The value of "match" is longer than {_MATCH_MAX} characters', "match"
        )
    words = match.lower().split()
    if not words:
        latest, total = sim.latest_requests(limit)
        matched = scanned = total
    else:
        entries, total = sim.latest_requests(JOURNAL_SCAN)
        found = [entry for entry in entries if _has_words(_haystack(entry), words)]
        latest, matched, scanned = found[:limit], len(found), len(entries)
    records = [dict(entry) for entry in latest]
    return {
        "records": records,
        "num_records": len(records),
        "matched": matched,
        "scanned": scanned,
        "total": total,
    }


def register_ui(app: Flask, sim: Simulator, respond: JsonResponder, read_body: BodyReader) -> None:
    """Add the job board's page, its files and its read endpoints to ``app``."""

    def params() -> dict[str, str]:
        return {key: request.args.getlist(key)[-1] for key in request.args}

    @app.route("/simulator/ui", methods=["GET"])
    def board_page() -> Response:
        check_params(params(), set(), [])
        return _static("index.html")

    @app.route("/simulator/ui/<name>", methods=["GET"])
    def board_file(name: str) -> Response:
        check_params(params(), set(), [])
        return _static(name)

    @app.route("/simulator/jobs", methods=["GET"])
    def board_jobs() -> Response:
        return respond(200, jobs_page(sim, params()))

    @app.route("/simulator/jobs/<job_uuid>", methods=["PATCH"])
    def board_job_action(job_uuid: str) -> Response:
        query = params()
        check_params(query, {"action"}, [])
        body = read_body(required=False)
        if body:
            name = next(iter(body))
            raise ApiError(400, "2", f'Unexpected argument "{name}".', name)
        action = query.get("action")
        if action is None:
            raise bad_value(
                "action", 'The "action" query argument is required (pause|resume|cancel).'
            )
        sim.jobs.act(job_uuid, action)
        return respond(200, {})

    @app.route("/simulator/requests/latest", methods=["GET"])
    def board_journal() -> Response:
        return respond(200, latest_requests(sim, params()))
