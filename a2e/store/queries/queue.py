"""Asynchronous runs: the run row is the queue entry. Each function is one statement on a
Core connection the caller opened (``Database.connection(write=True, single_statement=True)``)
and never commits; claims and lease changes are conditional statements, never read-then-write.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, insert, literal, or_, select, update

from a2e.store.dialect import skip_locked, with_notify
from a2e.store.models import Run, RunStep
from a2e.store.owner import Owner

#: The channel that wakes idle workers on PostgreSQL (one notification per queued run).
QUEUE_CHANNEL = "a2e_queue"


@dataclass(frozen=True)
class ClaimedRun:
    """A run a worker now holds: what it needs to run or resume it."""

    run_id: int
    agent_id: int
    execution_id: str
    workflow_text: str
    saved_workflow_name: str | None
    saved_workflow_version: int | None
    claims: int
    callback_url: str | None
    in_flight: dict[str, Any] | None
    cancel_requested: bool
    queued_at: datetime | None


def enqueue_run(
    conn: Connection,
    *,
    agent_id: int,
    execution_id: str,
    owner: Owner,
    now: datetime,
    workflow_text: str,
    callback_url: str | None,
    saved_workflow_name: str | None = None,
    saved_workflow_version: int | None = None,
) -> int:
    """Insert a ``queued`` run (and wake listening workers); its id."""
    statement = with_notify(insert(Run).returning(Run.id), conn, QUEUE_CHANNEL)
    return conn.execute(statement, {
        "agent_id": agent_id,
        "execution_id": execution_id,
        "status": "queued",
        "owner_host": owner.host,
        "owner_pid": owner.pid,
        "owner_boot_id": owner.boot_id,
        "started_at": now,
        "queued_at": now,
        "is_async": True,
        "claims": 0,
        "workflow_text": workflow_text,
        "callback_url": callback_url,
        "saved_workflow_name": saved_workflow_name,
        "saved_workflow_version": saved_workflow_version,
    }).scalar_one()


_CLAIMED = (
    Run.id, Run.agent_id, Run.execution_id, Run.workflow_text, Run.saved_workflow_name,
    Run.saved_workflow_version, Run.claims, Run.callback_url, Run.in_flight,
    Run.cancel_requested_at, Run.queued_at,
)


def claim_run(
    conn: Connection,
    *,
    worker: str,
    owner: Owner,
    now: datetime,
    lease_until: datetime,
    skip_agents: Collection[int] = (),
) -> ClaimedRun | None:
    """Take the oldest queued run, or the oldest asynchronous run whose lease expired
    (its worker is gone), in one conditional ``UPDATE``; None when there is none."""
    claimable = and_(  # is_async first and alone: the partial index's own predicate
        Run.is_async.is_(True),
        or_(Run.status == "queued",
            and_(Run.status == "running", Run.lease_expires_at < now)),
    )
    candidate = select(Run.id).where(claimable)
    if skip_agents:
        candidate = candidate.where(Run.agent_id.not_in(list(skip_agents)))
    candidate = skip_locked(candidate.order_by(Run.id).limit(1), conn)
    row = conn.execute(
        update(Run)
        .where(Run.id == candidate.scalar_subquery(), claimable)
        .values(
            status="running",
            lease_owner=worker,
            lease_expires_at=lease_until,
            claims=Run.claims + 1,
            started_at=case((Run.claims == 0, now), else_=Run.started_at),
            owner_host=owner.host,
            owner_pid=owner.pid,
            owner_boot_id=owner.boot_id,
        )
        .returning(*_CLAIMED)
    ).first()
    if row is None:
        return None
    return ClaimedRun(
        run_id=row.id, agent_id=row.agent_id, execution_id=row.execution_id,
        workflow_text=row.workflow_text or "", saved_workflow_name=row.saved_workflow_name,
        saved_workflow_version=row.saved_workflow_version, claims=row.claims,
        callback_url=row.callback_url, in_flight=row.in_flight,
        cancel_requested=row.cancel_requested_at is not None, queued_at=row.queued_at,
    )


def renew_leases(
    conn: Connection, worker: str, run_ids: Collection[int], lease_until: datetime
) -> dict[int, bool]:
    """Extend this worker's leases on ``run_ids``: run id → cancel requested, for the runs
    it still holds (a run missing from the answer was taken over or ended elsewhere)."""
    if not run_ids:
        return {}
    rows = conn.execute(
        update(Run)
        .where(Run.id.in_(list(run_ids)), Run.lease_owner == worker, Run.status == "running")
        .values(lease_expires_at=lease_until)
        .returning(Run.id, Run.cancel_requested_at)
    )
    return {row.id: row.cancel_requested_at is not None for row in rows}


def release_run(conn: Connection, run_id: int, worker: str, *, unclaim: bool = False) -> bool:
    """Hand a run back to the queue (the worker stops before it ended); its steps stay.
    ``unclaim``: the worker did not start it (the agent was at its concurrent-runs limit),
    so the claim does not count."""
    values: dict[str, Any] = {"status": "queued", "lease_owner": None, "lease_expires_at": None}
    if unclaim:
        values["claims"] = Run.claims - 1
    return conn.execute(
        update(Run)
        .where(Run.id == run_id, Run.lease_owner == worker, Run.status == "running")
        .values(**values)
    ).rowcount == 1


def finish_claimed_run(
    conn: Connection,
    run_id: int,
    worker: str,
    *,
    status: str,
    finished_at: datetime,
    duration_ms: int,
    error: dict[str, Any] | None,
) -> bool:
    """Record the outcome of a run this worker holds; False when it lost the lease."""
    return conn.execute(
        update(Run)
        .where(Run.id == run_id, Run.lease_owner == worker, Run.status == "running")
        .values(status=status, finished_at=finished_at, duration_ms=duration_ms, error=error,
                lease_expires_at=None)
    ).rowcount == 1


def set_in_flight(conn: Connection, run_id: int, marker: dict[str, Any] | None) -> None:
    conn.execute(update(Run).where(Run.id == run_id).values(in_flight=marker))


def request_cancel(conn: Connection, run_id: int, now: datetime) -> str | None:
    """Ask a run to stop: a queued one is ``cancelled`` at once, a running one is flagged
    (its worker stops it). The status after the request, or None when it had ended."""
    row = conn.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(("queued", "running")))
        .values(
            cancel_requested_at=now,
            status=case((Run.status == "queued", "cancelled"), else_=Run.status),
            finished_at=case((Run.status == "queued", now), else_=Run.finished_at),
            duration_ms=case((Run.status == "queued", 0), else_=Run.duration_ms),
            error=case(
                (Run.status == "queued", literal(dict(CANCELLED_BEFORE_START), Run.error.type)),
                else_=Run.error,
            ),
        )
        .returning(Run.status)
    ).first()
    return None if row is None else row.status


CANCELLED_BEFORE_START: Mapping[str, Any] = {
    "type": "ExecutionError",
    "message": "run cancelled before it started",
    "details": {"reason": "cancelled"},
}


def read_recorded_steps(conn: Connection, run_id: int) -> list[Any]:
    """The run's recorded steps by position (what a resumed run replays)."""
    return list(conn.execute(
        select(RunStep).where(RunStep.run_id == run_id).order_by(RunStep.position)
    ).mappings())
