"""The keyed audit chain, sealed off the request path.

Events are now inserted unsealed (``seq``, ``prev_hash``, ``hash`` NULL, ``id`` from
the table's own sequence) in the transaction of the change they record; one sealer
at a time gives each its chain position ``seq`` and an HMAC under a key derived from
the server secret (``a2e.audit.seal``). The append-only triggers now let exactly that
one update through: an unsealed row getting its ``seq``, ``prev_hash`` and ``hash``,
nothing else changed. DELETE is refused as before (the retention purge excepted).

Re-keying: the existing rows were chained with plain SHA-256, which needs no key.
This revision checks that chain (a broken one is reported as a warning naming the
first broken row; nothing is dropped), then clears the rows' hashes so that the
first sealer, which holds the secret, re-chains every row in id order under the
HMAC. The downgrade chains every row again with plain SHA-256 in id order.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
GENESIS = "0" * 64
LEGACY_FIELDS = ("id", "ts", "actor", "agent_id", "action", "target", "outcome",
                 "request_id", "client_ip", "details")
CHECKPOINT = "audit.checkpoint"
UNCHANGED = ("id", "ts", "actor", "agent_id", "action", "target", "outcome",
             "request_id", "client_ip", "details")

PG_SEAL_ONLY = f"""
CREATE FUNCTION audit_events_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hash IS NULL AND OLD.seq IS NULL
       AND NEW.hash IS NOT NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND ({", ".join(f"NEW.{c}" for c in UNCHANGED)})
           IS NOT DISTINCT FROM ({", ".join(f"OLD.{c}" for c in UNCHANGED)}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: UPDATE refused (only sealing is allowed)'
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGERS = (
    """CREATE TRIGGER audit_events_append_only BEFORE DELETE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()""",
    """CREATE TRIGGER audit_events_seal_only BEFORE UPDATE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_seal_only()""",
)
PG_OLD_TRIGGER = """CREATE TRIGGER audit_events_append_only
BEFORE UPDATE OR DELETE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()"""

_SEALING = " AND ".join(
    ["OLD.hash IS NULL", "OLD.seq IS NULL", "NEW.hash IS NOT NULL", "NEW.seq IS NOT NULL",
     "NEW.prev_hash IS NOT NULL"] + [f"NEW.{c} IS OLD.{c}" for c in UNCHANGED]
)
SQLITE_UPDATE_TRIGGER = f"""
CREATE TRIGGER audit_events_refuse_update BEFORE UPDATE ON audit_events
WHEN NOT ({_SEALING})
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused (only sealing is allowed)'); END
"""
SQLITE_OLD_UPDATE_TRIGGER = """
CREATE TRIGGER audit_events_refuse_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
"""
SQLITE_DELETE_TRIGGER = """
CREATE TRIGGER audit_events_refuse_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused (a2e audit prune purges)'); END
"""

EVENTS = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("ts", sa.DateTime(timezone=True)),
    *(sa.column(name, sa.String()) for name in
      ("actor", "action", "target", "outcome", "request_id", "client_ip", "prev_hash", "hash")),
    sa.column("agent_id", sa.BigInteger()),
    sa.column("details", sa.JSON()),
)


def _legacy_hash(prev_hash: str, row: sa.Row) -> str:
    fields = {name: getattr(row, name) for name in LEGACY_FIELDS}
    ts = fields["ts"]
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    fields["ts"] = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(fields["details"], str):
        fields["details"] = json.loads(fields["details"])
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def _rows(conn: sa.Connection) -> sa.CursorResult:
    return conn.execute(sa.select(EVENTS).order_by(EVENTS.c.id))


def _check_legacy_chain(conn: sa.Connection) -> None:
    previous = None
    for row in _rows(conn):
        if previous is None and row.action == CHECKPOINT:
            previous = row  # it carries the hash of the row a prune replaced
            continue
        if row.prev_hash != (previous.hash if previous else GENESIS):
            log.warning("audit chain broken before re-keying: row %s does not link", row.id)
            return
        if _legacy_hash(row.prev_hash, row) != row.hash:
            log.warning("audit chain broken before re-keying: row %s was edited", row.id)
            return
        previous = row


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_seal_only ON audit_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_delete")


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    _drop_triggers(dialect)
    _check_legacy_chain(conn)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_events SET prev_hash = NULL, hash = NULL")
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        op.execute("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
                   "COALESCE(MAX(id), 0) + 1, false) FROM audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("uq_audit_events_seq", ["seq"], unique=True)
        batch_op.create_index(
            "ix_audit_events_unsealed", ["id"], unique=False,
            postgresql_where=sa.text("hash IS NULL"), sqlite_where=sa.text("hash IS NULL"),
        )
    if dialect == "postgresql":
        op.execute(PG_SEAL_ONLY)
        for trigger in PG_TRIGGERS:
            op.execute(trigger)
    else:
        op.execute(SQLITE_UPDATE_TRIGGER)
        op.execute(SQLITE_DELETE_TRIGGER)


def downgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    _drop_triggers(dialect)
    previous_hash = GENESIS
    for row in _rows(conn).all():
        new_hash = _legacy_hash(previous_hash, row)
        conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id)
                     .values(prev_hash=previous_hash, hash=new_hash))
        previous_hash = new_hash
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_unsealed")
        batch_op.drop_index("uq_audit_events_seq")
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY IF EXISTS")
        op.execute("DROP FUNCTION IF EXISTS audit_events_seal_only()")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("seq")
    if dialect == "postgresql":
        op.execute(PG_OLD_TRIGGER)
    else:
        op.execute(SQLITE_OLD_UPDATE_TRIGGER)
        op.execute(SQLITE_DELETE_TRIGGER)
