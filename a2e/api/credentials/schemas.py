"""Bodies of the credential management endpoints (values go in, never come out)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from a2e.store.queries.credentials import MAX_VALUE_CHARS


class CredentialSchema(Schema):
    credential_id = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CredentialValueSchema(Schema):
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_VALUE_CHARS),
        metadata={"description": "sent verbatim where the credential is referenced; never returned"},
    )
