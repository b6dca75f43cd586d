"""Transactions on the driver's own connection (sqlite3 or psycopg), for the run path.

A run's start and finish are a handful of small statements each. Through a SQLAlchemy
``Connection`` every one of them pays for an execution context, per-parameter
processing and the connection's events, which together cost more than SQLite spends
running them (docs/performance.md). :meth:`a2e.store.session.Database.driver_transaction`
runs the same Core statements the query modules define, compiled once per dialect and
column set (:class:`Prepared`), on the driver's cursor.

A :class:`DriverTransaction` answers the subset of ``Connection`` the run path uses —
``execute`` (one row of values, or a list of rows for executemany), ``scalar`` and
``exec_driver_sql`` — so a query function serves either. Its limits: no expanding
``IN`` (or literal-execute) parameters; returned rows are named tuples with the
columns' types applied; results are read at once (or, sent with the COMMIT, after it).
Literals in a statement are bound as they were when it was first compiled.
Driver errors leave as SQLAlchemy's (``IntegrityError``, ``OperationalError``…), as
they would through a ``Connection``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.dml import UpdateBase

Values = Mapping[str, Any]
_REQUIRED = object()
_Processor = Callable[[Any], Any] | None


class Prepared:
    """A Core statement compiled for one dialect and one set of value keys: its SQL text,
    and the values bound as the driver takes them (positional for sqlite3, named for
    psycopg), each through its column type's bind processor, Python-side column defaults
    filled in as SQLAlchemy would."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys),
                                     for_executemany=True)
        if compiled.update_prefetch:
            raise ValueError(f"onupdate defaults are not supported here: {compiled.string}")
        self.sql = compiled.string
        self._processors: dict[str, _Processor] = {}
        #: Values of the statement's own literals (``status == "running"``), by bind name.
        self._literals: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if bind.expanding or bind.literal_execute:
                raise ValueError(f"expanding parameter {name!r} in {self.sql}")
            self._processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                self._literals[name] = bind.effective_value
        # Python-side defaults of the columns left out: SQLAlchemy wraps a callable
        # default so that it takes the execution context, which none of ours reads.
        self._defaults = {column.key: column.default for column in compiled.insert_prefetch}
        self._positional = bool(dialect.positional)
        #: (bind name, processor, literal) in the order the driver takes them.
        self._plan = [
            (name, self._processors[name], self._literals.get(name, _REQUIRED))
            for name in (compiled.positiontup if self._positional else self._processors)
        ]
        self._row: type[tuple[Any, ...]] | None = None
        #: (position, processor) of the returned columns whose type processes values.
        self._results: list[tuple[int, _Processor]] = []
        # What a SELECT, or a RETURNING, gives back.
        columns = list(statement.selected_columns if isinstance(statement, Select)
                       else getattr(statement, "exported_columns", ()))
        #: Whether it gives rows back: a SELECT or RETURNING does, other DML does not;
        #: None for SQL text, which says only once run.
        self.returns_rows: bool | None = (
            True if columns else False if isinstance(statement, UpdateBase) else None)
        if columns:
            self._row = namedtuple(  # type: ignore[misc]
                "Row", [str(column.key) for column in columns], rename=True)
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                          for column in columns]
            self._results = [(position, process) for position, process in enumerate(processors)
                             if process is not None]

    def bind(self, values: Values) -> Sequence[Any] | dict[str, Any]:
        """``values`` (by bind name) in the driver's style."""
        if self._defaults:
            values = {**{key: default.arg(None) if default.is_callable else default.arg
                         for key, default in self._defaults.items()}, **values}
        bound = []
        for name, process, literal in self._plan:
            value = values[name] if literal is _REQUIRED else values.get(name, literal)
            bound.append(value if process is None else process(value))
        if self._positional:
            return tuple(bound)
        return dict(zip(self._processors, bound, strict=True))

    def rows(self, raw: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Returned rows with their column types' result processing, as named tuples."""
        if self._row is None:
            return raw
        make, processors = self._row, self._results
        if not processors:
            return [make(*row) for row in raw]
        made = []
        for row in raw:
            values = list(row)
            for position, process in processors:
                values[position] = process(values[position])
            made.append(make(*values))
        return made


class Refused(Exception):
    """A statement sent with the COMMIT refused (``a2e_refuse(reason)``): the transaction
    was rolled back. ``reason`` tells which statement (see :meth:`DriverTransaction.at_commit`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: The SQLSTATE of ``a2e_refuse()`` (migration 0006, PostgreSQL).
REFUSED_SQLSTATE = "A2E01"


class DriverResult:
    """The rows a statement returned and its row count: read at once, or, for a statement
    sent with the COMMIT, once the transaction committed (``ready``)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]] | None, rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    @property
    def ready(self) -> bool:
        return self._rows is not None

    def all(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            raise RuntimeError("the statement was sent with the COMMIT: read it after the block")
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        rows = self.all()
        return rows[0] if rows else None

    def scalar(self) -> Any:
        rows = self.all()
        return rows[0][0] if rows else None

    def scalar_one(self) -> Any:
        rows = self.all()
        if len(rows) != 1:
            raise ValueError(f"expected one row, got {len(rows)}")
        return rows[0][0]


@dataclass
class _Queued:
    sql: str
    params: Any
    result: DriverResult
    prepared: Prepared | None
    many: bool


class DriverTransaction:
    """Statements of one transaction on a driver connection (see the module docstring).

    The transaction begins with its first statement. Statements given to
    :meth:`at_commit` are, where a ``batch`` is given (PostgreSQL,
    :mod:`a2e.store.pg_batch`), sent together with the ``COMMIT`` in one round trip, so
    that the row locks they take are held only while the server runs them; elsewhere
    they run at once.
    """

    def __init__(
        self,
        cursor: Any,
        prepare: Callable[[ClauseElement, Sequence[str]], Prepared],
        wrap_error: Callable[[str, Any, Exception], Exception],
        driver_error: type[Exception],
        *,
        dialect: Dialect,
        begin: Callable[[], Any],
        batch: Any = None,
    ) -> None:
        #: The dialect its statements are compiled for (what ``a2e.store.dialect`` asks).
        self.dialect = dialect
        self._cursor = cursor
        self._prepare = prepare
        self._wrap_error = wrap_error
        self._driver_error = driver_error
        self._begin = begin
        self._begun = False
        #: How statements go with the COMMIT (``pg_batch.Batch``), else None.
        self._batch = batch
        self._queued: list[_Queued] = []

    @property
    def pipelined(self) -> bool:
        """Whether :meth:`at_commit` statements wait for the COMMIT: they must then refuse
        by raising ``a2e_refuse(reason)``, not by returning fewer rows."""
        return self._batch is not None

    def execute(
        self, statement: ClauseElement, values: Values | Sequence[Values] | None = None
    ) -> DriverResult:
        """One statement with ``values``; a list of value rows runs it as executemany."""
        return self._statement(statement, values, queue=False)

    def scalar(self, statement: ClauseElement, values: Values | None = None) -> Any:
        return self.execute(statement, values).scalar()

    def exec_driver_sql(self, sql: str, params: Any) -> DriverResult:
        """SQL text already in the driver's parameter style."""
        return self._send(sql, params, None, many=False, queue=False)

    def at_commit(
        self, statement: ClauseElement | str, values: Any = None
    ) -> DriverResult:
        """A statement (Core, or SQL text in the driver's style) sent with the COMMIT where
        :attr:`pipelined`, else run now; its result is ready after the block (or now).
        A pipelined statement that raises ``a2e_refuse(reason)`` makes the transaction
        end in :class:`Refused` with that reason."""
        if isinstance(statement, str):
            return self._send(statement, values, None, many=False, queue=True)
        return self._statement(statement, values, queue=True)

    @property
    def tail(self) -> Tail:
        """This transaction as a connection whose every statement is :meth:`at_commit`."""
        return Tail(self)

    def alone(self, statement: ClauseElement, values: Values | None = None) -> DriverResult:
        """One statement in no transaction block (it commits on its own: the connection
        autocommits), through the batch where there is one (a statement prepared once)."""
        if self._batch is None:
            return self.execute(statement, values)
        prepared, bound = self._bound(statement, [values or {}])
        entry = _Queued(prepared.sql, bound[0], DriverResult(None, -1), prepared, False)
        error = self._send_batch([entry], begin=False, commit=False)
        if error is not None:
            raise self._error(entry.sql, entry.params, error) from error
        return entry.result

    def _statement(self, statement: ClauseElement, values: Any, *, queue: bool) -> DriverResult:
        many = isinstance(values, Sequence)
        if many and not values:
            return DriverResult([], 0)
        prepared, bound = self._bound(statement, values if many else [values or {}])
        return self._send(prepared.sql, bound if many else bound[0], prepared, many=many,
                          queue=queue)

    def _bound(self, statement: ClauseElement, rows: Sequence[Values]) -> tuple[Prepared, list[Any]]:
        """``statement`` compiled for the rows' keys, and each row bound for the driver."""
        prepared = self._prepare(statement, tuple(rows[0]))
        try:
            return prepared, [prepared.bind(row) for row in rows]
        except Exception as exc:  # a value its column type cannot take, as SQLAlchemy says it
            raise StatementError(str(exc), prepared.sql, None, exc) from exc

    def _send(self, sql: str, params: Any, prepared: Prepared | None, *, many: bool,
              queue: bool) -> DriverResult:
        if queue and self._batch is not None:
            result = DriverResult(None, -1)
            self._queued.append(_Queued(sql, params, result, prepared, many))
            return result
        if self._queued:  # it would reach the server before them
            raise RuntimeError("a statement run at once after statements sent with the COMMIT")
        if not self._begun and self._batch is not None:
            return self._begin_with(_Queued(sql, params, DriverResult(None, -1), prepared, many))
        if not self._begun:
            self._start()
        result = self._run(self._cursor, sql, params, many=many, prepared=prepared)
        if prepared is not None and not many:
            result._rows = prepared.rows(result.all())
        return result

    def _begin_with(self, entry: _Queued) -> DriverResult:
        """``BEGIN`` and the transaction's first statement in one round trip."""
        self._begun = True  # the rollback after an error must end what BEGIN started
        error = self._send_batch([entry], begin=True, commit=False)
        if error is not None:
            raise self._error(entry.sql, entry.params, error) from error
        return entry.result

    def _start(self) -> None:
        try:
            self._begin()
        except Exception as exc:
            raise self._error("BEGIN", None, exc) from exc
        self._begun = True

    def _error(self, sql: str, params: Any, exc: Exception) -> Exception:
        """``exc`` as SQLAlchemy would raise it: a driver error as DBAPIError (and the
        connection dropped if it is gone), any other as StatementError."""
        if isinstance(exc, self._driver_error):
            return self._wrap_error(sql, params, exc)
        if isinstance(exc, StatementError):
            return exc
        return StatementError(str(exc), sql, params, exc)

    def _run(self, cursor: Any, sql: str, params: Any, *, many: bool = False,
             prepared: Prepared | None = None) -> DriverResult:
        try:
            if many:
                cursor.executemany(sql, params)
                return DriverResult([], cursor.rowcount)
            cursor.execute(sql, params)
            rows = cursor.fetchall() if _returns_rows(cursor, prepared) else []
        except Exception as exc:
            raise self._error(sql, params, exc) from exc
        return DriverResult(rows, cursor.rowcount)

    def commit(self) -> None:
        """End the transaction (see :meth:`a2e.store.session.Database.driver_transaction`)."""
        if self._queued:
            self._commit_batch()
        elif self._begun:
            self._cursor_sql("COMMIT")

    def rollback(self) -> None:
        """``ROLLBACK`` through the cursor, never around it: psycopg then forgets the
        statements it counts as prepared (it cannot know what the rollback undid)."""
        if self._begun:
            self._cursor_sql("ROLLBACK")

    def _cursor_sql(self, sql: str) -> None:
        try:
            self._cursor.execute(sql)
        except Exception as exc:
            raise self._error(sql, None, exc) from exc

    def _commit_batch(self) -> None:
        """BEGIN (unless begun), the queued statements and COMMIT in one round trip; a
        statement that raised ``a2e_refuse(reason)`` ends it in :class:`Refused` (the
        transaction is then rolled back, as after any error)."""
        queued, self._queued = self._queued, []
        begin, self._begun = not self._begun, True
        error = self._send_batch(queued, begin=begin, commit=True)
        if error is None:
            return
        if getattr(error, "sqlstate", None) == REFUSED_SQLSTATE:
            reason = error.diag.message_primary  # type: ignore[attr-defined]
            raise Refused(reason or "") from error
        raise self._error("COMMIT", None, error) from error

    def _send_batch(self, entries: list[_Queued], *, begin: bool,
                    commit: bool) -> Exception | None:
        """``entries`` in one round trip (after ``BEGIN``, before ``COMMIT``); their results
        filled in, or the error."""
        try:
            outcomes = self._batch.run([(entry.sql, entry.params, entry.many)
                                        for entry in entries], begin=begin, commit=commit)
        except Exception as exc:
            return exc
        for entry, (rows, rowcount) in zip(entries, outcomes, strict=True):
            entry.result._rows = [] if entry.many else (
                entry.prepared.rows(rows) if entry.prepared else rows)
            entry.result.rowcount = rowcount
        return None


def _returns_rows(cursor: Any, prepared: Prepared | None) -> bool:
    """Whether the statement just run gives rows: a compiled statement mostly knows
    (psycopg builds its cursor's ``description`` anew on every read); else the cursor."""
    known = None if prepared is None else prepared.returns_rows
    return cursor.description is not None if known is None else known


class Tail:
    """A transaction's statements sent with its COMMIT (:attr:`DriverTransaction.tail`),
    for query functions written for a connection; their results are ready after the
    block. Only for statements whose result nothing reads before the commit."""

    def __init__(self, tx: DriverTransaction) -> None:
        self._tx = tx

    def execute(self, statement: ClauseElement, values: Any = None) -> DriverResult:
        return self._tx.at_commit(statement, values)

    def exec_driver_sql(self, sql: str, params: Any) -> DriverResult:
        return self._tx.at_commit(sql, params)
