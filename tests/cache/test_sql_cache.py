"""SqlResultCache used directly: batching of hit bookkeeping, the byte bound, sweeps."""

from __future__ import annotations

from sqlalchemy import select

from a2e.store.cache import CachePolicy, SqlResultCache
from a2e.store.models import CacheEntry, CacheStats


def read(db, model):
    with db.session() as session:
        return session.scalars(select(model)).all()


def test_a_hit_writes_nothing_until_the_flush(db, make_agent, clock):
    agent = make_agent().agent_id
    cache = SqlResultCache(db, CachePolicy(), clock, flush_interval_s=5)
    cache.put(agent, "FilterData", {"q": 1}, [1])
    clock.advance(2)
    assert cache.get(agent, "FilterData", {"q": 1}).value == [1]
    assert cache.get(agent, "FilterData", {"q": 2}) is None
    [entry] = read(db, CacheEntry)
    assert (entry.hits, entry.last_access) == (0, entry.created_at)
    assert [(s.hits, s.misses) for s in read(db, CacheStats)] == [(0, 0)]
    clock.advance(5)
    cache.get(agent, "FilterData", {"q": 1})  # due: this one flushes
    [entry] = read(db, CacheEntry)
    assert (entry.hits, entry.last_access) == (2, clock.now())
    assert [(s.hits, s.misses, s.writes) for s in read(db, CacheStats)] == [(2, 1, 1)]


def test_types_that_are_never_cached_cost_no_query(db, make_agent, clock):
    agent = make_agent().agent_id
    cache = SqlResultCache(db, CachePolicy(ttl_by_type={"Calculate": 0, "FilterData": None}), clock)
    for op_type in ("Calculate", "FilterData"):
        cache.put(agent, op_type, {}, 1)
        assert cache.get(agent, op_type, {}) is None
    cache.put(agent, "FormatText", {}, "x")  # not listed: default_ttl
    assert cache.get(agent, "FormatText", {}).value == "x"
    assert cache.stats()[0]["type"] == "FormatText" and len(cache.stats()) == 1


def test_the_byte_bound_evicts_least_recently_used(db, make_agent, clock):
    agent = make_agent().agent_id
    cache = SqlResultCache(db, CachePolicy(max_bytes=100), clock)
    for n in range(3):
        clock.advance(2)
        cache.put(agent, "MergeData", {"n": n}, "x" * 38)  # 40 bytes of JSON each
    assert cache.get(agent, "MergeData", {"n": 0}) is None
    assert [cache.get(agent, "MergeData", {"n": n}) is not None for n in (1, 2)] == [True, True]
    cache.put(agent, "MergeData", {"n": 9}, "y" * 200)  # larger than the bound: not stored
    assert cache.get(agent, "MergeData", {"n": 9}) is None
    assert sum(row["evictions"] for row in cache.stats()) == 1


def test_writes_sweep_expired_entries_periodically(db, make_agent, clock):
    agent = make_agent().agent_id
    cache = SqlResultCache(db, CachePolicy(sweep_interval=60, ttl_by_type={"FilterData": 10}), clock)
    cache.put(agent, "FilterData", {"old": True}, 1)
    clock.advance(61)
    cache.put(agent, "FilterData", {"new": True}, 2)
    assert [entry.value for entry in read(db, CacheEntry)] == [2]
    assert cache.stats()[0]["expirations"] == 1
