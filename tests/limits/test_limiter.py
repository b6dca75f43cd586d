"""The algorithm over every storage backend (memory, SQL), with a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from a2e.engine.clock import FakeClock
from a2e.limits.limiter import Limiter
from a2e.limits.sql import SqlUsageStorage
from a2e.limits.storage import MemoryUsageStorage, UsageStorage
from a2e.limits.windows import Decision, Window, window_start

START = datetime(2030, 5, 6, 23, 59, 30, tzinfo=timezone.utc)
LIMITS = {"requests_per_minute": 3, "requests_per_hour": 5, "requests_per_day": 100,
          "api_calls_per_minute": 1, "api_calls_per_hour": 1}


@pytest.fixture(params=["memory", "sql"])
def storage(request: pytest.FixtureRequest) -> UsageStorage:
    if request.param == "memory":
        return MemoryUsageStorage()
    return SqlUsageStorage(request.getfixturevalue("db"))


@pytest.fixture
def agent_id(make_agent: Callable) -> int:
    return make_agent("a").agent_id


def test_windows_are_fixed_utc_periods() -> None:
    now = datetime(2030, 5, 6, 7, 8, 9, 500, tzinfo=timezone.utc)
    assert window_start(now, "minute") == datetime(2030, 5, 6, 7, 8, tzinfo=timezone.utc)
    assert window_start(now, "hour") == datetime(2030, 5, 6, 7, tzinfo=timezone.utc)
    assert window_start(now, "day") == datetime(2030, 5, 6, tzinfo=timezone.utc)
    window = Window("requests", "minute", window_start(now, "minute"), 3, "requests_per_minute")
    assert window.reset_after(now) == 51
    assert window.reset_after(window.end) == 1  # never 0: a Retry-After is at least 1


def test_every_window_moves_or_none(storage: UsageStorage, agent_id: int) -> None:
    clock = FakeClock(START)
    limiter = Limiter(storage, clock)
    decisions = [limiter.check(agent_id, "requests", LIMITS) for _ in range(4)]
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert [u.remaining for u in decisions[2].usage] == [0, 2, 97]
    assert decisions[3].refused.period == "minute"
    clock.advance(30)  # a new minute, hour and day
    assert [limiter.check(agent_id, "requests", LIMITS).admitted for _ in range(4)] == [
        True, True, True, False]
    hourly = Limiter(storage, clock)  # another process: nothing remembered
    clock.advance(60)
    assert [hourly.check(agent_id, "requests", LIMITS).admitted for _ in range(3)] == [
        True, True, False]
    refused = hourly.check(agent_id, "requests", LIMITS)
    assert refused.refused.period == "hour" and refused.retry_after == 3600 - 60
    usage = hourly.usage(agent_id, "requests", LIMITS)
    assert [u.used for u in usage.usage] == [2, 5, 5]  # the refused ones did not count


def test_a_limit_of_zero_blocks_without_counting(storage: UsageStorage, agent_id: int) -> None:
    limiter = Limiter(storage, FakeClock(START))
    blocked = LIMITS | {"requests_per_day": 0}
    decision = limiter.check(agent_id, "requests", blocked)
    assert decision.refused.period == "day" and decision.retry_after == 30
    assert [u.used for u in limiter.usage(agent_id, "requests", LIMITS).usage] == [0, 0, 0]


def test_first_refusal_is_reported_once_and_the_rest_are_batched(
    storage: UsageStorage, agent_id: int
) -> None:
    clock = FakeClock(START)
    first: list[Window] = []
    limiters = [Limiter(storage, clock, on_first_rejection=lambda _a, w: first.append(w))
                for _ in range(2)]
    limiters[0].check(agent_id, "api_calls", LIMITS)
    for limiter in limiters * 3:
        assert not limiter.check(agent_id, "api_calls", LIMITS).admitted
    assert [w.period for w in first] == ["hour"]  # both windows full: the later reset wins
    calls = []
    original = storage.add_rejection_batch
    storage.add_rejection_batch = lambda batch: (calls.append(dict(batch)), original(batch))
    clock.advance(4)
    limiters[0].check(agent_id, "api_calls", LIMITS)
    assert calls == []  # not yet: batches go out every 5 s
    clock.advance(1)
    limiters[0].check(agent_id, "api_calls", LIMITS)
    assert [sum(batch.values()) for batch in calls] == [4]


def test_a_new_version_asks_the_storage_again(storage: UsageStorage, agent_id: int) -> None:
    calls: list[int] = []
    original = storage.admit
    storage.admit = lambda agent, windows: (calls.append(1), original(agent, windows))[1]
    limiter = Limiter(storage, FakeClock(START))
    limits = LIMITS | {"requests_per_minute": 1}
    for _ in range(3):
        limiter.check(agent_id, "requests", limits, version="v1")
    assert len(calls) == 2  # the second refusal came from memory
    limiter.check(agent_id, "requests", limits, version="v2")
    assert len(calls) == 3


def test_threads_never_admit_more_than_the_limit(storage: UsageStorage, agent_id: int) -> None:
    limiter = Limiter(storage, FakeClock(START))
    limits = LIMITS | {"requests_per_minute": 25, "requests_per_hour": 25}
    results: list[Decision] = []

    def burst() -> None:
        for _ in range(10):
            results.append(limiter.check(agent_id, "requests", limits))

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(d.admitted for d in results) == 25
    assert sorted(d.usage[0].used for d in results if d.admitted) == list(range(1, 26))


def test_windows_refuse_a_naive_moment():
    with pytest.raises(ValueError):
        window_start(datetime(2030, 5, 6, 7, 8), "minute")
