"""Usage windows and run-slot leases. Functions take the session (or, for admission, a
Core connection) first and never commit.

Admission is one conditional upsert per call. In a transaction (:func:`admit_windows`)
the caller rolls a partial admission back; on PostgreSQL :func:`admit_windows_at_once`
is a single autocommit statement that undoes a partial admission itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from a2e.limits.windows import Window
from a2e.store.dialect import upsert
from a2e.store.models import Agent, RunSlotLease, UsageWindow
from a2e.store.owner import Owner

#: The SQLSTATE of ``a2e_refuse()`` (migration 0006): some windows moved, so none did.
REFUSED_SQLSTATE = "A2E01"
_KEY = [UsageWindow.agent_id, UsageWindow.kind, UsageWindow.period, UsageWindow.window_start]


def admit_windows(conn: Connection, agent_id: int, windows: Sequence[Window]) -> dict[str, int]:
    """Add one to each window still below its limit; the new counts of those that moved.

    One statement: ``INSERT … ON CONFLICT DO UPDATE SET admitted = admitted + 1 WHERE
    admitted < limit RETURNING``. A window missing from the result was full; the
    caller rolls back so that no window moves. Every limit must be at least 1.
    """
    rows = conn.execute(_admit_statement(len(windows)), _admit_params(agent_id, windows))
    return {period: admitted for period, admitted in rows}


def admit_windows_at_once(
    conn: Connection, agent_id: int, windows: Sequence[Window]
) -> dict[str, int] | None:
    """PostgreSQL, on an autocommit connection: all windows move by one, or none does,
    in one statement and one round trip (no row lock held across a COMMIT).

    Returns the new counts, ``{}`` when every window was full, or None when only some
    were: the statement then raised through ``a2e_refuse()`` and moved nothing, and the
    caller learns which ones with :func:`admit_windows` in a transaction.
    """
    statement = _admit_statement(len(windows), all_or_none=True)
    try:
        rows = conn.execute(statement, _admit_params(agent_id, windows))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == REFUSED_SQLSTATE:
            return None
        raise
    return {period: admitted for period, admitted in rows}


def _admit_params(agent_id: int, windows: Sequence[Window]) -> dict[str, object]:
    params: dict[str, object] = {"agent_id": agent_id, "count": len(windows)}
    for index, window in enumerate(windows):
        params.update({f"kind_{index}": window.kind, f"period_{index}": window.period,
                       f"start_{index}": window.start, f"quota_{index}": window.limit})
    return params


@functools.cache
def _admit_statement(count: int, *, all_or_none: bool = False) -> Any:
    """The admission upsert for ``count`` windows as SQL text, built once per shape.

    The plain form runs on PostgreSQL and SQLite (3.35+). ``all_or_none`` (PostgreSQL)
    wraps it in a CTE whose outer query calls ``a2e_refuse()`` when some but not all
    windows moved. Text, unlike a multi-row ``insert().values()``, is cached by
    SQLAlchemy, so it is compiled once per process instead of on every request.
    """
    rows = ", ".join(
        f"(:agent_id, :kind_{i}, :period_{i}, :start_{i}, 1, 0, :quota_{i})" for i in range(count)
    )
    upsert_sql = (
        "INSERT INTO usage_windows "
        "(agent_id, kind, period, window_start, admitted, rejected, quota) "
        f"VALUES {rows} "
        "ON CONFLICT (agent_id, kind, period, window_start) DO UPDATE "
        "SET admitted = usage_windows.admitted + 1, quota = excluded.quota "
        "WHERE usage_windows.admitted < excluded.quota "
        "RETURNING period, admitted"
    )
    if all_or_none:
        upsert_sql = (
            f"WITH moved AS ({upsert_sql}) "
            "SELECT period, admitted FROM moved "
            "WHERE CASE WHEN (SELECT count(*) FROM moved) = :count THEN true "
            "ELSE a2e_refuse('a window is full') = 0 END"
        )
    return (
        text(upsert_sql)
        .bindparams(*(bindparam(f"start_{i}", type_=UsageWindow.window_start.type)
                      for i in range(count)))
        .columns(period=String, admitted=Integer)
    )


def add_rejections(session: Session, agent_id: int, window: Window, count: int) -> int:
    """Add ``count`` refusals to a window (creating its row); return its new total."""
    statement = upsert(session, UsageWindow).values(
        agent_id=agent_id, kind=window.kind, period=window.period, window_start=window.start,
        admitted=0, rejected=count, quota=window.limit,
    )
    statement = statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={"rejected": UsageWindow.rejected + statement.excluded.rejected},
    ).returning(UsageWindow.rejected)
    return int(session.execute(statement).scalar_one())


def read_usage(
    session: Session, agent_id: int, kind: str, starts: Mapping[str, datetime]
) -> dict[str, int]:
    """Admitted counts of the windows starting at ``starts`` (period → start); 0 if none."""
    rows = session.execute(
        select(UsageWindow.period, UsageWindow.admitted).where(
            UsageWindow.agent_id == agent_id,
            UsageWindow.kind == kind,
            tuple_(UsageWindow.period, UsageWindow.window_start).in_(list(starts.items())),
        )
    )
    counts = dict.fromkeys(starts, 0)
    counts.update({period: admitted for period, admitted in rows})
    return counts


def reset_usage(session: Session, agent_id: int, starts: Mapping[str, datetime]) -> int:
    """Zero the admitted counts of the agent's current windows; refusals stay for reporting."""
    result = session.execute(
        update(UsageWindow)
        .where(
            UsageWindow.agent_id == agent_id,
            tuple_(UsageWindow.period, UsageWindow.window_start).in_(list(starts.items())),
        )
        .values(admitted=0)
    )
    return result.rowcount


def read_oldest_window_start(session: Session) -> datetime | None:
    return session.scalar(select(func.min(UsageWindow.window_start)))


def delete_usage_before(session: Session, before: datetime) -> int:
    """Delete the rows of windows that started before ``before``."""
    result = session.execute(delete(UsageWindow).where(UsageWindow.window_start < before))
    return result.rowcount


# -- concurrent-run slots ------------------------------------------------------------

def lock_agent(session: Session, agent_id: int) -> bool:
    """Lock the agent's row until the transaction ends (PostgreSQL ``FOR NO KEY UPDATE``;
    SQLite's ``BEGIN IMMEDIATE`` already excludes other writers). False if no such agent."""
    found = session.scalar(
        select(Agent.id).where(Agent.id == agent_id).with_for_update(key_share=True)
    )
    return found is not None


def acquire_slot(
    session: Session, agent_id: int, limit: int, owner: Owner, now: datetime, expires_at: datetime
) -> int | None:
    """Insert a lease if the agent holds fewer than ``limit`` unexpired ones; its id or None.

    Exact only under :func:`lock_agent` (or SQLite's write lock) in the same transaction.
    """
    held = (
        select(func.count())
        .select_from(RunSlotLease)
        .where(RunSlotLease.agent_id == agent_id, RunSlotLease.expires_at > now)
        .scalar_subquery()
    )
    columns = ["agent_id", "owner_host", "owner_pid", "owner_boot_id", "acquired_at", "expires_at"]
    values = select(
        literal(agent_id), literal(owner.host), literal(owner.pid), literal(owner.boot_id),
        literal(now, RunSlotLease.acquired_at.type), literal(expires_at, RunSlotLease.expires_at.type),
    ).where(held < limit)
    return session.scalar(
        insert(RunSlotLease).from_select(columns, values).returning(RunSlotLease.id)
    )


def release_slot(session: Session, lease_id: int) -> None:
    session.execute(delete(RunSlotLease).where(RunSlotLease.id == lease_id))


def count_slots(session: Session, agent_id: int, now: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(RunSlotLease)
        .where(RunSlotLease.agent_id == agent_id, RunSlotLease.expires_at > now)
    ) or 0


def delete_stale_slots(
    session: Session, agent_id: int, owner: Owner, now: datetime, alive: Callable[[int], bool]
) -> int:
    """Delete the agent's expired leases, and those of ``owner.host`` whose process is gone
    (another boot of the machine, or a pid no longer alive)."""
    expired = session.execute(
        delete(RunSlotLease).where(RunSlotLease.agent_id == agent_id, RunSlotLease.expires_at <= now)
    ).rowcount
    local = session.execute(
        select(RunSlotLease.id, RunSlotLease.owner_pid, RunSlotLease.owner_boot_id).where(
            RunSlotLease.agent_id == agent_id, RunSlotLease.owner_host == owner.host
        )
    ).all()
    gone = [row.id for row in local if row.owner_boot_id != owner.boot_id or not alive(row.owner_pid)]
    if gone:
        session.execute(delete(RunSlotLease).where(RunSlotLease.id.in_(gone)))
    return expired + len(gone)
