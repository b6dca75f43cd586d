"""The throttle's lookup of an address's last event uses the address index, which holds
the throttled action's events only (migration 0013), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from a2e.audit.log import THROTTLED_ACTIONS
from a2e.store.queries import audit as queries
from a2e.store.session import Database


@pytest.mark.parametrize("action", sorted(THROTTLED_ACTIONS))
def test_the_last_event_of_an_address_is_found_through_its_index(db: Database, action: str):
    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.session() as session:
            queries.read_last_ts(session, action, "192.0.2.7")
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in sent if "audit_events" in s)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.dialect == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = " ".join(str(row) for row in cursor.fetchall())
    finally:
        raw.rollback()
        raw.close()
    assert "ix_audit_events_client_ip_action_id" in plan, plan
