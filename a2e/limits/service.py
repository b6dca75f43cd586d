"""What the app registers: request admission, the engine's ApiCall limiter, the status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from a2e.engine.ports import Clock
from a2e.errors import RateLimited
from a2e.limits.limiter import FirstRejection, Limiter
from a2e.limits.slots import RunSlots
from a2e.limits.sql import EffectiveLimits, LimitReader, SqlUsageStorage
from a2e.limits.windows import RULES, Decision, Window
from a2e.store.queries.limits import LimitSource
from a2e.store.session import Database

KIND_NAMES = {"requests": "Request", "api_calls": "ApiCall"}


def refusal_details(refused: Window) -> dict[str, Any]:
    """The 429 body's ``details``: the limit that refused, its window and counter."""
    return {"limit": refused.limit, "window": refused.period, "counter": refused.kind}


def refusal_message(refused: Window, retry_after: int) -> str:
    return (
        f"{KIND_NAMES[refused.kind]} limit reached: {refused.limit} per {refused.period}; "
        f"retry in {retry_after} s"
    )


class Undecided(Exception):
    """Raised in a transaction whose count may be a refusal: the caller rolls the
    transaction back and counts on its own (:meth:`RateLimits.check_request`)."""


class RateLimits:
    """The limiter over SQL, with limits read per call (so changes apply at once)."""

    def __init__(
        self,
        db: Database,
        rate_limiting: Mapping[str, Any],
        clock: Clock,
        run_deadline_s: float,
        on_first_rejection: FirstRejection | None = None,
    ) -> None:
        self.enabled = bool(rate_limiting["enabled"])
        self.reader = LimitReader(db, rate_limiting)
        storage = SqlUsageStorage(db, async_commit=bool(rate_limiting["async_commit"]))
        self.limiter = Limiter(storage, clock, on_first_rejection=on_first_rejection)
        self.run_slots = RunSlots(db, self.reader, clock, run_deadline_s)

    def check_request(self, agent_id: int, source: LimitSource | None = None) -> Decision | None:
        """Count one request; None when limiting is off or the agent is gone.

        ``source`` is the agent's limit overrides if the caller read them already (the
        authentication query does), saving a read per request.
        """
        return self._check(agent_id, "requests", source)

    def check_request_in(
        self, tx: Any, agent_id: int, source: LimitSource | None = None
    ) -> Callable[[], Decision] | None:
        """Count one request in the caller's transaction ``tx``: its Decision, to read
        once ``tx`` committed; None when limiting is off or the agent is gone. Raises
        :class:`Undecided` instead of refusing."""
        effective = self._effective(agent_id, source)
        if effective is None:
            return None
        decision = self.limiter.admit_in(tx, agent_id, "requests", effective.limits,
                                         effective.version)
        if decision is None:
            raise Undecided
        return decision

    def admit_api_call(self, agent_id: Any) -> None:
        """The engine's port: count one ApiCall or raise :class:`RateLimited`."""
        decision = self._check(int(agent_id), "api_calls")
        if decision is not None and decision.refused is not None:
            raise RateLimited(
                refusal_message(decision.refused, decision.retry_after),
                retry_after=decision.retry_after,
                details=refusal_details(decision.refused),
            )

    def status(self, agent_id: int) -> dict[str, Any]:
        """Limits, usage, remaining and seconds to reset per window, for requests and ApiCalls."""
        effective = self.reader.read(agent_id)
        if effective is None:
            raise LookupError(f"no agent with id {agent_id}")
        body: dict[str, Any] = {
            "agent_id": agent_id, "enabled": self.enabled,
            "limits": dict(effective.limits), "usage": {}, "remaining": {}, "reset": {},
        }
        for kind in RULES:
            for usage in self.limiter.usage(agent_id, kind, effective.limits).usage:
                key = usage.window.limit_key
                body["usage"][key] = usage.used
                body["remaining"][key] = usage.remaining
                body["reset"][key] = usage.window.reset_after(self.limiter.clock.now())
        held = self.run_slots.held(agent_id)
        body["usage"]["concurrent_runs"] = held
        body["remaining"]["concurrent_runs"] = max(0, effective.limits["concurrent_runs"] - held)
        return body

    def flush(self) -> None:
        self.limiter.flush()

    def _check(self, agent_id: int, kind: str, source: LimitSource | None = None) -> Decision | None:
        effective = self._effective(agent_id, source)
        if effective is None:
            return None
        return self.limiter.check(agent_id, kind, effective.limits, effective.version)

    def _effective(self, agent_id: int, source: LimitSource | None) -> EffectiveLimits | None:
        """The agent's limits (None when limiting is off or the agent is gone)."""
        if not self.enabled:
            return None
        if source is None:
            return self.reader.read(agent_id)
        return self.reader.effective(agent_id, source)
