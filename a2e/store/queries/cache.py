"""Cache entries and statistics. Functions take the session first and never commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from a2e.store.dialect import upsert
from a2e.store.models import Agent, CacheEntry, CacheStats

COUNTERS = ("hits", "misses", "writes", "evictions", "expirations", "invalidations")
#: (agent id, operation type) → count
Tally = Mapping[tuple[int, str], int]


@dataclass(frozen=True)
class EntryRow:
    value: Any
    created_at: datetime
    expires_at: datetime
    last_access: datetime


def read_entry(session: Session, agent_id: int, key_hash: str) -> EntryRow | None:
    row = session.execute(
        select(CacheEntry.value, CacheEntry.created_at, CacheEntry.expires_at,
               CacheEntry.last_access)
        .where(CacheEntry.agent_id == agent_id, CacheEntry.key_hash == key_hash)
    ).one_or_none()
    return None if row is None else EntryRow(*row)


def write_entry(session: Session, agent_id: int, key_hash: str, op_type: str, value: Any,
                size_bytes: int, now: datetime, expires_at: datetime) -> None:
    """Insert or replace one entry (a replaced entry starts afresh: new times, no hits)."""
    fields = {"op_type": op_type, "value": value, "size_bytes": size_bytes, "created_at": now,
              "expires_at": expires_at, "last_access": now, "hits": 0}
    statement = upsert(session, CacheEntry).values(agent_id=agent_id, key_hash=key_hash, **fields)
    session.execute(statement.on_conflict_do_update(
        index_elements=[CacheEntry.agent_id, CacheEntry.key_hash], set_=fields,
    ))


def delete_expired_entry(session: Session, agent_id: int, key_hash: str, now: datetime) -> bool:
    """Drop one entry if it is still expired (another process may have renewed it)."""
    result = session.execute(delete(CacheEntry).where(
        CacheEntry.agent_id == agent_id, CacheEntry.key_hash == key_hash,
        CacheEntry.expires_at <= now,
    ))
    return bool(result.rowcount)


def touch_entries(session: Session, touches: Mapping[tuple[int, str], tuple[datetime, int]]) -> None:
    """Apply batched hits: ``last_access`` moves forward only, ``hits`` grows by n."""
    for (agent_id, key_hash), (accessed, count) in sorted(touches.items()):
        session.execute(
            update(CacheEntry)
            .where(CacheEntry.agent_id == agent_id, CacheEntry.key_hash == key_hash)
            .values(last_access=case((CacheEntry.last_access < accessed, accessed),
                                     else_=CacheEntry.last_access),
                    hits=CacheEntry.hits + count)
        )


def add_stats(session: Session, counter: str, tally: Tally, now: datetime) -> None:
    """``counter = counter + n`` per (agent, type), creating rows as needed."""
    for (agent_id, op_type), count in sorted(tally.items()):
        if count <= 0:
            continue
        row = {name: 0 for name in COUNTERS} | {counter: count}
        statement = upsert(session, CacheStats).values(
            agent_id=agent_id, op_type=op_type, updated_at=now, **row
        )
        session.execute(statement.on_conflict_do_update(
            index_elements=[CacheStats.agent_id, CacheStats.op_type],
            set_={counter: getattr(CacheStats, counter) + count, "updated_at": now},
        ))


def count_entries(session: Session) -> tuple[int, int]:
    """(entries, bytes) over all agents."""
    count, size = session.execute(
        select(func.count(), func.coalesce(func.sum(CacheEntry.size_bytes), 0))
    ).one()
    return int(count), int(size)


def _delete_keys(session: Session, keys: list[tuple[int, str, str]]) -> Counter[tuple[int, str]]:
    """Delete entries by (agent, key, type); the deleted count per (agent, type)."""
    removed: Counter[tuple[int, str]] = Counter()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        session.execute(delete(CacheEntry).where(
            tuple_(CacheEntry.agent_id, CacheEntry.key_hash).in_([(a, k) for a, k, _ in chunk])
        ))
        removed.update((agent_id, op_type) for agent_id, _, op_type in chunk)
    return removed


def delete_expired(session: Session, now: datetime, limit: int) -> Counter[tuple[int, str]]:
    """Drop up to ``limit`` expired entries (index on ``expires_at``); count per (agent, type)."""
    keys = session.execute(
        select(CacheEntry.agent_id, CacheEntry.key_hash, CacheEntry.op_type)
        .where(CacheEntry.expires_at <= now).order_by(CacheEntry.expires_at).limit(limit)
    ).all()
    return _delete_keys(session, [tuple(row) for row in keys])


def evict_lru(session: Session, entries: int, size_bytes: int,
              keep: tuple[int, str]) -> Counter[tuple[int, str]]:
    """Drop least recently used entries (ties: oldest first) but ``keep`` (agent, key) until
    at least ``entries`` entries and ``size_bytes`` bytes are gone; count per (agent, type)."""
    victims: list[tuple[int, str, str]] = []
    freed = 0
    rows = session.execute(
        select(CacheEntry.agent_id, CacheEntry.key_hash, CacheEntry.op_type, CacheEntry.size_bytes)
        .where(tuple_(CacheEntry.agent_id, CacheEntry.key_hash) != keep)
        .order_by(CacheEntry.last_access, CacheEntry.created_at, CacheEntry.key_hash)
        .execution_options(yield_per=200)
    )
    for agent_id, key_hash, op_type, size in rows:
        if len(victims) >= entries and freed >= size_bytes:
            break
        victims.append((agent_id, key_hash, op_type))
        freed += size
    rows.close()
    return _delete_keys(session, victims)


def invalidate(session: Session, *, agent_id: int | None = None, op_type: str | None = None,
               key_hash: str | None = None) -> Counter[tuple[int, str]]:
    """Delete the entries matching every filter given (none: all); count per (agent, type)."""
    conditions = []
    if agent_id is not None:
        conditions.append(CacheEntry.agent_id == agent_id)
    if op_type is not None:
        conditions.append(CacheEntry.op_type == op_type)
    if key_hash is not None:
        conditions.append(CacheEntry.key_hash == key_hash)
    rows = session.execute(
        select(CacheEntry.agent_id, CacheEntry.op_type, func.count())
        .where(*conditions).group_by(CacheEntry.agent_id, CacheEntry.op_type)
    ).all()
    session.execute(delete(CacheEntry).where(*conditions))
    return Counter({(agent_id, op_type): count for agent_id, op_type, count in rows})


def read_stats(session: Session, agent_id: int | None = None) -> list[dict[str, Any]]:
    """Counters and current entries/bytes per (agent, type), with the agent's name."""
    stats = select(CacheStats, Agent.name).join(Agent, Agent.id == CacheStats.agent_id)
    sizes = select(CacheEntry.agent_id, CacheEntry.op_type, func.count(),
                   func.coalesce(func.sum(CacheEntry.size_bytes), 0))
    if agent_id is not None:
        stats = stats.where(CacheStats.agent_id == agent_id)
        sizes = sizes.where(CacheEntry.agent_id == agent_id)
    held = {(a, t): (int(n), int(b))
            for a, t, n, b in session.execute(sizes.group_by(CacheEntry.agent_id, CacheEntry.op_type))}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for row, name in session.execute(stats):
        rows[(row.agent_id, row.op_type)] = {
            "agent_id": row.agent_id, "agent": name, "type": row.op_type,
            **{counter: getattr(row, counter) for counter in COUNTERS},
        }
    names = agents_by_id(session, {a for a, _ in held} - {a for a, _ in rows})
    for (agent, op_type) in held.keys() - rows.keys():
        rows[(agent, op_type)] = {"agent_id": agent, "agent": names.get(agent), "type": op_type,
                                  **dict.fromkeys(COUNTERS, 0)}
    for key, row in rows.items():
        row["entries"], row["bytes"] = held.get(key, (0, 0))
    return [rows[key] for key in sorted(rows)]


def agents_by_id(session: Session, agent_ids: Iterable[int]) -> dict[int, str]:
    ids = set(agent_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids))).all())
