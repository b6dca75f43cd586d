"""Agents and API keys. Functions take the session first and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from a2e import keys
from a2e.config import LIMIT_KEYS
from a2e.protocol import names
from a2e.store.base import parse_id, utcnow
from a2e.store.models import Agent, AgentLimits, ApiKey
from a2e.store.queries.limits import LimitSource
from a2e.store.session import Database

#: ``last_used_at`` is refreshed at most this often, so a request is not a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AgentNotFound(LookupError):
    pass


class InvalidAgent(ValueError):
    """A name or allowed host the API would refuse too (:mod:`a2e.protocol.names`)."""


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
    """An agent by id (a ref of digits) or by unique name (anything else).

    Names cannot be all digits (:mod:`a2e.protocol.names`), so a name never hides an
    id. An agent named with digits before that rule is reached by its id; the message
    for its name says so.
    """
    agent_id = parse_id(str(ref))
    if agent_id is not None:
        agent = session.get(Agent, agent_id)
        if agent is None:
            legacy = session.scalar(select(Agent.id).where(Agent.name == str(ref)))
            hint = (f"; the agent named {str(ref)!r} is agent {legacy}: names of digits "
                    "read as ids") if legacy is not None else ""
            raise AgentNotFound(f"no agent numbered {ref}{hint}")
        return agent
    agent = session.scalar(select(Agent).where(Agent.name == str(ref)))
    if agent is None:
        raise AgentNotFound(f"no agent named {str(ref)!r}")
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
    allowed_hosts = list(allowed_hosts)
    for problem in (names.agent_name_problem(name), *map(names.host_problem, allowed_hosts)):
        if problem is not None:
            raise InvalidAgent(problem)
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
    """Who presented a key: the agent, the key's id and last use, and the agent's limit
    overrides, read together in one query (the rate limiter needs them on every request).
    """

    agent_id: int
    name: str
    is_admin: bool
    allowed_operations: list[str] | None
    allowed_hosts: list[str]
    key_id: int
    key_last_used_at: datetime | None
    limits: LimitSource

    def needs_touch(self, now: datetime) -> bool:
        """Whether the key's ``last_used_at`` is stale enough to be written again."""
        last = self.key_last_used_at
        return last is None or now - last >= LAST_USED_RESOLUTION


#: Columns, not entities, on a Core connection: this runs on every request, and loading
#: three ORM objects through a session cost more than the query itself.
_AUTHENTICATE = (
    select(
        ApiKey.key_hash, ApiKey.revoked_at, ApiKey.id.label("key_id"), ApiKey.last_used_at,
        Agent.id.label("agent_id"), Agent.name, Agent.is_admin, Agent.disabled,
        Agent.allowed_operations, Agent.allowed_hosts,
        AgentLimits.updated_at.label("limits_version"),
        *(getattr(AgentLimits, key) for key in LIMIT_KEYS),
    )
    .join(Agent, Agent.id == ApiKey.agent_id)
    .outerjoin(AgentLimits, AgentLimits.agent_id == Agent.id)
    .where(ApiKey.prefix == bindparam("prefix"))
)


def authenticate(db: Database, presented: str) -> Authenticated | None:
    """The enabled agent owning an active key equal to ``presented`` (one statement on the
    driver's connection: this runs on every request)."""
    prefix = keys.prefix_of(presented)
    if prefix is None:
        return None
    row = db.driver_statement(_AUTHENTICATE, {"prefix": prefix}).first()
    if row is None:
        return None
    if not keys.matches(presented, row.key_hash) or row.revoked_at is not None or row.disabled:
        return None
    overrides = {key: getattr(row, key) for key in LIMIT_KEYS}
    return Authenticated(
        agent_id=row.agent_id,
        name=row.name,
        is_admin=row.is_admin,
        allowed_operations=row.allowed_operations,
        allowed_hosts=row.allowed_hosts,
        key_id=row.key_id,
        key_last_used_at=row.last_used_at,
        limits=LimitSource(row.name, overrides, row.limits_version),
    )


def touch_key(session: Session, key_id: int, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
