"""The Prometheus collector: every sample read from the database at scrape time.

Eight families from :func:`a2e.store.queries.dashboard.read_counters` (six aggregate
statements over the rollups, the runs not rolled yet, the rejections and the cache, in
one snapshot), so every server process and host exposes the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from a2e.limits.windows import RULES
from a2e.store.models.runs import RUN_STATUSES
from a2e.store.queries.dashboard import Counters, read_counters
from a2e.store.session import Database

#: Statuses always exposed (0 until seen), so that rate() has a series from the start.
STATUSES = (*RUN_STATUSES, "queued", "cancelled")
LIMITS = tuple(key for rules in RULES.values() for key, _ in rules)


class DatabaseCollector(Collector):
    """A prometheus_client collector whose every sample comes from one read of the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.session(snapshot=True) as session:
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


def registry_for(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    return registry
