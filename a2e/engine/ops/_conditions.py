"""Conditions (FilterData, Conditional) and JSON value comparison shared by the core ops.

Comparisons follow JSON, not Python: ``true`` is not ``1``; ordering compares two numbers
or two strings, and anything else (mixed types, null, a missing field) is simply false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from a2e.engine.ops._common import is_number, lookup
from a2e.errors import DataError
from a2e.protocol.catalog import OPERATORS

MISSING: Any = object()


def field_value(item: Any, field: str) -> Any:
    """``item``'s value at the dotted ``field`` (``user.age``, ``tags.0``), or MISSING."""
    try:
        return lookup(item, field)
    except LookupError:
        return MISSING


def canonical(value: Any) -> str:
    """A text equal for equal JSON values (for dedupe and set operations)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: booleans equal only booleans, ``1 == 1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(actual: Any, expected: Any) -> bool:
        comparable = (is_number(actual) and is_number(expected)) or (
            isinstance(actual, str) and isinstance(expected, str)
        )
        return comparable and compare(actual, expected)

    return test


def _member(needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, list):
        return any(json_equal(needle, item) for item in haystack)
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle in haystack
    if isinstance(haystack, Mapping) and isinstance(needle, str):
        return needle in haystack
    return False


def _strings(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda actual, expected: (
        isinstance(actual, str) and isinstance(expected, str) and test(actual, expected)
    )


def _empty(actual: Any) -> bool:
    return actual is MISSING or actual is None or actual in ("", [], {})


_TESTS: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": json_equal,
    "!=": lambda actual, expected: not json_equal(actual, expected),
    ">": _ordered(lambda a, b: a > b),
    "<": _ordered(lambda a, b: a < b),
    ">=": _ordered(lambda a, b: a >= b),
    "<=": _ordered(lambda a, b: a <= b),
    "in": _member,
    "contains": lambda actual, expected: _member(expected, actual),
    "startsWith": _strings(str.startswith),
    "endsWith": _strings(str.endswith),
    "exists": lambda actual, _: actual is not MISSING and actual is not None,
    "empty": lambda actual, _: _empty(actual),
}


def matches(actual: Any, operator: str, expected: Any) -> bool:
    """Whether ``actual`` (possibly MISSING) satisfies ``operator`` against ``expected``.

    A missing field fails every test but ``!=`` and ``empty``.
    """
    test = _TESTS.get(operator)
    if test is None:
        raise DataError(
            f"unknown operator {operator!r}", suggestions=[f"one of {', '.join(OPERATORS)}"]
        )
    return test(actual, expected)
