"""``GET /api/v1/admin/audit``: query the audit trail (admin keys only); registers the sink."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask, Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Api, abort

from a2e.api.audit.schemas import AuditPageSchema, AuditQueryArgsSchema
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.pagination import page
from a2e.api.state import state
from a2e.audit.export import MEDIA_TYPES, describe, iter_rows, render
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import audit as queries
from a2e.store.queries.audit import AuditFilter

DEFAULT_PAGE = 50
#: The streamed exports beside the JSON page (``format=csv`` / ``format=jsonl``).
EXPORT_CONTENT = {
    MEDIA_TYPES["csv"]: {"schema": {"type": "string", "description": "a header row, then one row per event"}},
    MEDIA_TYPES["jsonl"]: {"schema": {"type": "string", "description": "one event object per line"}},
}

blp = Blueprint(
    "admin_audit", __name__, url_prefix="/api/v1/admin/audit",
    description="The audit trail (admin)",
)
blp.before_request(require_admin)


def agent_id_of(ref: str) -> int:
    """An agent's id by name or id; an id is accepted even once the agent is gone."""
    with state().db.session() as session:
        try:
            return agent_queries.read_agent_id(session, ref)
        except agent_queries.AgentNotFound as exc:
            abort(404, message=str(exc))
            raise  # unreachable


@blp.route("")
class AuditEvents(MethodView):
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    @blp.doc(responses={200: {"content": EXPORT_CONTENT}})
    @blp.alt_response(404, description="no agent with that name")
    def get(self, args: dict[str, Any]) -> Any:
        """Query audit events (JSON pages newest first; CSV or JSON Lines streamed)

        ``format=csv`` or ``format=jsonl`` streams every matching event oldest first
        (``text/csv``, ``application/x-ndjson``); ``limit`` then caps the rows.
        """
        where = AuditFilter(
            agent_id=agent_id_of(args["agent"]) if args["agent"] is not None else None,
            action=args["action"],
            outcome=args["outcome"],
            since=args["since"],
            until=args["until"],
        )
        fmt = args["format"]
        if fmt != "json":
            rows = iter_rows(state().db, where, limit=args["limit"])
            # The first page is read here, so a filter the database refuses is still a 4xx.
            first = list(itertools.islice(rows, 1))
            stream = render(itertools.chain(first, rows), fmt)
            return Response(stream_with_context(stream), mimetype=MEDIA_TYPES[fmt])
        limit = args["limit"] or DEFAULT_PAGE
        with state().db.session() as session:
            events = queries.read_events(
                session, where, limit=limit, before_id=args["cursor"],
                newest_first=True,
            )
            items = [describe(event, name) for event, name in events]
        return page(items, limit, items[-1]["id"] if items else None)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
