"""ONTAP collection queries: field filters, ``fields``, ``order_by``, ``max_records``, paging.

One implementation serves every collection the simulator has (jobs, volumes, snapshots, SVMs,
...), so they all answer the same query language the same way. Records are plain dicts in
ONTAP's shape; dotted names (``svm.name``) reach into nested objects and lists.

Filter values follow ONTAP's query syntax: ``a|b`` (or), ``!x`` (not), ``*`` wildcards,
``<n``, ``>n``, ``<=n``, ``>=n`` and ``lo..hi`` (ranges), ``null`` / ``!null``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .errors import ApiError, unexpected_argument

__all__ = [
    "COLLECTION_PARAMS",
    "RECORD_PARAMS",
    "check_params",
    "get_path",
    "matches",
    "parse_bool",
    "parse_fields",
    "parse_int",
    "query_collection",
    "select_fields",
]

Record = dict[str, Any]

#: Query arguments every collection GET accepts besides field filters.
COLLECTION_PARAMS = frozenset(
    {"fields", "max_records", "order_by", "return_records", "return_timeout", "start.uuid"}
)
#: Query arguments a record GET accepts.
RECORD_PARAMS = frozenset({"fields"})

_MISSING = object()


def get_path(record: Mapping[str, Any], dotted: str) -> Any:
    """Value at ``a.b.c`` in ``record``; lists fan out (a list of the values found).

    Returns a private sentinel when nothing is there.
    """
    current: Any = record
    for part in dotted.split("."):
        if isinstance(current, list):
            found = [get_path(item, part) for item in current if isinstance(item, Mapping)]
            found = [v for v in found if v is not _MISSING]
            if not found:
                return _MISSING
            current = found
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(_flatten(item))
        return out
    return [value]


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _match_one(value: Any, pattern: str) -> bool:
    """Whether one scalar ``value`` matches one ONTAP query term (no ``|`` or ``!``).

    A term in double quotes is taken literally (``name="q*1"``: no wildcard, no operator).
    """
    if len(pattern) >= 2 and pattern.startswith('"') and pattern.endswith('"'):
        return _scalar_text(value) == pattern[1:-1]
    for op in ("<=", ">=", "<", ">"):
        if pattern.startswith(op):
            bound = _as_number(pattern[len(op) :])
            got = _as_number(_scalar_text(value)) if not isinstance(value, bool) else None
            if bound is None or got is None:
                text = _scalar_text(value)
                bound_text = pattern[len(op) :]
                return {
                    "<=": text <= bound_text,
                    ">=": text >= bound_text,
                    "<": text < bound_text,
                    ">": text > bound_text,
                }[op]
            return {"<=": got <= bound, ">=": got >= bound, "<": got < bound, ">": got > bound}[op]
    if ".." in pattern:
        low_text, _, high_text = pattern.partition("..")
        low, high = _as_number(low_text), _as_number(high_text)
        got = _as_number(_scalar_text(value))
        if low is not None and high is not None and got is not None:
            return low <= got <= high
        text = _scalar_text(value)
        return low_text <= text <= high_text
    text = _scalar_text(value)
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(text.lower(), pattern.lower())
    if text == pattern:
        return True
    number, wanted = _as_number(text), _as_number(pattern)
    return number is not None and wanted is not None and number == wanted


def matches(record: Mapping[str, Any], field: str, query: str) -> bool:
    """Whether ``record`` satisfies the filter ``field=query``."""
    for alternative in query.split("|"):
        negate = alternative.startswith("!")
        term = alternative[1:] if negate else alternative
        value = get_path(record, field)
        if term == "null":
            hit = value is _MISSING or value is None
        elif value is _MISSING:
            hit = False
        else:
            # An object matches by its name: netapp.ontap's na_ontap_qtree filters qtrees
            # with volume=<name> (INFERRED: it finds the qtree of that volume on clusters).
            scalars = (v.get("name") if isinstance(v, Mapping) else v for v in _flatten(value))
            hit = any(_match_one(v, term) for v in scalars if v is not None)
        if hit != negate:
            return True
    return False


def parse_int(params: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    """Integer query argument ``name`` within ``low..high``, or None when absent.

    Out of range or not an integer: ONTAP's 262197 "The value ... is invalid for field".
    """
    raw = params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    value: int | None
    try:
        value = int(text, 10)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        limits = f"<{low}..{high}>" if high is not None else f"<{low}..>"
        raise ApiError(
            400, "262197", f'The value "{raw}" is invalid for field "{name}" ({limits})', name
        )
    return value


def parse_bool(params: Mapping[str, str], name: str, default: bool) -> bool:
    """Boolean query argument (``true``/``false``), ONTAP's 262197 on anything else."""
    raw = params.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(
        400, "262197", f'The value "{raw}" is invalid for field "{name}" (<boolean>)', name
    )


def parse_fields(raw: str | None) -> list[str] | None:
    """The ``fields`` argument as a list (a trailing comma is tolerated).

    None when absent or empty (``fields=``): both ask for the default fields.
    """
    if raw is None:
        return None
    names = [part.strip() for part in raw.split(",")]
    return [name for name in names if name] or None


def _known_field(record_fields: Iterable[str], name: str) -> bool:
    for known in record_fields:
        if known == name or known.startswith(name + ".") or name.startswith(known + "."):
            return True
    return False


def check_params(
    params: Mapping[str, str],
    allowed: Iterable[str],
    field_names: Iterable[str],
) -> None:
    """Refuse query arguments that are neither ``allowed`` nor a known (dotted) field.

    ``field_names`` lists the dotted leaf names a record can have. ONTAP answers an unknown
    argument with 262179 'Unexpected argument "x".'; a bad name in ``fields`` with 262197.
    """
    allowed_set = set(allowed)
    names = list(field_names)
    for key in params:
        if key in allowed_set:
            continue
        if not _known_field(names, key):
            raise unexpected_argument(key, status=404)
    for name in parse_fields(params.get("fields")) or []:
        if name in ("*", "**"):
            continue
        if not _known_field(names, name):
            raise ApiError(
                400,
                "262197",
                f'The value "{name}" is invalid for field "fields" (<field,...>)',
                "fields",
            )


def _copy_path(source: Mapping[str, Any], target: Record, parts: Sequence[str]) -> None:
    head = parts[0]
    if head not in source:
        return
    value = source[head]
    if len(parts) == 1:
        target[head] = value
        return
    if isinstance(value, Mapping):
        child = target.setdefault(head, {})
        if isinstance(child, dict):
            _copy_path(value, child, parts[1:])
    elif isinstance(value, list):
        existing = target.get(head)
        items: list[Any] = existing if isinstance(existing, list) else [{} for _ in value]
        for item, out in zip(value, items, strict=False):
            if isinstance(item, Mapping) and isinstance(out, dict):
                _copy_path(item, out, parts[1:])
        target[head] = items


def select_fields(
    record: Mapping[str, Any], fields: Sequence[str] | None, keys: Sequence[str]
) -> Record:
    """``record`` cut down to ``fields`` plus its identifying ``keys`` and ``_links``.

    ``fields`` None or containing ``*``/``**`` keeps the whole record.
    """
    if fields is None or "*" in fields or "**" in fields:
        return dict(record)
    out: Record = {}
    for name in [*keys, *fields, "_links"]:
        _copy_path(record, out, name.split("."))
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is _MISSING or value is None:
        return (2, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    return (1, str(value))


def _field_key(name: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(get_path(record, name))


def _order(records: list[Record], order_by: str | None) -> list[Record]:
    if not order_by:
        return records
    ordered = records
    terms = [term.strip() for term in order_by.split(",") if term.strip()]
    for term in reversed(terms):
        name, _, direction = term.partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise ApiError(
                400,
                "262197",
                f'The value "{term}" is invalid for field "order_by" (<field [asc|desc]>)',
                "order_by",
            )
        ordered = sorted(ordered, key=_field_key(name), reverse=direction == "desc")
    return ordered


def query_collection(
    records: Iterable[Record],
    params: Mapping[str, str],
    *,
    href: str,
    keys: Sequence[str] = ("uuid", "name"),
    default_fields: Sequence[str] = (),
    reserved: Iterable[str] = COLLECTION_PARAMS,
    render: Callable[[Record], Record] | None = None,
) -> Record:
    """Answer a collection GET: filter, order, page and cut ``records`` per ``params``.

    ``href`` is the collection path (for ``_links``); ``keys`` are always returned;
    ``default_fields`` are returned besides the keys when ``fields`` is absent.
    """
    reserved_set = set(reserved)
    filters = [(k, v) for k, v in params.items() if k not in reserved_set]
    max_records = parse_int(params, "max_records", 0, None)
    return_records = parse_bool(params, "return_records", True)
    parse_int(params, "return_timeout", 0, 120)
    fields = parse_fields(params.get("fields"))
    wanted = fields if fields is not None else list(default_fields)

    self_query = urlencode(list(params.items()))
    links: Record = {"self": {"href": href + (f"?{self_query}" if self_query else "")}}
    matching = (r for r in records if all(matches(r, k, v) for k, v in filters))
    if not return_records:
        # A count keeps no record: ``records`` may be a stream of 100,000 retained jobs.
        return {"num_records": sum(1 for _ in matching), "_links": links}
    selected = _order(list(matching), params.get("order_by"))

    start_uuid = params.get("start.uuid")
    if start_uuid is not None:
        index = next((i for i, r in enumerate(selected) if r.get("uuid") == start_uuid), None)
        selected = selected[index:] if index is not None else []

    page = selected if max_records is None else selected[:max_records]
    rest = selected[len(page) :]
    shown = [render(r) if render else r for r in page]
    body: Record = {
        "records": [select_fields(r, wanted, keys) for r in shown],
        "num_records": len(page),
    }
    if rest:
        next_params = {k: v for k, v in params.items() if k != "start.uuid"}
        next_params["start.uuid"] = str(rest[0].get("uuid", ""))
        links["next"] = {"href": href + "?" + urlencode(list(next_params.items()))}
    body["_links"] = links
    return body
