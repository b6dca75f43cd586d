"""Bodies of the store endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.api.fields import text
from a2e.api.pagination import MAX_LIMIT


class StoreQueryArgsSchema(Schema):
    """``limit`` and ``cursor``: keys in order; the cursor is the key to continue after."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = text(max_length=200, load_default=None, metadata={
        "description": "next_cursor of the previous page: the last key it listed"})


class StoredKeySchema(Schema):
    key = fields.String()
    storage = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StoredValueSchema(StoredKeySchema):
    value = fields.Raw(allow_none=True, metadata={"description": "the JSON value StoreData wrote"})


class StorePageSchema(Schema):
    items = fields.List(fields.Nested(StoredKeySchema))
    next_cursor = fields.String(allow_none=True)
