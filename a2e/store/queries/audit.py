"""The audit trail's SQL. Functions take the session first and never commit.

Two dialect-specific pieces live here because they are the chain's concurrency
and retention contract (documented in migration 0003):

- :func:`lock_chain` serializes appenders. PostgreSQL: a transaction-scoped
  advisory lock. SQLite: the caller's ``BEGIN IMMEDIATE`` already holds the one
  write lock, so nothing more is needed.
- :func:`purge_through` lets the retention purge past the DELETE trigger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.orm import Session

from a2e.store.models import Agent, AuditEvent

#: Key of the PostgreSQL advisory lock that guards the chain head ("a2eaudit").
CHAIN_LOCK_KEY = 0x6132_6561_7564_6974
SQLITE_DELETE_TRIGGER = "audit_events_refuse_delete"


@dataclass(frozen=True)
class AuditFilter:
    """Which events: every given field must match; ``since`` inclusive, ``until`` exclusive."""

    agent_id: int | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.agent_id is not None:
            query = query.where(AuditEvent.agent_id == self.agent_id)
        if self.action is not None:
            query = query.where(AuditEvent.action == self.action)
        if self.outcome is not None:
            query = query.where(AuditEvent.outcome == self.outcome)
        if self.since is not None:
            query = query.where(AuditEvent.ts >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.ts < self.until)
        return query


def lock_chain(session: Session) -> None:
    """Hold the chain lock until the transaction ends (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})


def read_head(session: Session) -> AuditEvent | None:
    """The last event of the chain."""
    return session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def read_event(session: Session, event_id: int) -> AuditEvent | None:
    return session.get(AuditEvent, event_id)


def read_first(session: Session) -> AuditEvent | None:
    return session.scalar(select(AuditEvent).order_by(AuditEvent.id).limit(1))


def create_event(session: Session, **values: Any) -> AuditEvent:
    event = AuditEvent(**values)
    session.add(event)
    session.flush()
    return event


def read_events(
    session: Session,
    where: AuditFilter = AuditFilter(),
    *,
    limit: int,
    after_id: int | None = None,
    before_id: int | None = None,
    newest_first: bool = False,
) -> Sequence[tuple[AuditEvent, str | None]]:
    """Events with their agent's name (None once the agent is gone), keyset-paged by id."""
    query = where.apply(
        select(AuditEvent, Agent.name).outerjoin(Agent, Agent.id == AuditEvent.agent_id)
    )
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    order = AuditEvent.id.desc() if newest_first else AuditEvent.id
    return [(event, name) for event, name in session.execute(query.order_by(order).limit(limit))]


def count_events(session: Session, where: AuditFilter = AuditFilter()) -> int:
    return session.scalar(where.apply(select(func.count()).select_from(AuditEvent))) or 0


def read_last_ts(session: Session, action: str, client_ip: str | None) -> datetime | None:
    """When ``action`` was last recorded for ``client_ip``."""
    return session.scalar(
        select(AuditEvent.ts)
        .where(AuditEvent.action == action, AuditEvent.client_ip == client_ip)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def read_last_id_before(session: Session, cutoff: datetime) -> int | None:
    """The highest id among events older than ``cutoff``."""
    return session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.ts < cutoff))


def purge_through(session: Session, last_id: int) -> int:
    """Delete every event with ``id <= last_id``; the only DELETE the triggers allow."""
    statement = delete(AuditEvent).where(AuditEvent.id <= last_id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('a2e.audit_purge', 'on', true)"))
        deleted = session.execute(statement).rowcount
        session.execute(text("SELECT set_config('a2e.audit_purge', 'off', true)"))
        return deleted
    trigger_sql = session.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": SQLITE_DELETE_TRIGGER},
    )
    if trigger_sql is not None:
        session.execute(text(f"DROP TRIGGER {SQLITE_DELETE_TRIGGER}"))
    deleted = session.execute(statement).rowcount
    if trigger_sql is not None:
        session.execute(text(trigger_sql))
    return deleted
