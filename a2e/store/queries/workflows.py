"""Saved workflows: one row per version, per agent and name. Session first, never commits."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from a2e.store.models import Agent, SavedWorkflow

WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def create_saved_workflow(
    session: Session, agent_id: int, name: str, jsonl: str, description: str | None = None
) -> SavedWorkflow:
    """Save ``jsonl`` as the next version of the agent's workflow ``name`` (1 for a new name).

    Two concurrent saves of one name may collide on the (agent, name, version)
    unique constraint; the loser's flush raises IntegrityError.
    """
    latest = session.scalar(
        select(func.max(SavedWorkflow.version)).where(
            SavedWorkflow.agent_id == agent_id, SavedWorkflow.name == name
        )
    )
    row = SavedWorkflow(agent_id=agent_id, name=name, version=(latest or 0) + 1, jsonl=jsonl,
                        description=description)
    session.add(row)
    session.flush()
    return row


def read_saved_workflow(
    session: Session, agent_id: int, name: str, version: int | None = None
) -> SavedWorkflow | None:
    """The given version of the agent's workflow ``name``, or its latest; None if absent."""
    query = select(SavedWorkflow).where(SavedWorkflow.agent_id == agent_id, SavedWorkflow.name == name)
    if version is not None:
        query = query.where(SavedWorkflow.version == version)
    return session.scalar(query.order_by(SavedWorkflow.version.desc()).limit(1))


def delete_saved_workflow(session: Session, agent_id: int, name: str) -> int:
    """Delete every version of the agent's workflow ``name``; how many there were."""
    result = session.execute(
        delete(SavedWorkflow).where(SavedWorkflow.agent_id == agent_id, SavedWorkflow.name == name)
    )
    return result.rowcount


def read_saved_workflows(
    session: Session,
    *,
    limit: int,
    agent_id: int | None = None,
    name: str | None = None,
    before_id: int | None = None,
) -> list[tuple[SavedWorkflow, str]]:
    """Saved versions of any agent with the agent's name, newest first (keyset by id)."""
    query = select(SavedWorkflow, Agent.name).join(Agent, Agent.id == SavedWorkflow.agent_id)
    if agent_id is not None:
        query = query.where(SavedWorkflow.agent_id == agent_id)
    if name is not None:
        query = query.where(SavedWorkflow.name == name)
    if before_id is not None:
        query = query.where(SavedWorkflow.id < before_id)
    rows = session.execute(query.order_by(SavedWorkflow.id.desc()).limit(limit)).all()
    return [(row, agent_name) for row, agent_name in rows]


def read_latest_saved_workflows(
    session: Session, agent_id: int, *, limit: int, after_name: str | None = None
) -> list[SavedWorkflow]:
    """The latest version of each of the agent's saved workflows, by name (keyset by name)."""
    newest = (
        select(SavedWorkflow.name, func.max(SavedWorkflow.version).label("version"))
        .where(SavedWorkflow.agent_id == agent_id)
        .group_by(SavedWorkflow.name)
        .subquery()
    )
    query = select(SavedWorkflow).join(
        newest, (SavedWorkflow.name == newest.c.name) & (SavedWorkflow.version == newest.c.version)
    ).where(SavedWorkflow.agent_id == agent_id)
    if after_name is not None:
        query = query.where(SavedWorkflow.name > after_name)
    return list(session.scalars(query.order_by(SavedWorkflow.name).limit(limit)))
