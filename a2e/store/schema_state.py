"""Whether the database answers and holds the schema this code was written for.

:data:`SCHEMA_REVISION` is the Alembic head this code expects (a test keeps it equal
to ``migrations/``' one head: bump it with every new revision). :func:`schema_state`
answers ``"ok"``, ``"not migrated"`` (no ``alembic_version`` table or another
revision) or ``"unreachable"`` (no answer, or on SQLite a database file that was
deleted or replaced since it was opened).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from a2e.store.session import Database

SCHEMA_REVISION = "0013"
OK, NOT_MIGRATED, UNREACHABLE = "ok", "not migrated", "unreachable"
#: PostgreSQL's SQLSTATE of a missing table or column: a database behind the schema.
NOT_MIGRATED_SQLSTATES = frozenset({"42P01", "42703"})
#: Seconds between two looks while the database is not usable.
RECHECK_S = 1.0


def missing_schema(exc: DBAPIError) -> bool:
    """Whether the database answered that a table or column is missing."""
    orig = exc.orig
    return (getattr(orig, "sqlstate", None) in NOT_MIGRATED_SQLSTATES
            or "no such table" in str(orig) or "no such column" in str(orig))


def schema_state(db: Database) -> str:
    """One statement (as cheap as a ping): the revision the database is at.

    A pooled connection found dead on use (the database restarted, or the network cut,
    since it was last used: the pool pings only a connection idle for a while) is no
    verdict on the database: the look is taken once more, on a new connection (the
    pool drops its other connections of that time with it)."""
    state = _revision_state(db)
    if state == _STALE:
        state = _revision_state(db)
    return UNREACHABLE if state == _STALE else state


#: What _revision_state says of a connection that was handed out but had died.
_STALE = "stale"


def _revision_state(db: Database) -> str:
    connected = False
    try:
        db.check_file()
        with db.engine.connect() as conn:
            connected = True
            revisions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError as exc:
        if exc.connection_invalidated:
            return _STALE if connected else UNREACHABLE
        return NOT_MIGRATED if missing_schema(exc) else UNREACHABLE
    except SQLAlchemyError:
        return UNREACHABLE
    return OK if revisions == {SCHEMA_REVISION} else NOT_MIGRATED


class SchemaGate:
    """Whether the database was seen at the migration head (then: for good)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False
        self._last: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def state(self) -> str:
        if self._ready:
            return OK
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] >= RECHECK_S:
                self._last = (now, schema_state(self.db))
                self._ready = self._last[1] == OK
            return self._last[1]

    def observe(self, found: str) -> None:
        """A look taken elsewhere (``/health``): once it saw the head, the gate opens."""
        with self._lock:
            self._last = (time.monotonic(), found)
            self._ready = self._ready or found == OK
