"""Reports over the reporting views (migration 0005) and the runs table.

Rows are plain dicts ready to print. Run-duration percentiles are computed in SQL
(``percentile_cont``) on PostgreSQL and in Python, the same way, on SQLite.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, String, case, cast, column, func, select, table
from sqlalchemy.orm import Session

from a2e.store.dialect import has_ordered_set_aggregates
from a2e.store.models import Agent, Run

USAGE = table(
    "agent_usage_daily",
    column("agent_id", Integer), column("agent", String), column("day", Date),
    column("requests", Integer), column("rejected_requests", Integer), column("runs", Integer),
    column("failed_runs", Integer), column("api_calls", Integer),
)
CACHE = table(
    "cache_efficiency",
    column("agent_id", Integer), column("agent", String), column("op_type", String),
    column("hits", Integer), column("misses", Integer), column("hit_rate", Float),
    column("evictions", Integer), column("expirations", Integer), column("invalidations", Integer),
)
PERCENTILES = {"p50_duration_ms": 0.5, "p95_duration_ms": 0.95}


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as SQL's ``percentile_cont``."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def read_usage(session: Session, *, agent_id: int | None = None, since: date | None = None) -> list[dict[str, Any]]:
    """``agent_usage_daily`` rows, by day then agent name."""
    query = select(
        USAGE.c.day, USAGE.c.agent, USAGE.c.requests, USAGE.c.rejected_requests,
        USAGE.c.runs, USAGE.c.failed_runs, USAGE.c.api_calls,
    )
    if agent_id is not None:
        query = query.where(USAGE.c.agent_id == agent_id)
    if since is not None:
        query = query.where(USAGE.c.day >= since)
    return [dict(row._mapping) for row in session.execute(query.order_by(USAGE.c.day, USAGE.c.agent))]


def read_cache_efficiency(session: Session, *, agent_id: int | None = None) -> list[dict[str, Any]]:
    """Per operation type (over every agent, or one): hits, misses, hit rate, evictions."""
    hits, misses = func.sum(CACHE.c.hits), func.sum(CACHE.c.misses)
    query = select(
        CACHE.c.op_type, hits.label("hits"), misses.label("misses"),
        (cast(hits, Float) / func.nullif(hits + misses, 0)).label("hit_rate"),
        func.sum(CACHE.c.evictions).label("evictions"),
        func.sum(CACHE.c.expirations).label("expirations"),
        func.sum(CACHE.c.invalidations).label("invalidations"),
    ).group_by(CACHE.c.op_type).order_by(CACHE.c.op_type)
    if agent_id is not None:
        query = query.where(CACHE.c.agent_id == agent_id)
    return [dict(row._mapping) for row in session.execute(query)]


def read_run_summary(
    session: Session, *, agent_id: int | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """``run_summary``'s columns for runs started since ``since``, plus p50/p95 duration."""
    postgres = has_ordered_set_aggregates(session)
    status = Run.status

    def count(*statuses: str) -> Any:
        return func.sum(case((status.in_(statuses), 1), else_=0))

    columns = [
        Run.agent_id, Agent.name.label("agent"), Run.saved_workflow_name.label("workflow"),
        func.count().label("runs"), count("succeeded").label("succeeded"),
        count("failed").label("failed"),
        (cast(count("succeeded"), Float)
         / func.nullif(count("succeeded", "failed", "interrupted", "cancelled"), 0)
         ).label("success_rate"),
        cast(func.avg(Run.duration_ms), Float).label("mean_duration_ms"),
        func.max(Run.duration_ms).label("max_duration_ms"),
        count("interrupted").label("interrupted"), count("cancelled").label("cancelled"),
        count("queued").label("queued"), count("running").label("running"),
    ]
    if postgres:
        columns += [
            func.percentile_cont(fraction).within_group(Run.duration_ms).label(name)
            for name, fraction in PERCENTILES.items()
        ]
    query = select(*columns).join(Agent, Agent.id == Run.agent_id)
    query = _filter_runs(query, agent_id, since)
    query = query.group_by(Run.agent_id, Agent.name, Run.saved_workflow_name)
    rows = [dict(row._mapping) for row in session.execute(query.order_by(Agent.name, Run.saved_workflow_name))]
    if not postgres:
        _add_percentiles(session, rows, agent_id, since)
    for row in rows:
        row.pop("agent_id")
    return rows


def _filter_runs(query: Any, agent_id: int | None, since: datetime | None) -> Any:
    if agent_id is not None:
        query = query.where(Run.agent_id == agent_id)
    if since is not None:
        query = query.where(Run.started_at >= since)
    return query


def _add_percentiles(
    session: Session, rows: list[dict[str, Any]], agent_id: int | None, since: datetime | None
) -> None:
    durations: dict[tuple[int, str | None], list[int]] = defaultdict(list)
    query = _filter_runs(
        select(Run.agent_id, Run.saved_workflow_name, Run.duration_ms).where(
            Run.duration_ms.is_not(None)
        ),
        agent_id, since,
    )
    for run_agent, workflow, duration in session.execute(query.order_by(Run.duration_ms)):
        durations[(run_agent, workflow)].append(duration)
    for row in rows:
        ordered = durations.get((row["agent_id"], row["workflow"]), [])
        row.update({name: percentile(ordered, fraction) for name, fraction in PERCENTILES.items()})
