"""The rollups' roller: finished runs and their steps added to the hourly rollups, once.

A roll takes the runs whose ``finished_at`` falls in ``[rolled_until, upto)`` and, in the
same transaction, moves the one watermark row from ``rolled_until`` to ``upto`` with a
conditional ``UPDATE`` (``WHERE rolled_until = <what this roller read>``): of several
rollers (every server process runs one) racing over a range, one updates the row and
the others update nothing and roll back, so no range is counted twice or skipped.
``upto`` is at most ``now - grace``, so that a run whose finish commits late (or was
stamped by a host whose clock is a little behind) is still in the live part when the
roll passes its ``finished_at``; a transaction rolls at most :data:`BATCH` of
``finished_at`` (a backlog is rolled in several). Each run is counted in the hour it
started, each step in the hour it started.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, insert, literal_column, select, update
from sqlalchemy.orm import Session

from a2e.store.dialect import json_array_length, upsert, utc_day, utc_hour
from a2e.store.models import RollupWatermark, Run, RunDurationRollup, RunRollup, RunStep, StepRollup
from a2e.store.models.rollups import (
    BUCKET_COLUMNS,
    DURATION_BUCKETS_MS,
    HISTOGRAM_BUCKETS_S,
    HISTOGRAM_COLUMNS,
)
from a2e.store.session import Database

log = logging.getLogger("a2e.rollup")
#: The most ``finished_at`` one roll transaction covers.
BATCH = timedelta(hours=1)
BOUNDS: tuple[int | None, ...] = (0, *DURATION_BUCKETS_MS, None)
WATERMARK_ID = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: As the partial index ``ix_run_steps_retried`` says it (a literal, so the planner
#: can match the index's predicate).
RETRIED = json_array_length(RunStep.attempts) > literal_column("1")


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def bucket_conditions(duration: Any) -> list[Any]:
    """Per dashboard bucket (:data:`BUCKET_COLUMNS`): ``low <= duration < high``."""
    return [duration < high if low == 0 else (duration >= low) if high is None
            else and_(duration >= low, duration < high)
            for low, high in zip(BOUNDS, BOUNDS[1:])]


def histogram_conditions(duration: Any) -> list[Any]:
    """Per Prometheus bucket (:data:`HISTOGRAM_COLUMNS`): ``duration <= bound``."""
    return [duration <= round(bound * 1000) for bound in HISTOGRAM_BUCKETS_S]


def recovered(run: Any = Run) -> Any:
    """1 for a succeeded run with a succeeded step that took more than one attempt."""
    retried = select(RunStep.id).where(RunStep.run_id == run.id, RunStep.status == "succeeded",
                                       RETRIED).exists()
    return case((and_(run.status == "succeeded", retried), 1), else_=0)


def workflow_of(run: Any = Run) -> Any:
    """The rollups' ``workflow``: the saved workflow's name, ``''`` for ad-hoc ones (a
    literal, so that the same expression can be grouped by on PostgreSQL)."""
    return func.coalesce(run.saved_workflow_name, literal_column("''"))


def reset_watermark() -> Any:
    """The watermark row as the migration makes it (nothing rolled), for a table emptied
    by ``TRUNCATE`` with the rollups (benchmark fills, test databases)."""
    return insert(RollupWatermark).values(id=WATERMARK_ID, rolled_until=EPOCH)


def rolled_until(session: Session) -> datetime:
    return session.scalar(select(RollupWatermark.rolled_until)
                          .where(RollupWatermark.id == WATERMARK_ID))


def not_rolled(since: datetime) -> Any:
    """The runs the rollups do not hold when the watermark is ``since``."""
    return (Run.finished_at.is_(None)) | (Run.finished_at >= since)


def _merge(session: Session, table: Any, keys: list[str], rows: Any) -> None:
    """``INSERT … SELECT`` of aggregated ``rows``, adding to the rows already there."""
    columns = [c.name for c in rows.selected_columns]
    statement = upsert(session, table).from_select(columns, rows)
    merged = {name: _merged(name, table.c[name], statement.excluded[name])
              for name in columns if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=merged))


def _merged(name: str, old: Any, new: Any) -> Any:
    """A rollup column after adding ``new`` to ``old``: the least or greatest of the
    duration bounds (either may be null), the sum of the counts."""
    if name == "duration_min":
        return case((new < old, new), else_=func.coalesce(old, new))
    if name == "duration_max":
        return case((new > old, new), else_=func.coalesce(old, new))
    return old + new


def _roll_range(session: Session, start: datetime, end: datetime) -> None:
    runs = Run.finished_at >= start, Run.finished_at < end
    duration = Run.duration_ms
    _merge(session, RunRollup.__table__, ["hour", "agent_id", "workflow", "status"], select(
        utc_hour(Run.started_at).label("hour"), Run.agent_id.label("agent_id"),
        workflow_of().label("workflow"), Run.status.label("status"),
        func.count().label("runs"), func.count(duration).label("timed"),
        func.coalesce(func.sum(duration), 0).label("duration_sum"),
        func.min(duration).label("duration_min"), func.max(duration).label("duration_max"),
        func.sum(recovered()).label("recovered"),
        *(_count(c).label(n) for c, n in zip(bucket_conditions(duration), BUCKET_COLUMNS)),
        *(_count(c).label(n) for c, n in zip(histogram_conditions(duration), HISTOGRAM_COLUMNS)),
    ).where(*runs).group_by(utc_hour(Run.started_at), Run.agent_id, workflow_of(), Run.status))
    _merge(session, RunDurationRollup.__table__, ["day", "agent_id", "workflow", "duration_ms"],
           select(
        utc_day(Run.started_at).label("day"), Run.agent_id.label("agent_id"),
        workflow_of().label("workflow"), duration.label("duration_ms"),
        func.count().label("runs"),
    ).where(*runs, duration.is_not(None))
        .group_by(utc_day(Run.started_at), Run.agent_id, workflow_of(), duration))
    step_hour = utc_hour(RunStep.started_at)
    _merge(session, StepRollup.__table__,
           ["hour", "agent_id", "workflow", "op_type", "status"], select(
        step_hour.label("hour"), Run.agent_id.label("agent_id"),
        workflow_of().label("workflow"), RunStep.op_type.label("op_type"),
        RunStep.status.label("status"), func.count().label("steps"),
        func.coalesce(func.sum(RunStep.duration_ms), 0).label("duration_sum"),
        _count(RETRIED).label("retried"),
        func.coalesce(func.sum(case((RETRIED, json_array_length(RunStep.attempts) - 1),
                                    else_=0)), 0).label("retries"),
        _count(RunStep.cached).label("cached"),
    ).select_from(Run).join(RunStep, RunStep.run_id == Run.id).where(*runs)
        .group_by(step_hour, Run.agent_id, workflow_of(), RunStep.op_type, RunStep.status))


def roll_batch(db: Database, cutoff: datetime) -> datetime | None:
    """Roll one batch of the runs finished before ``cutoff`` (one transaction): the new
    watermark, or None when there was nothing to roll or another roller took the range."""
    with db.session(write=True) as session:
        start = rolled_until(session)
        if start >= cutoff:
            return None
        first = session.scalar(select(func.min(Run.finished_at))
                               .where(Run.finished_at >= start, Run.finished_at < cutoff))
        end = cutoff if first is None else min(cutoff, first + BATCH)
        claimed = session.execute(
            update(RollupWatermark)
            .where(RollupWatermark.id == WATERMARK_ID, RollupWatermark.rolled_until == start)
            .values(rolled_until=end)
        ).rowcount
        if not claimed:
            return None
        if first is not None:
            _roll_range(session, start, end)
        return end


def roll(db: Database, cutoff: datetime) -> datetime:
    """Roll every run finished before ``cutoff`` (batch by batch); the watermark after."""
    while (end := roll_batch(db, cutoff)) is not None and end < cutoff:
        pass
    with db.session() as session:
        return rolled_until(session)


class BackgroundRoller:
    """A daemon thread rolling every ``interval_s`` (± 10 %, so that the processes sharing a
    database spread out) up to ``now() - grace_s``."""

    def __init__(self, db: Database, now: Callable[[], datetime], *,
                 interval_s: float, grace_s: float) -> None:
        self.db = db
        self.now = now
        self.interval_s = interval_s
        self.grace = timedelta(seconds=grace_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def cutoff(self) -> datetime:
        return self.now() - self.grace

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="a2e-roller", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s * random.uniform(0.9, 1.1)):
            try:
                roll(self.db, self.cutoff())
            except Exception as exc:  # noqa: BLE001 - the thread must outlive a bad round
                log.error("rolling up runs failed: %s: %s", type(exc).__name__, exc)
