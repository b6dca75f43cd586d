"""``GET /metrics``: the Prometheus text exposition, derived from the database at scrape time.

Every figure is read by a few aggregate statements over the runs, steps, usage and
cache tables (:func:`a2e.store.queries.dashboard.read_counters`), so every server
process and host answers the same numbers: nothing is counted in process memory. The
answering process first writes its own batched cache and refusal counts. The endpoint
needs an admin key as a Bearer token (``X-API-Key`` works too) unless the config
section ``metrics`` has ``public: true``.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask

from flask import Response
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from a2e.api.auth import presented_key
from a2e.api.dashboard.resources import flush_local_counters
from a2e.api.errors import error_response
from a2e.api.events import record_event
from a2e.api.state import state
from a2e.audit import actions
from a2e.limits.windows import RULES
from a2e.store.models.runs import RUN_STATUSES
from a2e.store.queries import agents as agent_queries
from a2e.store.queries.dashboard import Counters, read_counters
from a2e.store.session import Database

#: Statuses always exposed (0 until seen), so that rate() has a series from the start.
STATUSES = (*RUN_STATUSES, "queued", "cancelled")
LIMITS = tuple(key for rules in RULES.values() for key, _ in rules)

blp = Blueprint("prometheus", __name__, description="Prometheus metrics, read from the database")


class DatabaseCollector(Collector):
    """A prometheus_client collector whose every sample comes from one read of the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.session() as session:
            counters = read_counters(session)
        yield from families(counters)


def families(counters: Counters) -> Iterator[Metric]:
    runs = CounterMetricFamily("a2e_runs", "Runs recorded, by status.", labels=["status"])
    for status in sorted({*STATUSES, *counters.runs}):
        runs.add_metric([status], counters.runs.get(status, 0))
    yield runs
    buckets = [(_bound(b), n) for b, n in counters.duration_buckets]
    yield HistogramMetricFamily(
        "a2e_run_duration_seconds", "Wall time of finished runs.",
        buckets=[*buckets, ("+Inf", counters.duration_count)],
        sum_value=counters.duration_sum_s,
    )
    steps = CounterMetricFamily("a2e_steps", "Steps executed, by operation type and status.",
                                labels=["type", "status"])
    for (op_type, status), count in sorted(counters.steps.items()):
        steps.add_metric([op_type, status], count)
    yield steps
    rejections = CounterMetricFamily(
        "a2e_rate_limit_rejections", "Requests and ApiCalls refused, by the limit that refused.",
        labels=["limit"])
    for limit in sorted({*LIMITS, *counters.rejections}):
        rejections.add_metric([limit], counters.rejections.get(limit, 0))
    yield rejections
    yield CounterMetricFamily("a2e_apicall_retries", "ApiCall attempts after the first.",
                              value=counters.apicall_retries)
    yield CounterMetricFamily("a2e_cache_hits", "Result cache hits.", value=counters.cache_hits)
    yield CounterMetricFamily("a2e_cache_misses", "Result cache misses.",
                              value=counters.cache_misses)
    yield GaugeMetricFamily("a2e_cache_entries", "Entries in the result cache.",
                            value=counters.cache_entries)
    yield GaugeMetricFamily("a2e_cache_bytes", "Bytes of cached results.",
                            value=counters.cache_bytes)
    yield GaugeMetricFamily("a2e_queue_depth", "Runs queued and not yet claimed by a worker.",
                            value=counters.queue_depth)


def _bound(seconds: float) -> str:
    return repr(float(seconds))


def refusal() -> Response | None:
    """None when the caller may scrape; else the 401 or 403 to answer."""
    if state().settings.metrics["public"]:
        return None
    key = presented_key()
    if key is None:
        record_event(actions.AUTH_FAILED, outcome="failure", details={"reason": "no key"})
        response = error_response(401, "an admin key is required (Authorization: Bearer <key>)")
    else:
        with state().db.connection(single_statement=True) as conn:
            found = agent_queries.authenticate(conn, key)
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
        registry: CollectorRegistry = state().services["prometheus_registry"]
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})


def registry_for(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    return registry


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
    app.extensions["a2e"].services["prometheus_registry"] = registry_for(app.extensions["a2e"].db)
