"""``/api/v1/dashboard/*`` (admin keys only): the dashboard's figures, computed in SQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView

from a2e.api.admin.agents import agent_or_404
from a2e.api.auth import require_admin
from a2e.api.blueprint import Blueprint
from a2e.api.dashboard.schemas import (
    DashboardQueryArgsSchema,
    ExportQueryArgsSchema,
    MetricsSchema,
    OverviewDocumentSchema,
    TimelineDocumentSchema,
)
from a2e.api.state import state
from a2e.limits.windows import PERIOD_SECONDS, window_start
from a2e.store.queries import dashboard as queries
from a2e.store.queries.dashboard import Scope

EXPORT_BATCH = 1000
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}

blp = Blueprint(
    "dashboard", __name__, url_prefix="/api/v1/dashboard",
    description="Dashboard figures over a period of whole UTC days (admin)",
)
blp.before_request(require_admin)


def flush_local_counters() -> None:
    """Write this process's batched cache and refusal counts, so that what it answers
    includes everything it has seen (other processes flush on their own schedule)."""
    services = state().services
    services.cache.flush()
    services.rate_limits.flush()


def scope_of(args: dict[str, Any]) -> Scope:
    now = state().services.clock.now()
    agent_id = None
    if args["agent"] is not None:
        with state().db.session() as session:
            agent_id = agent_or_404(session, args["agent"]).id
    return Scope(
        days=args["days"], now=now, agent_id=agent_id, workflow=args["workflow"],
        current_windows={period: window_start(now, period) for period in PERIOD_SECONDS},
    )


def read(args: dict[str, Any], *parts: tuple[str, Callable[..., Any]]) -> dict[str, Any]:
    """The period and each ``(name, query)`` part, in one read transaction."""
    flush_local_counters()
    scope = scope_of(args)
    with state().db.session(snapshot=True) as session:
        if not parts:
            return queries.read_metrics(session, scope)
        document: dict[str, Any] = {"period": queries.read_period(scope)}
        for name, query in parts:
            document[name] = query(session, scope)
        return document


@blp.route("/metrics")
class DashboardMetrics(MethodView):
    @blp.arguments(DashboardQueryArgsSchema, location="query")
    @blp.response(200, MetricsSchema)
    @blp.alt_response(404, description="no agent with that name")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every dashboard figure of the period"""
        return read(args)


@blp.route("/overview")
class DashboardOverview(MethodView):
    @blp.arguments(DashboardQueryArgsSchema, location="query")
    @blp.response(200, OverviewDocumentSchema)
    @blp.alt_response(404, description="no agent with that name")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Totals, successes, failures, average duration and top agents of the period"""
        return read(args, ("overview", queries.read_overview))


@blp.route("/timeline")
class DashboardTimeline(MethodView):
    @blp.arguments(DashboardQueryArgsSchema, location="query")
    @blp.response(200, TimelineDocumentSchema)
    @blp.alt_response(404, description="no agent with that name")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Runs per UTC day of the period (days without runs included)"""
        return read(args, ("timeline", queries.read_timeline))


@blp.route("/export")
class DashboardExport(MethodView):
    @blp.arguments(ExportQueryArgsSchema, location="query")
    @blp.response(200, description="the period's runs, oldest first (streamed)",
                  content_type="application/json")
    @blp.alt_response(404, description="no agent with that name")
    def get(self, args: dict[str, Any]) -> Response:
        """The period's runs as JSON or CSV: run_id, execution_id, agent, workflow,
        status, started_at, finished_at, duration_ms, error_type"""
        scope = scope_of(args)
        fmt = args["format"]
        response = Response(stream_with_context(render(export_rows(scope), fmt)),
                            mimetype=MEDIA_TYPES[fmt])
        response.headers["Content-Disposition"] = (
            f'attachment; filename="a2e-runs-{scope.first_day.isoformat()}-{args["days"]}d.{fmt}"')
        return response


def export_rows(scope: Scope) -> Iterator[dict[str, Any]]:
    """The period's runs, a batch per short read transaction (no lock held between)."""
    after = 0
    while True:
        with state().db.session() as session:
            rows = queries.read_export_rows(session, scope, after_id=after, limit=EXPORT_BATCH)
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1]["run_id"]


def render(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Export rows as CSV (a header, then a line per run) or one JSON array, in chunks."""
    if fmt == "json":
        yield "["
        for index, row in enumerate(rows):
            yield ("," if index else "") + json.dumps(row, separators=(",", ":"))
        yield "]\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=queries.EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
