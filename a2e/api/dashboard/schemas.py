"""Query arguments and documents of the dashboard endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

#: The longest period the dashboard aggregates (days).
MAX_DAYS = 366
EXPORT_FORMATS = ("json", "csv")


class DashboardQueryArgsSchema(Schema):
    days = fields.Integer(
        load_default=7, strict=False, validate=validate.Range(min=1, max=MAX_DAYS),
        metadata={"description": f"whole UTC days ending today, 1-{MAX_DAYS}"},
    )
    agent = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100),
        metadata={"description": "only this agent (name or id)"},
    )
    workflow = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100),
        metadata={"description": "only runs of this saved workflow"},
    )


class ExportQueryArgsSchema(DashboardQueryArgsSchema):
    format = fields.String(
        load_default="json", validate=validate.OneOf(EXPORT_FORMATS),
        metadata={"description": "json: a list of runs; csv: one line per run with a header"},
    )


class PeriodSchema(Schema):
    days = fields.Integer()
    since = fields.String(metadata={"description": "UTC midnight of the first day"})
    until = fields.String(metadata={"description": "when the figures were read"})


class AgentFiguresSchema(Schema):
    agent = fields.String()
    total = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    success_rate = fields.Float(allow_none=True, metadata={"description": "succeeded / finished"})
    average_duration_ms = fields.Float(allow_none=True)


class OverviewSchema(Schema):
    total_executions = fields.Integer()
    successful_executions = fields.Integer()
    failed_executions = fields.Integer()
    interrupted = fields.Integer()
    cancelled = fields.Integer()
    running = fields.Integer()
    queued = fields.Integer()
    success_rate = fields.Float(allow_none=True)
    average_duration_ms = fields.Float(allow_none=True)
    total_agents = fields.Integer(metadata={"description": "agents with runs in the period"})
    top_agents = fields.List(fields.Nested(AgentFiguresSchema))


class TimelineDaySchema(Schema):
    date = fields.String()
    total = fields.Integer()
    success = fields.Integer()
    failed = fields.Integer()


class OperationSchema(Schema):
    operation_type = fields.String()
    count = fields.Integer()
    average_duration_ms = fields.Float(allow_none=True)
    total_duration_ms = fields.Integer()
    failures = fields.Integer()


class RecentExecutionSchema(Schema):
    run_id = fields.Integer(metadata={"description": "its steps: GET /api/v1/admin/runs/{run_id}"})
    execution_id = fields.String()
    agent = fields.String()
    workflow = fields.String(allow_none=True)
    status = fields.String()
    started_at = fields.String()
    duration_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class BucketSchema(Schema):
    label = fields.String()
    min_ms = fields.Integer()
    max_ms = fields.Integer(allow_none=True, metadata={"description": "exclusive; null: open"})
    count = fields.Integer()


class DurationDistributionSchema(Schema):
    buckets = fields.List(fields.Nested(BucketSchema))
    count = fields.Integer()
    min_ms = fields.Integer(allow_none=True)
    median_ms = fields.Float(allow_none=True)
    max_ms = fields.Integer(allow_none=True)


class RejectionSchema(Schema):
    limit = fields.String(metadata={"description": "e.g. requests_per_minute"})
    agent = fields.String()
    rejections = fields.Integer()


class NearLimitSchema(Schema):
    agent = fields.String()
    limit = fields.String()
    used = fields.Integer()
    quota = fields.Integer()
    usage = fields.Float(metadata={"description": "used / quota of the current window"})


class RateLimitingSchema(Schema):
    total_rejections = fields.Integer()
    rejections = fields.List(fields.Nested(RejectionSchema))
    near_limits = fields.List(fields.Nested(NearLimitSchema))


class RetrySchema(Schema):
    retries = fields.Integer(metadata={"description": "attempts after the first"})
    retried_steps = fields.Integer()
    recovered_runs = fields.Integer(metadata={"description": "succeeded runs with a step that succeeded on a retry"})
    give_ups = fields.Integer(metadata={"description": "retried steps that still failed"})


class CacheFiguresSchema(Schema):
    hits = fields.Integer(metadata={"description": "since the start (the period does not apply)"})
    misses = fields.Integer()
    hit_rate = fields.Float(allow_none=True)
    entries = fields.Integer()
    bytes = fields.Integer()
    evictions = fields.Integer()
    expirations = fields.Integer()
    invalidations = fields.Integer()
    writes = fields.Integer()
    cached_steps = fields.Integer(metadata={"description": "steps of the period answered from the cache"})


class OverviewDocumentSchema(Schema):
    period = fields.Nested(PeriodSchema)
    overview = fields.Nested(OverviewSchema)


class TimelineDocumentSchema(Schema):
    period = fields.Nested(PeriodSchema)
    timeline = fields.List(fields.Nested(TimelineDaySchema))


class MetricsSchema(Schema):
    period = fields.Nested(PeriodSchema)
    overview = fields.Nested(OverviewSchema)
    timeline = fields.List(fields.Nested(TimelineDaySchema))
    operations = fields.List(fields.Nested(OperationSchema))
    recent_executions = fields.List(fields.Nested(RecentExecutionSchema))
    duration_distribution = fields.Nested(DurationDistributionSchema)
    success_rate_by_agent = fields.List(fields.Nested(AgentFiguresSchema))
    rate_limiting = fields.Nested(RateLimitingSchema)
    retry = fields.Nested(RetrySchema)
    cache = fields.Nested(CacheFiguresSchema)
