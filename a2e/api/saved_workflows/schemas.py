"""Bodies of the saved-workflow endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.api.fields import FullMatch, integer, text
from a2e.api.pagination import MAX_LIMIT
from a2e.api.workflows.schemas import WORKFLOW_SOURCE, AsyncOptionsSchema, WorkflowSourceField
from a2e.store.queries.workflows import WORKFLOW_NAME

EXECUTION_ID = FullMatch(r"^[A-Za-z0-9_-]{1,100}$", error="use 1-100 letters, digits, _ or -")


class SaveWorkflowSchema(Schema):
    workflow = WorkflowSourceField(
        required=True,
        metadata={"description": "JSONL text, or a list of message objects; it must parse",
                  **WORKFLOW_SOURCE},
    )
    description = text(
        max_length=2000, load_default=None, allow_none=True,
        metadata={"description": "what the workflow does (an MCP client shows it as the tool's description)"},
    )


class SavedListArgsSchema(Schema):
    """``limit`` and ``cursor``: names in order; the cursor is the name to continue after."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(
        load_default=None, validate=FullMatch(WORKFLOW_NAME.pattern, error="cursor is not valid"),
        metadata={"description": "next_cursor of the previous page: the last name it listed"},
    )


class VersionArgsSchema(Schema):
    version = integer(minimum=1, strict=False, load_default=None,
                      metadata={"description": "a saved version; the latest by default"})


class ExecuteSavedSchema(AsyncOptionsSchema):
    executionId = fields.String(  # noqa: N815 - the protocol's field name
        load_default=None, validate=EXECUTION_ID,
        metadata={"description": "the run's execution id; a fresh one when absent"},
    )
    version = integer(minimum=1, load_default=None, allow_none=True,
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
