"""Declarative base with a constraint naming convention and portable column types."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from a2e.store.dialect import POSTGRESQL, SQLITE, stores_utc_offsets
from a2e.timestamps import naive_utc_text

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The largest id any table can hold (BIGINT / SQLite INTEGER); larger ids cannot exist.
MAX_ID = 2**63 - 1



def parse_id(text: str) -> int | None:
    """``text`` as a row id, or None when it is not ASCII digits within :data:`MAX_ID`."""
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return None


#: JSON everywhere, JSONB on PostgreSQL.
JSONValue = JSON().with_variant(JSONB(), POSTGRESQL)
#: 64-bit ids on PostgreSQL; INTEGER on SQLite so the rowid autoincrements.
BigId = BigInteger().with_variant(Integer(), SQLITE)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    tagged as UTC on the way out; PostgreSQL uses ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value if stores_utc_offsets(dialect) else value.replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Where no offset is kept (SQLite), the impl's own text in one step: every run
        path row binds several timestamps, and the composed processors cost about twice
        as much (tests/db/test_types.py holds the two equal)."""
        if stores_utc_offsets(dialect):
            return super().bind_processor(dialect)
        return _naive_utc_text

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _naive_utc_text(value: datetime | None) -> str | None:
    """SQLite DATETIME's storage text (``YYYY-MM-DD HH:MM:SS.ffffff``) of the UTC time."""
    return None if value is None else naive_utc_text(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
