"""Engine fixtures: a Runner on the in-memory ports, a fake clock, a JSONL builder."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from a2e.engine.clock import FakeClock
from a2e.engine.memory import MemoryCredentialStore, MemoryRunRecorder, MemoryValueStore
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import AgentContext
from a2e.engine.runner import Runner, RunResult
from a2e.protocol.model import AgentPermissions, ExecutionLimits
from a2e.protocol.workflow import parse_workflow

AGENT_ID = 7
Op = tuple[str, str, dict[str, Any]]


def jsonl(ops: Sequence[Op], order: Sequence[str], execution_id: str = "exec-1") -> str:
    """A dialect A workflow: one operationUpdate per op, then beginExecution."""
    lines = [
        {"type": "operationUpdate", "operationId": op_id, "operation": {op_type: config}}
        for op_id, op_type, config in ops
    ]
    lines.append({"type": "beginExecution", "executionId": execution_id, "operationOrder": list(order)})
    return "\n".join(json.dumps(line) for line in lines)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> MemoryRunRecorder:
    return MemoryRunRecorder()


@pytest.fixture
def values() -> MemoryValueStore:
    return MemoryValueStore()


@pytest.fixture
def credentials() -> MemoryCredentialStore:
    return MemoryCredentialStore({(AGENT_ID, "api-token"): "Bearer s3cret-token"})


@pytest.fixture
def make_runner(clock, recorder, values, credentials) -> Callable[..., Runner]:
    def make(**overrides: Any) -> Runner:
        options = {"clock": clock, "values": values, "credentials": credentials, **overrides}
        return Runner(recorder, **options)

    return make


RunWorkflow = Callable[..., RunResult]


@pytest.fixture
def run_workflow(make_runner) -> RunWorkflow:
    """Run ops (``order`` defaults to every op) with the given hosts, limits and ports."""
    counter = iter(range(1, 10_000))

    def run(
        ops: Sequence[Op],
        order: Sequence[str] | None = None,
        *,
        hosts: Sequence[str] = ("localhost",),
        limits: ExecutionLimits | None = None,
        runner: Runner | None = None,
        **ports: Any,
    ) -> RunResult:
        execution_id = f"exec-{next(counter)}"
        text = jsonl(ops, order or [op_id for op_id, _, _ in ops], execution_id)
        agent = AgentContext(AGENT_ID, AgentPermissions(allowed_hosts=tuple(hosts)))
        runner = runner or make_runner(limits=limits, **ports)
        return runner.execute(
            parse_workflow(text, REGISTRY), agent=agent, execution_id=execution_id, workflow_text=text
        )

    return run


@pytest.fixture
def workflow_text() -> Callable[..., str]:
    return jsonl


@pytest.fixture
def agent_id() -> int:
    return AGENT_ID
