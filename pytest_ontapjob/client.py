"""``OntapClient``: ONTAP REST writes that wait for their job, on a ``requests.Session``.

Production code can use it against live clusters (TLS verification on, a timeout on every
request, a hard deadline on every wait); tests use the same class against the simulator, with
the simulator's clock so waits cost no real time. The waiting itself is :mod:`.poller`.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import requests

from . import __version__
from .errors import (
    JobNotFound,
    OntapError,
    ProtocolError,
    TransientError,
    TransportError,
)
from .poller import Clock, PollPolicy, SystemClock, wait_for_job

__all__ = ["POLL_FIELDS", "JobResult", "OntapClient"]

logger = logging.getLogger("pytest_ontapjob")

#: What a poll asks for: what the loop needs and what error messages show, nothing more.
POLL_FIELDS = "state,message,code,error,description,start_time,end_time"
#: Answers to a write that mean "not processed, try again later".
_WRITE_RETRY_STATUSES = frozenset({429, 503})
_JSON_TYPES = ("application/json", "application/hal+json")

#: Characters no href of a cluster holds, which URL parsers drop or reinterpret (C0 controls,
#: DEL, backslash): an href carrying one is refused rather than guessed at.
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}

JobRecord = Mapping[str, Any]
_REQUESTS_VERSION: str = getattr(requests, "__version__", "unknown")


@dataclass(frozen=True)
class JobResult:
    """The outcome of a write that succeeded.

    ``status_code`` is the write's status (202, or 200/201 when it finished within
    ``return_timeout``); ``job`` the final job record (the write's job stub when no poll was
    needed; None for a synchronous write without a job); ``polls`` the job GETs made;
    ``elapsed`` clock seconds from sending the write to the end; ``body`` the write's body.
    """

    status_code: int
    job: dict[str, Any] | None
    state: str
    polls: int
    elapsed: float
    body: dict[str, Any] = field(default_factory=dict, repr=False)
    location: str | None = None


def _retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, normalised as a browser compares origins."""
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port out of range or not a number: an origin of its own
        return (scheme, parts.netloc.lower(), -1)
    return (scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme))


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, named by type and text (no headers in it)."""
    while exc.__context__ is not None or exc.__cause__ is not None:
        inner = exc.__cause__ or exc.__context__
        assert inner is not None
        exc = inner
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_return_timeout(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        raise ValueError(f"return_timeout must be an integer 0..120 (seconds), got {value!r}")
    return value


class OntapClient:
    """A client for ONTAP's REST API whose writes wait for their jobs.

    ``base_url`` is ``https://cluster.example.com`` (no credentials in it); ``auth`` a
    ``(username, password)`` pair sent as HTTP basic auth; ``verify`` True, False or a CA
    bundle path, as in requests. ``clock`` (default: the monotonic clock) is what the poller
    waits on; pass a simulator's virtual clock to make waits instant.
    """

    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None = None,
        *,
        verify: bool | str = True,
        policy: PollPolicy | None = None,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        on_progress: Callable[[JobRecord], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.username or parts.password:
            raise ValueError("base_url must not carry credentials; pass auth=(user, password)")
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(parts)
        self.policy = policy or PollPolicy()
        self.clock: Clock = clock or SystemClock()
        self.on_progress = on_progress
        self._rng = rng
        self._username = auth[0] if auth else None
        self.session = session or requests.Session()
        if auth is not None:
            self.session.auth = auth
        # Passed on every request: requests ignores Session.verify when REQUESTS_CA_BUNDLE
        # or CURL_CA_BUNDLE is set, which would silently swap the caller's CA bundle.
        self.verify = verify
        self.session.headers.update(
            {
                "Accept": "application/hal+json, application/json",
                "User-Agent": f"pytest-ontapjob/{__version__} requests/{_REQUESTS_VERSION}",
            }
        )

    def __repr__(self) -> str:
        return f"OntapClient({self.base_url!r}, username={self._username!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> OntapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        """Absolute URL for ``path``; refuses anything that would leave this cluster.

        An href is resolved the way requests and urllib would resolve it (scheme in any case,
        leading blanks stripped, tabs and newlines dropped, ``//host`` scheme-relative), so it
        is checked by where it leads, not by how it is spelt: any origin but the cluster's is a
        ProtocolError raised before anything, credentials included, is sent.
        """
        if _UNSAFE_URL_CHARS.search(path) or path != path.lstrip():
            raise ProtocolError(f"refusing an href with control characters or blanks: {path!r}")
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            if _origin(parts) != self._origin:
                raise ProtocolError(f"refusing to send credentials to another origin: {path!r}")
            path = urlunsplit(("", "", parts.path, parts.query, ""))
        url = urljoin(self.base_url + "/", path.lstrip("/"))
        if _origin(urlsplit(url)) != self._origin:  # belt and braces: never leave the cluster
            raise ProtocolError(f"refusing to send credentials to another origin: {path!r}")
        return url

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        read_timeout: float,
    ) -> requests.Response:
        url = self._url(path)
        timeout = (min(self.policy.connect_timeout, read_timeout), read_timeout)
        try:
            response = self.session.request(
                method, url, params=params, json=json, timeout=timeout, verify=self.verify
            )
        # ``from None``: the chained requests/urllib3 exceptions hold the request's headers,
        # Authorization included, and pytest prints frame arguments of chained tracebacks.
        except requests.Timeout:
            raise TransientError(f"{method} {path}: no answer within {read_timeout:g} s") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(f"{method} {path}: connection failed: {_reason(exc)}") from None
        logger.debug("%s %s -> %s", method, path, response.status_code)
        return response

    def _error(self, response: requests.Response) -> OntapError:
        return OntapError.from_response(
            response.status_code,
            response.content,
            method=response.request.method,
            url=response.url,
        )

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(f"{what}: the body is not JSON", response.text) from None

    # -- reads -------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` and return its JSON body; OntapError on an error answer."""
        try:
            response = self._send("GET", path, params=params, read_timeout=self.policy.read_timeout)
        except TransientError as exc:
            raise TransportError(str(exc)) from None
        if response.status_code >= 400:
            raise self._error(response)
        body = self._json(response, f"GET {path}")
        if not isinstance(body, dict):
            raise ProtocolError(f"GET {path}: expected a JSON object", body)
        return body

    # -- writes ------------------------------------------------------------------------------
    def post(
        self,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        return_timeout: int | None = None,
    ) -> JobResult:
        """POST and wait for the job; see :meth:`write`."""
        return self.write("POST", path, json=json, params=params, return_timeout=return_timeout)

    def patch(
        self,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        return_timeout: int | None = None,
    ) -> JobResult:
        """PATCH and wait for the job; see :meth:`write`."""
        return self.write("PATCH", path, json=json, params=params, return_timeout=return_timeout)

    def delete(
        self,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        return_timeout: int | None = None,
    ) -> JobResult:
        """DELETE and wait for the job; see :meth:`write`."""
        return self.write("DELETE", path, json=json, params=params, return_timeout=return_timeout)

    def write(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        return_timeout: int | None = None,
    ) -> JobResult:
        """Send a write and wait for its job within ``policy.timeout`` (the write's time counts).

        A 202 is polled; 200/201 with a job is done without polling; a 2xx without a job is a
        synchronous result. Writes are not idempotent, so only 429 and 503 (the cluster did not
        take the request) are retried; a dropped connection raises TransportError, since the
        write may have been applied.
        """
        rt = _check_return_timeout(return_timeout)
        started = self.clock.now()
        deadline = started + self.policy.timeout
        query = dict(params or {})
        if rt is not None:
            query["return_timeout"] = rt
        attempts = 0
        while True:
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                raise TransportError(f"{method} {path}: no time left for the write")
            read_timeout = min(max(self.policy.read_timeout, (rt or 0) + 15.0), remaining)
            try:
                response = self._send(
                    method, path, params=query, json=json, read_timeout=read_timeout
                )
            except TransientError as exc:
                raise TransportError(f"{exc}; the write may or may not have been applied") from None
            if response.status_code not in _WRITE_RETRY_STATUSES:
                break
            attempts += 1
            delay = _retry_after(response.headers.get("Retry-After"), time.time())
            delay = self.policy.interval if delay is None else delay
            if attempts > self.policy.max_transient_errors or delay >= deadline - self.clock.now():
                raise self._error(response)
            logger.info(
                "%s %s answered %s; retrying in %.1f s", method, path, response.status_code, delay
            )
            self.clock.sleep(delay)

        if response.status_code >= 400:
            raise self._error(response)
        body = self._json(response, f"{method} {path}")
        if not isinstance(body, dict):
            raise ProtocolError(f"{method} {path}: expected a JSON object", body)
        location = response.headers.get("Location")
        job = body.get("job")
        if response.status_code == 202:
            if not isinstance(job, Mapping):
                raise ProtocolError(f"{method} {path}: 202 Accepted without a job link", body)
            return self._poll(
                job,
                started=started,
                status_code=202,
                body=body,
                location=location,
                first_delay=None,
            )
        elapsed = self.clock.now() - started
        if isinstance(job, Mapping):
            return JobResult(response.status_code, dict(job), "success", 0, elapsed, body, location)
        return JobResult(response.status_code, None, "success", 0, elapsed, body, location)

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, job: str | Mapping[str, Any]) -> JobResult:
        """Wait for an existing job (uuid, href, or ``{"uuid", "_links"}``); polls at once."""
        stub: Mapping[str, Any] = job if isinstance(job, Mapping) else self._stub(job)
        return self._poll(
            stub, started=self.clock.now(), status_code=200, body={}, location=None, first_delay=0.0
        )

    @staticmethod
    def _stub(job: str) -> dict[str, Any]:
        if "/" in job:
            uuid = job.rstrip("/").rsplit("/", 1)[-1]
            return {"uuid": uuid, "_links": {"self": {"href": job}}}
        return {"uuid": job}

    def _job_path(self, job: Mapping[str, Any]) -> tuple[str, str | None]:
        links = job.get("_links")
        href = None
        if isinstance(links, Mapping) and isinstance(links.get("self"), Mapping):
            href = links["self"].get("href")
        uuid = job.get("uuid")
        if isinstance(href, str) and href:
            return href, str(uuid) if uuid else href.rstrip("/").rsplit("/", 1)[-1]
        if isinstance(uuid, str) and uuid:
            return f"/api/cluster/jobs/{uuid}", uuid
        raise ProtocolError("the job has neither a uuid nor a link", dict(job))

    def _poll(
        self,
        job: Mapping[str, Any],
        *,
        started: float,
        status_code: int,
        body: dict[str, Any],
        location: str | None,
        first_delay: float | None,
    ) -> JobResult:
        path, job_id = self._job_path(job)
        self._url(path)  # an href off this cluster is refused now, not after the first wait
        polls = 0

        def fetch(read_timeout: float) -> Mapping[str, Any]:
            nonlocal polls
            polls += 1
            response = self._send(
                "GET", path, params={"fields": POLL_FIELDS}, read_timeout=read_timeout
            )
            status = response.status_code
            if status == 404:
                raise JobNotFound(job_id)
            if status == 429 or status >= 500:
                raise TransientError(
                    f"GET {path}",
                    status=status,
                    retry_after=_retry_after(response.headers.get("Retry-After"), time.time()),
                )
            if status >= 400:
                raise self._error(response)
            try:
                record = response.json()
            except ValueError:
                raise TransientError(f"GET {path}: unparsable body", status=status) from None
            if not isinstance(record, Mapping):
                raise ProtocolError(f"GET {path}: expected a job object", record)
            return record

        outcome = wait_for_job(
            fetch,
            clock=self.clock,
            policy=self.policy,
            started_at=started,
            first_delay=first_delay,
            rng=self._rng,
            on_progress=self.on_progress,
            job_id=job_id,
        )
        return JobResult(
            status_code,
            dict(outcome.job),
            "success",
            outcome.polls,
            outcome.elapsed,
            body,
            location,
        )
