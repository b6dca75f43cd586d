"""Per-agent limit overrides (NULL means: use the configured default)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, UTCDateTime, utcnow


class AgentLimits(Base):
    __tablename__ = "agent_limits"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    requests_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requests_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requests_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_calls_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_calls_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    concurrent_runs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
