"""The persistent result cache and its statistics per agent and operation type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, JSONValue, UTCDateTime


class CacheEntry(Base):
    """One cached operation result, scoped to the agent that computed it.

    ``key_hash`` is :func:`a2e.engine.ports.cache_key` of the operation type and its
    resolved input. ``last_access`` and ``hits`` are written coarsely (batched per
    process), so LRU order is exact to within the flush interval across processes.
    """

    __tablename__ = "cache_entries"
    __table_args__ = (
        Index("ix_cache_entries_last_access_created_at", "last_access", "created_at"),
        Index("ix_cache_entries_expires_at", "expires_at"),
        Index("ix_cache_entries_op_type", "op_type"),
    )

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    op_type: Mapped[str] = mapped_column(String(50))
    value: Mapped[Any] = mapped_column(JSONValue, nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_access: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class CacheStats(Base):
    """Counters per (agent, operation type), only ever increased by ``count = count + n``."""

    __tablename__ = "cache_stats"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    op_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    writes: Mapped[int] = mapped_column(Integer, default=0)
    evictions: Mapped[int] = mapped_column(Integer, default=0)
    expirations: Mapped[int] = mapped_column(Integer, default=0)
    invalidations: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
