"""Management of agents and their keys (admin keys only)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, abort
from sqlalchemy.orm import Session

from a2e import keys
from a2e.api.admin.schemas import (
    AgentCreateSchema,
    AgentSchema,
    AgentUpdateSchema,
    ApiKeySchema,
    IssuedKeySchema,
)
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event_in
from a2e.api.state import state
from a2e.audit import actions
from a2e.store.models import Agent
from a2e.store.queries import agents as queries

blp = Blueprint(
    "admin_agents", __name__, url_prefix="/api/v1/admin/agents",
    description="Agents and API keys (admin)",
)
blp.before_request(require_admin)


def agent_or_404(session: Session, ref: str) -> Agent:
    try:
        return queries.read_agent(session, ref)
    except queries.AgentNotFound as exc:
        abort(404, message=str(exc))
        raise  # unreachable; keeps type checkers content


@blp.route("")
class Agents(MethodView):
    @blp.response(200, AgentSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List agents"""
        with state().db.session() as session:
            return [agent.describe() for agent in queries.read_agents(session)]

    @blp.arguments(AgentCreateSchema)
    @blp.response(201, IssuedKeySchema)
    @blp.alt_response(409, description="the name is taken")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an agent; its first key is shown once"""
        try:
            with state().db.session(write=True) as session:
                issued = queries.create_agent(
                    session,
                    body["name"],
                    admin=body["admin"],
                    allowed_operations=body["allowed_operations"],
                    allowed_hosts=body["allowed_hosts"],
                )
                record_event_in(session, actions.AGENT_CREATED, target=issued.name,
                                agent_id=issued.agent_id, details={"admin": body["admin"]})
        except queries.AgentExists as exc:
            abort(409, message=str(exc))
        except queries.InvalidAgent as exc:
            abort(400, message=str(exc))
        return issued.to_dict()


@blp.route("/<agent_ref>")
class AgentByRef(MethodView):
    @blp.response(200, AgentSchema)
    def get(self, agent_ref: str) -> dict[str, Any]:
        """Get an agent by name or id"""
        with state().db.session() as session:
            return agent_or_404(session, agent_ref).describe()

    @blp.arguments(AgentUpdateSchema, required=False)
    @blp.response(200, AgentSchema)
    def patch(self, body: dict[str, Any], agent_ref: str) -> dict[str, Any]:
        """Change an agent's permissions, admin flag or disabled flag"""
        with state().db.session(write=True) as session:
            agent = agent_or_404(session, agent_ref)
            if "admin" in body:
                agent.is_admin = body["admin"]
            if "allowed_operations" in body:
                ops = body["allowed_operations"]
                agent.allowed_operations = None if ops is None else sorted(set(ops))
            if "allowed_hosts" in body:
                agent.allowed_hosts = list(dict.fromkeys(body["allowed_hosts"]))
            if "disabled" in body:
                agent.disabled = body["disabled"]
            session.flush()
            described = agent.describe()
            action = actions.AGENT_DISABLED if body.get("disabled") else actions.AGENT_UPDATED
            record_event_in(session, action, target=described["name"],
                            agent_id=described["agent_id"], details={"changed": sorted(body)})
        return described


@blp.route("/<agent_ref>/keys")
class AgentKeys(MethodView):
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, agent_ref: str) -> list[Any]:
        """List an agent's keys (prefixes only)"""
        with state().db.session() as session:
            return list(queries.read_keys(session, agent_or_404(session, agent_ref)))

    @blp.response(201, IssuedKeySchema)
    def post(self, agent_ref: str) -> dict[str, Any]:
        """Issue an additional key for an agent; shown once"""
        with state().db.session(write=True) as session:
            issued = queries.create_key(session, agent_or_404(session, agent_ref))
            record_event_in(session, actions.KEY_CREATED, target=issued.name,
                            agent_id=issued.agent_id,
                            details={"prefix": keys.prefix_of(issued.api_key)})
        return issued.to_dict()


@blp.route("/<agent_ref>/keys/<prefix>")
class AgentKeyByPrefix(MethodView):
    @blp.response(204)
    def delete(self, agent_ref: str, prefix: str) -> None:
        """Revoke one key by its prefix"""
        with state().db.session(write=True) as session:
            agent = agent_or_404(session, agent_ref)
            if not queries.revoke_key(session, agent, prefix):
                abort(404, message=f"no active key with prefix {prefix!r}")
            record_event_in(session, actions.KEY_REVOKED, target=agent.name, agent_id=agent.id,
                            details={"prefix": prefix})


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
