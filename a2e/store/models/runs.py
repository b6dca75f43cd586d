"""Runs of workflows and one row per execution of an operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, BigId, JSONValue, UTCDateTime

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
#: Statuses a run never leaves.
FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
STEP_STATUSES = ("succeeded", "failed")


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("agent_id", "execution_id"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')",
            name="status",
        ),
        Index("ix_runs_agent_id_id", "agent_id", "id"),
        Index("ix_runs_agent_id_status_id", "agent_id", "status", "id"),
        Index("ix_runs_status_owner_host", "status", "owner_host"),
        Index("ix_runs_started_at", "started_at"),
        # The runs not rolled up yet (a2e.store.rollup): unfinished, or finished lately.
        Index("ix_runs_finished_at", "finished_at"),
        # The queue's claim: asynchronous runs only (a synchronous run never writes to it).
        Index("ix_runs_status_lease_expires_at", "status", "lease_expires_at",
              sqlite_where=text("is_async IS 1"), postgresql_where=text("is_async IS TRUE")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    execution_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_boot_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue, nullable=True)
    workflow_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    saved_workflow_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    saved_workflow_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # -- asynchronous runs (a2e.queue): the run row is the queue entry
    is_async: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The worker holding the run (``host:pid:worker``) and until when; renewed while it runs.
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: How many times a worker claimed the run (more than 1: it was resumed).
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The step running now when it waits or has an outside effect:
    #: ``{"position", "operation_id", "type", "started_at"}`` (what a resume needs).
    in_flight: Mapped[dict[str, Any] | None] = mapped_column(JSONValue, nullable=True)


class RunStep(Base):
    __tablename__ = "run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        CheckConstraint("status IN ('succeeded', 'failed')", name="status"),
        # The dashboard's and /metrics' step figures: an index-only scan per period.
        Index("ix_run_steps_started_at_op_type_status", "started_at", "op_type", "status",
              "duration_ms"),
        # Small partial indexes: the retried steps and the steps answered from the cache.
        Index("ix_run_steps_retried", "started_at",
              sqlite_where=text("json_array_length(attempts) > 1"),
              postgresql_where=text("jsonb_array_length(attempts) > 1")),
        Index("ix_run_steps_cached", "started_at",
              sqlite_where=text("cached = 1"), postgresql_where=text("cached")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    operation_id: Mapped[str] = mapped_column(String(100))
    op_type: Mapped[str] = mapped_column(String(50))
    iteration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    result: Mapped[Any | None] = mapped_column(JSONValue, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue, nullable=True)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    cached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
