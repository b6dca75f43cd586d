"""The retry policy as a value, Retry-After parsing, and the ``retryable`` decorator."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from a2e.engine.retry import Attempt, RetryPolicy
from a2e.retry import parse_retry_after, retryable

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_backoff_grows_exponentially_up_to_max_delay():
    policy = RetryPolicy(initial_delay=1, exponential_base=2, max_delay=5, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert RetryPolicy(max_delay=7, jitter=False).backoff(5000) == 7  # no overflow


def test_jitter_stays_in_the_upper_half():
    policy = RetryPolicy(initial_delay=4, jitter=True)
    assert policy.backoff(1, rand=lambda: 0.0) == 2
    assert policy.backoff(1, rand=lambda: 1.0) == 4


def test_increment_returns_a_new_policy_with_history():
    policy = RetryPolicy()
    after = policy.increment(Attempt(1, status=503))
    assert policy.history == () and after.history == (Attempt(1, status=503),)
    assert after.history[0].to_dict() == {"attempt": 1, "status": 503, "delay_s": 0.0}


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses(status):
    policy = RetryPolicy(jitter=False).increment(Attempt(1, status=status))
    assert policy.next_delay(status=status) == 1.0


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_final(status):
    assert RetryPolicy().increment(Attempt(1, status=status)).next_delay(status=status) is None


def test_errors_are_retried_only_when_transient():
    policy = RetryPolicy(jitter=False).increment(Attempt(1, error="TimeoutError"))
    assert policy.next_delay(transient=True) == 1.0
    assert policy.next_delay(transient=False) is None


def test_retries_are_bounded():
    policy = RetryPolicy(max_retries=2, jitter=False)
    delays = []
    for number in range(1, 5):
        policy = policy.increment(Attempt(number, status=503))
        delays.append(policy.next_delay(status=503))
    assert delays == [1.0, 2.0, None, None]


def test_retry_after_replaces_the_backoff_capped_by_max_delay_and_deadline():
    policy = RetryPolicy(max_delay=10).increment(Attempt(1, status=429))
    assert policy.next_delay(status=429, retry_after=2) == 2
    assert policy.next_delay(status=429, retry_after=30) == 10
    assert policy.next_delay(status=429, retry_after=2, remaining_s=1.5) is None


def test_unsafe_methods_need_a_key_or_the_option():
    policy = RetryPolicy()
    assert policy.for_method("POST").max_retries == 0
    assert policy.for_method("PATCH").max_retries == 0
    assert policy.for_method("POST", idempotency_key=True).max_retries == 3
    assert RetryPolicy(retry_unsafe_methods=True).for_method("POST").max_retries == 3
    assert all(policy.for_method(m).max_retries == 3 for m in ("GET", "PUT", "DELETE", "HEAD"))


def test_from_settings(settings_factory):
    section = settings_factory(retry={"max_retries": 5, "jitter": False}).retry
    assert RetryPolicy.from_settings(section) == RetryPolicy(max_retries=5, jitter=False)


@pytest.mark.parametrize(("value", "seconds"), [
    ("2", 2.0), (" 120 ", 120.0), ("Wed, 01 Jan 2025 12:00:30 GMT", 30.0),
    ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0), (None, None), ("soon", None), ("-3", None), ("１", None),
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


def test_decorator_retries_sync_functions_on_the_policy():
    slept, calls = [], []

    @retryable(RetryPolicy(max_retries=3, initial_delay=0.5, jitter=False), sleep=slept.append)
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "ok"

    assert flaky() == "ok"
    assert slept == [0.5, 1.0] and len(calls) == 3


def test_decorator_gives_up_and_ignores_other_errors():
    slept = []

    @retryable(RetryPolicy(max_retries=2, jitter=False), sleep=slept.append)
    def always_down():
        raise TimeoutError("slow")

    @retryable(RetryPolicy(), sleep=slept.append)
    def broken():
        raise ValueError("bug")

    with pytest.raises(TimeoutError):
        always_down()
    assert slept == [1.0, 2.0]
    with pytest.raises(ValueError):
        broken()
    assert len(slept) == 2


def test_decorator_retries_coroutines():
    slept, calls = [], []

    async def fake_sleep(seconds):
        slept.append(seconds)

    @retryable(RetryPolicy(initial_delay=0.25, jitter=False), sleep=fake_sleep)
    async def flaky():
        calls.append(1)
        if len(calls) < 2:
            raise ConnectionError("down")
        return 42

    assert asyncio.run(flaky()) == 42
    assert slept == [0.25]
