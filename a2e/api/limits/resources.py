"""``GET /api/v1/rate-limit/status`` (not counted) and the admin limits of an agent."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask.views import MethodView
from flask_smorest import Api

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import current_principal, require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.events import record_event_in
from a2e.api.limits.hooks import add_headers, count_request, rate_limits
from a2e.api.limits.schemas import (
    AgentLimitsSchema,
    LimitsPatchSchema,
    LimitsReplaceSchema,
    RateLimitStatusSchema,
)
from a2e.api.state import AppState, state
from a2e.audit import actions
from a2e.store.base import utcnow
from a2e.store.queries import limits as queries

status_blp = Blueprint(
    "rate_limit", __name__, url_prefix="/api/v1/rate-limit",
    description="The calling agent's rate limits and usage",
)
admin_blp = Blueprint(
    "admin_limits", __name__, url_prefix="/api/v1/admin/agents",
    description="Per-agent limit overrides (admin)",
)
admin_blp.before_request(require_admin)


@status_blp.route("/status")
class RateLimitStatus(MethodView):
    @status_blp.response(200, RateLimitStatusSchema)
    def get(self) -> dict[str, Any]:
        """Limits, usage, remaining and reset per window (this request is not counted)"""
        service = rate_limits()
        agent_id = current_principal().agent_id
        if service.enabled:
            effective = service.reader.read(agent_id)
            if effective is not None:
                g.rate_limit = service.limiter.usage(agent_id, "requests", effective.limits)
        body = service.status(agent_id)
        usage = body["usage"]
        usage.update({name: usage[key] for key, name in REFERENCE_USAGE_NAMES.items() if key in usage})
        return body


REFERENCE_USAGE_NAMES = {  # our limit key → the reference's name for its usage
    "requests_per_minute": "requests_last_minute",
    "requests_per_hour": "requests_last_hour",
    "requests_per_day": "requests_last_day",
    "api_calls_per_minute": "api_calls_last_minute",
    "api_calls_per_hour": "api_calls_last_hour",
}


def _describe(agent_id: int, name: str, overrides: dict[str, int | None]) -> dict[str, Any]:
    app_state = state()
    return {
        "agent_id": agent_id,
        "name": name,
        "enabled": app_state.settings.rate_limiting["enabled"],
        "overrides": overrides,
        "effective": queries.effective_limits(app_state.settings.rate_limiting, name, overrides),
    }


def _change(agent_ref: str, values: dict[str, int | None]) -> dict[str, Any]:
    with state().db.session(write=True) as session:
        agent = agent_or_404(session, agent_ref)
        agent_id, name = agent.id, agent.name
        overrides = queries.write_overrides(session, agent_id, values, utcnow())
        record_event_in(session, actions.LIMITS_CHANGED, target=f"agent:{name}",
                        agent_id=agent_id, details={"changed": values})
    return _describe(agent_id, name, overrides)


@admin_blp.route("/<agent_ref>/limits")
class AgentLimitsByRef(MethodView):
    @admin_blp.response(200, AgentLimitsSchema)
    def get(self, agent_ref: str) -> dict[str, Any]:
        """An agent's limit overrides and the limits in force"""
        with state().db.session() as session:
            agent = agent_or_404(session, agent_ref)
            return _describe(agent.id, agent.name, queries.read_overrides(session, agent.id))

    @admin_blp.arguments(LimitsReplaceSchema, required=False)
    @admin_blp.response(200, AgentLimitsSchema)
    def put(self, body: dict[str, int | None], agent_ref: str) -> dict[str, Any]:
        """Replace an agent's overrides (a missing field returns to the default)"""
        return _change(agent_ref, body)

    @admin_blp.arguments(LimitsPatchSchema, required=False)
    @admin_blp.response(200, AgentLimitsSchema)
    def patch(self, body: dict[str, int | None], agent_ref: str) -> dict[str, Any]:
        """Change the given overrides of an agent (null returns one to the default)"""
        return _change(agent_ref, body)


def init_app(app: Flask, api: Api) -> None:
    app_state: AppState = app.extensions["a2e"]
    if app_state.services.rate_limits.enabled:
        app.before_request(count_request)
        app.after_request(add_headers)
    api.register_blueprint(status_blp)
    api.register_blueprint(admin_blp)
