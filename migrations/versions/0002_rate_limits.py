"""Rate-limit usage windows and rejection counts; leases of concurrent-run slots.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "usage_windows",
        sa.Column("agent_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('requests', 'api_calls')", name=op.f("ck_usage_windows_kind")),
        sa.CheckConstraint(
            "period IN ('minute', 'hour', 'day')", name=op.f("ck_usage_windows_period")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"],
            name=op.f("fk_usage_windows_agent_id_agents"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "agent_id", "kind", "period", "window_start", name=op.f("pk_usage_windows")
        ),
    )
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.create_index("ix_usage_windows_window_start", ["window_start"], unique=False)

    op.create_table(
        "run_slot_leases",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("agent_id", BIG_ID, nullable=False),
        sa.Column("owner_host", sa.String(length=255), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_boot_id", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"],
            name=op.f("fk_run_slot_leases_agent_id_agents"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_slot_leases")),
    )
    with op.batch_alter_table("run_slot_leases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_slot_leases_agent_id_expires_at", ["agent_id", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("run_slot_leases", schema=None) as batch_op:
        batch_op.drop_index("ix_run_slot_leases_agent_id_expires_at")
    op.drop_table("run_slot_leases")
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_windows_window_start")
    op.drop_table("usage_windows")
