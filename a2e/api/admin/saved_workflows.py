"""Saved workflows of every agent (admin keys only): read-only."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api
from marshmallow import Schema, fields

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.fields import text
from a2e.api.pagination import PageArgsSchema, page
from a2e.api.saved_workflows.schemas import SavedWorkflowSchema
from a2e.api.state import state
from a2e.store.queries import workflows as queries

blp = Blueprint(
    "admin_saved_workflows", __name__, url_prefix="/api/v1/admin/saved-workflows",
    description="Saved workflows of every agent (admin)",
)
blp.before_request(require_admin)


class AdminSavedArgsSchema(PageArgsSchema):
    agent = text(max_length=100, load_default=None, metadata={"description": "agent name or id"})
    name = text(max_length=100, load_default=None, metadata={"description": "workflow name"})


class AdminSavedWorkflowSchema(SavedWorkflowSchema):
    id = fields.Integer()
    agent_id = fields.Integer()
    agent = fields.String()


class AdminSavedPageSchema(Schema):
    items = fields.List(fields.Nested(AdminSavedWorkflowSchema))
    next_cursor = fields.String(allow_none=True)


@blp.route("")
class AdminSavedWorkflows(MethodView):
    @blp.arguments(AdminSavedArgsSchema, location="query")
    @blp.response(200, AdminSavedPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Saved workflow versions of any agent, newest first, with their JSONL"""
        with state().db.session() as session:
            agent_id = agent_or_404(session, args["agent"]).id if args["agent"] else None
            rows = queries.read_saved_workflows(
                session, limit=args["limit"], agent_id=agent_id, name=args["name"],
                before_id=args["cursor"],
            )
        items = [
            {"id": row.id, "agent_id": row.agent_id, "agent": agent_name, "name": row.name,
             "version": row.version, "description": row.description, "created_at": row.created_at,
             "workflow": row.jsonl}
            for row, agent_name in rows
        ]
        return page(items, args["limit"], items[-1]["id"] if items else None)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
