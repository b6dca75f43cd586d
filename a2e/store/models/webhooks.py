"""Webhook deliveries: one row per run with a ``callbackUrl``, every attempt kept on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, BigId, JSONValue, UTCDateTime

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookDelivery(Base):
    """The POST a finished run owes its callback URL.

    ``body`` is the exact JSON text that is signed and sent on every attempt; ``attempts``
    lists ``{"attempt", "at", "status_code", "error", "duration_ms"}`` per try.
    A sender claims a row by moving ``next_attempt_at`` past its own attempt (a lease).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
