"""Bodies of the credential management endpoints (values go in, never come out)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from a2e.protocol import names
from a2e.protocol.hosts import is_host_entry
from a2e.store.queries.credentials import MAX_VALUE_CHARS


def _check_host(value: str) -> None:
    if not is_host_entry(value):
        raise ValidationError(f"{value[:200]!r} is not a host, '*.domain' or '*'")


class CredentialSchema(Schema):
    credential_id = fields.String()
    hosts = fields.List(fields.String(), metadata={"description": "empty: unbound"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CredentialValueSchema(Schema):
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_VALUE_CHARS),
        metadata={"description": "sent verbatim where the credential is referenced; never returned"},
    )
    hosts = fields.List(
        fields.String(validate=_check_host, metadata={
            "anyOf": [{"pattern": names.HOST_PATTERN}, {"format": "ipv6"}]}), load_default=list,
        metadata={"description": "the only hosts the value may be sent to (allowed-hosts syntax); "
                                 "absent or empty: unbound"},
    )
