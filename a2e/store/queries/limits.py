"""Per-agent limit overrides and the effective limits of an agent.

Precedence: the SQL override (``agent_limits``) > ``rateLimiting.agents`` in the
config > the configured defaults. NULL in SQL means "the default"; 0 blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
