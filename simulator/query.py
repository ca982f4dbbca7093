"""ONTAP collection queries: field filters, ``fields``, ``order_by``, ``max_records``, paging.

One implementation serves every collection the simulator has (jobs, volumes, snapshots, SVMs,
...), so they all answer the same query language the same way. Records are plain dicts in
ONTAP's shape; dotted names (``svm.name``) reach into nested objects and lists.

Filter values follow ONTAP's query syntax: ``a|b`` (or), ``!x`` (not), ``*`` wildcards,
``<n``, ``>n``, ``<=n``, ``>=n`` and ``lo..hi`` (ranges), ``null`` / ``!null``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .errors import ApiError, unexpected_argument
from .rules import Glob

__all__ = [
    "COLLECTION_PARAMS",
    "INT64_MAX",
    "MAX_ALTERNATIVES",
    "MAX_FIELDS",
    "MAX_ORDER_BY",
    "MAX_PATTERNS",
    "MAX_QUERY_ARGUMENTS",
    "MAX_TERM_LENGTH",
    "RECORD_PARAMS",
    "check_params",
    "compile_filter",
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

#: Alternatives (``a|b|...``) a query's filters may hold in all. Plain values are looked up in
#: a set (the same work per record for one or a thousand of them)...
MAX_ALTERNATIVES = 1024
#: ...the others (``*``/``?`` patterns, comparisons, ranges, ``!x``, ``null``) are tested one
#: by one on every record, so there may be fewer of them.
MAX_PATTERNS = 32
#: Longest alternative of a filter, in characters.
MAX_TERM_LENGTH = 256
#: Names a ``fields`` argument may list.
MAX_FIELDS = 256
#: Terms an ``order_by`` argument may list (each is a sort of the whole collection).
MAX_ORDER_BY = 32
#: Query arguments a request may carry.
MAX_QUERY_ARGUMENTS = 256

#: The largest integer ONTAP's 64-bit fields hold.
INT64_MAX = 2**63 - 1
#: An integer as a client may spell it: ASCII digits (at most 20), an optional minus sign.
_INTEGER = re.compile(r"-?[0-9]{1,20}")

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


_Test = Callable[[Any], bool]


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


def _comparison(op: str, bound_text: str) -> _Test:
    bound = _as_number(bound_text)
    compare = _COMPARISONS[op]

    def test(value: Any) -> bool:
        text = _scalar_text(value)
        got = _as_number(text) if not isinstance(value, bool) else None
        if bound is None or got is None:
            return compare(text, bound_text)
        return compare(got, bound)

    return test


def _range(pattern: str) -> _Test:
    low_text, _, high_text = pattern.partition("..")
    low, high = _as_number(low_text), _as_number(high_text)

    def within(value: Any) -> bool:
        text = _scalar_text(value)
        got = _as_number(text)
        if low is not None and high is not None and got is not None:
            return low <= got <= high
        return low_text <= text <= high_text

    return within


def _wildcard(pattern: str) -> _Test:
    glob = Glob(pattern.lower())
    return lambda value: glob.match(_scalar_text(value).lower())


def _term_test(pattern: str) -> _Test | None:
    """A test for one ONTAP query term (no ``|`` or ``!``); None for a plain value (exact)."""
    for op in _COMPARISONS:
        if pattern.startswith(op):
            return _comparison(op, pattern[len(op) :])
    if ".." in pattern:
        return _range(pattern)
    if "*" in pattern or "?" in pattern:
        return _wildcard(pattern)
    return None


class _Filter:
    """One filter ``field=a|!b|...``, compiled once per query and applied to every record.

    Plain values of the filter are looked up in a set, so a long ``a|b|c`` list costs the
    same per record as one value; the other terms are tested one by one.
    """

    def __init__(self, field: str, query: str) -> None:
        self.field = field
        self.texts: set[str] = set()
        self.numbers: set[float] = set()
        self.terms: list[tuple[bool, _Test | None]] = []  # (negated, test); None: "null"
        for alternative in query.split("|"):
            negate = alternative.startswith("!")
            term = alternative[1:] if negate else alternative
            if term == "null":
                self.terms.append((negate, None))
                continue
            # A term in double quotes is taken literally (``name="q*1"``: no wildcard, no
            # operator); netapp.ontap's na_ontap_qtree quotes the name it looks for.
            quoted = len(term) >= 2 and term[0] == term[-1] == '"'
            if quoted:
                term = term[1:-1]
            test = None if quoted else _term_test(term)
            if test is None and not negate:
                self.texts.add(term)
                number = _as_number(term)
                if number is not None:
                    self.numbers.add(number)
                continue
            self.terms.append((negate, test or _exact(term)))

    def __call__(self, record: Mapping[str, Any]) -> bool:
        value = get_path(record, self.field)
        missing = value is _MISSING
        # An object matches by its name: na_ontap_qtree filters qtrees with volume=<name>
        # (INFERRED: it finds the qtree of that volume on clusters).
        flat = [] if missing else _flatten(value)
        names = (v.get("name") if isinstance(v, Mapping) else v for v in flat)
        scalars = [v for v in names if v is not None]
        if self.texts:
            for scalar in scalars:
                text = _scalar_text(scalar)
                if text in self.texts:
                    return True
                if self.numbers and _as_number(text) in self.numbers:
                    return True
        for negate, test in self.terms:
            if test is None:
                hit = missing or value is None
            elif len(scalars) == 1:
                hit = test(scalars[0])
            else:
                hit = any(map(test, scalars))
            if hit != negate:
                return True
        return False


def _exact(pattern: str) -> _Test:
    wanted = _as_number(pattern)

    def equal(value: Any) -> bool:
        text = _scalar_text(value)
        if text == pattern:
            return True
        number = _as_number(text)
        return number is not None and wanted is not None and number == wanted

    return equal


def _invalid_filter(field: str, query: str, why: str) -> ApiError:
    """ONTAP's 262197 for a query argument past one of this module's bounds."""
    shown = query if len(query) <= 40 else query[:40] + "..."
    return ApiError(
        400, "262197", f'The value "{shown}" is invalid for field "{field}" ({why})', field
    )


def compile_filter(field: str, query: str) -> _Filter:
    """The filter ``field=query`` as a test of one record (ApiError 400 past the bounds)."""
    if query.count("|") + 1 > MAX_ALTERNATIVES:
        raise _invalid_filter(field, query, f"at most {MAX_ALTERNATIVES} alternatives")
    if any(len(term) > MAX_TERM_LENGTH for term in query.split("|")):
        raise _invalid_filter(
            field, query, f"each alternative at most {MAX_TERM_LENGTH} characters"
        )
    compiled = _Filter(field, query)
    if len(compiled.terms) > MAX_PATTERNS:
        raise _invalid_filter(field, query, f"at most {MAX_PATTERNS} patterns")
    return compiled


def matches(record: Mapping[str, Any], field: str, query: str) -> bool:
    """Whether ``record`` satisfies the filter ``field=query``."""
    return compile_filter(field, query)(record)


def parse_int(params: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    """Integer query argument ``name`` within ``low..high`` (at most 64 bits), or None when
    absent.

    Only ASCII digits with an optional ``-`` are an integer: not ``1_0``, ``+1``, `` 1 ``,
    full-width or Arabic-Indic digits, all of which Python's ``int()`` would take. Anything
    else, or out of range: ONTAP's 262197 "The value ... is invalid for field".
    """
    raw = params.get(name)
    if raw is None:
        return None
    ceiling = INT64_MAX if high is None else min(high, INT64_MAX)
    value = int(raw) if _INTEGER.fullmatch(raw) else None
    if value is None or value < low or value > ceiling:
        limits = f"<{low}..{high}>" if high is not None else f"<{low}..>"
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise ApiError(
            400, "262197", f'The value "{shown}" is invalid for field "{name}" ({limits})', name
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
    names = [name for name in (part.strip() for part in raw.split(",")) if name]
    if len(names) > MAX_FIELDS:
        raise _invalid_filter("fields", raw, f"at most {MAX_FIELDS} names")
    return names or None


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
    if len(params) > MAX_QUERY_ARGUMENTS:
        extra = list(params)[MAX_QUERY_ARGUMENTS]
        raise ApiError(
            400,
            "2",
            f"The query has {len(params)} arguments; at most {MAX_QUERY_ARGUMENTS} are accepted.",
            extra,
        )
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
    if len(terms) > MAX_ORDER_BY:
        raise _invalid_filter("order_by", order_by, f"at most {MAX_ORDER_BY} terms")
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
    ``default_fields`` are returned besides the keys when ``fields`` is absent; the fields a
    filter names are returned too, as ONTAP returns them (na_ontap_lun reads the
    ``location.volume.name`` it filtered on).
    """
    reserved_set = set(reserved)
    alternatives = 0
    for key, value in params.items():
        if key not in reserved_set:
            alternatives += value.count("|") + 1
            if alternatives > MAX_ALTERNATIVES:
                raise _invalid_filter(
                    key, value, f"at most {MAX_ALTERNATIVES} alternatives in all filters"
                )
    filters = [compile_filter(k, v) for k, v in params.items() if k not in reserved_set]
    patterns = 0
    for compiled in filters:
        patterns += len(compiled.terms)
        if patterns > MAX_PATTERNS:
            raise _invalid_filter(
                compiled.field,
                params[compiled.field],
                f"at most {MAX_PATTERNS} patterns in all filters",
            )
    max_records = parse_int(params, "max_records", 0, None)
    return_records = parse_bool(params, "return_records", True)
    parse_int(params, "return_timeout", 0, 120)
    fields = parse_fields(params.get("fields"))
    wanted = [*(fields if fields is not None else default_fields), *(f.field for f in filters)]

    self_query = urlencode(list(params.items()))
    links: Record = {"self": {"href": href + (f"?{self_query}" if self_query else "")}}
    matching = (r for r in records if all(test(r) for test in filters))
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
