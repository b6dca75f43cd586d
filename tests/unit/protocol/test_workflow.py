"""The JSONL parser: both dialects, the list form, and its errors (PROTOCOL §1)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2e.errors import ValidationError
from a2e.protocol.model import Workflow
from a2e.engine.ops import REGISTRY
from a2e.protocol import workflow as protocol_workflow
from a2e.protocol.workflow import MAX_DEPTH


def parse_workflow(source):
    """The parser with this server's operation catalog."""
    return protocol_workflow.parse_workflow(source, REGISTRY)


def jsonl(*messages: object) -> str:
    return "\n".join(json.dumps(message) for message in messages)


def update(op_id: str, op_type: str, config: dict) -> dict:
    return {"type": "operationUpdate", "operationId": op_id, "operation": {op_type: config}}


def begin(*order: str, execution_id: str | None = "exec-1") -> dict:
    message: dict = {"type": "beginExecution", "operationOrder": list(order)}
    if execution_id is not None:
        message["executionId"] = execution_id
    return message


FETCH = {"method": "GET", "url": "https://api.example.com/users", "outputPath": "/workflow/users"}
CHECK = {
    "condition": {"path": "/workflow/users", "operator": "exists"},
    "ifTrue": ["notify"],
    "ifFalse": "wait",
}
NOTIFY = {"method": "POST", "url": "https://api.example.com/n", "outputPath": "/workflow/n"}
WAIT = {"duration": 10}
LOOP = {"inputPath": "/workflow/users", "operations": ["per-user"]}
PER_USER = {"template": "hi {name}", "inputPath": "/loop/item", "outputPath": "/workflow/greeting"}
STORE = {"inputPath": "/workflow/users", "storage": "db", "key": "users"}


def errors_of(raised: pytest.ExceptionInfo[ValidationError]) -> list[dict]:
    return raised.value.details["errors"]


def test_dialect_a() -> None:
    workflow = parse_workflow(
        jsonl(update("fetch", "ApiCall", FETCH), update("store", "StoreData", STORE), begin("fetch", "store"))
    )
    assert workflow.dialect == "A"
    assert workflow.order == ("fetch", "store")
    assert workflow.execution_id == "exec-1"
    assert workflow.begin_line == 3
    fetch = workflow.operations["fetch"]
    assert (fetch.op_id, fetch.op_type, dict(fetch.config), fetch.line) == ("fetch", "ApiCall", FETCH, 1)


def test_dialect_a_and_legacy_dialect_parse_to_the_same_operations_and_order() -> None:
    definitions = [
        ("fetch", "ApiCall", FETCH),
        ("check", "Conditional", CHECK),
        ("notify", "ApiCall", NOTIFY),
        ("wait", "Wait", WAIT),
        ("loop", "Loop", LOOP),
        ("per-user", "FormatText", PER_USER),
        ("store", "StoreData", STORE),
    ]
    typed = parse_workflow(
        jsonl(*(update(*definition) for definition in definitions), begin("fetch", "check", "loop", "store"))
    )
    legacy_operations = [
        {"id": op_id, "operation": {op_type: config}} for op_id, op_type, config in definitions
    ]
    legacy = parse_workflow(
        jsonl(
            {"operationUpdate": {"workflowId": "wf-1", "operations": legacy_operations}},
            {"beginExecution": {"workflowId": "wf-1", "root": "fetch"}},
        )
    )
    assert legacy.dialect == "B"
    assert legacy.workflow_id == "wf-1"
    assert legacy.execution_id is None
    assert legacy.order == typed.order == ("fetch", "check", "loop", "store")
    assert list(legacy.operations) == list(typed.operations)
    for op_id, op in typed.operations.items():
        other = legacy.operations[op_id]
        assert (other.op_type, dict(other.config)) == (op.op_type, dict(op.config))


def test_legacy_root_first_and_bare_string_branch_targets() -> None:
    operations = [
        {"id": "op-1", "operation": {"Wait": WAIT}},
        {"id": "op-2", "operation": {"Conditional": {**CHECK, "ifTrue": "op-3", "ifFalse": "op-4"}}},
        {"id": "op-3", "operation": {"Wait": WAIT}},
        {"id": "op-4", "operation": {"Wait": WAIT}},
        {"id": "op-5", "operation": {"Wait": WAIT}},
    ]
    workflow = parse_workflow(
        jsonl(
            {"operationUpdate": {"workflowId": "wf", "operations": operations}},
            {"beginExecution": {"root": "op-5"}},
        )
    )
    assert workflow.order == ("op-5", "op-1", "op-2")


def test_legacy_several_update_messages() -> None:
    workflow = parse_workflow(
        jsonl(
            {
                "operationUpdate": {
                    "workflowId": "wf",
                    "operations": [{"id": "a", "operation": {"Wait": WAIT}}],
                }
            },
            {
                "operationUpdate": {
                    "workflowId": "wf",
                    "operations": [{"id": "b", "operation": {"Wait": WAIT}}],
                }
            },
            {"beginExecution": {"workflowId": "wf", "root": "b"}},
        )
    )
    assert workflow.order == ("b", "a")
    assert workflow.operations["a"].line == 1
    assert workflow.operations["b"].line == 2


def test_workflow_as_a_list_of_messages() -> None:
    messages = [update("fetch", "ApiCall", FETCH), begin("fetch")]
    workflow = parse_workflow(messages)
    assert workflow == parse_workflow(jsonl(*messages))
    messages[0]["operation"]["ApiCall"] = {"url": "changed"}
    assert workflow.operations["fetch"].config == FETCH


def test_workflow_as_a_list_numbers_items_as_lines() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_workflow([update("a", "Wait", WAIT), "not an object", {"x": {1, 2}}, begin("a")])
    assert [(e["line"], e["message"]) for e in errors_of(raised)] == [
        (2, "a message must be a JSON object, not 'not an object'"),
        (3, "a message must be a JSON value"),
    ]


def test_blank_lines_are_ignored_and_lines_count_from_one() -> None:
    text = "\n  \n" + json.dumps(update("a", "Wait", WAIT)) + "\r\n\n" + json.dumps(begin("a")) + "\n"
    workflow = parse_workflow(text)
    assert workflow.operations["a"].line == 3
    assert workflow.begin_line == 5


def test_a_later_update_replaces_the_earlier_one_in_place() -> None:
    workflow = parse_workflow(
        jsonl(
            update("a", "Wait", WAIT),
            update("b", "Wait", WAIT),
            update("a", "Wait", {"duration": 5}),
            begin("b", "a"),
        )
    )
    assert list(workflow.operations) == ["a", "b"]
    assert workflow.operations["a"].config == {"duration": 5}
    assert workflow.operations["a"].line == 3


def test_config_is_read_only() -> None:
    config = parse_workflow(jsonl(update("a", "Wait", WAIT), begin("a"))).operations["a"].config
    with pytest.raises(TypeError):
        config["duration"] = 1  # type: ignore[index]


def test_execution_id_is_optional() -> None:
    assert (
        parse_workflow(jsonl(update("a", "Wait", WAIT), begin("a", execution_id=None))).execution_id is None
    )


@pytest.mark.parametrize(
    ("lines", "line", "op_id", "fragment"),
    [
        (['{"type": "operationUpdate", '], 1, None, "invalid JSON"),
        (["[1, 2]"], 1, None, "must be a JSON object"),
        (
            ['{"type": "operationUpdate", "operationId": "a", "operation": {"x": NaN}}'],
            1,
            None,
            "invalid JSON",
        ),
        ([json.dumps({"hello": 1})], 1, None, "operationUpdate or a beginExecution"),
        ([json.dumps({"type": "run"})], 1, None, "unknown message type"),
        (
            [
                json.dumps(update("a", "Wait", WAIT)),
                json.dumps({"type": "operationUpdate", "operationId": "b"}),
            ],
            2,
            "b",
            "exactly one key",
        ),
        (
            [
                json.dumps(
                    {"type": "operationUpdate", "operationId": "b", "operation": {"Wait": {}, "Loop": {}}}
                )
            ],
            1,
            "b",
            "exactly one key",
        ),
        (
            [json.dumps({"type": "operationUpdate", "operationId": "b", "operation": {"Wait": 5}})],
            1,
            "b",
            "must be an object",
        ),
        ([json.dumps(update("bad id", "Wait", WAIT))], 1, None, "must match"),
        ([json.dumps(update("x" * 101, "Wait", WAIT))], 1, None, "must match"),
        (
            [json.dumps(update("a", "Wait", WAIT)), json.dumps(begin("a", "zzz"))],
            2,
            "zzz",
            "no earlier operationUpdate",
        ),
        ([json.dumps(update("a", "Wait", WAIT)), json.dumps(begin("a", "a"))], 2, "a", "twice"),
        ([json.dumps(update("a", "Wait", WAIT)), json.dumps(begin())], 2, None, "1 to 100"),
        ([json.dumps(update("a", "Wait", WAIT)), json.dumps(begin(*["a"] * 101))], 2, None, "1 to 100"),
        (
            [json.dumps(update("a", "Wait", WAIT)), json.dumps(begin("a", execution_id="no/slash"))],
            2,
            None,
            "executionId",
        ),
        ([json.dumps(update("a", "Wait", WAIT))], None, None, "no beginExecution"),
        (
            [json.dumps(update("a", "Wait", WAIT)), json.dumps(begin("a")), json.dumps(begin("a"))],
            3,
            None,
            "after beginExecution",
        ),
        (
            [json.dumps(begin("a")), json.dumps(update("a", "Wait", WAIT))],
            1,
            "a",
            "no earlier operationUpdate",
        ),
        (
            [json.dumps(update("a", "Wait", WAIT)), json.dumps({"beginExecution": {"root": "a"}})],
            2,
            None,
            "mixes",
        ),
        ([json.dumps({"beginExecution": {"root": "nope"}})], 1, "nope", "no earlier operationUpdate"),
        ([json.dumps({"beginExecution": {"root": ["a"]}})], 1, None, "root operation id"),
        ([json.dumps({"operationUpdate": {"operations": {"id": "a"}}})], 1, None, '"operations"'),
        ([json.dumps({"operationUpdate": {"operations": [5]}})], 1, None, "operations entry"),
        ([json.dumps({"operationUpdate": {"workflowId": "a b", "operations": []}})], 1, None, "workflowId"),
        ([json.dumps({"operationUpdate": []})], 1, None, "must be an object"),
    ],
)
def test_errors_name_line_and_operation(
    lines: list[str], line: int | None, op_id: str | None, fragment: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_workflow("\n".join(lines))
    first = errors_of(raised)[0]
    assert fragment in first["message"]
    assert (first["line"], first["operationId"], first["type"]) == (line, op_id, "ValidationError")
    assert raised.value.line == line
    assert raised.value.operation_id == op_id
    if line is not None:
        assert f"line {line}" in raised.value.message
    if op_id is not None:
        assert repr(op_id) in raised.value.message


def test_all_problems_are_collected() -> None:
    text = "\n".join(["{oops", json.dumps(update("a", "Wait", WAIT)), "[]", json.dumps(begin("a", "b"))])
    with pytest.raises(ValidationError) as raised:
        parse_workflow(text)
    assert [error["line"] for error in errors_of(raised)] == [1, 3, 4]
    assert raised.value.message.startswith("invalid workflow: line 1: invalid JSON")
    assert "(and 2 more)" in raised.value.message


def test_mismatched_legacy_workflow_ids() -> None:
    text = jsonl(
        {"operationUpdate": {"workflowId": "one", "operations": [{"id": "a", "operation": {"Wait": WAIT}}]}},
        {"beginExecution": {"workflowId": "two", "root": "a"}},
    )
    with pytest.raises(ValidationError, match="differs"):
        parse_workflow(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_a_validation_error(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    line = '{"type": "operationUpdate", "operationId": "a", "operation": {"Wait": {"x": ' + deep + "}}}"
    with pytest.raises(ValidationError, match="nested deeper"):
        parse_workflow(line + "\n" + json.dumps(begin("a")))


def test_unterminated_deep_nesting_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="line 1"):
        parse_workflow("[" * 100_000)


def test_deep_nesting_in_list_form() -> None:
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ValidationError, match="line 1"):
        parse_workflow(
            [{"type": "operationUpdate", "operationId": "a", "operation": {"Wait": {"x": nested}}}]
        )


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    config = {"template": "[" * 500 + '\\"{' * 100, "outputPath": "/workflow/t"}
    workflow = parse_workflow(jsonl(update("a", "FormatText", config), begin("a")))
    assert workflow.operations["a"].config["template"] == config["template"]


@pytest.mark.parametrize("source", [None, 5, {"type": "beginExecution"}, b"bytes", ""])
def test_other_sources_are_validation_errors(source: object) -> None:
    with pytest.raises(ValidationError):
        parse_workflow(source)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["operationUpdate", "beginExecution", "other"])},
    optional={
        "operationId": st.sampled_from(["a", "b", "bad id"]) | json_values,
        "operation": st.dictionaries(st.sampled_from(["Wait", "Loop", "X"]), json_values, max_size=2),
        "operationOrder": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3) | json_values,
        "executionId": json_values,
    },
)
legacy_like = st.dictionaries(
    st.sampled_from(["operationUpdate", "beginExecution"]),
    st.fixed_dictionaries(
        {},
        optional={
            "workflowId": st.sampled_from(["wf", "x"]) | json_values,
            "root": st.sampled_from(["a", "b"]) | json_values,
            "operations": st.lists(
                st.fixed_dictionaries({"id": st.sampled_from(["a", "b"]), "operation": json_values}),
                max_size=3,
            )
            | json_values,
        },
    ),
    min_size=1,
    max_size=1,
)


def parses_or_rejects(source: object) -> None:
    try:
        assert isinstance(parse_workflow(source), Workflow)  # type: ignore[arg-type]
    except ValidationError as error:
        assert error.details["errors"]
        assert all(
            set(issue) == {"line", "operationId", "type", "message", "suggestion"}
            for issue in error.details["errors"]
        )


@given(st.text())
def test_arbitrary_text_parses_or_is_rejected(text: str) -> None:
    parses_or_rejects(text)


@given(json_values)
def test_arbitrary_json_values_parse_or_are_rejected(value: object) -> None:
    parses_or_rejects(value)
    parses_or_rejects(json.dumps(value))


@settings(max_examples=300)
@given(st.lists(message_like | legacy_like | json_values, max_size=6))
def test_arbitrary_messages_parse_or_are_rejected(messages: list) -> None:
    parses_or_rejects(messages)
    parses_or_rejects("\n".join(json.dumps(message) for message in messages))
