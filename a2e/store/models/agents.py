"""Agents and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from a2e.store.base import Base, BigId, JSONValue, UTCDateTime, utcnow


class Agent(Base):
    """A caller of the API. ``allowed_operations`` None means every operation."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_operations: Mapped[list[str] | None] = mapped_column(JSONValue, nullable=True)
    allowed_hosts: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The secret webhooks are signed with, sealed by :mod:`a2e.crypto` (None: none issued).
    webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="agent", passive_deletes=True)

    def describe(self) -> dict[str, Any]:
        return {
            "agent_id": self.id,
            "name": self.name,
            "admin": self.is_admin,
            "allowed_operations": self.allowed_operations,
            "allowed_hosts": list(self.allowed_hosts or []),
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
        }


class ApiKey(Base):
    """An API key: only a short lookup prefix and the SHA-256 of the whole key are kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    agent: Mapped[Agent] = relationship(back_populates="keys")
