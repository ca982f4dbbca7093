"""``OntapClient``: ONTAP REST writes that wait for their job, on a ``requests.Session``.

Production code can use it against live clusters (TLS verification on, a timeout on every
request, a hard deadline on every wait); tests use the same class against the simulator, with
the simulator's clock so waits cost no real time. The waiting itself is :mod:`.poller`.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import itertools
import json as jsonlib
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import SplitResult, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import __version__
from .errors import (
    JobNotFound,
    OntapError,
    OntapJobError,
    ProtocolError,
    TransientError,
    TransportError,
    quote_body,
)
from .poller import Clock, PollPolicy, SystemClock, wait_for_job

__all__ = ["POLL_FIELDS", "JobResult", "OntapClient"]

logger = logging.getLogger("pytest_ontapjob")

#: What a poll asks for: what the loop needs and what error messages show, nothing more.
POLL_FIELDS = "state,message,code,error,description,start_time,end_time"
#: The poll's query, as requests encodes ``params={"fields": POLL_FIELDS}``.
_POLL_QUERY = urlencode({"fields": POLL_FIELDS})
#: Answers to a write that mean "not processed, try again later".
_WRITE_RETRY_STATUSES = frozenset({429, 503})
_JSON_TYPES = ("application/json", "application/hal+json")

#: Characters no href of a cluster holds, which URL parsers drop or reinterpret (C0 controls,
#: DEL, backslash): an href carrying one is refused rather than guessed at.
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}

JobRecord = Mapping[str, Any]
_REQUESTS_VERSION: str = getattr(requests, "__version__", "unknown")
#: Bytes asked of the socket per read of a body.
_CHUNK = 64 * 1024
#: How much of a transport error's text (which may quote what the server sent) a message keeps.
_REASON_LIMIT = 300
_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_BASIC_TOKEN = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]+")


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


# -- the whole-exchange deadline ---------------------------------------------------------------
# requests' read timeout bounds each socket read, not the answer: a server that drips a byte
# every half second keeps a request alive for as long as it likes. Each exchange therefore has a
# deadline on the real clock, and a watchdog thread shuts its socket down when it passes, which
# wakes whatever read is blocked on it (status line, headers, body, TLS handshake alike).


def _shut(handle: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected: nothing to wake
        handle.shutdown(socket.SHUT_RDWR)


class _Exchange:
    """One request's deadline on the monotonic clock, and the sockets to shut when it passes.

    Sockets are held as duplicates of their descriptor, so shutting one down reaches the
    connection even after TLS has taken the original socket object over, and never touches a
    descriptor number that was closed and reused.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self.done = False
        self._handles: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        try:
            handle = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):  # closed meanwhile: nothing to watch
            return
        with self._lock:
            if not self.done:
                self._handles.append(handle)
                if self.fired:
                    _shut(handle)
                return
        handle.close()

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for handle in self._handles:
                _shut(handle)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()


class _Watchdog:
    """One daemon thread that fires exchanges whose deadline passed (started on first use)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Exchange]] = []
        self._order = itertools.count()
        self._finished = 0
        self._thread: threading.Thread | None = None

    def watch(self, exchange: _Exchange) -> None:
        with self._cond:
            first = not self._heap or exchange.deadline < self._heap[0][0]
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="pytest-ontapjob-watchdog", daemon=True
                )
                self._thread.start()
            elif first:
                self._cond.notify()

    def forget(self, exchange: _Exchange) -> None:
        """Account for a finished exchange; drop finished entries once they are most of the heap."""
        exchange.finish()
        with self._cond:
            self._finished += 1
            if self._finished > 64 and 2 * self._finished > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._finished = max(0, self._finished - 1)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].fire()


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()


def _attach(sock: socket.socket | None) -> None:
    """Put ``sock`` under the watch of this thread's current exchange, if any."""
    exchange: _Exchange | None = getattr(_CURRENT, "exchange", None)
    if exchange is not None and sock is not None:
        exchange.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection that puts its socket under the current exchange's watch."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)  # a kept-alive connection: _new_conn is not called again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    """The HTTPS twin of :class:`_WatchedHTTPConnection` (the TLS handshake is watched too)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_STOCK_POOLS = urllib3.poolmanager.pool_classes_by_scheme
_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter on the watched connections (SOCKS proxies keep their own pools)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if self.poolmanager.pool_classes_by_scheme is _STOCK_POOLS:
            self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is _STOCK_POOLS:
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


class _KeptAdapter(_WatchedAdapter):
    """A watched adapter whose kept-alive connections outlive the sessions it is mounted on:
    ``close()``, which ``Session.close`` calls, keeps them; :meth:`release` closes them."""

    def close(self) -> None:
        """Keep the connections for the next session mounting this adapter."""

    def release(self) -> None:
        """Close every connection."""
        super().close()


class _BasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP basic auth whose repr names the user only: no traceback or log prints the password."""

    def __repr__(self) -> str:
        return f"<basic auth for {self.username!r}>"


def _basic_auth(auth: object) -> tuple[_BasicAuth | None, str | None]:
    """``(auth, None)`` for a usable ``(user, password)`` pair, else ``(None, problem)``.

    Never raises, and never names the password: the caller raises after dropping its own
    reference, so no frame of the traceback holds the pair.
    """
    if auth is None:
        return None, None
    if not isinstance(auth, tuple | list) or len(auth) != 2:
        return None, "auth must be a (username, password) pair"
    for what, value in zip(("username", "password"), auth, strict=True):
        if not isinstance(value, str | bytes):
            return None, f"auth: the {what} must be a str, not {type(value).__name__}"
        if isinstance(value, str):
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                return None, (
                    f"auth: the {what} has characters outside Latin-1, which HTTP basic auth "
                    "in requests cannot send; pass it as bytes, encoded as the cluster expects"
                )
    return _BasicAuth(auth[0], auth[1]), None


#: Auth that sets the same header on every request: a request it prepared can be sent again.
_STATELESS_AUTH = (_BasicAuth, requests.auth.HTTPBasicAuth)


@dataclass(frozen=True)
class _Prepared:
    """A poll's GET, prepared once for a whole wait, with requests' send settings for it.

    ``auth`` is the session's auth it was prepared with: another one, or a cookie in the jar,
    and the GET is prepared afresh, as ``Session.request`` would.
    """

    request: requests.PreparedRequest
    settings: Mapping[str, Any]
    auth: object


@dataclass(frozen=True)
class _Answer:
    """A complete answer: status, headers and the whole (bounded) body."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str


def _content_length(headers: Mapping[str, str]) -> int | None:
    """The declared ``Content-Length``, or None when absent or unreadable (too long counts huge)."""
    value = (headers.get("Content-Length") or "").strip()
    if not value.isascii() or not value.isdigit():
        return None
    return int(value) if len(value) <= 18 else 10**18


def _decode_json(content: bytes) -> Any:
    """Parse a body as JSON in UTF-8; ValueError for anything else, however deep or broken."""
    try:
        return jsonlib.loads(content.decode("utf-8-sig"))
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def _retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP date; None when absent or invalid.

    Delay-seconds are ASCII digits (a fraction tolerated), as HTTP says: not ``1_000``, ``-1``,
    ``nan`` or other scripts' digits. Too many digits to represent is ``inf``: longer than any
    deadline, so the caller stops at once rather than retrying early.
    """
    if not value:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, OverflowError):  # the year 99999999999999999999 overflows
        return None
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
    """The innermost cause of a transport error, by type and text: short, no credentials."""
    while exc.__context__ is not None or exc.__cause__ is not None:
        inner = exc.__cause__ or exc.__context__
        assert inner is not None
        exc = inner
    text = _BASIC_TOKEN.sub(r"\1 <redacted>", quote_body(str(exc), _REASON_LIMIT))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
#: What a request can raise below this package: every one becomes one of its errors.
_TRANSPORT_ERRORS = (
    requests.RequestException,  # an OSError too
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,  # requests' InvalidURL and InvalidHeader, urllib3's LocationParseError, ...
)


def _no_answer(exc: BaseException) -> bool:
    """True when the request may have left and its answer did not arrive whole."""
    if isinstance(exc, requests.RequestException):
        return isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError)
    return not isinstance(exc, ValueError)  # the rest of urllib3, http.client and the socket


def _transport_failure(
    method: str, path: str, budget: float, exc: BaseException, fired: bool
) -> OntapJobError:
    """The package's error for a request that raised ``exc`` (the watchdog ``fired`` or not).

    TransientError when there was no usable answer (the poller retries it; a write or a single
    read turns it into TransportError); TransportError when the request could not be sent.
    """
    if fired or isinstance(exc, _TIMEOUTS):
        return TransientError(f"{method} {path}: no complete answer within {budget:.3g} s")
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return TransientError(f"{method} {path}: the body could not be decoded: {_reason(exc)}")
    if _no_answer(exc):
        return TransientError(f"{method} {path}: connection failed: {_reason(exc)}")
    return TransportError(
        f"{method} {path}: the request could not be sent, nothing was: {_reason(exc)}"
    )


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

    Against a server that misbehaves, every request is bounded as a whole (``policy.read_timeout``
    and the time left, however slowly the answer drips), every body by size
    (``policy.max_body_bytes``, ``policy.max_job_body_bytes``), redirects are not followed and
    cookies not kept; whatever goes wrong below raises one of this package's errors. A
    ``session`` of your own keeps its adapters: the whole-exchange bound then relies on them.
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
        basic, problem = _basic_auth(auth)
        del auth  # from here on no frame holds the password, whatever is raised
        if problem is not None:
            raise TypeError(problem)
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
        self._username = basic.username if basic is not None else None
        if session is None:
            session = requests.Session()
            session.mount(self.base_url + "/", _WatchedAdapter())
            # ONTAP's API needs no cookies; a server setting them would grow the jar unbounded.
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.session = session
        if basic is not None:
            self.session.auth = basic
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
        shown = quote_body(repr(path), 200)
        if _UNSAFE_URL_CHARS.search(path) or path != path.lstrip():
            raise ProtocolError(f"refusing an href with control characters or blanks: {shown}")
        try:
            parts = urlsplit(path)
            if parts.scheme or parts.netloc:
                if _origin(parts) != self._origin:
                    raise ProtocolError(f"refusing to send credentials to another origin: {shown}")
                path = urlunsplit(("", "", parts.path, parts.query, ""))
            url = urljoin(self.base_url + "/", path.lstrip("/"))
            leads_home = _origin(urlsplit(url)) == self._origin
        except ValueError:  # e.g. "http://[::1/...": an unbalanced IPv6 bracket
            raise ProtocolError(f"refusing an href that is not a valid URL: {shown}") from None
        if not leads_home:  # belt and braces: never leave the cluster
            raise ProtocolError(f"refusing to send credentials to another origin: {shown}")
        return url

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        budget: float,
        max_bytes: int,
        limit: str = "max_body_bytes",
        url: str | None = None,
        prepared: _Prepared | None = None,
    ) -> _Answer:
        """Send one request and read its whole answer within ``budget`` real seconds.

        ``url``, when given, is ``path`` already resolved by :meth:`_url` (a poll resolves its
        job's URL once, not on every GET); ``prepared`` is that GET prepared (:meth:`_prepare`).

        Raises TransientError when no usable answer came (timeout, connection, corrupt
        encoding), TransportError when the request could not be sent, ProtocolError for an
        answer no ONTAP sends (1xx or 3xx final status, a body over ``max_bytes``). Whatever
        requests or urllib3 raised is dropped, not chained: its frames hold the credentials.
        """
        if url is None:
            url = self._url(path)
        exchange = _Exchange(budget)
        _WATCHDOG.watch(exchange)
        _CURRENT.exchange = exchange
        failure: OntapJobError
        try:
            answer = self._exchange(
                method, url, path, params, json, budget, max_bytes, limit, prepared
            )
        except OntapJobError:
            raise
        except _TRANSPORT_ERRORS as exc:
            failure = _transport_failure(method, path, budget, exc, exchange.fired)
        else:
            if not exchange.fired:
                logger.debug("%s %s -> %s", method, path, answer.status)
                return answer
            # The watchdog cut a body whose end is the connection's close: it is truncated.
            failure = _transport_failure(method, path, budget, TimeoutError(), True)
        finally:
            _CURRENT.exchange = None
            _WATCHDOG.forget(exchange)
        raise failure from None

    def _exchange(
        self,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        budget: float,
        max_bytes: int,
        limit: str,
        prepared: _Prepared | None = None,
    ) -> _Answer:
        timeout = (min(self.policy.connect_timeout, budget), budget)
        session = self.session
        if prepared is not None and session.auth is prepared.auth and not session.cookies:
            response = session.send(
                prepared.request, timeout=timeout, allow_redirects=False, **prepared.settings
            )
        else:
            response = session.request(
                method,
                url,
                params=params,
                json=json,
                timeout=timeout,
                verify=self.verify,
                allow_redirects=False,
                stream=True,
            )
        with response:
            status = response.status_code
            if 300 <= status < 400:
                location = quote_body(repr(response.headers.get("Location")), 200)
                raise ProtocolError(
                    f"{method} {path}: HTTP {status}, a redirect to {location}; ONTAP's API "
                    "does not redirect and the client does not follow (nothing was sent there)"
                )
            if not (200 <= status < 300 or 400 <= status < 600):
                raise ProtocolError(f"{method} {path}: HTTP {status} is not a final ONTAP answer")
            too_big = (
                f"{method} {path}: the answer's body is larger than {max_bytes:,} bytes "
                f"(PollPolicy.{limit}); the rest was not read"
            )
            declared = _content_length(response.headers)
            encoded = "Content-Encoding" in response.headers  # then the length is not the size
            if declared is not None and declared > max_bytes and not encoded:
                raise ProtocolError(too_big)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ProtocolError(too_big)
                chunks.append(chunk)
        return _Answer(status, response.headers, b"".join(chunks), method, url)

    def _prepare(self, url: str) -> _Prepared | None:
        """``GET url`` prepared as ``Session.request`` prepares it, to be sent on every poll of a
        wait: requests' merging of headers, auth, cookies and proxy settings is then paid once
        per wait, not per poll. None when the session's auth keeps state between requests (such
        as digest), so each GET must be prepared; None too when ``url`` cannot be prepared (the
        GET itself then raises, as it would have).
        """
        session = self.session
        if session.auth is not None and type(session.auth) not in _STATELESS_AUTH:
            return None
        try:
            request = session.prepare_request(requests.Request("GET", url, data={}, params={}))
            settings = session.merge_environment_settings(
                request.url or url, {}, True, self.verify, None
            )
        except _TRANSPORT_ERRORS:
            return None
        return _Prepared(request, settings, session.auth)

    @staticmethod
    def _error(answer: _Answer) -> OntapError:
        return OntapError.from_response(
            answer.status, answer.content, method=answer.method, url=answer.url
        )

    @staticmethod
    def _json(answer: _Answer, what: str) -> Any:
        if not answer.content:
            return {}
        try:
            return _decode_json(answer.content)
        except ValueError:
            raise ProtocolError(f"{what}: the body is not JSON in UTF-8", answer.content) from None

    # -- reads -------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` and return its JSON body; OntapError on an error answer."""
        try:
            answer = self._send(
                "GET",
                path,
                params=params,
                budget=self.policy.read_timeout,
                max_bytes=self.policy.max_body_bytes,
            )
        except TransientError as exc:
            raise TransportError(str(exc)) from None
        if answer.status >= 400:
            raise self._error(answer)
        body = self._json(answer, f"GET {path}")
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
            budget = min(max(self.policy.read_timeout, (rt or 0) + 15.0), remaining)
            try:
                answer = self._send(
                    method,
                    path,
                    params=query,
                    json=json,
                    budget=budget,
                    max_bytes=self.policy.max_body_bytes,
                )
            except TransientError as exc:
                raise TransportError(f"{exc}; the write may or may not have been applied") from None
            if answer.status not in _WRITE_RETRY_STATUSES:
                break
            attempts += 1
            delay = _retry_after(answer.headers.get("Retry-After"), time.time())
            delay = self.policy.interval if delay is None else delay
            if attempts > self.policy.max_transient_errors or delay >= deadline - self.clock.now():
                raise self._error(answer)
            logger.info("%s %s answered %s; retrying in %.1f s", method, path, answer.status, delay)
            self.clock.sleep(delay)

        if answer.status >= 400:
            raise self._error(answer)
        body = self._json(answer, f"{method} {path}")
        if not isinstance(body, dict):
            raise ProtocolError(f"{method} {path}: expected a JSON object", body)
        location = answer.headers.get("Location")
        job = body.get("job")
        if answer.status == 202:
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
            return JobResult(answer.status, dict(job), "success", 0, elapsed, body, location)
        return JobResult(answer.status, None, "success", 0, elapsed, body, location)

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
            return f"/api/cluster/jobs/{quote(uuid, safe='')}", uuid
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
        # An href off this cluster is refused now, not after the first wait. The poll's URL,
        # query included, is built once: requests then has no params to encode on every GET.
        url = self._url(path)
        params: dict[str, str] | None = None
        if "#" in url:
            params = {"fields": POLL_FIELDS}
        elif "?" not in url:
            url += "?" + _POLL_QUERY
        else:
            url += ("&" if url.partition("?")[2] else "") + _POLL_QUERY
        prepared = self._prepare(url) if params is None else None
        polls = 0

        def fetch(read_timeout: float) -> Mapping[str, Any]:
            nonlocal polls
            polls += 1
            answer = self._send(
                "GET",
                path,
                params=params,
                budget=read_timeout,
                max_bytes=self.policy.max_job_body_bytes,
                limit="max_job_body_bytes",
                url=url,
                prepared=prepared,
            )
            status = answer.status
            if status == 404:
                raise JobNotFound(job_id)
            if status == 429 or status >= 500:
                raise TransientError(
                    f"GET {path}",
                    status=status,
                    retry_after=_retry_after(answer.headers.get("Retry-After"), time.time()),
                )
            if status >= 400:
                raise self._error(answer)
            try:
                record = _decode_json(answer.content)
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
