"""Conditional, Loop, StoreData and Wait through the Runner."""

from __future__ import annotations

import pytest

from a2e.protocol.model import ExecutionLimits

SORT_ITEMS = ("sorted", "TransformData",
              {"inputPath": "/store/items", "transform": "sort", "outputPath": "/workflow/items"})


def conditional(value, if_false=("low",)):
    return ("check", "Conditional", {
        "condition": {"path": "/store/score", "operator": ">=", "value": value},
        "ifTrue": "high", "ifFalse": list(if_false)})


def branch_op(op_id, label):
    return (op_id, "FormatText", {"template": label, "outputPath": f"/workflow/{op_id}"})


@pytest.mark.parametrize(("score", "branch", "ran", "skipped"),
                         [(90, "ifTrue", "high", "low"), (10, "ifFalse", "low", "high")])
def test_conditional_runs_only_the_right_branch(values, agent_id, run_workflow, score, branch, ran, skipped):
    values.put(agent_id, "db", "score", score)
    result = run_workflow([conditional(50), branch_op("high", "HIGH"), branch_op("low", "LOW")], ["check"])
    assert result.status == "succeeded", result.error
    assert result.results["check"] == {"branch": branch}
    assert ran in result.results
    assert skipped not in result.results
    assert [step["operationId"] for step in result.steps] == ["check", ran]


def test_conditional_value_may_reference_a_path(values, agent_id, run_workflow):
    values.put(agent_id, "db", "score", 60)
    values.put(agent_id, "db", "threshold", 70)
    result = run_workflow([conditional({"path": "/store/threshold"}), branch_op("high", "H"),
                           branch_op("low", "L")], ["check"])
    assert result.results["check"] == {"branch": "ifFalse"}


def test_conditional_exists_on_a_missing_path_is_false(run_workflow):
    check = ("check", "Conditional", {"condition": {"path": "/workflow/none", "operator": "exists"},
                                      "ifTrue": ["high"]})
    result = run_workflow([check, branch_op("high", "H")], ["check"])
    assert result.results == {"check": {"branch": "ifFalse"}}


def test_loop_sets_item_and_index_and_collects_last_results(values, agent_id, run_workflow):
    values.put(agent_id, "db", "items", ["a", "b", "c"])
    ops = [
        ("each", "Loop", {"inputPath": "/store/items", "operations": ["label"], "outputPath": "/workflow/labels"}),
        ("label", "FormatText", {"template": "{index}:{item}", "inputPath": "/loop",
                                 "outputPath": "/workflow/label"}),
    ]
    result = run_workflow(ops, ["each"])
    assert result.status == "succeeded", result.error
    assert result.results["each"] == ["0:a", "1:b", "2:c"]
    assert result.results["label"] == "2:c"
    label_steps = [step for step in result.steps if step["operationId"] == "label"]
    assert [step["iteration"] for step in label_steps] == [0, 1, 2]
    assert result.steps[0]["operationId"] == "each" and result.steps[0]["iteration"] is None
    assert [step["position"] for step in result.steps] == [0, 1, 2, 3]


def test_nested_loops_restore_the_outer_item(values, agent_id, run_workflow):
    values.put(agent_id, "db", "rows", [[1, 2], [3]])
    ops = [
        ("rows", "Loop", {"inputPath": "/store/rows", "operations": ["cells", "after"]}),
        ("cells", "Loop", {"inputPath": "/loop/item", "operations": ["cell"]}),
        ("cell", "FormatText", {"template": "{index}={item}", "inputPath": "/loop", "outputPath": "/workflow/c"}),
        ("after", "FormatText", {"template": "row {index}", "inputPath": "/loop", "outputPath": "/workflow/r"}),
    ]
    result = run_workflow(ops, ["rows"])
    assert result.results["rows"] == ["row 0", "row 1"]
    assert result.results["cells"] == ["0=3"]
    cell_iterations = [s["iteration"] for s in result.steps if s["operationId"] == "cell"]
    assert cell_iterations == [0, 1, 0]


def test_loop_over_the_iteration_limit_fails(values, agent_id, run_workflow):
    values.put(agent_id, "db", "items", list(range(4)))
    result = run_workflow([("each", "Loop", {"inputPath": "/store/items", "operations": ["w"]}),
                           ("w", "Wait", {"duration": 0})], ["each"],
                          limits=ExecutionLimits(max_loop_iterations=3))
    assert result.status == "failed"
    assert result.error["type"] == "DataError"
    assert result.error["details"]["maxLoopIterations"] == 3


def test_store_then_read_in_the_next_run(values, agent_id, run_workflow):
    values.put(agent_id, "db", "items", [3, 1, 2])
    first = run_workflow([SORT_ITEMS, ("save", "StoreData", {"inputPath": "/workflow/items", "storage": "db",
                                                             "key": "sorted-items"})])
    assert first.results["save"] == {"stored": "sorted-items"}
    second = run_workflow([("copy", "MergeData", {"sources": ["/store/sorted-items"], "strategy": "concat",
                                                  "outputPath": "/workflow/copy"})])
    assert second.results["copy"] == [1, 2, 3]
    assert values.get(agent_id, "sorted-items") == [1, 2, 3]


def test_store_of_an_unknown_storage_is_a_clear_error(values, agent_id, run_workflow):
    values.put(agent_id, "db", "items", [1])
    result = run_workflow([("save", "StoreData", {"inputPath": "/store/items", "storage": "redis", "key": "k"})])
    assert result.error["type"] == "ValidationError"
    assert "redis" in result.error["message"]


def test_reading_an_unknown_store_key_is_a_data_error(run_workflow):
    result = run_workflow([("copy", "MergeData", {"sources": ["/store/nothing"], "strategy": "concat",
                                                  "outputPath": "/workflow/copy"})])
    assert result.error["type"] == "DataError"
    assert "/store/nothing" in result.error["message"]


def test_wait_sleeps_on_the_clock(clock, run_workflow):
    result = run_workflow([("pause", "Wait", {"duration": 1500})])
    assert result.results == {"pause": {"waited_ms": 1500}}
    assert clock.slept == [1.5]
    assert result.duration_ms == 1500


def test_wait_beyond_the_deadline_is_a_timeout(clock, run_workflow):
    limits = ExecutionLimits(run_deadline_s=5, max_wait_ms=60_000)
    result = run_workflow([("pause", "Wait", {"duration": 6000})], limits=limits)
    assert result.status == "failed"
    assert result.error["type"] == "TimeoutError"
    assert clock.slept == []


def test_total_wait_is_bounded_by_the_wait_budget(run_workflow):
    limits = ExecutionLimits(max_wait_ms=1000)
    result = run_workflow([("a", "Wait", {"duration": 600}), ("b", "Wait", {"duration": 600})], limits=limits)
    assert result.results == {"a": {"waited_ms": 600}}
    assert result.error["operationId"] == "b"
    assert result.error["type"] == "TimeoutError"


def test_an_operation_after_the_deadline_does_not_start(run_workflow):
    limits = ExecutionLimits(run_deadline_s=1, max_wait_ms=60_000)
    result = run_workflow([("a", "Wait", {"duration": 1000}), ("b", "Wait", {"duration": 0})], limits=limits)
    assert result.error["operationId"] == "b"
    assert result.error["type"] == "TimeoutError"
