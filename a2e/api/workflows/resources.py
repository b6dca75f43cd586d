"""``POST /api/v1/workflows/validate`` and ``POST /api/v1/workflows/execute``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from flask.views import MethodView
from flask_smorest import Api

from a2e.api import runtime, submit
from a2e.api.auth import current_principal
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event
from a2e.api.workflows.schemas import (
    ExecuteRequestSchema,
    ExecuteResponseSchema,
    RefusalSchema,
    SubmittedSchema,
    ValidateRequestSchema,
    ValidationReportSchema,
)
from a2e.audit import actions

PREFER_HEADER = {
    "in": "header", "name": "Prefer", "required": False, "schema": {"type": "string"},
    "description": "respond-async: queue the run and answer 202 (as \"async\": true)",
}


blp = Blueprint(
    "workflows", __name__, url_prefix="/api/v1/workflows",
    description="Validate and execute workflows",
)


def json_response(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@blp.route("/validate")
class ValidateWorkflow(MethodView):
    @blp.arguments(ValidateRequestSchema)
    @blp.response(200, ValidationReportSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate a workflow without running it (200 with the report, valid or not)"""
        assessment = runtime.assess(current_principal(), body["workflow"])
        record_event(actions.WORKFLOW_VALIDATE, outcome="valid" if assessment.report["valid"] else "invalid",
                     details={"errors": len(assessment.report["errors"])})
        return with_issues(assessment.report)


def with_issues(report: dict[str, Any]) -> dict[str, Any]:
    """The report plus the reference's ``issues`` (errors then warnings, each with its
    ``severity``) and ``summary`` (counts)."""
    issues = [
        {**issue, "severity": severity, "operation_id": issue.get("operationId")}
        for severity, key in (("error", "errors"), ("warning", "warnings"))
        for issue in report[key]
    ]
    by_operation: dict[str, int] = {}
    for issue in issues:
        if issue["operation_id"]:
            by_operation[issue["operation_id"]] = by_operation.get(issue["operation_id"], 0) + 1
    summary = {"errors": len(report["errors"]), "warnings": len(report["warnings"]),
               "by_operation": by_operation}
    return {**report, "issues": issues, "summary": summary}


@blp.route("/execute")
class ExecuteWorkflow(MethodView):
    @blp.arguments(ExecuteRequestSchema())  # an instance: webargs makes one per request from a class
    @blp.doc(parameters=[PREFER_HEADER])
    @blp.response(200, ExecuteResponseSchema)
    @blp.alt_response(202, schema=SubmittedSchema, description='queued ("async": true or '
                      "Prefer: respond-async); Location names the execution",
                      headers={"Location": {"description": "/api/v1/executions/<execution_id>",
                                            "schema": {"type": "string"}}})
    @blp.alt_response(400, schema=RefusalSchema, description="refused before running")
    @blp.alt_response(403, schema=RefusalSchema, description="refused: permissions only")
    @blp.alt_response(409, description="the executionId is already used by this agent")
    @blp.alt_response(429, description="over a rate limit or the concurrent-runs limit")
    def post(self, body: dict[str, Any]) -> Response:
        """Validate and run a workflow (200 for any run that started, whatever its outcome;
        202 when queued to run asynchronously)"""
        if submit.wants_async(body) or body["callbackUrl"] is not None:
            return submit.submit(current_principal(), body["workflow"], validate=body["validate"],
                                 callback_url=body["callbackUrl"])
        result, status = runtime.execute(
            current_principal(), body["workflow"], validate=body["validate"]
        )
        return json_response(result, status)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
