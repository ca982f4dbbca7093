"""Small pieces the deep models share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...query import get_path as _path

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["all_records", "value_at"]

Record = dict[str, Any]
_ABSENT = _path({}, "absent")


def all_records(store: Store, resource: str) -> list[Record]:
    """Every record of ``resource``, looked up once per read or write."""
    found: list[Record] = store.cached(("records", resource), lambda: store.records_of(resource))
    return found


def value_at(record: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``a.b.c`` in ``record`` (lists fan out), or None when there is none."""
    value = _path(record, dotted)
    return None if value is _ABSENT else value
