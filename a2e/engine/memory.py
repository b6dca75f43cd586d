"""In-memory implementations of the engine's ports (tests and the benchmark baseline)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from a2e.engine.clock import SystemClock
from a2e.engine.ports import (
    AgentId,
    BoundSecret,
    CacheHit,
    Clock,
    DuplicateExecution,
    RunFinish,
    RunStart,
    StepRecord,
    cache_key,
)
from a2e.errors import PermissionDenied


@dataclass
class MemoryRun:
    run_id: int
    start: RunStart
    status: str = "running"
    steps: list[StepRecord] = field(default_factory=list)
    finish: RunFinish | None = None


class MemoryRunRecorder:
    """Runs kept in a dict by run id; execution ids unique per agent."""

    def __init__(self) -> None:
        self.runs: dict[int, MemoryRun] = {}
        self._by_execution: dict[tuple[AgentId, str], int] = {}

    def start_run(self, start: RunStart) -> int:
        existing = self._by_execution.get((start.agent_id, start.execution_id))
        if existing is not None:
            raise DuplicateExecution(existing, start.execution_id)
        run_id = len(self.runs) + 1
        self.runs[run_id] = MemoryRun(run_id, start)
        self._by_execution[(start.agent_id, start.execution_id)] = run_id
        return run_id

    def start_open(self, run_id: int) -> bool:
        return False  # nothing is held open here

    def abandon(self, run_id: int) -> None:
        pass

    def commit_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        self.runs[run_id].steps.extend(steps)

    def finish_run(self, run_id: int, finish: RunFinish, steps: Sequence[StepRecord]) -> None:
        run = self.runs[run_id]
        run.steps.extend(steps)
        run.status = finish.status
        run.finish = finish


class MemoryValueStore:
    """StoreData values per (agent, key); the storage name is kept alongside."""

    def __init__(self) -> None:
        self.values: dict[tuple[AgentId, str], tuple[str, Any]] = {}

    def put(self, agent_id: AgentId, storage: str, key: str, value: Any) -> None:
        self.values[(agent_id, key)] = (storage, copy.deepcopy(value))

    def get(self, agent_id: AgentId, key: str) -> Any:
        return copy.deepcopy(self.values[(agent_id, key)][1])


class MemoryResultCache:
    """An unbounded dict cache without expiry (the baseline the SQL cache is measured against)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self.entries: dict[tuple[AgentId, str], CacheHit] = {}

    def keeps(self, op_type: str) -> bool:
        return True

    def get(self, agent_id: AgentId, op_type: str, key_material: Any) -> CacheHit | None:
        hit = self.entries.get((agent_id, cache_key(op_type, key_material)))
        return None if hit is None else CacheHit(copy.deepcopy(hit.value), hit.cached_at)

    def put(self, agent_id: AgentId, op_type: str, key_material: Any, value: Any) -> None:
        self.entries[(agent_id, cache_key(op_type, key_material))] = CacheHit(
            copy.deepcopy(value), self._clock.now()
        )


class MemoryCredentialStore:
    """Secrets per (agent, credential id): a value, or ``(value, hosts)`` for a bound one."""

    def __init__(self, secrets: dict[tuple[AgentId, str], str | tuple[str, tuple[str, ...]]] | None = None) -> None:
        self.secrets = dict(secrets or {})

    def lookup(self, agent_id: AgentId, credential_id: str) -> BoundSecret:
        try:
            found = self.secrets[(agent_id, credential_id)]
            return BoundSecret(found) if isinstance(found, str) else BoundSecret(*found)
        except KeyError:
            raise PermissionDenied(
                f"Credential {credential_id!r} is not available to this agent"
            ) from None
