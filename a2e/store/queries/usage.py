"""Usage windows and run-slot leases. Functions take the session first and never commit;
admission (:class:`AdmissionSql`) is one statement that commits on its own, or one
statement of a caller's transaction (a run's start).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from a2e.store.dialect import by_dialect, upsert
from a2e.store.driver import REFUSED_SQLSTATE, DriverResult, DriverTransaction, Tail
from a2e.store.models import Agent, RunSlotLease, UsageWindow
from a2e.store.owner import Owner
from a2e.store.session import Database


class Window(Protocol):
    """What the store needs of a window (``a2e.limits.windows.Window`` is one): the store
    does not import the limiter above it."""

    @property
    def kind(self) -> str: ...

    @property
    def period(self) -> str: ...

    @property
    def start(self) -> datetime: ...

    @property
    def limit(self) -> int: ...


#: ``a2e_refuse()``'s reasons (PostgreSQL): some window was full, so none moved; the
#: agent holds its ``concurrent_runs`` (the pipelined slot lease, :func:`acquire_slot_at_commit`).
WINDOW_FULL = "a window is full"
NO_RUN_SLOT = "no run slot"
#: What the slot functions run on: a session, or the run recorder's transaction.
Executor = Session | Connection | DriverTransaction | Tail
_KEY = [UsageWindow.agent_id, UsageWindow.kind, UsageWindow.period, UsageWindow.window_start]


class AdmissionSql:
    """The admission statement: all windows move by one, or none does, in one statement
    that commits on its own (one round trip, no lock held across a COMMIT).

    It runs on the driver's own connection (:meth:`Database.run_statement`), and its
    text is written once per dialect and window count, so that the hot path pays for
    no SQL compilation and no ORM.

    - PostgreSQL: ``INSERT … ON CONFLICT DO UPDATE SET admitted = admitted + 1 WHERE
      admitted < limit RETURNING`` inside a CTE; the row lock taken by the upsert makes
      each window's check exact, and when only some windows moved the outer query calls
      ``a2e_refuse()``, whose error undoes the statement. With ``async_commit`` the
      statement sets ``synchronous_commit`` off for its own transaction: it returns
      before its WAL reaches the disk, and a crash of the database server (not a clean
      restart) may forget the last fraction of a second of admissions.
    - SQLite: the same upsert fed by ``SELECT … WHERE NOT EXISTS (a full window)``. The
      statement holds the database's write lock from its start, and SQLite evaluates
      the uncorrelated ``NOT EXISTS`` once before the first row is written, so the check
      sees every window as it was and either all rows are written or none.
    """

    def __init__(self, db: Database, *, async_commit: bool = False) -> None:
        self.db = db
        dialect = db.engine.dialect
        #: The statement's text for a number of windows (also for benchmarks, EXPLAIN).
        self.sql_for: Callable[[int], str] = by_dialect(
            dialect, postgresql=functools.partial(_postgresql_sql, async_commit=async_commit),
            sqlite=_sqlite_sql,
        )
        self._sql_in_transaction: Callable[[int], str] = by_dialect(
            dialect, postgresql=functools.partial(_postgresql_sql, async_commit=False),
            sqlite=_sqlite_sql,
        )
        bind = UsageWindow.window_start.type.dialect_impl(dialect).bind_processor(dialect)
        # psycopg takes the datetime as it is. On SQLite few distinct window starts are
        # live at once, and formatting them is most of the cost of binding.
        self._bind_start: Callable[[datetime], object] = (
            functools.lru_cache(maxsize=256)(bind) if bind else (lambda value: value)
        )

    def admit(self, agent_id: int, windows: Sequence[Window]) -> dict[str, int]:
        """The new counts by period, or ``{}`` when some window was full (nothing moved).
        Every limit must be at least 1."""
        sql = self.sql_for(len(windows))
        try:
            rows = self.db.run_statement(sql, self.params(agent_id, windows))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == REFUSED_SQLSTATE:
                return {}
            raise
        return dict(rows)

    def admit_in(
        self, tx: DriverTransaction, agent_id: int, windows: Sequence[Window]
    ) -> Callable[[], dict[str, int]] | None:
        """:meth:`admit` as a statement of the caller's transaction ``tx`` (never with
        ``async_commit``: the transaction decides its own durability): the new counts,
        to read once ``tx`` committed, or None when refused (the caller must roll ``tx``
        back). Where ``tx`` is pipelined (PostgreSQL) the statement goes with the
        COMMIT, and a refusal ends the transaction in ``Refused(WINDOW_FULL)``."""
        sql = self._sql_in_transaction(len(windows))
        params = self.params(agent_id, windows)
        if tx.pipelined:
            result = tx.at_commit(sql, params)
            return lambda: dict(result.all())
        try:
            counts = dict(tx.exec_driver_sql(sql, params).all())
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == REFUSED_SQLSTATE:
                return None
            raise
        return (lambda: counts) if counts else None

    def params(self, agent_id: int, windows: Sequence[Window]) -> dict[str, object]:
        """The statement's parameters, in the driver's types."""
        params: dict[str, object] = {"agent_id": agent_id, "count": len(windows)}
        for (kind, period, start, quota), window in zip(_PARAM_NAMES, windows):
            params[kind] = window.kind
            params[period] = window.period
            params[start] = self._bind_start(window.start)
            params[quota] = window.limit
        return params


#: The parameter names of each window, by position (at most one window per period).
_PARAM_NAMES = [(f"kind_{i}", f"period_{i}", f"start_{i}", f"quota_{i}") for i in range(3)]
_UPSERT_TAIL = (
    "ON CONFLICT (agent_id, kind, period, window_start) DO UPDATE "
    "SET admitted = usage_windows.admitted + 1, quota = excluded.quota "
    "WHERE usage_windows.admitted < excluded.quota "
    "RETURNING period, admitted"
)
_COLUMNS = "(agent_id, kind, period, window_start, admitted, rejected, quota)"


@functools.cache
def _postgresql_sql(count: int, *, async_commit: bool) -> str:
    p = "%({})s".format  # psycopg's named parameters
    rows = ", ".join(
        f"({p('agent_id')}, {p(f'kind_{i}')}, {p(f'period_{i}')}, {p(f'start_{i}')}, 1, 0, "
        f"{p(f'quota_{i}')})"
        for i in range(count)
    )
    return (
        f"WITH moved AS (INSERT INTO usage_windows {_COLUMNS} VALUES {rows} {_UPSERT_TAIL}) "
        "SELECT period, admitted FROM moved "
        + (", (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "
           if async_commit else "")
        + f"WHERE CASE WHEN (SELECT count(*) FROM moved) = {p('count')} THEN true "
        f"ELSE a2e_refuse('{WINDOW_FULL}') = 0 END"
    )


@functools.cache
def _sqlite_sql(count: int) -> str:
    p = ":{}".format  # sqlite3's named parameters
    rows = ", ".join(
        f"({p(f'kind_{i}')}, {p(f'period_{i}')}, {p(f'start_{i}')}, {p(f'quota_{i}')})"
        for i in range(count)
    )
    return (
        f"WITH w (kind, period, start, quota) AS (VALUES {rows}) "
        f"INSERT INTO usage_windows {_COLUMNS} "
        f"SELECT {p('agent_id')}, kind, period, start, 1, 0, quota FROM w "
        "WHERE NOT EXISTS (SELECT 1 FROM usage_windows AS u JOIN w AS f "
        f"ON u.agent_id = {p('agent_id')} AND u.kind = f.kind AND u.period = f.period "
        "AND u.window_start = f.start WHERE u.admitted >= f.quota) "
        f"{_UPSERT_TAIL}"
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

def lock_agent(session: Executor, agent_id: int) -> bool:
    """Lock the agent's row until the transaction ends (PostgreSQL ``FOR NO KEY UPDATE``;
    SQLite's ``BEGIN IMMEDIATE`` already excludes other writers). False if no such agent."""
    return session.scalar(_LOCK_AGENT, {"agent_id": agent_id}) is not None


def acquire_slot(
    session: Executor, agent_id: int, limit: int, owner: Owner,
    now: datetime, expires_at: datetime,
) -> int | None:
    """Insert a lease if the agent exists and holds fewer than ``limit`` unexpired ones;
    its id or None.

    Exact only under :func:`lock_agent` (or SQLite's write lock) in the same transaction.
    """
    return session.scalar(_ACQUIRE_SLOT, {
        "agent_id": agent_id, "limit": limit, "host": owner.host, "pid": owner.pid,
        "boot_id": owner.boot_id, "now": now, "expires_at": expires_at,
    })


def acquire_slot_at_commit(
    tx: DriverTransaction, agent_id: int, limit: int, owner: Owner,
    now: datetime, expires_at: datetime,
) -> DriverResult:
    """:func:`lock_agent` and :func:`acquire_slot`, sent with a pipelined transaction's
    COMMIT (the agent's row locked only while the server runs them): the lease id, ready
    after the commit. No free slot ends the transaction in ``Refused(NO_RUN_SLOT)``."""
    tx.at_commit(_LOCK_AGENT, {"agent_id": agent_id})
    return tx.at_commit(_ACQUIRE_SLOT_OR_REFUSE, {
        "agent_id": agent_id, "limit": limit, "host": owner.host, "pid": owner.pid,
        "boot_id": owner.boot_id, "now": now, "expires_at": expires_at,
    })


_LOCK_AGENT = (
    select(Agent.id).where(Agent.id == bindparam("agent_id")).with_for_update(key_share=True)
)
_HELD = (
    select(func.count())
    .select_from(RunSlotLease)
    .where(RunSlotLease.agent_id == bindparam("agent_id"),
           RunSlotLease.expires_at > bindparam("now", type_=RunSlotLease.expires_at.type))
    .scalar_subquery()
)
_ACQUIRE_SLOT = insert(RunSlotLease).from_select(
    ["agent_id", "owner_host", "owner_pid", "owner_boot_id", "acquired_at", "expires_at"],
    select(
        bindparam("agent_id", type_=RunSlotLease.agent_id.type),
        bindparam("host", type_=RunSlotLease.owner_host.type),
        bindparam("pid", type_=RunSlotLease.owner_pid.type),
        bindparam("boot_id", type_=RunSlotLease.owner_boot_id.type),
        bindparam("now", type_=RunSlotLease.acquired_at.type),
        bindparam("expires_at", type_=RunSlotLease.expires_at.type),
    ).where(_HELD < bindparam("limit"),
            select(Agent.id).where(Agent.id == bindparam("agent_id")).exists()),
).returning(RunSlotLease.id)


_LEASE = _ACQUIRE_SLOT.cte("lease")
_ACQUIRE_SLOT_OR_REFUSE = select(
    func.coalesce(select(_LEASE.c.id).scalar_subquery(), func.a2e_refuse(NO_RUN_SLOT))
    .label("lease_id")
)


def release_slot(session: Executor, lease_id: int) -> None:
    session.execute(_DELETE_LEASE, {"lease_id": lease_id})


_DELETE_LEASE = delete(RunSlotLease).where(RunSlotLease.id == bindparam("lease_id"))


def count_slots(session: Session, agent_id: int, now: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(RunSlotLease)
        .where(RunSlotLease.agent_id == agent_id, RunSlotLease.expires_at > now)
    ) or 0


def delete_stale_slots(
    session: Executor, agent_id: int, owner: Owner, now: datetime, alive: Callable[[int], bool]
) -> int:
    """Delete the agent's expired leases, and those of ``owner.host`` whose process is gone
    (another boot of the machine, or a pid no longer alive)."""
    expired = session.execute(_DELETE_EXPIRED, {"agent_id": agent_id, "now": now}).rowcount
    local = session.execute(_LOCAL_LEASES, {"agent_id": agent_id, "host": owner.host}).all()
    gone = [{"lease_id": lease_id} for lease_id, pid, boot_id in local
            if boot_id != owner.boot_id or not alive(pid)]
    if gone:
        session.execute(_DELETE_LEASE, gone)
    return expired + len(gone)


_DELETE_EXPIRED = delete(RunSlotLease).where(
    RunSlotLease.agent_id == bindparam("agent_id"),
    RunSlotLease.expires_at <= bindparam("now", type_=RunSlotLease.expires_at.type),
)
_LOCAL_LEASES = select(RunSlotLease.id, RunSlotLease.owner_pid, RunSlotLease.owner_boot_id).where(
    RunSlotLease.agent_id == bindparam("agent_id"), RunSlotLease.owner_host == bindparam("host")
)
