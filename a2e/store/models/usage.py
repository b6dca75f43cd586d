"""Rate-limit usage per agent and fixed UTC window, and leases of concurrent-run slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, BigId, UTCDateTime

USAGE_KINDS = ("requests", "api_calls")
USAGE_PERIODS = ("minute", "hour", "day")


class UsageWindow(Base):
    """Counts of one agent in one window: ``admitted`` never exceeds ``quota``.

    ``quota`` is the limit in force at the window's last admission; ``rejected`` counts
    refusals attributed to this window (each refusal to exactly one window: the one
    that was full), flushed in batches.
    """

    __tablename__ = "usage_windows"
    __table_args__ = (
        CheckConstraint("kind IN ('requests', 'api_calls')", name="kind"),
        CheckConstraint("period IN ('minute', 'hour', 'day')", name="period"),
        Index("ix_usage_windows_window_start", "window_start"),
        # The windows with refusals (the rate_limit_rejections view): a small partial index.
        Index("ix_usage_windows_rejected", "window_start", sqlite_where=text("rejected > 0"),
              postgresql_where=text("rejected > 0")),
    )

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    admitted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    quota: Mapped[int] = mapped_column(Integer)


class RunSlotLease(Base):
    """One concurrent-run slot held by a process until its run ends or the lease expires."""

    __tablename__ = "run_slot_leases"
    __table_args__ = (Index("ix_run_slot_leases_agent_id_expires_at", "agent_id", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_boot_id: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
