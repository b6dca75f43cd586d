"""Bodies of the management endpoints."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from a2e.api.fields import StrictBoolean
from a2e.engine.ops import REGISTRY
from a2e.protocol import names


def _check_name(value: str) -> None:
    if (problem := names.agent_name_problem(value)) is not None:
        raise ValidationError(problem)


def _check_host(value: str) -> None:
    if (problem := names.host_problem(value)) is not None:
        raise ValidationError(problem)


def agent_name(**kwargs: object) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=names.MAX_NAME), _check_name],
        metadata={"pattern": names.AGENT_NAME_PATTERN, "description": names.NAME_RULE},
        **kwargs,
    )


def _operations(**kwargs: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(sorted(REGISTRY))),
                       allow_none=True, **kwargs)


def _hosts(**kwargs: object) -> fields.List:
    host = fields.String(validate=_check_host, metadata={
        "description": names.HOST_RULE,
        "anyOf": [{"pattern": names.HOST_PATTERN}, {"format": "ipv6"}],
    })
    return fields.List(host, **kwargs)


class AgentSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    admin = fields.Boolean()
    allowed_operations = fields.List(fields.String(), allow_none=True)
    allowed_hosts = fields.List(fields.String())
    disabled = fields.Boolean()
    created_at = fields.String()


class AgentCreateSchema(Schema):
    name = agent_name(required=True)
    admin = StrictBoolean(load_default=False)
    allowed_operations = _operations(load_default=None)
    allowed_hosts = _hosts(load_default=list)


class AgentUpdateSchema(Schema):
    admin = StrictBoolean()
    allowed_operations = _operations()
    allowed_hosts = _hosts()
    disabled = StrictBoolean()


class IssuedKeySchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    api_key = fields.String(metadata={"description": "shown once; only its hash is stored"})


class ApiKeySchema(Schema):
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
