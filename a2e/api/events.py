"""The calls every module makes to leave an audit event, with the request context
(request id, client address, the authenticated actor) filled in.

- :func:`record_event_in` — an event that records a change: a row of the change's own
  transaction (the session or Core connection it is written in), so that both commit
  or neither does. A failed insert fails the change.
- :func:`record_event` — an event that records no change (an authentication failure, a
  refused or validated workflow, a rejected request): a short transaction of its own
  through ``services.audit``.
- :func:`event_row` — the row alone, for a caller that inserts it itself (the run
  recorder batches a run's events with its rows).

Details must never carry a secret or a key.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from a2e.api.state import state
from a2e.store.queries.audit import Executor


def _context(agent_id: int | None) -> dict[str, Any]:
    """The request's part of an event: actor, agent (default: the caller), id, address."""
    if not has_request_context():
        return {"actor": None, "agent_id": agent_id, "request_id": None, "client_ip": None}
    context = g._get_current_object()  # one lookup of the proxy, not one per field
    principal = context.get("principal")
    actor = None
    if principal is not None:
        if agent_id is None:
            agent_id = principal.agent_id
        actor = f"admin:{principal.name}" if principal.is_admin else f"agent:{principal.name}"
    return {
        "actor": actor,
        "agent_id": agent_id,
        "request_id": context.get("request_id"),
        "client_ip": request._get_current_object().remote_addr,
    }


def record_event(
    action: str,
    *,
    outcome: str = "success",
    target: str | None = None,
    agent_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an event that records no change, in a transaction of its own (``agent_id``
    defaults to the authenticated caller)."""
    sink = state().services.audit
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
    sink = state().services.audit
    return sink.row(action=action, outcome=outcome, target=target, details=details or {},
                    **_context(agent_id))


def record_event_in(
    conn: Executor,
    action: str,
    *,
    outcome: str = "success",
    target: str | None = None,
    agent_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Insert the event of a change in the change's transaction (``conn``: its session or
    Core connection; never committed here): both commit or neither does."""
    sink = state().services.audit
    sink.add(conn, action=action, outcome=outcome, target=target, details=details or {},
             **_context(agent_id))
