"""``GET /health`` and the gate that answers 503 until the database is usable.

``/health`` needs no key. It asks the database every time
(:func:`a2e.store.schema_state.schema_state`): 200 with ``"database": "ok"`` when it
answers and is at the migration head; 503 with ``"not migrated"`` or
``"unreachable"`` (which includes, on SQLite, a database file deleted or replaced
since the server opened it) otherwise.

``a2e serve`` starts whatever the database's state; until it is usable every other
``/api/`` request is a 503 (``schema_gate``). Once the schema was found at the head,
the gate costs nothing more per request; until then it asks again at most once a
second, and a ``/health`` that found the head opens it (so a process that answered
``/health`` with ``ok`` serves the next request). After that, a lost database is still a 503 from the error handlers, and a
deleted or replaced SQLite file is refused before every transaction.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask.views import MethodView
from flask_smorest import Api
from marshmallow import Schema, fields

from a2e import __version__
from a2e.api.auth import authenticate_request, needs_key
from a2e.api.blueprint import Blueprint
from a2e.api.errors import DATABASE_RETRY_AFTER_S, error_response
from a2e.api.state import state
from a2e.store import schema_state as schema

blp = Blueprint("health", __name__, description="Service health")
MESSAGES = {
    schema.NOT_MIGRATED: "the database is not migrated to this server's schema: run `a2e db upgrade`",
    schema.UNREACHABLE: "the database is unavailable; try again shortly",
}


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "healthy or unhealthy"})
    service = fields.String()
    version = fields.String()
    database = fields.String(metadata={"description": "ok, not migrated or unreachable"})


def schema_gate() -> Response | None:
    """``before_request``: 503 for a keyed request while the database is not usable."""
    if not needs_key(request._get_current_object().path):
        return None
    found = state().services.schema_gate.state()
    if found == schema.OK:
        return None
    response = error_response(503, MESSAGES[found], details={"database": found})
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema,
                      description="the database is unreachable or not migrated")
    def get(self) -> tuple[dict[str, str], int, dict[str, str]] | dict[str, str]:
        """Service health: the database answers and is at the migration head"""
        app_state = state()
        found = schema.schema_state(app_state.db)
        app_state.services.schema_gate.observe(found)
        body = {"status": "healthy", "service": "a2e-server", "version": __version__,
                "database": found}
        if found != schema.OK:
            body["status"] = "unhealthy"
            return body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        return body


def init_app(app: Flask, api: Api) -> None:
    # Before authentication, which reads the agents table.
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(hooks.index(authenticate_request) if authenticate_request in hooks else 0,
                 schema_gate)
    api.register_blueprint(blp)
