"""The :class:`Simulator`: one fake cluster (clock, jobs, objects, scripts, faults, journal).

This is the Python API the contract names, and the engine behind both the HTTP layer
(:mod:`simulator.web`) and direct unit tests. It imports neither Flask nor the HTTP layer:
``.app`` builds the WSGI application on first use, through :attr:`Simulator.app_factory`.
"""

from __future__ import annotations

import copy
import functools
import hmac
import itertools
import json
import math
import os
import threading
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .clock import Clock, ClockMode, VirtualClock, make_clock
from .errors import ApiError, bad_value
from .faults import FaultRule, FaultSet
from .files import read_input_file
from .inventory import Inventory
from .jobs import DEFAULT_SCRIPT, EffectError, JobEngine, JobScript, ScriptError
from .journal import JOURNAL_BODY_BYTES, JOURNAL_BYTES, Recorded, retained_bytes
from .model.plan import WritePlan
from .model.routes import Routes, method_not_allowed, shared_routes
from .model.spec import load_spec
from .model.store import Store, Target, fill_path, path_variables
from .rules import MAX_GLOB_LENGTH, CountedRule, Glob, RuleBook

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "JOURNAL_BODY_BYTES",
    "JOURNAL_BYTES",
    "Endpoint",
    "ScriptRule",
    "Simulator",
    "WriteKind",
    "WriteOutcome",
    "load_scenario_file",
]

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "netapp1!"  # noqa: S105 - the documented default of a local test double
WRITE_METHODS = ("POST", "PATCH", "DELETE")
#: 9999-12-31T23:59:59Z: ONTAP timestamps cannot go further.
_LAST_TIME = 253_402_300_799.0
#: The largest scenario file read (a scenario of 10,000 volumes is about 2 MB).
MAX_SCENARIO_BYTES = 16 * 1024 * 1024
#: How deep a scenario file's JSON may nest (real ones nest 5 levels).
MAX_SCENARIO_DEPTH = 64
_SCENARIO_INT_DIGITS = 20
_ids = itertools.count(1)
_RECORD_NAMESPACE = uuidlib.uuid5(
    uuidlib.NAMESPACE_URL, "https://pypi.org/project/pytest-ontapjob/records"
)
#: The longest ``return_timeout`` ONTAP takes, in seconds.
MAX_RETURN_TIMEOUT = 120


@dataclass
class ScriptRule(CountedRule):
    """Script ``script`` for the next ``remaining`` writes matching ``method`` and ``path``."""

    method: str
    path: str
    script: JobScript
    remaining: int | None = 1
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "times": self.remaining,
            "hits": self.hits,
            **self.script.to_json(),
        }


@dataclass(frozen=True)
class Endpoint:
    """An extra asynchronous endpoint a scenario declares (no object is modelled behind it)."""

    method: str
    path: str

    @functools.cached_property
    def glob(self) -> Glob:
        """The endpoint's path, compiled once."""
        return Glob(self.path)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.glob.match(path)


WriteKind = Literal["created", "done", "accepted", "failed"]


@dataclass(frozen=True)
class WriteOutcome:
    """What a write came to, in ONTAP's terms (the HTTP layer picks status, headers, body).

    ``kind``: ``created`` (it completed, as a create: a POST), ``done`` (it completed: a
    PATCH, a DELETE, an action POST ONTAP answers 200 for), ``accepted`` (its job had not
    ended when ``return_timeout`` did) or ``failed`` (its job failed within it; ``error`` is
    the job's message and code as ONTAP answers them). ``location``: the path of the record a
    POST creates, unquoted (a key may hold any character). ``job_uuid``: None for an operation
    ONTAP answers at once. ``records``: what the POST creates, when ``return_records`` asked.
    """

    kind: WriteKind
    location: str | None = None
    job_uuid: str | None = None
    records: tuple[dict[str, Any], ...] = ()
    error: ApiError | None = None


def _normalise(path: str) -> str:
    """``path`` without trailing slashes. It holds no query: a ``?`` in it is a character of
    a key (``%3F`` decoded), never the start of a query."""
    return path.rstrip("/") or "/"


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float
        return False


def _check_method(value: Any, *, allow_any: bool) -> str:
    allowed = (*WRITE_METHODS, "*") if allow_any else WRITE_METHODS
    if not isinstance(value, str) or value.upper() not in allowed:
        raise bad_value("method", f'"method" must be one of {", ".join(allowed)}, got {value!r}')
    return value.upper()


def _check_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_GLOB_LENGTH:
        raise bad_value(
            "path",
            f'"path" must be a path glob starting with "/", at most {MAX_GLOB_LENGTH} '
            f"characters, got {repr(value)[:40]}",
        )
    return value


def _check_times(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise bad_value("times", f'"times" must be an integer >= 1 or null, got {value!r}')
    return value


def parse_script(data: Any) -> JobScript:
    """A :class:`JobScript` from JSON, with validation errors as ONTAP 400 answers."""
    try:
        return JobScript.parse(data)
    except ScriptError as exc:
        raise ApiError(400, "2", exc.message, exc.target) from None


#: Scenarios shipped in the package, usable by name (``--scenario demo``) from anywhere.
BUNDLED_SCENARIOS = Path(__file__).with_name("scenarios")


def bundled_scenario(scenario: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """``scenario`` itself when it is a file (or looks like a path); else the bundled
    scenario of that name when there is one (``demo`` → ``simulator/scenarios/demo.json``)."""
    text = os.fspath(scenario)
    if os.path.exists(text) or os.sep in text or text.endswith(".json"):
        return scenario
    bundled = BUNDLED_SCENARIOS / f"{text}.json"
    return bundled if bundled.is_file() else scenario


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _refuse_long_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _SCENARIO_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {_SCENARIO_INT_DIGITS})")
    return int(text)


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def load_scenario_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON scenario file; a one-line ValueError naming the file on a bad one.

    Refused: what is not a regular file (a FIFO, a device, a directory), more than
    :data:`MAX_SCENARIO_BYTES`, bytes that are not UTF-8, invalid JSON (NaN and Infinity
    included), nesting deeper than :data:`MAX_SCENARIO_DEPTH`, integers of over 20 digits.
    """
    raw = read_input_file(path, "scenario", MAX_SCENARIO_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"scenario {path} is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from None
    too_deep = f"scenario {path} is nested deeper than {MAX_SCENARIO_DEPTH} levels"
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_refuse_long_int)
    except RecursionError:
        raise ValueError(too_deep) from None
    except ValueError as exc:  # includes JSONDecodeError
        raise ValueError(f"scenario {path} is not valid JSON: {exc}") from None
    if _deeper_than(data, MAX_SCENARIO_DEPTH):
        raise ValueError(too_deep)
    if not isinstance(data, dict):
        raise ValueError(f"scenario {path} must hold a JSON object")
    return data


class Simulator:
    """A fake ONTAP cluster.

    ``clock`` is ``"virtual"`` (the default here: tests should not wait) or ``"real"``, or a
    clock object. ``scenario`` is a dict or a JSON file path (see ``scenarios/``). The password
    defaults to ``$ONTAP_SIM_PASSWORD`` or ``netapp1!``. The request journal keeps at most
    ``journal_limit`` entries and ``journal_bytes`` of (estimated) memory, dropping the oldest.
    """

    #: Builds :attr:`app`. The package installs the HTTP layer's ``create_app`` here when it
    #: is imported, so this engine never imports that layer (imports run http -> model -> core).
    app_factory: ClassVar[Callable[[Simulator], Flask] | None] = None

    def __init__(
        self,
        clock: ClockMode | Clock = "virtual",
        *,
        username: str = DEFAULT_USERNAME,
        password: str | None = None,
        retention: float = 300.0,
        scenario: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        journal_limit: int = 100_000,
        journal_bytes: int = JOURNAL_BYTES,
    ) -> None:
        self.clock: Clock = make_clock(clock)
        self.lock = threading.RLock()
        self.username = username
        self._password = (
            password
            if password is not None
            else os.environ.get("ONTAP_SIM_PASSWORD", DEFAULT_PASSWORD)
        )
        self.jobs = JobEngine(self.clock, retention=retention, lock=self.lock)
        #: The cluster's storage objects, a view over :attr:`store` (tests and tools).
        self.inventory = Inventory(self._api, self.read, self._plan, self._load_inventory)
        self._inventory: Mapping[str, Any] | None = None
        self.faults = FaultSet()
        self.default_script: JobScript = DEFAULT_SCRIPT
        self.endpoints: list[Endpoint] = []
        self.errors: list[BaseException] = []
        self._scripts: RuleBook[ScriptRule] = RuleBook("script")
        self._scenario_scripts: list[dict[str, Any]] = []
        self._scenario_faults: list[dict[str, Any]] = []
        self._scenario_records: dict[str, Any] = {}
        self._journal: deque[tuple[dict[str, Any] | Recorded, int]] = deque()  # (entry, size)
        self._journal_size = 0
        self.journal_limit = journal_limit
        self.journal_bytes = journal_bytes
        self._app: Flask | None = None
        self._routes: Routes | None = None
        self._store: Store | None = None
        if scenario is not None:
            self.load_scenario(scenario)

    # -- configuration -----------------------------------------------------------------
    def load_scenario(self, scenario: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        """Apply a scenario: default script, scripts, inventory, extra endpoints, faults.

        ``recording`` (what ``ontap-sim record`` saw, see :mod:`simulator.record`) is read by
        the pytest plugin, not here; it must be an object. A ValueError names what is wrong, and
        the file when ``scenario`` is a path (or the name of a bundled scenario).
        """
        if not isinstance(scenario, Mapping):
            path = bundled_scenario(scenario)
            from_file = load_scenario_file(path)  # its errors name the file
            try:
                self.load_scenario(from_file)
            except ValueError as exc:
                problem = str(exc).removeprefix("scenario: ")
                raise ValueError(f"scenario {os.fspath(path)}: {problem}") from None
            return
        data = scenario
        known = {
            "description",
            "recording",
            "retention",
            "default_script",
            "scripts",
            "inventory",
            "records",
            "endpoints",
            "faults",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f'scenario: unknown key "{unknown[0]}" (known: {", ".join(sorted(known))})'
            )
        if not isinstance(data.get("recording", {}), Mapping):
            raise ValueError("scenario: recording must be an object")
        try:
            if "retention" in data:
                retention = data["retention"]
                if (
                    isinstance(retention, bool)
                    or not isinstance(retention, int | float)
                    or not _finite(retention)
                    or retention < 0
                ):
                    shown = repr(retention)[:40]
                    raise ValueError(
                        f"scenario: retention must be a finite number >= 0, got {shown}"
                    )
                self.jobs.retention = float(retention)
            if data.get("default_script") is not None:
                self.default_script = parse_script(data["default_script"])
            endpoints = data.get("endpoints") or []
            if not isinstance(endpoints, list):
                raise ValueError("scenario: endpoints must be a list")
            for i, item in enumerate(endpoints):
                if not isinstance(item, Mapping):
                    raise ValueError(f"scenario: endpoints[{i}] must be an object")
                self.endpoints.append(
                    Endpoint(
                        _check_method(item.get("method"), allow_any=False),
                        _check_path(item.get("path")),
                    )
                )
            if data.get("inventory") is not None:
                self._load_inventory(data["inventory"])
            scripts = data.get("scripts") or []
            faults = data.get("faults") or []
            if not isinstance(scripts, list) or not isinstance(faults, list):
                raise ValueError("scenario: scripts and faults must be lists")
            for item in scripts:
                self.add_script(item)
            for item in faults:
                self.faults.add(item)
        except ApiError as exc:
            raise ValueError(f"scenario: {exc.message} (at {exc.target})") from None
        records = data.get("records")
        if records is not None:
            if not isinstance(records, Mapping):
                raise ValueError("scenario: records must be an object of resource: [records]")
            self._scenario_records = dict(records)
            self._load_records()
        self._scenario_scripts = list(scripts)
        self._scenario_faults = list(faults)

    def _load_inventory(self, inventory: Mapping[str, Any] | None) -> None:
        """Make ``inventory`` the starting one and reset the records to it (and to the
        scenario's ``records``); a ValueError names a bad entry and changes nothing."""
        data = copy.deepcopy(inventory)
        with self.lock:
            if self._store is None:
                self._inventory = data
                self._api()  # its seed loads the inventory, or raises
                return
            self._store.reset(data, replace=True)
            self._inventory = data
            if self._scenario_records:
                self._load_records()

    def _load_records(self) -> None:
        """Create the scenario's ``records`` as POSTs would (checked, references resolved,
        keys generated, deep rules applied), in the order given; ValueError naming the entry."""
        self.store.loading = True
        try:
            self._create_records()
        finally:
            self.store.loading = False

    def _create_records(self) -> None:
        for name, entries in self._scenario_records.items():
            resource = self.store.spec.resources.get(name)
            if resource is None:
                raise ValueError(f'scenario: records: no resource "{name}" (see docs/coverage.md)')
            if not isinstance(entries, list):
                raise ValueError(f"scenario: records: {name} must be a list")
            parents = path_variables(resource.collection_path)
            for index, entry in enumerate(entries):
                where = f"scenario: records: {name}[{index}]"
                if not isinstance(entry, Mapping):
                    raise ValueError(f"{where} must be an object")
                keys = resource.keys[: len(parents)]
                values = [entry.get(key) for key in keys]
                if any(value is None for value in values):
                    raise ValueError(f"{where}: give {', '.join(keys)} (the collection's path)")
                path = fill_path(resource.collection_path, [str(v) for v in values])
                own = resource.keys[len(parents) :]
                body = {k: v for k, v in entry.items() if k not in keys and k not in own}
                # The record's own keys: as given, else a uuid derived from the entry, so a
                # scenario's records keep their uuids across resets and runs.
                preset = {k: entry[k] for k in own if k in entry}
                for key in own:
                    owner, _, leaf = key.rpartition(".")
                    # A key naming another record (a LUN map's lun.uuid) comes from its body.
                    if key not in preset and leaf == "uuid" and owner not in resource.references:
                        seed = f"{name}/{index}/{entry.get('name', '')}"
                        preset[key] = str(uuidlib.uuid5(_RECORD_NAMESPACE, seed))
                try:
                    route = self.routes.match("POST", path)
                    target = self.store.target(route.template, path, route.values)
                    self.store.plan(route.operation, target, body, {}, preset=preset).effect()
                except ApiError as exc:
                    raise ValueError(f"{where}: {exc.message} (at {exc.target})") from None
                except EffectError as exc:
                    raise ValueError(f"{where}: {exc.message}") from None

    @property
    def password(self) -> str:
        """Not shown in ``repr``; kept for building clients in tests."""
        return self._password

    def check_auth(self, username: str | None, password: str | None) -> bool:
        """Constant-time credential check."""
        user_ok = hmac.compare_digest((username or "").encode(), self.username.encode())
        pass_ok = hmac.compare_digest((password or "").encode(), self._password.encode())
        return user_ok and pass_ok

    @property
    def app(self) -> Flask:
        """The WSGI application (built on first use, by :attr:`app_factory`)."""
        if self._app is None:
            factory = Simulator.app_factory
            if factory is None:  # pragma: no cover - the package installs it on import
                raise RuntimeError("no HTTP layer installed (simulator/__init__.py does it)")
            self._app = factory(self)
        return self._app

    # -- the contract's verbs ------------------------------------------------------------
    def script(
        self,
        method: str,
        path: str,
        steps: Sequence[Mapping[str, Any]] | JobScript,
        times: int | None = 1,
        *,
        pausable: bool = True,
        cancellable: bool = True,
        on_cancel: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> ScriptRule:
        """Give the next ``times`` writes matching ``method`` and ``path`` (a glob) this script."""
        if isinstance(steps, JobScript):
            script = steps
        else:
            options: dict[str, Any] = {
                "steps": list(steps),
                "pausable": pausable,
                "cancellable": cancellable,
            }
            if on_cancel is not None:
                options["on_cancel"] = on_cancel
            if status is not None:
                options["status"] = status
            script = parse_script(options)
        rule = ScriptRule(
            _check_method(method, allow_any=True), _check_path(path), script, _check_times(times)
        )
        with self.lock:
            self._scripts.add(rule)
        return rule

    def add_script(self, data: Any) -> ScriptRule:
        """``POST /simulator/scripts`` body → rule (ApiError 400 naming the bad part)."""
        if not isinstance(data, Mapping):
            raise bad_value("body", "a script must be a JSON object")
        allowed = {
            "method",
            "path",
            "steps",
            "times",
            "pausable",
            "cancellable",
            "on_cancel",
            "status",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ApiError(400, "2", f'Unexpected argument "{unknown[0]}".', unknown[0])
        for required in ("method", "path", "steps"):
            if required not in data:
                raise bad_value(required, f'"{required}" is required')
        script = parse_script({k: data[k] for k in data if k not in ("method", "path", "times")})
        return self.script(data["method"], data["path"], script, data.get("times", 1))

    def scripts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [rule.to_json() for rule in self._scripts.rules()]

    def clear_scripts(self) -> None:
        with self.lock:
            self._scripts.clear()

    def _take_script(self, method: str, path: str) -> JobScript:
        with self.lock:
            rule = self._scripts.take(method, path)
            return rule.script if rule is not None else self.default_script

    def advance(self, seconds: float) -> float:
        """Move a virtual clock forward; returns the new time. 409 ApiError on a real clock."""
        if not isinstance(self.clock, VirtualClock):
            raise ApiError(409, "2", "The clock is real: it cannot be advanced.", "advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise bad_value("advance", f'"advance" must be a number of seconds, got {seconds!r}')
        try:
            if float(seconds) > _LAST_TIME - self.clock.now():
                raise ValueError("advance would move the clock past the year 9999")
            now = self.clock.advance(float(seconds))
        except (ValueError, OverflowError) as exc:
            raise bad_value("advance", str(exc)) from None
        self.jobs.settle()
        return now

    def fault(
        self,
        method: str = "*",
        path: str = "*",
        times: int | None = 1,
        **kind: Any,
    ) -> FaultRule:
        """Add a fault rule: one of ``status=`` (+``retry_after=``, ``message=``, ``code=``,
        ``target=``), ``delay=``, ``drop=True``, ``malformed=True``, ``vanish=True``; optional
        ``probability=``, ``seed=``, ``after=`` (matching requests let through first)."""
        return self.faults.add({"method": method, "path": path, "times": times, **kind})

    def reset(self) -> None:
        """Back to the start: jobs, objects, scripts, faults and journal as the scenario set them;
        a virtual clock back to its epoch."""
        with self.lock:
            self.jobs.reset()
            if self._store is not None:
                self._store.reset()
            if self._scenario_records:
                self._load_records()
            self._scripts.clear()
            self.faults.clear()
            self._journal.clear()
            self._journal_size = 0
            self.errors.clear()
            if isinstance(self.clock, VirtualClock):
                self.clock.reset()
            for item in self._scenario_scripts:
                self.add_script(item)
            for item in self._scenario_faults:
                self.faults.add(item)

    @property
    def journal(self) -> list[dict[str, Any]]:
        """Requests seen on the ONTAP API, oldest first (no credentials, secrets redacted)."""
        with self.lock:
            kept = [entry for entry, _ in self._journal]
        return [dict(entry) if isinstance(entry, dict) else entry.decode() for entry in kept]

    def latest_requests(self, count: int) -> tuple[list[dict[str, Any]], int]:
        """The journal's last ``count`` entries, newest first, and the journal's length; the
        lock is held only to take them, not to decode them (read them, do not edit them)."""
        with self.lock:
            latest = list(itertools.islice(reversed(self._journal), count))
            total = len(self._journal)
        return [e if isinstance(e, dict) else e.decode() for e, _ in latest], total

    def clear_journal(self) -> None:
        with self.lock:
            self._journal.clear()
            self._journal_size = 0

    def record(self, entry: Mapping[str, Any] | Recorded) -> None:
        """Append one request to the journal (the HTTP layer calls this): an entry, or one
        kept raw and decoded when read.

        The oldest entries go first once it holds over ``journal_limit`` entries or
        ``journal_bytes`` (so an entry larger than the whole budget is not kept).
        """
        kept: dict[str, Any] | Recorded
        if isinstance(entry, Mapping):
            kept = dict(entry)
            size = retained_bytes(kept)
        else:
            kept, size = entry, entry.size
        with self.lock:
            journal = self._journal
            journal.append((kept, size))
            self._journal_size += size
            while journal and (
                len(journal) > self.journal_limit or self._journal_size > self.journal_bytes
            ):
                self._journal_size -= journal.popleft()[1]

    # -- the ONTAP API -------------------------------------------------------------------
    @property
    def routes(self) -> Routes:
        """Every operation ONTAP documents, as one routing table (built on first use)."""
        return self._api()[0]

    @property
    def store(self) -> Store:
        """The records of every resource (built on first use)."""
        return self._api()[1]

    def _api(self) -> tuple[Routes, Store]:
        if self._routes is None or self._store is None:
            with self.lock:
                if self._routes is None or self._store is None:
                    spec = load_spec()
                    try:
                        store = Store(spec, self.lock, self._inventory, jobs=self.jobs)
                    except ValueError:
                        self._inventory = None
                        raise
                    self._store = store
                    self._routes = shared_routes()
                    self._store.take_script = self._take_script
        return self._routes, self._store

    def check_route(self, method: str, path: str) -> None:
        """ApiError 404 (262179) or 405 unless ``method`` on ``path`` is served."""
        path = _normalise(path)
        if any(e.matches(method, path) for e in self.endpoints):
            return
        try:
            self.routes.match(method, path)
        except ApiError as unknown:
            self._scoped(method, path, unknown)

    def read(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The body ONTAP answers a GET on ``path`` (a record, a collection or a singleton)
        with; an unknown path or record raises :class:`ApiError`.

        ``params`` is ONTAP's query language, which the store answers: field filters,
        ``fields``, ``order_by``, ``max_records`` and paging (``start.uuid``), and the
        ``return_records`` / ``return_timeout`` a collection GET takes: not HTTP, the same
        mapping a Python caller passes. Jobs that ended by now have applied their effects
        first, whether or not anyone polled them: a volume is there once its job is over.
        """
        path = _normalise(path)
        self.jobs.settle()
        try:
            route = self.routes.match("GET", path)
        except ApiError as unknown:
            scoped = self._scoped("GET", path, unknown)
            return self.store.read(scoped, params)
        return self.store.read(self.store.target(route.template, path, route.values), params)

    def _scoped(self, method: str, path: str, unknown: ApiError) -> Target:
        """A path naming the first keys of a record path, as ``/api/protocols/cifs/shares/
        {svm.uuid}``: that collection scoped to those keys, for a GET or a query-based PATCH
        or DELETE (INFERRED: ONTAP takes them; netapp.ontap's na_ontap_cifs deletes a share
        with ``DELETE /api/protocols/cifs/shares/{svm.uuid}?name=...``). Raises ``unknown``
        (the path's own routing error) for any other path."""
        if unknown.status != 404 or method == "POST":
            raise unknown
        try:
            route = self.routes.match("GET", path.rstrip("/") + "/-")
        except ApiError:
            raise unknown from None
        resource = self.store.spec.resource_for(route.template)
        if resource is None or route.template != resource.record_path or len(route.values) < 2:
            raise unknown
        self.routes.match(method, resource.collection_path)  # 405 without a bulk form
        keys = tuple(zip(resource.keys, route.values[:-1], strict=False))
        return Target(resource, route.template, path, keys, False)

    # -- the write flow ------------------------------------------------------------------
    def is_write_endpoint(self, method: str, path: str) -> bool:
        """Whether (method, path) is a write this simulator serves."""
        if method not in WRITE_METHODS:
            return False
        try:
            self.check_route(method, path)
        except ApiError:
            return False
        return True

    def submit(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        query: Mapping[str, str] | None = None,
        *,
        return_timeout: int = 0,
        return_records: bool = False,
    ) -> WriteOutcome:
        """Validate a write, start its job, wait up to ``return_timeout`` seconds (0..120),
        and say what it came to. Invalid writes raise :class:`ApiError` and start no job.

        ``query`` is ONTAP's query language for the write, as the store reads it: the field
        filters selecting the records of a PATCH or DELETE on a collection (with
        ``continue_on_failure``, ``serial_records``) and a resource's own arguments
        (``allow_delete_while_mapped``). ``return_timeout`` and ``return_records`` are
        arguments of this call, not of ``query`` (where they are unexpected). An operation
        ONTAP answers at once (no 202 among its statuses) applies before it returns, with no
        job.
        """
        if not 0 <= return_timeout <= MAX_RETURN_TIMEOUT:
            raise ValueError(f"return_timeout {return_timeout} is not 0..{MAX_RETURN_TIMEOUT}")
        path = _normalise(path)
        self.jobs.settle()  # a write is checked against every job that ended by now
        plan = self._plan(method, path, body, query or {}, return_records)
        done: WriteKind = "created" if plan.creates else "done"
        if not plan.asynchronous:
            try:
                plan.effect()
            except EffectError as exc:
                status = 404 if exc.code == 4 else 409
                raise ApiError(status, str(exc.code), exc.message) from None
            return WriteOutcome(done, plan.location, None, plan.records)
        script = self._take_script(method, path)
        job = self.jobs.create(plan.description, script, effect=plan.effect, svm=plan.svm)
        if return_timeout == 0:
            # ONTAP answers 202 without waiting, even for a job that ends at once.
            return WriteOutcome("accepted", plan.location, job.uuid, plan.records)
        self.jobs.wait(job.uuid, return_timeout)
        with self.lock:
            state, message, code = job.state, job.message, job.code
            failure_status = job.failure_status
        if state == "success":
            return WriteOutcome(done, plan.location, job.uuid, plan.records)
        if state == "failure":
            error = ApiError(failure_status, str(code), message)
            return WriteOutcome("failed", None, job.uuid, error=error)
        return WriteOutcome("accepted", plan.location, job.uuid, plan.records)

    def _plan(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        query: Mapping[str, str],
        return_records: bool = False,
    ) -> WritePlan:
        for endpoint in self.endpoints:
            if endpoint.matches(method, path):
                return WritePlan(
                    description=f"{method} {path}",
                    effect=lambda: None,
                    location=None,
                    svm=None,
                    creates=method == "POST",
                )
        if method not in WRITE_METHODS:
            raise method_not_allowed(method, path, self.routes.allowed_methods(path))
        try:
            route = self.routes.match(method, path)
        except ApiError as unknown:
            scoped = self._scoped(method, path, unknown)
            collection = self.routes.match(method, scoped.resource.collection_path)
            return self.store.plan(
                collection.operation, scoped, body, query, return_records=return_records
            )
        target = self.store.target(route.template, path, route.values)
        return self.store.plan(route.operation, target, body, query, return_records=return_records)

    def __repr__(self) -> str:
        return f"Simulator(clock={self.clock!r}, username={self.username!r})"
