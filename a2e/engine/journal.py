"""What a durable (queued) run adds to the runner: checkpoints where it may be cancelled
or handed back, the steps a resumed run replays instead of running, and the in-flight
step a resume must know about. The queue (``a2e.queue``) implements it over SQL.

Replay follows DBOS / Temporal: the workflow is executed again from its first operation,
and each step with a recorded outcome returns that outcome (its output written where the
operation writes it) instead of running; the first step without one runs for real.
Operations that run others (Loop, Conditional: :func:`nests`) always run again (they
have no effect of their own) so that the steps inside them replay one by one.
"""

from __future__ import annotations

from typing import Any, Protocol

from a2e.engine.ports import StepRecord
from a2e.errors import A2EError
from a2e.protocol.catalog import OpSpec
from a2e.protocol.model import Operation


def nests(spec: OpSpec) -> bool:
    """Whether the operation runs other operations (Loop, Conditional): re-run on replay,
    its body replayed step by step."""
    return bool(spec.keys_with("body", "branch"))


class HandBack(BaseException):  # noqa: N818 - control flow, not an error of the run
    """The worker stops before the run ended: the run goes back to the queue as it is.

    A BaseException so that no ``except Exception`` records it as the step's failure.
    """


class RunJournal(Protocol):
    run_id: int

    def checkpoint(self) -> None:
        """At each step boundary: raise RunCancelled or HandBack when the run must stop."""

    def recorded(self, position: int) -> StepRecord | None:
        """The recorded outcome of the step at ``position``, if it finished before."""

    def begin(self, position: int, op: Operation) -> None:
        """Before ``op`` runs for real at ``position``: note it if it waits or has an outside
        effect; raise RunInterrupted when it was in flight and must not run twice."""


class RecordedError(A2EError):
    """A step's recorded failure, raised again when a resumed run replays it."""

    def __init__(self, recorded: dict[str, Any]) -> None:
        super().__init__(str(recorded.get("message", "")), operation_id=recorded.get("operationId"))
        self.recorded = dict(recorded)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.recorded)
