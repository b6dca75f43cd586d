"""The append-only, keyed-chain audit trail (see ``a2e.audit``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, BigId, JSONValue, UTCDateTime


#: The one action whose events are looked up by client address (a2e.audit.log throttles
#: it: a failed authentication); the address index holds only its events.
BY_ADDRESS_ACTION = "auth.failed"
_BY_ADDRESS = text(f"action = '{BY_ADDRESS_ACTION}'")


class AuditEvent(Base):
    """One event. ``id`` is given at insert; ``seq``, ``prev_hash`` and ``hash`` stay NULL
    until the sealer chains the row (``seq`` is the chain position; see ``a2e.audit.seal``).

    ``agent_id`` is deliberately not a foreign key: the trail outlives the agents it names.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_ts", "ts"),
        Index("ix_audit_events_agent_id_id", "agent_id", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_client_ip_action_id", "client_ip", "action", "id",
              postgresql_where=_BY_ADDRESS, sqlite_where=_BY_ADDRESS),
        # Sealed events only: an unsealed one (seq NULL) costs no page of it on insert.
        Index("uq_audit_events_seq", "seq", unique=True,
              postgresql_where=text("seq IS NOT NULL"), sqlite_where=text("seq IS NOT NULL")),
        Index(
            "ix_audit_events_unsealed", "id",
            postgresql_where=text("hash IS NULL"), sqlite_where=text("hash IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
