"""The storage's atomic primitives the limiter is built on, and an in-memory backend.

A backend must make :meth:`UsageStorage.admit` all-or-nothing and exact under
concurrency: every window moves by one, or none moves. The SQL backend is
:class:`a2e.limits.sql.SqlUsageStorage`; :class:`MemoryUsageStorage` serves one
process (unit tests, the benchmark's baseline).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from a2e.limits.windows import Window


@dataclass(frozen=True)
class Admission:
    """What :meth:`UsageStorage.admit` did: the new counts by period, or the full periods."""

    counts: Mapping[str, int]
    full: tuple[str, ...] = ()

    @property
    def admitted(self) -> bool:
        return not self.full


class UsageStorage(Protocol):
    def admit(self, agent_id: int, windows: Sequence[Window]) -> Admission:
        """Add one to every window if each is below its limit (all or none), atomically."""

    def admit_in(
        self, tx: Any, agent_id: int, windows: Sequence[Window]
    ) -> Callable[[], Mapping[str, int]] | None:
        """:meth:`admit` inside the caller's transaction ``tx``: None when a window was
        full (then ``tx`` must be rolled back), else the new counts by period, to read
        once ``tx`` committed. Where ``tx`` sends the statement with its COMMIT
        (``a2e.store.driver``), a full window fails that commit instead."""

    def add_rejections(self, agent_id: int, window: Window, count: int) -> int:
        """Add ``count`` refusals to ``window``; return its new total of refusals."""

    def add_rejection_batch(self, batch: Mapping[tuple[int, Window], int]) -> None:
        """Add many refusal counts in one unit of work."""

    def read_usage(self, agent_id: int, kind: str, starts: Mapping[str, datetime]) -> dict[str, int]:
        """Admitted counts of the windows starting at ``starts`` (period → start); 0 if none."""


class MemoryUsageStorage:
    """Counters in a dict under one lock: exact within one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: dict[tuple[int, str, str, datetime], int] = {}
        self._rejected: dict[tuple[int, str, str, datetime], int] = {}

    def admit(self, agent_id: int, windows: Sequence[Window]) -> Admission:
        keys = [(agent_id, w.kind, w.period, w.start) for w in windows]
        with self._lock:
            counts = [self._admitted.get(key, 0) for key in keys]
            full = tuple(w.period for w, n in zip(windows, counts) if n >= w.limit)
            if full:
                return Admission({}, full)
            for key, n in zip(keys, counts):
                self._admitted[key] = n + 1
            return Admission({w.period: n + 1 for w, n in zip(windows, counts)})

    def admit_in(
        self, tx: Any, agent_id: int, windows: Sequence[Window]
    ) -> Callable[[], Mapping[str, int]] | None:
        counts = self.admit(agent_id, windows).counts
        return (lambda: counts) if counts else None

    def add_rejections(self, agent_id: int, window: Window, count: int) -> int:
        key = (agent_id, window.kind, window.period, window.start)
        with self._lock:
            self._rejected[key] = self._rejected.get(key, 0) + count
            return self._rejected[key]

    def add_rejection_batch(self, batch: Mapping[tuple[int, Window], int]) -> None:
        for (agent_id, window), count in batch.items():
            self.add_rejections(agent_id, window, count)

    def read_usage(self, agent_id: int, kind: str, starts: Mapping[str, datetime]) -> dict[str, int]:
        with self._lock:
            return {p: self._admitted.get((agent_id, kind, p, s), 0) for p, s in starts.items()}
