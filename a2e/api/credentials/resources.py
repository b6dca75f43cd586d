"""Credentials of an agent (admin keys only): ids and timestamps out, values only in.

The engine resolves ``{"credentialRef": {"id": ...}}`` through ``services.credentials``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, abort

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.credentials.schemas import CredentialSchema, CredentialValueSchema
from a2e.api.events import record_event_in
from a2e.api.fields import path_parameter
from a2e.api.state import state
from a2e.audit import actions
from a2e.crypto import SecretBox
from a2e.store.models import Credential
from a2e.store.queries import credentials as queries

blp = Blueprint(
    "admin_credentials", __name__, url_prefix="/api/v1/admin/agents",
    description="Credentials an agent's ApiCalls may reference (admin; values are never returned)",
)
blp.before_request(require_admin)


def describe(row: Credential) -> dict[str, Any]:
    return {"credential_id": row.credential_id, "hosts": list(row.hosts or []),
            "created_at": row.created_at, "updated_at": row.updated_at}


@blp.route("/<agent_ref>/credentials")
class Credentials(MethodView):
    @blp.response(200, CredentialSchema(many=True))
    def get(self, agent_ref: str) -> list[dict[str, Any]]:
        """List an agent's credentials: ids, hosts and timestamps (never values)"""
        with state().db.session() as session:
            agent = agent_or_404(session, agent_ref)
            return [describe(row) for row in queries.read_credentials(session, agent.id)]


@blp.route("/<agent_ref>/credentials/<credential_id>", parameters=[path_parameter(
    "credential_id", queries.CREDENTIAL_ID.pattern, "1-100 letters, digits, _ . -")])
class CredentialById(MethodView):
    @blp.arguments(CredentialValueSchema)
    @blp.response(200, CredentialSchema)
    def put(self, body: dict[str, Any], agent_ref: str, credential_id: str) -> dict[str, Any]:
        """Store or replace a credential's value and the hosts it is bound to"""
        app_state = state()
        try:
            with app_state.db.session(write=True) as session:
                agent = agent_or_404(session, agent_ref)
                row, created = queries.write_credential(
                    session, SecretBox(app_state.secret_key), agent.id, credential_id, body["value"],
                    body["hosts"],
                )
                described = describe(row)
                record_event_in(session, actions.CREDENTIAL_SET,
                                target=f"{agent.name}/{credential_id}", agent_id=agent.id,
                                details={"credential_id": credential_id, "created": created,
                                         "hosts": described["hosts"]})
        except queries.InvalidCredential as exc:
            abort(400, message=str(exc))
        return described

    @blp.response(204)
    def delete(self, agent_ref: str, credential_id: str) -> None:
        """Delete a credential"""
        with state().db.session(write=True) as session:
            agent = agent_or_404(session, agent_ref)
            if not queries.delete_credential(session, agent.id, credential_id):
                abort(404, message=f"agent {agent.name!r} has no credential {credential_id!r}")
            record_event_in(session, actions.CREDENTIAL_DELETED,
                            target=f"{agent.name}/{credential_id}", agent_id=agent.id,
                            details={"credential_id": credential_id})


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
