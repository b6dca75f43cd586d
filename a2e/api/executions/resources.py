"""The caller's own runs, and (admin) every agent's runs."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, abort
from sqlalchemy.orm import Session

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import current_principal, require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event_in
from a2e.api.executions.schemas import (
    AdminRunQueryArgsSchema,
    CancelledSchema,
    ExecutionPageSchema,
    ExecutionQueryArgsSchema,
    ExecutionSchema,
    ExecutionWaitArgsSchema,
)
from a2e.api.pagination import page
from a2e.api.state import state
from a2e.audit import actions
from a2e.engine.ports import RunFinish
from a2e.queue.webhooks import delivery_for
from a2e.store.base import MAX_ID, utcnow
from a2e.store.models import Run
from a2e.store.models.runs import FINAL_STATUSES
from a2e.store.queries import queue as queue_queries
from a2e.store.queries import runs as queries
from a2e.store.queries import webhooks as webhook_queries

#: Seconds between looks at a run while a ``?wait=`` request waits (growing to the max).
WAIT_POLL_S = (0.05, 0.5)

blp = Blueprint("executions", __name__, url_prefix="/api/v1/executions",
                description="The calling agent's runs")
admin_blp = Blueprint("admin_runs", __name__, url_prefix="/api/v1/admin/runs",
                      description="Runs of every agent (admin)")
admin_blp.before_request(require_admin)


def summary(run: Run) -> dict[str, Any]:
    saved = (
        {"name": run.saved_workflow_name, "version": run.saved_workflow_version}
        if run.saved_workflow_name else None
    )
    return {
        "run_id": run.id,
        "execution_id": run.execution_id,
        "agent_id": run.agent_id,
        "status": run.status,
        "started_at": run.started_at,
        "completed_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "saved_workflow": saved,
        "error": run.error,
        "async_": run.is_async,
        "queued_at": run.queued_at,
        "claims": run.claims,
        "cancel_requested_at": run.cancel_requested_at,
    }


def detail(session: Session, run: Run) -> dict[str, Any]:
    """The run with its steps; ``results`` rebuilt from the steps (an op's latest success)."""
    steps = queries.read_steps(session, run.id)
    results = {step.operation_id: step.result for step in steps if step.status == "succeeded"}
    delivery = webhook_queries.read_delivery(session, run.id) if run.callback_url else None
    return {
        **summary(run),
        "callback": None if run.callback_url is None else {
            "url": run.callback_url,
            "status": delivery.status if delivery else "not_yet",
            "attempts": delivery.attempts if delivery else [],
            "delivered_at": delivery.delivered_at.isoformat()
            if delivery and delivery.delivered_at else None,
        },
        "results": results,
        "steps": [
            {
                "operationId": step.operation_id,
                "type": step.op_type,
                "position": step.position,
                "iteration": step.iteration,
                "status": step.status,
                "attempts": step.attempts,
                "started_at": step.started_at.isoformat(),
                "completed_at": step.finished_at.isoformat(),
                "duration_ms": step.duration_ms,
                "cached": step.cached,
                "cached_at": step.cached_at.isoformat() if step.cached_at else None,
                "error": step.error,
            }
            for step in steps
        ],
    }


def run_page(session: Session, args: dict[str, Any], **filters: Any) -> dict[str, Any]:
    runs = queries.read_runs(
        session, limit=args["limit"], status=args["status"],
        before_id=args["cursor"], **filters,
    )
    body = page([summary(run) for run in runs], args["limit"], runs[-1].id if runs else None)
    return {**body, "executions": body["items"]}  # the reference clients read ``executions``


@blp.route("")
class Executions(MethodView):
    @blp.arguments(ExecutionQueryArgsSchema, location="query")
    @blp.response(200, ExecutionPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's runs, newest first"""
        with state().db.session() as session:
            return run_page(session, args, agent_id=current_principal().agent_id)


def own_run_or_404(session: Session, execution_id: str) -> Run:
    run = queries.read_run_by_execution_id(session, current_principal().agent_id, execution_id)
    if run is None:
        abort(404, message=f"no execution {execution_id!r} for this agent")
    return run


def wait_for_final(execution_id: str, wait_s: float) -> None:
    """Return once the caller's run has a final status, or after ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    pause = WAIT_POLL_S[0]
    while True:
        with state().db.session() as session:
            if own_run_or_404(session, execution_id).status in FINAL_STATUSES:
                return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(pause, left))
        pause = min(pause * 2, WAIT_POLL_S[1])


def cancel(session_run: Run) -> dict[str, Any]:
    """Ask a run to stop (202 body); 409 when it has ended or cannot be cancelled."""
    if session_run.status in FINAL_STATUSES:
        abort(409, message=f"execution {session_run.execution_id!r} has ended "
                           f"({session_run.status})")
    if not session_run.is_async:
        abort(409, message="a synchronous run ends with its request; only runs submitted "
                           'with "async": true can be cancelled')
    now = utcnow()
    with state().db.connection(write=True) as conn:
        status = queue_queries.request_cancel(conn, session_run.id, now)
        if status == "cancelled" and session_run.callback_url:  # it never reaches a worker
            finish = RunFinish("cancelled", {}, dict(queue_queries.CANCELLED_BEFORE_START), now, 0)
            webhook_queries.create_delivery(conn, session_run.id, session_run.callback_url,
                                            delivery_for(session_run.execution_id, finish), now)
        if status is None:
            abort(409, message=f"execution {session_run.execution_id!r} has ended")
        record_event_in(conn, actions.RUN_CANCEL_REQUESTED, target=f"run:{session_run.id}",
                        agent_id=session_run.agent_id,
                        details={"execution_id": session_run.execution_id, "status": status})
    return {"execution_id": session_run.execution_id, "run_id": session_run.id,
            "status": status, "cancel_requested": True}


@blp.route("/<execution_id>")
class ExecutionById(MethodView):
    @blp.arguments(ExecutionWaitArgsSchema, location="query")
    @blp.response(200, ExecutionSchema)
    def get(self, args: dict[str, Any], execution_id: str) -> dict[str, Any]:
        """One of the caller's runs, with results and steps (``?wait=S``: once it has ended,
        or after S seconds with its current status)"""
        if args["wait"]:
            wait_for_final(execution_id, args["wait"])
        with state().db.session() as session:
            return detail(session, own_run_or_404(session, execution_id))


@blp.route("/<execution_id>/cancel")
class CancelExecution(MethodView):
    @blp.response(202, CancelledSchema)
    @blp.alt_response(404, description="no such execution for this agent")
    @blp.alt_response(409, description="the run has ended, or is not asynchronous")
    def post(self, execution_id: str) -> dict[str, Any]:
        """Cancel one of the caller's asynchronous runs: a queued one at once, a running one
        at its next step boundary or within about a second inside a wait"""
        with state().db.session() as session:
            run = own_run_or_404(session, execution_id)
        return cancel(run)


@admin_blp.route("")
class AdminRuns(MethodView):
    @admin_blp.arguments(AdminRunQueryArgsSchema, location="query")
    @admin_blp.response(200, ExecutionPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Runs of any agent, newest first, filtered by agent, execution id and status"""
        with state().db.session() as session:
            agent_id = agent_or_404(session, args["agent"]).id if args["agent"] else None
            return run_page(session, args, agent_id=agent_id, execution_id=args["execution_id"])


@admin_blp.route(f"/<int(max={MAX_ID}):run_id>")
class AdminRunById(MethodView):
    @admin_blp.response(200, ExecutionSchema)
    def get(self, run_id: int) -> dict[str, Any]:
        """One run by the server's own run id"""
        with state().db.session() as session:
            run = queries.read_run(session, run_id)
            if run is None:
                abort(404, message=f"no run {run_id}")
            return detail(session, run)


@admin_blp.route(f"/<int(max={MAX_ID}):run_id>/cancel")
class AdminCancelRun(MethodView):
    @admin_blp.response(202, CancelledSchema)
    @admin_blp.alt_response(404, description="no such run")
    @admin_blp.alt_response(409, description="the run has ended, or is not asynchronous")
    def post(self, run_id: int) -> dict[str, Any]:
        """Cancel any agent's asynchronous run by the server's run id"""
        with state().db.session() as session:
            run = queries.read_run(session, run_id)
        if run is None:
            abort(404, message=f"no run {run_id}")
        return cancel(run)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)
