"""The immutable workflow model every dialect parses into.

Both wire dialects (PROTOCOL §1) end up as one :class:`Workflow`; the engine and
the validator never see JSON Lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Dialect = Literal["A", "B"]


@dataclass(frozen=True)
class Operation:
    """One operation: its id, its type, its config (read-only), and where it was defined."""

    op_id: str
    op_type: str
    config: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class Workflow:
    """A parsed workflow.

    ``operations`` keeps definition order (the last update of an id wins, at the
    position of its first definition); ``order`` is the top-level run order.
    """

    operations: Mapping[str, Operation]
    order: tuple[str, ...]
    dialect: Dialect
    execution_id: str | None = None
    workflow_id: str | None = None
    begin_line: int | None = None


@dataclass(frozen=True)
class Issue:
    """One finding of the parser or the validator (an error or a warning)."""

    message: str
    type: str = "ValidationError"  # noqa: A003 - the wire's field name
    line: int | None = None
    operation_id: str | None = None
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "operationId": self.operation_id,
            "type": self.type,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class AgentPermissions:
    """What an agent may use: ``allowed_operations`` None means every operation."""

    allowed_operations: frozenset[str] | None = None
    allowed_hosts: tuple[str, ...] = ()
    credential_ids: frozenset[str] = field(default_factory=frozenset)
    #: The hosts each bound credential may be sent to (unbound credentials are absent).
    credential_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionLimits:
    """Size limits from config section ``execution`` (PROTOCOL §10 defaults)."""

    max_operations: int = 100
    max_loop_iterations: int = 1000
    max_wait_ms: int = 60_000
    run_deadline_s: float = 300.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_value_bytes: int = 10 * 1024 * 1024
    max_run_bytes: int = 32 * 1024 * 1024
    max_steps: int = 10_000
