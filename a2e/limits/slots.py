"""Concurrent runs per agent: one lease row per run in flight.

Admission locks the agent's row and inserts a lease only while the agent holds fewer
unexpired leases than its limit (one conditional ``INSERT … SELECT … WHERE count <
limit``). The run recorder does it inside the transaction that starts the run
(:meth:`RunSlots.acquire_in`) and releases the lease inside the one that finishes it
(:meth:`RunSlots.release_in`), even when the run failed. A process that dies leaves
its lease behind; such a lease stops counting when it expires (the run deadline plus a
grace period: no run can outlive it), and sooner when this host sees that the lease's
process is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Protocol

from a2e.engine.ports import Clock
from a2e.errors import RateLimited
from a2e.limits.sql import LimitReader
from a2e.store.dialect import locks_for_writing_at_begin
from a2e.store.driver import DriverTransaction, Tail
from a2e.store.owner import current_owner, pid_alive
from a2e.store.queries import usage as queries
from a2e.store.queries.limits import LimitSource
from a2e.store.session import Database

#: Seconds a lease outlives the run deadline before it stops counting.
LEASE_GRACE_S = 60
#: The ``Retry-After`` of a refusal: a slot frees when some run ends, which is unknown.
SLOT_RETRY_AFTER_S = 1


class _Principal(Protocol):
    agent_id: int


class RunSlots:
    """``services.run_slots``: the run recorder's slot leases, and the status's count."""

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
        #: SQLite: the write lock taken at BEGIN already keeps every other writer out.
        self._locked_by_begin = locks_for_writing_at_begin(db.dialect)

    def limit(self, agent_id: int, source: LimitSource | None = None) -> int:
        """The agent's ``concurrent_runs`` (from ``source`` when the caller read it already,
        as the key lookup does); 0 when the agent is gone."""
        effective = (
            self.reader.read(agent_id) if source is None else self.reader.effective(agent_id, source)
        )
        return effective.limits["concurrent_runs"] if effective else 0

    def acquire_in(self, conn: DriverTransaction, agent_id: int, limit: int) -> Callable[[], int]:
        """Take a lease in the caller's write transaction: its id, to read once that
        committed; RateLimited if none is free.

        Stale leases (expired, or of a process of this host that is gone) are swept, in
        the same transaction, only when the first try finds the agent at its limit. On a
        pipelined transaction (PostgreSQL) the lease goes with the COMMIT and a full
        agent ends the transaction in ``Refused(queries.NO_RUN_SLOT)`` instead: the
        caller then starts over in a transaction that is not pipelined.
        """
        now, owner = self.clock.now(), current_owner()
        expires = now + self.lease
        if conn.pipelined and limit > 0:
            return queries.acquire_slot_at_commit(conn, agent_id, limit, owner, now,
                                                  expires).scalar
        lease_id = None
        if limit > 0 and (self._locked_by_begin or queries.lock_agent(conn, agent_id)):
            lease_id = queries.acquire_slot(conn, agent_id, limit, owner, now, expires)
            if lease_id is None and queries.delete_stale_slots(conn, agent_id, owner, now, self.alive):
                lease_id = queries.acquire_slot(conn, agent_id, limit, owner, now, expires)
        if lease_id is None:
            raise RateLimited(
                f"Concurrent run limit reached: {limit} run(s) in flight",
                retry_after=SLOT_RETRY_AFTER_S,
                details={"limit": limit, "window": "concurrent", "counter": "runs"},
                suggestions=["Wait for a run to finish, then retry"],
            )
        return lambda: lease_id

    def release_in(self, conn: DriverTransaction | Tail, lease_id: int) -> None:
        queries.release_slot(conn, lease_id)

    def acquire(self, agent_id: int) -> int:
        """Take a lease in a transaction of its own."""
        limit = self.limit(agent_id)
        with self.db.driver_transaction(pipelined=False) as conn:
            lease = self.acquire_in(conn, agent_id, limit)
        return lease()

    @contextmanager
    def slot(self, principal: _Principal) -> Iterator[None]:
        """Hold one of the agent's run slots for the block; RateLimited if none is free."""
        lease_id = self.acquire(principal.agent_id)
        try:
            yield
        finally:
            with self.db.driver_transaction() as conn:
                self.release_in(conn, lease_id)

    def held(self, agent_id: int) -> int:
        with self.db.session() as session:
            return queries.count_slots(session, agent_id, self.clock.now())
