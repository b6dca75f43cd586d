"""The chain on a real database: append, verify, refusals by trigger, tampering, prune."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from a2e.audit import AuditLog, prune, verify
from a2e.audit.chain import GENESIS, chain_hash
from a2e.audit.verify import row_of
from a2e.store.queries.audit import purge_through
from a2e.store.models import AuditEvent


def rows(db):
    with db.session() as session:
        return session.query(AuditEvent).order_by(AuditEvent.id).all()


def test_each_row_links_to_the_previous_and_verify_passes(db, append):
    for n in range(5):
        append("agent.updated", target=f"agent-{n}", details={"changed": ["admin"], "n": n / 3})
    events = rows(db)
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:]):
        assert after.prev_hash == before.hash
        assert after.hash == chain_hash(after.prev_hash, row_of(after))
    report = verify(db)
    assert report.ok and report.checked == 5


def test_an_empty_trail_verifies(db):
    assert verify(db).to_dict() == {"ok": True, "checked": 0, "broken_id": None, "reason": None}


def test_secrets_in_details_are_redacted(db, append):
    append("credential.set", details={"credential_id": "gh", "value_hint": "x",
                                      "nested": {"api_key": "a2e_abc", "Authorization": "Bearer z"}})
    stored = rows(db)[0].details
    assert stored["nested"] == {"api_key": "[redacted]", "Authorization": "[redacted]"}
    assert "a2e_abc" not in str(stored) and "Bearer z" not in str(stored)
    assert verify(db).ok


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET outcome = 'failure' WHERE id = 1",
    "DELETE FROM audit_events WHERE id = 1",
])
def test_update_and_delete_are_refused_by_the_database(db, append, sql, statement):
    append()
    with pytest.raises(DBAPIError, match="append-only"):
        sql(statement)
    assert [e.outcome for e in rows(db)] == ["success"]


def test_an_edited_row_is_named_by_verify(db, append, sql, drop_update_trigger):
    for n in range(4):
        append(target=f"agent-{n}")
    drop_update_trigger()
    sql("UPDATE audit_events SET target = 'someone-else' WHERE id = 3")
    report = verify(db)
    assert not report.ok
    assert report.broken_id == 3 and report.checked == 2
    assert "edited" in report.reason


def test_a_deleted_row_is_found_at_the_next_row(db, append, sql):
    for _ in range(4):
        append()
    with db.session(write=True) as session:  # the purge path without its checkpoint
        purge_through(session, 2)
    report = verify(db)
    assert report.broken_id == 3 and "missing" in report.reason


def test_prune_leaves_a_checkpoint_and_verify_passes(db, append, clock):
    for _ in range(6):
        append()
        clock.advance(days=1)
    # rows 1..6 are a little under 30..25 days old
    report = prune(db, 27)
    assert report.pruned == 3 and report.checkpoint_id == 3
    events = rows(db)
    assert [e.id for e in events] == [3, 4, 5, 6]
    checkpoint = events[0]
    assert checkpoint.action == "audit.checkpoint"
    assert checkpoint.details["pruned"] == 3 and checkpoint.details["replaces_id"] == 3
    assert events[1].prev_hash == checkpoint.hash
    assert verify(db).ok

    append()  # appending after a prune continues the chain
    again = prune(db, 26)
    assert again.pruned == 1 and again.checkpoint_id == 4
    assert rows(db)[0].details["pruned_total"] == 4
    assert verify(db).ok and verify(db).checked == 4


def test_prune_never_removes_the_newest_row(db, append):
    append()
    append()
    report = prune(db, 1)
    assert report.pruned == 1 and [e.id for e in rows(db)] == [1, 2]
    assert rows(db)[0].action == "audit.checkpoint"
    assert prune(db, 1).pruned == 0  # only the checkpoint and the head are left
    assert verify(db).ok


def test_the_delete_trigger_is_back_after_a_prune(db, append, sql):
    for _ in range(3):
        append()
    prune(db, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        sql("DELETE FROM audit_events")


def test_a_disabled_log_writes_nothing(db):
    AuditLog(db, enabled=False).append(
        action="agent.created", outcome="success", actor=None, agent_id=None, target=None,
        request_id=None, client_ip=None, details={},
    )
    assert rows(db) == []
