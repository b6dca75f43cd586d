from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.api.fields import text
from a2e.api.pagination import PageArgsSchema
from a2e.store.models.runs import RUN_STATUSES


class ExecutionQueryArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(RUN_STATUSES))


class AdminRunQueryArgsSchema(ExecutionQueryArgsSchema):
    agent = text(max_length=100, load_default=None, metadata={"description": "agent name or id"})
    execution_id = text(max_length=100, load_default=None)


class ExecutionSummarySchema(Schema):
    run_id = fields.Integer()
    execution_id = fields.String()
    agent_id = fields.Integer()
    status = fields.String()
    started_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    saved_workflow = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    async_ = fields.Boolean(data_key="async", metadata={"description": "submitted asynchronously"})
    queued_at = fields.DateTime(allow_none=True)
    claims = fields.Integer(metadata={"description": "times a worker claimed it (2+: resumed)"})
    cancel_requested_at = fields.DateTime(allow_none=True)


class ExecutionWaitArgsSchema(Schema):
    wait = fields.Float(
        load_default=0.0, validate=validate.Range(min=0, max=60),
        metadata={"description": "seconds (0-60) to wait for the run to end before answering"},
    )


class CancelledSchema(Schema):
    execution_id = fields.String()
    run_id = fields.Integer()
    status = fields.String(metadata={"description": "cancelled (it was queued) or running "
                                                    "(it stops at its next step boundary)"})
    cancel_requested = fields.Boolean()


class ExecutionSchema(ExecutionSummarySchema):
    callback = fields.Dict(allow_none=True, metadata={
        "description": "callbackUrl runs: {url, status (not_yet|pending|delivered|failed), "
                       "attempts, delivered_at}"})
    results = fields.Dict()
    steps = fields.List(fields.Dict())


class ExecutionPageSchema(Schema):
    items = fields.List(fields.Nested(ExecutionSummarySchema))
    executions = fields.List(fields.Nested(ExecutionSummarySchema),
                             metadata={"description": "the same page as items (the reference's name)"})
    next_cursor = fields.String(allow_none=True)
