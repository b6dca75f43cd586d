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


class ExecutionSchema(ExecutionSummarySchema):
    results = fields.Dict()
    steps = fields.List(fields.Dict())


class ExecutionPageSchema(Schema):
    items = fields.List(fields.Nested(ExecutionSummarySchema))
    executions = fields.List(fields.Nested(ExecutionSummarySchema),
                             metadata={"description": "the same page as items (the reference's name)"})
    next_cursor = fields.String(allow_none=True)
