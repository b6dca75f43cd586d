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
``IN`` parameters; a SELECT's rows are named tuples with the columns' types applied,
other rows plain tuples; results are read at once.
Driver errors leave as SQLAlchemy's (``IntegrityError``, ``OperationalError``…), as
they would through a ``Connection``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.sql import ClauseElement, Select

Values = Mapping[str, Any]
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
            if bind.expanding:
                raise ValueError(f"expanding parameter {name!r} in {self.sql}")
            self._processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                self._literals[name] = bind.effective_value
        # Python-side defaults of the columns left out: SQLAlchemy wraps a callable
        # default so that it takes the execution context, which none of ours reads.
        self._defaults = {column.key: column.default for column in compiled.insert_prefetch}
        self._order: Sequence[str] | None = compiled.positiontup if dialect.positional else None
        self._row: type[tuple[Any, ...]] | None = None
        self._results: list[_Processor] = []
        if isinstance(statement, Select):
            columns = list(statement.selected_columns)
            self._row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
            self._results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                             for column in columns]

    def bind(self, values: Values) -> Sequence[Any] | dict[str, Any]:
        """``values`` (by bind name) in the driver's style."""
        if self._defaults:
            values = {**{key: default.arg(None) if default.is_callable else default.arg
                         for key, default in self._defaults.items()}, **values}
        bound = {}
        for name, process in self._processors.items():
            value = values[name] if name in values else self._literals[name]
            bound[name] = process(value) if process is not None else value
        if self._order is None:
            return bound
        return tuple(bound[name] for name in self._order)

    def rows(self, raw: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """A SELECT's rows with their column types' result processing, as named tuples."""
        if self._row is None:
            return raw
        make, processors = self._row, self._results
        return [make(*(value if process is None else process(value)
                       for process, value in zip(processors, row, strict=True)))
                for row in raw]


class DriverResult:
    """The rows a statement returned (read at once) and its row count."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]


class DriverTransaction:
    """Statements of one transaction on a driver cursor (see the module docstring)."""

    def __init__(
        self,
        cursor: Any,
        prepare: Callable[[ClauseElement, Sequence[str]], Prepared],
        wrap_error: Callable[[str, Any, Exception], Exception],
        driver_error: type[Exception],
    ) -> None:
        self._cursor = cursor
        self._prepare = prepare
        self._wrap_error = wrap_error
        self._driver_error = driver_error

    def execute(
        self, statement: ClauseElement, values: Values | Sequence[Values] | None = None
    ) -> DriverResult:
        """One statement with ``values``; a list of value rows runs it as executemany."""
        if isinstance(values, Sequence):
            if not values:
                return DriverResult([], 0)
            prepared = self._prepare(statement, tuple(values[0]))
            return self._run(prepared.sql, [prepared.bind(row) for row in values], many=True)
        values = values or {}
        prepared = self._prepare(statement, tuple(values))
        result = self._run(prepared.sql, prepared.bind(values))
        result._rows = prepared.rows(result._rows)
        return result

    def scalar(self, statement: ClauseElement, values: Values | None = None) -> Any:
        return self.execute(statement, values).scalar()

    def exec_driver_sql(self, sql: str, params: Any) -> DriverResult:
        """SQL text already in the driver's parameter style."""
        return self._run(sql, params)

    def _run(self, sql: str, params: Any, *, many: bool = False) -> DriverResult:
        cursor = self._cursor
        try:
            if many:
                cursor.executemany(sql, params)
                return DriverResult([], cursor.rowcount)
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description is not None else []
        except self._driver_error as exc:
            raise self._wrap_error(sql, params, exc) from exc
        return DriverResult(rows, cursor.rowcount)
