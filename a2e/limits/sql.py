"""The SQL backend: usage counters in ``usage_windows`` and limits read per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from a2e.limits.storage import Admission
from a2e.limits.windows import Window
from a2e.store.queries import limits as limit_queries
from a2e.store.queries.limits import LimitSource
from a2e.store.driver import DriverTransaction
from a2e.store.queries import usage as queries
from a2e.store.session import Database


class SqlUsageStorage:
    """Each call is one short transaction; ``admit`` is one statement that moves every
    window or none (:class:`a2e.store.queries.usage.AdmissionSql`). Only a refusal (once
    per window and process, after which the limiter remembers it) reads which windows
    are full.
    """

    def __init__(self, db: Database, *, async_commit: bool = False) -> None:
        self.db = db
        self._admission = queries.AdmissionSql(db, async_commit=async_commit)

    def admit(self, agent_id: int, windows: Sequence[Window]) -> Admission:
        counts = self._admission.admit(agent_id, windows)
        if counts:
            return Admission(counts)
        # Refused: which windows are full is for the answer (Retry-After), not the
        # decision; if an admin reset them meanwhile, all count as full this once.
        usage = self.read_usage(agent_id, windows[0].kind, {w.period: w.start for w in windows})
        full = tuple(w.period for w in windows if usage[w.period] >= w.limit)
        return Admission({}, full or tuple(w.period for w in windows))

    def admit_in(
        self, tx: DriverTransaction, agent_id: int, windows: Sequence[Window]
    ) -> Callable[[], Mapping[str, int]] | None:
        return self._admission.admit_in(tx, agent_id, windows)

    def add_rejections(self, agent_id: int, window: Window, count: int) -> int:
        with self.db.session(write=True) as session:
            return queries.add_rejections(session, agent_id, window, count)

    def add_rejection_batch(self, batch: Mapping[tuple[int, Window], int]) -> None:
        with self.db.session(write=True) as session:
            for (agent_id, window), count in sorted(
                batch.items(), key=lambda item: (item[0][0], item[0][1].kind, item[0][1].period)
            ):
                queries.add_rejections(session, agent_id, window, count)

    def read_usage(self, agent_id: int, kind: str, starts: Mapping[str, datetime]) -> dict[str, int]:
        with self.db.session() as session:
            return queries.read_usage(session, agent_id, kind, starts)


@dataclass(frozen=True)
class EffectiveLimits:
    """An agent's limits now, and the version of its overrides."""

    agent_id: int
    name: str
    limits: dict[str, int]
    version: datetime | None


class LimitReader:
    """Effective limits (SQL override > ``rateLimiting.agents`` > defaults), read per call
    so that a change takes effect on the next request in every process."""

    def __init__(self, db: Database, rate_limiting: Mapping[str, Any]) -> None:
        self.db = db
        self.rate_limiting = rate_limiting

    def read(self, agent_id: int) -> EffectiveLimits | None:
        with self.db.session() as session:
            source = limit_queries.read_limit_source(session, agent_id)
        return None if source is None else self.effective(agent_id, source)

    def effective(self, agent_id: int, source: LimitSource) -> EffectiveLimits:
        """The limits in force given what was read (e.g. with the request's API key)."""
        limits = limit_queries.effective_limits(self.rate_limiting, source.name, source.overrides)
        return EffectiveLimits(agent_id, source.name, limits, source.version)
