"""``GET /health``: liveness plus one database ping; needs no key."""

from __future__ import annotations

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from a2e import __version__
from a2e.api.errors import DATABASE_RETRY_AFTER_S
from a2e.api.state import state

blp = Blueprint("health", __name__, description="Service health")


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "healthy or unhealthy"})
    service = fields.String()
    version = fields.String()
    database = fields.String(metadata={"description": "ok or unavailable"})


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="the database is unreachable")
    def get(self) -> tuple[dict[str, str], int, dict[str, str]] | dict[str, str]:
        """Service health (pings the database once)"""
        body = {"status": "healthy", "service": "a2e-server", "version": __version__, "database": "ok"}
        try:
            state().db.ping()
        except SQLAlchemyError:
            body.update(status="unhealthy", database="unavailable")
            return body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        return body


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
