"""Shapes of the server's JSON answers, for the type checker (at run time: plain dicts)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class ErrorObject(TypedDict):
    type: str
    message: str
    operationId: NotRequired[str]
    details: NotRequired[dict[str, Any]]
    suggestions: NotRequired[list[str]]


class Issue(TypedDict):
    line: int | None
    operationId: str | None
    type: str
    message: str
    suggestion: str | None


class ReferenceIssue(Issue):
    severity: Literal["error", "warning"]
    operation_id: str | None


class ValidationSummary(TypedDict):
    errors: int
    warnings: int
    by_operation: dict[str, int]


class ValidationReport(TypedDict):
    valid: bool
    errors: list[Issue]
    warnings: list[Issue]
    issues: list[ReferenceIssue]
    summary: ValidationSummary


class Step(TypedDict):
    operationId: str
    type: str
    status: str
    attempts: list[dict[str, Any]]
    cached: bool
    duration_ms: int | None
    error: NotRequired[ErrorObject | None]


class ExecutionResult(TypedDict):
    """The answer of execute: a finished run (200) or, submitted async, a queued one (202)."""

    execution_id: str
    status: RunStatus
    results: NotRequired[dict[str, Any]]
    steps: NotRequired[list[Step]]
    error: NotRequired[ErrorObject]
    duration_ms: NotRequired[int]


class ExecutionSummary(TypedDict):
    run_id: int
    execution_id: str
    agent_id: int
    status: RunStatus
    started_at: str | None
    completed_at: str | None
    duration_ms: int | None
    saved_workflow: dict[str, Any] | None
    error: ErrorObject | None


class Execution(ExecutionSummary):
    results: dict[str, Any]
    steps: list[Step]


class CancelResult(TypedDict):
    """The 202 of a cancel: ``status`` is ``cancelled`` (it was queued) or still ``running``."""

    execution_id: str
    run_id: int
    status: RunStatus
    cancel_requested: bool


class ReferenceCapabilities(TypedDict):
    availableApis: dict[str, dict[str, Any]]
    availableCredentials: list[dict[str, Any]]
    supportedOperations: list[str]
    securityConstraints: dict[str, Any]


class Capabilities(TypedDict):
    agent_id: int
    name: str
    operations: list[str]
    hosts: list[str]
    credentials: list[str]
    limits: dict[str, Any]
    capabilities: ReferenceCapabilities
    operation_schemas: dict[str, dict[str, Any]]


class SavedVersion(TypedDict):
    name: str
    version: int
    description: str | None
    created_at: str


class SavedWorkflow(SavedVersion):
    workflow: str


class RateLimitStatus(TypedDict):
    agent_id: int
    enabled: bool
    limits: dict[str, int]
    usage: dict[str, int]
    remaining: dict[str, int]
    reset: dict[str, int]
