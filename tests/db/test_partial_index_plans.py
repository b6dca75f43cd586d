"""Each partial index of migration 0013 is still used by its readers, on both databases:
a partial index serves only a query whose WHERE implies its predicate."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event

from a2e.audit.log import THROTTLED_ACTIONS
from a2e.store.base import utcnow
from a2e.store.owner import current_owner
from a2e.store.queries import audit as audit_queries
from a2e.store.queries import queue as queue_queries
from a2e.store.session import Database


def plan_of(db: Database, table: str, act: Callable[[], object]) -> str:
    """The database's plan of the first statement on ``table`` that ``act`` sends (with
    the same parameters; PostgreSQL told to avoid sequential scans, as a large table
    would make it)."""
    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        act()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in sent if table in s)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.dialect == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return " ".join(str(row) for row in cursor.fetchall())
    finally:
        raw.rollback()
        raw.close()


def indexes_in(plan: str) -> set[str]:
    """The secondary indexes a plan reads (primary keys left out)."""
    return set(re.findall(r"\b(?:ix|uq)_\w+", plan))


@pytest.mark.parametrize("action", sorted(THROTTLED_ACTIONS))
def test_the_throttle_finds_an_address_through_its_index(db: Database, action: str) -> None:
    def look() -> None:
        with db.session() as session:
            audit_queries.read_last_ts(session, action, "192.0.2.7")

    assert "ix_audit_events_client_ip_action_id" in plan_of(db, "audit_events", look)


def test_the_chain_is_read_through_the_index_of_sealed_positions(db: Database) -> None:
    def read() -> None:
        with db.connection() as conn:
            audit_queries.read_chain(conn, limit=10, after_seq=5)

    assert "uq_audit_events_seq" in plan_of(db, "audit_events", read)


def test_the_queue_claims_through_the_index_of_asynchronous_runs(db: Database) -> None:
    def claim() -> None:
        now = utcnow()
        with db.connection(write=True, single_statement=True) as conn:
            queue_queries.claim_run(conn, worker="w", owner=current_owner(), now=now,
                                    lease_until=now + timedelta(minutes=1))

    indexes = indexes_in(plan_of(db, "FROM runs", claim))
    assert "ix_runs_status_lease_expires_at" in indexes
    if db.dialect == "sqlite":  # each branch of its OR on it (PostgreSQL weighs them by cost)
        assert indexes == {"ix_runs_status_lease_expires_at"}
