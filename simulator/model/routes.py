"""One routing table for ONTAP's API: every documented (method, path) as a werkzeug rule.

Built from operations.tsv, so a path ONTAP documents is never an "unknown path" and a method
it does not take on a path is a 405 naming the ones it does. The table is shared by every
Simulator in a process (it never changes) and cheap to start: the rules of each group
(``/api/cluster/jobs...``, ``/api/storage/volumes...``) are compiled when a request first needs
them, and a matched operation's declaration (its resource) is looked up only when asked for,
so a job poll needs neither the whole map nor the compiled API declaration.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, Rule

from ..errors import ApiError
from .spec import ApiSpec, Operation, load_spec
from .store import path_variables

__all__ = [
    "Route",
    "Routes",
    "method_not_allowed",
    "routes_for",
    "shared_routes",
    "unknown_path",
    "unmodelled",
]

#: Path variables whose values are paths themselves (files, directories), when last.
_PATH_VALUES = frozenset({"path", "unix_path"})
#: How many matched (method, path) pairs a table remembers (a poller repeats its job's path).
_MATCHED_MAX = 4096
#: The operations the table is built from (the same list the compiled declaration holds).
OPERATIONS_FILE = "operations.tsv"

Resolver = Callable[[str, str], Operation]


@dataclass(frozen=True)
class Route:
    """A matched request: the operation's method and path template, the path's variable
    values, and the operation itself (looked up on first use)."""

    method: str
    template: str
    values: tuple[str, ...]
    resolve: Resolver = field(repr=False, compare=False)

    @property
    def operation(self) -> Operation:
        return self.resolve(self.method, self.template)


def _rule_text(template: str) -> str:
    out = template
    variables = path_variables(template)
    for index, name in enumerate(variables):
        last = index == len(variables) - 1 and template.endswith("{" + name + "}")
        converter = "path:" if last and name in _PATH_VALUES else ""
        out = out.replace("{" + name + "}", f"<{converter}p{index}>", 1)
    return out


def _value(text: str) -> str:
    """A matched path variable's value: ``%2F`` and ``%25`` in it (an encoded ``/`` or ``%``
    the HTTP layer kept encoded, so the segment stayed one) decoded; any other ``%`` is
    itself."""
    if "%" not in text:
        return text
    return re.sub("%(2[fF5])", lambda m: "/" if m.group(1) in ("2F", "2f") else "%", text)


def _segments(path: str) -> tuple[str, str] | None:
    """``("storage", "volumes")`` for ``/api/storage/volumes/...``; None off ``/api/``."""
    if not path.startswith("/api/"):
        return None
    first, _, rest = path[5:].partition("/")
    return (first, rest.partition("/")[0]) if first else None


def unknown_path(path: str) -> ApiError:
    """ONTAP's 404 262179 for a path it does not have (names the last segment)."""
    segment = [part for part in path.split("/") if part][-1] if path.strip("/") else path
    return ApiError(404, "262179", f'Unexpected argument "{segment}".', segment)


def method_not_allowed(method: str, path: str, allowed: Sequence[str]) -> ApiError:
    """405 with an ``Allow`` header naming the methods ``path`` takes."""
    error = ApiError(
        405,
        "3",
        f'The method "{method}" is not allowed on {path} (allowed: {", ".join(allowed)}).',
    )
    error.headers["Allow"] = ", ".join(allowed)
    return error


def unmodelled(operation: Operation) -> ApiError:
    """405 for an operation ONTAP documents on a resource whose deep model does not take it
    yet: refused, never accepted and dropped (docs/coverage.md lists them)."""
    return ApiError(
        405,
        "3",
        f'The simulator does not model "{operation.method} {operation.path}" yet '
        "(see docs/coverage.md).",
    )


class Routes:
    """Match (method, path) to an operation; 404 and 405 as ONTAP answers them.

    ``operations`` are the operations themselves, or (method, path template) pairs with
    ``resolve`` giving the operation of a pair when a route's ``operation`` is read.
    """

    def __init__(
        self,
        operations: Iterable[Operation | tuple[str, str]],
        resolve: Resolver | None = None,
    ) -> None:
        known: dict[tuple[str, str], Operation] = {}
        pairs: list[tuple[str, str]] = []
        for item in operations:
            if isinstance(item, Operation):
                known[(item.method, item.path)] = item
                pairs.append((item.method, item.path))
            else:
                pairs.append(item)
        # Rules compile per group of the first two segments (``storage/volumes``), or of the
        # first alone where a template has a variable second (``resource-tags/{value}``).
        self._wide = frozenset(
            segments[0]
            for _, template in pairs
            if (segments := _segments(template)) is not None and "{" in segments[1]
        )
        by_group: dict[str, dict[str, set[str]]] = {}
        for method, template in pairs:
            group = self._group(template) or ""
            by_group.setdefault(group, {}).setdefault(template, set()).add(method)
        self._pairs = frozenset(
            (m, t) for g in by_group.values() for t, ms in g.items() for m in ms
        )
        self._templates = frozenset(t for g in by_group.values() for t in g)
        self._resolve: Resolver = resolve or (lambda method, template: known[(method, template)])
        self._by_group = by_group
        self._adapters: dict[str, MapAdapter] = {}
        self._lock = threading.Lock()
        self._matched: dict[tuple[str, str], Route] = {}

    def __contains__(self, template: str) -> bool:
        return template in self._templates

    def _group(self, path: str) -> str | None:
        segments = _segments(path)
        if segments is None:
            return None
        first, second = segments
        return first if first in self._wide else f"{first}/{second}"

    def _adapter(self, path: str) -> MapAdapter | None:
        group = self._group(path)
        if group is None or group not in self._by_group:
            return None
        adapter = self._adapters.get(group)
        if adapter is None:
            with self._lock:
                adapter = self._adapters.get(group)
                if adapter is None:
                    rules = self._by_group[group]
                    adapter = Map(
                        [
                            Rule(_rule_text(t), endpoint=t, methods=sorted(m))
                            for t, m in rules.items()
                        ],
                        strict_slashes=False,
                        merge_slashes=False,
                    ).bind("localhost", "/")
                    self._adapters[group] = adapter
        return adapter

    def match(self, method: str, path: str) -> Route:
        """The route ``method`` on ``path`` takes; ApiError 404 (262179) or 405 otherwise."""
        found = self._matched.get((method, path))
        if found is not None:
            return found
        adapter = self._adapter(path)
        if adapter is None:
            raise unknown_path(path)
        try:
            template, args = adapter.match(path, method=method)
        except MethodNotAllowed as exc:
            allowed = sorted(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS"))
            raise method_not_allowed(method, path, allowed) from None
        except NotFound:
            raise unknown_path(path) from None
        values = tuple(_value(str(args[f"p{i}"])) for i in range(len(args)))
        route = Route(method if method != "HEAD" else "GET", str(template), values, self._resolve)
        if len(self._matched) >= _MATCHED_MAX:
            self._matched.clear()
        self._matched[(method, path)] = route
        return route

    def allowed_methods(self, path: str) -> list[str]:
        """The methods ``path`` takes ([] for a path ONTAP does not have)."""
        adapter = self._adapter(path)
        if adapter is None:
            return []
        return sorted(m for m in adapter.allowed_methods(path) if m not in ("HEAD", "OPTIONS"))


def _operation_of(spec: ApiSpec) -> Resolver:
    by_pair: Mapping[tuple[str, str], Operation] = {(o.method, o.path): o for o in spec.operations}
    return lambda method, template: by_pair[(method, template)]


@functools.cache
def routes_for(spec: ApiSpec) -> Routes:
    """The routing table of ``spec``'s operations, built once and shared."""
    return Routes(spec.operations)


@functools.cache
def _declared() -> Resolver:
    return _operation_of(load_spec())


def _resolve_declared(method: str, template: str) -> Operation:
    return _declared()(method, template)


@functools.cache
def shared_routes() -> Routes:
    """The table of every operation in the packaged operations.tsv (the list the compiled
    declaration holds), shared by every Simulator; the declaration loads when a route's
    ``operation`` is first read."""
    text = resources.files(__package__).joinpath(OPERATIONS_FILE).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    return Routes([(row[0], row[1]) for row in rows], _resolve_declared)
