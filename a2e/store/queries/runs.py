"""Runs and their steps. Functions take the session (or, for the run recorder's writes,
its driver transaction, :mod:`a2e.store.driver`) first and never commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from a2e.store.driver import DriverTransaction, Tail
from a2e.store.models import Run, RunStep
from a2e.store.owner import Owner


def create_run(
    conn: DriverTransaction | Tail | Connection | Session,
    *,
    agent_id: int,
    execution_id: str,
    owner: Owner,
    started_at: datetime,
    workflow_text: str | None,
    saved_workflow_name: str | None = None,
    saved_workflow_version: int | None = None,
) -> int:
    """Insert a ``running`` run; its id."""
    return conn.execute(_INSERT_RUN, {
        "agent_id": agent_id,
        "execution_id": execution_id,
        "status": "running",
        "owner_host": owner.host,
        "owner_pid": owner.pid,
        "owner_boot_id": owner.boot_id,
        "started_at": started_at,
        "workflow_text": workflow_text,
        "saved_workflow_name": saved_workflow_name,
        "saved_workflow_version": saved_workflow_version,
    }).scalar_one()


def create_step(conn: Connection | Session, run_id: int, **values: Any) -> None:
    conn.execute(_INSERT_STEP, {"run_id": run_id, **values})


def create_steps(
    conn: DriverTransaction | Tail | Connection | Session, run_id: int,
    steps: Sequence[dict[str, Any]],
) -> None:
    """Insert many steps of one run in one statement."""
    conn.execute(_INSERT_STEP, [{"run_id": run_id, **values} for values in steps])


def mark_run_interrupted(
    conn: DriverTransaction | Tail | Connection, run_id: int, finished_at: datetime,
    duration_ms: int, reason: str,
) -> bool:
    """Mark one ``running`` run ``interrupted`` for ``reason``; False if it was not running."""
    return bool(conn.execute(_MARK_INTERRUPTED, {
        "run_id": run_id, "finished_at": finished_at, "duration_ms": duration_ms,
        "error": {"type": "ExecutionError", "message": f"run interrupted: {reason}",
                  "details": {"reason": "interrupted"}},
    }).rowcount)


def started_at_of(run_id: int) -> Select[tuple[datetime]]:
    return select(Run.started_at).where(Run.id == run_id)


_MARK_INTERRUPTED = (
    update(Run)
    .where(Run.id == bindparam("run_id"), Run.status == "running")
    .values(status="interrupted", finished_at=bindparam("finished_at"),
            duration_ms=bindparam("duration_ms"), error=bindparam("error", type_=Run.error.type))
)


_INSERT_RUN = insert(Run).returning(Run.id)
_INSERT_STEP = insert(RunStep)


def update_run_status(
    conn: DriverTransaction | Tail | Connection | Session,
    run_id: int,
    *,
    status: str,
    finished_at: datetime,
    duration_ms: int,
    error: dict[str, Any] | None,
) -> None:
    conn.execute(_UPDATE_STATUS, {
        "run_id": run_id, "status": status, "finished_at": finished_at,
        "duration_ms": duration_ms, "error": error,
    })


_UPDATE_STATUS = (
    update(Run)
    .where(Run.id == bindparam("run_id"))
    .values(
        status=bindparam("status"), finished_at=bindparam("finished_at"),
        duration_ms=bindparam("duration_ms"), error=bindparam("error", type_=Run.error.type),
    )
)


def read_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def read_run_by_execution_id(session: Session, agent_id: int, execution_id: str) -> Run | None:
    return session.scalar(
        select(Run).where(Run.agent_id == agent_id, Run.execution_id == execution_id)
    )


def read_runs_by_execution_id(session: Session, execution_id: str, limit: int = 2) -> Sequence[Run]:
    """Runs of any agent with this execution id (unique per agent only)."""
    return session.scalars(
        select(Run).where(Run.execution_id == execution_id).order_by(Run.id).limit(limit)
    ).all()


def read_runs(
    session: Session,
    *,
    limit: int,
    agent_id: int | None = None,
    status: str | None = None,
    execution_id: str | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
) -> Sequence[Run]:
    """Newest first; ``before_id`` is the keyset cursor (the last id of the previous page);
    ``since``: only runs started then or later."""
    query = select(Run)
    if agent_id is not None:
        query = query.where(Run.agent_id == agent_id)
    if status is not None:
        query = query.where(Run.status == status)
    if execution_id is not None:
        query = query.where(Run.execution_id == execution_id)
    if before_id is not None:
        query = query.where(Run.id < before_id)
    if since is not None:
        query = query.where(Run.started_at >= since)
    return session.scalars(query.order_by(Run.id.desc()).limit(limit)).all()


def read_steps(session: Session, run_id: int) -> Sequence[RunStep]:
    return session.scalars(
        select(RunStep).where(RunStep.run_id == run_id).order_by(RunStep.position)
    ).all()


def count_running(session: Session, agent_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Run).where(Run.agent_id == agent_id, Run.status == "running")
    ) or 0


def mark_interrupted(
    session: Session, owner: Owner, now: datetime, alive: Callable[[int], bool]
) -> list[Run]:
    """Mark ``interrupted`` the synchronous runs of ``owner.host`` left running by a process
    that is gone (asynchronous ones are resumed by another worker when their lease expires).

    Gone: another boot of the machine, or a pid that is no longer alive.
    """
    stale = [
        run
        for run in session.scalars(
            select(Run).where(Run.status == "running", Run.owner_host == owner.host,
                              Run.is_async.is_(False))  # queued runs resume on lease expiry
        )
        if run.owner_boot_id != owner.boot_id or not alive(run.owner_pid)
    ]
    for run in stale:
        reason = (
            "the machine restarted during the run"
            if run.owner_boot_id != owner.boot_id
            else f"the server process {run.owner_pid} ended during the run"
        )
        run.status = "interrupted"
        run.finished_at = now
        run.duration_ms = max(0, int((now - run.started_at).total_seconds() * 1000))
        run.error = {"type": "ExecutionError", "message": f"run interrupted: {reason}",
                     "details": {"reason": "interrupted"}}
    session.flush()
    return stale


def delete_finished_runs(session: Session, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` finished runs started before ``before`` (steps cascade)."""
    ids = session.scalars(
        select(Run.id)
        .where(Run.status.not_in(("running", "queued")), Run.started_at < before)
        .order_by(Run.id)
        .limit(batch)
    ).all()
    if not ids:
        return 0
    session.execute(delete(RunStep).where(RunStep.run_id.in_(ids)))
    session.execute(delete(Run).where(Run.id.in_(ids)))
    return len(ids)
