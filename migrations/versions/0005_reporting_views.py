"""Reporting views: agent_usage_daily, run_summary, rate_limit_rejections, cache_efficiency.

Plain SQL views over the tables of 0001-0004, one text per view with the only
dialect difference (the UTC day of a timestamp) filled in per database.
``agent_usage_daily`` aggregates each source per agent and day before the union and
the join, so a month of a million runs is grouped once, not joined row by row.
docs/reporting.md describes the columns and has example queries.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The UTC calendar day of a timestamp column: SQLite stores UTC text, PostgreSQL timestamptz.
DAY = {
    "sqlite": "date({column})",
    "postgresql": "CAST(({column} AT TIME ZONE 'UTC') AS date)",
}

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

RUN_SUMMARY = """
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


def upgrade() -> None:
    day = DAY[op.get_bind().dialect.name]
    op.execute(AGENT_USAGE_DAILY.format(
        run_day=day.format(column="started_at"), window_day=day.format(column="window_start")))
    op.execute(RUN_SUMMARY)
    op.execute(RATE_LIMIT_REJECTIONS)
    op.execute(CACHE_EFFICIENCY)


def downgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
