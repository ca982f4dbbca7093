"""Request bodies: dotted names expanded, and checked against a resource's declared fields.

One checker serves every resource: a field a method does not take, a wrong JSON type, a value
outside an enum or its bounds, or a missing required field is refused with ONTAP's 400 (code
"2") naming the field in ``target``, before any job is created.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..errors import ApiError, bad_value
from .spec import FieldSpec, ResourceSpec

__all__ = [
    "Shape",
    "check_body",
    "expand_dotted",
    "invalid",
    "missing",
    "refused_field",
    "shape_of",
    "show",
    "widened",
]

Record = dict[str, Any]
#: ``load``: a scenario's record, which may also set what only the cluster sets (GET fields).
Method = Literal["post", "patch", "load"]


# -- dotted names ------------------------------------------------------------------------------
def _conflict(dotted: str) -> ApiError:
    return bad_value(dotted, f'Conflicting values for field "{dotted}".')


def _merge(target: Record, key: str, value: Any, dotted: str) -> None:
    if key not in target:
        target[key] = value
        return
    existing = target[key]
    if isinstance(existing, dict) and isinstance(value, dict):
        for sub_key, sub_value in value.items():
            _merge(existing, sub_key, sub_value, f"{dotted}.{sub_key}")
    elif existing != value or isinstance(existing, dict) or isinstance(value, dict):
        raise _conflict(dotted)


def _expand_value(value: Any, prefix: str) -> Any:
    if isinstance(value, Mapping):
        return _expand(value, prefix)
    if isinstance(value, list):
        return [_expand_value(item, prefix) for item in value]
    return value


def _expand(body: Mapping[str, Any], prefix: str) -> Record:
    out: Record = {}
    for key, value in body.items():
        dotted = prefix + str(key)
        parts = str(key).split(".")
        if any(not part for part in parts):
            raise bad_value(dotted, f'Invalid field name "{dotted}".')
        node = out
        for depth, part in enumerate(parts[:-1]):
            here = prefix + ".".join(parts[: depth + 1])
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _conflict(here)
            node = child
        _merge(node, parts[-1], _expand_value(value, dotted + "."), dotted)
    return out


def expand_dotted(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with dotted keys (``"svm.name"``) expanded into nested objects, at any depth.

    ONTAP accepts both spellings and clients mix them (Ansible sends ``"svm.name"``). Two
    spellings of one field must agree: otherwise 400 (code 2) naming the field.
    """
    return _expand(body, "")


# -- the errors --------------------------------------------------------------------------------
def show(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters, for error messages."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def invalid(target: str, value: Any, expected: str) -> ApiError:
    """400 (code 2): ``value`` is not valid for ``target``."""
    return bad_value(
        target, f'The value {show(value)} is invalid for field "{target}" ({expected}).'
    )


def missing(target: str) -> ApiError:
    """400 (code 2): a required field is absent."""
    return bad_value(target, f'Missing value for required field "{target}".')


def refused_field(dotted: str, known: Iterable[str]) -> ApiError:
    """400 (code 2) for a body field the operation does not take: nothing is silently dropped.

    A field the resource has but the method does not take is named as such; a name the
    resource does not have at all is ONTAP's "Unexpected argument".
    """
    for name in known:
        if name == dotted or name.startswith(dotted + "."):
            return bad_value(dotted, f'Field "{dotted}" cannot be set in this operation.')
    return ApiError(400, "2", f'Unexpected argument "{dotted}".', dotted)


# -- a resource's shape ------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A resource's fields indexed for checking: leaves, objects, lists of objects."""

    leaves: Mapping[str, FieldSpec]
    objects: frozenset[str]
    lists: frozenset[str]
    #: Objects (and lists of objects) with a field a method takes, by method.
    writable: Mapping[Method, frozenset[str]]


#: Shapes by the identity of their resource (kept alive in the value).
_SHAPES: dict[int, tuple[ResourceSpec, Shape]] = {}


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def shape_of(resource: ResourceSpec) -> Shape:
    """The (cached) :class:`Shape` of ``resource``."""
    cached = _SHAPES.get(id(resource))
    if cached is not None and cached[0] is resource:
        return cached[1]
    objects: set[str] = set()
    lists: set[str] = set()
    writable: dict[Method, set[str]] = {"post": set(), "patch": set(), "load": set()}
    for name, spec in resource.fields.items():
        objects.update(_prefixes(name))
        if spec.in_list:
            lists.add(spec.in_list)
            objects.update(_prefixes(spec.in_list))
        for method, names in writable.items():
            if _takes(spec, method):
                names.update(_prefixes(name))
    frozen = {method: frozenset(names) for method, names in writable.items()}
    shape = Shape(resource.fields, frozenset(objects), frozenset(lists), frozen)
    _SHAPES[id(resource)] = (resource, shape)
    return shape


_WIDENED: dict[tuple[str, int], ResourceSpec] = {}


def widened(
    resource: ResourceSpec,
    takes: Mapping[str, Iterable[str]],
    extra: Mapping[str, FieldSpec],
) -> ResourceSpec:
    """``resource`` whose bodies also take ``takes`` (declared fields, by method) and the
    undeclared ``extra`` fields: what ONTAP takes beyond the declaration (cached)."""
    if not takes and not extra:
        return resource
    key = (resource.name, id(takes))
    found = _WIDENED.get(key)
    if found is None:
        fields = dict(resource.fields)
        for method, names in takes.items():
            for name in names:
                spec = fields[name]
                fields[name] = dataclasses.replace(
                    spec,
                    post=spec.post or method == "post",
                    patch=spec.patch or method == "patch",
                )
        fields.update(extra)
        found = _WIDENED[key] = dataclasses.replace(resource, fields=fields)
    return found


# -- values ------------------------------------------------------------------------------------
#: ONTAP's integers are 64-bit: a JSON number beyond is not one (1e300 is a float).
_INT64 = 2.0**63
_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")


def _check_scalar(spec: FieldSpec, value: Any, target: str) -> Any:
    kind = spec.type
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(target, value, "expected a string")
        if spec.enum is not None and value not in spec.enum:
            raise invalid(target, value, "expected one of " + "|".join(spec.enum))
        too_short = spec.min_length is not None and len(value) < spec.min_length
        too_long = spec.max_length is not None and len(value) > spec.max_length
        if too_short or too_long:
            low = spec.min_length or 0
            high = "" if spec.max_length is None else str(spec.max_length)
            raise invalid(target, value, f"expected <{low}..{high}> characters")
        return value
    if kind in ("integer", "number"):
        if isinstance(value, str) and _DECIMAL.fullmatch(value):
            # ONTAP takes a number spelled as a string (na_ontap_lun_map sends lun_id so).
            value = float(value) if "." in value else int(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(
                target, value, f"expected {'an integer' if kind == 'integer' else 'a number'}"
            )
        if kind == "integer" and isinstance(value, float):
            if not value.is_integer() or abs(value) >= _INT64:
                raise invalid(target, value, "expected an integer")
            value = int(value)
        least, most = spec.minimum, spec.maximum
        if (least is not None and value < least) or (most is not None and value > most):
            lower = "" if least is None else _number(least)
            upper = "" if most is None else _number(most)
            raise invalid(target, value, f"expected <{lower}..{upper}>")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(target, value, "expected true or false")
        return value
    if kind == "date-time":
        if not isinstance(value, str) or not _is_timestamp(value):
            raise invalid(target, value, "expected an ISO 8601 date and time")
        return value
    if kind == "object":
        if not isinstance(value, Mapping):
            raise invalid(target, value, "expected an object")
        return dict(value)
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_leaf(spec: FieldSpec, value: Any, target: str) -> Any:
    if spec.is_list:
        if not isinstance(value, list):
            raise invalid(target, value, "expected a list")
        return [_check_scalar(spec, item, target) for item in value]
    return _check_scalar(spec, value, target)


# -- bodies ------------------------------------------------------------------------------------
def _takes(spec: FieldSpec, method: Method) -> bool:
    if method == "load":
        return spec.post or spec.get
    return spec.post if method == "post" else spec.patch


def _walk(
    resource: ResourceSpec,
    shape: Shape,
    body: Mapping[str, Any],
    prefix: str,
    method: Method,
) -> Record:
    out: Record = {}
    for key, value in body.items():
        dotted = prefix + key
        spec = shape.leaves.get(dotted)
        if spec is not None and dotted not in shape.objects:
            if not _takes(spec, method):
                raise refused_field(dotted, (dotted,))
            if value is not None:
                out[key] = _check_leaf(spec, value, dotted)
            continue
        if dotted in shape.lists:
            if dotted not in shape.writable[method]:
                raise refused_field(dotted, (dotted,))
            if not isinstance(value, list):
                raise invalid(dotted, value, "expected a list of objects")
            items = []
            for item in value:
                if isinstance(item, str) and dotted in resource.references:
                    item = {"name": item}
                if not isinstance(item, Mapping):
                    raise invalid(dotted, item, "expected an object")
                items.append(_walk(resource, shape, item, dotted + ".", method))
            out[key] = items
            continue
        if dotted in shape.objects:
            if dotted not in shape.writable[method]:
                raise refused_field(dotted, (dotted,))
            if isinstance(value, str) and dotted in resource.references:
                # A bare string names a reference: ONTAP takes "ipspace": "Default" for
                # {"name": "Default"} (INFERRED from netapp.ontap's REST bodies).
                value = {"name": value}
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise invalid(dotted, value, "expected an object")
            out[key] = _walk(resource, shape, value, dotted + ".", method)
            continue
        raise refused_field(dotted, ())
    return out


def check_body(resource: ResourceSpec, body: Mapping[str, Any], method: Method) -> Record:
    """``body`` (dotted names expanded) checked against what ``method`` takes on ``resource``.

    Returns the normalised body; raises :class:`ApiError` naming the first bad field.
    """
    return _walk(resource, shape_of(resource), expand_dotted(body), "", method)


def _present(body: Any, dotted: str) -> bool:
    """Whether ``dotted`` has a value in ``body`` (in some item, through lists of objects)."""
    if isinstance(body, list):
        return any(_present(item, dotted) for item in body)
    head, _, rest = dotted.partition(".")
    if not isinstance(body, Mapping) or body.get(head) is None:
        return False
    return _present(body[head], rest) if rest else True


def check_required(
    resource: ResourceSpec,
    body: Mapping[str, Any],
    given: Iterable[str] = (),
    groups: Iterable[tuple[str, ...]] | None = None,
) -> None:
    """400 naming the first of ``resource``'s required POST fields that is absent.

    ``given`` names fields the path already supplies (a parent's key); ``groups`` replaces
    the declaration's required groups (a deep model's, where the declaration is wrong).
    """
    supplied = set(given)
    for group in resource.required_post if groups is None else groups:
        if any(name in supplied or _present(body, name) for name in group):
            continue
        raise missing(group[0])
