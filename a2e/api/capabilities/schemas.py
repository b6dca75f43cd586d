from __future__ import annotations

from marshmallow import Schema, fields


class ReferenceCapabilitiesSchema(Schema):
    """The reference implementation's names for the same facts."""

    availableApis = fields.Dict(  # noqa: N815
        keys=fields.String(), values=fields.Dict(),
        metadata={"description": "keyed by the agent's allowed hosts"},
    )
    availableCredentials = fields.List(  # noqa: N815
        fields.Dict(), metadata={"description": "credential ids and how to reference them"}
    )
    supportedOperations = fields.List(fields.String())  # noqa: N815
    securityConstraints = fields.Dict(  # noqa: N815
        keys=fields.String(), values=fields.Raw(),
        metadata={"description": "allowed domains and the run bounds (maxExecutionTime in ms)"},
    )


class CapabilitiesSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    operations = fields.List(fields.String())
    hosts = fields.List(fields.String())
    credentials = fields.List(fields.String(), metadata={"description": "credential ids only"})
    limits = fields.Dict(keys=fields.String(), values=fields.Raw())
    capabilities = fields.Nested(
        ReferenceCapabilitiesSchema,
        metadata={"description": "the same facts under the reference implementation's names"},
    )
    operation_schemas = fields.Dict(
        keys=fields.String(), values=fields.Dict(),
        metadata={"description": "the config of each operation above as a JSON Schema (2020-12)"},
    )
