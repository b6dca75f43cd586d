"""Asynchronous runs: the run row as queue entry (lease, cancel, callback), webhook
deliveries, and each agent's sealed webhook secret.

``runs`` gains the statuses ``queued`` and ``cancelled``; ``run_summary`` counts them.
The views are dropped around the change and made again, unchanged but for
``run_summary`` (SQLite's batch mode copies a table, which a view on it would block).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OLD_STATUSES = "status IN ('running', 'succeeded', 'failed', 'interrupted')"
NEW_STATUSES = (
    "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')"
)
DAY = {
    "sqlite": "date({column})",
    "postgresql": "CAST(({column} AT TIME ZONE 'UTC') AS date)",
}

# As 0005 made it (it reads runs, so it is dropped and made again unchanged).
AGENT_USAGE_DAILY = """
CREATE VIEW agent_usage_daily AS
SELECT u.agent_id, a.name AS agent, u.day,
       CAST(SUM(u.requests) AS BIGINT) AS requests,
       CAST(SUM(u.rejected_requests) AS BIGINT) AS rejected_requests,
       CAST(SUM(u.runs) AS BIGINT) AS runs,
       CAST(SUM(u.failed_runs) AS BIGINT) AS failed_runs,
       CAST(SUM(u.api_calls) AS BIGINT) AS api_calls
FROM (
    SELECT agent_id, {run_day} AS day, 0 AS requests, 0 AS rejected_requests,
           COUNT(*) AS runs,
           SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_runs,
           0 AS api_calls
    FROM runs
    GROUP BY agent_id, {run_day}
    UNION ALL
    SELECT agent_id, {window_day} AS day,
           SUM(CASE WHEN kind = 'requests' AND period = 'hour' THEN admitted ELSE 0 END),
           SUM(CASE WHEN kind = 'requests' THEN rejected ELSE 0 END),
           0, 0,
           SUM(CASE WHEN kind = 'api_calls' AND period = 'hour' THEN admitted ELSE 0 END)
    FROM usage_windows
    GROUP BY agent_id, {window_day}
) u
JOIN agents a ON a.id = u.agent_id
GROUP BY u.agent_id, a.name, u.day
"""

RUN_SUMMARY_0005 = """
CREATE VIEW run_summary AS
SELECT r.agent_id, a.name AS agent, r.saved_workflow_name AS workflow,
       COUNT(*) AS runs,
       SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
       SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN r.status = 'interrupted' THEN 1 ELSE 0 END) AS interrupted,
       SUM(CASE WHEN r.status = 'running' THEN 1 ELSE 0 END) AS running,
       CAST(SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END) AS FLOAT)
           / NULLIF(SUM(CASE WHEN r.status <> 'running' THEN 1 ELSE 0 END), 0) AS success_rate,
       CAST(AVG(r.duration_ms) AS FLOAT) AS mean_duration_ms,
       MAX(r.duration_ms) AS max_duration_ms
FROM runs r
JOIN agents a ON a.id = r.agent_id
GROUP BY r.agent_id, a.name, r.saved_workflow_name
"""

# New columns at the end, so that existing readers of the view keep their positions.
RUN_SUMMARY = """
CREATE VIEW run_summary AS
SELECT r.agent_id, a.name AS agent, r.saved_workflow_name AS workflow,
       COUNT(*) AS runs,
       SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
       SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN r.status = 'interrupted' THEN 1 ELSE 0 END) AS interrupted,
       SUM(CASE WHEN r.status = 'running' THEN 1 ELSE 0 END) AS running,
       CAST(SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END) AS FLOAT)
           / NULLIF(SUM(CASE WHEN r.status NOT IN ('running', 'queued') THEN 1 ELSE 0 END), 0)
           AS success_rate,
       CAST(AVG(r.duration_ms) AS FLOAT) AS mean_duration_ms,
       MAX(r.duration_ms) AS max_duration_ms,
       SUM(CASE WHEN r.status = 'queued' THEN 1 ELSE 0 END) AS queued,
       SUM(CASE WHEN r.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       SUM(CASE WHEN r.is_async THEN 1 ELSE 0 END) AS async_runs
FROM runs r
JOIN agents a ON a.id = r.agent_id
GROUP BY r.agent_id, a.name, r.saved_workflow_name
"""


RATE_LIMIT_REJECTIONS = """
CREATE VIEW rate_limit_rejections AS
SELECT w.agent_id, a.name AS agent, w.kind, w.period, w.window_start,
       w.quota, w.admitted, w.rejected
FROM usage_windows w
JOIN agents a ON a.id = w.agent_id
WHERE w.rejected > 0
"""

CACHE_EFFICIENCY = """
CREATE VIEW cache_efficiency AS
SELECT s.agent_id, a.name AS agent, s.op_type,
       s.hits, s.misses,
       CAST(s.hits AS FLOAT) / NULLIF(s.hits + s.misses, 0) AS hit_rate,
       s.evictions, s.expirations, s.invalidations, s.writes
FROM cache_stats s
JOIN agents a ON a.id = s.agent_id
"""

VIEWS = ("agent_usage_daily", "run_summary", "rate_limit_rejections", "cache_efficiency")


def _drop_views() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")


def _make_views(run_summary: str) -> None:
    day = DAY[op.get_bind().dialect.name]
    op.execute(AGENT_USAGE_DAILY.format(
        run_day=day.format(column="started_at"), window_day=day.format(column="window_start")))
    op.execute(run_summary)
    op.execute(RATE_LIMIT_REJECTIONS)
    op.execute(CACHE_EFFICIENCY)


def upgrade() -> None:
    _drop_views()
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_runs_status"), NEW_STATUSES)
        batch_op.add_column(sa.Column("is_async", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("claims", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("in_flight", JSON, nullable=True))
        batch_op.create_index("ix_runs_status_lease_expires_at", ["status", "lease_expires_at"],
                              unique=False)
    op.add_column("agents", sa.Column("webhook_secret", sa.LargeBinary(), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_deliveries_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("run_id", name=op.f("uq_webhook_deliveries_run_id")),
    )
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries",
                    ["status", "next_attempt_at"], unique=False)
    _make_views(RUN_SUMMARY)


def downgrade() -> None:
    _drop_views()
    op.drop_index("ix_webhook_deliveries_status_next_attempt_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")
    op.execute("DELETE FROM runs WHERE status IN ('queued', 'cancelled')")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_status_lease_expires_at")
        for column in ("in_flight", "callback_url", "cancel_requested_at", "claims",
                       "lease_expires_at", "lease_owner", "queued_at", "is_async"):
            batch_op.drop_column(column)
        batch_op.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_runs_status"), OLD_STATUSES)
    _make_views(RUN_SUMMARY_0005)
