"""The one place that branches on the SQL dialect outside migrations."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def upsert(session: Session, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_update`` / ``_do_nothing`` for the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name!r}")


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
