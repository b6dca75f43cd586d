"""Bodies and query arguments of the cache endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields

from a2e.api.fields import FullMatch, text

KEY_HASH = FullMatch(r"^[0-9a-f]{64}$", error="key must be a SHA-256 hex digest")


class CacheCountsSchema(Schema):
    hits = fields.Integer()
    misses = fields.Integer()
    writes = fields.Integer()
    evictions = fields.Integer()
    expirations = fields.Integer()
    invalidations = fields.Integer()
    entries = fields.Integer(metadata={"description": "entries held now"})
    bytes = fields.Integer(metadata={"description": "JSON bytes held now"})
    hit_rate = fields.Float(allow_none=True, metadata={"description": "hits / (hits + misses)"})


class CacheStatsRowSchema(CacheCountsSchema):
    agent_id = fields.Integer()
    agent = fields.String(allow_none=True)
    type = fields.String(metadata={"description": "operation type"})


class CacheStatsSchema(Schema):
    enabled = fields.Boolean()
    max_size = fields.Integer()
    max_bytes = fields.Integer(allow_none=True)
    totals = fields.Nested(CacheCountsSchema)
    hits = fields.Integer(metadata={"description": "totals.hits (the reference's name)"})
    misses = fields.Integer(metadata={"description": "totals.misses (the reference's name)"})
    hit_rate = fields.Float(allow_none=True,
                            metadata={"description": "totals.hit_rate: a fraction 0–1, null before any lookup"})
    rows = fields.List(fields.Nested(CacheStatsRowSchema),
                       metadata={"description": "one per (agent, operation type)"})


class InvalidateArgsSchema(Schema):
    """Filters of the agent's own invalidation (none: all its entries)."""

    type = text(max_length=50,
                         metadata={"description": "only this operation type"})
    key = fields.String(validate=KEY_HASH, metadata={"description": "only this key hash"})


class AdminInvalidateArgsSchema(InvalidateArgsSchema):
    """Filters of an admin invalidation (none: the whole cache)."""

    agent = text(max_length=100,
                          metadata={"description": "only this agent (name or id)"})


class InvalidationSchema(Schema):
    removed = fields.Integer()
    filters = fields.Dict(keys=fields.String(), values=fields.Raw())
