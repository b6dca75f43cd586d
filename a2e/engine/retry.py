"""Retry with exponential backoff: the policy as an immutable value (pure: no I/O).

:class:`RetryPolicy` is a frozen dataclass (config ``retry``); each attempt returns a new
policy with the attempt added to ``history`` (as urllib3's ``Retry.increment``). The policy
only computes: :meth:`RetryPolicy.next_delay` says how long to wait before the next attempt
(or that there is none) and the caller sleeps on its own clock. ApiCall uses it directly;
``a2e.retry.retryable`` wraps any sync or async function with tenacity on the same policy.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

#: Statuses worth another attempt (PROTOCOL §10); every other 4xx/5xx is final.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Methods that RFC 9110 defines as idempotent; POST and PATCH are not.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


@dataclass(frozen=True)
class Attempt:
    """One attempt: its number (from 1), the status or error it ended with, and the wait
    before it."""

    number: int
    status: int | None = None
    error: str | None = None
    delay_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The entry in a step's ``attempts``."""
        entry: dict[str, Any] = {"attempt": self.number, "status": self.status,
                                 "delay_s": round(self.delay_s, 3)}
        if self.error is not None:
            entry["error"] = self.error
        return entry


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait; ``history`` holds the attempts made so far."""

    max_retries: int = 3
    initial_delay: float = 1.0
    exponential_base: float = 2.0
    max_delay: float = 60.0
    jitter: bool = True
    retry_unsafe_methods: bool = False
    statuses: frozenset[int] = RETRY_STATUSES
    history: tuple[Attempt, ...] = ()

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> RetryPolicy:
        """The policy of config section ``retry``."""
        return cls(**{key: section[key] for key in (
            "max_retries", "initial_delay", "exponential_base", "max_delay", "jitter",
            "retry_unsafe_methods")})

    def for_method(self, method: str, *, idempotency_key: bool = False) -> RetryPolicy:
        """This policy for one request: no retries for POST/PATCH unless the request carries
        an idempotency key or ``retry_unsafe_methods`` is set."""
        safe = method.upper() in IDEMPOTENT_METHODS or idempotency_key or self.retry_unsafe_methods
        return self if safe else replace(self, max_retries=0)

    def increment(self, attempt: Attempt) -> RetryPolicy:
        """A new policy with ``attempt`` added to the history."""
        return replace(self, history=(*self.history, attempt))

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number ``retry`` (1 = the first retry): ``initial_delay ·
        base^(retry-1)``, at most ``max_delay``; with jitter, a random point in its upper half."""
        try:
            delay = min(self.initial_delay * self.exponential_base ** (retry - 1), self.max_delay)
        except OverflowError:
            delay = self.max_delay
        return delay * (0.5 + rand() / 2) if self.jitter else delay

    def next_delay(self, *, status: int | None = None, transient: bool = False,
                   retry_after: float | None = None, remaining_s: float = float("inf"),
                   rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before the next attempt after the last one in ``history``, or None
        when there is none: the outcome is final (a status not in ``statuses``, an error that
        is not ``transient``), the retries are spent, or the wait would reach the deadline
        ``remaining_s`` away. ``retry_after`` (the server's, in seconds) replaces the backoff,
        capped by ``max_delay``."""
        retryable = status in self.statuses if status is not None else transient
        if not retryable or len(self.history) > self.max_retries:
            return None
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), self.max_delay)
        else:
            delay = self.backoff(len(self.history), rand)
        return delay if delay < remaining_s else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP date (past dates: 0); None when
    absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
