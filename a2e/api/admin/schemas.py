"""Bodies of the management endpoints."""

from __future__ import annotations

import ipaddress
import re

from marshmallow import Schema, ValidationError, fields, validate

from a2e.engine.ops import REGISTRY

NAME = validate.Regexp(r"^[A-Za-z0-9_.-]{1,100}$", error="use 1-100 letters, digits, _ . -")
_HOSTNAME = re.compile(r"^(\*|(\*\.)?([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63})$")


def _check_operation(value: str) -> None:
    if value not in REGISTRY:
        raise ValidationError(f"unknown operation type {value!r}")


def _check_host(value: str) -> None:
    host = value.strip().lower().removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if not _HOSTNAME.match(host):
        raise ValidationError(f"{value!r} is not a host, '*.domain' or '*'")


class AgentSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    admin = fields.Boolean()
    allowed_operations = fields.List(fields.String(), allow_none=True)
    allowed_hosts = fields.List(fields.String())
    disabled = fields.Boolean()
    created_at = fields.String()


class AgentCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    admin = fields.Boolean(load_default=False)
    allowed_operations = fields.List(
        fields.String(validate=_check_operation), load_default=None, allow_none=True
    )
    allowed_hosts = fields.List(fields.String(validate=_check_host), load_default=list)


class AgentUpdateSchema(Schema):
    admin = fields.Boolean()
    allowed_operations = fields.List(fields.String(validate=_check_operation), allow_none=True)
    allowed_hosts = fields.List(fields.String(validate=_check_host))
    disabled = fields.Boolean()


class IssuedKeySchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    api_key = fields.String(metadata={"description": "shown once; only its hash is stored"})


class ApiKeySchema(Schema):
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
