"""Rollups of finished runs and steps for the dashboard and /metrics (docs/observability.md).

``run_rollups`` and ``step_rollups`` aggregate finished runs and their steps per UTC
hour, agent, saved workflow (``''`` for ad-hoc) and status; ``run_duration_rollups``
counts runs per UTC day and duration (the exact median); ``rollup_watermark`` is the one
row saying up to which ``finished_at`` the runs are rolled (the epoch: none yet).
``ix_runs_finished_at`` finds the runs not rolled yet; ``ix_usage_windows_rejected``
holds only the windows with refusals.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BUCKETS = ("under_100ms", "under_500ms", "under_1000ms", "under_5000ms", "under_30000ms",
           "from_30000ms")
HISTOGRAM = ("le_50ms", "le_100ms", "le_250ms", "le_500ms", "le_1000ms", "le_2500ms",
             "le_5000ms", "le_10000ms", "le_30000ms", "le_60000ms", "le_300000ms")


def _table(name: str, first: sa.Column, *rest: sa.Column, key: int) -> None:
    """``first``, the agent and the workflow, then ``rest``; the first ``key`` of them
    (after ``first``, the agent and the workflow) end the primary key."""
    columns = [
        first,
        sa.Column("agent_id", BIG_ID, nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        *rest,
    ]
    op.create_table(
        name, *columns,
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{name}_agent_id_agents")),
        sa.PrimaryKeyConstraint(*(c.name for c in columns[:3 + key]), name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    count = sa.Integer()
    _table(
        "run_rollups", sa.Column("hour", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runs", count, nullable=False),
        sa.Column("timed", count, nullable=False),
        sa.Column("duration_sum", sa.BigInteger(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("duration_max", sa.Integer(), nullable=True),
        sa.Column("recovered", count, nullable=False),
        *(sa.Column(name, count, nullable=False) for name in (*BUCKETS, *HISTOGRAM)),
        key=1,
    )
    _table(
        "run_duration_rollups", sa.Column("day", sa.Date(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("runs", count, nullable=False),
        key=1,
    )
    _table(
        "step_rollups", sa.Column("hour", TIMESTAMP, nullable=False),
        sa.Column("op_type", sa.String(50), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", count, nullable=False),
        sa.Column("duration_sum", sa.BigInteger(), nullable=False),
        sa.Column("retried", count, nullable=False),
        sa.Column("retries", count, nullable=False),
        sa.Column("cached", count, nullable=False),
        key=2,
    )
    watermark = op.create_table(
        "rollup_watermark",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_until", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_watermark"),
    )
    op.bulk_insert(watermark, [{"id": 1, "rolled_until": datetime(1970, 1, 1, tzinfo=timezone.utc)}])
    op.create_index("ix_runs_finished_at", "runs", ["finished_at"])
    op.create_index("ix_usage_windows_rejected", "usage_windows", ["window_start"],
                    sqlite_where=sa.text("rejected > 0"), postgresql_where=sa.text("rejected > 0"))


def downgrade() -> None:
    op.drop_index("ix_usage_windows_rejected", table_name="usage_windows")
    op.drop_index("ix_runs_finished_at", table_name="runs")
    for name in ("rollup_watermark", "step_rollups", "run_duration_rollups", "run_rollups"):
        op.drop_table(name)
