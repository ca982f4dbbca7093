"""The request journal's entries: what a request on the ONTAP API leaves in it (method, path,
query, body, status, time, client app, fault, job), never its ``Authorization`` header.

An entry is kept raw (:class:`RawEntry`: the query string and the body's bytes as they came)
and decoded, with password-like fields redacted, only when the journal is read: recording
costs a poll almost nothing, and nothing that reads the journal (``sim.journal``,
``sim.latest_requests``, ``/simulator/requests``, the board) sees a secret. Bodies over the
journal's cap are summarised instead of kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from flask import Request

from ..errors import ApiError
from ..journal import JOURNAL_BODY_BYTES, Recorded, redact
from .exchange import Exchange
from .parse import parse_json, parse_query, raw_body

__all__ = ["JournalWriter", "RawEntry", "unkept"]

#: What a decoded entry costs besides its strings (measured with ``retained_bytes``: 683 bytes
#: for a GET of /api/cluster without a query), what each query argument adds (110-230), and
#: what a client app adds (~200): the estimate stays above the measure.
_ENTRY_BYTES = 704
_ARGUMENT_BYTES = 192
_CLIENT_APP_BYTES = 200
#: Redacted query arguments by query string, remembered for short ones (pollers repeat theirs).
_REDACTED: dict[str, dict[str, Any]] = {}
_REDACTED_MAX = 256
_REDACTED_CHARS = 512


def unkept(size: str) -> str:
    return f"<{size} bytes: over the journal's {JOURNAL_BODY_BYTES}-byte limit, not kept>"


def _redacted_query(raw: str) -> dict[str, Any]:
    found = _REDACTED.get(raw)
    if found is None:
        found = redact(parse_query(raw))
        if len(raw) <= _REDACTED_CHARS:
            if len(_REDACTED) >= _REDACTED_MAX:
                _REDACTED.clear()
            _REDACTED[raw] = found
    return found


class RawEntry:
    """One request as it came: ``body`` is its bytes (to decode), a summary, or None."""

    __slots__ = ("body", "client_app", "fault", "job", "method", "path", "query", "status", "time")

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        status: int | None,
        time: float,
        body: bytes | str | None = None,
        client_app: str | None = None,
        fault: str | None = None,
        job: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.status = status
        self.time = time
        self.body = body
        self.client_app = client_app
        self.fault = fault
        self.job = job

    @property
    def size(self) -> int:
        """At least what the decoded entry would keep: the journal's byte bound counts it."""
        query, client_app = self.query, self.client_app
        size = _ENTRY_BYTES + 2 * (len(self.path) + len(query))
        if query:
            size += _ARGUMENT_BYTES * (query.count("&") + 1)
        if client_app:
            size += _CLIENT_APP_BYTES + 2 * len(client_app)
        if self.body is not None:
            size += 4 * len(self.body)
        return size

    def decode(self) -> dict[str, Any]:
        """The entry as the journal shows it, secrets redacted."""
        entry: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "query": _redacted_query(self.query),
            "status": self.status,
            "time": self.time,
        }
        body = self.body
        if isinstance(body, bytes):
            try:
                entry["body"] = redact(parse_json(body))
            except ApiError:
                entry["body"] = "<unparsable>"
        elif body is not None:
            entry["body"] = body
        if self.client_app:
            entry["client_app"] = self.client_app
        if self.fault is not None:
            entry["fault"] = self.fault
        if self.job:
            entry["job"] = self.job
        return entry


class JournalWriter:
    """Hands entries to ``record`` (the simulator's journal), stamped with ``now()``."""

    def __init__(
        self,
        record: Callable[[Mapping[str, Any] | Recorded], None],
        now: Callable[[], float],
    ) -> None:
        self.record = record
        self.now = now

    def stranger(self, method: str, path: str, status: int) -> None:
        """A request that failed auth costs one small entry: no query, no body."""
        self.record({"method": method, "path": path, "status": status, "time": self.now()})

    def write(self, request: Request, state: Exchange, status: int | None) -> None:
        """Journal ``request`` (``status`` None: dropped, no answer)."""
        environ = request.environ
        self.record(
            RawEntry(
                request.method,
                request.path,
                environ.get("QUERY_STRING", ""),
                status,
                self.now(),
                self._body(request),
                environ.get("HTTP_X_DOT_CLIENT_APP"),  # headers.get("X-Dot-Client-App")
                None if state.fault is None else state.fault.kind,
                state.job_uuid,
            )
        )

    def write_bodiless(self, environ: MutableMapping[str, Any], path: str, status: int) -> None:
        """Journal a request without a body that drew no fault and started no job."""
        self.record(
            RawEntry(
                environ["REQUEST_METHOD"].upper(),
                path,
                environ.get("QUERY_STRING", ""),
                status,
                self.now(),
                client_app=environ.get("HTTP_X_DOT_CLIENT_APP"),
            )
        )

    @staticmethod
    def _body(request: Request) -> bytes | str | None:
        """The body to keep: its bytes, a summary (too large, unread), or None (empty)."""
        length = (request.environ.get("CONTENT_LENGTH") or "").strip()
        if length.isascii() and length.isdigit() and int(length[:19]) > JOURNAL_BODY_BYTES:
            return unkept(length)  # not read just to be journaled
        try:
            raw = raw_body(request)
        except ApiError:
            return "<unread>"
        if len(raw) > JOURNAL_BODY_BYTES:
            return unkept(str(len(raw)))
        return raw or None
