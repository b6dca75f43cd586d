"""The app's services, built once per app by ``create_app`` through :func:`build_services`.

Every long-lived object the API and the engine share is a typed field of :class:`Services`,
reached as ``state().services.<field>``. Resource modules only register routes; they read
services, never create them. Adding a service is one field here and one line in
:func:`build_services`.
"""

from __future__ import annotations

import atexit
import weakref
from dataclasses import dataclass
from typing import Protocol

from flask import has_app_context
from prometheus_client import CollectorRegistry

from a2e.api.dashboard.collector import registry_for
from a2e.api.events import record_event
from a2e.api.runtime import AuditedRunEvents
from a2e.audit import BackgroundSealer, Sealer, actions, chain_key
from a2e.audit.log import AuditLog
from a2e.config import Settings
from a2e.crypto import SecretBox
from a2e.engine.ops import REGISTRY
from a2e.engine.ports import Clock, RunRecorder, ValueStore
from a2e.engine.retry import RetryPolicy
from a2e.engine.runner import Runner
from a2e.limits.service import RateLimits
from a2e.limits.slots import RunSlots
from a2e.limits.windows import Window
from a2e.protocol.model import ExecutionLimits
from a2e.store.adapters import SqlRunRecorder, SqlValueStore
from a2e.store.cache import CachePolicy, SqlResultCache
from a2e.store.credentials import SqlCredentialStore
from a2e.store.rollup import BackgroundRoller
from a2e.store.schema_state import SchemaGate
from a2e.store.session import Database


class QueueWaker(Protocol):
    def wake(self) -> None:
        """A run was queued: let an idle worker thread look now."""

    def stop(self, grace_s: float = 30.0) -> None: ...


@dataclass
class Services:
    """What the app holds for its lifetime besides settings and the database.

    ``rate_limits`` and ``cache`` exist whether or not their feature is enabled (status,
    statistics and invalidation work either way); the runner only uses them when enabled.
    """

    clock: Clock
    audit: AuditLog
    #: Chains this process's audit events; ``a2e serve`` starts it in each worker and
    #: stops it (sealing what is pending) when the worker exits.
    sealer: BackgroundSealer
    rate_limits: RateLimits
    cache: SqlResultCache
    credentials: SqlCredentialStore
    runner: Runner
    #: What ``GET /metrics`` exposes: a collector reading the database at scrape time.
    metrics: CollectorRegistry
    #: Rolls finished runs into the dashboard's rollups; ``a2e serve`` starts it in each
    #: worker (every metrics.roll_interval_s) and stops it when the worker exits.
    roller: BackgroundRoller
    #: 503 for every keyed request until the database is at the migration head.
    schema_gate: SchemaGate
    #: This process's queue worker, when it runs one (``a2e worker``, ``a2e serve``).
    queue_worker: QueueWaker | None = None

    @property
    def run_slots(self) -> RunSlots | None:
        """Bounds an agent's concurrent runs; None when rate limiting is off."""
        return self.rate_limits.run_slots if self.rate_limits.enabled else None


def build_services(settings: Settings, db: Database, secret_key: str, clock: Clock) -> Services:
    """Compose the services of one app from its settings, database and clock."""
    rate_limits = RateLimits(
        db, settings.rate_limiting, clock, settings.execution["run_deadline_s"],
        on_first_rejection=_audit_first_rejection,
    )
    cache = SqlResultCache(db, CachePolicy.from_settings(settings.cache, REGISTRY.default_ttls()), clock)
    credentials = SqlCredentialStore(db, SecretBox(secret_key))
    audit = AuditLog(db, enabled=settings.audit["enabled"])
    services = Services(
        clock=clock,
        audit=audit,
        sealer=BackgroundSealer(Sealer(db, chain_key(secret_key)), audit.take_written),
        rate_limits=rate_limits,
        cache=cache,
        credentials=credentials,
        runner=build_runner(
            settings, clock=clock, rate_limits=rate_limits, cache=cache, credentials=credentials,
            recorder=SqlRunRecorder(
                db, slots=rate_limits.run_slots if rate_limits.enabled else None,
                events=AuditedRunEvents(), clock=clock,
            ),
            values=SqlValueStore(db),
        ),
        metrics=registry_for(db),
        roller=BackgroundRoller(db, clock.now, interval_s=settings.metrics["roll_interval_s"],
                                grace_s=settings.metrics["roll_grace_s"]),
        schema_gate=SchemaGate(db),
    )
    if rate_limits.enabled:
        atexit.register(_flush_at_exit, weakref.ref(rate_limits))
    if settings.cache["enabled"]:
        atexit.register(_flush_at_exit, weakref.ref(cache))
    return services


def build_runner(
    settings: Settings,
    *,
    clock: Clock,
    rate_limits: RateLimits,
    cache: SqlResultCache,
    credentials: SqlCredentialStore,
    recorder: RunRecorder,
    values: ValueStore,
) -> Runner:
    """The engine's Runner on these services (the limiter and cache only when enabled)."""
    return Runner(
        recorder,
        values=values,
        clock=clock,
        limiter=rate_limits if rate_limits.enabled else None,
        retry=RetryPolicy.from_settings(settings.retry),
        cache=cache if settings.cache["enabled"] else None,
        credentials=credentials,
        limits=ExecutionLimits(**settings.execution),
    )


def _audit_first_rejection(agent_id: int, window: Window) -> None:
    if has_app_context():
        record_event(
            actions.RATE_LIMIT_REJECTED, outcome=actions.DENIED, agent_id=agent_id,
            target=f"agent:{agent_id}",
            details={"limit": window.limit, "window": window.period, "counter": window.kind,
                     "window_start": window.start.isoformat()},
        )


class _Flushable(Protocol):
    def flush(self) -> None: ...


def _flush_at_exit(ref: weakref.ref[_Flushable]) -> None:
    service = ref()
    if service is not None:
        service.flush()
