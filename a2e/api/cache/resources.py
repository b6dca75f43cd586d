"""``/api/v1/cache`` (the agent's own entries) and ``/api/v1/admin/cache`` (all of them).

Statistics and invalidation work whether or not ``cache.enabled`` lets the runner use
the cache (``services.cache``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api
from sqlalchemy.orm import Session

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import current_principal, require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.cache.schemas import (
    AdminInvalidateArgsSchema,
    CacheStatsSchema,
    InvalidateArgsSchema,
    InvalidationSchema,
)
from a2e.api.events import record_event_in
from a2e.api.state import state
from a2e.audit import actions
from a2e.store.cache import SqlResultCache, stats_report

blp = Blueprint("cache", __name__, url_prefix="/api/v1/cache",
                description="The calling agent's cached results")
admin_blp = Blueprint("admin_cache", __name__, url_prefix="/api/v1/admin/cache",
                      description="The result cache of every agent (admin)")
admin_blp.before_request(require_admin)


def result_cache() -> SqlResultCache:
    return state().services.cache


def _stats(agent_id: int | None) -> dict[str, Any]:
    app_state = state()
    section = app_state.settings.cache
    report = stats_report(result_cache().stats(agent_id))
    totals = report["totals"]
    return {"enabled": section["enabled"], "max_size": section["max_size"],
            "max_bytes": section["max_bytes"], **report,
            # the reference's names, at the top level
            "hits": totals["hits"], "misses": totals["misses"], "hit_rate": totals["hit_rate"]}


def _invalidate(filters: dict[str, Any], agent_id: int | None, agent_name: str | None) -> dict[str, Any]:
    described = {k: v for k, v in filters.items() if k != "agent"}
    if agent_name is not None:
        described["agent"] = agent_name

    def record(session: Session, removed: int) -> None:
        record_event_in(session, actions.CACHE_INVALIDATED,
                        target=f"agent:{agent_name}" if agent_name else "cache",
                        agent_id=agent_id, details={**described, "removed": removed})

    removed = result_cache().invalidate(agent_id=agent_id, op_type=filters.get("type"),
                                        key_hash=filters.get("key"), record=record)
    return {"removed": removed, "filters": described}


@blp.route("/stats")
class CacheStats(MethodView):
    @blp.response(200, CacheStatsSchema)
    def get(self) -> dict[str, Any]:
        """The calling agent's cache statistics per operation type"""
        return _stats(current_principal().agent_id)


@blp.route("")
class Cache(MethodView):
    @blp.arguments(InvalidateArgsSchema, location="query")
    @blp.response(200, InvalidationSchema)
    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Invalidate the calling agent's cached results (all, or by type or key)"""
        principal = current_principal()
        return _invalidate(args, principal.agent_id, principal.name)


@admin_blp.route("/stats")
class AdminCacheStats(MethodView):
    @admin_blp.response(200, CacheStatsSchema)
    def get(self) -> dict[str, Any]:
        """Cache statistics per agent and operation type"""
        return _stats(None)


@admin_blp.route("")
class AdminCache(MethodView):
    @admin_blp.arguments(AdminInvalidateArgsSchema, location="query")
    @admin_blp.response(200, InvalidationSchema)
    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Invalidate cached results: all, or by agent, operation type or key"""
        agent_id = agent_name = None
        if "agent" in args:
            with state().db.session() as session:
                agent = agent_or_404(session, args["agent"])
                agent_id, agent_name = agent.id, agent.name
        return _invalidate(args, agent_id, agent_name)


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)
