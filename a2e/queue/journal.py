"""The SQL side of a queued run's journal (:class:`a2e.engine.journal.RunJournal`).

On a resume (the run's previous worker stopped), steps with a recorded outcome are
replayed; the step that was in flight is handled by what it is:

- a blocking operation (Wait) resumes for the time it has left (measured from when it
  began);
- an operation that sends a request (an outside effect with a ``url``: ApiCall) runs
  again only if its method is GET, HEAD or OPTIONS or it has an ``idempotencyKey``;
  otherwise the run ends ``interrupted``, because the request may have reached its
  server and must not be sent twice;
- anything else runs again: another outside effect (StoreData) writes the same value
  under the same key, the rest has no effect outside the run.

The specs say which is which (``OpSpec.blocking``, ``outside_effect``). Before a
blocking or outside-effect operation runs, the run row notes it (``runs.in_flight``) so
that a resume knows what was in flight and since when.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse

from a2e.engine.ops import REGISTRY
from a2e.engine.ports import Clock, StepRecord
from a2e.errors import RunInterrupted
from a2e.protocol.model import Operation
from a2e.queue.control import RunControl
from a2e.store.queries import queue as queries
from a2e.store.session import Database

#: Request methods that may be sent again after a crash.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def step_record(row: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        op_id=row["operation_id"], op_type=row["op_type"], position=row["position"],
        iteration=row["iteration"], status=row["status"], attempts=row["attempts"] or [],
        started_at=row["started_at"], finished_at=row["finished_at"],
        duration_ms=row["duration_ms"], result=row["result"], error=row["error"],
        cached=bool(row["cached"]), cached_at=row["cached_at"],
    )


class SqlRunJournal:
    """One claim of one queued run."""

    def __init__(
        self,
        db: Database,
        run_id: int,
        control: RunControl,
        clock: Clock,
        *,
        recorded: Mapping[int, StepRecord],
        in_flight: Mapping[str, Any] | None,
    ) -> None:
        self.db = db
        self.run_id = run_id
        self.control = control
        self.clock = clock
        self._recorded = dict(recorded)
        self._in_flight = dict(in_flight) if in_flight else None
        self.resumed_in_flight: str | None = None

    @classmethod
    def load(cls, db: Database, run_id: int, control: RunControl, clock: Clock,
             in_flight: Mapping[str, Any] | None, *, resumed: bool) -> SqlRunJournal:
        recorded: dict[int, StepRecord] = {}
        if resumed:
            with db.connection() as conn:
                rows = queries.read_recorded_steps(conn, run_id)
            recorded = {row["position"]: step_record(row) for row in rows}
        return cls(db, run_id, control, clock, recorded=recorded,
                   in_flight=in_flight if resumed else None)

    @property
    def replayable(self) -> int:
        return len(self._recorded)

    def checkpoint(self) -> None:
        self.control.raise_if_stopped()

    def recorded(self, position: int) -> StepRecord | None:
        return self._recorded.get(position)

    def begin(self, position: int, op: Operation) -> None:
        marker = self._in_flight
        if marker is not None and position >= marker.get("position", -1):
            self._in_flight = None  # only the first step not recorded can be the one
            if marker.get("position") == position and marker.get("operation_id") == op.op_id:
                if self._resume_in_flight(op, marker):
                    return
        spec = REGISTRY[op.op_type] if op.op_type in REGISTRY else None
        if spec is not None and (spec.blocking or spec.outside_effect):
            self._note(position, op, self.clock.now())

    def _resume_in_flight(self, op: Operation, marker: Mapping[str, Any]) -> bool:
        """The step in flight when the last worker stopped; True when its marker stays."""
        spec = REGISTRY[op.op_type]
        if spec.blocking:
            began = isoparse(marker["started_at"])
            self.control.credit_s = max(0.0, (self.clock.now() - began).total_seconds())
            self.resumed_in_flight = f"{op.op_type} resumed after {self.control.credit_s:.1f} s"
            return True
        if spec.outside_effect and spec.keys_with("url"):
            method = str(op.config.get("method", "GET")).upper()
            if method not in SAFE_METHODS and "idempotencyKey" not in op.config:
                raise RunInterrupted(
                    f"{op.op_type} {op.op_id!r} ({method}) was in flight when its worker stopped; "
                    "it may have reached its server, and without an idempotencyKey it is "
                    "not sent again",
                    operation_id=op.op_id,
                    details={"reason": "interrupted", "method": method},
                    suggestions=["Give non-idempotent requests an idempotencyKey so that a "
                                 "resumed run may send them again"],
                )
        self.resumed_in_flight = f"{op.op_type} run again"
        return False

    def _note(self, position: int, op: Operation, now: datetime) -> None:
        marker = {"position": position, "operation_id": op.op_id, "type": op.op_type,
                  "started_at": now.isoformat()}
        if "method" in op.config:
            marker["method"] = str(op.config.get("method", "GET")).upper()
        with self.db.connection(write=True, single_statement=True) as conn:
            queries.set_in_flight(conn, self.run_id, marker)
