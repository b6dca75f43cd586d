"""Revision 0008 re-keys a chain made by the plain SHA-256 appender of revision 0003."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from a2e.audit import Sealer, chain_key, verify
from a2e.store.session import Database
from tests.conftest import SECRET, migrate


def legacy_rows(count: int) -> list[dict]:
    """Rows as the 0003 appender chained them: sha256(prev_hash + canonical row)."""
    rows, prev = [], "0" * 64
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n in range(1, count + 1):
        row = {"id": n, "ts": start + timedelta(minutes=n), "actor": "cli", "agent_id": None,
               "action": "agent.created", "target": f"a{n}", "outcome": "success",
               "request_id": None, "client_ip": None, "details": {"n": n}}
        canonical = json.dumps(dict(row, ts=row["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
                               sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((prev + canonical).encode()).hexdigest()
        rows.append(dict(row, prev_hash=prev, hash=digest))
        prev = digest
    return rows


def insert_legacy(db: Database, rows: list[dict]) -> None:
    ts = (lambda v: v.replace(tzinfo=None)) if db.dialect == "sqlite" else (lambda v: v)
    with db.engine.begin() as conn:
        for row in rows:
            conn.execute(text(
                "INSERT INTO audit_events (id, ts, actor, agent_id, action, target, outcome, "
                "request_id, client_ip, details, prev_hash, hash) VALUES (:id, :ts, :actor, "
                ":agent_id, :action, :target, :outcome, :request_id, :client_ip, :details, "
                ":prev_hash, :hash)"
            ), dict(row, ts=ts(row["ts"]), details=json.dumps(row["details"])))


def test_an_existing_chain_is_re_keyed_and_continues(database_url, caplog):
    migrate(database_url, "0007", down=True)
    db = Database.from_url(database_url)
    try:
        insert_legacy(db, legacy_rows(4))
        with caplog.at_level(logging.WARNING):
            migrate(database_url)
        assert "broken" not in caplog.text
        key = chain_key(SECRET)
        assert Sealer(db, key).seal_pending(wait=True) == 4
        report = verify(db, key)
        assert report.ok and report.checked == 4
        with db.engine.connect() as conn:
            # new events take ids after the old ones
            conn.execute(text("INSERT INTO audit_events (ts, action, outcome, details) "
                              "VALUES (CURRENT_TIMESTAMP, 'agent.created', 'success', '{}')"))
            conn.commit()
        assert Sealer(db, key).seal_pending() == 1
        assert verify(db, key).checked == 5
    finally:
        db.dispose()


def test_a_broken_legacy_chain_is_reported_when_re_keying(database_url, caplog):
    migrate(database_url, "0007", down=True)
    db = Database.from_url(database_url)
    try:
        rows = legacy_rows(3)
        rows[1]["target"] = "edited"
        insert_legacy(db, rows)
        with caplog.at_level(logging.WARNING):
            migrate(database_url)
        assert "row 2 was edited" in caplog.text
    finally:
        db.dispose()
