"""ONTAP's error answers, as values the engine raises and the HTTP layer renders.

Every refusal the simulator makes is an :class:`ApiError` carrying ONTAP's status, code (a
string, as ONTAP sends it), message and target. The engine never imports Flask: it raises
these and :mod:`simulator.app` turns them into ``{"error": {...}}`` bodies.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_value",
    "duplicate",
    "not_found",
    "unexpected_argument",
]


class ApiError(Exception):
    """An ONTAP error answer: ``status`` plus the ``{"error": ...}`` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        arguments: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = dict(headers or {})
        self.arguments = arguments

    def body(self) -> dict[str, Any]:
        """ONTAP's error body."""
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.arguments:
            error["arguments"] = self.arguments
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, target={self.target!r})"
        )


def not_found(target: str = "uuid") -> ApiError:
    """404 "entry doesn't exist" (code 4), as ONTAP answers for an unknown or purged uuid."""
    return ApiError(404, "4", "entry doesn't exist", target)


def bad_value(target: str, message: str | None = None) -> ApiError:
    """400 with code 2: an invalid, missing or wrongly typed field."""
    return ApiError(400, "2", message or f'Invalid value for field "{target}".', target)


def duplicate(target: str, message: str = "duplicate entry") -> ApiError:
    """409 "duplicate entry" (code 1)."""
    return ApiError(409, "1", message, target)


def unexpected_argument(name: str, status: int = 400) -> ApiError:
    """ONTAP's 262179 'Unexpected argument "x".' for unknown query or body fields."""
    return ApiError(status, "262179", f'Unexpected argument "{name}".', name)
