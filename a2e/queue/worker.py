"""The queue worker: threads that claim queued runs and run them, one heartbeat that
renews their leases, and (PostgreSQL) a listener that wakes idle threads when a run is
queued. ``a2e worker`` runs one in its own process; each ``a2e serve`` process runs one
with ``queue.workers_per_server`` threads.

A claim is one conditional ``UPDATE`` (:func:`a2e.store.queries.queue.claim_run`). The
heartbeat renews every lease this worker holds in one statement twice a second and, in
the same statement, learns which runs were asked to stop; a run it no longer holds was
taken over by another worker (this one was presumed dead) and stops without finishing.
:meth:`QueueWorker.stop` (SIGTERM) stops claiming, lets runs finish for a grace period,
then hands the rest back to the queue at their next step boundary or sleep.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from flask import Flask, g
from sqlalchemy import select as sql_select
from sqlalchemy.exc import SQLAlchemyError

from a2e.api.auth import Principal
from a2e.api.events import record_event, record_event_in
from a2e.api.runtime import AuditedRunEvents
from a2e.api.services import build_runner
from a2e.api.state import AppState
from a2e.audit import actions
from a2e.engine.journal import HandBack
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import AgentContext, RunFinish, SavedWorkflowRef, StepRecord
from a2e.engine.runner import Runner
from a2e.errors import A2EError, PermissionDenied, RateLimited
from a2e.protocol.workflow import parse_workflow
from a2e.queue.control import CANCEL, HAND_BACK, LOST, InterruptibleClock, RunControl, running
from a2e.queue.journal import SqlRunJournal
from a2e.queue.webhooks import WebhookSender, delivery_for
from a2e.store.adapters import SqlRunRecorder, SqlValueStore
from a2e.store.base import utcnow
from a2e.store.dialect import listen_connection
from a2e.store.models import Agent
from a2e.store.owner import current_owner
from a2e.store.queries import audit as audit_queries
from a2e.store.queries import queue as queries
from a2e.store.queries import webhooks as webhook_queries

log = logging.getLogger("a2e.worker")
#: How often the heartbeat renews leases and looks for cancel requests (seconds).
HEARTBEAT_S = 0.5
#: How long an agent at its concurrent-runs limit is skipped by this worker's claims.
BUSY_AGENT_S = 1.0


class QueueRunRecorder:
    """Steps as the SQL recorder writes them; the outcome (with the steps not committed
    yet, its audit event and its webhook delivery, in one transaction) only while this
    worker still holds the run."""

    def __init__(self, app_state: AppState, worker_id: str, sender: WebhookSender) -> None:
        self.db = app_state.db
        self.worker_id = worker_id
        self.sender = sender
        self.events = AuditedRunEvents()
        self.steps = SqlRunRecorder(self.db, events=self.events)
        #: run id → why its worker asked it to stop (None: it was not asked).
        self.stop_reason: Any = lambda run_id: None
        self.callbacks: dict[int, tuple[str, str]] = {}  # run id → (execution id, url)

    def start_run(self, start: Any) -> int:  # pragma: no cover - queued runs exist already
        raise NotImplementedError("a queued run's row is written when it is submitted")

    def commit_steps(self, run_id: int, steps: Sequence[StepRecord]) -> None:
        self.steps.write_steps(run_id, steps)

    # A queued run holds no transaction open: its row exists before it runs.
    def start_open(self, run_id: int) -> bool:
        return False

    def abandon(self, run_id: int) -> None:
        pass

    def finish_run(self, run_id: int, finish: RunFinish,
                   steps: Sequence[StepRecord] = ()) -> None:
        if finish.status == "failed" and self.stop_reason(run_id) == CANCEL:
            # a step cut short by the cancel (an ApiCall in flight) failed because of it
            finish = replace(finish, status="cancelled", error={
                "type": "ExecutionError", "message": "run cancelled",
                "details": {"reason": "cancelled", "step_error": finish.error}})
        callback = self.callbacks.pop(run_id, None)
        with self.db.connection(write=True) as conn:
            held = queries.finish_claimed_run(
                conn, run_id, self.worker_id, status=finish.status,
                finished_at=finish.finished_at, duration_ms=finish.duration_ms,
                error=finish.error,
            )
            if not held:  # another worker took the run over: its outcome is not ours
                return
            self.steps._write_steps(conn, run_id, steps)  # noqa: SLF001 - same rows, same tx
            audit_queries.insert_events(
                conn, [row for row in [self.events.finished(run_id, finish)] if row])
            if callback is not None:
                execution_id, url = callback
                webhook_queries.create_delivery(
                    conn, run_id, url, delivery_for(execution_id, finish), finish.finished_at
                )
        if callback is not None:
            self.sender.wake()


@dataclass
class _Held:
    control: RunControl
    run_id: int


class QueueWorker:
    """``concurrency`` threads running queued runs for ``app``."""

    def __init__(self, app: Flask, concurrency: int, *, name: str = "worker") -> None:
        self.app = app
        self.app_state: AppState = app.extensions["a2e"]
        queue = self.app_state.settings.queue
        self.concurrency = concurrency
        self.lease = timedelta(seconds=float(queue["lease_s"]))
        self.poll_s = float(queue["poll_s"])
        owner = current_owner()
        self.worker_id = f"{owner.host}:{owner.pid}:{name}-{uuid.uuid4().hex[:8]}"
        self.clock = InterruptibleClock(self.app_state.services.clock)
        self.sender = WebhookSender(self.app_state)
        self.recorder = QueueRunRecorder(self.app_state, self.worker_id, self.sender)
        self.recorder.stop_reason = self._stop_reason
        self._runner: Runner | None = None
        self._held: dict[int, _Held] = {}
        self._held_lock = threading.Lock()
        self._busy_agents: dict[int, float] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._claimers: list[threading.Thread] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> QueueWorker:
        self.app_state.services.queue_worker = self
        for index in range(self.concurrency):
            self._claimers.append(self._spawn(self._claim_loop, f"a2e-queue-{index}"))
        self._spawn(self._heartbeat_loop, "a2e-queue-heartbeat")
        self._spawn(self._listen_loop, "a2e-queue-listen")
        self.sender.start()
        log.info("queue worker %s started with %d thread(s)", self.worker_id, self.concurrency)
        return self

    def _spawn(self, target: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _stop_reason(self, run_id: int) -> str | None:
        held = self._held.get(run_id)
        return held.control.reason if held else None

    def wake(self) -> None:
        """A run was queued in this process: let an idle thread look now."""
        self._wake.set()

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop claiming; runs in flight get ``grace_s`` to finish, then are handed back."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace_s
        while self._held and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._held_lock:
            for held in self._held.values():
                held.control.stop(HAND_BACK)
        for thread in self._claimers:
            thread.join(timeout=max(1.0, self.lease.total_seconds()))
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self.sender.stop()
        log.info("queue worker %s stopped", self.worker_id)

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            services = self.app_state.services
            self._runner = build_runner(
                self.app_state.settings, clock=self.clock, rate_limits=services.rate_limits,
                cache=services.cache, credentials=services.credentials,
                recorder=self.recorder,
                values=SqlValueStore(self.app_state.db),
            )
        return self._runner

    # -- claiming -------------------------------------------------------------------

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self._claim()
            except SQLAlchemyError as exc:
                log.warning("queue claim failed (%s); retrying", type(exc).__name__)
                claimed = None
            if claimed is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                self._run(claimed)
            except Exception:  # a worker thread must survive one bad run
                log.exception("queued run %s failed in the worker", claimed.run_id)
                self._fail_crashed(claimed)

    def _claim(self) -> queries.ClaimedRun | None:
        now_mono = time.monotonic()
        busy = [agent for agent, until in self._busy_agents.items() if until > now_mono]
        now = utcnow()
        with self.app_state.db.connection(write=True, single_statement=True) as conn:
            return queries.claim_run(
                conn, worker=self.worker_id, owner=current_owner(), now=now,
                lease_until=now + self.lease, skip_agents=busy,
            )

    # -- running one run -------------------------------------------------------------

    def _run(self, claimed: queries.ClaimedRun) -> None:
        control = RunControl()
        with self._held_lock:
            self._held[claimed.run_id] = _Held(control, claimed.run_id)
        try:
            with self.app.app_context():
                self._run_in_app(claimed, control)
        finally:
            with self._held_lock:
                self._held.pop(claimed.run_id, None)

    def _run_in_app(self, claimed: queries.ClaimedRun, control: RunControl) -> None:
        principal = self._principal(claimed.agent_id)
        g.principal = principal
        if principal is None:
            self._finish_now(claimed, "failed", PermissionDenied(
                "the run's agent is disabled or gone").to_dict())
            return
        if claimed.cancel_requested:
            self._finish_now(claimed, "cancelled", dict(queries.CANCELLED_BEFORE_START))
            return
        slots = self.app_state.services.run_slots
        try:
            with slots.slot(principal) if slots is not None else nullcontext():
                self._execute(claimed, control, principal)
        except RateLimited:  # at the agent's concurrent-runs limit: back to the queue
            self._busy_agents[claimed.agent_id] = time.monotonic() + BUSY_AGENT_S
            with self.app_state.db.connection(write=True, single_statement=True) as conn:
                queries.release_run(conn, claimed.run_id, self.worker_id, unclaim=True)

    def _execute(self, claimed: queries.ClaimedRun, control: RunControl,
                 principal: Principal) -> None:
        resumed = claimed.claims > 1
        journal = SqlRunJournal.load(
            self.app_state.db, claimed.run_id, control, self.clock, claimed.in_flight,
            resumed=resumed,
        )
        record_event(actions.RUN_RESUMED if resumed else actions.RUN_STARTED,
                     target=f"run:{claimed.run_id}",
                     details={"execution_id": claimed.execution_id, "claim": claimed.claims,
                              "worker": self.worker_id, "replayed_steps": journal.replayable})
        if claimed.callback_url:
            self.recorder.callbacks[claimed.run_id] = (claimed.execution_id, claimed.callback_url)
        try:
            workflow = parse_workflow(claimed.workflow_text, REGISTRY)
        except A2EError as exc:
            self._finish_now(claimed, "failed", exc.to_dict())
            return
        saved = (SavedWorkflowRef(claimed.saved_workflow_name, claimed.saved_workflow_version)
                 if claimed.saved_workflow_name else None)
        try:
            with running(control):
                self.runner.execute(
                    workflow,
                    agent=AgentContext(principal.agent_id, principal.permissions()),
                    execution_id=claimed.execution_id,
                    workflow_text=claimed.workflow_text,
                    saved_workflow=saved,
                    journal=journal,
                )
        except HandBack as stopped:
            self.recorder.callbacks.pop(claimed.run_id, None)
            self._hand_back(claimed, str(stopped))

    def _principal(self, agent_id: int) -> Principal | None:
        with self.app_state.db.session() as session:
            agent = session.scalar(sql_select(Agent).where(Agent.id == agent_id))
            if agent is None or agent.disabled:
                return None
            ops = agent.allowed_operations
            return Principal(
                agent_id=agent.id, name=agent.name, is_admin=agent.is_admin,
                allowed_operations=None if ops is None else frozenset(ops),
                allowed_hosts=tuple(agent.allowed_hosts or ()),
            )

    def _finish_now(self, claimed: queries.ClaimedRun, status: str,
                    error: dict[str, Any]) -> None:
        """End a claimed run without running it."""
        if claimed.callback_url:
            self.recorder.callbacks[claimed.run_id] = (claimed.execution_id, claimed.callback_url)
        finish = RunFinish(status, {}, error, utcnow(), 0)  # type: ignore[arg-type]
        self.recorder.finish_run(claimed.run_id, finish, [])

    def _fail_crashed(self, claimed: queries.ClaimedRun) -> None:
        """End a run the worker itself failed on, so that it is not claimed again forever."""
        error = {"type": "ExecutionError", "message": "the worker failed on this run; the "
                 "server log has the details", "details": {"reason": "worker_error"}}
        try:
            with self.app.app_context():
                self._finish_now(claimed, "failed", error)
        except Exception:  # noqa: BLE001 - the lease expires; another worker tries again
            log.exception("could not record the failure of run %s", claimed.run_id)

    def _hand_back(self, claimed: queries.ClaimedRun, reason: str) -> None:
        if reason == LOST:
            log.warning("run %s was taken over by another worker; this one stops",
                        claimed.run_id)
            return
        with self.app_state.db.connection(write=True) as conn:
            released = queries.release_run(conn, claimed.run_id, self.worker_id)
            if released:
                record_event_in(conn, actions.RUN_HANDED_BACK, target=f"run:{claimed.run_id}",
                                details={"execution_id": claimed.execution_id,
                                         "worker": self.worker_id})
        if released:
            self._wake.set()

    # -- heartbeat and wake-ups ------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = min(HEARTBEAT_S, self.lease.total_seconds() / 3)
        while not self._done.wait(interval):
            with self._held_lock:
                held = dict(self._held)
            if not held:
                continue
            now = utcnow()
            try:
                with self.app_state.db.connection(write=True, single_statement=True) as conn:
                    still = queries.renew_leases(conn, self.worker_id, held, now + self.lease)
            except SQLAlchemyError as exc:
                log.warning("lease renewal failed (%s); retrying", type(exc).__name__)
                continue
            for run_id, entry in held.items():
                if run_id not in still:
                    entry.control.stop(LOST)
                elif still[run_id]:
                    entry.control.stop(CANCEL)

    def _listen_loop(self) -> None:
        """PostgreSQL: wake an idle thread on each ``NOTIFY a2e_queue``."""
        while not self._stopping.is_set():
            try:
                conn = listen_connection(self.app_state.db.engine, queries.QUEUE_CHANNEL)
                if conn is None:
                    return  # no notifications here: the claim loops poll
            except Exception as exc:  # noqa: BLE001 - polling still works without it
                log.warning("cannot LISTEN (%s); polling every %.1f s", type(exc).__name__,
                            self.poll_s)
                self._stopping.wait(max(self.poll_s, 5.0))
                continue
            try:
                while not self._stopping.is_set():
                    for _ in conn.notifies(timeout=self.poll_s, stop_after=1):
                        self._wake.set()
            except Exception as exc:  # noqa: BLE001
                log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                conn.close()
