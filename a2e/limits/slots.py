"""Concurrent runs per agent: one lease row per run in flight.

Admission locks the agent's row and inserts a lease only while the agent holds fewer
unexpired leases than its limit (one conditional ``INSERT … SELECT … WHERE count <
limit``). The lease is deleted when the run ends, even on failure. A process that
dies leaves its lease behind; such a lease stops counting when it expires (the run
deadline plus a grace period: no run can outlive it), and sooner when this host sees
that the lease's process is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Protocol

from a2e.engine.ports import Clock
from a2e.errors import RateLimited
from a2e.limits.sql import LimitReader
from a2e.store.owner import current_owner, pid_alive
from a2e.store.queries import usage as queries
from a2e.store.session import Database

#: Seconds a lease outlives the run deadline before it stops counting.
LEASE_GRACE_S = 60
#: The ``Retry-After`` of a refusal: a slot frees when some run ends, which is unknown.
SLOT_RETRY_AFTER_S = 1


class _Principal(Protocol):
    agent_id: int


class RunSlots:
    """``services.run_slots``: ``with run_slots.slot(principal): run()``."""

    def __init__(
        self,
        db: Database,
        reader: LimitReader,
        clock: Clock,
        run_deadline_s: float,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self.db = db
        self.reader = reader
        self.clock = clock
        self.lease = timedelta(seconds=run_deadline_s + LEASE_GRACE_S)
        self.alive = alive

    @contextmanager
    def slot(self, principal: _Principal) -> Iterator[None]:
        """Hold one of the agent's run slots for the block; RateLimited if none is free."""
        lease_id = self.acquire(principal.agent_id)
        try:
            yield
        finally:
            with self.db.session(write=True) as session:
                queries.release_slot(session, lease_id)

    def acquire(self, agent_id: int) -> int:
        effective = self.reader.read(agent_id)
        limit = effective.limits["concurrent_runs"] if effective else 0
        lease_id = self._try(agent_id, limit, sweep=False)
        if lease_id is None:
            lease_id = self._try(agent_id, limit, sweep=True)
        if lease_id is None:
            raise RateLimited(
                f"Concurrent run limit reached: {limit} run(s) in flight",
                retry_after=SLOT_RETRY_AFTER_S,
                details={"limit": limit, "window": "concurrent", "counter": "runs"},
                suggestions=["Wait for a run to finish, then retry"],
            )
        return lease_id

    def held(self, agent_id: int) -> int:
        with self.db.session() as session:
            return queries.count_slots(session, agent_id, self.clock.now())

    def _try(self, agent_id: int, limit: int, *, sweep: bool) -> int | None:
        if limit <= 0:
            return None
        now, owner = self.clock.now(), current_owner()
        with self.db.session(write=True) as session:
            if not queries.lock_agent(session, agent_id):
                return None
            if sweep:
                queries.delete_stale_slots(session, agent_id, owner, now, self.alive)
            return queries.acquire_slot(session, agent_id, limit, owner, now, now + self.lease)
