"""``GET /api/v1/capabilities``: what the calling agent may use."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from sqlalchemy import select

from a2e.api.auth import current_principal
from a2e.api.capabilities.schemas import CapabilitiesSchema
from a2e.api.state import state
from a2e.protocol.catalog import OPERATION_TYPES
from a2e.store.models import Agent, Credential
from a2e.store.queries.limits import read_effective_limits

blp = Blueprint(
    "capabilities", __name__, url_prefix="/api/v1/capabilities",
    description="What the calling agent may use",
)


@blp.route("")
class Capabilities(MethodView):
    @blp.response(200, CapabilitiesSchema)
    def get(self) -> dict[str, Any]:
        """Operations, hosts, credentials and limits of the calling agent"""
        principal = current_principal()
        app_state = state()
        allowed = principal.allowed_operations
        with app_state.db.session() as session:
            agent = session.get_one(Agent, principal.agent_id)
            limits = read_effective_limits(session, agent, app_state.settings.rate_limiting)
            credential_ids = session.scalars(
                select(Credential.credential_id)
                .where(Credential.agent_id == principal.agent_id)
                .order_by(Credential.credential_id)
            ).all()
        return {
            "agent_id": principal.agent_id,
            "name": principal.name,
            "operations": sorted(op for op in OPERATION_TYPES if allowed is None or op in allowed),
            "hosts": list(principal.allowed_hosts),
            "credentials": list(credential_ids),
            "limits": {"enabled": app_state.settings.rate_limiting["enabled"], **limits},
        }


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
