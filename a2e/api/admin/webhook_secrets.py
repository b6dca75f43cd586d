"""``POST /api/v1/admin/agents/<agent>/webhook-secret``: issue (rotate) the secret an
agent's webhooks are signed with; shown once, kept sealed."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api
from marshmallow import Schema, fields

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event_in
from a2e.api.state import state
from a2e.audit import actions
from a2e.crypto import SecretBox
from a2e.store.queries import webhooks as queries

blp = Blueprint(
    "admin_webhook_secrets", __name__, url_prefix="/api/v1/admin/agents",
    description="Webhook signing secrets (admin)",
)
blp.before_request(require_admin)


class WebhookSecretSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    webhook_secret = fields.String(metadata={
        "description": "shown once; HMAC-SHA256 key (its UTF-8 bytes) of A2E-Signature"})


@blp.route("/<agent_ref>/webhook-secret")
class AgentWebhookSecret(MethodView):
    @blp.response(201, WebhookSecretSchema)
    @blp.alt_response(404, description="no such agent")
    def post(self, agent_ref: str) -> dict[str, Any]:
        """Issue a new webhook secret for an agent (the old one stops signing); shown once"""
        app_state = state()
        with app_state.db.session(write=True) as session:
            agent = agent_or_404(session, agent_ref)
            secret = queries.rotate_webhook_secret(session, agent, SecretBox(app_state.secret_key))
            agent_id, name = agent.id, agent.name
            record_event_in(session, actions.WEBHOOK_SECRET_ROTATED, target=name, agent_id=agent_id)
        return {"agent_id": agent_id, "name": name, "webhook_secret": secret}


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
