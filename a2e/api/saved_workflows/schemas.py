"""Bodies of the saved-workflow endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.api.workflows.schemas import WorkflowSourceField

EXECUTION_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,100}$", error="use 1-100 letters, digits, _ or -")


class SaveWorkflowSchema(Schema):
    workflow = WorkflowSourceField(
        required=True,
        metadata={"description": "JSONL text, or a list of message objects; it must parse",
                  "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
    )
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=2000),
        metadata={"description": "what the workflow does (an MCP client shows it as the tool's description)"},
    )


class VersionArgsSchema(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "a saved version; the latest by default"})


class ExecuteSavedSchema(Schema):
    executionId = fields.String(  # noqa: N815 - the protocol's field name
        load_default=None, validate=EXECUTION_ID,
        metadata={"description": "the run's execution id; a fresh one when absent"},
    )
    version = fields.Integer(load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "the version to run; the latest by default"})


class SavedVersionSchema(Schema):
    name = fields.String()
    version = fields.Integer()
    description = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SavedListPageSchema(Schema):
    items = fields.List(fields.Nested(SavedVersionSchema),
                        metadata={"description": "the latest version of each name, by name"})
    next_cursor = fields.String(allow_none=True)


class SavedWorkflowSchema(SavedVersionSchema):
    workflow = fields.String(metadata={"description": "the saved JSONL text"})
