"""Query arguments and bodies of the audit endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from a2e.api.fields import text
from a2e.api.pagination import MAX_LIMIT, CursorField
from a2e.audit.export import FORMATS
from a2e.audit.filters import parse_instant


class Instant(fields.Field):
    """An ISO 8601 date or date-time; without an offset it is UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return parse_instant(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


INSTANT = {"type": "string", "format": "date-time"}


class AuditQueryArgsSchema(Schema):
    agent = text(max_length=100, load_default=None, metadata={"description": "agent name or id"})
    action = text(max_length=64, load_default=None, metadata={"description": "e.g. agent.created"})
    outcome = text(max_length=16, load_default=None,
                   metadata={"description": "e.g. success, failure"})
    since = Instant(load_default=None, metadata={
        "description": "inclusive; ISO date or date-time (UTC)", **INSTANT})
    until = Instant(load_default=None, metadata={
        "description": "exclusive; ISO date or date-time (UTC)", **INSTANT})
    format = fields.String(
        load_default="json", validate=validate.OneOf(FORMATS),
        metadata={"description": "json: one page, newest first; csv, jsonl: every match streamed, oldest first"},
    )
    limit = fields.Integer(
        load_default=None, validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "json: page size (default 50); csv/jsonl: at most this many rows"},
    )
    cursor = CursorField()


class AuditEventSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer(allow_none=True, metadata={"description": "chain position; null until sealed"})
    ts = fields.String(metadata={"description": "UTC, ISO 8601 with microseconds"})
    actor = fields.String(allow_none=True, metadata={"description": "admin:NAME, agent:NAME or cli"})
    agent_id = fields.Integer(allow_none=True)
    agent = fields.String(allow_none=True, metadata={"description": "the agent's name"})
    action = fields.String()
    target = fields.String(allow_none=True)
    outcome = fields.String()
    request_id = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    details = fields.Dict()
    prev_hash = fields.String(allow_none=True)
    hash = fields.String(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.String(allow_none=True)
