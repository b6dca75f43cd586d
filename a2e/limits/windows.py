"""Fixed UTC windows and the rules that apply to an agent (pure: no I/O, no clock).

A window is ``[start, start + period)`` with ``start`` a multiple of the period since the
Unix epoch (UTC): minutes start at :00, hours at :00:00, days at 00:00:00 UTC.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from a2e.config import LIMITS

PERIOD_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
#: (limit key, period) per counted kind, tightest period first; from ``a2e.config.LIMITS``.
RULES: dict[str, tuple[tuple[str, str], ...]] = {}
for _limit in LIMITS:
    if _limit.counter is not None:
        if _limit.period not in PERIOD_SECONDS:
            raise ValueError(f"limit {_limit.key}: unknown period {_limit.period!r}")
        RULES[_limit.counter] = (*RULES.get(_limit.counter, ()), (_limit.key, _limit.period))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def window_start(now: datetime, period: str) -> datetime:
    return _starts(_minute(now))[period]


def _minute(now: datetime) -> int:
    """Whole minutes since the epoch (``now`` must be timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the limiter")
    return int(now.timestamp()) // 60


@functools.lru_cache(maxsize=8)
def _starts(minute: int) -> dict[str, datetime]:
    """Every period's window start for a minute: every admission asks, and they change
    once a minute, so they are worked out once."""
    elapsed = minute * 60
    return {
        period: EPOCH + timedelta(seconds=elapsed - elapsed % seconds)
        for period, seconds in PERIOD_SECONDS.items()
    }


@dataclass(frozen=True)
class Window:
    """One limit of one agent applied to the window containing a moment."""

    kind: str
    period: str
    start: datetime
    limit: int
    limit_key: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=PERIOD_SECONDS[self.period])

    def reset_after(self, now: datetime) -> int:
        """Whole seconds until the window ends, at least 1 (a ``Retry-After`` value)."""
        return max(1, math.ceil((self.end - now).total_seconds()))


def windows_for(kind: str, limits: Mapping[str, int], now: datetime) -> tuple[Window, ...]:
    return _windows(kind, _minute(now), tuple([int(limits[key]) for key, _ in RULES[kind]]))


@functools.lru_cache(maxsize=1024)
def _windows(kind: str, minute: int, values: tuple[int, ...]) -> tuple[Window, ...]:
    """The windows of one minute and set of limits: every admission in that minute with
    those limits gets the same (immutable) windows."""
    starts = _starts(minute)
    return tuple(
        Window(kind, period, starts[period], value, key)
        for (key, period), value in zip(RULES[kind], values)
    )


@dataclass(frozen=True)
class Usage:
    """A window and how many it has admitted."""

    window: Window
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.window.limit - self.used)


@dataclass(frozen=True)
class Decision:
    """The outcome of one admission: the windows that apply, the usage known after it
    (every window when admitted; only the refusing one when refused), and the refusal."""

    now: datetime
    windows: tuple[Window, ...]
    usage: tuple[Usage, ...]
    refused: Window | None = None

    @property
    def admitted(self) -> bool:
        return self.refused is None

    @property
    def retry_after(self) -> int:
        return self.refused.reset_after(self.now) if self.refused else 0

    def tightest(self) -> Usage:
        """The window with the fewest remaining; on a tie, the one that resets last."""
        return min(self.usage, key=lambda u: (u.remaining, -u.window.end.timestamp()))
