"""Bodies of the store endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields

from a2e.api.pagination import PageArgsSchema


class StoreQueryArgsSchema(PageArgsSchema):
    """``limit`` and ``cursor`` (keys in order)."""


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
