"""The engine's ResultCache in SQL: TTL per type, a global LRU bound, batched statistics.

A hit is one SELECT. What a hit changes — the entry's ``last_access`` (only when it is
older than ``touch_resolution_s``) and ``hits``, and the hit/miss counters per (agent,
type) — is kept in memory and written in one transaction at most every
``flush_interval_s``, by the next write, or before statistics are read. A write (after a
miss) applies those pending changes, stores the entry, and when the table is over
``max_size`` entries or ``max_bytes`` drops expired entries and then the least recently
used ones (ties: oldest first), a batch at a time. Expired entries are also dropped by
the get that finds them and by a sweep (every ``sweep_interval`` seconds on writes, and
``a2e cache sweep``). A cache failure is logged and never fails a run.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from a2e.engine.ports import AgentId, CacheHit, Clock, cache_key
from a2e.store.queries import cache as queries
from a2e.store.session import Database

log = logging.getLogger("a2e.cache")

FLUSH_INTERVAL_S = 5.0
TOUCH_RESOLUTION_S = 1.0
SWEEP_BATCH = 1000
#: Share of the bound freed by one eviction, so that the next writes need none.
EVICTION_HEADROOM = 0.05


@dataclass(frozen=True)
class CachePolicy:
    """The ``cache`` config section as the cache uses it.

    ``builtin_ttls`` are the operation specs' own TTLs (``Catalog.default_ttls()``);
    ``ttl_by_type`` overrides them and ``default_ttl`` covers the rest. Operations whose
    spec is not cacheable never reach the cache.
    """

    default_ttl: int = 300
    ttl_by_type: Mapping[str, int | None] = field(default_factory=dict)
    builtin_ttls: Mapping[str, int] = field(default_factory=dict)
    max_size: int = 1000
    max_bytes: int | None = None
    sweep_interval: int = 60

    @classmethod
    def from_settings(cls, section: Mapping[str, Any], builtin_ttls: Mapping[str, int]) -> CachePolicy:
        return cls(
            default_ttl=section["default_ttl"],
            ttl_by_type=dict(section["ttl_by_type"]),
            builtin_ttls=dict(builtin_ttls),
            max_size=section["max_size"],
            max_bytes=section["max_bytes"],
            sweep_interval=section["sweep_interval"],
        )

    def ttl(self, op_type: str) -> int:
        """Seconds a result of ``op_type`` stays valid; 0 (or null in config): not cached."""
        if op_type in self.ttl_by_type:
            return self.ttl_by_type[op_type] or 0
        return self.builtin_ttls.get(op_type, self.default_ttl)


@dataclass
class _Pending:
    """What this process has counted but not yet written."""

    hits: Counter[tuple[int, str]] = field(default_factory=Counter)
    misses: Counter[tuple[int, str]] = field(default_factory=Counter)
    #: (agent, key hash) → (latest access, hits)
    touches: dict[tuple[int, str], tuple[datetime, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.hits or self.misses or self.touches)

    def merge(self, other: _Pending) -> None:
        self.hits.update(other.hits)
        self.misses.update(other.misses)
        for key, (accessed, count) in other.touches.items():
            mine = self.touches.get(key)
            self.touches[key] = (accessed, count) if mine is None else (
                max(mine[0], accessed), mine[1] + count)


class SqlResultCache:
    """:class:`a2e.engine.ports.ResultCache` over ``cache_entries`` and ``cache_stats``."""

    def __init__(self, db: Database, policy: CachePolicy, clock: Clock, *,
                 flush_interval_s: float = FLUSH_INTERVAL_S,
                 touch_resolution_s: float = TOUCH_RESOLUTION_S) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        self.touch_resolution = timedelta(seconds=touch_resolution_s)
        self._lock = threading.Lock()
        self._pending = _Pending()
        self._flush_timer = _Timer(flush_interval_s, clock)
        self._sweep_timer = _Timer(policy.sweep_interval, clock)

    # -- the port

    def keeps(self, op_type: str) -> bool:
        return self.policy.ttl(op_type) > 0

    def get(self, agent_id: AgentId, op_type: str, key_material: Any) -> CacheHit | None:
        if not self.keeps(op_type):
            return None
        agent, key_hash, now = int(agent_id), cache_key(op_type, key_material), self.clock.now()
        try:
            with self.db.session() as session:
                row = queries.read_entry(session, agent, key_hash)
            if row is not None and row.expires_at <= now:
                with self.db.session(write=True) as session:
                    if queries.delete_expired_entry(session, agent, key_hash, now):
                        queries.add_stats(session, "expirations", {(agent, op_type): 1}, now)
                row = None
        except SQLAlchemyError as exc:
            log.warning("cache read failed: %s", type(exc).__name__)
            return None
        with self._lock:
            if row is None:
                self._pending.misses[(agent, op_type)] += 1
            else:
                self._pending.hits[(agent, op_type)] += 1
                self._touch(agent, key_hash, row.last_access, now)
        self._maybe_flush()
        return None if row is None else CacheHit(row.value, row.created_at)

    def put(self, agent_id: AgentId, op_type: str, key_material: Any, value: Any) -> None:
        ttl = self.policy.ttl(op_type)
        if ttl <= 0:
            return
        try:
            size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        except (TypeError, ValueError):
            return
        if self.policy.max_bytes is not None and size > self.policy.max_bytes:
            return
        agent, key_hash, now = int(agent_id), cache_key(op_type, key_material), self.clock.now()

        def store(session: Session) -> None:
            queries.write_entry(session, agent, key_hash, op_type, value, size, now,
                                now + timedelta(seconds=ttl))
            queries.add_stats(session, "writes", {(agent, op_type): 1}, now)
            self._enforce_bounds(session, (agent, key_hash), now)
            if self.policy.sweep_interval and self._sweep_timer.due():
                queries.add_stats(session, "expirations",
                                  queries.delete_expired(session, now, SWEEP_BATCH), now)

        self._write(store)

    # -- maintenance (API and CLI)

    def flush(self) -> None:
        """Write this process's pending counters and touches now."""
        if self._pending:
            self._write(lambda session: None)

    def sweep(self) -> Counter[tuple[int, str]]:
        """Drop every expired entry (in batches); the count per (agent, type)."""
        self.flush()
        total: Counter[tuple[int, str]] = Counter()
        while True:
            now = self.clock.now()
            with self.db.session(write=True) as session:
                removed = queries.delete_expired(session, now, SWEEP_BATCH)
                queries.add_stats(session, "expirations", removed, now)
            total.update(removed)
            if sum(removed.values()) < SWEEP_BATCH:
                return total

    def invalidate(self, *, agent_id: int | None = None, op_type: str | None = None,
                   key_hash: str | None = None,
                   record: Callable[[Session, int], None] | None = None) -> int:
        """Delete matching entries (no filter: all), counted as invalidations; returns how
        many. ``record(session, removed)`` runs in the deleting transaction (its audit
        event: both commit or neither does)."""
        self.flush()
        now = self.clock.now()
        with self.db.session(write=True) as session:
            removed = queries.invalidate(session, agent_id=agent_id, op_type=op_type,
                                         key_hash=key_hash)
            queries.add_stats(session, "invalidations", removed, now)
            if record is not None:
                record(session, sum(removed.values()))
        return sum(removed.values())

    def stats(self, agent_id: int | None = None) -> list[dict[str, Any]]:
        """Counters and current size per (agent, type), this process's counts included."""
        self.flush()
        with self.db.session() as session:
            return queries.read_stats(session, agent_id)

    # -- internals

    def _touch(self, agent: int, key_hash: str, last_access: datetime, now: datetime) -> None:
        """Note a hit; ``last_access`` moves only when older than the resolution."""
        key = (agent, key_hash)
        pending = self._pending.touches.get(key)
        if pending is not None:
            self._pending.touches[key] = (max(pending[0], now), pending[1] + 1)
        elif now - last_access >= self.touch_resolution:
            self._pending.touches[key] = (now, 1)
        else:
            self._pending.touches[key] = (last_access, 1)

    def _enforce_bounds(self, session: Session, written: tuple[int, str], now: datetime) -> None:
        policy = self.policy
        count, size = queries.count_entries(session)
        if count <= policy.max_size and (policy.max_bytes is None or size <= policy.max_bytes):
            return
        queries.add_stats(session, "expirations", queries.delete_expired(session, now, count), now)
        count, size = queries.count_entries(session)
        excess = count - policy.max_size
        excess_bytes = 0 if policy.max_bytes is None else size - policy.max_bytes
        if excess <= 0 and excess_bytes <= 0:
            return
        entries = excess + int(policy.max_size * EVICTION_HEADROOM) if excess > 0 else 0
        size_bytes = (excess_bytes + int(policy.max_bytes * EVICTION_HEADROOM)
                      if policy.max_bytes is not None and excess_bytes > 0 else 0)
        evicted = queries.evict_lru(session, entries, size_bytes, keep=written)
        queries.add_stats(session, "evictions", evicted, now)

    def _write(self, work: Any) -> None:
        """One write transaction: pending counters and touches first, then ``work``."""
        with self._lock:
            batch, self._pending = self._pending, _Pending()
        self._flush_timer.restart()
        now = self.clock.now()
        try:
            with self.db.session(write=True) as session:
                queries.touch_entries(session, batch.touches)
                queries.add_stats(session, "hits", batch.hits, now)
                queries.add_stats(session, "misses", batch.misses, now)
                work(session)
        except SQLAlchemyError as exc:
            log.warning("cache write failed (%d pending count(s) kept): %s",
                        len(batch.hits) + len(batch.misses), type(exc).__name__)
            with self._lock:
                batch.merge(self._pending)
                self._pending = batch

    def _maybe_flush(self) -> None:
        if self._pending and self._flush_timer.due():
            self.flush()


class _Timer:
    """Says once per ``seconds`` (on the clock's monotonic time) that it is due."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._last = clock.monotonic()

    def due(self) -> bool:
        with self._lock:
            now = self.clock.monotonic()
            if now - self._last < self.seconds:
                return False
            self._last = now
            return True

    def restart(self) -> None:
        with self._lock:
            self._last = self.clock.monotonic()


def stats_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over ``rows`` (from :meth:`SqlResultCache.stats`) with hit rates, and the rows."""
    keys = (*queries.COUNTERS, "entries", "bytes")
    totals = {key: sum(row[key] for row in rows) for key in keys}
    return {
        "totals": totals | {"hit_rate": _hit_rate(totals)},
        "rows": [row | {"hit_rate": _hit_rate(row)} for row in rows],
    }


def _hit_rate(counts: Mapping[str, int]) -> float | None:
    looked_up = counts["hits"] + counts["misses"]
    return round(counts["hits"] / looked_up, 4) if looked_up else None
