"""``GET /api/v1/capabilities`` publishes the operations from the registry, with their config schemas."""

from jsonschema import Draft202012Validator

from a2e.engine.ops import REGISTRY
from tests.helpers import auth


def test_every_operation_with_its_json_schema(client, make_agent):
    body = client.get("/api/v1/capabilities", headers=auth(make_agent())).json
    assert body["operations"] == sorted(REGISTRY)
    assert set(body["operation_schemas"]) == set(REGISTRY)
    wait = body["operation_schemas"]["Wait"]
    Draft202012Validator.check_schema(wait)
    assert wait["required"] == ["duration"] and wait["properties"]["duration"]["minimum"] == 0
    assert Draft202012Validator(wait).is_valid({"duration": 10})
    assert not Draft202012Validator(wait).is_valid({"duration": "10"})


def test_only_the_allowed_operations(client, make_agent):
    body = client.get("/api/v1/capabilities", headers=auth(make_agent(ops=["Wait", "Calculate"]))).json
    assert body["operations"] == ["Calculate", "Wait"]
    assert sorted(body["operation_schemas"]) == ["Calculate", "Wait"]
