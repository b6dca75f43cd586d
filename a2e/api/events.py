"""The one call every module makes to leave an audit event.

``record_event`` fills in the request context (request id, client address, the
authenticated actor) and hands the event to the app's ``services.audit``. Details must
never carry a secret or a key.
"""

from __future__ import annotations

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


def record_event(
    action: str,
    *,
    outcome: str = "success",
    target: str | None = None,
    agent_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit event (``agent_id`` defaults to the authenticated caller)."""
    sink: AuditSink = state().services.audit
    principal = g.get("principal") if has_request_context() else None
    if agent_id is None and principal is not None:
        agent_id = principal.agent_id
    actor = None
    if principal is not None:
        actor = f"admin:{principal.name}" if principal.is_admin else f"agent:{principal.name}"
    sink.append(
        action=action,
        outcome=outcome,
        actor=actor,
        agent_id=agent_id,
        target=target,
        request_id=g.get("request_id") if has_request_context() else None,
        client_ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
