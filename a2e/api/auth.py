"""Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

Every path under ``/api/`` needs a key except the OpenAPI document and its docs
page. The authenticated agent lands in ``g.principal``; management blueprints
call :func:`require_admin`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, g, request
from flask_smorest import abort
from sqlalchemy.exc import SQLAlchemyError

from a2e.api.events import record_event
from a2e.api.state import state
from a2e.audit import actions
from a2e.protocol.model import AgentPermissions
from a2e.store.base import utcnow
from a2e.store.queries import agents as agent_queries
from a2e.store.queries.agents import Authenticated
from a2e.store.queries.limits import LimitSource

log = logging.getLogger("a2e.auth")
PUBLIC_PREFIXES = ("/api/v1/openapi.json", "/api/v1/docs")
ADMIN_PREFIX = "/api/v1/admin"
#: Paths that answer only admin keys (403 for an agent key).
ADMIN_ONLY_PREFIXES = (ADMIN_PREFIX, "/api/v1/dashboard/")
#: The ``WWW-Authenticate`` header of every 401 (RFC 6750).
AUTH_CHALLENGE = 'Bearer realm="a2e"'


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, detached from any session."""

    agent_id: int
    name: str
    is_admin: bool
    allowed_operations: frozenset[str] | None
    allowed_hosts: tuple[str, ...]
    #: The agent's limit overrides as read with the key (for this request's admission).
    limits: LimitSource | None = None

    @classmethod
    def of(cls, found: Authenticated) -> Principal:
        ops = found.allowed_operations
        return cls(
            agent_id=found.agent_id,
            name=found.name,
            is_admin=found.is_admin,
            allowed_operations=None if ops is None else frozenset(ops),
            allowed_hosts=tuple(found.allowed_hosts or ()),
            limits=found.limits,
        )

    def permissions(self, credential_hosts: Mapping[str, tuple[str, ...]] | None = None) -> AgentPermissions:
        """What the agent may use; ``credential_hosts``: its credential ids, each with the
        hosts it is bound to (empty: unbound)."""
        credentials = credential_hosts or {}
        return AgentPermissions(
            allowed_operations=self.allowed_operations,
            allowed_hosts=self.allowed_hosts,
            credential_ids=frozenset(credentials),
            credential_hosts={cid: hosts for cid, hosts in credentials.items() if hosts},
        )


def presented_key() -> str | None:
    headers = request._get_current_object().headers
    header = headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("X-API-Key", "").strip() or None


def needs_key(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith(PUBLIC_PREFIXES)


def authenticate_request() -> None:
    context = g._get_current_object()
    context.principal = None
    if not needs_key(request._get_current_object().path):
        return
    key = presented_key()
    if key is None:
        record_event(actions.AUTH_FAILED, outcome="failure", details={"reason": "no key"})
        abort(401, message="an API key is required (Authorization: Bearer <key> or X-API-Key)")
    db = state().db
    found = agent_queries.authenticate(db, key)
    if found is None:
        record_event(actions.AUTH_FAILED, outcome="failure", details={"reason": "invalid key"})
        abort(401, message="the API key is not valid")
    context.principal = Principal.of(found)
    now = utcnow()
    if found.needs_touch(now):
        # Its own short write, at most once a minute per key; losing one is harmless.
        try:
            with db.session(write=True) as session:
                agent_queries.touch_key(session, found.key_id, now)
        except SQLAlchemyError as exc:
            log.warning("could not record a key's last use: %s", type(exc).__name__)


def current_principal() -> Principal:
    principal: Principal | None = g._get_current_object().get("principal")
    if principal is None:  # pragma: no cover - guarded by authenticate_request
        abort(401, message="an API key is required")
    return principal


def require_admin() -> None:
    if not current_principal().is_admin:
        abort(403, message="this endpoint needs an admin key")


def init_app(app: Flask) -> None:
    app.before_request(authenticate_request)
