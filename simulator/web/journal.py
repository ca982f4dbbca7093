"""The request journal's entries: what a request on the ONTAP API leaves in it (method, path,
query and body with secrets redacted, status, time, client app, fault, job), never its
``Authorization`` header, and bodies over the journal's cap summarised instead of kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from flask import Request

from ..errors import ApiError
from ..journal import JOURNAL_BODY_BYTES, redact
from .exchange import Exchange
from .parse import parse_json, query_params, raw_body

__all__ = ["JournalWriter", "unkept"]


def unkept(size: str) -> str:
    return f"<{size} bytes: over the journal's {JOURNAL_BODY_BYTES}-byte limit, not kept>"


class JournalWriter:
    """Builds journal entries and hands them to ``record``, stamped with ``now()``."""

    def __init__(
        self, record: Callable[[Mapping[str, Any]], None], now: Callable[[], float]
    ) -> None:
        self.record = record
        self.now = now

    def stranger(self, method: str, path: str, status: int) -> None:
        """A request that failed auth costs one small entry: no query, no body."""
        self.record({"method": method, "path": path, "status": status, "time": self.now()})

    def write(self, request: Request, state: Exchange, status: int | None) -> None:
        """Journal ``request`` (``status`` None: dropped, no answer)."""
        body = self._body(request)
        entry = self._entry(request.environ, request.method, request.path, status, body)
        if state.fault is not None:
            entry["fault"] = state.fault.kind
        if state.job_uuid:
            entry["job"] = state.job_uuid
        self.record(entry)

    def write_bodiless(self, environ: MutableMapping[str, Any], path: str, status: int) -> None:
        """Journal a request without a body that drew no fault and started no job."""
        self.record(self._entry(environ, environ["REQUEST_METHOD"].upper(), path, status, {}))

    def _entry(
        self,
        environ: MutableMapping[str, Any],
        method: str,
        path: str,
        status: int | None,
        body: Mapping[str, Any],
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": redact(query_params(environ)),
            "status": status,
            "time": self.now(),
            **body,
        }
        client_app = environ.get("HTTP_X_DOT_CLIENT_APP")  # headers.get("X-Dot-Client-App")
        if client_app:
            entry["client_app"] = client_app
        return entry

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        """The entry's ``body``: none for an empty body."""
        length = (request.environ.get("CONTENT_LENGTH") or "").strip()
        if length.isascii() and length.isdigit() and int(length[:19]) > JOURNAL_BODY_BYTES:
            return {"body": unkept(length)}  # not read just to be journaled
        try:
            raw = raw_body(request)
        except ApiError:
            return {"body": "<unread>"}
        if len(raw) > JOURNAL_BODY_BYTES:
            return {"body": unkept(str(len(raw)))}
        if not raw:
            return {}
        try:
            return {"body": redact(parse_json(raw))}
        except ApiError:
            return {"body": "<unparsable>"}
