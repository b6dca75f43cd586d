import pytest

from a2e.engine.ops import validate_data
from a2e.errors import DataError, OperationTimeout

SCHEMA = {
    "type": "object",
    "required": ["users"],
    "properties": {"users": {"type": "array", "items": {
        "type": "object", "required": ["name", "age"],
        "properties": {"name": {"type": "string", "pattern": "^[A-Z]"}, "age": {"type": "integer", "minimum": 0}},
    }}},
}


def validate(make_ctx, value, schema=SCHEMA, remaining_s=300.0, **config):
    ctx = make_ctx({"/workflow/data": value}, remaining_s=remaining_s)
    return validate_data.run(ctx, {"inputPath": "/workflow/data", "schema": schema, **config})


def test_valid(make_ctx):
    assert validate(make_ctx, {"users": [{"name": "Ann", "age": 3}]}) == {"valid": True, "errors": []}


def test_errors_name_the_field(make_ctx):
    result = validate(make_ctx, {"users": [{"name": "Ann", "age": "3"}, {"name": "bob"}]})
    assert result["valid"] is False
    assert [(e["path"], e["field"], e["validator"]) for e in result["errors"]] == [
        ("/users/0/age", "age", "type"),
        ("/users/1/age", "age", "required"),
        ("/users/1/name", "name", "pattern"),
    ]
    assert "'3' is not of type 'integer'" in result["errors"][0]["message"]
    assert "required" in result["errors"][1]["message"]


def test_root_error_and_pointer_escaping(make_ctx):
    assert validate(make_ctx, [], {"type": "object"})["errors"][0] | {"message": ""} == {
        "path": "", "field": None, "message": "", "validator": "type"}
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert validate(make_ctx, {"a/b~c": "x"}, schema)["errors"][0]["path"] == "/a~1b~0c"


def test_additional_and_pattern_properties(make_ctx):
    schema = {"type": "object", "properties": {"id": {}}, "patternProperties": {"^x-": {"type": "string"}},
              "additionalProperties": False}
    result = validate(make_ctx, {"id": 1, "x-a": "ok", "x-b": 2, "extra": True}, schema)
    assert [(e["field"], e["validator"]) for e in result["errors"]] == [
        ("x-b", "type"), ("extra", "additionalProperties")]


def test_fail_on_invalid(make_ctx):
    with pytest.raises(DataError) as caught:
        validate(make_ctx, {"users": [{"name": "Ann"}]}, failOnInvalid=True)
    assert caught.value.message.startswith("ValidateData: 1 validation error(s): /users/0/age")
    assert caught.value.details["fields"] == ["/users/0/age"]
    assert caught.value.details["errors"][0]["field"] == "age"
    assert validate(make_ctx, {"users": []}, failOnInvalid=True)["valid"] is True


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "strange"}, "invalid schema"),
    ({"minimum": "zero"}, "invalid schema"),
    ({"$ref": "https://example.com/schema.json"}, "unresolvable \\$ref"),
])
def test_bad_schemas(make_ctx, schema, message):
    with pytest.raises(DataError, match=message):
        validate(make_ctx, 1, schema)


def test_internal_refs_resolve(make_ctx):
    schema = {"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}}
    assert validate(make_ctx, [1, "x"], schema)["errors"][0]["path"] == "/1"


def test_deep_nesting_is_a_data_error(make_ctx):
    value: list = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(DataError, match="nested too deeply"):
        validate(make_ctx, value, {"type": "array", "items": {"$ref": "#"}})


def test_error_count_and_messages_are_bounded(make_ctx):
    result = validate(make_ctx, ["x" * 10_000] * 500, {"items": {"type": "integer"}})
    assert len(result["errors"]) == 100
    assert all(len(error["message"]) <= 201 for error in result["errors"])


@pytest.mark.parametrize("schema", [
    {"pattern": "(a|aa)+$"},
    {"patternProperties": {"(a|aa)+$": {}}},
    {"additionalProperties": False, "patternProperties": {"(a|aa)+$": {}}},
])
def test_catastrophic_schema_patterns_time_out(make_ctx, schema):
    value = "a" * 40 + "b"
    # Without the budget this pattern backtracks for ~2**40 steps: raising is the bound.
    with pytest.raises(OperationTimeout):
        validate(make_ctx, value if "pattern" in schema else {value: 1}, schema, remaining_s=0.2)
