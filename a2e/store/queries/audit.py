"""The audit trail's SQL. Functions take the session or Core connection first and never
commit.

Events are inserted unsealed (:func:`insert_event`) inside the writer's own
transaction, with no lock; the sealer chains them (:func:`read_pending`,
:func:`seal_rows`) under :func:`try_lock_sealer`. Two dialect-specific pieces live
here because they are the chain's concurrency and retention contract (migrations 0003
and 0008):

- :func:`try_lock_sealer` lets one sealer at a time through. PostgreSQL: a
  transaction-scoped advisory *try*-lock, taken only by sealers, never by writers.
  SQLite: the sealer's ``BEGIN IMMEDIATE`` already holds the one write lock.
- :func:`purge_through` lets the retention purge past the DELETE trigger.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from a2e.store.dialect import advisory_xact_lock, delete_guard_lifted, try_advisory_xact_lock
from a2e.store.driver import DriverTransaction, Tail
from a2e.store.models import Agent, AuditEvent

#: Key of the PostgreSQL advisory lock only sealers take ("a2eaudit").
SEALER_LOCK_KEY = 0x6132_6561_7564_6974
#: Base of the advisory locks that keep throttled events (one per address) exact.
THROTTLE_LOCK_BASE = 0x6132_6574_0000_0000
SQLITE_DELETE_TRIGGER = "audit_events_refuse_delete"
#: While ``on`` in a transaction, PostgreSQL's trigger lets that transaction DELETE.
PURGE_SETTING = "a2e.audit_purge"

Executor = Connection | Session | DriverTransaction | Tail


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


_INSERT = insert(AuditEvent)
_TABLE = AuditEvent.__table__
_SEAL = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(seq=bindparam("row_seq"), prev_hash=bindparam("row_prev"), hash=bindparam("row_hash"))
)


def insert_event(conn: Executor, values: Mapping[str, Any]) -> None:
    """Insert one unsealed event (``id`` from the table; ``seq`` and hashes NULL)."""
    conn.execute(_INSERT, dict(values))


def insert_events(conn: Executor, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT, [dict(row) for row in rows])


def try_lock_sealer(conn: Executor) -> bool:
    """Whether this transaction may seal (see the module docstring); never waits."""
    return try_advisory_xact_lock(conn, SEALER_LOCK_KEY)


def lock_throttle(session: Session, address: str | None) -> None:
    """Serialize the throttled writers of one client address until the transaction ends."""
    advisory_xact_lock(session, THROTTLE_LOCK_BASE + zlib.crc32((address or "").encode("utf-8")))


_COLUMNS = list(_TABLE.c)


_READ_HEAD = (
    select(*_COLUMNS).where(_TABLE.c.seq.is_not(None)).order_by(_TABLE.c.seq.desc()).limit(1)
)
_READ_PENDING = (
    select(*_COLUMNS).where(_TABLE.c.hash.is_(None)).order_by(_TABLE.c.id)
    .limit(bindparam("row_limit"))
)


def read_head(conn: Executor) -> Any:
    """The last sealed event of the chain (a row), or None."""
    return conn.execute(_READ_HEAD).first()


def read_pending(conn: Executor, limit: int) -> Sequence[Any]:
    """Unsealed events in id order (rows)."""
    return conn.execute(_READ_PENDING, {"row_limit": limit}).all()


def count_pending(conn: Executor) -> int:
    return conn.scalar(select(func.count()).select_from(_TABLE).where(_TABLE.c.hash.is_(None))) or 0


def seal_rows(conn: Executor, rows: Sequence[Mapping[str, Any]]) -> None:
    """Give each row (``id``, ``seq``, ``prev_hash``, ``hash``) its place in the chain."""
    if rows:
        conn.execute(_SEAL, [
            {"row_id": r["id"], "row_seq": r["seq"], "row_prev": r["prev_hash"],
             "row_hash": r["hash"]} for r in rows
        ])


def read_chain(conn: Executor, *, limit: int, after_seq: int | None = None) -> Sequence[Any]:
    """Sealed events in chain order (rows), keyset-paged by ``seq``."""
    query = select(*_COLUMNS).where(_TABLE.c.seq.is_not(None))
    if after_seq is not None:
        query = query.where(_TABLE.c.seq > after_seq)
    return conn.execute(query.order_by(_TABLE.c.seq).limit(limit)).all()


def read_event(conn: Executor, event_id: int) -> Any:
    """One event (a row) by id, or None."""
    return conn.execute(select(*_COLUMNS).where(_TABLE.c.id == event_id)).first()


def read_first(conn: Executor) -> Any:
    """The first sealed event of the chain (a row), or None."""
    return conn.execute(
        select(*_COLUMNS).where(_TABLE.c.seq.is_not(None)).order_by(_TABLE.c.seq).limit(1)
    ).first()


def read_by_seq(conn: Executor, seq: int) -> Any:
    return conn.execute(select(*_COLUMNS).where(_TABLE.c.seq == seq)).first()


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
    """When ``action`` was last recorded for ``client_ip``. The action is written into the
    SQL, not bound: the address index holds
    :data:`~a2e.store.models.audit.BY_ADDRESS_ACTION`'s events only, and a plan made for
    any value of a parameter (PostgreSQL's generic plan of a prepared statement) could
    not use it."""
    return session.scalar(
        select(AuditEvent.ts)
        .where(AuditEvent.action == literal(action, literal_execute=True),
               AuditEvent.client_ip == client_ip)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def read_last_seq_before(conn: Executor, cutoff: datetime) -> int | None:
    """The highest chain position among sealed events older than ``cutoff``."""
    return conn.scalar(
        select(func.max(_TABLE.c.seq)).where(_TABLE.c.ts < cutoff, _TABLE.c.seq.is_not(None))
    )


def purge_through(session: Session, last_seq: int) -> int:
    """Delete every sealed event with ``seq <= last_seq``; the only DELETE the triggers allow."""
    statement = delete(AuditEvent).where(AuditEvent.seq <= last_seq)
    with delete_guard_lifted(session, setting=PURGE_SETTING, sqlite_trigger=SQLITE_DELETE_TRIGGER):
        return session.execute(statement).rowcount
