from __future__ import annotations

from marshmallow import Schema, fields


class CapabilitiesSchema(Schema):
    agent_id = fields.Integer()
    name = fields.String()
    operations = fields.List(fields.String())
    hosts = fields.List(fields.String())
    credentials = fields.List(fields.String(), metadata={"description": "credential ids only"})
    limits = fields.Dict(keys=fields.String(), values=fields.Raw())
