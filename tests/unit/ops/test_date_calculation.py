import pytest

from a2e.engine.ops import date_calculation
from a2e.errors import DataError


def calc(make_ctx, value, other=None, **config):
    ctx = make_ctx({"/workflow/a": value, "/workflow/b": other})
    return date_calculation.run(ctx, {"inputPath": "/workflow/a", **config})


@pytest.mark.parametrize(("value", "config", "expected"), [
    ("2024-01-31", {"operation": "add", "months": 1}, "2024-02-29"),
    ("2023-01-31", {"operation": "add", "months": 1}, "2023-02-28"),
    ("2024-02-29", {"operation": "add", "years": 1}, "2025-02-28"),
    ("2024-03-31", {"operation": "subtract", "months": 1}, "2024-02-29"),
    ("2024-07-01", {"operation": "add", "weeks": 2, "days": 1}, "2024-07-16"),
    ("2024-07-01", {"operation": "add"}, "2024-07-01"),
    ("2024-07-01", {"operation": "add", "hours": 36}, "2024-07-02T12:00:00"),
    ("2024-01-31T10:00:00-05:00", {"operation": "add", "months": 1, "minutes": 90}, "2024-02-29T11:30:00-05:00"),
    ("2024-07-01T00:00:00Z", {"operation": "subtract", "seconds": 1}, "2024-06-30T23:59:59+00:00"),
    ("2024-07-01T00:00:00", {"operation": "add", "days": -1}, "2024-06-30T00:00:00"),
])
def test_add_and_subtract(make_ctx, value, config, expected):
    assert calc(make_ctx, value, **config) == expected


@pytest.mark.parametrize(("value", "other", "unit", "expected"), [
    ("2024-01-01", "2024-03-01", None, 60),
    ("2024-03-01", "2024-01-01", "days", -60),
    ("2024-07-01T00:00:00Z", "2024-07-01T01:30:00Z", "hours", 1.5),
    ("2024-07-01T00:00:00Z", "2024-07-01T01:30:00+01:00", "minutes", 30),
    ("2024-07-01", "2024-07-01T00:00:10Z", "seconds", 10),
    ("2024-01-31", "2024-02-29", "months", 1),  # the inverse of add: 01-31 + 1 month = 02-29
    ("2024-01-31", "2024-02-28", "months", 0),
    ("2024-01-31", "2024-03-31", "months", 2),
    ("2024-03-31", "2024-01-31", "months", -2),
    ("2020-02-29", "2024-02-28", "years", 3),
    ("2020-02-29", "2024-02-29", "years", 4),
    ("2024-01-01T23:00:00-05:00", "2024-02-01T04:00:00Z", "months", 0),  # 01-31T23:00-05:00
    ("2024-01-01T00:00:00", "2024-02-01T00:00:00+01:00", "hours", 743),  # naive is UTC
])
def test_difference(make_ctx, value, other, unit, expected):
    config = {"operation": "difference", "otherPath": "/workflow/b", **({"unit": unit} if unit else {})}
    result = calc(make_ctx, value, other, **config)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("config", "message"), [
    ({"operation": "difference"}, "needs otherPath"),
    ({"operation": "difference", "otherPath": "/workflow/b", "unit": "fortnights"}, "unknown unit"),
    ({"operation": "difference", "otherPath": "/workflow/b", "days": 1}, "belong to 'add'"),
    ({"operation": "add", "unit": "days"}, "belong to 'difference'"),
    ({"operation": "multiply"}, "unknown operation"),
    ({"operation": "add", "months": 1.5}, "must be an integer"),
    ({"operation": "add", "days": True}, "must be an integer"),
    ({"operation": "add", "years": 10_000}, "out of range"),
    ({"operation": "add", "days": 10**30}, "out of range"),
])
def test_semantic_errors(make_ctx, config, message):
    with pytest.raises(DataError, match=message):
        calc(make_ctx, "2024-07-01", "2024-07-02", **config)


@pytest.mark.parametrize("value", ["July 1st", True, "2024-02-30"])
def test_bad_dates(make_ctx, value):
    with pytest.raises(DataError, match="DateCalculation"):
        calc(make_ctx, value, operation="add", days=1)
