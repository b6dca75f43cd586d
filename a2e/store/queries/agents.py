"""Agents and API keys. Functions take the session first and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from a2e import keys
from a2e.store.base import parse_id, utcnow
from a2e.store.models import Agent, AgentLimits, ApiKey
from a2e.store.queries.limits import LimitSource, limit_source

#: ``last_used_at`` is refreshed at most this often, so a request is not a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AgentNotFound(LookupError):
    pass


class AgentExists(ValueError):
    pass


@dataclass(frozen=True)
class IssuedKey:
    """A freshly made key: the only moment its plaintext exists."""

    agent_id: int
    name: str
    api_key: str

    def to_dict(self) -> dict[str, object]:
        return {"agent_id": self.agent_id, "name": self.name, "api_key": self.api_key}


def read_agent(session: Session, ref: str | int) -> Agent:
    """An agent by unique name or by id (a numeric string is tried as a name first)."""
    agent = session.scalar(select(Agent).where(Agent.name == str(ref)))
    agent_id = parse_id(str(ref))
    if agent is None and agent_id is not None:
        agent = session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(f"no agent named or numbered {ref!r}")
    return agent


def read_agent_id(session: Session, ref: str) -> int:
    """An agent's id by name or id; a well-formed id is accepted even once the agent is
    gone (audit rows and reports outlive agents)."""
    try:
        return read_agent(session, ref).id
    except AgentNotFound:
        agent_id = parse_id(ref)
        if agent_id is None:
            raise
        return agent_id


def read_agents(session: Session) -> Sequence[Agent]:
    return session.scalars(select(Agent).order_by(Agent.id)).all()


def create_agent(
    session: Session,
    name: str,
    *,
    admin: bool = False,
    allowed_operations: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] = (),
) -> IssuedKey:
    if session.scalar(select(Agent.id).where(Agent.name == name)) is not None:
        raise AgentExists(f"an agent named {name!r} already exists")
    agent = Agent(
        name=name,
        is_admin=admin,
        allowed_operations=None if allowed_operations is None else sorted(set(allowed_operations)),
        allowed_hosts=list(dict.fromkeys(allowed_hosts)),
        disabled=False,
    )
    session.add(agent)
    session.flush()
    return create_key(session, agent)


def create_key(session: Session, agent: Agent) -> IssuedKey:
    new = keys.generate_key()
    session.add(ApiKey(agent_id=agent.id, prefix=new.prefix, key_hash=new.digest))
    session.flush()
    return IssuedKey(agent_id=agent.id, name=agent.name, api_key=new.plaintext)


def rotate_keys(session: Session, agent: Agent) -> IssuedKey:
    """Revoke every active key of the agent and issue a new one."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.agent_id == agent.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return create_key(session, agent)


def revoke_key(session: Session, agent: Agent, prefix: str) -> bool:
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.agent_id == agent.id, ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)


def read_keys(session: Session, agent: Agent) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.agent_id == agent.id).order_by(ApiKey.id)
    ).all()


@dataclass(frozen=True)
class Authenticated:
    """Who presented a key: the agent, the key, and the agent's limit overrides, read
    together in one query (the rate limiter needs them on every request)."""

    agent: Agent
    key: ApiKey
    limits: LimitSource


def authenticate(session: Session, presented: str) -> Authenticated | None:
    """The enabled agent owning an active key equal to ``presented``."""
    prefix = keys.prefix_of(presented)
    if prefix is None:
        return None
    row = session.execute(
        select(ApiKey, Agent, AgentLimits)
        .join(Agent, Agent.id == ApiKey.agent_id)
        .outerjoin(AgentLimits, AgentLimits.agent_id == Agent.id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        return None
    key, agent, overrides = row
    if not keys.matches(presented, key.key_hash) or key.revoked_at is not None or agent.disabled:
        return None
    return Authenticated(agent, key, limit_source(agent.name, overrides))


def needs_touch(key: ApiKey, now: datetime) -> bool:
    """Whether ``last_used_at`` is stale enough to be written again."""
    return key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION


def touch_key(session: Session, key_id: int, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
