"""Finished runs and their steps aggregated per hour, agent, saved workflow and status.

The background roller (:mod:`a2e.store.rollup`) adds the runs whose ``finished_at`` falls
in ``[rolled_until, cutoff)`` and moves :class:`RollupWatermark` to the cutoff in the same
transaction; the dashboard and ``/metrics`` sum these rows and read only the runs not
rolled yet. ``workflow`` is the saved workflow's name, ``''`` for ad-hoc workflows.
Bucket columns are named after :data:`DURATION_BUCKETS_MS` and
:data:`HISTOGRAM_BUCKETS_S` (changing those needs a migration).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from a2e.store.base import Base, UTCDateTime

#: Upper bounds (ms, exclusive) of the dashboard's duration buckets; the last is open.
DURATION_BUCKETS_MS = (100, 500, 1_000, 5_000, 30_000)
#: Upper bounds (seconds, inclusive) of ``a2e_run_duration_seconds``.
HISTOGRAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: The dashboard's bucket columns: runs with ``low <= duration_ms < high``.
BUCKET_COLUMNS = (*(f"under_{high}ms" for high in DURATION_BUCKETS_MS),
                  f"from_{DURATION_BUCKETS_MS[-1]}ms")
#: Prometheus' cumulative bucket columns: runs with ``duration_ms <= bound``.
HISTOGRAM_COLUMNS = tuple(f"le_{round(bound * 1000)}ms" for bound in HISTOGRAM_BUCKETS_S)


def _agent() -> Mapped[int]:
    return mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)


class RunRollup(Base):
    __tablename__ = "run_rollups"

    #: The UTC hour the runs started in.
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    agent_id: Mapped[int] = _agent()
    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer)
    #: Runs with a duration, its sum, min and max (ms).
    timed: Mapped[int] = mapped_column(Integer)
    duration_sum: Mapped[int] = mapped_column(BigInteger)
    duration_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Succeeded runs with a succeeded step that took more than one attempt.
    recovered: Mapped[int] = mapped_column(Integer)


for _name in (*BUCKET_COLUMNS, *HISTOGRAM_COLUMNS):
    setattr(RunRollup, _name, Column(_name, Integer, nullable=False))


class RunDurationRollup(Base):
    """How many runs of a UTC day (of ``started_at``) took each duration: the exact median."""

    __tablename__ = "run_duration_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[int] = _agent()
    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    duration_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer)


class StepRollup(Base):
    __tablename__ = "step_rollups"

    #: The UTC hour the steps started in.
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    agent_id: Mapped[int] = _agent()
    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    op_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    steps: Mapped[int] = mapped_column(Integer)
    duration_sum: Mapped[int] = mapped_column(BigInteger)
    #: Steps with more than one attempt, and their attempts after the first.
    retried: Mapped[int] = mapped_column(Integer)
    retries: Mapped[int] = mapped_column(Integer)
    cached: Mapped[int] = mapped_column(Integer)


class RollupWatermark(Base):
    """One row: every run with ``finished_at`` before ``rolled_until`` is in the rollups."""

    __tablename__ = "rollup_watermark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rolled_until: Mapped[datetime] = mapped_column(UTCDateTime)
