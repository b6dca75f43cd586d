"""Runs a parsed workflow: one step per operation execution, each recorded as it ends.

The run's start is committed before the first step and its finish (the outcome with
every step not committed yet) after the last. In between, steps are committed only
where durability needs it: right after a step with an outside effect (its spec's
``outside_effect``) and before any blocking wait (a Wait, a retry's pause: every sleep
on the run's clock), so a crash keeps every step up to the last outside effect. A
failed step stops the run; results of earlier steps stay.

A self-contained run (``RunStart.self_contained``: no outside effect, no blocking
operation, nothing through the result cache) may have its start's transaction kept open
by the recorder and committed with its finish: one transaction for the whole run. Such
a run commits its start anyway at the first step that begins :data:`HOLD_START_S` after
it started, so that it holds a transaction open that long at most, plus one step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from a2e.engine.clock import SystemClock
from a2e.engine.context import OpContext, RunState, Services
from a2e.engine.http import HttpClient
from a2e.engine.journal import RecordedError, RunJournal, nests
from a2e.engine.ops import REGISTRY, OpFunction
from a2e.engine.ports import (
    AgentContext,
    ApiCallLimiter,
    Clock,
    CredentialStore,
    ResultCache,
    RunFinish,
    RunRecorder,
    RunStart,
    SavedWorkflowRef,
    StartAdmission,
    StepRecord,
    ValueStore,
)
from a2e.engine.retry import RetryPolicy
from a2e.errors import (
    A2EError,
    DataError,
    ExecutionError,
    OperationTimeout,
    PermissionDenied,
    ValidationError,
)
from a2e.protocol.catalog import Catalog
from a2e.protocol.model import ExecutionLimits, Operation, Workflow
from a2e.protocol.paths import is_credential_ref

logger = logging.getLogger(__name__)

#: How long a self-contained run may keep its start uncommitted (see the module docstring).
HOLD_START_S = 0.02

# Config keys that change how an operation runs but not what it computes.
NON_KEY_OPTIONS = frozenset({"cache", "outputPath", "timeout", "idempotencyKey"})


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run (``steps`` as :meth:`StepRecord.to_dict` renders them, by
    position: a Loop or Conditional before the steps it ran)."""

    run_id: int
    execution_id: str
    status: str
    results: dict[str, Any]
    steps: list[dict[str, Any]]
    error: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime
    duration_ms: int

    def to_response(self) -> dict[str, Any]:
        """The body of ``POST /api/v1/workflows/execute`` (PROTOCOL §10)."""
        body: dict[str, Any] = {
            "execution_id": self.execution_id,
            "status": self.status,
            "results": self.results,
            "steps": self.steps,
        }
        if self.error is not None:
            body["error"] = self.error
        body["duration_ms"] = self.duration_ms
        return body


class Runner:
    """Executes workflows through the ports; one instance serves many runs."""

    def __init__(
        self,
        recorder: RunRecorder,
        *,
        clock: Clock | None = None,
        http: HttpClient | None = None,
        values: ValueStore | None = None,
        limiter: ApiCallLimiter | None = None,
        cache: ResultCache | None = None,
        credentials: CredentialStore | None = None,
        retry: RetryPolicy | None = None,
        limits: ExecutionLimits | None = None,
        catalog: Catalog = REGISTRY,
    ) -> None:
        self.recorder = recorder
        self.services = Services(
            clock=clock or SystemClock(),
            http=http or HttpClient(),
            values=values,
            limiter=limiter,
            credentials=credentials,
            retry=retry,
        )
        self.cache = cache
        self.limits = limits or ExecutionLimits()
        self.catalog = catalog

    def execute(
        self,
        workflow: Workflow,
        *,
        agent: AgentContext,
        execution_id: str,
        workflow_text: str,
        saved_workflow: SavedWorkflowRef | None = None,
        concurrent_runs: int | None = None,
        journal: RunJournal | None = None,
        admission: StartAdmission | None = None,
        validated: bool = False,
    ) -> RunResult:
        """Run ``workflow`` for ``agent`` (holding one of its ``concurrent_runs`` slots when
        given, and counting ``admission`` as it starts); raises DuplicateExecution, or
        RateLimited for want of a slot, before any step.

        With a ``journal`` the run row exists already (a queued run, ``journal.run_id``),
        its worker holds the slot, and recorded steps are replayed (:mod:`a2e.engine.journal`).
        ``validated``: the workflow passed full validation (``a2e.protocol.validate``,
        against the same catalog), so each operation's config is not checked again as it
        runs (it is otherwise, once per operation and run).
        """
        clock = _SavingClock(self.services.clock)
        started_at, start = clock.now(), clock.monotonic()
        held_until = None
        if journal is not None:
            run_id = journal.run_id
        else:
            outside, self_contained = self._reach(workflow)
            run_id = self.recorder.start_run(
                RunStart(agent.agent_id, execution_id, workflow_text, started_at, saved_workflow,
                         concurrent_runs, admission, outside, self_contained)
            )
            if self_contained and self.recorder.start_open(run_id):
                held_until = start + HOLD_START_S
        error: dict[str, Any] | None = None
        status = "succeeded"
        try:
            services = dataclasses.replace(self.services, clock=clock)
            run = _Run(self, workflow, run_id, RunState.start(agent, self.limits, services),
                       journal=journal, checked=set(workflow.operations) if validated else set(),
                       held_until=held_until)
            clock.before_sleep = run.save
            try:
                run.run_ops(workflow.order)
            except A2EError as exc:
                if not exc.suggestions:
                    exc.suggestions = [exc.hint]
                error = run.redact(exc.to_dict())
                status = exc.run_status
        except BaseException:
            self.recorder.abandon(run_id)  # no finish follows: nothing may stay open
            raise
        finished_at = clock.now()
        duration_ms = _ms(clock.monotonic() - start)
        self.recorder.finish_run(
            run_id, RunFinish(status, run.results, error, finished_at, duration_ms),
            run.take_unsaved(),
        )
        return RunResult(
            run_id=run_id,
            execution_id=execution_id,
            status=status,
            results=run.results,
            steps=[step.to_dict() for step in sorted(run.steps, key=lambda step: step.position)],
            error=error,
            started_at=started_at,
            finished_at=finished_at,
            duration_ms=duration_ms,
        )

    def _reach(self, workflow: Workflow) -> tuple[bool, bool]:
        """Whether any operation may act outside the run (a type not in the catalog may),
        and whether the run is self-contained (``RunStart.self_contained``)."""
        cache = self.cache
        pauses_or_caches = False
        for op in workflow.operations.values():
            spec = self.catalog.get(op.op_type)
            if spec is None or spec.outside_effect:
                return True, False
            pauses_or_caches = pauses_or_caches or spec.blocking or (
                cache is not None and spec.caches(op.config) and cache.keeps(op.op_type))
        return False, not pauses_or_caches


@dataclass
class _Run:
    """One run in progress: executes steps and records them."""

    runner: Runner
    workflow: Workflow
    run_id: int
    state: RunState
    results: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    unsaved: list[StepRecord] = field(default_factory=list)  # ended, not committed yet
    positions: itertools.count = field(default_factory=itertools.count)
    active: list[str] = field(default_factory=list)  # the Conditional/Loop chain running now
    journal: RunJournal | None = None
    #: Operations whose config passed the catalog's check (all of them once validated).
    checked: set[str] = field(default_factory=set)
    #: While the start may still be uncommitted: when the next step must commit it first.
    held_until: float | None = None

    def take_unsaved(self) -> list[StepRecord]:
        unsaved, self.unsaved = self.unsaved, []
        return unsaved

    def save(self) -> None:
        """Commit the steps that ended since the last commit (and the start, if open)."""
        if self.unsaved or self.held_until is not None:
            self.held_until = None
            self.runner.recorder.commit_steps(self.run_id, self.take_unsaved())

    def run_ops(self, op_ids: Sequence[str]) -> Any:
        """Run operations in order; the last one's result (None for no operations)."""
        result = None
        for op_id in op_ids:
            if op_id in self.active:
                raise ExecutionError(
                    f"Operation {op_id!r} would run inside itself "
                    f"({' -> '.join([*self.active, op_id])})",
                    operation_id=self.active[-1],
                )
            self.active.append(op_id)
            try:
                result = self.run_step(op_id)
            finally:
                self.active.pop()
        return result

    def run_step(self, op_id: str) -> Any:
        op = self.workflow.operations.get(op_id)
        if op is None:
            raise ExecutionError(f"Operation {op_id!r} is not defined", operation_id=op_id)
        _admit_step(self.state, op_id)
        clock = self.state.services.clock
        if self.held_until is not None and clock.monotonic() >= self.held_until:
            self.save()  # the run's start has been held open long enough
        position, iteration = next(self.positions), self.state.iteration
        ctx = OpContext(self.state, op, self.run_ops)
        recorded = None
        if self.journal is not None:
            self.journal.checkpoint()
            recorded = self.journal.recorded(position)
            if recorded is not None and not (
                op.op_type in self.runner.catalog and nests(self.runner.catalog[op.op_type])
            ):
                return self._replay(ctx, op, recorded)
            if recorded is None:
                self.journal.begin(position, op)
        started_at, start = clock.now(), clock.monotonic()

        def record(status: str, result: Any, error: dict[str, Any] | None,
                   cached_at: datetime | None = None) -> None:
            if recorded is not None:  # a Loop or Conditional run again on replay
                self.steps.append(recorded)
                return
            step = StepRecord(
                op_id=op.op_id, op_type=op.op_type, position=position, iteration=iteration,
                status=status, attempts=ctx.attempts or [{"attempt": 1, "status": None, "delay_s": 0.0}],
                started_at=started_at, finished_at=clock.now(),
                duration_ms=_ms(clock.monotonic() - start), result=result, error=error,
                cached=cached_at is not None, cached_at=cached_at,
            )
            self.steps.append(step)
            self.unsaved.append(step)
            spec = self.runner.catalog.get(op.op_type)
            if spec is not None and spec.outside_effect:
                self.save()

        try:
            result, cached_at = self._perform(ctx, op)
            if "outputPath" in op.config:
                ctx.write(op.config["outputPath"], result)
        except A2EError as exc:
            if exc.operation_id is None:
                exc.operation_id = op.op_id
            if not exc.suggestions:
                exc.suggestions = [exc.hint]
            record("failed", None, self.redact(exc.to_dict()))
            raise
        except Exception:
            logger.exception("operation %s (%s) crashed", op.op_id, op.op_type)
            failure = ExecutionError(
                f"{op.op_type} failed unexpectedly", operation_id=op.op_id,
                suggestions=["Check the operation's config; the server log has the details"],
            )
            record("failed", None, failure.to_dict())
            raise failure from None
        self.results[op.op_id] = result
        record("succeeded", result, None, cached_at)
        return result

    def _replay(self, ctx: OpContext, op: Operation, recorded: StepRecord) -> Any:
        """A recorded step's outcome, as if it ran again (a resumed run)."""
        self.steps.append(recorded)
        if recorded.status == "failed":
            raise RecordedError(recorded.error or {"message": "step failed"})
        if "outputPath" in op.config:
            ctx.write(op.config["outputPath"], recorded.result)
        self.results[op.op_id] = recorded.result
        return recorded.result

    def _perform(self, ctx: OpContext, op: Operation) -> tuple[Any, datetime | None]:
        """Run the operation (or take its cached result): ``(result, cached_at)``."""
        run = self._admit(ctx, op)
        cache = self.runner.cache
        material = self._cache_material(ctx, op)
        if cache is not None and material is not None:
            hit = cache.get(ctx.agent_id, op.op_type, material)
            if hit is not None:
                self.state.budget.charge(hit.value)
                return hit.value, hit.cached_at
        result = self.redact(run(ctx, op.config))
        self.state.budget.charge(result)
        if cache is not None and material is not None:
            cache.put(ctx.agent_id, op.op_type, material, result)
        return result, None

    def _admit(self, ctx: OpContext, op: Operation) -> OpFunction:
        """The operation's function, once the agent may run it, its config passes the catalog
        (so operations may index required keys) and the run has time left."""
        allowed = self.state.agent.permissions.allowed_operations
        if allowed is not None and op.op_type not in allowed:
            raise PermissionDenied(f"Operation type {op.op_type} is not allowed for this agent")
        spec = self.runner.catalog.get(op.op_type)
        if spec is None:
            raise ExecutionError(f"Unknown operation type {op.op_type!r}")
        if op.op_id not in self.checked:
            errors = [finding for finding in spec.check(op.config) if not finding.warning]
            if errors:
                raise ValidationError(
                    f"{op.op_type} config: {errors[0].message}",
                    details={"errors": [finding.message for finding in errors]},
                    suggestions=[finding.suggestion for finding in errors if finding.suggestion],
                )
            self.checked.add(op.op_id)
        if ctx.remaining_s <= 0:
            raise OperationTimeout(
                f"Run deadline of {self.state.limits.run_deadline_s:g} s reached",
                details={"runDeadlineS": self.state.limits.run_deadline_s},
            )
        return spec.run

    def _cache_material(self, ctx: OpContext, op: Operation) -> Any:
        """The cache key material, or None when this step is not to be cached.

        The config as written and as resolved (templates and path references), credential
        values only as hashes, and the input data the operation reads. Whether a step is
        cached at all is its spec's policy (:meth:`~a2e.protocol.catalog.OpSpec.caches`)
        and the cache's (:meth:`~a2e.engine.ports.ResultCache.keeps`).
        """
        config = op.config
        spec = self.runner.catalog[op.op_type]
        cache = self.runner.cache
        if cache is None or not spec.caches(config) or not cache.keeps(op.op_type):
            return None
        options = {k: v for k, v in config.items() if k not in NON_KEY_OPTIONS}
        try:
            return {
                "config": options,
                "resolved": _hash_credentials(ctx, ctx.resolve_refs(options)),
                "inputs": {path: ctx.read(path) for path in spec.input_paths(config)},
            }
        except DataError:
            return None  # the operation itself reports what is missing

    def redact(self, value: Any) -> Any:
        """``value`` with every secret this run sent, in every form a later operation could
        derive, replaced by ``[REDACTED]`` (before results enter the data, records, answers)."""
        return self.state.secrets.scrub(value)


class _SavingClock:
    """A run's clock: before it sleeps (a Wait, a retry's pause) the run's ended steps
    are committed, so a crash during the wait keeps them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.before_sleep: Callable[[], None] = lambda: None

    def now(self) -> datetime:
        return self.clock.now()

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.before_sleep()
        self.clock.sleep(seconds)


def _admit_step(state: RunState, op_id: str) -> None:
    """Count the step about to start against ``max_steps`` (the refusal names the op)."""
    try:
        state.budget.admit_step()
    except ExecutionError as exc:
        exc.operation_id = op_id
        raise


def _hash_credentials(ctx: OpContext, value: Any) -> Any:
    """``value`` with each credential reference replaced by a hash of its secret."""
    if is_credential_ref(value):
        secret = ctx.with_credentials(value)
        return {"credentialSha256": hashlib.sha256(f"a2e-cache:{secret}".encode()).hexdigest()}
    if isinstance(value, dict):
        return {key: _hash_credentials(ctx, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hash_credentials(ctx, item) for item in value]
    return value


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
