"""A PostgreSQL transaction's statements in one write and one read, through libpq's
pipeline mode (the driver transaction's COMMIT batch, :mod:`a2e.store.driver`).

Even in its pipeline mode psycopg writes to the socket, polls and runs its cursor
machinery once per statement, which on the run path costs more than the server spends
on these small statements (docs/performance.md). Here the statements are queued in
libpq, each as a server-side prepared statement (prepared once per connection, in a
sync segment of its own so that a failed transaction cannot leave one half-known),
their values dumped by psycopg's own adapters, then sent with one flush; the results
are read back in order up to the segment's sync.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from psycopg import errors, generators, pq
from psycopg.adapt import PyFormat, Transformer

#: How many distinct statements get a server-side name; any more are parsed per use.
MAX_NAMED = 512
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


class _Statement:
    """A statement in libpq's numbered style: its SQL, the value keys in ``$n`` order,
    and its server-side name (empty: not prepared)."""

    __slots__ = ("name", "sql", "keys")

    def __init__(self, name: bytes, sql: str) -> None:
        keys: list[str] = []

        def number(match: re.Match[str]) -> str:
            key = match.group(1)
            if key is None:
                return "%"
            if key not in keys:
                keys.append(key)
            return f"${keys.index(key) + 1}"

        self.sql = _PLACEHOLDER.sub(number, sql).encode()
        self.keys = tuple(keys)
        self.name = name


class Batches:
    """The batches of one database's connections: each statement numbered once, and
    which are prepared on which connection."""

    def __init__(self) -> None:
        self._statements: dict[str, _Statement] = {}
        self._prepared: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, conn: Any) -> Batch:
        """A batch on the psycopg connection ``conn``."""
        with self._lock:
            prepared = self._prepared.setdefault(conn, set())
        return Batch(self, conn, prepared)

    def statement(self, sql: str) -> _Statement:
        statement = self._statements.get(sql)
        if statement is None:
            with self._lock:
                statement = self._statements.get(sql)
                if statement is None:
                    named = len(self._statements) < MAX_NAMED
                    statement = _Statement(
                        f"a2e_{len(self._statements)}".encode() if named else b"", sql)
                    if named:
                        self._statements[sql] = statement
        return statement


class Batch:
    """Statements of one transaction on one connection, sent and read as one."""

    def __init__(self, batches: Batches, conn: Any, prepared: set[bytes]) -> None:
        self._batches = batches
        self._conn = conn
        self._prepared = prepared

    def run(self, entries: Sequence[tuple[str, Any, bool]], *, begin: bool,
            commit: bool) -> list[tuple[list[tuple[Any, ...]], int]]:
        """``entries`` (SQL in psycopg's named style, values, whether executemany) after
        ``BEGIN`` when ``begin`` and before ``COMMIT`` when ``commit``: each one's rows and
        row count. Raises the first statement's error (psycopg's class for its
        SQLSTATE); the server then skipped the rest, and the transaction is in error."""
        conn, pgconn = self._conn, self._conn.pgconn
        statements = [self._batches.statement(sql) for sql, _, _ in entries]
        unprepared = list({statement.name: statement for statement in statements
                           if statement.name and statement.name not in self._prepared}.values())
        dumper = Transformer(conn)
        sends, counts = [], []  # (statement, its values dumped as text), rows per entry
        for (_, values, many), statement in zip(entries, statements, strict=True):
            rows = values if many else [values]
            formats = [PyFormat.TEXT] * len(statement.keys)
            sends += [(statement, dumper.dump_sequence([row[key] for key in statement.keys],
                                                       formats) if statement.keys else None)
                      for row in rows]
            counts.append(len(rows))
        pgconn.enter_pipeline_mode()
        try:
            for statement in unprepared:
                pgconn.send_prepare(statement.name, statement.sql)
            if unprepared:
                pgconn.pipeline_sync()
            if begin:
                pgconn.send_query_params(b"BEGIN", None)
            for statement, dumped in sends:
                if statement.name:
                    pgconn.send_query_prepared(statement.name, dumped)
                else:
                    pgconn.send_query_params(statement.sql, dumped)
            if commit:
                pgconn.send_query_params(b"COMMIT", None)
            pgconn.pipeline_sync()
            conn.wait(generators.send(pgconn))
            error = None
            if unprepared:
                for statement in unprepared:
                    result = self._result()
                    if result.status == pq.ExecStatus.COMMAND_OK:
                        self._prepared.add(statement.name)
                    else:
                        error = self._first(error, result)
                self._sync()
            if begin:
                error = self._first(error, self._result())
            out = []
            for count in counts:
                rows, rowcount = [], 0
                for _ in range(count):
                    result = self._result()
                    error = self._first(error, result)
                    if result.status == pq.ExecStatus.TUPLES_OK:
                        dumper.set_pgresult(result)
                        rows = dumper.load_rows(0, result.ntuples, tuple)
                    rowcount += result.command_tuples or 0
                out.append((rows, rowcount))
            if commit:
                error = self._first(error, self._result())
            self._sync()
        finally:
            pgconn.exit_pipeline_mode()
        if error is not None:
            raise error
        return out

    def _result(self) -> Any:
        """The next statement's result (the NULL that ends it read too)."""
        results = self._conn.wait(generators.fetch_many(self._conn.pgconn))
        return results[0]

    def _sync(self) -> None:
        result = self._result()
        if result.status != pq.ExecStatus.PIPELINE_SYNC:
            raise errors.InternalError(f"expected the pipeline's sync, got {result.status!r}")

    def _first(self, error: Exception | None, result: Any) -> Exception | None:
        """The batch's first error: ``error``, else what ``result`` failed with."""
        if error is not None or result.status in _OK:
            return error
        if result.status == pq.ExecStatus.PIPELINE_ABORTED:
            return errors.InternalError("statement skipped after an earlier error")
        return errors.error_from_result(result, encoding=self._conn.info.encoding)
