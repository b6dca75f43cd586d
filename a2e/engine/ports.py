"""The ports the engine runs through (implemented in SQL by ``a2e.store``, in memory by
:mod:`a2e.engine.memory`).

Each call is its own unit of work: the engine never holds a transaction across a run,
an ApiCall or a Wait. A run costs the recorder two commits (its start and its finish)
plus one per step with an outside effect or before a blocking wait (see
:class:`RunRecorder`). Agent ids are opaque to the engine (whatever the store uses).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from a2e.errors import ValidationError
from a2e.protocol.model import AgentPermissions
from a2e.timestamps import iso

AgentId = int | str
StepStatus = Literal["succeeded", "failed"]
#: How a run ended (``cancelled`` and ``interrupted`` only for queued runs).
RunStatus = Literal["succeeded", "failed", "cancelled", "interrupted"]


class DuplicateExecution(ValidationError):
    """The agent already has a run with this execution id (HTTP 409)."""

    def __init__(self, existing_run_id: int, execution_id: str) -> None:
        super().__init__(
            f"Execution id {execution_id!r} is already used by run {existing_run_id}",
            details={"existingRunId": existing_run_id, "executionId": execution_id},
            suggestions=["Send a new executionId for each run"],
        )
        self.existing_run_id = existing_run_id
        self.execution_id = execution_id


@dataclass(frozen=True)
class AgentContext:
    """The agent a run is for, and what it may use."""

    agent_id: AgentId
    permissions: AgentPermissions


@dataclass(frozen=True)
class SavedWorkflowRef:
    """The saved workflow a run came from."""

    name: str
    version: int


@dataclass(frozen=True)
class RunStart:
    """What is known when a run starts (the SQL side adds the owner host, pid, boot id).

    ``concurrent_runs`` is the agent's limit of runs in flight, when one applies: the
    recorder takes one of those slots as the run starts and frees it as it finishes.
    ``admission`` is counted in the same transaction (see :class:`StartAdmission`).
    ``outside_effects``: whether any of its operations acts outside the run (a request, a
    stored value). Without one, nothing of the run can be seen from outside before its
    finish commits, so the start need not wait for the disk: the finish's own flush
    covers it (see :meth:`RunRecorder.start_run`).
    ``self_contained``: besides, none of them pauses the run or goes through the result
    cache, so the run touches the database only through its recorder: the recorder may
    keep the start's transaction open and commit it with the steps or the finish (see
    :meth:`RunRecorder.start_run`).
    """

    agent_id: AgentId
    execution_id: str
    workflow_text: str
    started_at: datetime
    saved_workflow: SavedWorkflowRef | None = None
    concurrent_runs: int | None = None
    admission: StartAdmission | None = None
    outside_effects: bool = True
    self_contained: bool = False


class StartAdmission(Protocol):
    """A count that commits or rolls back with a run's start: the rate-limit admission of
    the request that starts it, so that the two cost one transaction."""

    def count_in(self, tx: Any) -> None:
        """Count inside the start's transaction ``tx`` (the recorder's own handle); raise
        to undo the start."""

    def refused(self) -> Exception:
        """What to raise when the count, sent with the start's COMMIT, was refused there
        (the start was undone)."""

    def committed(self) -> None:
        """The start's transaction, and so the count, committed."""


@dataclass(frozen=True)
class StepRecord:
    """One execution of one operation (a Loop body adds one per iteration).

    ``position`` is the step's 0-based index in the run, in the order steps start (a Loop
    step comes before its body's steps, though it ends after them); ``iteration`` is the
    innermost loop index, or None outside loops. ``attempts`` has one entry per HTTP attempt
    for ApiCall (``{"attempt": 1, "status": 200, "delay_s": 0.0}``), one entry otherwise.
    """

    op_id: str
    op_type: str
    position: int
    iteration: int | None
    status: StepStatus
    attempts: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    result: Any
    error: dict[str, Any] | None
    cached: bool = False
    cached_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The step as the execute response and the execution endpoints show it."""
        return {
            "operationId": self.op_id,
            "type": self.op_type,
            "position": self.position,
            "iteration": self.iteration,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": iso(self.started_at),
            "completed_at": iso(self.finished_at),
            "duration_ms": self.duration_ms,
            "cached": self.cached,
            "cached_at": iso(self.cached_at) if self.cached_at else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class RunFinish:
    """How a run ended; ``results`` is the execute response's ``results`` object."""

    status: RunStatus
    results: dict[str, Any]
    error: dict[str, Any] | None
    finished_at: datetime
    duration_ms: int


class RunRecorder(Protocol):
    """Where runs are recorded. The runner keeps finished steps in memory and hands them
    over only when durability needs it: :meth:`commit_steps` right after a step with an
    outside effect (so a crash never forgets one) and before a blocking wait (so a
    crash while waiting keeps what came before); :meth:`finish_run` gets the rest."""

    def start_run(self, start: RunStart) -> int:
        """Commit, as one unit, the run slot (when ``start.concurrent_runs`` is set), a
        ``running`` run and its start record; return its run id.

        Raises :class:`DuplicateExecution` when the agent already has ``execution_id``,
        and :class:`a2e.errors.RateLimited` when no run slot is free. Without
        ``start.outside_effects`` the commit may return before it is on disk, provided
        every later commit of the run (steps, finish) waits for the disk and so flushes
        it too. With ``start.self_contained`` the start may stay uncommitted, its
        transaction open, until :meth:`commit_steps` or :meth:`finish_run` commits it
        with what they write (the runner asks for a commit soon enough to bound that),
        or :meth:`abandon` rolls it back.
        """

    def start_open(self, run_id: int) -> bool:
        """Whether the run's start is still uncommitted, its transaction held open."""

    def commit_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        """Commit finished steps now, as one unit (with the start, if it is still open;
        no steps at all then commits the start alone)."""

    def finish_run(self, run_id: int, finish: RunFinish, steps: Sequence[StepRecord]) -> None:
        """Commit, as one unit, the steps not committed yet, the run's outcome, and the
        release of its slot. If that fails, the run must be left as it was before the
        call (``running``, with the steps committed so far), never half-finished."""

    def abandon(self, run_id: int) -> None:
        """The run ends without a finish (an exception the runner does not record went
        through it): let go of whatever :meth:`start_run` still holds open for it."""


class ValueStore(Protocol):
    """Values StoreData persists per agent; later runs read them at ``/store/<key>``."""

    def put(self, agent_id: AgentId, storage: str, key: str, value: Any) -> None: ...

    def get(self, agent_id: AgentId, key: str) -> Any:
        """The stored value; raises KeyError when the agent has none under ``key``."""


class ApiCallLimiter(Protocol):
    def admit_api_call(self, agent_id: AgentId) -> None:
        """Count one ApiCall; raises :class:`a2e.errors.RateLimited` when over the limit."""


@dataclass(frozen=True)
class CacheHit:
    value: Any
    cached_at: datetime


class ResultCache(Protocol):
    """Operation results per agent. ``key_material`` is JSON: the operation's resolved
    config (credential references unresolved, so no secret) and the input data it reads;
    hash it with :func:`cache_key`. The TTL per type is the cache's business."""

    def keeps(self, op_type: str) -> bool:
        """Whether results of ``op_type`` are cached at all (the runner builds no key
        material for the others)."""

    def get(self, agent_id: AgentId, op_type: str, key_material: Any) -> CacheHit | None: ...

    def put(self, agent_id: AgentId, op_type: str, key_material: Any, value: Any) -> None: ...


@dataclass(frozen=True)
class BoundSecret:
    """A credential's value and the hosts it may be sent to (empty: any allowed host)."""

    value: str
    hosts: tuple[str, ...] = ()


class CredentialStore(Protocol):
    def lookup(self, agent_id: AgentId, credential_id: str) -> BoundSecret:
        """The secret; raises :class:`a2e.errors.PermissionDenied` unless the agent owns it."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and deadlines)."""

    def sleep(self, seconds: float) -> None: ...


def cache_key(op_type: str, key_material: Any) -> str:
    """A stable hex digest of an operation type and its key material (canonical JSON)."""
    canonical = json.dumps(
        [op_type, key_material], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
