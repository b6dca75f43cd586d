"""The condition operators and JSON comparison rules, directly."""

from __future__ import annotations

import pytest

from a2e.engine.ops._conditions import MISSING, field_value, json_equal, matches
from a2e.errors import DataError
from a2e.protocol.catalog import OPERATORS


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_is_false_or_true_for_any_pair_without_crashing(operator):
    samples = [MISSING, None, True, 0, 1.5, "a", [1], {"k": 1}]
    for actual in samples:
        for expected in samples[1:]:
            assert matches(actual, operator, expected) in (True, False)


@pytest.mark.parametrize(
    ("actual", "operator", "expected", "result"),
    [
        (True, "==", 1, False),
        (1, "==", 1.0, True),
        ([1, True], "==", [1, True], True),
        ([1, True], "==", [1, 1], False),
        (MISSING, "!=", "x", True),
        (MISSING, "==", None, False),
        (None, "exists", None, False),
        ("", "empty", None, True),
        ({}, "empty", None, True),
        (0, "empty", None, False),
        ("b", ">", "a", True),
        ("10", ">", 9, False),
        ("ell", "in", "hello", True),
        ({"k": 1}, "contains", "k", True),
        ([{"a": 1}], "contains", {"a": 1}, True),
    ],
)
def test_operator_semantics(actual, operator, expected, result):
    assert matches(actual, operator, expected) is result


def test_unknown_operator_is_a_data_error():
    with pytest.raises(DataError):
        matches(1, "~=", 1)


def test_field_value_follows_dotted_paths():
    item = {"user": {"tags": ["x", "y"]}}
    assert field_value(item, "user.tags.1") == "y"
    assert field_value(item, "user.name") is MISSING
    assert json_equal({"a": [1]}, {"a": [1.0]})
