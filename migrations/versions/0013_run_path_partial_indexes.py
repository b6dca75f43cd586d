"""Partial indexes, so that the rows an execute writes touch fewer index pages.

- ``uq_audit_events_seq`` holds only sealed events (``WHERE seq IS NOT NULL``). An event
  is inserted unsealed, ``seq`` NULL, in the transaction of the change it records (two
  per execute); the full unique index took a page write for each of those NULLs. Every
  query by ``seq`` names it (``seq IS NOT NULL``, ``seq > …``, ``= …``, ``<= …``), which
  both databases take to imply the predicate; uniqueness of sealed positions is as before.
- ``ix_audit_events_client_ip_action_id`` holds only failed authentications, the one
  action looked up by client address (the audit log's throttle, which writes the
  action into its SQL so that both databases match the predicate).
- ``ix_runs_status_lease_expires_at`` holds only asynchronous runs (``is_async IS
  TRUE``): the queue's claim is its one reader and names ``is_async``; a synchronous
  run's start and finish (its status moves) no longer write to it.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = sa.text("seq IS NOT NULL")
BY_ADDRESS = sa.text("action = 'auth.failed'")


def upgrade() -> None:
    op.drop_index("uq_audit_events_seq", table_name="audit_events")
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True,
                    sqlite_where=SEALED, postgresql_where=SEALED)
    op.drop_index("ix_audit_events_client_ip_action_id", table_name="audit_events")
    op.create_index("ix_audit_events_client_ip_action_id", "audit_events",
                    ["client_ip", "action", "id"], sqlite_where=BY_ADDRESS,
                    postgresql_where=BY_ADDRESS)
    op.drop_index("ix_runs_status_lease_expires_at", table_name="runs")
    op.create_index("ix_runs_status_lease_expires_at", "runs", ["status", "lease_expires_at"],
                    sqlite_where=sa.text("is_async IS 1"),
                    postgresql_where=sa.text("is_async IS TRUE"))


def downgrade() -> None:
    op.drop_index("ix_runs_status_lease_expires_at", table_name="runs")
    op.create_index("ix_runs_status_lease_expires_at", "runs", ["status", "lease_expires_at"])
    op.drop_index("ix_audit_events_client_ip_action_id", table_name="audit_events")
    op.create_index("ix_audit_events_client_ip_action_id", "audit_events",
                    ["client_ip", "action", "id"])
    op.drop_index("uq_audit_events_seq", table_name="audit_events")
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True)
