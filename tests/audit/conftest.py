"""Helpers for the audit tests: an AuditLog on the test database and raw SQL on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from a2e.audit import AuditLog
from a2e.store.base import utcnow
from a2e.store.session import Database


class Clock:
    """A settable clock for AuditLog."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow() - timedelta(days=30) + timedelta(hours=1))


@pytest.fixture
def audit_log(db: Database, clock: Clock) -> AuditLog:
    return AuditLog(db, now=clock)


@pytest.fixture
def append(audit_log: AuditLog) -> Callable[..., None]:
    def add(action: str = "agent.created", **fields: object) -> None:
        values: dict = {"outcome": "success", "actor": "admin:root", "agent_id": None,
                        "target": None, "request_id": None, "client_ip": None, "details": {}}
        values.update(fields)
        audit_log.append(action=action, **values)

    return add


@pytest.fixture
def sql(db: Database) -> Iterator[Callable[..., list]]:
    """Run one statement in its own transaction; returns the rows (if any)."""

    def run(statement: str, **params: object) -> list:
        with db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    yield run


@pytest.fixture
def drop_update_trigger(db: Database) -> Iterator[Callable[[], None]]:
    """What someone with DDL rights would do before editing a row; restored afterwards
    (the PostgreSQL test database is shared by the tests of a session)."""
    saved: list[str] = []
    if db.dialect == "postgresql":
        find = ("SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgname = 'audit_events_seal_only'")
        drop = "DROP TRIGGER audit_events_seal_only ON audit_events"
    else:
        find = "SELECT sql FROM sqlite_master WHERE name = 'audit_events_refuse_update'"
        drop = "DROP TRIGGER audit_events_refuse_update"

    def run() -> None:
        with db.engine.begin() as conn:
            saved.append(conn.execute(text(find)).scalar_one())
            conn.execute(text(drop))

    yield run
    with db.engine.begin() as conn:
        for definition in saved:
            conn.execute(text(definition))
