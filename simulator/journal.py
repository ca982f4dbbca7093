"""The request journal's pieces that the engine and the HTTP layer share: what is redacted,
how large a kept body may be, and how its memory is counted. (No Flask, no Simulator: both
import from here, so neither imports the other.)"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["JOURNAL_BODY_BYTES", "JOURNAL_BYTES", "Recorded", "redact", "retained_bytes"]

#: Default bound on the request journal's memory (estimated bytes), besides its entry count.
JOURNAL_BYTES = 64 * 1024 * 1024
#: A request body larger than this is journaled as a one-line summary, not parsed and kept.
JOURNAL_BODY_BYTES = 64 * 1024
_REDACT = ("password", "passphrase", "secret", "token", "authorization")


class Recorded(Protocol):
    """A journal entry kept as the request came (the HTTP layer's ``RawEntry``): decoded, and
    its secrets redacted, only when read; ``size`` estimates the memory it keeps."""

    @property
    def size(self) -> int: ...
    def decode(self) -> dict[str, Any]: ...


def redact(value: Any) -> Any:
    """A copy of a JSON value with password-like fields replaced by ``"<redacted>"``."""
    if isinstance(value, Mapping):
        return {
            k: "<redacted>" if any(word in str(k).lower() for word in _REDACT) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def retained_bytes(value: Any) -> int:
    """Rough memory a JSON-like value keeps alive: ``sys.getsizeof`` of every node, no recursion."""
    size = sys.getsizeof
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        total += size(item)
        if isinstance(item, dict):
            for key, child in item.items():
                total += size(key)
                if isinstance(child, dict | list | tuple):
                    stack.append(child)
                else:
                    total += size(child)
        elif isinstance(item, list | tuple):
            for child in item:
                if isinstance(child, dict | list | tuple):
                    stack.append(child)
                else:
                    total += size(child)
    return total
