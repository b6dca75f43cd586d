"""The keyed chain on a real database: seal, verify, refusals by trigger, tampering,
relinking, another secret, anchors and tail cuts, prune."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from a2e.audit import AuditLog, Sealer, anchor_of, chain_key, prune, verify
from a2e.audit.chain import GENESIS, chain_hash
from a2e.audit.seal import ChainKeyMismatch, row_of
from a2e.store.models import AuditEvent
from a2e.store.queries.audit import purge_through
from tests.conftest import SECRET

KEY = chain_key(SECRET)


def rows(db):
    with db.session() as session:
        return session.query(AuditEvent).order_by(AuditEvent.id).all()


def seal(db, key=KEY):
    return Sealer(db, key).seal_pending(wait=True)


def force_delete(db, where: str) -> None:
    """Delete rows past the DELETE trigger, as someone with write access could."""
    with db.session(write=True) as session:
        if db.dialect == "postgresql":
            session.execute(text("SELECT set_config('a2e.audit_purge', 'on', true)"))
        else:
            session.execute(text("DROP TRIGGER audit_events_refuse_delete"))
        session.execute(text(f"DELETE FROM audit_events WHERE {where}"))


def checked(db, key=KEY, **options):
    seal(db, key)
    return verify(db, key, **options)


def test_events_are_written_unsealed_and_the_sealer_chains_them_in_id_order(db, append):
    for n in range(5):
        append("agent.updated", target=f"agent-{n}", details={"changed": ["admin"], "n": n / 3})
    assert [(e.seq, e.prev_hash, e.hash) for e in rows(db)] == [(None, None, None)] * 5
    assert seal(db) == 5
    events = rows(db)
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:]):
        assert after.prev_hash == before.hash
        assert after.hash == chain_hash(KEY, after.prev_hash, row_of(after))
    report = verify(db, KEY)
    assert report.ok and report.checked == 5
    append()
    assert seal(db) == 1 and rows(db)[-1].prev_hash == events[-1].hash


def test_the_sealer_batches_and_continues_the_chain(db, append):
    for _ in range(7):
        append()
    assert Sealer(db, KEY, batch=3).seal_pending() == 7
    assert [e.seq for e in rows(db)] == list(range(1, 8))
    assert verify(db, KEY).ok


def test_an_empty_trail_verifies(db):
    assert checked(db).to_dict() == {"ok": True, "checked": 0, "broken_id": None, "reason": None}


def test_an_unsealed_event_is_reported(db, append):
    append()
    report = verify(db, KEY)
    assert not report.ok and report.broken_id == 1 and "not sealed" in report.reason


def test_secrets_in_details_are_redacted(db, append):
    append("credential.set", details={"credential_id": "gh", "value_hint": "x",
                                      "nested": {"api_key": "a2e_abc", "Authorization": "Bearer z"}})
    stored = rows(db)[0].details
    assert stored["nested"] == {"api_key": "[redacted]", "Authorization": "[redacted]"}
    assert "a2e_abc" not in str(stored) and "Bearer z" not in str(stored)
    assert checked(db).ok


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET outcome = 'failure' WHERE id = 1",
    "UPDATE audit_events SET hash = 'x', prev_hash = 'y', seq = 9, outcome = 'failure' WHERE id = 2",
    "UPDATE audit_events SET seq = NULL, hash = NULL, prev_hash = NULL WHERE id = 1",
    "DELETE FROM audit_events WHERE id = 1",
])
def test_update_and_delete_are_refused_by_the_database(db, append, sql, statement):
    append()
    seal(db)
    append()  # unsealed: only sealing may touch it
    with pytest.raises(DBAPIError, match="append-only"):
        sql(statement)
    assert [e.outcome for e in rows(db)] == ["success", "success"]


def test_an_edited_row_is_named_by_verify(db, append, sql, drop_update_trigger):
    for n in range(4):
        append(target=f"agent-{n}")
    seal(db)
    drop_update_trigger()
    sql("UPDATE audit_events SET target = 'someone-else' WHERE id = 3")
    report = checked(db)
    assert not report.ok
    assert report.broken_id == 3 and report.checked == 2
    assert "edited" in report.reason


def test_an_edit_with_recomputed_plain_hashes_is_caught(db, append, sql, drop_update_trigger):
    """What broke the unkeyed chain: edit a row and recompute every later hash without
    the key (here with SHA-256 as the old chain did, and with an HMAC under a guess)."""
    for n in range(4):
        append(target=f"agent-{n}")
    seal(db)
    drop_update_trigger()
    sql("UPDATE audit_events SET target = 'forged' WHERE id = 2")
    guess = chain_key("not-the-secret")
    events = rows(db)
    prev = events[0].hash
    for event in events[1:]:
        digest = chain_hash(guess, prev, row_of(event))
        sql("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i",
            p=prev, h=digest, i=event.id)
        prev = digest
    report = checked(db)
    assert not report.ok and report.broken_id == 2


def test_deleting_and_relinking_rows_is_caught(db, append, sql, drop_update_trigger):
    for _ in range(5):
        append()
    seal(db)
    events = rows(db)
    drop_update_trigger()
    # Remove row 3 and link row 4 to row 2 as if it followed it, renumbering seq.
    force_delete(db, "id = 3")
    sql("UPDATE audit_events SET prev_hash = :p, seq = 3 WHERE id = 4", p=events[1].hash)
    sql("UPDATE audit_events SET seq = 4 WHERE id = 5")
    report = checked(db)
    assert not report.ok and report.broken_id == 4 and "edited" in report.reason


def test_a_deleted_row_is_found_at_the_next_row(db, append):
    for _ in range(4):
        append()
    seal(db)
    with db.session(write=True) as session:  # the purge path without its checkpoint
        purge_through(session, 2)
    report = checked(db)
    assert report.broken_id == 3 and "missing" in report.reason


def test_another_secret_reports_the_chain_broken_and_does_not_seal(db, append):
    for _ in range(3):
        append()
    seal(db)
    other = chain_key("another-secret")
    report = verify(db, other)
    assert not report.ok and report.broken_id == 1 and "another secret" in report.reason
    append()
    with pytest.raises(ChainKeyMismatch):
        Sealer(db, other).seal_pending()
    assert rows(db)[-1].hash is None  # left for the right key
    assert checked(db).ok


def test_an_anchor_catches_a_cut_tail(db, append, tmp_path):
    for _ in range(5):
        append()
    seal(db)
    anchor = anchor_of(db)
    assert set(anchor) == {"id", "hash", "ts"} and anchor["id"] == 5
    json.dumps(anchor)
    assert checked(db, anchor=anchor).ok
    append()  # the chain grows past the anchor: still fine
    assert checked(db, anchor=anchor).ok
    # Cut the newest two rows: the rest still verifies on its own, but not with the anchor.
    force_delete(db, "id >= 5")
    assert checked(db).ok
    report = checked(db, anchor=anchor)
    assert not report.ok and report.broken_id == 5 and "gone" in report.reason


def test_an_anchor_catches_a_changed_head(db, append):
    for _ in range(2):
        append()
    seal(db)
    anchor = dict(anchor_of(db), hash="0" * 64)
    report = checked(db, anchor=anchor)
    assert not report.ok and "changed" in report.reason


def test_prune_leaves_a_checkpoint_and_verify_passes(db, append, clock):
    for _ in range(6):
        append()
        clock.advance(days=1)
    seal(db)
    # rows 1..6 are a little under 30..25 days old
    report = prune(db, 27)
    assert report.pruned == 3 and report.checkpoint_id == 3
    events = rows(db)
    assert [e.id for e in events] == [3, 4, 5, 6]
    checkpoint = events[0]
    assert checkpoint.action == "audit.checkpoint" and checkpoint.seq == 3
    assert checkpoint.details["pruned"] == 3 and checkpoint.details["replaces_id"] == 3
    assert events[1].prev_hash == checkpoint.hash
    assert checked(db).ok

    append()  # appending after a prune continues the chain
    seal(db)
    again = prune(db, 26)
    assert again.pruned == 1 and again.checkpoint_id == 4
    assert rows(db)[0].details["pruned_total"] == 4
    assert checked(db).ok and checked(db).checked == 4


def test_prune_never_removes_the_newest_row(db, append):
    append()
    append()
    seal(db)
    report = prune(db, 1)
    assert report.pruned == 1 and [e.id for e in rows(db)] == [1, 2]
    assert rows(db)[0].action == "audit.checkpoint"
    assert prune(db, 1).pruned == 0  # only the checkpoint and the head are left
    assert checked(db).ok


def test_the_delete_trigger_is_back_after_a_prune(db, append, sql):
    for _ in range(3):
        append()
    seal(db)
    prune(db, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        sql("DELETE FROM audit_events")


def test_a_disabled_log_writes_nothing(db):
    AuditLog(db, enabled=False).append(
        action="agent.created", outcome="success", actor=None, agent_id=None, target=None,
        request_id=None, client_ip=None, details={},
    )
    assert rows(db) == []
