"""The caller's own runs, and (admin) every agent's runs."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort
from sqlalchemy.orm import Session

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import current_principal, require_admin
from a2e.api.executions.schemas import (
    AdminRunQueryArgsSchema,
    ExecutionPageSchema,
    ExecutionQueryArgsSchema,
    ExecutionSchema,
)
from a2e.api.pagination import page
from a2e.api.state import state
from a2e.store.base import MAX_ID
from a2e.store.models import Run
from a2e.store.queries import runs as queries

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
    }


def detail(session: Session, run: Run) -> dict[str, Any]:
    """The run with its steps; ``results`` rebuilt from the steps (an op's latest success)."""
    steps = queries.read_steps(session, run.id)
    results = {step.operation_id: step.result for step in steps if step.status == "succeeded"}
    return {
        **summary(run),
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


@blp.route("/<execution_id>")
class ExecutionById(MethodView):
    @blp.response(200, ExecutionSchema)
    def get(self, execution_id: str) -> dict[str, Any]:
        """One of the caller's runs, with results and steps"""
        with state().db.session() as session:
            run = queries.read_run_by_execution_id(
                session, current_principal().agent_id, execution_id
            )
            if run is None:
                abort(404, message=f"no execution {execution_id!r} for this agent")
            return detail(session, run)


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


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)
