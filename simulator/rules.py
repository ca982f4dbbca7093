"""What script rules and fault rules share: a method, a path glob, and a number of uses.

Also the one glob matcher of the simulator (:class:`Glob`), for rule paths and for ``*``
patterns in collection queries. It is compiled by hand rather than through :mod:`fnmatch`,
whose cache keeps up to 32,768 compiled patterns (a client choosing distinct patterns made
the simulator hold memory for each), and it matches without a regular expression, so no
pattern backtracks.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

from .errors import ApiError

__all__ = [
    "MAX_GLOB_LENGTH",
    "MAX_RULES",
    "SPENT_LISTED",
    "CountedRule",
    "Glob",
    "RuleBook",
    "compile_glob",
    "rule_matches",
    "take_first",
]

#: Longest glob a client may give as a rule's path; longer ones are refused.
MAX_GLOB_LENGTH = 1024
#: Rules of one kind (scripts, faults) that may be armed at once: every request scans them.
MAX_RULES = 1000
#: Spent rules still listed (with ``times: 0``) after they leave the scan, newest kept.
SPENT_LISTED = 100

#: One pattern character: a literal, ``None`` for ``?``, or ``(negated, ranges)`` for ``[...]``.
_Unit = str | None | tuple[bool, tuple[tuple[str, str], ...]]


class _Segment:
    """A run of the pattern between two ``*``: fixed length, matched at a position."""

    __slots__ = ("_masks", "anchor", "length", "literal", "offset", "units")

    def __init__(self, units: list[_Unit]) -> None:
        self.units = tuple(units)
        self.length = len(units)
        literal = all(isinstance(unit, str) for unit in units)
        self.literal: str | None = "".join(units) if literal else None  # type: ignore[arg-type]
        self._masks: dict[str, int] = {}
        # The longest literal run: where it is absent (str.find, at C speed) nothing matches.
        self.anchor, self.offset, run = "", 0, 0
        for k, unit in enumerate([*units, None]):
            if isinstance(unit, str):
                run += 1
            else:
                if run > len(self.anchor):
                    self.anchor = "".join(units[k - run : k])  # type: ignore[arg-type]
                    self.offset = k - run
                run = 0

    def at(self, text: str, i: int) -> bool:
        """Whether the segment matches ``text`` at position ``i``."""
        if self.literal is not None:
            return text.startswith(self.literal, i)
        if i < 0 or i + self.length > len(text):
            return False
        return all(_fits(unit, text[i + k]) for k, unit in enumerate(self.units))

    def find(self, text: str, start: int, end: int) -> int:
        """The first position in ``start..end - length`` where the segment matches, or -1.

        A literal segment is ``str.find``; one with ``?`` or ``[...]`` is searched in one pass
        (shift-and: bit k of ``state`` says the last k+1 characters match the first k+1 units).
        """
        if self.literal is not None:
            return text.find(self.literal, start, end)
        if self.anchor:
            found = text.find(self.anchor, start + self.offset, end)
            if found < 0:
                return -1
            start = found - self.offset
        state, done = 0, 1 << (self.length - 1)
        for position in range(start, end):
            state = ((state << 1) | 1) & self._mask(text[position])
            if state & done:
                return position - self.length + 1
        return -1

    def _mask(self, char: str) -> int:
        """Bits of the units ``char`` fits (remembered for up to 256 characters)."""
        mask = self._masks.get(char)
        if mask is None:
            mask = sum(1 << k for k, unit in enumerate(self.units) if _fits(unit, char))
            if len(self._masks) < 256:
                self._masks[char] = mask
        return mask


def _fits(unit: _Unit, char: str) -> bool:
    if unit is None:
        return True
    if isinstance(unit, str):
        return char == unit
    negated, ranges = unit
    return any(low <= char <= high for low, high in ranges) != negated


def _parse(pattern: str) -> list[list[_Unit]]:
    """The pattern as segments of units, split at each ``*`` (``[...]`` as fnmatch reads it)."""
    segments: list[list[_Unit]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            segments.append([])
        elif char == "?":
            segments[-1].append(None)
        elif char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                segments[-1].append("[")  # no closing bracket: a literal "["
                continue
            inside, i = pattern[i:j], j + 1
            negated = inside.startswith("!")
            if negated:
                inside = inside[1:]
            ranges: list[tuple[str, str]] = []
            k = 0
            while k < len(inside):
                if k + 2 < len(inside) and inside[k + 1] == "-":
                    if inside[k] <= inside[k + 2]:
                        ranges.append((inside[k], inside[k + 2]))
                    k += 3
                else:
                    ranges.append((inside[k], inside[k]))
                    k += 1
            segments[-1].append((negated, tuple(ranges)))
        else:
            segments[-1].append(char)
    return segments


class Glob:
    """A shell-style pattern, compiled once: ``*`` any run, ``?`` one character, ``[seq]`` and
    ``[!seq]`` a class; case-sensitive, the whole text must match (as ``fnmatchcase``).

    Segments between ``*`` have a fixed length, so the leftmost place of each is the right
    one: matching is one pass over the text, never a backtrack.
    """

    __slots__ = ("_first", "_last", "_middle", "_min_length", "_single", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        segments = [_Segment(units) for units in _parse(pattern)]
        self._single = segments[0] if len(segments) == 1 else None
        self._first, self._last = segments[0], segments[-1]
        self._middle = tuple(s for s in segments[1:-1] if s.length)
        self._min_length = sum(s.length for s in segments)

    def match(self, text: str) -> bool:
        """Whether ``text`` matches the whole pattern."""
        if self._single is not None:
            return len(text) == self._single.length and self._single.at(text, 0)
        if len(text) < self._min_length or not self._first.at(text, 0):
            return False
        end = len(text) - self._last.length
        if not self._last.at(text, end):
            return False
        position = self._first.length
        for segment in self._middle:
            found = segment.find(text, position, end)
            if found < 0:
                return False
            position = found + segment.length
        return True

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


@functools.lru_cache(maxsize=128)
def compile_glob(pattern: str) -> Glob:
    """A :class:`Glob` from a small cache, for globs matched often but not kept on a rule
    (a scenario's extra endpoints)."""
    return Glob(pattern)


def rule_matches(rule_method: str, rule_path: str, method: str, path: str) -> bool:
    """Whether a request matches a rule's method (or ``*``) and path glob."""
    return rule_method in ("*", method.upper()) and compile_glob(rule_path).match(path)


class CountedRule:
    """Mixin for rules that match ``method`` (or ``*``) and a ``path`` glob, ``remaining`` times
    (None: forever); ``hits`` counts the requests it applied to."""

    method: str
    path: str
    remaining: int | None
    hits: int
    id: int

    @functools.cached_property
    def glob(self) -> Glob:
        """The rule's path, compiled once (a rule's path never changes)."""
        return Glob(self.path)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.glob.match(path)

    def fires(self) -> bool:
        """Whether a matching request sets the rule off (a probability may say no)."""
        return True


Rule = TypeVar("Rule", bound=CountedRule)


def take_first(rules: Iterable[Rule], method: str, path: str) -> Rule | None:
    """The first rule, in order, that applies to this request, spending one of its uses."""
    for rule in rules:
        if rule.remaining is not None and rule.remaining <= 0:
            continue
        if not rule.matches(method, path) or not rule.fires():
            continue
        rule.hits += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        return rule
    return None


class RuleBook(Generic[Rule]):
    """Armed rules of one kind, consulted in the order added; not thread-safe (the owner locks).

    A rule whose ``times`` ran out leaves the scan at once, so spent rules cost a request
    nothing; the last :data:`SPENT_LISTED` of them are still listed, with their hits. At most
    ``limit`` rules may be armed: one more is refused with a 400.
    """

    def __init__(self, kind: str, limit: int = MAX_RULES) -> None:
        self.kind = kind
        self.limit = limit
        self._armed: list[Rule] = []
        self._spent: deque[Rule] = deque(maxlen=SPENT_LISTED)

    def add(self, rule: Rule) -> Rule:
        if len(self._armed) >= self.limit:
            raise ApiError(
                400,
                "2",
                f"At most {self.limit} {self.kind} rules may be armed at once; "
                "clear some (DELETE) or give one rule more times.",
                "body",
            )
        self._armed.append(rule)
        return rule

    def take(self, method: str, path: str) -> Rule | None:
        """The first armed rule that applies to this request, spending one of its uses."""
        for index, rule in enumerate(self._armed):
            if not rule.matches(method, path) or not rule.fires():
                continue
            rule.hits += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    del self._armed[index]
                    self._spent.append(rule)
            return rule
        return None

    def rules(self) -> list[Rule]:
        """Armed and recently spent rules, in the order they were added."""
        return sorted([*self._armed, *self._spent], key=lambda rule: rule.id)

    def __len__(self) -> int:
        return len(self._armed)

    def clear(self) -> None:
        self._armed.clear()
        self._spent.clear()
