"""StoreData values as the store API sees them. Functions take the session first, never commit.

Writes happen in the run through the ValueStore adapter (:mod:`a2e.store.adapters`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from a2e.store.models import StoredValue


def read_values(
    session: Session, agent_id: int, *, limit: int, after_key: str | None = None
) -> Sequence[StoredValue]:
    """The agent's values in key order, up to ``limit``, starting after ``after_key``."""
    query = select(StoredValue).where(StoredValue.agent_id == agent_id)
    if after_key is not None:
        query = query.where(StoredValue.key > after_key)
    return session.scalars(query.order_by(StoredValue.key).limit(limit)).all()


def read_value(session: Session, agent_id: int, key: str) -> StoredValue | None:
    return session.get(StoredValue, (agent_id, key))


def delete_value(session: Session, agent_id: int, key: str) -> bool:
    """Delete one of the agent's values; False when it has none under ``key``."""
    result = session.execute(
        delete(StoredValue).where(StoredValue.agent_id == agent_id, StoredValue.key == key)
    )
    return bool(result.rowcount)
