"""The admission algorithm: fixed UTC windows over a storage's atomic ``admit``.

Per process it remembers which windows are full (until the window ends, or the
agent's limits or their version change), so a refusal after the first costs no
storage call; refusals are counted in memory and flushed in batches.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from a2e.engine.ports import Clock
from a2e.limits.storage import UsageStorage
from a2e.limits.windows import PERIOD_SECONDS, Decision, Usage, Window, windows_for

log = logging.getLogger("a2e.limits")
#: Seconds between flushes of the refusal counts a process has batched.
FLUSH_INTERVAL_S = 5.0

FirstRejection = Callable[[int, Window], None]


class Limiter:
    """Admits or refuses one unit of ``kind`` (``requests``, ``api_calls``) for an agent."""

    def __init__(
        self,
        storage: UsageStorage,
        clock: Clock,
        *,
        on_first_rejection: FirstRejection | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.on_first_rejection = on_first_rejection
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        #: (agent, kind, period) → (window start, limit, limits version) known to be full.
        self._full: dict[tuple[int, str, str], tuple[Any, int, Hashable]] = {}
        self._pending: Counter[tuple[int, Window]] = Counter()
        self._last_flush = clock.monotonic()

    def check(
        self, agent_id: int, kind: str, limits: Mapping[str, int], version: Hashable = None
    ) -> Decision:
        """Count one unit when every window of ``kind`` has room; else refuse it.

        ``version`` changes whenever the agent's limits or usage are changed by hand;
        a window remembered as full is asked again after such a change.
        """
        now = self.clock.now()
        windows = windows_for(kind, limits, now)
        known = self._known_full(agent_id, windows, version)
        if known is not None:
            with self._lock:
                self._pending[(agent_id, known)] += 1
            self._maybe_flush()
            return Decision(now, windows, (Usage(known, known.limit),), known)
        blocked = [w for w in windows if w.limit <= 0]
        if not blocked:
            admission = self.storage.admit(agent_id, windows)
            if admission.admitted:
                self._maybe_flush()
                return Decision(
                    now, windows, tuple(Usage(w, admission.counts[w.period]) for w in windows)
                )
        full = blocked or [w for w in windows if w.period in admission.full]
        refused = _latest(full)
        with self._lock:
            for window in full:
                self._full[(agent_id, kind, window.period)] = (window.start, window.limit, version)
        if self.storage.add_rejections(agent_id, refused, 1) == 1 and self.on_first_rejection:
            self.on_first_rejection(agent_id, refused)
        return Decision(now, windows, (Usage(refused, refused.limit),), refused)

    def admit_in(
        self, tx: Any, agent_id: int, kind: str, limits: Mapping[str, int],
        version: Hashable = None,
    ) -> Callable[[], Decision] | None:
        """Count one unit in the caller's transaction ``tx`` (a run's start).

        The admitted Decision, to read once ``tx`` committed; None when it may be a
        refusal (a window remembered as full, a zero limit, a window found full): then
        the caller rolls ``tx`` back and asks :meth:`check`, which records the refusal.
        Where ``tx`` sends the count with its COMMIT, a full window fails the commit
        instead (see :meth:`UsageStorage.admit_in`). Nothing here writes outside ``tx``
        (on SQLite a second write transaction would wait for ``tx``'s lock).
        """
        now = self.clock.now()
        windows = windows_for(kind, limits, now)
        if any(w.limit <= 0 for w in windows) or (
            self._known_full(agent_id, windows, version) is not None
        ):
            return None
        counts = self.storage.admit_in(tx, agent_id, windows)
        if counts is None:
            return None

        def decision() -> Decision:
            moved = counts()
            return Decision(now, windows, tuple(Usage(w, moved[w.period]) for w in windows))

        return decision

    def usage(self, agent_id: int, kind: str, limits: Mapping[str, int]) -> Decision:
        """The current windows of ``kind`` and their counts, without counting anything."""
        now = self.clock.now()
        windows = windows_for(kind, limits, now)
        counts = self.storage.read_usage(agent_id, kind, {w.period: w.start for w in windows})
        return Decision(now, windows, tuple(Usage(w, counts[w.period]) for w in windows))

    def flush(self) -> None:
        """Write the batched refusal counts; on failure keep them for the next flush."""
        with self._lock:
            batch, self._pending = self._pending, Counter()
            self._last_flush = self.clock.monotonic()
        if not batch:
            return
        try:
            self.storage.add_rejection_batch(batch)
        except Exception as exc:  # the database may be down; counts wait for the next try
            log.warning("could not flush %d refusal count(s): %s", len(batch), type(exc).__name__)
            with self._lock:
                self._pending.update(batch)

    def _known_full(
        self, agent_id: int, windows: tuple[Window, ...], version: Hashable
    ) -> Window | None:
        found: list[Window] = []
        with self._lock:
            for window in windows:
                key = (agent_id, window.kind, window.period)
                remembered = self._full.get(key)
                if remembered is None:
                    continue
                if remembered == (window.start, window.limit, version):
                    found.append(window)
                else:
                    del self._full[key]
        return _latest(found) if found else None

    def _maybe_flush(self) -> None:
        if self._pending and self.clock.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()


def _latest(windows: list[Window]) -> Window:
    """The window that ends last (on a tie, the longer period): waiting for it frees all."""
    return max(windows, key=lambda w: (w.end, PERIOD_SECONDS[w.period]))
