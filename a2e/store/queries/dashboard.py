"""The dashboard's figures and the Prometheus counters, in a few aggregate statements.

A :class:`Scope` is the period (whole UTC days up to now), optionally one agent and one
saved workflow. Run figures count runs *started* in the period; step figures count the
steps started in the period (of the agent's or workflow's runs). Each run and step
figure is one statement: the sum of the rollup rows (:mod:`a2e.store.rollup`) of the
period plus the same aggregate over the runs not rolled yet (unfinished, or finished at
or after the watermark: ``ix_runs_finished_at``) and their steps (by ``run_id``); read
in one snapshot (``Database.session(snapshot=True)``), the watermark and the rollups
agree, so every run is counted once. Rate-limit rejections come from the
``rate_limit_rejections`` view (windows that started in the period) and cache counters
from ``cache_efficiency``: those counters are running totals per agent and type, so the
period does not apply to them (``cached_steps`` is the period's figure). Rows are plain
dicts ready for JSON.
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
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from a2e.store.dialect import json_array_length, utc_day
from a2e.store.models import (
    Agent,
    CacheEntry,
    Run,
    RunDurationRollup,
    RunRollup,
    RunStep,
    StepRollup,
    UsageWindow,
)
from a2e.store.models.rollups import (
    BUCKET_COLUMNS,
    HISTOGRAM_BUCKETS_S,
    HISTOGRAM_COLUMNS,
)
from a2e.store.rollup import (
    BOUNDS,
    RETRIED,
    bucket_conditions,
    histogram_conditions,
    not_rolled,
    recovered,
    rolled_until,
)

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

    def runs(self, query: Select[Any], *, since: bool = True) -> Select[Any]:
        """``query`` restricted to the scope's runs (``since=False``: of any start)."""
        if since:
            query = query.where(Run.started_at >= self.since)
        if self.agent_id is not None:
            query = query.where(Run.agent_id == self.agent_id)
        if self.workflow is not None:
            query = query.where(Run.saved_workflow_name == self.workflow)
        return query

    def live_steps(self, query: Select[Any], until: datetime) -> Select[Any]:
        """``query`` over the scope's steps of the runs not rolled up by ``until``."""
        return self.runs(query.select_from(Run).join(RunStep, RunStep.run_id == Run.id).where(
            not_rolled(until), RunStep.started_at >= self.since), since=False)

    def rolled(self, query: Select[Any], rollup: Any) -> Select[Any]:
        """``query`` over a rollup table restricted to the scope (hours or days)."""
        start = rollup.day >= self.first_day if hasattr(rollup, "day") else rollup.hour >= self.since
        query = query.where(start)
        if self.agent_id is not None:
            query = query.where(rollup.agent_id == self.agent_id)
        if self.workflow is not None:
            query = query.where(rollup.workflow == self.workflow)
        return query


def _sum(value: Any) -> Any:
    return func.coalesce(func.sum(value), 0)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


ONE = literal_column("1")


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- the dashboard -----------------------------------------------------------------------

#: Run statuses counted per group (``running``/``queued`` have no duration yet).
COUNTED = ("succeeded", "failed", "interrupted", "cancelled", "running", "queued")


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
    recovered: int

    @property
    def finished(self) -> int:
        return sum(self.statuses[status] for status in FINISHED)


def read_run_groups(session: Session, scope: Scope) -> list[RunGroup]:
    """The one statement behind the overview, timeline, per-agent figures, duration
    buckets and recovered runs: the period's rollup rows and runs not rolled yet,
    grouped by agent and UTC day (a few hundred rows at most)."""
    duration = Run.duration_ms
    rolled = scope.rolled(select(
        RunRollup.agent_id, utc_day(RunRollup.hour).label("day"), RunRollup.status,
        RunRollup.runs, RunRollup.timed, RunRollup.duration_sum, RunRollup.duration_min,
        RunRollup.duration_max, RunRollup.recovered,
        *(RunRollup.__table__.c[name] for name in BUCKET_COLUMNS),
    ), RunRollup)
    live = scope.runs(select(
        Run.agent_id, utc_day(Run.started_at), Run.status, ONE, _flag(duration.is_not(None)),
        func.coalesce(duration, 0), duration, duration, recovered(),
        *(_flag(condition) for condition in bucket_conditions(duration)),
    ).where(not_rolled(rolled_until(session))))
    both = union_all(rolled, live).subquery()
    query = select(
        Agent.name, both.c.day, _sum(both.c.runs),
        *(_sum(case((both.c.status == status, both.c.runs), else_=0)) for status in COUNTED),
        _sum(both.c.timed), _sum(both.c.duration_sum), func.min(both.c.duration_min),
        func.max(both.c.duration_max), _sum(both.c.recovered),
        *(_sum(both.c[name]) for name in BUCKET_COLUMNS),
    ).join(Agent, Agent.id == both.c.agent_id).group_by(Agent.id, Agent.name, both.c.day)
    groups = []
    for name, on, total, *rest in session.execute(query):
        statuses, rest = rest[:len(COUNTED)], rest[len(COUNTED):]
        (timed, summed, low, high, saved), counts = rest[:5], rest[5:]
        groups.append(RunGroup(
            agent=name, day=str(on), total=int(total),
            statuses={status: int(n) for status, n in zip(COUNTED, statuses)},
            timed=int(timed), duration_sum=int(summed), duration_min=low, duration_max=high,
            buckets=tuple(int(n) for n in counts), recovered=int(saved),
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
        "median_ms": _median(session, scope),
        "max_ms": max((g.duration_max for g in timed), default=None),
    }


def read_overview(session: Session, scope: Scope) -> dict[str, Any]:
    return overview_of(read_run_groups(session, scope))


def read_timeline(session: Session, scope: Scope) -> list[dict[str, Any]]:
    return timeline_of(scope, read_run_groups(session, scope))


@dataclass(frozen=True)
class StepGroup:
    """The scope's steps of one operation type and status."""

    op_type: str
    status: str
    steps: int
    duration_sum: int
    retried: int
    retries: int
    cached: int


def read_step_groups(session: Session, scope: Scope) -> list[StepGroup]:
    """The one statement behind the operations, retry and cached-step figures: the
    period's step rollup rows and the steps of runs not rolled yet, per type and status."""
    attempts = json_array_length(RunStep.attempts)
    rolled = scope.rolled(select(
        StepRollup.op_type, StepRollup.status, StepRollup.steps, StepRollup.duration_sum,
        StepRollup.retried, StepRollup.retries, StepRollup.cached,
    ), StepRollup)
    live = scope.live_steps(select(
        RunStep.op_type, RunStep.status, ONE, RunStep.duration_ms, _flag(RETRIED),
        case((RETRIED, attempts - 1), else_=0), _flag(RunStep.cached),
    ), rolled_until(session))
    both = union_all(rolled, live).subquery()
    query = select(both.c.op_type, both.c.status, *(
        _sum(both.c[name]) for name in ("steps", "duration_sum", "retried", "retries", "cached")
    )).group_by(both.c.op_type, both.c.status)
    return [StepGroup(op_type, status, *(int(n) for n in counts))
            for op_type, status, *counts in session.execute(query)]


def operations_of(groups: Sequence[StepGroup]) -> list[dict[str, Any]]:
    """Per operation type over the period's steps, most used first."""
    types: dict[str, list[StepGroup]] = {}
    for group in groups:
        types.setdefault(group.op_type, []).append(group)
    rows = []
    for op_type, mine in types.items():
        count, total = sum(g.steps for g in mine), sum(g.duration_sum for g in mine)
        rows.append({
            "operation_type": op_type, "count": count,
            "average_duration_ms": _ms(total / count) if count else None,
            "total_duration_ms": total,
            "failures": sum(g.steps for g in mine if g.status == "failed"),
        })
    return sorted(rows, key=lambda row: (-row["count"], row["operation_type"]))


def read_operations(session: Session, scope: Scope) -> list[dict[str, Any]]:
    return operations_of(read_step_groups(session, scope))


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


def _median(session: Session, scope: Scope) -> float | None:
    """As ``percentile_cont(0.5)``: the middle value, or the mean of the middle two,
    exact: runs per duration from ``run_duration_rollups`` and the runs not rolled yet
    (one row per distinct duration)."""
    rolled = scope.rolled(select(RunDurationRollup.duration_ms, RunDurationRollup.runs),
                          RunDurationRollup)
    live = scope.runs(select(Run.duration_ms, ONE).where(
        Run.duration_ms.is_not(None), not_rolled(rolled_until(session))))
    both = union_all(rolled, live).subquery()
    counts = session.execute(select(both.c.duration_ms, func.sum(both.c.runs))
                             .group_by(both.c.duration_ms).order_by(both.c.duration_ms)).all()
    total = sum(int(n) for _, n in counts)
    if not total:
        return None
    wanted, values, seen = ((total - 1) // 2, total // 2), [], 0
    for duration, n in counts:
        seen += int(n)
        values += [duration for position in wanted if seen - int(n) <= position < seen]
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


def retry_of(runs: Sequence[RunGroup], steps: Sequence[StepGroup]) -> dict[str, Any]:
    """Retries of the period's steps: extra attempts, retried steps, retried steps that
    failed (give-ups); runs started in the period that succeeded with a retried step
    that succeeded (recovered)."""
    return {"retries": sum(g.retries for g in steps), "retried_steps": sum(g.retried for g in steps),
            "recovered_runs": sum(g.recovered for g in runs),
            "give_ups": sum(g.retried for g in steps if g.status == "failed")}


def read_cache(session: Session, scope: Scope, steps: Sequence[StepGroup]) -> dict[str, Any]:
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
    return {
        "hits": totals["hits"], "misses": totals["misses"],
        "hit_rate": _rate(totals["hits"], totals["hits"] + totals["misses"]),
        "entries": int(count), "bytes": int(size), "evictions": totals["evictions"],
        "expirations": totals["expirations"], "invalidations": totals["invalidations"],
        "writes": totals["writes"], "cached_steps": sum(g.cached for g in steps),
    }


def read_period(scope: Scope) -> dict[str, Any]:
    return {"days": scope.days, "since": scope.since.isoformat(), "until": scope.now.isoformat()}


def read_metrics(session: Session, scope: Scope) -> dict[str, Any]:
    """Every part of the dashboard document."""
    groups, steps = read_run_groups(session, scope), read_step_groups(session, scope)
    return {
        "period": read_period(scope),
        "overview": overview_of(groups),
        "timeline": timeline_of(scope, groups),
        "operations": operations_of(steps),
        "recent_executions": read_recent_executions(session, scope),
        "duration_distribution": distribution_of(session, scope, groups),
        "success_rate_by_agent": by_agent_of(groups),
        "rate_limiting": read_rate_limiting(session, scope),
        "retry": retry_of(groups, steps),
        "cache": read_cache(session, scope, steps),
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
    """The totals behind ``/metrics``: every rollup row plus the runs not rolled yet, in
    two statements over runs and steps and four over rejections and the cache."""
    until = rolled_until(session)
    duration = Run.duration_ms
    rolled = select(RunRollup.status, RunRollup.runs, RunRollup.timed, RunRollup.duration_sum,
                    *(RunRollup.__table__.c[name] for name in HISTOGRAM_COLUMNS))
    live = select(Run.status, ONE, _flag(duration.is_not(None)), func.coalesce(duration, 0),
                  *(_flag(condition) for condition in histogram_conditions(duration)),
                  ).where(not_rolled(until))
    both = union_all(rolled, live).subquery()
    by_status = session.execute(select(both.c.status, *(
        _sum(both.c[name]) for name in ("runs", "timed", "duration_sum", *HISTOGRAM_COLUMNS)
    )).group_by(both.c.status)).all()
    runs = {status: int(n) for status, n, *_ in by_status}
    count = sum(int(row[2]) for row in by_status)
    total_ms = sum(int(row[3]) for row in by_status)
    cumulative = [sum(int(row[4 + n]) for row in by_status) for n in range(len(HISTOGRAM_COLUMNS))]
    attempts = json_array_length(RunStep.attempts)
    rolled_steps = select(StepRollup.op_type, StepRollup.status, StepRollup.steps,
                          StepRollup.retries)
    live_steps = select(RunStep.op_type, RunStep.status, ONE,
                        case((RETRIED, attempts - 1), else_=0)).select_from(Run).join(
        RunStep, RunStep.run_id == Run.id).where(not_rolled(until))
    steps_both = union_all(rolled_steps, live_steps).subquery()
    step_rows = session.execute(select(
        steps_both.c.op_type, steps_both.c.status, _sum(steps_both.c.steps),
        _sum(steps_both.c.retries),
    ).group_by(steps_both.c.op_type, steps_both.c.status)).all()
    steps = {(op_type, status): int(n) for op_type, status, n, _ in step_rows}
    # Only ApiCall steps make more than one attempt (each HTTP attempt is recorded).
    retries = sum(int(r) for *_, r in step_rows)
    rejections = {f"{kind}_per_{period}": int(n) for kind, period, n in session.execute(
        select(REJECTIONS.c.kind, REJECTIONS.c.period, func.sum(REJECTIONS.c.rejected))
        .group_by(REJECTIONS.c.kind, REJECTIONS.c.period))}
    hits, misses = session.execute(select(
        func.coalesce(func.sum(CACHE.c.hits), 0), func.coalesce(func.sum(CACHE.c.misses), 0))).one()
    entries, size = session.execute(
        select(func.count(), func.coalesce(func.sum(CacheEntry.size_bytes), 0))).one()
    return Counters(
        runs=runs,
        duration_buckets=list(zip(HISTOGRAM_BUCKETS_S, cumulative)),
        duration_count=count, duration_sum_s=float(total_ms) / 1000,
        steps=steps, rejections=rejections, apicall_retries=retries,
        cache_hits=int(hits), cache_misses=int(misses), cache_entries=int(entries),
        cache_bytes=int(size), queue_depth=int(runs.get("queued", 0)),
    )
