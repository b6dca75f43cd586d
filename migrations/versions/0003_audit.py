"""Append-only audit trail with hash chain.

``audit_events`` refuses UPDATE always and DELETE except during the retention
purge (``a2e audit prune``):

- PostgreSQL: one statement-level trigger calls ``audit_events_refuse_change()``,
  which lets a DELETE through only when the transaction has set
  ``a2e.audit_purge`` to ``on`` (``set_config('a2e.audit_purge', 'on', true)``,
  transaction-scoped, so it never leaks into a pooled connection).
- SQLite: two row triggers raise. The purge, inside its ``BEGIN IMMEDIATE``
  transaction (which already excludes every other writer), drops the DELETE
  trigger, deletes, and re-creates it from the SQL stored in ``sqlite_master``;
  SQLite DDL is transactional, so the trigger is never missing once committed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

PG_FUNCTION = """
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('a2e.audit_purge', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER audit_events_append_only
BEFORE UPDATE OR DELETE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()
"""
SQLITE_TRIGGERS = (
    """
CREATE TRIGGER audit_events_refuse_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
""",
    """
CREATE TRIGGER audit_events_refuse_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused (a2e audit prune purges)'); END
""",
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("agent_id", BIG_ID, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_ts", ["ts"], unique=False)
        batch_op.create_index("ix_audit_events_agent_id_id", ["agent_id", "id"], unique=False)
        batch_op.create_index("ix_audit_events_action_id", ["action", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_events_client_ip_action_id", ["client_ip", "action", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_delete")
    op.drop_table("audit_events")
