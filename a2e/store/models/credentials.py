"""Credentials: one agent each, the value encrypted at rest, optionally bound to hosts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, JSONValue, UTCDateTime, utcnow


class Credential(Base):
    __tablename__ = "credentials"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    credential_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    #: The hosts (allowed-hosts syntax) the value may be sent to; empty: unbound.
    hosts: Mapped[list[str]] = mapped_column(JSONValue, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
