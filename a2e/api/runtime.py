"""Validation and execution of a workflow for the calling agent: the one path that the
execute endpoint, saved workflows and anything else that runs a workflow share.

The engine's Runner is one of the app's services (``a2e.api.services``); run slots
(``services.run_slots``) bound an agent's concurrent runs, taken and freed by the run
recorder in the transactions that start and finish a run, with the run's audit events
(:class:`AuditedRunEvents`).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a2e.api.auth import Principal
from a2e.api.events import event_row, record_event
from a2e.api.limits.hooks import pending_count, settle_count
from a2e.api.state import AppState, state
from a2e.audit import actions
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import AgentContext, RunFinish, RunStart, SavedWorkflowRef, StepRecord
from a2e.errors import A2EError, ValidationError
from a2e.limits.service import Undecided
from a2e.protocol.model import ExecutionLimits, Workflow
from a2e.protocol.paths import is_credential_ref
from a2e.protocol.validate import as_error, permission_only, validate_workflow
from a2e.protocol.workflow import parse_workflow
from a2e.store.queries.credentials import read_credential_hosts

WorkflowSource = str | list[dict[str, Any]]


@dataclass(frozen=True)
class Assessment:
    """A workflow parsed and validated for an agent.

    ``workflow`` is None when it did not parse; ``report`` is the validation report
    (``{"valid", "errors", "warnings"}``); a refused workflow has ``error`` and ``status``
    (400, or 403 when only permissions failed).
    """

    workflow: Workflow | None
    report: dict[str, Any]
    error: A2EError | None = None
    status: int = 200

    @property
    def refused(self) -> bool:
        return self.error is not None

    def refusal_body(self) -> dict[str, Any]:
        assert self.error is not None
        return {"error": self.error.to_dict(), **self.report}


def execution_limits(app_state: AppState) -> ExecutionLimits:
    """Config section ``execution``: its keys are ExecutionLimits' fields."""
    return ExecutionLimits(**app_state.settings.execution)


def source_text(source: WorkflowSource) -> str:
    """The workflow as JSONL text, as it is recorded on the run."""
    if isinstance(source, str):
        return source
    return "\n".join(json.dumps(message, separators=(",", ":")) for message in source)


def assess(
    principal: Principal, source: WorkflowSource, *, full: bool = True, warnings: bool = True
) -> Assessment:
    """Parse and validate; ``full=False`` runs only the permission, host and credential
    checks. ``warnings=False``: the data-flow warnings are worked out only for a refused
    workflow (a run's answer does not carry them)."""
    app_state = state()
    try:
        workflow = parse_workflow(source, REGISTRY)
    except ValidationError as exc:
        report = {"valid": False, "errors": exc.details.get("errors", []), "warnings": []}
        return Assessment(None, report, exc, 400)
    owned: dict[str, tuple[str, ...]] = {}
    if any(_references_credentials(op.config) for op in workflow.operations.values()):
        with app_state.db.connection(single_statement=True) as conn:
            owned = read_credential_hosts(conn, principal.agent_id)
    permissions, limits = principal.permissions(owned), execution_limits(app_state)
    report = validate_workflow(workflow, permissions, limits, REGISTRY, full=full,
                               data_flow=warnings)
    if report.valid:
        return Assessment(workflow, report.to_dict())
    if not warnings:  # a refusal's body lists the warnings too
        report = validate_workflow(workflow, permissions, limits, REGISTRY, full=full)
    status = 403 if permission_only(report) else 400
    return Assessment(workflow, report.to_dict(), as_error(report), status)


def execute(
    principal: Principal,
    source: WorkflowSource,
    *,
    validate: bool = True,
    execution_id: str | None = None,
    saved_workflow: SavedWorkflowRef | None = None,
) -> tuple[dict[str, Any], int]:
    """Validate and run a workflow: (the execute response body, 200) or the refusal.

    Raises DuplicateExecution (409) before any step, and RateLimited (429) when the
    agent is at its concurrent-runs limit. The request's rate-limit count, when still
    pending, is taken in the run's start transaction (:mod:`a2e.api.limits.hooks`).
    """
    app_state = state()
    assessment = assess(principal, source, full=validate, warnings=False)
    if assessment.workflow is None or assessment.refused:
        settle_count()
        # An accepted request is recorded by its run's ``run.started`` event.
        record_event(actions.WORKFLOW_EXECUTE, outcome="refused",
                     details={"errors": len(assessment.report["errors"])})
        return assessment.refusal_body(), assessment.status
    workflow = assessment.workflow
    services = app_state.services
    slots = services.run_slots
    run = functools.partial(
        services.runner.execute,
        workflow,
        agent=AgentContext(principal.agent_id, principal.permissions()),
        execution_id=execution_id or workflow.execution_id or f"exec-{uuid.uuid4().hex}",
        workflow_text=source_text(source),
        saved_workflow=saved_workflow,
        concurrent_runs=slots.limit(principal.agent_id, principal.limits) if slots else None,
        validated=validate,
    )
    try:
        result = run(admission=pending_count())
    except Undecided:  # maybe over the limit: the start was undone, count on its own
        settle_count()
        result = run()
    return result.to_response(), 200


#: The types of JSON's scalars: none holds a reference (nor takes isinstance of an ABC).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _references_credentials(value: Any) -> bool:
    if type(value) in _SCALARS:
        return False
    if is_credential_ref(value):
        return True
    if isinstance(value, Mapping):
        return any(_references_credentials(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_references_credentials(item) for item in value)
    return False


class AuditedRunEvents:
    """The audit rows of a run, for the recorder's transactions: ``run.started``,
    ``step.failed``, ``run.finished`` (and ``run.interrupted`` after a failed finish)."""

    def started(self, run_id: int, start: RunStart) -> dict[str, Any] | None:
        return event_row(actions.RUN_STARTED, target=f"run:{run_id}",
                         details={"execution_id": start.execution_id})

    def step_failed(self, run_id: int, step: StepRecord) -> dict[str, Any] | None:
        return event_row(actions.STEP_FAILED, outcome="failure", target=f"run:{run_id}",
                         details={"operation_id": step.op_id, "type": step.op_type,
                                  "error_type": (step.error or {}).get("type")})

    def finished(self, run_id: int, finish: RunFinish) -> dict[str, Any] | None:
        return event_row(actions.RUN_FINISHED,
                         outcome="success" if finish.status == "succeeded" else "failure",
                         target=f"run:{run_id}",
                         details={"status": finish.status, "duration_ms": finish.duration_ms})

    def interrupted(self, run_id: int, reason: str) -> dict[str, Any] | None:
        return event_row(actions.RUN_INTERRUPTED, outcome=actions.FAILURE,
                         target=f"run:{run_id}", details={"reason": reason})
