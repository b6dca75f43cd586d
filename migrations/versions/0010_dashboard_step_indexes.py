"""Indexes for the dashboard and /metrics step figures (see docs/performance.md).

``ix_run_steps_started_at_op_type_status`` covers the per-type counts and durations of a
period (an index-only scan on PostgreSQL); two partial indexes hold only the retried
steps (more than one attempt) and the cached ones.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_run_steps_started_at_op_type_status", "run_steps",
                    ["started_at", "op_type", "status", "duration_ms"])
    op.create_index("ix_run_steps_retried", "run_steps", ["started_at"],
                    sqlite_where=sa.text("json_array_length(attempts) > 1"),
                    postgresql_where=sa.text("jsonb_array_length(attempts) > 1"))
    op.create_index("ix_run_steps_cached", "run_steps", ["started_at"],
                    sqlite_where=sa.text("cached = 1"), postgresql_where=sa.text("cached"))


def downgrade() -> None:
    for name in ("ix_run_steps_cached", "ix_run_steps_retried",
                 "ix_run_steps_started_at_op_type_status"):
        op.drop_index(name, table_name="run_steps")
