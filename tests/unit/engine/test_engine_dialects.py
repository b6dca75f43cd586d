"""The same workflow sent in dialect A and in the legacy dialect B runs the same way."""

from __future__ import annotations

import json

from a2e.engine.ports import AgentContext
from a2e.protocol.model import AgentPermissions
from a2e.engine.ops import REGISTRY
from a2e.protocol import workflow as protocol_workflow


def parse_workflow(source):
    """The parser with this server's operation catalog."""
    return protocol_workflow.parse_workflow(source, REGISTRY)


OPS = [
    ("load", "MergeData", {"sources": ["/store/a", "/store/b"], "strategy": "union", "outputPath": "/workflow/all"}),
    ("check", "Conditional", {"condition": {"path": "/workflow/all", "operator": "contains", "value": 3},
                              "ifTrue": "sorted", "ifFalse": "none"}),
    ("sorted", "TransformData", {"inputPath": "/workflow/all", "transform": "sort", "config": {"order": "desc"},
                                 "outputPath": "/workflow/sorted"}),
    ("none", "Wait", {"duration": 5}),
    ("each", "Loop", {"inputPath": "/workflow/sorted", "operations": ["label"], "outputPath": "/workflow/labels"}),
    ("label", "FormatText", {"template": "#{index}={item}", "inputPath": "/loop", "outputPath": "/workflow/label"}),
]


def dialect_b() -> str:
    update = {"operationUpdate": {"workflowId": "wf", "operations": [
        {"id": op_id, "operation": {op_type: config}} for op_id, op_type, config in OPS]}}
    begin = {"beginExecution": {"workflowId": "wf", "root": "load"}}
    return f"{json.dumps(update)}\n{json.dumps(begin)}"


def test_dialects_a_and_b_give_the_same_results(values, agent_id, make_runner, workflow_text):
    values.put(agent_id, "db", "a", [1, 2, 3])
    values.put(agent_id, "db", "b", [3, 4])
    agent = AgentContext(agent_id, AgentPermissions())
    runner = make_runner()
    outcomes = []
    for execution_id, text in (("run-a", workflow_text(OPS, ["load", "check", "each"])), ("run-b", dialect_b())):
        workflow = parse_workflow(text)
        outcomes.append(runner.execute(workflow, agent=agent, execution_id=execution_id, workflow_text=text))
    a, b = outcomes
    assert a.status == b.status == "succeeded", (a.error, b.error)
    assert a.results == b.results
    assert a.results["each"] == ["#0=4", "#1=3", "#2=2", "#3=1"]
    assert "none" not in a.results
    assert [s["operationId"] for s in a.steps] == [s["operationId"] for s in b.steps]
