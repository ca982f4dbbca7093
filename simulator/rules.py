"""What script rules and fault rules share: a method, a path glob, and a number of uses."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import TypeVar

__all__ = ["CountedRule", "rule_matches", "take_first"]


def rule_matches(rule_method: str, rule_path: str, method: str, path: str) -> bool:
    """Whether a request matches a rule's method (or ``*``) and path glob."""
    return rule_method in ("*", method.upper()) and fnmatch.fnmatchcase(path, rule_path)


class CountedRule:
    """Mixin for rules that match ``method`` (or ``*``) and a ``path`` glob, ``remaining`` times
    (None: forever); ``hits`` counts the requests it applied to."""

    method: str
    path: str
    remaining: int | None
    hits: int

    def matches(self, method: str, path: str) -> bool:
        return rule_matches(self.method, self.path, method, path)

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
