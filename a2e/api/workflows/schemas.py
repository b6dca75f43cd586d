from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from a2e.api.fields import StrictBoolean


class WorkflowSourceField(fields.Field):
    """A JSONL text, or a list of message objects (one per line)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            return value
        raise ValidationError("a JSONL string or a list of message objects, not empty")


#: The OpenAPI form of :class:`WorkflowSourceField`: JSONL text or message objects, not empty.
WORKFLOW_SOURCE = {"oneOf": [{"type": "string", "minLength": 1},
                             {"type": "array", "minItems": 1, "items": {"type": "object"}}]}


class ValidateRequestSchema(Schema):
    workflow = WorkflowSourceField(
        required=True,
        metadata={"description": "JSONL text, or a list of message objects", **WORKFLOW_SOURCE},
    )


class AsyncOptionsSchema(Schema):
    """What an execute body may add to run asynchronously (docs/async-runs.md)."""

    async_ = StrictBoolean(
        data_key="async", load_default=False,
        metadata={"description": "true: queue the run and answer 202 with Location "
                                 "(as the header Prefer: respond-async)"},
    )
    callbackUrl = fields.Url(  # noqa: N815 - the protocol's field name
        load_default=None, require_tld=False, schemes={"http", "https"},
        validate=validate.Length(max=2000),
        metadata={"description": "asynchronous runs: POSTed the outcome when the run ends, "
                                 "signed with A2E-Signature"},
    )


class ExecuteRequestSchema(ValidateRequestSchema, AsyncOptionsSchema):
    validate = StrictBoolean(
        load_default=True,
        metadata={"description": "false skips only the report; permission, host and "
                                 "credential checks always run"},
    )


class SubmittedSchema(Schema):
    """The 202 body of an asynchronous submit."""

    execution_id = fields.String()
    run_id = fields.Integer()
    status = fields.String(metadata={"description": "queued"})
    queued_at = fields.DateTime()
    location = fields.String(metadata={"description": "as the Location header: "
                                                      "/api/v1/executions/<execution_id>"})


class IssueSchema(Schema):
    line = fields.Integer(allow_none=True)
    operationId = fields.String(allow_none=True)  # noqa: N815
    type = fields.String()
    message = fields.String()
    suggestion = fields.String(allow_none=True)


class ReportSchema(Schema):
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(IssueSchema))
    warnings = fields.List(fields.Nested(IssueSchema))


class ReferenceIssueSchema(IssueSchema):
    severity = fields.String(metadata={"description": "error or warning"})
    operation_id = fields.String(allow_none=True, metadata={"description": "operationId again"})


class ValidationSummarySchema(Schema):
    errors = fields.Integer()
    warnings = fields.Integer()
    by_operation = fields.Dict(keys=fields.String(), values=fields.Integer(),
                               metadata={"description": "issues per operation id"})


class ValidationReportSchema(ReportSchema):
    issues = fields.List(fields.Nested(ReferenceIssueSchema),
                         metadata={"description": "errors and warnings in one list (the reference's name)"})
    summary = fields.Nested(ValidationSummarySchema)


class ProtocolErrorSchema(Schema):
    type = fields.String()
    message = fields.String()
    operationId = fields.String()  # noqa: N815
    details = fields.Dict()
    suggestions = fields.List(fields.String())


class RefusalSchema(ReportSchema):
    error = fields.Nested(ProtocolErrorSchema)


class ExecuteResponseSchema(Schema):
    execution_id = fields.String()
    status = fields.String(metadata={"description": "succeeded or failed"})
    results = fields.Dict(metadata={"description": "opId → the value written at its outputPath"})
    steps = fields.List(fields.Dict())
    error = fields.Nested(ProtocolErrorSchema)
    duration_ms = fields.Integer()
