"""Engines and sessions: one :class:`Database` per process; PostgreSQL pools ping a
connection that sat idle before handing it out, and the run path's statements run on
each thread's own connection (:mod:`a2e.store.thread_connections`), except SQLite's
writes, which take turns on one connection of the process.

SQLite runs in WAL mode with foreign keys on and a busy timeout; its
transactions are begun explicitly so that write scopes can take the write lock
up front (``BEGIN IMMEDIATE``) instead of failing on a lock upgrade.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

from a2e.protocol.json_text import make_encoder
from a2e.store.dialect import (
    autocommits_single_statements,
    by_dialect,
    commit_batches,
    locks_for_writing_at_begin,
    name_of,
    own_connection_setup,
    snapshot_isolation,
)
from a2e.store.driver import DriverResult, DriverTransaction, Prepared
from a2e.store.sqlite_file import SqliteFile
from a2e.store.thread_connections import ThreadConnections

IMMEDIATE = "a2e_immediate"
T = TypeVar("T")
#: How many compiled statements a Database keeps for its driver transactions.
MAX_PREPARED = 512
#: Seconds a pooled PostgreSQL connection may sit idle before it is pinged on checkout.
PING_AFTER_IDLE_S = 1.0
#: The file each SQLite engine opened (see :mod:`a2e.store.sqlite_file`).
_SQLITE_FILES: weakref.WeakKeyDictionary[Engine, SqliteFile] = weakref.WeakKeyDictionary()
#: Each SQLite engine's busy timeout (ms): how long a writer waits for the write lock.
_BUSY_TIMEOUTS: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
#: How JSON columns are written: ``json.dumps``'s text, its encoder built once.
_JSON_TEXT = make_encoder()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, file: SqliteFile | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        if file is not None:
            file.opened()
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if file is not None:
            file.check()
        if conn.get_execution_options().get(IMMEDIATE):
            _begin_immediate(conn.connection.dbapi_connection, busy_timeout_ms)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_conn: Any, busy_timeout_ms: int, *, busy_handler: bool = True) -> None:
    """Take SQLite's write lock for a transaction (see :func:`retry_locked`);
    ``busy_handler=False`` on a connection that has none (a thread's own)."""
    def begin() -> Any:
        return dbapi_conn.execute("BEGIN IMMEDIATE")

    try:
        if busy_handler:
            _while_locked(dbapi_conn, busy_timeout_ms, begin)
        else:
            retry_locked(busy_timeout_ms, begin)
    except sqlite3.Error as exc:
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc


def _while_locked(dbapi_conn: Any, busy_timeout_ms: int, attempt: Callable[[], T]) -> T:
    """:func:`retry_locked` on a pooled connection: its busy handler is switched off for
    this one statement."""
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        return retry_locked(busy_timeout_ms, attempt)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def retry_locked(busy_timeout_ms: int, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` (a statement on a connection without a busy handler that may find
    SQLite's database locked), retrying every ~0.1-1 ms while it is, until the busy
    timeout.

    SQLite's own busy handler sleeps in growing steps (up to 100 ms each), which leaves
    a waiting writer idle long after the lock is free; short transactions want a
    tighter retry. A refused attempt has changed nothing, so it is safe to repeat.
    Other errors, and the lock error once the timeout has passed, leave as raised
    (sqlite3's own, or SQLAlchemy's around it).
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    tries = 0
    while True:
        try:
            return attempt()
        except (sqlite3.OperationalError, DBAPIError) as exc:
            found = exc.orig if isinstance(exc, DBAPIError) else exc
            if not (isinstance(found, sqlite3.OperationalError) and "locked" in str(found)) \
                    or time.monotonic() >= deadline:
                raise
        tries += 1
        time.sleep(min(0.001, 0.0001 * tries) * (0.5 + random.random()))


def _nothing() -> None:
    pass


def _ping_idle_connections(engine: Engine) -> None:
    """Pre-ping, but only a connection that sat idle in the pool for a while.

    A connection checked in a moment ago is almost surely alive, and pinging it would
    add a round trip to every short transaction. One idle longer than
    :data:`PING_AFTER_IDLE_S` is pinged; a dead one is replaced (the pool retries), so
    the service recovers from a database restart without restarting itself. A
    connection that dies while busy fails its request with a 503 and is invalidated.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection is gone") from exc


def make_engine(url: str | URL, *, pool_size: int = 5, busy_timeout_ms: int = 5000) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL via psycopg 3)."""
    parsed = make_url(url)
    build = by_dialect(parsed, postgresql=_postgresql_engine, sqlite=_sqlite_engine)
    return build(parsed, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms)


def _sqlite_engine(url: URL, *, pool_size: int, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        json_serializer=_JSON_TEXT,
    )
    path = url.database
    file = SqliteFile(path) if path and path != ":memory:" and not path.startswith("file:") else None
    if file is not None:
        _SQLITE_FILES[engine] = file
    _BUSY_TIMEOUTS[engine] = busy_timeout_ms
    _configure_sqlite(engine, busy_timeout_ms, file)
    return engine


def _postgresql_engine(url: URL, *, pool_size: int, busy_timeout_ms: int) -> Engine:
    parsed = url if "+" in url.drivername else url.set(drivername=f"{url.drivername}+psycopg")
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5},
        json_serializer=_JSON_TEXT,
    )
    _ping_idle_connections(engine)
    return engine


class Database:
    """An engine plus a session factory; sessions never outlive one unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._thread_connections = ThreadConnections(
            engine, ping_after_idle_s=PING_AFTER_IDLE_S, prepare=own_connection_setup(engine))
        self._prepared: dict[tuple[ClauseElement, tuple[str, ...]], Prepared] = {}
        #: SQLite's busy timeout (None on PostgreSQL), and the lock its writers take turns on.
        self._busy_timeout_ms = _BUSY_TIMEOUTS.get(engine)
        #: PostgreSQL (None on SQLite): the batches that send statements with the COMMIT.
        self._batches = commit_batches(engine)
        self._writer = threading.Lock()
        #: SQLite (None on PostgreSQL): the one driver connection this process's writers
        #: take turns on (under ``_writer``). SQLite drops a connection's whole page cache
        #: whenever another connection has committed; with every write of the process on
        #: one connection, its cache stays warm (a thread's own would re-read every page
        #: it touches).
        self._writer_connection = ThreadConnections(
            engine, ping_after_idle_s=PING_AFTER_IDLE_S, prepare=own_connection_setup(engine),
            shared=True) if self._busy_timeout_ms is not None else None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return name_of(self.engine)

    @contextmanager
    def session(self, *, write: bool = False, snapshot: bool = False) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception.

        ``write=True`` takes SQLite's write lock at BEGIN, one writer of this process at
        a time (:meth:`_one_writer`; no effect on PostgreSQL).
        ``snapshot=True``: every statement reads the same snapshot of the database
        (figures read in several statements agree with each other).
        Hot paths of one statement use :meth:`connection` instead.
        """
        with self._one_writer(write), self._sessions() as session:
            if write and locks_for_writing_at_begin(self.dialect):
                session.connection(execution_options={IMMEDIATE: True})
            elif snapshot and (level := snapshot_isolation(self.dialect)) is not None:
                session.connection(execution_options={"isolation_level": level})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(
        self, *, write: bool = False, single_statement: bool = False
    ) -> Iterator[Connection]:
        """A Core transaction, for hot paths that need no ORM (same semantics as
        :meth:`session`: committed on success, rolled back on any exception).

        ``single_statement=True`` promises that the block runs one statement: on
        PostgreSQL it then runs in autocommit mode, one round trip instead of three
        (``BEGIN``, the statement, ``COMMIT``), with the same all-or-nothing outcome.
        """
        with self._one_writer(write), self.engine.connect() as conn:
            if single_statement and autocommits_single_statements(self.dialect):
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
                return
            if write and locks_for_writing_at_begin(self.dialect):
                conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def driver_transaction(
        self, *, write: bool = True, pipelined: bool = True
    ) -> Iterator[DriverTransaction]:
        """A transaction on the thread's own driver connection (:mod:`a2e.store.driver`,
        :mod:`a2e.store.thread_connections`), for the run path: committed on success,
        rolled back on any exception.

        PostgreSQL: ``BEGIN`` … ``COMMIT``, the statements given to ``at_commit``
        pipelined with the ``COMMIT`` unless not ``pipelined``.
        SQLite: after the file check every transaction makes, ``BEGIN IMMEDIATE`` when
        ``write``, one writer of this process at a time (:meth:`_one_writer`) on the
        process's writer connection, writers of other processes met with the tight lock
        retry.
        """
        with self._one_writer(write) as left_ms:
            conn, cursor, drop = self._driver_connection(writer=left_ms is not None)
            begin: Callable[[], Any] = (
                functools.partial(_begin_immediate, conn, left_ms, busy_handler=False)
                if left_ms is not None
                else functools.partial(cursor.execute, "BEGIN")
            )
            tx = self._driver_tx(cursor, conn, drop, begin=begin,
                                 batch=self._batches(conn) if pipelined and self._batches
                                 else None)
            try:
                yield tx
                tx.commit()
            except BaseException:
                try:
                    tx.rollback()
                except Exception:
                    drop()  # in an unknown state: never used again
                raise

    def driver_statement(
        self, statement: ClauseElement, values: Mapping[str, Any] | None = None
    ) -> DriverResult:
        """One Core statement that only reads, in a transaction of its own on the thread's
        own driver connection (autocommit: one round trip on PostgreSQL). For the
        per-request reads on the run path (the key lookup)."""
        conn, cursor, drop = self._driver_connection()
        tx = self._driver_tx(cursor, conn, drop, begin=_nothing,
                             batch=self._batches(conn) if self._batches else None)
        if self._busy_timeout_ms is None:
            return tx.alone(statement, values)
        return retry_locked(self._busy_timeout_ms, lambda: tx.execute(statement, values))

    def _driver_connection(self, writer: bool = False) -> tuple[Any, Any, Callable[[], None]]:
        """(the driver connection, its cursor, how to drop it), after the SQLite file
        check: this thread's own, or for a ``writer`` holding SQLite's :meth:`_one_writer`
        the process's writer connection."""
        self.check_file()
        connections = self._thread_connections
        if writer and self._writer_connection is not None:
            connections = self._writer_connection
        owned = connections.get()
        return owned.dbapi_conn, owned.cursor, connections.discard

    def _driver_tx(self, cursor: Any, conn: Any, drop: Callable[[], None], *,
                   begin: Callable[[], Any], batch: Any = None) -> DriverTransaction:
        return DriverTransaction(
            cursor, self._prepare,
            lambda sql, params, exc: self._driver_error(sql, params, exc, conn, drop),
            self.engine.dialect.loaded_dbapi.Error, dialect=self.engine.dialect, begin=begin,
            batch=batch,
        )

    def _prepare(self, statement: ClauseElement, keys: tuple[str, ...]) -> Prepared:
        """``statement`` compiled for these keys, once: the run path's statements are built
        once, at import. One built per call would be compiled per call (not kept past
        :data:`MAX_PREPARED` entries, so that the cache stays bounded)."""
        prepared = self._prepared.get((statement, keys))
        if prepared is None:
            prepared = Prepared(statement, self.engine.dialect, keys)
            if len(self._prepared) < MAX_PREPARED:
                self._prepared[(statement, keys)] = prepared
        return prepared

    def run_statement(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Run one statement in a transaction of its own on the thread's own driver
        connection (sqlite3 or psycopg, parameters in that driver's style) and return
        its rows.

        For the few statements so hot that SQLAlchemy's per-call cost would dominate
        them (rate-limit admission). On SQLite it waits for the write lock with the same
        tight retry as ``BEGIN IMMEDIATE``. Driver errors leave as SQLAlchemy's
        :class:`DBAPIError`, and a connection found broken is never used again.
        """
        with self._one_writer(True) as left_ms:
            conn, cursor, drop = self._driver_connection(writer=left_ms is not None)

            def attempt() -> list[Any]:
                if self._batches is not None:  # a statement prepared once (see dialect)
                    return self._batches(conn).run([(sql, params, False)], begin=False,
                                                   commit=False)[0][0]
                return cursor.execute(sql, params).fetchall()

            try:
                return attempt() if left_ms is None else retry_locked(left_ms, attempt)
            except self.engine.dialect.loaded_dbapi.Error as exc:
                raise self._driver_error(sql, params, exc, conn, drop) from exc

    @contextmanager
    def _one_writer(self, write: bool) -> Iterator[int | None]:
        """For a write on SQLite, hold this process's writer lock for the block and give
        the milliseconds left of the busy timeout; None otherwise (and on PostgreSQL).

        SQLite lets one writer in at a time. Threads of one process that all retried
        ``BEGIN IMMEDIATE`` would take the GIL from the one holding the lock at every
        try; waiting on a lock of the process's own costs them nothing, and only writers
        of other processes are met with the retry. Waiting longer than the busy timeout
        is SQLite's own "database is locked". Not reentrant: a writer never opens a
        second write transaction in its thread (SQLite would refuse it the file lock).
        """
        busy_timeout_ms = self._busy_timeout_ms
        if not write or busy_timeout_ms is None:
            yield None
            return
        started = time.monotonic()
        if not self._writer.acquire(timeout=busy_timeout_ms / 1000):
            raise OperationalError("BEGIN IMMEDIATE", None,
                                   sqlite3.OperationalError("database is locked"))
        try:
            yield max(0, busy_timeout_ms - int((time.monotonic() - started) * 1000))
        finally:
            self._writer.release()

    def _driver_error(
        self, sql: str, params: Any, exc: Exception, conn: Any,
        drop: Callable[[], None],
    ) -> DBAPIError:
        """``exc`` as SQLAlchemy's error; ``drop()`` the connection when it is gone."""
        dialect = self.engine.dialect
        lost = dialect.is_disconnect(exc, conn, None)
        if lost:
            drop()
        return DBAPIError.instance(
            sql, params, exc, dialect.loaded_dbapi.Error,
            connection_invalidated=lost, dialect=dialect,
        )

    def check_file(self) -> None:
        """On SQLite, raise OperationalError when the opened file was deleted or replaced."""
        file = _SQLITE_FILES.get(self.engine)
        if file is not None:
            file.check()

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self._thread_connections.close_all()
        if self._writer_connection is not None:
            self._writer_connection.close_all()
        self.engine.dispose()
