"""Asynchronous submits: validate as execute does, queue the run row, answer 202.

``"async": true`` beside ``workflow`` in the body, or the header ``Prefer:
respond-async``, selects this path; the run is then picked up by a queue worker
(:mod:`a2e.queue.worker`). ``"callbackUrl"`` asks for a signed webhook when it ends.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.exc import IntegrityError

from a2e.api import runtime
from a2e.api.auth import Principal
from a2e.api.events import record_event, record_event_in
from a2e.api.limits.hooks import settle_count
from a2e.api.state import state
from a2e.audit import actions
from a2e.engine.outbound import check_target
from a2e.engine.ports import DuplicateExecution, SavedWorkflowRef
from a2e.errors import A2EError, ValidationError
from a2e.store.base import utcnow
from a2e.store.owner import current_owner
from a2e.store.queries import queue as queries
from a2e.store.queries import runs as run_queries
from a2e.store.queries import webhooks as webhook_queries

EXECUTIONS_PATH = "/api/v1/executions/"


def wants_async(body: dict[str, Any]) -> bool:
    """``"async": true`` in the body or ``Prefer: respond-async`` on the request."""
    prefer = request._get_current_object().headers.get("Prefer", "")
    preferences = {part.strip().split("=")[0].lower() for part in prefer.split(",")}
    return bool(body.get("async_")) or "respond-async" in preferences


def submit(
    principal: Principal,
    source: runtime.WorkflowSource,
    *,
    validate: bool = True,
    execution_id: str | None = None,
    saved_workflow: SavedWorkflowRef | None = None,
    callback_url: str | None = None,
) -> Response:
    """Validate and queue: 202 with ``Location``, or the refusal execute would give."""
    settle_count()
    assessment = runtime.assess(principal, source, full=validate, warnings=False)
    if assessment.workflow is None or assessment.refused:
        record_event(actions.WORKFLOW_EXECUTE, outcome="refused",
                     details={"errors": len(assessment.report["errors"])})
        return _json(assessment.refusal_body(), assessment.status)
    app_state = state()
    if callback_url is not None:
        _check_callback(principal, callback_url)
    execution_id = execution_id or assessment.workflow.execution_id or f"exec-{uuid.uuid4().hex}"
    now = utcnow()
    try:
        with app_state.db.connection(write=True) as conn:
            run_id = queries.enqueue_run(
                conn, agent_id=principal.agent_id, execution_id=execution_id,
                owner=current_owner(), now=now, workflow_text=runtime.source_text(source),
                callback_url=callback_url,
                saved_workflow_name=saved_workflow.name if saved_workflow else None,
                saved_workflow_version=saved_workflow.version if saved_workflow else None,
            )
            record_event_in(conn, actions.RUN_QUEUED, target=f"run:{run_id}",
                            details={"execution_id": execution_id,
                                     "callback": callback_url is not None})
    except IntegrityError:
        with app_state.db.session() as session:
            existing = run_queries.read_run_by_execution_id(session, principal.agent_id,
                                                            execution_id)
        if existing is None:
            raise
        raise DuplicateExecution(existing.id, execution_id) from None
    worker = app_state.services.queue_worker
    if worker is not None:
        worker.wake()
    location = EXECUTIONS_PATH + execution_id
    response = _json({"execution_id": execution_id, "run_id": run_id, "status": "queued",
                      "queued_at": now.isoformat(), "location": location}, 202)
    response.headers["Location"] = location
    return response


def _check_callback(principal: Principal, url: str) -> None:
    """The callback host must be one the agent's ApiCalls may reach, and the agent needs a
    webhook secret to sign with (the addresses are checked again at each delivery)."""
    try:
        check_target(url, principal.allowed_hosts)
    except A2EError as exc:
        exc.details.setdefault("field", "callbackUrl")
        raise
    with state().db.session() as session:
        if not webhook_queries.has_webhook_secret(session, principal.agent_id):
            raise ValidationError(
                "callbackUrl needs a webhook secret to sign deliveries with; this agent has none",
                details={"field": "callbackUrl"},
                suggestions=["Issue one with `a2e agents webhook-secret NAME` or "
                             "POST /api/v1/admin/agents/<agent>/webhook-secret"],
            )


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
