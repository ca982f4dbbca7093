"""``ontap-sim record``: a recording proxy that turns a real cluster's jobs into a scenario.

Clients point at the recorder with their own credentials; every request goes to the upstream
cluster unchanged and its answer comes back unchanged. For each job a write starts, the recorder
follows the job itself (its own GETs, with the credentials of the write that started it, held
in memory only) and keeps its *timeline*: each state with its message, code and duration, the
final error, the write's status. Synchronous errors of writes are kept too. On stop it writes a
scenario (the format ``ontap-sim --scenario`` reads): the inventory read from the upstream when
recording started, per endpoint the scripts that replay the timelines in order, and faults that
replay the synchronous errors at their place among the writes. So any poller, with any policy,
meets the recorded behaviour on the simulator, on either clock; a byte-level cassette only
answers the recorded sequence of requests.

Never kept anywhere: the Authorization header, passwords, tokens and other password-like
fields (:func:`simulator.sim.redact`'s rule); a secret the client sent is also scrubbed from
every message the upstream echoed back. Only the *shape* of a write's body is kept.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import logging
import math
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .journal import redact
from .rules import rule_matches

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "Observation",
    "Recorder",
    "WriteRecord",
    "body_shape",
    "build_parser",
    "build_scenario",
    "check_upstream",
    "job_steps",
    "main",
    "path_pattern",
    "place_faults",
    "read_inventory",
    "request_secrets",
    "scripts_and_faults",
    "scrub",
    "write_scenario",
]

log = logging.getLogger("simulator.record")

WRITE_METHODS = ("POST", "PATCH", "DELETE")
TERMINAL = ("success", "failure")
#: Larger request bodies are refused with 413 (ONTAP's own bodies are a few KiB).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Answers larger than this are passed on but not parsed for a job link.
MAX_PARSED_BYTES = 1024 * 1024
#: A write may wait ``return_timeout`` (up to 120 s) on the upstream before it answers.
DEFAULT_TIMEOUT = 130.0
CONNECT_TIMEOUT = 10.0
#: Read timeout of the recorder's own GETs (job polls, inventory).
OWN_READ_TIMEOUT = 30.0
DEFAULT_POLL_INTERVAL = 0.05
DEFAULT_POLL_MAX = 1.0
DEFAULT_JOB_TIMEOUT = 3600.0
#: Consecutive failed polls of one job before the recorder gives up following it.
MAX_POLL_ERRORS = 20
#: How long a job never seen yet may answer 404 (read-after-write lag) before it counts as gone.
NOT_FOUND_GRACE = 10.0
#: Pages read per collection when reading the inventory.
MAX_PAGES = 100
#: Requests whose added latency :meth:`Recorder.latency` summarises (the latest ones).
LATENCY_SAMPLES = 100_000
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "expect"}
#: The serving layer sends its own Server and Date headers.
_NOT_RETURNED = _HOP_BY_HOP | {"content-length", "server", "date"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_JOB_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_REDACTED = "<redacted>"
_JOB_FIELDS = "state,message,code,error"


def _utc(when: float) -> str:
    return datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="seconds")


# -- what is kept of a request ---------------------------------------------------------
def body_shape(value: Any) -> Any:
    """The shape of a JSON value: keys kept, values replaced by their type's name.

    Password-like fields (as :func:`~simulator.sim.redact` finds them) show ``"<redacted>"``.
    """
    redacted = redact(value)

    def shape(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {str(k): shape(v) for k, v in item.items()}
        if isinstance(item, list):
            return [shape(item[0])] if item else []
        if item == _REDACTED:
            return _REDACTED
        if item is None:
            return "null"
        if isinstance(item, bool):
            return "boolean"
        if isinstance(item, int | float):
            return "number"
        return "string"

    return shape(redacted)


def _secret_strings(original: Any, redacted: Any, out: set[str]) -> None:
    """Collect the strings ``redact`` hid (anything below a password-like key)."""
    if redacted == _REDACTED and original != _REDACTED:
        stack = [original]
        while stack:
            item = stack.pop()
            if isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif item is not None and not isinstance(item, bool):
                text = str(item)
                if text:
                    out.add(text)
        return
    if isinstance(original, Mapping) and isinstance(redacted, Mapping):
        for key, value in original.items():
            _secret_strings(value, redacted.get(key), out)
    elif isinstance(original, list) and isinstance(redacted, list):
        for a, b in zip(original, redacted, strict=False):
            _secret_strings(a, b, out)


def request_secrets(
    authorization: str | None, body: Any, query: Mapping[str, str]
) -> frozenset[str]:
    """Every secret a request carries: the Authorization credentials (the whole header, its
    token and, for Basic, the password) and the values of password-like body and query fields."""
    found: set[str] = set()
    if authorization:
        found.add(authorization)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if token:
            found.add(token)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(token, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    decoded = ""
                _, sep, password = decoded.partition(":")
                if sep and password:
                    found.update((decoded, password))
    _secret_strings(body, redact(body), found)
    _secret_strings(dict(query), redact(dict(query)), found)
    return frozenset(found)


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a JSON value with every secret replaced by ``"<redacted>"`` in its strings."""
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)
    if not ordered:
        return value

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for secret in ordered:
                if secret in item:
                    item = item.replace(secret, _REDACTED)
            return item
        if isinstance(item, Mapping):
            return {clean(str(k)): clean(v) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v) for v in item]
        return item

    return clean(value)


def _escape_glob(segment: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in segment)


def path_pattern(path: str, *, strip: bool = True) -> str:
    """The endpoint a concrete path belongs to, as a rule glob: uuid segments become ``*``.

    ``strip`` drops a trailing slash (scripts match the stripped path; faults the path as sent).
    """
    if strip:
        path = path.rstrip("/") or "/"
    return "/".join(
        "*" if _UUID.fullmatch(part) else _escape_glob(part) for part in path.split("/")
    )


def _specificity(pattern: str) -> tuple[int, int]:
    """Sort key putting deeper, more literal patterns first: ``/a/*/b/*`` before ``/a/*``,
    which its paths also match (a glob's ``*`` crosses slashes)."""
    parts = pattern.split("/")
    return (-len(parts), sum(part == "*" for part in parts))


# -- one recorded write --------------------------------------------------------------------
@dataclass(frozen=True)
class Observation:
    """One sighting of a job: when (monotonic seconds), state, message and code."""

    at: float
    state: str
    message: str | None
    code: int | None

    @property
    def key(self) -> tuple[str, str | None, int | None]:
        return (self.state, self.message, self.code)


@dataclass
class WriteRecord:
    """A write that went through the recorder, and what came of it.

    ``kind`` is ``"job"`` (a job was started and followed), ``"error"`` (a synchronous 4xx
    with ONTAP's error body), ``"other"`` (anything else: 2xx without a job, 5xx),
    ``"unauthorized"`` (401: never replayed), ``"unreachable"`` (the upstream did not answer)
    or ``"pending"`` (no answer yet).
    """

    index: int
    method: str
    path: str
    body: Any
    return_timeout: int | None
    test: str | None
    started: float
    #: When it arrived (``time.time()``); ``started`` and ``answered`` are monotonic.
    wall: float
    answered: float | None = None
    status: int | None = None
    kind: str = "pending"
    job_uuid: str | None = None
    failed_in_time: bool = False
    observations: list[Observation] = field(default_factory=list)
    error: dict[str, Any] | None = None
    job_error: dict[str, Any] | None = None
    note: str | None = None

    @property
    def steps(self) -> list[dict[str, Any]] | None:
        """The job's script, as :func:`job_steps` derives it (None when not a job)."""
        return job_steps(self) if self.kind == "job" else None

    def to_json(self) -> dict[str, Any]:
        """What the recording's ``writes`` list keeps of this write."""
        out: dict[str, Any] = {"at": _utc(self.wall), "method": self.method, "path": self.path}
        if self.body is not None:
            out["body"] = self.body
        if self.return_timeout is not None:
            out["return_timeout"] = self.return_timeout
        out["status"] = self.status
        if self.test is not None:
            out["test"] = self.test
        if self.kind == "job":
            job: dict[str, Any] = {"uuid": self.job_uuid, "timeline": self.steps}
            if self.failed_in_time:
                job["failed_in_time"] = True
            if self.job_error:
                job["error"] = self.job_error
            out["job"] = job
        elif self.kind == "error" and self.error is not None:
            out["error"] = self.error
        if self.note:
            out["note"] = self.note
        return out


def _collapse(observations: Sequence[Observation]) -> list[tuple[Observation, float]]:
    """Runs of equal (state, message, code): the first sighting and the last one's time."""
    runs: list[tuple[Observation, float]] = []
    for obs in observations:
        if runs and runs[-1][0].key == obs.key:
            runs[-1] = (runs[-1][0], obs.at)
        else:
            runs.append((obs, obs.at))
    return runs


def _seconds(value: float) -> float:
    return round(max(value, 0.0), 3)


def _step(state: str, message: str | None, code: int | None) -> dict[str, Any]:
    step: dict[str, Any] = {"state": state}
    if message is not None:
        step["message"] = message
    if code is not None and (code != 0 or state == "failure"):
        step["code"] = code
    return step


def job_steps(write: WriteRecord) -> list[dict[str, Any]]:
    """The script that replays a recorded job's timeline.

    A state change seen between two polls is placed halfway between them; the first state
    starts when the write was sent. A job seen only once it had ended gets one ``running`` step
    for the time it took (until the write's answer when it ended within ``return_timeout``).
    A job not seen to end ends in a failure saying so (edit it if you know better).
    """
    runs = _collapse(write.observations)
    started = write.started
    if not runs:
        message = write.note or "the recorder saw nothing of this job"
        return [_step("failure", f"ontap-sim record: {message}", 0)]
    steps: list[dict[str, Any]] = []
    first = runs[0][0]
    if first.state in TERMINAL:
        answered = write.answered if write.answered is not None else first.at
        end = answered if write.status in (200, 201) else (answered + first.at) / 2
        if write.failed_in_time:
            end = answered
        steps.append({"state": "running", "seconds": _seconds(end - started)})
    begin = started
    for i, (obs, last_seen) in enumerate(runs):
        if obs.state in TERMINAL:
            steps.append(_step(obs.state, obs.message, obs.code))
            return steps
        end = (last_seen + runs[i + 1][0].at) / 2 if i + 1 < len(runs) else last_seen
        steps.append(
            {
                "state": obs.state,
                "seconds": _seconds(end - begin),
                **_step(obs.state, obs.message, obs.code),
            }
        )
        begin = end
    last_state = runs[-1][0].state
    why = write.note or f"the job was still {last_state} when recording stopped"
    steps.append(_step("failure", f"ontap-sim record: {why}", 0))
    return steps


# -- from records to a scenario ----------------------------------------------------------------
#: Writes that reach the simulator's fault rules on replay (a 401 is refused before them).
_REPLAYED = ("job", "error", "other", "unreachable")


def _script_for(write: WriteRecord) -> dict[str, Any]:
    script: dict[str, Any] = {
        "method": write.method,
        "path": path_pattern(write.path),
        "times": 1,
        "steps": job_steps(write),
    }
    if write.failed_in_time and write.status is not None and 400 <= write.status <= 599:
        script["status"] = write.status
    return script


def _fault_for(write: WriteRecord) -> dict[str, Any]:
    fault: dict[str, Any] = {
        "method": write.method,
        "path": path_pattern(write.path, strip=False),
        "times": 1,
        "status": write.status,
    }
    error = write.error or {}
    if isinstance(error.get("message"), str):
        fault["message"] = error["message"]
    code = error.get("code")
    if isinstance(code, str | int) and not isinstance(code, bool):
        fault["code"] = str(code)
    if isinstance(error.get("target"), str):
        fault["target"] = error["target"]
    return fault


def place_faults(
    sequence: Sequence[tuple[str, str]], targets: Sequence[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Give each fault the ``after`` that makes it fire at its own request of ``sequence``.

    ``sequence`` holds every replayed write (method, path) in order; ``targets`` the faults
    (in the order they will be listed) with the index of the write each reproduces. Rules are
    consulted in order and a waiting rule counts each matching request that reaches it, so a
    rule's ``after`` is the number of matching writes before its own that no earlier rule
    answers.
    """
    answered: set[int] = set()
    placed: list[dict[str, Any]] = []
    for target, fault in targets:
        after = sum(
            1
            for i, (method, path) in enumerate(sequence[:target])
            if i not in answered and rule_matches(fault["method"], fault["path"], method, path)
        )
        answered.add(target)
        placed.append({**fault, "after": after} if after else dict(fault))
    return placed


def _merge_runs(scripts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive equal scripts of one endpoint become one with ``times`` counting them."""
    merged: list[dict[str, Any]] = []
    for script in scripts:
        previous = merged[-1] if merged else None
        if previous is not None and {**previous, "times": 1} == script:
            previous["times"] += 1
        else:
            merged.append(dict(script))
    return merged


def scripts_and_faults(
    writes: Sequence[WriteRecord],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The scripts (deeper endpoints first, each endpoint's in order) and the faults (in order,
    placed with ``after``) that replay ``writes``."""
    replayed = [w for w in writes if w.kind in _REPLAYED]
    scripts = [_script_for(w) for w in replayed if w.kind == "job"]
    scripts.sort(key=lambda s: _specificity(s["path"]))
    sequence = [(w.method, w.path) for w in replayed]
    targets = [(i, _fault_for(w)) for i, w in enumerate(replayed) if w.kind == "error"]
    return _merge_runs(scripts), place_faults(sequence, targets)


def _endpoints(writes: Sequence[WriteRecord]) -> list[dict[str, str]]:
    """Job endpoints the simulator does not serve, declared so their scripts apply."""
    from .sim import Simulator

    sim = Simulator(clock="virtual")
    seen: list[dict[str, str]] = []
    for write in writes:
        if write.kind != "job" or sim.is_write_endpoint(write.method, write.path.rstrip("/")):
            continue
        entry = {"method": write.method, "path": path_pattern(write.path)}
        if entry not in seen:
            seen.append(entry)
    return seen


def _describe(
    writes: Sequence[WriteRecord],
    upstream: str,
    inventory: Mapping[str, Any] | None,
    started: float,
    stopped: float,
) -> str:
    cluster = (inventory or {}).get("cluster") or {}
    about = ""
    if cluster.get("name"):
        about = f" (cluster {cluster['name']}, ONTAP {cluster.get('version', '?')})"
    jobs = sum(w.kind == "job" for w in writes)
    errors = sum(w.kind == "error" for w in writes)
    return (
        f"Recorded by ontap-sim record from {upstream}{about}, {_utc(started)} to "
        f"{_utc(stopped)}: {len(writes)} writes, {jobs} jobs, {errors} synchronous errors. "
        "Each write, its status and its job's timeline are under recording.writes."
    )


def build_scenario(
    writes: Sequence[WriteRecord],
    *,
    inventory: Mapping[str, Any] | None,
    upstream: str,
    started: float,
    stopped: float,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The scenario replaying ``writes`` (see the module docstring), checked to load."""
    kept = [w for w in writes if w.kind != "pending"]
    scripts, faults = scripts_and_faults(kept)
    scenario: dict[str, Any] = {
        "description": _describe(kept, upstream, inventory, started, stopped),
    }
    if inventory is not None:
        scenario["inventory"] = dict(inventory)
    endpoints = _endpoints(kept)
    if endpoints:
        scenario["endpoints"] = endpoints
    scenario["scripts"] = scripts
    scenario["faults"] = faults
    recording: dict[str, Any] = {
        "by": "ontap-sim record",
        "upstream": upstream,
        "started": _utc(started),
        "stopped": _utc(stopped),
    }
    all_notes = list(notes) + [
        f"write {w.index + 1} ({w.method} {w.path}): {w.note}" for w in kept if w.note
    ]
    if all_notes:
        recording["notes"] = all_notes
    recording["writes"] = [w.to_json() for w in kept]
    tests: dict[str, Any] = {}
    for name in dict.fromkeys(w.test for w in kept if w.test is not None):
        own_scripts, own_faults = scripts_and_faults([w for w in kept if w.test == name])
        if own_scripts or own_faults:
            tests[name] = {"scripts": own_scripts, "faults": own_faults}
    if tests:
        recording["tests"] = tests
    scenario["recording"] = recording
    from .sim import Simulator

    Simulator(clock="virtual", scenario=scenario)  # a bug here must not pass silently
    for part in tests.values():
        Simulator(clock="virtual", scenario={**scenario, **part})
    return scenario


# -- the inventory -----------------------------------------------------------------------------
Fetch = Callable[[str], "tuple[int, Any]"]


class _Unauthorized(Exception):
    """The credentials at hand were refused, or the cluster is not answering: try again with
    the next request."""


_SVM_FIELDS = ("name", "uuid", "state", "subtype", "language", "comment", "ipspace.name")
_AGGREGATE_FIELDS = ("name", "uuid", "space.block_storage.size")
# fmt: off
_VOLUME_FIELDS = (
    "name", "uuid", "svm.name", "aggregates.name", "size", "comment", "state", "type", "style",
    "nas.path", "nas.security_style", "language", "guarantee.type", "snapshot_policy.name",
)
# fmt: on
_SNAPSHOT_FIELDS = ("name", "uuid", "comment")
_MINIMAL = {
    "aggregates": ("name", "uuid"),
    "svms": ("name", "uuid"),
    "volumes": ("name", "uuid", "svm", "aggregates", "size"),
    "snapshots": ("name", "uuid", "volume"),
}


def _merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _pick(record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The dotted fields ``names`` of ``record`` (lists of objects entered), scalars only."""
    out: dict[str, Any] = {}
    for name in names:
        head, _, rest = name.partition(".")
        if head not in record:
            continue
        value = record[head]
        if not rest:
            if value is not None and not isinstance(value, Mapping | list):
                out[head] = value
        elif isinstance(value, Mapping):
            sub = _pick(value, [rest])
            if sub:
                _merge(out, {head: sub})
        elif isinstance(value, list):
            items = [_pick(item, [rest]) for item in value if isinstance(item, Mapping)]
            if any(items):
                out[head] = [item for item in items if item]
    return out


def _pages(fetch: Fetch, path: str, fields: str) -> tuple[int, list[Any] | None, bool]:
    """(status, records or None when unreadable, whether every page was read)."""
    target = f"{path}?{urlencode({'fields': fields, 'max_records': 1000})}"
    records: list[Any] = []
    for _ in range(MAX_PAGES):
        status, body = fetch(target)
        if status == 401:
            raise _Unauthorized
        if status != 200 or not isinstance(body, Mapping):
            return status, None, False
        records.extend(r for r in body.get("records") or [] if isinstance(r, Mapping))
        href = ((body.get("_links") or {}).get("next") or {}).get("href")
        if not (isinstance(href, str) and href.startswith("/api/")):
            return status, records, True
        target = href
    return 200, records, False


def _collection(fetch: Fetch, path: str, names: Sequence[str], notes: list[str]) -> list[Any]:
    """Every record of a collection (paging followed); [] with a note when it cannot be read.

    The fields asked first are those a scenario keeps; an upstream refusing one of them (an
    older ONTAP) is asked again for names and uuids only."""
    status = 0
    for fields in (",".join(names), "name,uuid"):
        status, records, complete = _pages(fetch, path, fields)
        if records is not None:
            if not complete:
                notes.append(f"inventory: {path}: only the first {MAX_PAGES} pages were read")
            return records
    notes.append(f"inventory: GET {path} answered {status or 'nothing'}: left out")
    return []


def _loads(inventory: Mapping[str, Any]) -> str | None:
    """None when the simulator loads ``inventory``, else its complaint."""
    from .sim import Simulator

    try:
        Simulator(clock="virtual", scenario={"inventory": inventory})
    except ValueError as exc:
        return str(exc)
    return None


def _validated(inventory: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``inventory``, or as much of it as the simulator accepts (each omission noted)."""
    if _loads(inventory) is None:
        return inventory
    base: dict[str, Any] = {}
    if inventory.get("cluster"):
        problem = _loads({"cluster": inventory["cluster"]})
        if problem is None:
            base["cluster"] = inventory["cluster"]
        else:
            notes.append(f"inventory: cluster left out ({problem})")
    for key in ("aggregates", "svms", "volumes", "snapshots"):
        kept: list[dict[str, Any]] = []
        volumes = {v.get("uuid"): v for v in base.get("volumes", [])}
        for entry in inventory.get(key, []):
            context = dict(base)
            if key == "snapshots":
                volume = volumes.get((entry.get("volume") or {}).get("uuid"))
                context["volumes"] = [volume] if volume is not None else []
            minimal = {k: v for k, v in entry.items() if k in _MINIMAL[key]}
            problem = None
            for candidate in (entry, minimal):
                problem = _loads({**context, key: [candidate]})
                if problem is None:
                    kept.append(candidate)
                    if candidate is minimal and minimal != entry:
                        notes.append(
                            f"inventory: {key} {entry.get('name')!r}: some fields left out"
                        )
                    break
            if problem is not None:
                notes.append(f"inventory: {key} {entry.get('name')!r} left out ({problem})")
        base[key] = kept
    problem = _loads(base)
    if problem is not None:
        notes.append(f"inventory: volumes and snapshots left out ({problem})")
        base = {k: v for k, v in base.items() if k not in ("volumes", "snapshots")}
    return base


def read_inventory(fetch: Fetch) -> tuple[dict[str, Any], list[str]]:
    """The upstream's cluster, aggregates, SVMs, volumes and snapshots, in the form a
    scenario's ``inventory`` takes (uuids kept, so writes naming them replay), with notes on
    what was left out. Raises ``_Unauthorized`` on a 401, or when ``/api/cluster`` does not
    answer or answers 5xx."""
    notes: list[str] = []
    inventory: dict[str, Any] = {}
    status, body = fetch("/api/cluster?fields=name,uuid,version")
    if status == 401 or status == 0 or status >= 500:
        raise _Unauthorized
    if status == 200 and isinstance(body, Mapping):
        cluster = _pick(body, ("name", "uuid"))
        version = body.get("version") or {}
        parts = [version.get(k) for k in ("generation", "major", "minor")]
        if all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
            cluster["version"] = ".".join(str(p) for p in parts)
        inventory["cluster"] = cluster
    else:
        notes.append(f"inventory: GET /api/cluster answered {status}: left out")
    inventory["aggregates"] = [
        _pick(r, _AGGREGATE_FIELDS)
        for r in _collection(fetch, "/api/storage/aggregates", _AGGREGATE_FIELDS, notes)
    ]
    inventory["svms"] = [
        _pick(r, _SVM_FIELDS) for r in _collection(fetch, "/api/svm/svms", _SVM_FIELDS, notes)
    ]
    volumes = [
        _pick(r, _VOLUME_FIELDS)
        for r in _collection(fetch, "/api/storage/volumes", _VOLUME_FIELDS, notes)
    ]
    inventory["volumes"] = volumes
    snapshots: list[dict[str, Any]] = []
    for volume in volumes:
        uuid = volume.get("uuid")
        if not isinstance(uuid, str) or not _UUID.fullmatch(uuid):
            continue
        path = f"/api/storage/volumes/{uuid}/snapshots"
        for record in _collection(fetch, path, _SNAPSHOT_FIELDS, notes):
            snapshots.append({**_pick(record, _SNAPSHOT_FIELDS), "volume": {"uuid": uuid}})
    inventory["snapshots"] = snapshots
    return _validated(inventory, notes), notes


# -- the upstream connection ----------------------------------------------------------------
class _UnverifiedHTTPSPool(HTTPSConnectionPool):
    """Only with ``--upstream-insecure``: no InsecureRequestWarning per request (the opt-out
    was explicit and is announced once); a warning turned error would break the proxy."""

    def _validate_conn(self, conn: Any) -> None:
        if conn.is_closed:
            conn.connect()


def check_upstream(url: str) -> str:
    """``url`` without a trailing slash; ValueError unless it is a plain http(s) base URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--upstream {url!r}: expected an http(s) URL such as https://cluster1")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "--upstream must not carry credentials: clients send their own, and they are "
            "forwarded as they come"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"--upstream {url!r}: no query or fragment, just the base URL")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"--upstream {url!r}: bad port") from None
    return url.strip().rstrip("/")


def _make_pool(url: str, verify: bool | str, maxsize: int) -> HTTPConnectionPool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=DEFAULT_TIMEOUT)
    if parts.scheme == "http":
        return HTTPConnectionPool(
            host, parts.port, maxsize=maxsize, block=False, timeout=timeout, retries=False
        )
    if verify is False:
        return _UnverifiedHTTPSPool(
            host,
            parts.port,
            maxsize=maxsize,
            block=False,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_NONE",
            assert_hostname=False,
        )
    return HTTPSConnectionPool(
        host,
        parts.port,
        maxsize=maxsize,
        block=False,
        timeout=timeout,
        retries=False,
        cert_reqs="CERT_REQUIRED",
        ca_certs=verify if isinstance(verify, str) else None,
    )


def _decoded(data: bytes, encoding: str | None) -> bytes | None:
    """A compressed answer's bytes, decompressed for reading (the client gets them as sent)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return data
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(data, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(data)
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS)
    except zlib.error:
        return None
    return None


def _json(data: bytes | None) -> Any:
    if not data or len(data) > MAX_PARSED_BYTES:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _error_answer(start_response: StartResponse, status: int, message: str) -> list[bytes]:
    body = json.dumps({"error": {"message": message, "code": "2"}}).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/hal+json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _int_code(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


# -- the recorder ------------------------------------------------------------------------------
class Recorder:
    """A WSGI application forwarding every request to ``upstream`` and recording its jobs.

    ``verify`` is True (the system CA store), a CA bundle path, or False. The recorder's own
    job GETs are a tenth of the time the job has spent in its current state apart, within
    ``poll_interval`` and ``poll_max``. A job is followed for at most
    ``job_timeout`` seconds. ``segment`` names what is running (the plugin passes the current
    test's id), kept with each write. Serve it with :func:`simulator.serve`; then
    :meth:`stop` and :meth:`save` (or :meth:`scenario`).
    """

    def __init__(
        self,
        upstream: str,
        *,
        verify: bool | str = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        poll_max: float = DEFAULT_POLL_MAX,
        job_timeout: float = DEFAULT_JOB_TIMEOUT,
        timeout: float = DEFAULT_TIMEOUT,
        segment: Callable[[], str | None] | None = None,
    ) -> None:
        for name, value in (
            ("poll_interval", poll_interval),
            ("poll_max", poll_max),
            ("job_timeout", job_timeout),
            ("timeout", timeout),
        ):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.upstream = check_upstream(upstream)
        self._prefix = urlsplit(self.upstream).path.rstrip("/")
        self._pool = _make_pool(self.upstream, verify, maxsize=32)
        self._timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=timeout)
        self._own_timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=OWN_READ_TIMEOUT)
        self.poll_interval = float(poll_interval)
        self.poll_max = max(float(poll_max), self.poll_interval)
        self.job_timeout = float(job_timeout)
        self._segment = segment
        self._lock = threading.Lock()
        self._writes: list[WriteRecord] = []
        self._threads: list[threading.Thread] = []
        self._claimed: set[str] = set()
        self._stopping = threading.Event()
        self._inventory_lock = threading.Lock()
        self._inventory: dict[str, Any] | None = None
        self._notes: list[str] = []
        self.started_at = time.time()
        self.stopped_at: float | None = None
        #: Time (seconds) the recorder itself spent on each request, besides the upstream's.
        self.overhead: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    def __repr__(self) -> str:
        return f"<Recorder {self.upstream} writes={len(self._writes)}>"

    @property
    def writes(self) -> list[WriteRecord]:
        """The writes seen so far, in the order they arrived."""
        with self._lock:
            return list(self._writes)

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        entered = time.perf_counter()
        try:
            return self._proxy(environ, start_response, entered)
        except Exception:  # never a traceback to the client; the server goes on
            log.exception("recorder error on %s", environ.get("REQUEST_METHOD"))
            return _error_answer(start_response, 500, "ontap-sim record: internal error")

    def _proxy(
        self, environ: WSGIEnvironment, start_response: StartResponse, entered: float
    ) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        target = _request_target(environ)
        path = _decoded_path(environ)
        query = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
        try:
            body = _read_body(environ)
        except ValueError as exc:
            return _error_answer(start_response, 413 if "exceeds" in str(exc) else 400, str(exc))
        headers = _forwarded_headers(environ)
        authorization = headers.get("Authorization")
        if authorization and self._inventory is None:
            self._read_inventory(authorization)
            entered = time.perf_counter()  # a one-off, logged on its own
        record = None
        secrets: frozenset[str] = frozenset()
        if method in WRITE_METHODS and path.startswith("/api/") and not _is_jobs_path(path):
            parsed = _json(body) if body else None
            secrets = request_secrets(authorization, parsed, query)
            record = self._begin(method, path, parsed, query, secrets)
        sent = time.perf_counter()
        try:
            answer = self._pool.urlopen(
                method,
                self._prefix + target,
                body=body if body or method in WRITE_METHODS else None,
                headers=headers,
                retries=False,
                redirect=False,
                timeout=self._timeout,
                preload_content=True,
                decode_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            # NewConnectionError (refused, unresolvable) subclasses ConnectTimeoutError.
            refused = isinstance(exc, urllib3.exceptions.NewConnectionError)
            timed_out = isinstance(exc, urllib3.exceptions.TimeoutError) and not refused
            status = 504 if timed_out else 502
            if record is not None:
                self._end_unreachable(record, status)
            problem = (
                f"did not answer within {self._timeout.read_timeout} s"
                if timed_out
                else f"cannot be reached: {type(exc).__name__}: {exc}"
            )
            message = f"ontap-sim record: the upstream {self.upstream} {problem}"
            log.warning("%s %s -> %s: %s", method, _logged(path, query), status, message)
            return _error_answer(start_response, status, message)
        received = time.perf_counter()
        data = answer.data or b""
        if record is not None:
            self._end(record, answer, data, authorization, secrets)
        out_headers = [
            (key, value)
            for key, value in answer.headers.items()
            if key.lower() not in _NOT_RETURNED
            and not (key.lower() == "content-length" and method != "HEAD")
        ]
        if method == "HEAD":
            length = answer.headers.get("Content-Length")
            if length is not None:
                out_headers.append(("Content-Length", length))
        else:
            out_headers.append(("Content-Length", str(len(data))))
        reason_phrase = answer.reason or _phrase(answer.status)
        start_response(f"{answer.status} {reason_phrase}", out_headers)
        done = time.perf_counter()
        self.overhead.append((sent - entered) + (done - received))
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s -> %s (%.1f ms upstream)",
                method,
                _logged(path, query),
                answer.status,
                (received - sent) * 1000,
            )
        return [data]

    # -- recording writes --------------------------------------------------------------------
    def _begin(
        self,
        method: str,
        path: str,
        parsed: Any,
        query: Mapping[str, str],
        secrets: frozenset[str],
    ) -> WriteRecord:
        return_timeout = _int_code(query.get("return_timeout"))
        with self._lock:
            record = WriteRecord(
                index=len(self._writes),
                method=method,
                path=scrub(path, secrets),
                body=body_shape(parsed) if parsed is not None else None,
                return_timeout=return_timeout,
                test=self._segment() if self._segment is not None else None,
                started=time.monotonic(),
                wall=time.time(),
            )
            self._writes.append(record)
        return record

    def _end_unreachable(self, record: WriteRecord, status: int) -> None:
        record.answered = time.monotonic()
        record.status = status
        record.kind = "unreachable"
        record.note = "the upstream did not answer"

    def _end(
        self,
        record: WriteRecord,
        answer: urllib3.BaseHTTPResponse,
        data: bytes,
        authorization: str | None,
        secrets: frozenset[str],
    ) -> None:
        record.answered = time.monotonic()
        record.status = status = answer.status
        if status == 401:
            record.kind = "unauthorized"
            return
        parsed = _json(_decoded(data, answer.headers.get("Content-Encoding")))
        job = parsed.get("job") if isinstance(parsed, Mapping) else None
        job_uuid = job.get("uuid") if isinstance(job, Mapping) else None
        if 200 <= status < 300 and isinstance(job_uuid, str) and _JOB_ID.fullmatch(job_uuid):
            record.kind = "job"
            record.job_uuid = job_uuid
            self._spawn(self._follow, record, authorization, secrets)
            return
        error = parsed.get("error") if isinstance(parsed, Mapping) else None
        if 400 <= status < 500 and isinstance(error, Mapping):
            record.kind = "error"
            record.error = scrub(
                {k: error[k] for k in ("message", "code", "target") if k in error}, secrets
            )
            if record.return_timeout and authorization:
                # A job that failed within return_timeout answers an error too: look for it.
                self._spawn(self._find_failed_job, record, authorization, secrets)
        else:
            record.kind = "other"

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="ontap-sim record", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _get(self, path: str, authorization: str | None) -> tuple[int, Any]:
        """The recorder's own GET (status, parsed JSON); status 0 when it failed in transit."""
        headers = {"Accept": "application/hal+json"}
        if authorization:
            headers["Authorization"] = authorization
        try:
            answer = self._pool.request(
                "GET",
                self._prefix + path,
                headers=headers,
                retries=False,
                redirect=False,
                timeout=self._own_timeout,
            )
        except urllib3.exceptions.HTTPError as exc:
            log.debug("GET %s failed: %r", path, exc)
            return 0, None
        return answer.status, _json(answer.data)

    def _follow(
        self, record: WriteRecord, authorization: str | None, secrets: frozenset[str]
    ) -> None:
        """Poll the job until it ends (or the recorder stops, or ``job_timeout``)."""
        assert record.job_uuid is not None
        path = f"/api/cluster/jobs/{quote(record.job_uuid, safe='')}?fields={_JOB_FIELDS}"
        interval = self.poll_interval
        errors = 0
        last: Observation | None = None
        final_look = False
        while True:
            sent = time.monotonic()
            status, body = self._get(path, authorization)
            at = (sent + time.monotonic()) / 2
            if status == 200 and isinstance(body, Mapping) and isinstance(body.get("state"), str):
                errors = 0
                message = body.get("message")
                obs = Observation(
                    at,
                    str(body["state"]),
                    scrub(message, secrets) if isinstance(message, str) else None,
                    _int_code(body.get("code")),
                )
                record.observations.append(obs)
                if obs.state in TERMINAL:
                    if isinstance(body.get("error"), Mapping):
                        record.job_error = scrub(dict(body["error"]), secrets)
                    break
                if last is None or last.key != obs.key:
                    last = obs
                # A tenth of the time spent in this state: each boundary is placed within about
                # 5 % of the state's duration, and a long wait costs few GETs.
                interval = min(max((at - last.at) / 10, self.poll_interval), self.poll_max)
            elif (
                status == 404
                and not record.observations
                and time.monotonic() - record.started < NOT_FOUND_GRACE
            ):
                interval = min(interval * 2, self.poll_max)  # read-after-write lag
            elif status in (401, 403, 404):
                record.note = f"a GET of the job answered {status}: stopped following it"
                break
            else:
                errors += 1
                if errors >= MAX_POLL_ERRORS:
                    record.note = f"{errors} GETs of the job in a row failed"
                    break
                interval = min(interval * 2, self.poll_max)
            if final_look:
                break
            if time.monotonic() - record.started >= self.job_timeout:
                record.note = f"not finished after {self.job_timeout:g} s"
                break
            if self._stopping.wait(interval):
                final_look = True
        if log.isEnabledFor(logging.INFO):
            log.info(
                "job %s of %s %s: %s",
                record.job_uuid,
                record.method,
                record.path,
                " -> ".join(_shown(step) for step in job_steps(record)),
            )

    def _find_failed_job(
        self, record: WriteRecord, authorization: str, secrets: frozenset[str]
    ) -> None:
        """Was this error a job failing within ``return_timeout``? Then it is a job."""
        error = record.error or {}
        description = f"{record.method} {record.path.rstrip('/')}"
        query = urlencode(
            {
                "state": "failure",
                "fields": "uuid,description,message,code,error",
                "order_by": "start_time desc",
                "max_records": 50,
            }
        )
        status, body = self._get(f"/api/cluster/jobs?{query}", authorization)
        if status != 200 or not isinstance(body, Mapping):
            return
        for job in body.get("records") or []:
            if not isinstance(job, Mapping):
                continue
            uuid = job.get("uuid")
            message = scrub(job.get("message"), secrets)
            if (
                job.get("description") != description
                or message != error.get("message")
                or str(job.get("code")) != str(error.get("code"))
                or not isinstance(uuid, str)
            ):
                continue
            with self._lock:
                if uuid in self._claimed:
                    continue
                self._claimed.add(uuid)
            record.kind = "job"
            record.job_uuid = uuid
            record.failed_in_time = True
            assert record.answered is not None
            record.observations.append(
                Observation(record.answered, "failure", message, _int_code(job.get("code")))
            )
            if isinstance(job.get("error"), Mapping):
                record.job_error = scrub(dict(job["error"]), secrets)
            return

    def _read_inventory(self, authorization: str) -> None:
        """Read the upstream's inventory once, with the first credentials that work."""
        with self._inventory_lock:
            if self._inventory is not None:
                return
            began = time.perf_counter()
            try:
                inventory, notes = read_inventory(lambda p: self._get(p, authorization))
            except _Unauthorized:
                return
            self._notes.extend(notes)
            self._inventory = inventory
            for note in notes:
                log.warning("%s", note)
            log.info(
                "inventory read in %.0f ms: %s",
                (time.perf_counter() - began) * 1000,
                ", ".join(f"{len(v)} {k}" for k, v in inventory.items() if isinstance(v, list)),
            )

    # -- stopping and saving -----------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """Stop following jobs (each gets one last look) and wait for that, up to ``timeout``."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        if self.stopped_at is None:
            self.stopped_at = time.time()

    def close(self) -> None:
        """Stop, then close the upstream connections."""
        self.stop()
        self._pool.close()

    def scenario(self) -> dict[str, Any]:
        """The recording as a scenario (call :meth:`stop` first for finished timelines)."""
        return build_scenario(
            self.writes,
            inventory=self._inventory,
            upstream=self.upstream,
            started=self.started_at,
            stopped=self.stopped_at or time.time(),
            notes=self._notes,
        )

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> dict[str, Any]:
        """Write :meth:`scenario` to ``path`` atomically (see :func:`write_scenario`)."""
        scenario = self.scenario()
        write_scenario(path, scenario, force=force)
        return scenario

    def latency(self) -> dict[str, float]:
        """Median and 99th percentile of the time the recorder added per request (seconds)."""
        values = sorted(self.overhead)
        if not values:
            return {}
        p99 = values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)]
        return {"requests": len(values), "median": statistics.median(values), "p99": p99}


def _shown(step: Mapping[str, Any]) -> str:
    text = str(step["state"])
    if "seconds" in step:
        text += f" {step['seconds']:g} s"
    if step.get("message") is not None:
        text += f" {step['message']!r}"
    if "code" in step:
        text += f" ({step['code']})"
    return text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _is_jobs_path(path: str) -> bool:
    return path.rstrip("/").split("/")[:4] == ["", "api", "cluster", "jobs"]


def _request_target(environ: WSGIEnvironment) -> str:
    """The path and query as the client sent them (still percent-encoded)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    if isinstance(raw, str) and "://" in raw:
        parts = urlsplit(raw)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = quote(_decoded_path(environ), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING") or ""
    return path + (f"?{query}" if query else "")


def _decoded_path(environ: WSGIEnvironment) -> str:
    raw = str(environ.get("PATH_INFO", "/")) or "/"
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not length_text.isdigit():
            raise ValueError(f'ontap-sim record: the Content-Length "{length_text}" is invalid')
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise ValueError(f"ontap-sim record: the request body exceeds {MAX_BODY_BYTES} bytes")
        return bytes(stream.read(length)) if length else b""
    if environ.get("wsgi.input_terminated"):
        data = bytes(stream.read(MAX_BODY_BYTES + 1))
        if len(data) > MAX_BODY_BYTES:
            raise ValueError(f"ontap-sim record: the request body exceeds {MAX_BODY_BYTES} bytes")
        return data
    return b""


def _forwarded_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith("HTTP_"):
            continue
        name = key[5:].replace("_", "-").title()
        if name.lower() not in _NOT_FORWARDED:
            headers[name] = str(value)
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    return headers


def _logged(path: str, query: Mapping[str, str]) -> str:
    """A request for the log: password-like query arguments redacted."""
    shown = urlencode(list(redact(dict(query)).items()), safe="<>")
    return f"{path}?{shown}" if shown else path


# -- the file ----------------------------------------------------------------------------------
def write_scenario(
    path: str | os.PathLike[str], scenario: Mapping[str, Any], *, force: bool = False
) -> None:
    """Write ``scenario`` as JSON to ``path`` atomically: a temporary file in the same
    directory, then a rename. Without ``force`` an existing file is never replaced
    (FileExistsError)."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    text = json.dumps(scenario, indent=2, ensure_ascii=False) + "\n"
    fd, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        if force:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)  # fails if target exists: no race with another writer
        except FileExistsError:
            raise FileExistsError(f"{target} exists; pass --force to replace it") from None
        except OSError:  # a file system without hard links
            if os.path.exists(target):
                raise FileExistsError(f"{target} exists; pass --force to replace it") from None
            os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def check_output(path: str, *, force: bool) -> str | None:
    """Why ``path`` cannot take a recording (None when it can): checked before recording."""
    if os.path.isdir(path):
        return f"--out {path} is a directory"
    if os.path.exists(path) and not force:
        return f"--out {path} exists; pass --force to replace it"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"--out {path}: directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"--out {path}: directory {directory} is not writable"
    return None


# -- the command line --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ontap-sim record",
        description=(
            "A recording proxy in front of a real ONTAP cluster: clients use it with their own "
            "credentials, every request is forwarded and answered unchanged, and on SIGINT or "
            "SIGTERM the jobs and synchronous errors seen are written as a scenario that "
            "`ontap-sim --scenario FILE` replays."
        ),
        epilog="See docs/record-replay.md. Credentials are never written anywhere.",
    )
    parser.add_argument("--upstream", required=True, metavar="URL", help="the cluster's base URL")
    parser.add_argument("--out", required=True, metavar="FILE", help="scenario file to write")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS on a generated certificate (its CA's path is printed)",
    )
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--upstream-ca-bundle", metavar="PEM", help="CA bundle to verify the upstream with"
    )
    trust.add_argument(
        "--upstream-insecure",
        action="store_true",
        help="do not verify the upstream's TLS certificate",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        metavar="S",
        help=f"shortest sleep between the recorder's job GETs (default {DEFAULT_POLL_INTERVAL}); "
        f"they are a tenth of the time spent in the current state apart, up to "
        f"{DEFAULT_POLL_MAX:g} s",
    )
    parser.add_argument(
        "--job-timeout",
        type=float,
        default=DEFAULT_JOB_TIMEOUT,
        metavar="S",
        help=f"stop following a job after this long (default {DEFAULT_JOB_TIMEOUT:g})",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``ontap-sim record ...``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    for name in ("poll_interval", "job_timeout"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            parser.error(f"--{name.replace('_', '-')} must be a positive number of seconds")
    try:
        upstream = check_upstream(args.upstream)
    except ValueError as exc:
        parser.error(str(exc))
    if args.upstream_ca_bundle and not os.path.isfile(args.upstream_ca_bundle):
        parser.error(f"--upstream-ca-bundle {args.upstream_ca_bundle} does not exist")
    problem = check_output(args.out, force=args.force)
    if problem is not None:
        print(f"ontap-sim record: {problem}", file=sys.stderr)
        return 2

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    verify: bool | str = False if args.upstream_insecure else (args.upstream_ca_bundle or True)
    if verify is False and upstream.startswith("https:"):
        log.warning("TLS certificate verification of %s is OFF (--upstream-insecure)", upstream)
    from .cli import is_loopback

    if not is_loopback(args.host) and not args.tls:
        log.warning(
            "listening on %s over plain HTTP: clients' credentials cross the network in clear "
            "(use --tls)",
            args.host,
        )
    recorder = Recorder(
        upstream, verify=verify, poll_interval=args.poll_interval, job_timeout=args.job_timeout
    )

    from .server import serve

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            with serve(recorder, host=args.host, port=args.port, tls=args.tls) as handle:
                print(f"ontap-sim listening on {handle.url}", flush=True)
                if handle.ca_file:
                    print(f"ontap-sim CA certificate: {handle.ca_file}", flush=True)
                print(
                    f"ontap-sim recording {upstream} into {args.out}; "
                    "stop with Ctrl-C (SIGINT) or SIGTERM to write it",
                    flush=True,
                )
                while not stop.wait(0.5):
                    pass
        except OSError as exc:
            where = f"{args.host}:{args.port}"
            print(f"ontap-sim record: cannot listen on {where}: {exc}", file=sys.stderr)
            recorder.close()
            return 1
        # Still under our handlers: another Ctrl-C while the last jobs are seen to their end
        # and the file is written changes nothing.
        recorder.close()
        try:
            scenario = recorder.save(args.out, force=args.force)
        except (OSError, ValueError) as exc:
            print(f"ontap-sim record: cannot write {args.out}: {exc}", file=sys.stderr)
            return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    writes = scenario["recording"]["writes"]
    jobs = sum("job" in w for w in writes)
    errors = sum("error" in w for w in writes)
    latency = recorder.latency()
    added = (
        f"; added {latency['median'] * 1000:.2f} ms median, {latency['p99'] * 1000:.2f} ms p99 "
        f"per request over {latency['requests']:g}"
        if latency
        else ""
    )
    print(
        f"ontap-sim record: wrote {args.out}: {len(writes)} writes, {jobs} jobs, "
        f"{errors} synchronous errors{added}",
        flush=True,
    )
    return 0
