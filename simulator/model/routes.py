"""One routing table for ONTAP's API: every documented (method, path) as a werkzeug rule.

Built from the declaration's operations, so a path ONTAP documents is never an "unknown path"
and a method it does not take on a path is a 405 naming the ones it does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from ..errors import ApiError
from .spec import Operation
from .store import path_variables

__all__ = ["Route", "Routes", "method_not_allowed", "unknown_path", "unmodelled"]

#: Path variables whose values are paths themselves (files, directories), when last.
_PATH_VALUES = frozenset({"path", "unix_path"})


@dataclass(frozen=True)
class Route:
    """A matched request: the operation, its path template and the path's variable values."""

    operation: Operation
    template: str
    values: tuple[str, ...]


def _rule_text(template: str) -> str:
    out = template
    variables = path_variables(template)
    for index, name in enumerate(variables):
        last = index == len(variables) - 1 and template.endswith("{" + name + "}")
        converter = "path:" if last and name in _PATH_VALUES else ""
        out = out.replace("{" + name + "}", f"<{converter}p{index}>", 1)
    return out


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
    """Match (method, path) to an operation; 404 and 405 as ONTAP answers them."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._operations: dict[tuple[str, str], Operation] = {}
        by_template: dict[str, set[str]] = {}
        for operation in operations:
            self._operations[(operation.method, operation.path)] = operation
            by_template.setdefault(operation.path, set()).add(operation.method)
        self._map = Map(
            [Rule(_rule_text(t), endpoint=t, methods=sorted(m)) for t, m in by_template.items()],
            strict_slashes=False,
            merge_slashes=False,
        )
        self._adapter = self._map.bind("localhost", "/")

    def __contains__(self, template: str) -> bool:
        return any(path == template for _, path in self._operations)

    def match(self, method: str, path: str) -> Route:
        """The route ``method`` on ``path`` takes; ApiError 404 (262179) or 405 otherwise."""
        try:
            template, args = self._adapter.match(path, method=method)
        except MethodNotAllowed as exc:
            allowed = sorted(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS"))
            raise method_not_allowed(method, path, allowed) from None
        except NotFound:
            raise unknown_path(path) from None
        values = tuple(str(args[f"p{i}"]) for i in range(len(args)))
        operation = self._operations[(method if method != "HEAD" else "GET", str(template))]
        return Route(operation, str(template), values)

    def allowed_methods(self, path: str) -> list[str]:
        """The methods ``path`` takes ([] for a path ONTAP does not have)."""
        methods = self._adapter.allowed_methods(path)
        return sorted(m for m in methods if m not in ("HEAD", "OPTIONS"))
