"""The Runner's records, failures, cache seam and response shape."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from a2e.engine.memory import MemoryResultCache
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import AgentContext, DuplicateExecution
from a2e.engine.runner import Runner
from a2e.protocol.model import AgentPermissions, Operation, Workflow
from a2e.protocol import workflow as protocol_workflow


def parse_workflow(source):
    """The parser with this server's operation catalog."""
    return protocol_workflow.parse_workflow(source, REGISTRY)


SORT = ("sort", "TransformData",
        {"inputPath": "/store/items", "transform": "sort", "outputPath": "/workflow/sorted"})


@pytest.fixture
def items(values, agent_id):
    values.put(agent_id, "db", "items", [3, 1, 2])


def test_registry_has_a_run_function_for_every_operation_type():
    assert len(REGISTRY) == 16
    assert all(callable(spec.run) for spec in REGISTRY.values())


def test_import_does_not_pull_in_flask_or_sqlalchemy():
    code = ("import sys, a2e.engine, a2e.engine.runner, a2e.engine.ops, a2e.engine.memory\n"
            "assert 'flask' not in sys.modules and 'sqlalchemy' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_run_and_steps_are_recorded(items, recorder, run_workflow, clock):
    result = run_workflow([SORT, ("pause", "Wait", {"duration": 250})])
    run = recorder.runs[result.run_id]
    assert run.status == "succeeded"
    assert run.start.execution_id == result.execution_id
    assert run.start.started_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert [(s.op_id, s.position, s.status) for s in run.steps] == [
        ("sort", 0, "succeeded"), ("pause", 1, "succeeded")]
    assert run.steps[0].result == [1, 2, 3]
    assert run.steps[1].duration_ms == 250
    assert run.steps[1].attempts == [{"attempt": 1, "status": None, "delay_s": 0.0}]
    assert run.finish.results == result.results == {"sort": [1, 2, 3], "pause": {"waited_ms": 250}}
    assert run.finish.duration_ms == result.duration_ms == 250


def test_response_shape(items, run_workflow):
    body = run_workflow([SORT]).to_response()
    assert list(body) == ["execution_id", "status", "results", "steps", "duration_ms"]
    step = body["steps"][0]
    assert step["operationId"] == "sort" and step["type"] == "TransformData"
    assert step["started_at"] == "2025-01-01T00:00:00+00:00"
    assert step["cached"] is False and step["error"] is None


def test_a_failed_step_stops_the_run_and_keeps_earlier_results(items, recorder, run_workflow):
    result = run_workflow([SORT, ("bad", "FilterData", {"inputPath": "/workflow/none", "outputPath": "/workflow/x"}),
                           ("never", "Wait", {"duration": 0})])
    assert result.status == "failed"
    assert result.results == {"sort": [1, 2, 3]}
    assert result.error["operationId"] == "bad"
    assert result.to_response()["error"] == result.error
    run = recorder.runs[result.run_id]
    assert run.status == "failed" and run.finish.error == result.error
    assert [(s.op_id, s.status) for s in run.steps] == [("sort", "succeeded"), ("bad", "failed")]
    assert run.steps[1].error["type"] == "DataError"


def test_an_unexpected_exception_becomes_a_generic_execution_error(recorder, make_runner, run_workflow):
    def crash(ctx, config):
        raise ZeroDivisionError("secret internals")

    runner = make_runner(catalog=REGISTRY.replace("Wait", run=crash))
    result = run_workflow([("pause", "Wait", {"duration": 1})], runner=runner)
    assert result.status == "failed"
    assert result.error["type"] == "ExecutionError"
    assert result.error["operationId"] == "pause"
    assert "secret internals" not in str(result.to_response())
    assert recorder.runs[result.run_id].status == "failed"


def test_a_disallowed_operation_type_is_refused_at_run_time(make_runner, workflow_text, agent_id):
    text = workflow_text([("pause", "Wait", {"duration": 1})], ["pause"])
    agent = AgentContext(agent_id, AgentPermissions(allowed_operations=frozenset({"ApiCall"})))
    result = make_runner().execute(parse_workflow(text), agent=agent, execution_id="e", workflow_text=text)
    assert result.error["type"] == "PermissionError"


def test_duplicate_execution_id_is_refused_before_any_step(recorder, make_runner, workflow_text, agent_id):
    text = workflow_text([("pause", "Wait", {"duration": 1})], ["pause"])
    agent = AgentContext(agent_id, AgentPermissions())
    runner: Runner = make_runner()
    first = runner.execute(parse_workflow(text), agent=agent, execution_id="dup", workflow_text=text)
    with pytest.raises(DuplicateExecution) as caught:
        runner.execute(parse_workflow(text), agent=agent, execution_id="dup", workflow_text=text)
    assert caught.value.existing_run_id == first.run_id
    assert len(recorder.runs) == 1


def test_cacheable_results_are_cached_unless_disabled(items, clock, make_runner, run_workflow):
    runner = make_runner(cache=MemoryResultCache(clock))
    first = run_workflow([SORT], runner=runner)
    clock.advance(5)
    second = run_workflow([SORT], runner=runner)
    assert first.steps[0]["cached"] is False
    assert second.steps[0]["cached"] is True
    assert second.steps[0]["cached_at"] == first.steps[0]["started_at"]
    assert second.results == first.results
    uncached = (SORT[0], SORT[1], {**SORT[2], "cache": False})
    assert run_workflow([uncached], runner=runner).steps[0]["cached"] is False


class _KeepsNothing(MemoryResultCache):
    """A cache that keeps no type: the runner should neither ask nor tell it anything."""

    def keeps(self, op_type):
        return False

    def get(self, *args):
        raise AssertionError("asked a cache that keeps nothing")

    def put(self, *args):
        raise AssertionError("told a cache that keeps nothing")


def test_a_type_the_cache_does_not_keep_is_neither_looked_up_nor_stored(items, clock, make_runner,
                                                                       run_workflow):
    result = run_workflow([SORT], runner=make_runner(cache=_KeepsNothing(clock)))
    assert result.status == "succeeded" and result.steps[0]["cached"] is False


def test_cache_key_includes_the_input_data(items, values, agent_id, clock, make_runner, run_workflow):
    runner = make_runner(cache=MemoryResultCache(clock))
    run_workflow([SORT], runner=runner)
    values.put(agent_id, "db", "items", [9, 8])
    result = run_workflow([SORT], runner=runner)
    assert result.steps[0]["cached"] is False
    assert result.results["sort"] == [8, 9]


def test_a_config_the_catalog_refuses_fails_the_step(run_workflow):
    result = run_workflow([("f", "FilterData", {"inputPath": "/workflow/x", "outputPath": "/workflow/y",
                                                "conditions": [{"operator": ">", "value": 1}]})])
    assert result.error["type"] == "ValidationError"
    assert result.error["operationId"] == "f"


def test_a_cycle_that_skipped_validation_fails_cleanly(values, make_runner, agent_id):
    values.put(agent_id, "db", "items", [1])
    loop = Operation("a", "Loop", {"inputPath": "/store/items", "operations": ["a"]}, line=1)
    cyclic = Workflow({"a": loop}, ("a",), "A")
    result = make_runner().execute(cyclic, agent=AgentContext(agent_id, AgentPermissions()),
                                   execution_id="cyc", workflow_text="")
    assert result.error["type"] == "ExecutionError"
    assert "inside itself" in result.error["message"]
    assert [step["status"] for step in result.steps] == ["failed"]
