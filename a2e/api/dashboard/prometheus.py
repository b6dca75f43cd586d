"""``GET /metrics``: the Prometheus text exposition, derived from the database at scrape time.

Every figure is read by a few aggregate statements over the runs, steps, usage and
cache tables (``services.metrics``: :mod:`a2e.api.dashboard.collector`), so every server
process and host answers the same numbers: nothing is counted in process memory. The
answering process first writes its own batched cache and refusal counts. The endpoint
needs an admin key as a Bearer token (``X-API-Key`` works too) unless the config
section ``metrics`` has ``public: true``.
"""

from __future__ import annotations

from flask import Flask, Response
from flask.views import MethodView
from flask_smorest import Api
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from a2e.api.auth import presented_key
from a2e.api.blueprint import Blueprint
from a2e.api.dashboard.resources import flush_local_counters
from a2e.api.errors import error_response
from a2e.api.events import record_event
from a2e.api.state import state
from a2e.audit import actions
from a2e.store.queries import agents as agent_queries

blp = Blueprint("prometheus", __name__, description="Prometheus metrics, read from the database")


def refusal() -> Response | None:
    """None when the caller may scrape; else the 401 or 403 to answer."""
    if state().settings.metrics["public"]:
        return None
    key = presented_key()
    if key is None:
        record_event(actions.AUTH_FAILED, outcome="failure", details={"reason": "no key"})
        response = error_response(401, "an admin key is required (Authorization: Bearer <key>)")
    else:
        found = agent_queries.authenticate(state().db, key)
        if found is not None and found.is_admin:
            return None
        if found is not None:
            return error_response(403, "/metrics needs an admin key")
        record_event(actions.AUTH_FAILED, outcome="failure", details={"reason": "invalid key"})
        response = error_response(401, "the API key is not valid")
    response.headers["WWW-Authenticate"] = 'Bearer realm="a2e"'
    return response


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, description="the text exposition format (version 0.0.4)",
                  content_type="text/plain")
    @blp.alt_response(401, description="no key, or a key that is not valid")
    @blp.alt_response(403, description="an agent's key (an admin key is needed)")
    def get(self) -> Response:
        """Prometheus metrics (admin key as a Bearer token, unless metrics.public)"""
        denied = refusal()
        if denied is not None:
            return denied
        flush_local_counters()
        return Response(generate_latest(state().services.metrics), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
