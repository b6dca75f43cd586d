"""The engine's ports implemented in SQL (Core, not the ORM: these run on every execute).

The run recorder commits a run in two transactions, its start and its finish, plus
one per batch of steps the runner asks to make durable early; on SQLite, a
self-contained run's start stays open and commits with its finish, one transaction in
all (``store.dialect.holds_run_start_open``). The audit events of a run are rows of
those same transactions (unsealed; ``a2e.audit.seal`` chains them).
They run on the driver's own connection (:meth:`Database.driver_transaction`), the
query modules' Core statements compiled once. The other ports run one statement per
call.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from a2e.engine.clock import SystemClock
from a2e.engine.ports import Clock, DuplicateExecution, RunFinish, RunStart, StepRecord
from a2e.store.base import utcnow
from a2e.store.dialect import commit_without_flush, holds_run_start_open, upsert
from a2e.store.driver import DriverTransaction, Refused, Tail
from a2e.store.models import StoredValue
from a2e.store.owner import current_owner
from a2e.store.queries import audit as audit_queries
from a2e.store.queries import runs as run_queries
from a2e.store.queries.usage import NO_RUN_SLOT
from a2e.store.session import Database

log = logging.getLogger("a2e.runs")
Row = Mapping[str, Any]


class SlotLeases(Protocol):
    """Run slots taken and freed inside the recorder's transactions (``a2e.limits.slots``)."""

    def acquire_in(self, tx: DriverTransaction, agent_id: int, limit: int) -> Callable[[], int]:
        """The lease id, to read after the commit; raises :class:`a2e.errors.RateLimited`
        when no slot is free (on a pipelined transaction: fails the commit with
        ``Refused(NO_RUN_SLOT)``)."""

    def release_in(self, tx: DriverTransaction | Tail, lease_id: int) -> None: ...


class RunEvents(Protocol):
    """The audit rows of a run's changes (None: not recorded), written in their transaction."""

    def started(self, run_id: int, start: RunStart) -> Row | None: ...

    def step_failed(self, run_id: int, step: StepRecord) -> Row | None: ...

    def finished(self, run_id: int, finish: RunFinish) -> Row | None: ...

    def interrupted(self, run_id: int, reason: str) -> Row | None: ...


@dataclass
class _OpenStart:
    """A run's start left uncommitted: closing ``stack`` commits it (rolls it back when
    closed with an exception)."""

    stack: ExitStack
    tx: DriverTransaction
    start: RunStart

    def roll_back(self) -> None:
        try:
            with self.stack:
                raise _Abandoned
        except _Abandoned:
            pass


class _Abandoned(Exception):
    """Closes an open start's transaction with a rollback."""


class SqlRunRecorder:
    """Commits a run's start (slot, run row, event) and its finish (steps left, outcome,
    events, slot release) as one transaction each, or, a self-contained run's on SQLite,
    both as one; steps in between on request."""

    def __init__(
        self, db: Database, *, slots: SlotLeases | None = None, events: RunEvents | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()  # when a run cut short by a failed commit ends
        self.slots = slots
        self.events = events
        self._leases: dict[int, int] = {}  # run id -> its slot lease
        #: How a start with no outside effect commits without waiting for the disk.
        self._no_flush = commit_without_flush(db.dialect)
        self._holds = holds_run_start_open(db.dialect)
        self._open: dict[int, _OpenStart] = {}  # run id -> its start, not committed yet
        self._lock = threading.Lock()

    def start_run(self, start: RunStart) -> int:
        try:
            return self._start(start, pipelined=True)
        except Refused as refused:
            if refused.reason != NO_RUN_SLOT:
                if start.admission is not None:
                    raise start.admission.refused() from refused
                raise
        # At the concurrent-runs limit: again, taking the lease at once (in the same
        # lock order), after sweeping stale leases; RateLimited if none is free.
        return self._start(start, pipelined=False)

    def _start(self, start: RunStart, *, pipelined: bool) -> int:
        """The start's transaction; when ``pipelined`` (PostgreSQL) its event, count and
        slot lease travel with the COMMIT, so the agent's window and agent rows stay
        locked only while the server runs them; and for a run with no outside effect that
        COMMIT does not wait for the disk either (``RunStart.outside_effects``)."""
        saved = start.saved_workflow
        agent_id = int(start.agent_id)
        stack, held = ExitStack(), None
        try:
            with stack:
                tx = stack.enter_context(self.db.driver_transaction(pipelined=pipelined))
                run_id = run_queries.create_run(
                    tx,
                    agent_id=agent_id,
                    execution_id=start.execution_id,
                    owner=current_owner(),
                    started_at=start.started_at,
                    workflow_text=start.workflow_text,
                    saved_workflow_name=saved.name if saved else None,
                    saved_workflow_version=saved.version if saved else None,
                )
                if not start.outside_effects and self._no_flush is not None:
                    tx.at_commit(self._no_flush)
                if self.events is not None:
                    self._insert_events(tx.tail, [self.events.started(run_id, start)])
                # Last, so that the window and agent rows stay locked only until the commit.
                if start.admission is not None:
                    start.admission.count_in(tx)
                lease = None
                if self.slots is not None and start.concurrent_runs is not None:
                    lease = self.slots.acquire_in(tx, agent_id, start.concurrent_runs)
                if start.self_contained and self._holds:
                    held = _OpenStart(stack.pop_all(), tx, start)  # not committed on the way out
        except IntegrityError:
            with self.db.session() as session:
                existing = run_queries.read_run_by_execution_id(
                    session, agent_id, start.execution_id
                )
            if existing is None:
                raise
            raise DuplicateExecution(existing.id, start.execution_id) from None
        if held is not None:
            with self._lock:
                self._open[run_id] = held
        try:
            if start.admission is not None:
                start.admission.committed()
            if lease is not None:
                with self._lock:
                    self._leases[run_id] = lease()
        except BaseException:
            self.abandon(run_id)  # no run to finish: nothing may stay open
            raise
        return run_id

    def start_open(self, run_id: int) -> bool:
        with self._lock:
            return run_id in self._open

    def _take_open(self, run_id: int) -> _OpenStart | None:
        with self._lock:
            return self._open.pop(run_id, None)

    def abandon(self, run_id: int) -> None:
        held = self._take_open(run_id)
        if held is not None:
            held.roll_back()

    def commit_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        """With the start when it is still open. If the commit fails, no finish follows:
        the run is marked ``interrupted`` (its start recorded again first, counted, when
        it was open), as a failed finish leaves it."""
        held = self._take_open(run_id)
        try:
            if held is not None:
                with held.stack:
                    self._write_steps(held.tx, run_id, steps)
            else:
                self.write_steps(run_id, steps)
        except SQLAlchemyError:
            with self._lock:
                lease = self._leases.pop(run_id, None)  # rolled back with an open start
            if held is not None:
                self._record_interrupted(held.start, self._cut_short(held.start.started_at))
            else:
                self._give_up(run_id, None, lease)
            raise

    def write_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        """The steps in a transaction of their own, and nothing else if it fails (a queued
        run's worker: its run resumes elsewhere)."""
        with self.db.driver_transaction() as tx:
            self._write_steps(tx.tail, run_id, steps)

    def finish_run(self, run_id: int, finish: RunFinish, steps: Sequence[StepRecord]) -> None:
        with self._lock:
            lease = self._leases.pop(run_id, None)
        held = self._take_open(run_id)
        if held is not None:
            try:
                with held.stack:
                    self._write_finish(held.tx, run_id, finish, steps, lease)
            except SQLAlchemyError:
                self._record_interrupted(held.start, finish)
                raise
            return
        try:
            with self.db.driver_transaction() as tx:
                # Nothing here is read before the commit: one round trip on PostgreSQL.
                self._write_finish(tx.tail, run_id, finish, steps, lease)
        except SQLAlchemyError:
            self._give_up(run_id, finish, lease)
            raise

    def _write_finish(self, tx: DriverTransaction | Tail, run_id: int, finish: RunFinish,
                      steps: Sequence[StepRecord], lease: int | None) -> None:
        self._write_steps(tx, run_id, steps)
        run_queries.update_run_status(
            tx,
            run_id,
            status=finish.status,
            finished_at=finish.finished_at,
            duration_ms=finish.duration_ms,
            error=finish.error,
        )
        if self.events is not None:
            self._insert_events(tx, [self.events.finished(run_id, finish)])
        if lease is not None and self.slots is not None:
            self.slots.release_in(tx, lease)

    def _record_interrupted(self, start: RunStart, finish: RunFinish) -> None:
        """After the one transaction of a self-contained run failed, nothing of it is
        written: record its start again (counted, in its own transaction) and mark it
        ``interrupted``, as a failed finish leaves any other run."""
        try:
            run_id = self._start(dataclasses.replace(start, self_contained=False),
                                 pipelined=False)
        except Exception as exc:  # noqa: BLE001 - the finish's own error is raised after
            log.error("a run's start could not be recorded after its finish failed: %s: %s",
                      type(exc).__name__, exc)
            return
        with self._lock:
            lease = self._leases.pop(run_id, None)
        self._give_up(run_id, finish, lease)

    def _cut_short(self, started_at: datetime) -> RunFinish:
        """How a run ends that stops now, its outcome not recorded."""
        now = self.clock.now()
        duration_ms = max(0, int((now - started_at).total_seconds() * 1000))
        return RunFinish("interrupted", {}, None, now, duration_ms)

    def _give_up(self, run_id: int, finish: RunFinish | None, lease: int | None) -> None:
        """After a failed finish (``finish``) or a failed commit of steps (None: the run
        ends now): mark the run ``interrupted`` and free its slot, in a transaction of its
        own. If that fails too, the run stays ``running`` with the steps committed
        before, for the startup recovery and the lease expiry."""
        reason = "its outcome could not be recorded"
        try:
            if finish is None:
                with self.db.engine.connect() as conn:
                    finish = self._cut_short(conn.scalar(run_queries.started_at_of(run_id)))
            with self.db.driver_transaction() as tx:
                marked = run_queries.mark_run_interrupted(
                    tx, run_id, finish.finished_at, finish.duration_ms, reason
                )
                if marked and self.events is not None:
                    self._insert_events(tx, [self.events.interrupted(run_id, reason)])
                if lease is not None and self.slots is not None:
                    self.slots.release_in(tx, lease)
        except SQLAlchemyError as exc:
            log.error("run %s left running after a failed finish: %s: %s", run_id,
                      type(exc).__name__, exc)

    def _write_steps(
        self, tx: DriverTransaction | Tail | Connection, run_id: int, steps: Sequence[StepRecord]
    ) -> None:
        """The steps' rows and their ``step.failed`` events (the queue worker's finish
        passes its Core connection)."""
        if not steps:
            return
        run_queries.create_steps(tx, run_id, [
            {
                "position": step.position,
                "operation_id": step.op_id,
                "op_type": step.op_type,
                "iteration": step.iteration,
                "status": step.status,
                "attempts": step.attempts,
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "duration_ms": step.duration_ms,
                "result": step.result,
                "error": step.error,
                "cached": step.cached,
                "cached_at": step.cached_at,
            }
            for step in steps
        ])
        if self.events is not None:
            events = self.events
            self._insert_events(
                tx, [events.step_failed(run_id, step) for step in steps if step.status == "failed"]
            )

    @staticmethod
    def _insert_events(
        tx: DriverTransaction | Tail | Connection, rows: Sequence[Row | None]
    ) -> None:
        audit_queries.insert_events(tx, [row for row in rows if row is not None])


class SqlValueStore:
    """StoreData values per agent (``storage`` ``db``), upserted in one statement."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, agent_id: Any, storage: str, key: str, value: Any) -> None:
        now = utcnow()
        statement = upsert(self.db.dialect, StoredValue).values(
            agent_id=int(agent_id), key=key, storage=storage, value=value,
            created_at=now, updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[StoredValue.agent_id, StoredValue.key],
            set_={"value": statement.excluded.value, "storage": storage, "updated_at": now},
        )
        with self.db.connection(write=True, single_statement=True) as conn:
            conn.execute(statement)

    def get(self, agent_id: Any, key: str) -> Any:
        with self.db.connection(single_statement=True) as conn:
            row = conn.execute(
                select(StoredValue.value).where(
                    StoredValue.agent_id == int(agent_id), StoredValue.key == key
                )
            ).first()
        if row is None:
            raise KeyError(key)
        return row.value
