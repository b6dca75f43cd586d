"""Bodies of the rate-limit endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.api.fields import MAX_INT32, integer
from a2e.config import LIMIT_KEYS, LIMITS


def _override(**kwargs: object) -> fields.Integer:
    return integer(
        maximum=MAX_INT32, allow_none=True,
        metadata={"description": "null: the configured default; 0: blocked"}, **kwargs,
    )


class LimitsReplaceSchema(Schema.from_dict({
    limit.key: _override(load_default=None) for limit in LIMITS
})):
    """PUT: every field replaced; a missing field returns to the default."""


class LimitsPatchSchema(Schema.from_dict({limit.key: _override() for limit in LIMITS})):
    """PATCH: only the fields given change."""


def _counts(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(LIMIT_KEYS)), values=fields.Integer(),
        metadata={"description": description},
    )


class AgentLimitsSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    enabled = fields.Boolean(metadata={"description": "false: rateLimiting.enabled is off"})
    overrides = fields.Dict(
        keys=fields.String(), values=fields.Integer(allow_none=True),
        metadata={"description": "the agent's own limits; null means the default"},
    )
    effective = _counts("the limits in force: override > rateLimiting.agents > defaults")


class RateLimitStatusSchema(Schema):
    agent_id = fields.Integer()
    enabled = fields.Boolean()
    limits = _counts("the limits in force, per limit")
    usage = fields.Dict(
        keys=fields.String(), values=fields.Integer(),
        metadata={"description": "admitted in the current window, per limit (concurrent_runs: "
                                 "runs in flight); also under the reference's names "
                                 "requests_last_minute|hour|day, api_calls_last_minute|hour"},
    )
    remaining = _counts("still admitted in the current window")
    reset = _counts("seconds until the current window ends")
