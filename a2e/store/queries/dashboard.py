"""The dashboard's figures and the Prometheus counters, in a few aggregate statements.

A :class:`Scope` is the period (whole UTC days up to now), optionally one agent and one
saved workflow. Run figures count runs *started* in the period; step figures count the
steps started in the period (of the agent's or workflow's runs), so that they are read
from the step indexes of migration 0010 without visiting the runs. Rate-limit
rejections come from the ``rate_limit_rejections`` view (windows that started in the
period) and cache counters from ``cache_efficiency``:
those counters are running totals per agent and type, so the period does not apply to
them (``cached_steps`` is the period's figure). Rows are plain dicts ready for JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from a2e.store.dialect import json_array_length, utc_day
from a2e.store.models import Agent, CacheEntry, Run, RunStep, UsageWindow

REJECTIONS = table(
    "rate_limit_rejections",
    column("agent_id", Integer), column("agent", String), column("kind", String),
    column("period", String), column("window_start"), column("rejected", Integer),
)
CACHE = table(
    "cache_efficiency",
    column("agent_id", Integer), column("op_type", String), column("hits", Integer),
    column("misses", Integer), column("evictions", Integer), column("expirations", Integer),
    column("invalidations", Integer), column("writes", Integer),
)
#: Upper bounds (ms, exclusive) of the dashboard's duration buckets; the last is open.
DURATION_BUCKETS_MS = (100, 500, 1_000, 5_000, 30_000)
#: Upper bounds (seconds, inclusive) of ``a2e_run_duration_seconds``.
HISTOGRAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: A current window this full (admitted / quota) puts its agent in ``near_limits``.
NEAR_LIMIT = 0.8
TOP_AGENTS = 5
RECENT = 20
FINISHED = ("succeeded", "failed", "interrupted", "cancelled")


@dataclass(frozen=True)
class Scope:
    """``days`` whole UTC days ending today (``now``), optionally one agent and workflow.

    ``current_windows``: the start of the rate-limit window containing ``now`` per period
    (``minute``, ``hour``, ``day``), for ``near_limits``.
    """

    days: int
    now: datetime
    agent_id: int | None = None
    workflow: str | None = None
    current_windows: Mapping[str, datetime] = field(default_factory=dict)

    @property
    def first_day(self) -> date:
        return self.now.astimezone(timezone.utc).date() - timedelta(days=self.days - 1)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=timezone.utc)

    def runs(self, query: Select[Any]) -> Select[Any]:
        """``query`` restricted to the scope's runs."""
        query = query.where(Run.started_at >= self.since)
        if self.agent_id is not None:
            query = query.where(Run.agent_id == self.agent_id)
        if self.workflow is not None:
            query = query.where(Run.saved_workflow_name == self.workflow)
        return query

    def steps(self, query: Select[Any], *, join_runs: bool = False) -> Select[Any]:
        """``query`` over ``run_steps`` restricted to the scope's steps; ``runs`` is
        joined when a filter (or ``join_runs``) needs it."""
        query = query.where(RunStep.started_at >= self.since)
        if join_runs or self.agent_id is not None or self.workflow is not None:
            query = query.join(Run, Run.id == RunStep.run_id)
        if self.agent_id is not None:
            query = query.where(Run.agent_id == self.agent_id)
        if self.workflow is not None:
            query = query.where(Run.saved_workflow_name == self.workflow)
        return query


#: As the partial index ``ix_run_steps_retried`` says it (a literal, so the planner
#: can match the index's predicate).
RETRIED = json_array_length(RunStep.attempts) > literal_column("1")


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- the dashboard -----------------------------------------------------------------------

#: Run statuses counted per group (``running``/``queued`` have no duration yet).
COUNTED = ("succeeded", "failed", "interrupted", "cancelled", "running", "queued")
BOUNDS: tuple[int | None, ...] = (0, *DURATION_BUCKETS_MS, None)


@dataclass(frozen=True)
class RunGroup:
    """The scope's runs of one agent on one UTC day: counts, durations, duration buckets."""

    agent: str
    day: str
    total: int
    statuses: Mapping[str, int]
    timed: int
    duration_sum: int
    duration_min: int | None
    duration_max: int | None
    buckets: tuple[int, ...]

    @property
    def finished(self) -> int:
        return sum(self.statuses[status] for status in FINISHED)


def read_run_groups(session: Session, scope: Scope) -> list[RunGroup]:
    """The one scan of the period's runs behind the overview, timeline, per-agent figures
    and duration buckets: grouped by agent and UTC day (a few hundred rows at most)."""
    day = utc_day(Run.started_at)
    duration = Run.duration_ms
    buckets = [
        _count(duration < high if low == 0 else (duration >= low) if high is None
               else and_(duration >= low, duration < high))
        for low, high in zip(BOUNDS, BOUNDS[1:])
    ]
    query = scope.runs(select(
        Agent.name, day.label("day"), func.count(),
        *(_count(Run.status == status) for status in COUNTED),
        func.count(duration), func.coalesce(func.sum(duration), 0),
        func.min(duration), func.max(duration), *buckets,
    ).join(Agent, Agent.id == Run.agent_id)).group_by(Agent.id, Agent.name, day)
    groups = []
    for name, on, total, *rest in session.execute(query):
        statuses, (timed, summed, low, high), counts = (
            rest[:len(COUNTED)], rest[len(COUNTED):len(COUNTED) + 4], rest[len(COUNTED) + 4:])
        groups.append(RunGroup(
            agent=name, day=str(on), total=total, statuses=dict(zip(COUNTED, statuses)),
            timed=timed, duration_sum=int(summed), duration_min=low, duration_max=high,
            buckets=tuple(int(n) for n in counts),
        ))
    return groups


def _average(groups: Sequence[RunGroup]) -> float | None:
    timed = sum(g.timed for g in groups)
    return round(sum(g.duration_sum for g in groups) / timed, 2) if timed else None


def overview_of(groups: Sequence[RunGroup]) -> dict[str, Any]:
    count = {status: sum(g.statuses[status] for g in groups) for status in COUNTED}
    return {
        "total_executions": sum(g.total for g in groups),
        "successful_executions": count["succeeded"],
        "failed_executions": count["failed"],
        "interrupted": count["interrupted"],
        "cancelled": count["cancelled"],
        "running": count["running"],
        "queued": count["queued"],
        "success_rate": _rate(count["succeeded"], sum(g.finished for g in groups)),
        "average_duration_ms": _average(groups),
        "total_agents": len({g.agent for g in groups}),
        "top_agents": by_agent_of(groups)[:TOP_AGENTS],
    }


def timeline_of(scope: Scope, groups: Sequence[RunGroup]) -> list[dict[str, Any]]:
    """One row per UTC day of the period, days without runs included."""
    days: dict[str, list[RunGroup]] = {}
    for group in groups:
        days.setdefault(group.day, []).append(group)
    timeline = []
    for offset in range(scope.days):
        key = (scope.first_day + timedelta(days=offset)).isoformat()
        found = days.get(key, [])
        timeline.append({
            "date": key,
            "total": sum(g.total for g in found),
            "success": sum(g.statuses["succeeded"] for g in found),
            "failed": sum(g.statuses["failed"] for g in found),
        })
    return timeline


def by_agent_of(groups: Sequence[RunGroup]) -> list[dict[str, Any]]:
    """Per agent with runs in the period, busiest first."""
    agents: dict[str, list[RunGroup]] = {}
    for group in groups:
        agents.setdefault(group.agent, []).append(group)
    rows = [
        {"agent": name, "total": sum(g.total for g in mine),
         "succeeded": sum(g.statuses["succeeded"] for g in mine),
         "failed": sum(g.statuses["failed"] for g in mine),
         "success_rate": _rate(sum(g.statuses["succeeded"] for g in mine),
                               sum(g.finished for g in mine)),
         "average_duration_ms": _average(mine)}
        for name, mine in agents.items()
    ]
    return sorted(rows, key=lambda row: (-row["total"], row["agent"]))


def distribution_of(session: Session, scope: Scope, groups: Sequence[RunGroup]) -> dict[str, Any]:
    """Finished runs per duration bucket, with min, median and max (ms)."""
    timed = [g for g in groups if g.timed]
    count = sum(g.timed for g in timed)
    buckets = [
        {"label": _bucket_label(low, high), "min_ms": low, "max_ms": high,
         "count": sum(g.buckets[n] for g in groups)}
        for n, (low, high) in enumerate(zip(BOUNDS, BOUNDS[1:]))
    ]
    return {
        "buckets": buckets, "count": count,
        "min_ms": min((g.duration_min for g in timed), default=None),
        "median_ms": _median(session, scope, count),
        "max_ms": max((g.duration_max for g in timed), default=None),
    }


def read_overview(session: Session, scope: Scope) -> dict[str, Any]:
    return overview_of(read_run_groups(session, scope))


def read_timeline(session: Session, scope: Scope) -> list[dict[str, Any]]:
    return timeline_of(scope, read_run_groups(session, scope))


def read_operations(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per operation type over the period's steps, most used first."""
    query = scope.steps(select(
        RunStep.op_type, func.count().label("count"),
        func.avg(RunStep.duration_ms).label("average"),
        func.coalesce(func.sum(RunStep.duration_ms), 0).label("total"),
        _count(RunStep.status == "failed").label("failures"),
    ).select_from(RunStep)).group_by(RunStep.op_type)
    rows = session.execute(query.order_by(func.count().desc(), RunStep.op_type))
    return [
        {"operation_type": row.op_type, "count": row.count,
         "average_duration_ms": _ms(row.average), "total_duration_ms": int(row.total),
         "failures": row.failures}
        for row in rows
    ]


def read_recent_executions(session: Session, scope: Scope, limit: int = RECENT) -> list[dict[str, Any]]:
    """The newest runs of the period (``run_id`` reads its steps at /api/v1/admin/runs/ID)."""
    query = scope.runs(select(
        Run.id, Run.execution_id, Agent.name, Run.saved_workflow_name, Run.status,
        Run.started_at, Run.duration_ms, Run.error,
    ).join(Agent, Agent.id == Run.agent_id)).order_by(Run.id.desc()).limit(limit)
    return [
        {"run_id": row.id, "execution_id": row.execution_id, "agent": row.name,
         "workflow": row.saved_workflow_name, "status": row.status,
         "started_at": row.started_at.isoformat(), "duration_ms": row.duration_ms,
         "error": (row.error or {}).get("message")}
        for row in session.execute(query)
    ]


def _bucket_label(low: int, high: int | None) -> str:
    def text(ms: int) -> str:
        return f"{ms // 1000} s" if ms >= 1000 else f"{ms} ms"

    return f"< {text(high)}" if low == 0 else f">= {text(low)}" if high is None \
        else f"{text(low)}-{text(high)}"


def _median(session: Session, scope: Scope, count: int) -> float | None:
    """As ``percentile_cont(0.5)``: the middle value, or the mean of the middle two."""
    if not count:
        return None
    middle = scope.runs(select(Run.duration_ms).where(Run.duration_ms.is_not(None)))
    values = session.scalars(
        middle.order_by(Run.duration_ms).offset((count - 1) // 2).limit(2 - count % 2)
    ).all()
    return float(sum(values) / len(values))


def read_rate_limiting(session: Session, scope: Scope) -> dict[str, Any]:
    """Rejections per limit and agent in the period; agents whose current window is
    at least :data:`NEAR_LIMIT` full. (The workflow filter does not apply here.)"""
    rejected = func.sum(REJECTIONS.c.rejected)
    query = select(REJECTIONS.c.agent, REJECTIONS.c.kind, REJECTIONS.c.period,
                   rejected.label("rejections")).where(REJECTIONS.c.window_start >= scope.since)
    if scope.agent_id is not None:
        query = query.where(REJECTIONS.c.agent_id == scope.agent_id)
    query = query.group_by(REJECTIONS.c.agent, REJECTIONS.c.kind, REJECTIONS.c.period)
    rejections = [
        {"limit": f"{row.kind}_per_{row.period}", "agent": row.agent,
         "rejections": int(row.rejections)}
        for row in session.execute(query.order_by(rejected.desc(), REJECTIONS.c.agent))
    ]
    return {
        "total_rejections": sum(row["rejections"] for row in rejections),
        "rejections": rejections,
        "near_limits": _near_limits(session, scope),
    }


def _near_limits(session: Session, scope: Scope) -> list[dict[str, Any]]:
    if not scope.current_windows:
        return []
    current = or_(*(
        and_(UsageWindow.period == period, UsageWindow.window_start == start)
        for period, start in scope.current_windows.items()
    ))
    query = select(Agent.name, UsageWindow.kind, UsageWindow.period, UsageWindow.admitted,
                   UsageWindow.quota).join(Agent, Agent.id == UsageWindow.agent_id).where(
        current, UsageWindow.quota > 0, UsageWindow.admitted >= UsageWindow.quota * NEAR_LIMIT)
    if scope.agent_id is not None:
        query = query.where(UsageWindow.agent_id == scope.agent_id)
    return [
        {"agent": row.name, "limit": f"{row.kind}_per_{row.period}", "used": row.admitted,
         "quota": row.quota, "usage": round(row.admitted / row.quota, 4)}
        for row in session.execute(query.order_by(Agent.name, UsageWindow.kind, UsageWindow.period))
    ]


def read_retry(session: Session, scope: Scope) -> dict[str, Any]:
    """Retries of the period's steps: extra attempts, retried steps, runs that succeeded
    with a retried step that succeeded (recovered), retried steps that failed (give-ups)."""
    row = session.execute(scope.steps(select(
        func.coalesce(func.sum(json_array_length(RunStep.attempts) - 1), 0).label("retries"),
        func.count().label("retried_steps"),
        func.count(func.distinct(case(
            (and_(RunStep.status == "succeeded", Run.status == "succeeded"), Run.id)))
        ).label("recovered_runs"),
        _count(RunStep.status == "failed").label("give_ups"),
    ).select_from(RunStep).where(RETRIED), join_runs=True)).one()
    return {"retries": int(row.retries), "retried_steps": row.retried_steps,
            "recovered_runs": row.recovered_runs, "give_ups": row.give_ups}


def read_cache(session: Session, scope: Scope) -> dict[str, Any]:
    """Cache counters (totals since the start), entries and bytes held, and the period's
    steps answered from the cache."""
    counters = select(*(func.coalesce(func.sum(getattr(CACHE.c, name)), 0).label(name)
                        for name in ("hits", "misses", "evictions", "expirations",
                                     "invalidations", "writes")))
    entries = select(func.count(), func.coalesce(func.sum(CacheEntry.size_bytes), 0))
    if scope.agent_id is not None:
        counters = counters.where(CACHE.c.agent_id == scope.agent_id)
        entries = entries.where(CacheEntry.agent_id == scope.agent_id)
    totals = {name: int(value) for name, value in session.execute(counters).one()._mapping.items()}
    count, size = session.execute(entries).one()
    cached = session.scalar(scope.steps(
        select(func.count()).select_from(RunStep).where(RunStep.cached)))
    return {
        "hits": totals["hits"], "misses": totals["misses"],
        "hit_rate": _rate(totals["hits"], totals["hits"] + totals["misses"]),
        "entries": int(count), "bytes": int(size), "evictions": totals["evictions"],
        "expirations": totals["expirations"], "invalidations": totals["invalidations"],
        "writes": totals["writes"], "cached_steps": cached or 0,
    }


def read_period(scope: Scope) -> dict[str, Any]:
    return {"days": scope.days, "since": scope.since.isoformat(), "until": scope.now.isoformat()}


def read_metrics(session: Session, scope: Scope) -> dict[str, Any]:
    """Every part of the dashboard document."""
    groups = read_run_groups(session, scope)
    return {
        "period": read_period(scope),
        "overview": overview_of(groups),
        "timeline": timeline_of(scope, groups),
        "operations": read_operations(session, scope),
        "recent_executions": read_recent_executions(session, scope),
        "duration_distribution": distribution_of(session, scope, groups),
        "success_rate_by_agent": by_agent_of(groups),
        "rate_limiting": read_rate_limiting(session, scope),
        "retry": read_retry(session, scope),
        "cache": read_cache(session, scope),
    }


EXPORT_COLUMNS = ("run_id", "execution_id", "agent", "workflow", "status", "started_at",
                  "finished_at", "duration_ms", "error_type")


def read_export_rows(
    session: Session, scope: Scope, *, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Up to ``limit`` of the period's runs with ids above ``after_id``, oldest first."""
    query = scope.runs(select(
        Run.id, Run.execution_id, Agent.name, Run.saved_workflow_name, Run.status,
        Run.started_at, Run.finished_at, Run.duration_ms, Run.error,
    ).join(Agent, Agent.id == Run.agent_id)).where(Run.id > after_id)
    return [
        dict(zip(EXPORT_COLUMNS, (
            row.id, row.execution_id, row.name, row.saved_workflow_name, row.status,
            row.started_at.isoformat(),
            row.finished_at.isoformat() if row.finished_at else None,
            row.duration_ms, (row.error or {}).get("type"),
        )))
        for row in session.execute(query.order_by(Run.id).limit(limit))
    ]


# -- the Prometheus counters (every run and step the database holds) ----------------------

@dataclass(frozen=True)
class Counters:
    runs: dict[str, int]
    #: Cumulative counts per bucket bound (seconds), then the count and sum of finished runs.
    duration_buckets: list[tuple[float, int]]
    duration_count: int
    duration_sum_s: float
    steps: dict[tuple[str, str], int]
    rejections: dict[str, int]
    apicall_retries: int
    cache_hits: int
    cache_misses: int
    cache_entries: int
    cache_bytes: int
    queue_depth: int


def read_counters(session: Session) -> Counters:
    """The totals behind ``/metrics``: seven aggregate statements."""
    runs = {status: n for status, n in session.execute(
        select(Run.status, func.count()).group_by(Run.status))}
    duration = Run.duration_ms
    finished = select(
        *(_count(duration <= int(bound * 1000)) for bound in HISTOGRAM_BUCKETS_S),
        func.count(duration), func.coalesce(func.sum(duration), 0),
    ).where(duration.is_not(None))
    *cumulative, count, total_ms = session.execute(finished).one()
    steps = {(op_type, status): n for op_type, status, n in session.execute(
        select(RunStep.op_type, RunStep.status, func.count()).group_by(RunStep.op_type, RunStep.status))}
    rejections = {f"{kind}_per_{period}": int(n) for kind, period, n in session.execute(
        select(REJECTIONS.c.kind, REJECTIONS.c.period, func.sum(REJECTIONS.c.rejected))
        .group_by(REJECTIONS.c.kind, REJECTIONS.c.period))}
    # Only ApiCall steps make more than one attempt (each HTTP attempt is recorded).
    retries = session.scalar(select(
        func.coalesce(func.sum(json_array_length(RunStep.attempts) - 1), 0)
    ).where(RETRIED))
    hits, misses = session.execute(select(
        func.coalesce(func.sum(CACHE.c.hits), 0), func.coalesce(func.sum(CACHE.c.misses), 0))).one()
    entries, size = session.execute(
        select(func.count(), func.coalesce(func.sum(CacheEntry.size_bytes), 0))).one()
    return Counters(
        runs=runs,
        duration_buckets=list(zip(HISTOGRAM_BUCKETS_S, (int(n) for n in cumulative))),
        duration_count=int(count), duration_sum_s=float(total_ms) / 1000,
        steps=steps, rejections=rejections, apicall_retries=int(retries or 0),
        cache_hits=int(hits), cache_misses=int(misses), cache_entries=int(entries),
        cache_bytes=int(size), queue_depth=int(runs.get("queued", 0)),
    )

