"""The one place that branches on the SQL dialect outside migrations.

a2e runs on SQLite and PostgreSQL. Each function here names one thing that differs
between them; the rest of the code calls it instead of testing a dialect's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Date, Engine, Integer, Select, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from a2e.store.pg_batch import Batches

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
T = TypeVar("T")
Bind = Session | Connection | Engine | Dialect | URL | str


def name_of(bind: Bind) -> str:
    """The dialect's name of a session, connection, engine, dialect or URL."""
    if isinstance(bind, str):
        return bind
    if isinstance(bind, URL):
        return bind.get_backend_name()
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.name if isinstance(bind, Dialect) else bind.dialect.name


def by_dialect(bind: Bind, *, postgresql: T, sqlite: T) -> T:
    """The value written for ``bind``'s dialect (a statement's text, a strategy)."""
    name = name_of(bind)
    if name == POSTGRESQL:
        return postgresql
    if name == SQLITE:
        return sqlite
    raise NotImplementedError(f"dialect {name!r} is not supported (SQLite or PostgreSQL)")


def upsert(session: Bind, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_update`` / ``_do_nothing`` for the dialect."""
    return by_dialect(session, postgresql=postgresql.insert, sqlite=sqlite.insert)(table)


def autocommits_single_statements(bind: Bind) -> bool:
    """PostgreSQL runs a one-statement transaction in autocommit mode (one round trip
    instead of three, the same all-or-nothing outcome); SQLite keeps ``BEGIN``, whose
    ``IMMEDIATE`` takes the write lock."""
    return by_dialect(bind, postgresql=True, sqlite=False)


def own_connection_setup(bind: Bind) -> Callable[[Any], None]:
    """What a thread's own driver connection (:mod:`a2e.store.thread_connections`) needs
    once made: psycopg's goes into autocommit mode and never prepares statements itself
    (its batches prepare theirs, :mod:`a2e.store.pg_batch`; psycopg ends a ``ROLLBACK``
    of a connection with statements of its own prepared with ``DEALLOCATE ALL``, which
    would drop theirs too); sqlite3's already runs outside transactions (the engine's
    connect hook) and gets no busy handler, for its writers wait for the lock with a2e's
    own tight retry (``a2e.store.session.retry_locked``)."""
    return by_dialect(bind, postgresql=_autocommit_unprepared, sqlite=_no_busy_handler)


def _autocommit_unprepared(dbapi_conn: Any) -> None:
    dbapi_conn.autocommit = True
    dbapi_conn.prepare_threshold = None


def _no_busy_handler(dbapi_conn: Any) -> None:
    dbapi_conn.execute("PRAGMA busy_timeout=0")


def commit_batches(bind: Bind) -> Batches | None:
    """What sends a driver transaction's last statements with its ``COMMIT`` in one round
    trip (:mod:`a2e.store.pg_batch`, called with a psycopg connection); such statements
    refuse by raising ``a2e_refuse()`` (migration 0006). PostgreSQL; None on SQLite,
    where they run at once."""
    if name_of(bind) != "postgresql":
        return None
    from a2e.store.pg_batch import Batches  # psycopg: the PostgreSQL extra's

    return Batches()


def commit_without_flush(bind: Bind) -> str | None:
    """A statement that lets its transaction's ``COMMIT`` return before the commit is on
    disk (PostgreSQL: ``synchronous_commit`` off for that transaction alone; the WAL
    writer flushes it within ``3 × wal_writer_delay``, and any later synchronous commit
    flushes it first, the WAL being one sequence). None on SQLite, whose WAL commits
    (``synchronous=NORMAL``) do not wait for the disk anyway."""
    return by_dialect(
        bind, postgresql="SELECT set_config('synchronous_commit', 'off', true)", sqlite=None)


def holds_run_start_open(bind: Bind) -> bool:
    """Whether a self-contained run's start stays uncommitted until its finish (one
    transaction for the run). SQLite: one writer at a time anyway, and the pages the start
    and the finish both touch (the run's row and indexes, the audit and lease pages) are
    written to the WAL once instead of twice. PostgreSQL: no, the start's row locks (the
    agent's window and agent rows) would be held through the run."""
    return by_dialect(bind, postgresql=False, sqlite=True)


def has_ordered_set_aggregates(bind: Bind) -> bool:
    """``percentile_cont(…) WITHIN GROUP (ORDER BY …)``: PostgreSQL only."""
    return by_dialect(bind, postgresql=True, sqlite=False)


def locks_for_writing_at_begin(bind: Bind) -> bool:
    """SQLite takes its one write lock at ``BEGIN IMMEDIATE`` (a write scope asks for it up
    front instead of failing on a lock upgrade); PostgreSQL locks rows as it goes."""
    return by_dialect(bind, postgresql=False, sqlite=True)


def stores_utc_offsets(bind: Bind) -> bool:
    """PostgreSQL's ``timestamptz`` keeps the offset; SQLite stores naive text (UTC here)."""
    return by_dialect(bind, postgresql=True, sqlite=False)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for memory databases and other dialects."""
    if name_of(url) != SQLITE or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


class utc_day(FunctionElement[date]):  # noqa: N801 - used like a SQL function
    """The UTC calendar day of a timestamp column, as a date (SQLite keeps UTC text)."""

    type = Date()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS date)"


class utc_hour(FunctionElement[datetime]):  # noqa: N801 - used like a SQL function
    """A timestamp column truncated to its UTC hour, in the column's own storage form."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H:00:00.000000', {compiler.process(element.clauses, **kw)})"


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(date_trunc('hour', ({column}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


def snapshot_isolation(bind: Bind) -> str | None:
    """The isolation level under which every statement of a read transaction sees one
    snapshot: PostgreSQL's ``REPEATABLE READ`` (``READ COMMITTED`` takes one per
    statement); SQLite's explicit ``BEGIN`` already reads one snapshot."""
    return by_dialect(bind, postgresql="REPEATABLE READ", sqlite=None)


class json_array_length(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """The length of a JSON array column (JSON text on SQLite, JSONB on PostgreSQL)."""

    type = Integer()
    inherit_cache = True


@compiles(json_array_length, "sqlite")
def _json_array_length_sqlite(element: json_array_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)})"


@compiles(json_array_length, "postgresql")
def _json_array_length_postgresql(
    element: json_array_length, compiler: SQLCompiler, **kw: Any
) -> str:
    return f"jsonb_array_length({compiler.process(element.clauses, **kw)})"


def try_advisory_xact_lock(conn: Any, key: int) -> bool:
    """Take PostgreSQL's advisory lock ``key`` until the transaction ends, without waiting:
    whether it was free. On SQLite the write transaction already excludes every other
    writer, so it is always True. ``conn``: a session, a Core connection or a driver
    transaction (``a2e.store.driver``)."""
    if not by_dialect(conn, postgresql=True, sqlite=False):
        return True
    return bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


def advisory_xact_lock(conn: Session | Connection, key: int) -> None:
    """Wait for PostgreSQL's advisory lock ``key`` until the transaction ends; nothing on
    SQLite, whose write transaction already excludes every other writer."""
    if by_dialect(conn, postgresql=True, sqlite=False):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def delete_guard_lifted(session: Session, *, setting: str, sqlite_trigger: str) -> Iterator[None]:
    """Let this transaction delete past a trigger that refuses DELETE: on PostgreSQL the
    trigger lets it through while ``setting`` is ``on`` (set for the transaction only); on
    SQLite the trigger is dropped and created again as it was."""
    if by_dialect(session, postgresql=True, sqlite=False):
        session.execute(text("SELECT set_config(:name, 'on', true)"), {"name": setting})
        yield
        session.execute(text("SELECT set_config(:name, 'off', true)"), {"name": setting})
        return
    trigger_sql = session.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": sqlite_trigger},
    )
    if trigger_sql is not None:
        session.execute(text(f"DROP TRIGGER {sqlite_trigger}"))
    yield
    if trigger_sql is not None:
        session.execute(text(trigger_sql))
def skip_locked(query: Select[Any], conn: Connection) -> Select[Any]:
    """A claim's candidate query: PostgreSQL locks the row it picks and skips rows other
    claims hold (``FOR UPDATE SKIP LOCKED``); SQLite's write lock (``BEGIN IMMEDIATE``)
    already runs one claim at a time."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def with_notify(statement: Any, conn: Connection, channel: str) -> Any:
    """``statement … RETURNING`` that also wakes PostgreSQL's listeners on ``channel``
    (``pg_notify`` runs with the statement and is delivered at its commit); SQLite has no
    notifications (workers there poll)."""
    if conn.dialect.name == "postgresql":
        return statement.returning(
            func.pg_notify(literal(channel), literal("")).label("notified")
        )
    return statement


def listen_connection(engine: Engine, channel: str) -> Any:
    """A driver connection of ``engine`` (autocommit, out of the pool) listening on
    ``channel``; None off PostgreSQL, which has no notifications."""
    if engine.dialect.name != "postgresql":
        return None
    pooled = engine.raw_connection()
    conn = pooled.driver_connection  # read before detach(), which lets go of it
    pooled.detach()
    try:
        conn.autocommit = True
        conn.execute(f"LISTEN {channel}")
    except BaseException:
        conn.close()
        raise
    return conn
