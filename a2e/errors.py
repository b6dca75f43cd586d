"""The protocol's error types (PROTOCOL §5), shared by every layer.

Each error knows its wire name (``error_type``) and renders itself in the
protocol's shape with :meth:`A2EError.to_dict`. Names avoid shadowing Python's
builtins (``PermissionDenied`` is the wire's ``PermissionError``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class A2EError(Exception):
    """Base class: a typed, user-facing error of the protocol."""

    error_type: ClassVar[str] = "ExecutionError"
    #: The suggestion an operation's error carries when its raiser gave none (PROTOCOL §5).
    hint: ClassVar[str] = "Check the operation's config and input; the details say what failed"
    #: The status of a run that ends on this error.
    run_status: ClassVar[str] = "failed"

    def __init__(
        self,
        message: str,
        *,
        operation_id: str | None = None,
        line: int | None = None,
        details: dict[str, Any] | None = None,
        suggestions: list[str] | tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation_id = operation_id
        self.line = line
        self.details = dict(details or {})
        self.suggestions = list(suggestions)

    def to_dict(self) -> dict[str, Any]:
        """The ``{"type", "message", "operationId"?, "details"?, "suggestions"?}`` body."""
        body: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.operation_id is not None:
            body["operationId"] = self.operation_id
        details = dict(self.details)
        if self.line is not None:
            details.setdefault("line", self.line)
        if details:
            body["details"] = details
        if self.suggestions:
            body["suggestions"] = list(self.suggestions)
        return body


class ValidationError(A2EError):
    error_type = "ValidationError"
    hint = "Fix the config as the message says; POST /api/v1/workflows/validate checks without running"


class PermissionDenied(A2EError):
    error_type = "PermissionError"
    hint = "Ask an admin to allow this operation type, host or credential for the agent"


class ExecutionError(A2EError):
    error_type = "ExecutionError"


class RunCancelled(ExecutionError):
    """The run was cancelled (``POST /api/v1/executions/<id>/cancel``)."""

    run_status = "cancelled"


class RunInterrupted(ExecutionError):
    """The run cannot go on after its worker stopped (a step that must not run twice)."""

    run_status = "interrupted"


class OperationTimeout(A2EError):
    error_type = "TimeoutError"
    hint = "Do less in one run, or raise the operation's timeout or the run deadline"


class DataError(A2EError):
    error_type = "DataError"
    hint = "Check that the path holds what the operation expects (an earlier step's result or /store/<key>)"


class RateLimited(A2EError):
    error_type = "RateLimitError"
    hint = "Try again after retry_after seconds"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.details.setdefault("retry_after", self.retry_after)
