"""The one call every module makes to leave an audit event.

``record_event`` fills in the request context (request id, client address, the
authenticated actor) and hands the event to the app's ``services.audit``; ``event_row``
makes the same row for a caller that writes it in its own transaction (the run
recorder). Details must never carry a secret or a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask import g, has_request_context, request

from a2e.api.state import state


class AuditSink(Protocol):
    def append(
        self,
        *,
        action: str,
        outcome: str,
        actor: str | None,
        agent_id: int | None,
        target: str | None,
        request_id: str | None,
        client_ip: str | None,
        details: dict[str, Any],
    ) -> None: ...

    def row(
        self,
        *,
        action: str,
        outcome: str,
        actor: str | None,
        agent_id: int | None,
        target: str | None,
        request_id: str | None,
        client_ip: str | None,
        details: Mapping[str, Any],
    ) -> dict[str, Any] | None: ...


def _context(agent_id: int | None) -> dict[str, Any]:
    """The request's part of an event: actor, agent (default: the caller), id, address."""
    principal = g.get("principal") if has_request_context() else None
    if agent_id is None and principal is not None:
        agent_id = principal.agent_id
    actor = None
    if principal is not None:
        actor = f"admin:{principal.name}" if principal.is_admin else f"agent:{principal.name}"
    return {
        "actor": actor,
        "agent_id": agent_id,
        "request_id": g.get("request_id") if has_request_context() else None,
        "client_ip": request.remote_addr if has_request_context() else None,
    }


def record_event(
    action: str,
    *,
    outcome: str = "success",
    target: str | None = None,
    agent_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit event in a transaction of its own (``agent_id`` defaults to the
    authenticated caller)."""
    sink: AuditSink = state().services.audit
    sink.append(action=action, outcome=outcome, target=target, details=details or {},
                **_context(agent_id))


def event_row(
    action: str,
    *,
    outcome: str = "success",
    target: str | None = None,
    agent_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The row of an audit event for the caller to insert in the transaction of the change
    it records (None when the trail is off)."""
    sink: AuditSink = state().services.audit
    return sink.row(action=action, outcome=outcome, target=target, details=details or {},
                    **_context(agent_id))
