"""Persistent result cache and its statistics.

``cache_entries``: one row per (agent, key hash). ``cache_stats``: counters per (agent,
operation type) — hits, misses, writes, evictions, expirations, invalidations — that
revision 0005's ``cache_efficiency`` view reads.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_VALUE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COUNTERS = ("hits", "misses", "writes", "evictions", "expirations", "invalidations")


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("agent_id", BIG_ID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("op_type", sa.String(length=50), nullable=False),
        sa.Column("value", JSON_VALUE, nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_access", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"],
            name=op.f("fk_cache_entries_agent_id_agents"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "key_hash", name=op.f("pk_cache_entries")),
    )
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cache_entries_last_access_created_at", ["last_access", "created_at"], unique=False
        )
        batch_op.create_index("ix_cache_entries_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_cache_entries_op_type", ["op_type"], unique=False)

    op.create_table(
        "cache_stats",
        sa.Column("agent_id", BIG_ID, nullable=False),
        sa.Column("op_type", sa.String(length=50), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"],
            name=op.f("fk_cache_stats_agent_id_agents"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "op_type", name=op.f("pk_cache_stats")),
    )


def downgrade() -> None:
    op.drop_table("cache_stats")
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_cache_entries_op_type")
        batch_op.drop_index("ix_cache_entries_expires_at")
        batch_op.drop_index("ix_cache_entries_last_access_created_at")
    op.drop_table("cache_entries")
