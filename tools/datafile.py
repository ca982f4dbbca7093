"""What the compilers of ``simulator/model/*.json`` share: the file's text, and writing or
checking it (``--check`` names what is stale rather than dumping a diff)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TYPE_CODES = {
    "string": "s",
    "integer": "i",
    "number": "n",
    "boolean": "b",
    "date-time": "d",
    "object": "o",
    "any": "a",
}
FLAG_LIST, FLAG_GET, FLAG_POST, FLAG_PATCH, FLAG_EXPENSIVE = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class LeafRow:
    """One field as the data file stores it (what ``simulator/model/spec.py`` decodes)."""

    name: str
    type: str
    flags: int
    in_list: str | None
    enum: tuple[str, ...] | None
    minimum: float | None
    maximum: float | None
    min_length: int | None
    max_length: int | None


def encode_fields(leaves: Iterable[LeafRow], enums: dict[tuple[str, ...], int]) -> list[list[Any]]:
    """A resource's fields as compact rows: each name shares a prefix with the one before, enums
    are indexes into ``enums`` (filled as met), trailing empty values are left out."""
    rows: list[list[Any]] = []
    previous = ""
    for leaf in leaves:
        shared = sum(
            1
            for _ in itertools.takewhile(
                lambda p: p[0] == p[1], zip(previous, leaf.name, strict=False)
            )
        )
        previous = leaf.name
        row: list[Any] = [
            shared,
            leaf.name[shared:],
            TYPE_CODES[leaf.type],
            leaf.flags,
            len(leaf.in_list) if leaf.in_list else 0,
        ]
        extras = [
            enums.setdefault(leaf.enum, len(enums)) if leaf.enum else None,
            _number(leaf.minimum),
            _number(leaf.maximum),
            leaf.min_length,
            leaf.max_length,
        ]
        while extras and extras[-1] is None:
            extras.pop()
        rows.append(row + extras)
    return rows


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def render(data: Mapping[str, Any]) -> str:
    """The data file's text: compact, sorted, one line, deterministic."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write_or_check(out: Path, text: str, *, check: bool, origin: str, rerun: str) -> int:
    """Write ``text`` to ``out``, or with ``check`` exit 1 naming what is stale.

    ``origin`` is the header key naming what the file was made from (``source``, ``commit``).
    """
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is stale ({diff_summary(current, text, origin)}): run {rerun}")
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text.encode())} bytes)")
    return 0


def diff_summary(current: str, expected: str, origin: str) -> str:
    """What differs between two data files, in one line."""
    if not current:
        return "missing"
    try:
        old = json.loads(current)
    except ValueError:
        return "not valid JSON"
    if not isinstance(old, dict):
        return "not the data file's layout"
    new = json.loads(expected)
    if old.get(origin) != new[origin]:
        return f"made from {origin} {old.get(origin)}, now {new[origin]}"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if "resources" in changed:
        old_r = {r[0]: r for r in old.get("resources", []) if isinstance(r, list) and r}
        new_r = {r[0]: r for r in new["resources"]}
        names = sorted(n for n in set(old_r) | set(new_r) if old_r.get(n) != new_r.get(n))
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return f"{', '.join(changed)} differ; resources: {shown}"
    return f"{', '.join(changed) or 'layout'} differ"


def print_sections(sections: Iterable[tuple[str, Sequence[Any]]]) -> None:
    """A compiler's ``--report`` lists: each title with its count, then its items."""
    for title, items in sections:
        print(f"\n{title}: {len(items)}")
        for item in items:
            print(f"  {item}")
