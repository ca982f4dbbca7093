"""What the compilers of ``simulator/model/*.json`` share: the file's text, and writing or
checking it (``--check`` names what is stale rather than dumping a diff)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


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
