"""Per-agent limit overrides and the effective limits of an agent.

Precedence: the SQL override (``agent_limits``) > ``rateLimiting.agents`` in the
config > the configured defaults. NULL in SQL means "the default"; 0 blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from a2e.config import LIMIT_KEYS
from a2e.store.models import Agent, AgentLimits


def read_overrides(session: Session, agent_id: int) -> dict[str, int | None]:
    row = session.get(AgentLimits, agent_id)
    return {key: getattr(row, key) if row else None for key in LIMIT_KEYS}


def effective_limits(
    rate_limiting: Mapping[str, Any], agent_name: str, overrides: Mapping[str, int | None]
) -> dict[str, int]:
    configured = rate_limiting.get("agents", {}).get(agent_name, {})
    limits: dict[str, int] = {}
    for key in LIMIT_KEYS:
        for source in (overrides, configured, rate_limiting):
            value = source.get(key)
            if value is not None:
                limits[key] = int(value)
                break
    return limits


def read_effective_limits(
    session: Session, agent: Agent, rate_limiting: Mapping[str, Any]
) -> dict[str, int]:
    return effective_limits(rate_limiting, agent.name, read_overrides(session, agent.id))


@dataclass(frozen=True)
class LimitSource:
    """What an agent's effective limits are computed from, read in one query.

    ``version`` is the override row's ``updated_at`` (None without a row): it changes
    whenever an admin changes the limits or resets the usage.
    """

    name: str
    overrides: dict[str, int | None]
    version: datetime | None


def read_limit_source(session: Session, agent_id: int) -> LimitSource | None:
    row = session.execute(
        select(Agent.name, AgentLimits)
        .outerjoin(AgentLimits, AgentLimits.agent_id == Agent.id)
        .where(Agent.id == agent_id)
    ).first()
    return None if row is None else limit_source(*row)


def limit_source(name: str, overrides: AgentLimits | None) -> LimitSource:
    """The LimitSource of an agent named ``name`` with its override row (or None)."""
    return LimitSource(
        name=name,
        overrides={key: getattr(overrides, key) if overrides else None for key in LIMIT_KEYS},
        version=overrides.updated_at if overrides else None,
    )


def write_overrides(
    session: Session, agent_id: int, values: Mapping[str, int | None], now: datetime
) -> dict[str, int | None]:
    """Set the given override fields (None = the default), create the row if needed, and
    move ``updated_at`` so that every process notices; returns all the overrides."""
    row = session.get(AgentLimits, agent_id, with_for_update=True)
    if row is None:
        row = AgentLimits(agent_id=agent_id)
        session.add(row)
    for key, value in values.items():
        if key not in LIMIT_KEYS:
            raise KeyError(key)
        setattr(row, key, value)
    row.updated_at = now
    session.flush()
    return {key: getattr(row, key) for key in LIMIT_KEYS}
