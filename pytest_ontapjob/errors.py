"""Exceptions raised by pytest_ontapjob, all under one base class, :class:`OntapJobError`.

Hierarchy::

    OntapJobError
    ├── OntapError            an HTTP error answer from ONTAP (status, code, message, target)
    │   └── AuthError         401/403: credentials or RBAC
    ├── ProtocolError         the server broke ONTAP's protocol (the body is quoted)
    ├── JobError              a job's outcome; carries the last job record as ``.job``
    │   ├── JobFailed         the job ended in ``failure``
    │   ├── JobTimeout        the deadline passed before the job ended
    │   │   └── JobPausedTooLong
    │   └── JobLost           the job answered 404 (purged, or never appeared)
    ├── TransientError        raised by a fetch function: "retry me"
    ├── RetriesExhausted      too many consecutive transient errors
    └── JobNotFound           raised by a fetch function on a 404 for the job

Every message names what a person needs to act: the job's uuid, description, state, message and
code, or the HTTP status, ONTAP code and target. No message ever contains credentials.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "AuthError",
    "JobError",
    "JobFailed",
    "JobLost",
    "JobNotFound",
    "JobPausedTooLong",
    "JobTimeout",
    "OntapError",
    "OntapJobError",
    "ProtocolError",
    "RetriesExhausted",
    "TransientError",
    "TransportError",
]

#: How many characters of a body a message quotes.
BODY_QUOTE_LIMIT = 500
#: How many characters of a server's job or error message a rendered message shows.
SERVER_TEXT_LIMIT = 1000
#: Control characters a terminal would act on (all but newline and tab), shown escaped.
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (9, 10)}

JobRecord = Mapping[str, Any]


def _restore(cls: type[OntapJobError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Rebuild a pickled exception without calling its (keyword-rich) ``__init__``."""
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class OntapJobError(Exception):
    """Base class of every exception this package raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduce calls cls(*args), which does not match the subclasses' signatures.
        return (_restore, (type(self), self.args, self.__dict__))


def quote_body(body: object, limit: int = BODY_QUOTE_LIMIT) -> str:
    """Render ``body`` (text, bytes or parsed JSON) for a message, cut to ``limit`` characters."""
    if isinstance(body, bytes | bytearray):
        if len(body) > 4 * limit:  # decode no more than can be shown
            cut = bytes(body[: 4 * limit]).decode("utf-8", errors="replace")
            return f"{cut[:limit]}... ({len(body)} bytes)"
        text = bytes(body).decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body
    else:
        try:
            text = json.dumps(body, default=repr, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(body)
        except RecursionError:
            text = f"<a {type(body).__name__} nested too deep to show>"
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text)} characters)"
    return text


def _shown(value: object, limit: int = SERVER_TEXT_LIMIT) -> str:
    """Server-sent ``value`` for a message: cut to ``limit`` characters, controls escaped."""
    return quote_body(str(value), limit).translate(_ESCAPES)


def coerce_code(code: object) -> int | None:
    """Return a job's ``code`` as an int: ints as is, numeric strings parsed, anything else None.

    ONTAP documents the job code as an integer, but a tolerant reader should not crash on
    ``"460770"``; a code it cannot read is dropped rather than guessed.
    """
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, float):
        return int(code) if math.isfinite(code) and code.is_integer() else None
    if isinstance(code, str):
        try:
            return int(code.strip())
        except ValueError:
            return None
    return None


def redact_url(url: str | None) -> str | None:
    """Drop any ``user:password@`` from ``url`` so it is safe to show and log."""
    if url is None:
        return None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _request_label(method: str | None, url: str | None) -> str:
    """``"POST /api/storage/volumes"`` from a method and a (full or relative) URL."""
    path = (urlsplit(url).path or url) if url else None
    return " ".join(part for part in (method, path) if part)


class OntapError(OntapJobError):
    """An HTTP error answer from ONTAP (or from the simulator), parsed from its error body.

    ``code`` is a string, as ONTAP sends it (``"4"``, ``"262179"``); ``body`` is the parsed JSON
    body when it was JSON, else the raw text; ``url`` never contains credentials.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        arguments: list[Any] | None = None,
        body: object = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.target = target
        self.arguments: list[Any] = list(arguments) if arguments else []
        self.body = body
        self.method = method
        self.url = redact_url(url)
        super().__init__(self._render())

    def _render(self) -> str:
        label = _request_label(self.method, self.url)
        head = f"HTTP {self.status} on {label}" if label else f"HTTP {self.status}"
        details = []
        if self.code is not None:
            details.append(f"code {_shown(self.code, 100)}")
        if self.target:
            details.append(f"target {_shown(self.target, 200)}")
        tail = f" ({', '.join(details)})" if details else ""
        return f"{head}: {_shown(self.message) if self.message else _reason(self.status)}{tail}"

    @classmethod
    def from_response(
        cls,
        status: int,
        body: object,
        method: str | None = None,
        url: str | None = None,
    ) -> OntapError:
        """Build the error for an answer with ``status`` and ``body`` (text, bytes or parsed).

        Parses ``{"error": {"message", "code", "target", "arguments"}}``; a body that is not JSON
        or has no error object still gives a useful error, quoting the start of the body.
        Returns an :class:`AuthError` for 401 and 403.
        """
        parsed: object = body
        if isinstance(body, bytes | bytearray):
            body = bytes(body).decode("utf-8", errors="replace")
        if isinstance(body, str):
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                parsed = body
        error = parsed.get("error") if isinstance(parsed, Mapping) else None
        kind = AuthError if cls is OntapError and status in (401, 403) else cls
        if isinstance(error, Mapping):
            message = error.get("message")
            code = error.get("code")
            target = error.get("target")
            arguments = error.get("arguments")
            return kind(
                status,
                str(message) if message is not None else "",
                code=str(code) if code is not None else None,
                target=str(target) if target is not None else None,
                arguments=list(arguments) if isinstance(arguments, list) else None,
                body=parsed,
                method=method,
                url=url,
            )
        message = _reason(status)
        if parsed not in (None, ""):
            message = f"{message}; the body has no ONTAP error object: {quote_body(parsed, 200)}"
        return kind(status, message, body=parsed, method=method, url=url)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


class AuthError(OntapError):
    """401 (bad or missing credentials) or 403 (the user's role does not allow the request)."""

    def _render(self) -> str:
        if self.status == 401:
            hint = "authentication failed: check the username and password"
        else:
            hint = (
                "not authorized: check the user's RBAC role for this command and, for an "
                "SVM-scoped user, that the object belongs to its SVM"
            )
        return f"{super()._render()}; {hint}"


class ProtocolError(OntapJobError):
    """The server answered something ONTAP's protocol does not allow; ``body`` is quoted.

    Examples: a job record without a state or with an unknown one, a 202 without a job link,
    an unparsable body where JSON is required.
    """

    def __init__(self, problem: str, body: object = None) -> None:
        self.problem = problem
        self.body = body
        message = problem if body is None else f"{problem}; body: {quote_body(body)}"
        super().__init__(message)


def describe_job(job: JobRecord | None, job_id: str | None = None) -> str:
    """``"Job <uuid> (<description>)"`` from what is known of a job."""
    uuid = job.get("uuid") if job is not None else None
    name = uuid or job_id
    text = f"Job {_shown(name, 200)}" if name else "Job"
    description = job.get("description") if job is not None else None
    return f"{text} ({_shown(description, 200)})" if description else text


def _last_seen(job: JobRecord | None) -> str:
    if job is None:
        return "no job record was read"
    state = _shown(job.get("state", "<no state>"), 100)
    message = job.get("message")
    text = f"last seen {state}: {_shown(message)}" if message else f"last seen {state}"
    code = coerce_code(job.get("code"))
    return f"{text} (code {code})" if code else text


class JobError(OntapJobError):
    """Base of job outcomes; ``job`` is the last job record seen, or None if none was read."""

    def __init__(self, message: str, job: JobRecord | None) -> None:
        self.job = job
        super().__init__(message)


class JobFailed(JobError):
    """The job ended in ``failure``.

    ``message`` and ``code`` (an int, or None when the record carries none) come from the job
    record unless given; ``error`` is the job's ``error`` object, if any.
    """

    def __init__(
        self,
        job: JobRecord,
        message: str | None = None,
        code: int | None = None,
        error: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
    ) -> None:
        if error is None and isinstance(job.get("error"), Mapping):
            error = job["error"]
        if message is None:
            raw = job.get("message")
            if raw is None and error is not None:
                raw = error.get("message")
            message = str(raw) if raw is not None else "(no message)"
        self.message = message
        self.code = code if code is not None else coerce_code(job.get("code"))
        self.error = error
        description = job.get("description")
        self.description: str | None = str(description) if description is not None else None
        text = f"{describe_job(job, job_id)} failed: {_shown(message)}"
        if self.code is not None:
            text += f" (code {self.code})"
        if error is not None:
            error_message = error.get("message")
            if error_message and error_message != message:
                error_code = error.get("code")
                suffix = f" (code {_shown(error_code, 100)})" if error_code is not None else ""
                text += f"; error: {_shown(error_message)}{suffix}"
        super().__init__(text, job)


class JobTimeout(JobError):
    """The deadline passed before the job reached a terminal state.

    ``timeout`` is the limit in seconds, ``elapsed`` the time waited (from the write), ``polls``
    the job GETs made, ``job`` the last record seen (None when no GET succeeded).
    """

    def __init__(
        self,
        job: JobRecord | None,
        timeout: float,
        elapsed: float,
        *,
        polls: int | None = None,
        detail: str | None = None,
        job_id: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.elapsed = elapsed
        self.polls = polls
        polled = f", {polls} polls" if polls is not None else ""
        text = (
            f"{describe_job(job, job_id)} did not finish within the {timeout:g} s timeout "
            f"(waited {elapsed:.1f} s{polled}); {_last_seen(job)}"
        )
        if detail:
            text += f"; {detail}"
        super().__init__(text, job)


class JobPausedTooLong(JobTimeout):
    """The job stayed ``paused`` longer than the policy's ``max_paused`` (``timeout`` here).

    ``paused`` is the total time it was observed paused.
    """

    def __init__(
        self,
        job: JobRecord,
        max_paused: float,
        paused: float,
        elapsed: float,
        *,
        polls: int | None = None,
        job_id: str | None = None,
    ) -> None:
        self.timeout = max_paused
        self.max_paused = max_paused
        self.paused = paused
        self.elapsed = elapsed
        self.polls = polls
        uuid = _shown(job.get("uuid") or job_id or "<uuid>", 200)
        text = (
            f"{describe_job(job, job_id)} stayed paused for {paused:.1f} s, more than "
            f"max_paused={max_paused:g} s (waited {elapsed:.1f} s in all); {_last_seen(job)}; "
            f"resume it with PATCH /api/cluster/jobs/{uuid}?action=resume or raise max_paused"
        )
        JobError.__init__(self, text, job)


class JobLost(JobError):
    """The job answered 404.

    With a ``job``: it had been seen and then vanished (purged after its retention time, or
    hidden from this user). With ``job=None``: it never appeared within the policy's
    ``not_found_grace`` (``not_found_for`` seconds of 404s).
    """

    def __init__(
        self,
        job: JobRecord | None,
        *,
        job_id: str | None = None,
        not_found_for: float | None = None,
    ) -> None:
        self.not_found_for = not_found_for
        who = describe_job(job, job_id)
        if job is not None:
            text = (
                f"{who} vanished (HTTP 404) after it was {_last_seen(job)}; it may have been "
                "purged after ONTAP's retention time or be hidden from this user"
            )
        else:
            lasted = f" for {not_found_for:.1f} s" if not_found_for is not None else ""
            text = (
                f"{who} never appeared: its GET answered HTTP 404{lasted} (not_found_grace); "
                "check the job link and that this user may read /api/cluster/jobs"
            )
        super().__init__(text, job)


class TransientError(OntapJobError):
    """Raised by a fetch function to ask the poller to retry (429, 5xx, connection problems).

    ``retry_after`` is the server's ``Retry-After`` in seconds, if any; ``status`` the HTTP
    status, if there was an answer; ``cause`` says what happened.
    """

    def __init__(
        self,
        cause: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.cause = cause
        self.status = status
        self.retry_after = retry_after
        details = []
        if status is not None:
            details.append(f"HTTP {status}")
        if retry_after is not None:
            details.append(f"Retry-After {retry_after:g} s")
        super().__init__(f"{cause} ({', '.join(details)})" if details else cause)


class RetriesExhausted(OntapJobError):
    """More consecutive transient errors than the policy allows while polling a job.

    ``last_error`` is the last :class:`TransientError`, ``attempts`` the consecutive errors seen,
    ``job`` the last job record read before them (or None).
    """

    def __init__(
        self,
        last_error: TransientError,
        *,
        attempts: int,
        job: JobRecord | None = None,
        job_id: str | None = None,
    ) -> None:
        self.last_error = last_error
        self.attempts = attempts
        self.job = job
        super().__init__(
            f"Gave up polling {describe_job(job, job_id)} after {attempts} consecutive transient "
            f"errors; {_last_seen(job)}; last error: {last_error}"
        )


class JobNotFound(OntapJobError):
    """Raised by a fetch function when the job's GET answers 404.

    The poller decides whether that is read-after-write lag (retried) or a lost job.
    """

    def __init__(self, job_id: str | None = None, detail: str | None = None) -> None:
        self.job_id = job_id
        text = f"Job {job_id} not found (HTTP 404)" if job_id else "Job not found (HTTP 404)"
        super().__init__(f"{text}: {detail}" if detail else text)


class TransportError(OntapJobError):
    """A request got no usable answer (connection refused or dropped, read timeout).

    Raised for writes, which are never retried on these (the write may have been applied),
    and for single reads; job polls retry them as :class:`TransientError` instead.
    """
