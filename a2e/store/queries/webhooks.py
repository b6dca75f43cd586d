"""Webhook deliveries and agents' webhook secrets. Functions take the connection or
session first and never commit; a delivery is claimed by one conditional ``UPDATE``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from a2e.crypto import SecretBox
from a2e.store.dialect import skip_locked
from a2e.store.models import Agent, Run, WebhookDelivery

SECRET_PREFIX = "whsec_"


def secret_context(agent_id: int) -> bytes:
    """What a sealed webhook secret is bound to (it does not open on another row)."""
    return f"agents.webhook_secret:{agent_id}".encode()


def rotate_webhook_secret(session: Session, agent: Agent, box: SecretBox) -> str:
    """Issue a new webhook secret for ``agent`` (the old one stops signing); the secret."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    agent.webhook_secret = box.seal(secret, context=secret_context(agent.id))
    session.flush()
    return secret


def has_webhook_secret(session: Session, agent_id: int) -> bool:
    return session.scalar(
        select(Agent.webhook_secret.is_not(None)).where(Agent.id == agent_id)
    ) is True


def create_delivery(conn: Connection, run_id: int, url: str, body: str, now: datetime) -> None:
    conn.execute(insert(WebhookDelivery).values(
        run_id=run_id, url=url, body=body, status="pending", attempts=[], created_at=now,
        next_attempt_at=now, attempt_count=0,
    ))


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: int
    run_id: int
    url: str
    body: str
    attempts: list[dict[str, Any]]
    agent_id: int
    allowed_hosts: tuple[str, ...]
    sealed_secret: bytes | None


def claim_delivery(conn: Connection, now: datetime, lease_until: datetime) -> DueDelivery | None:
    """Take the delivery due first, moving its next attempt to ``lease_until`` (so no
    other sender takes it while this one sends); None when none is due."""
    candidate = skip_locked(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(1),
        conn,
    )
    row = conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == candidate.scalar_subquery(),
               WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=lease_until)
        .returning(WebhookDelivery.id, WebhookDelivery.run_id, WebhookDelivery.url,
                   WebhookDelivery.body, WebhookDelivery.attempts)
    ).first()
    if row is None:
        return None
    agent = conn.execute(
        select(Agent.id, Agent.allowed_hosts, Agent.webhook_secret)
        .join(Run, Run.agent_id == Agent.id).where(Run.id == row.run_id)
    ).one()
    return DueDelivery(row.id, row.run_id, row.url, row.body, list(row.attempts or []),
                       agent.id, tuple(agent.allowed_hosts or ()), agent.webhook_secret)


def record_attempt(
    conn: Connection,
    delivery_id: int,
    attempts: list[dict[str, Any]],
    *,
    status: str,
    next_attempt_at: datetime | None,
    delivered_at: datetime | None,
) -> None:
    """Store the attempts made so far and what comes next (the sender holds the claim)."""
    conn.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(
            attempts=attempts, attempt_count=len(attempts), status=status,
            next_attempt_at=next_attempt_at, delivered_at=delivered_at,
        )
    )


def read_delivery(session: Session, run_id: int) -> WebhookDelivery | None:
    return session.scalar(select(WebhookDelivery).where(WebhookDelivery.run_id == run_id))
