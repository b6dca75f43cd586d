"""FilterData, TransformData and MergeData through the Runner (inputs seeded in /store)."""

from __future__ import annotations

from typing import Any

import pytest

PEOPLE = [
    {"name": "Alice", "points": 100, "user": {"age": 17}, "tags": ["new"], "email": "alice@a.org"},
    {"name": "Bob", "points": 200, "user": {"age": 30}, "tags": ["vip", "new"], "note": ""},
    {"name": "Carol", "points": 150, "user": {"age": 18}, "tags": [], "email": None},
]


@pytest.fixture
def run_op(values, run_workflow, agent_id):
    """Run one operation after storing ``inputs`` ({key: value}, read at /store/<key>)."""

    def run(op_type: str, config: dict[str, Any], **inputs: Any) -> Any:
        for key, value in inputs.items():
            values.put(agent_id, "db", key, value)
        result = run_workflow([("op", op_type, {**config, "outputPath": "/workflow/out"})])
        assert result.status == "succeeded", result.error
        return result.results["op"]

    return run


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def filter_people(run_op, *conditions: dict[str, Any]) -> list[str]:
    config = {"inputPath": "/store/people", "conditions": list(conditions)}
    return names(run_op("FilterData", config, people=PEOPLE))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "points", "operator": ">", "value": 150}, ["Bob"]),
        ({"field": "user.age", "operator": ">=", "value": 18}, ["Bob", "Carol"]),
        ({"field": "name", "operator": "in", "value": ["Alice", "Carol"]}, ["Alice", "Carol"]),
        ({"field": "tags", "operator": "contains", "value": "vip"}, ["Bob"]),
        ({"field": "email", "operator": "contains", "value": "@a.org"}, ["Alice"]),
        ({"field": "name", "operator": "startsWith", "value": "Ca"}, ["Carol"]),
        ({"field": "name", "operator": "endsWith", "value": "ob"}, ["Bob"]),
        ({"field": "email", "operator": "exists"}, ["Alice"]),
        ({"field": "tags", "operator": "empty"}, ["Carol"]),
        ({"field": "note", "operator": "empty"}, ["Alice", "Bob", "Carol"]),
        ({"field": "name", "operator": "!=", "value": "Bob"}, ["Alice", "Carol"]),
        ({"field": "points", "operator": "<=", "value": 150}, ["Alice", "Carol"]),
    ],
)
def test_filter_operators(run_op, condition, expected):
    assert filter_people(run_op, condition) == expected


def test_filter_points_over_150_keeps_only_bob(run_op):
    assert filter_people(run_op, {"field": "points", "operator": ">", "value": 150}) == ["Bob"]


def test_filter_all_conditions_must_match(run_op):
    assert filter_people(
        run_op,
        {"field": "user.age", "operator": ">=", "value": 18},
        {"field": "points", "operator": "<", "value": 200},
    ) == ["Carol"]


def test_filter_incomparable_types_are_false_not_a_crash(run_op):
    assert filter_people(run_op, {"field": "name", "operator": ">", "value": 5}) == []
    assert filter_people(run_op, {"field": "missing", "operator": ">", "value": 5}) == []


def test_filter_without_conditions_keeps_every_item(run_op):
    assert names(run_op("FilterData", {"inputPath": "/store/people"}, people=PEOPLE)) == [
        "Alice", "Bob", "Carol"]


def test_filter_value_may_be_a_path_reference(run_op):
    config = {"inputPath": "/store/people",
              "conditions": [{"field": "points", "operator": ">=", "value": {"path": "/store/min"}}]}
    assert names(run_op("FilterData", config, people=PEOPLE, min=150)) == ["Bob", "Carol"]


def test_filter_true_is_not_one(run_op):
    config = {"inputPath": "/store/flags", "conditions": [{"field": "v", "operator": "==", "value": 1}]}
    assert run_op("FilterData", config, flags=[{"v": True}, {"v": 1}, {"v": 1.0}]) == [{"v": 1}, {"v": 1.0}]


def test_filter_on_a_non_list_is_a_data_error(values, run_workflow, agent_id):
    values.put(agent_id, "db", "obj", {"a": 1})
    result = run_workflow([("f", "FilterData", {"inputPath": "/store/obj", "outputPath": "/workflow/x"})])
    assert result.status == "failed"
    assert result.error["type"] == "DataError"
    assert result.error["operationId"] == "f"


def test_filter_on_a_missing_path_names_the_path(run_workflow):
    result = run_workflow([("f", "FilterData", {"inputPath": "/workflow/nope", "outputPath": "/workflow/x"})])
    assert result.error["type"] == "DataError"
    assert "/workflow/nope" in result.error["message"]


def transform(run_op, kind: str, config: dict[str, Any], data: Any = PEOPLE) -> Any:
    return run_op("TransformData", {"inputPath": "/store/data", "transform": kind, "config": config},
                  data=data)


def test_sort_desc_puts_missing_values_last(run_op):
    data = [{"n": "a", "v": 2}, {"n": "b"}, {"n": "c", "v": 9}, {"n": "d", "v": None}, {"n": "e", "v": 5}]
    desc = transform(run_op, "sort", {"field": "v", "order": "desc"}, data)
    assert [item["n"] for item in desc] == ["c", "e", "a", "b", "d"]
    asc = transform(run_op, "sort", {"field": "v"}, data)
    assert [item["n"] for item in asc] == ["a", "e", "c", "b", "d"]


def test_sort_nested_field(run_op):
    assert names(transform(run_op, "sort", {"field": "user.age", "order": "desc"})) == ["Bob", "Carol", "Alice"]


def test_group_by_field(run_op):
    data = [{"cat": "a", "v": 1}, {"cat": "b", "v": 2}, {"cat": "a", "v": 3}, {"v": 4}]
    assert transform(run_op, "group", {"field": "cat"}, data) == {
        "a": [{"cat": "a", "v": 1}, {"cat": "a", "v": 3}],
        "b": [{"cat": "b", "v": 2}],
        "null": [{"v": 4}],
    }


def test_aggregate_sum_of_10_20_30_is_60(run_op):
    data = [{"amount": 10}, {"amount": 20}, {"amount": 30}]
    config = {"aggregations": [{"field": "amount", "op": "sum", "as": "total"},
                               {"field": "amount", "op": "avg"}, {"op": "count"},
                               {"field": "amount", "op": "min"}, {"field": "amount", "op": "max"}]}
    assert transform(run_op, "aggregate", config, data) == {
        "total": 60, "avg_amount": 20, "count": 3, "min_amount": 10, "max_amount": 30}


def test_aggregate_grouped(run_op):
    data = [{"cat": "x", "amount": 1}, {"cat": "y", "amount": 5}, {"cat": "x", "amount": 2}]
    config = {"groupBy": "cat", "aggregations": [{"field": "amount", "op": "sum", "as": "total"}]}
    assert transform(run_op, "aggregate", config, data) == [
        {"cat": "x", "total": 3}, {"cat": "y", "total": 5}]


def test_map_renames_and_select_keeps(run_op):
    assert transform(run_op, "map", {"fields": {"who": "name", "age": "user.age", "x": "nope"}})[0] == {
        "who": "Alice", "age": 17, "x": None}
    assert transform(run_op, "select", {"fields": ["name", "note"]}) == [
        {"name": "Alice"}, {"name": "Bob", "note": ""}, {"name": "Carol"}]


def test_unknown_transform_is_a_data_error(values, run_workflow, agent_id):
    values.put(agent_id, "db", "data", [])
    result = run_workflow([("t", "TransformData", {"inputPath": "/store/data", "transform": "explode",
                                                   "outputPath": "/workflow/x"})])
    assert result.status == "failed"
    assert result.error["operationId"] == "t"


@pytest.mark.parametrize(
    ("strategy", "a", "b", "expected"),
    [
        ("concat", [1, 2, 3], [4, 5, 6], [1, 2, 3, 4, 5, 6]),
        ("union", [1, 2, {"k": [1]}], [2, 3, {"k": [1]}], [1, 2, {"k": [1]}, 3]),
        ("intersect", [1, 2, 3, {"k": 1}], [{"k": 1}, 3, 4], [3, {"k": 1}]),
        ("deepMerge", {"a": {"x": 1, "y": 1}, "b": 1}, {"a": {"y": 2}, "c": 3},
         {"a": {"x": 1, "y": 2}, "b": 1, "c": 3}),
    ],
)
def test_merge_strategies(run_op, strategy, a, b, expected):
    config = {"sources": ["/store/a", "/store/b"], "strategy": strategy}
    assert run_op("MergeData", config, a=a, b=b) == expected


def test_merge_concat_of_a_non_list_is_a_data_error(values, run_workflow, agent_id):
    values.put(agent_id, "db", "a", [1])
    values.put(agent_id, "db", "b", {"x": 1})
    result = run_workflow([("m", "MergeData", {"sources": ["/store/a", "/store/b"], "strategy": "concat",
                                               "outputPath": "/workflow/x"})])
    assert result.error["type"] == "DataError"
    assert "/store/b" in result.error["message"]
