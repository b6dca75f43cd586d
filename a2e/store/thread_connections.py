"""Each thread's own autocommit driver connection, for the run path's statements.

Rate-limit admission is one statement per request. Checking a connection out of the
pool and back in around it (the queue, checkout and checkin events, reset on return)
cost about a fifth of admission throughput on PostgreSQL (docs/performance.md), and a
twentieth of an execute's CPU on SQLite. So each thread that runs such statements keeps
one connection of its own: made by the engine (same arguments, same connect events),
detached from the pool, outside any transaction until it begins one (``prepare``, given
by :func:`a2e.store.dialect.own_connection_setup`), with one cursor reused for every
statement.

SQLite's writers share one such connection per process instead (``shared``): they
take turns anyway (``Database._one_writer``), and SQLite drops a connection's whole page
cache whenever another connection has committed, so that a thread's own would read back
every page it touches.

A connection is closed when its thread is gone, when it breaks, or by
:meth:`ThreadConnections.close_all` (``Database.dispose``). One that sat idle is pinged
before use, as pooled ones are. After a fork the child makes its own and never closes
the parent's (closing would end the parent's session on the shared socket).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError


class Owned:
    """A thread's connection; closing it is a no-op outside the process that made it."""

    def __init__(self, dbapi_conn: Any) -> None:
        self.dbapi_conn = dbapi_conn
        #: psycopg says when a connection is closed or broken; sqlite3 never breaks.
        self._says_broken = hasattr(dbapi_conn, "broken")
        self.cursor = dbapi_conn.cursor()  # reused: a new cursor per statement costs more
        self.pid = os.getpid()
        self.last_used = time.monotonic()
        self.close = weakref.finalize(self, _close_in_process, self.pid, dbapi_conn)

    def usable(self) -> bool:
        conn = self.dbapi_conn
        return self.pid == os.getpid() and not (
            self._says_broken and (conn.closed or conn.broken))


def _close_in_process(pid: int, dbapi_conn: Any) -> None:
    if os.getpid() == pid:
        dbapi_conn.close()


class _One:
    """Where a shared :class:`ThreadConnections` keeps its one connection."""

    owned: Owned | None = None


class ThreadConnections:
    """Hands each thread its own connection to ``engine``'s database (see the module);
    ``shared``: one connection for every thread of the process, for callers that take
    turns on it under a lock of their own (SQLite's writers)."""

    def __init__(self, engine: Engine, *, ping_after_idle_s: float,
                 prepare: Callable[[Any], None], shared: bool = False) -> None:
        self.engine = engine
        self.ping_after_idle_s = ping_after_idle_s
        self.prepare = prepare
        self._local: Any = _One() if shared else threading.local()
        self._lock = threading.Lock()
        self._all: weakref.WeakSet[Owned] = weakref.WeakSet()

    def get(self) -> Owned:
        """This thread's connection: made on first use, after a fork, or after the last
        one broke; pinged first (and replaced if dead) when it sat idle."""
        owned: Owned | None = getattr(self._local, "owned", None)
        now = time.monotonic()
        if owned is not None and (
            not owned.usable()
            or (now - owned.last_used >= self.ping_after_idle_s and not self._alive(owned))
        ):
            self.discard()
            owned = None
        if owned is None:
            owned = self._local.owned = self._connect()
        owned.last_used = now
        return owned

    def discard(self) -> None:
        """Close and forget this thread's connection (it broke, or is about to be dropped)."""
        owned: Owned | None = getattr(self._local, "owned", None)
        self._local.owned = None
        if owned is not None:
            owned.close()

    def close_all(self) -> None:
        """Close every thread's connection made in this process; threads make new ones
        on their next use."""
        with self._lock:
            every = list(self._all)
        for owned in every:
            owned.close()

    def _connect(self) -> Owned:
        """A new connection; a database that cannot be reached raises SQLAlchemy's error
        (as ``engine.connect()`` would), not the driver's."""
        dialect = self.engine.dialect
        try:
            pooled = self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        dbapi_conn = pooled.driver_connection
        pooled.detach()  # ours now: the pool neither counts nor resets nor closes it
        self.prepare(dbapi_conn)
        owned = Owned(dbapi_conn)
        with self._lock:
            self._all.add(owned)
        return owned

    def _alive(self, owned: Owned) -> bool:
        try:
            self.engine.dialect.do_ping(owned.dbapi_conn)
        except self.engine.dialect.loaded_dbapi.Error:
            return False
        return True
