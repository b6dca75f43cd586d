"""The validator: permissions, hosts, credentials, structure, limits, data flow (PROTOCOL §4, §10)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2e.errors import PermissionDenied, ValidationError
from a2e.engine.ops import REGISTRY
from a2e.protocol.model import AgentPermissions, ExecutionLimits, Issue
from a2e.protocol.validate import Report, as_error, permission_only, validate_workflow
from a2e.protocol import workflow as protocol_workflow


def parse_workflow(source):
    """The parser with this server's operation catalog."""
    return protocol_workflow.parse_workflow(source, REGISTRY)


OPEN = AgentPermissions(allowed_hosts=("api.example.com",), credential_ids=frozenset({"tok"}))
LIMITS = ExecutionLimits()


def op(op_id: str, op_type: str, config: dict) -> dict:
    return {"type": "operationUpdate", "operationId": op_id, "operation": {op_type: config}}


def workflow_of(*messages: dict, order: tuple[str, ...] | None = None):
    ids = order if order is not None else tuple(message["operationId"] for message in messages)
    lines = [*messages, {"type": "beginExecution", "executionId": "e1", "operationOrder": list(ids)}]
    return parse_workflow("\n".join(json.dumps(message) for message in lines))


def check(
    *messages: dict, permissions: AgentPermissions = OPEN, order: tuple[str, ...] | None = None, **options
) -> Report:
    limits = options.pop("limits", LIMITS)
    return validate_workflow(workflow_of(*messages, order=order), permissions, limits, REGISTRY, **options)


def messages_of(issues: tuple[Issue, ...]) -> list[str]:
    return [issue.message for issue in issues]


FETCH = op(
    "fetch",
    "ApiCall",
    {"method": "GET", "url": "https://api.example.com/users", "outputPath": "/workflow/users"},
)
FILTER = op(
    "active",
    "FilterData",
    {
        "inputPath": "/workflow/users",
        "conditions": [{"field": "status", "operator": "==", "value": "active"}],
        "outputPath": "/workflow/active",
    },
)


def test_a_good_workflow_is_valid() -> None:
    report = check(FETCH, FILTER)
    assert report == Report(True, (), ())
    assert report.to_dict() == {"valid": True, "errors": [], "warnings": []}
    assert not permission_only(report)


def test_unknown_operation_type_suggests_the_closest() -> None:
    report = check(op("x", "Filterdata", {}))
    (error,) = report.errors
    assert (error.line, error.operation_id, error.type) == (1, "x", "ValidationError")
    assert error.suggestion == "did you mean 'FilterData'?"


def test_config_errors_and_warnings() -> None:
    report = check(
        FETCH,
        op(
            "bad",
            "ApiCall",
            {"method": "FETCH", "url": "https://api.example.com", "outputpath": "/workflow/x"},
        ),
        op("filter", "FilterData", {"inputPath": "/workflow/users", "conditions": "all", "outputPath": 3}),
    )
    assert messages_of(report.errors) == [
        "'method' has unknown value 'FETCH'",
        "ApiCall needs 'outputPath'",
        "'conditions' must be array, not string",
        "'outputPath' must be string, not integer",
    ]
    assert [(issue.line, issue.operation_id) for issue in report.errors] == [
        (2, "bad"),
        (2, "bad"),
        (3, "filter"),
        (3, "filter"),
    ]
    assert messages_of(report.warnings) == ["ApiCall has unknown key 'outputpath'; it is ignored"]
    assert report.warnings[0].suggestion == "did you mean 'outputPath'?"


def test_operation_type_permission() -> None:
    permissions = AgentPermissions(
        allowed_operations=frozenset({"FilterData"}), allowed_hosts=("api.example.com",)
    )
    report = check(FETCH, FILTER, permissions=permissions)
    (error,) = report.errors
    assert (error.type, error.operation_id, error.line) == ("PermissionError", "fetch", 1)
    assert permission_only(report)
    assert isinstance(as_error(report), PermissionDenied)


@pytest.mark.parametrize(
    ("url", "allowed", "fragment"),
    [
        ("https://evil.com/x", ("api.example.com",), "not among"),
        ("http://127.0.0.1:5000/x", ("*",), "private"),
        ("http://169.254.169.254/latest/meta-data", ("*",), "private"),
        ("http://[::ffff:127.0.0.1]/", ("*",), "private"),
        ("http://2130706433/", ("*",), "private"),
        ("http://localhost:8080/", ("*.localhost", "*"), "private"),
        ("file:///etc/passwd", ("*",), "scheme"),
    ],
)
def test_host_refused(url: str, allowed: tuple[str, ...], fragment: str) -> None:
    config = {"method": "GET", "url": url, "outputPath": "/workflow/x"}
    report = check(
        op("call", "ApiCall", config), permissions=AgentPermissions(allowed_hosts=allowed), full=False
    )
    (error,) = report.errors
    assert fragment in error.message
    assert (error.type, error.operation_id) == ("PermissionError", "call")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:5000/x", ("127.0.0.1",)),
        ("http://localhost:9/x", ("localhost",)),
        ("https://a.b.example.com/", ("*.example.com",)),
        ("https://anything.org/{/workflow/path}", ("*",)),
        ("http://[::1]:8000/", ("::1",)),
    ],
)
def test_host_allowed(url: str, allowed: tuple[str, ...]) -> None:
    config = {"method": "GET", "url": url, "outputPath": "/workflow/x"}
    report = check(
        op("call", "ApiCall", config), permissions=AgentPermissions(allowed_hosts=allowed), full=False
    )
    assert report.valid


def test_url_without_host_is_a_validation_error() -> None:
    report = check(
        op("call", "ApiCall", {"method": "GET", "url": "https:///x", "outputPath": "/workflow/x"}), full=False
    )
    (error,) = report.errors
    assert error.type == "ValidationError"
    assert not permission_only(report)
    assert isinstance(as_error(report), ValidationError)


@pytest.mark.parametrize(
    "url",
    [
        "https://{/workflow/host}/x",
        "{/workflow/url}",
        "https://api.example.com{/workflow/rest}",
        "https://{/workflow/u}@api.example.com/",
    ],
)
def test_templated_host_is_a_warning(url: str) -> None:
    setup = op("host", "FormatText", {"template": "h", "outputPath": "/workflow/host"})
    report = check(setup, op("call", "ApiCall", {"method": "GET", "url": url, "outputPath": "/workflow/x"}))
    assert report.valid
    assert any(
        issue.type == "PermissionError" and "checked at run time" in issue.message
        for issue in report.warnings
    )


def test_credentials() -> None:
    headers = {
        "Authorization": {"credentialRef": {"id": "tok"}},
        "X-Other": {"credentialRef": {"id": "secret"}},
    }
    body = {"nested": [{"credentialRef": {"id": "db"}}, {"credentialRef": "bare"}]}
    config = {
        "method": "POST",
        "url": "https://api.example.com/",
        "headers": headers,
        "body": body,
        "outputPath": "/workflow/x",
    }
    report = check(op("call", "ApiCall", config), full=False)
    assert messages_of(report.errors) == [
        "credential 'secret' is not available to this agent",
        "credential 'db' is not available to this agent",
        'a credentialRef must be {"id": "<credential id>"}',
    ]
    assert [issue.type for issue in report.errors] == [
        "PermissionError",
        "PermissionError",
        "ValidationError",
    ]


def test_not_full_runs_only_permission_checks() -> None:
    report = check(op("x", "Nope", {}), op("y", "Wait", {"duration": -1}), order=("x", "y"), full=False)
    assert report.valid


def test_unknown_ids_in_branches_and_loops() -> None:
    conditional = op(
        "c",
        "Conditional",
        {"condition": {"path": "/store/x", "operator": "exists"}, "ifTrue": "missin", "ifFalse": ["w"]},
    )
    loop = op("l", "Loop", {"inputPath": "/store/xs", "operations": ["ghost"]})
    report = check(
        conditional,
        loop,
        op("w", "Wait", {"duration": 1}),
        op("missing", "Wait", {"duration": 1}),
        order=("c", "l"),
    )
    assert messages_of(report.errors) == [
        "ifTrue names unknown operation 'missin'",
        "operations names unknown operation 'ghost'",
    ]
    assert report.errors[0].suggestion == "did you mean 'missing'?"


@pytest.mark.parametrize(
    ("messages", "order", "cycle"),
    [
        ([op("l", "Loop", {"inputPath": "/store/xs", "operations": ["l"]})], ("l",), "l → l"),
        (
            [
                op(
                    "a",
                    "Conditional",
                    {"condition": {"path": "/store/x", "operator": "exists"}, "ifTrue": ["b"]},
                ),
                op("b", "Loop", {"inputPath": "/store/xs", "operations": "a"}),
            ],
            ("a",),
            "a → b → a",
        ),
    ],
)
def test_cycles_are_errors(messages: list[dict], order: tuple[str, ...], cycle: str) -> None:
    report = check(*messages, order=order)
    assert [issue.message for issue in report.errors] == [f"cycle: {cycle}"]


def test_operation_count_limit() -> None:
    waits = [op(f"w{index}", "Wait", {"duration": 0}) for index in range(4)]
    report = check(*waits, limits=ExecutionLimits(max_operations=3))
    (error,) = report.errors
    assert error.message == "the workflow has 4 operations; the limit is 3"
    assert error.line == 5


def test_wait_total_limit() -> None:
    report = check(op("w1", "Wait", {"duration": 40_000}), op("w2", "Wait", {"duration": 30_000}))
    (error,) = report.errors
    assert (error.operation_id, error.message) == (
        "w2",
        "Wait durations add up to 70000 ms; the limit is 60000 ms",
    )


def test_reading_an_unwritten_path_is_a_warning() -> None:
    report = check(FILTER, FETCH)
    assert report.valid
    (warning,) = report.warnings
    assert (warning.operation_id, warning.type) == ("active", "DataError")
    assert warning.message == "reads /workflow/users, which no earlier operation writes"


def test_data_flow_through_branches_loops_and_store() -> None:
    messages = [
        FETCH,
        op(
            "nested",
            "FormatText",
            {"template": "x", "inputPath": "/workflow/users[0].name", "outputPath": "/workflow/a/b"},
        ),
        op(
            "parent", "FormatText", {"template": "x", "inputPath": "/workflow/a", "outputPath": "/workflow/c"}
        ),
        op(
            "stored",
            "FormatText",
            {"template": "x", "inputPath": "/store/prefs", "outputPath": "/workflow/p"},
        ),
        op(
            "loop",
            "Loop",
            {"inputPath": "/workflow/users", "operations": ["body"], "outputPath": "/workflow/looped"},
        ),
        op(
            "body", "FormatText", {"template": "x", "inputPath": "/loop/item", "outputPath": "/workflow/item"}
        ),
        op(
            "cond",
            "Conditional",
            {
                "condition": {"path": "/workflow/looped", "operator": "exists"},
                "ifTrue": ["t"],
                "ifFalse": "f",
            },
        ),
        op("t", "FormatText", {"template": "x", "inputPath": "/workflow/item", "outputPath": "/workflow/t"}),
        op("f", "FormatText", {"template": "x", "inputPath": "/workflow/t", "outputPath": "/workflow/f"}),
        op(
            "after",
            "MergeData",
            {"sources": ["/workflow/t", "/workflow/f"], "strategy": "concat", "outputPath": "/workflow/m"},
        ),
    ]
    report = check(*messages, order=("fetch", "nested", "parent", "stored", "loop", "cond", "after"))
    assert report.valid
    assert [(issue.operation_id, issue.message) for issue in report.warnings] == [
        ("f", "reads /workflow/t, which no earlier operation writes")
    ]


def test_loop_paths_outside_a_loop_and_templates_in_urls() -> None:
    call = op(
        "call",
        "ApiCall",
        {"method": "GET", "url": "https://api.example.com/u/{/workflow/id}", "outputPath": "/workflow/x"},
    )
    report = check(
        op("item", "FormatText", {"template": "x", "inputPath": "/loop/item", "outputPath": "/workflow/y"}),
        call,
    )
    assert messages_of(report.warnings) == [
        "reads /loop/item outside a Loop",
        "reads /workflow/id, which no earlier operation writes",
    ]


def test_operations_never_run_are_warned() -> None:
    report = check(FETCH, op("idle", "Wait", {"duration": 1}), order=("fetch",))
    assert messages_of(report.warnings) == [
        "operation idle is never run: no run order, Conditional or Loop reaches it"
    ]


def test_legacy_dialect_validates_with_line_numbers() -> None:
    operations = [
        {"id": "op-1", "operation": {"Wait": {"duration": 1}}},
        {
            "id": "op-2",
            "operation": {
                "Conditional": {"condition": {"path": "/store/x", "operator": "exists"}, "ifTrue": "op-3"}
            },
        },
        {"id": "op-3", "operation": {"Wait": {"duration": "long"}}},
    ]
    text = json.dumps({"operationUpdate": {"workflowId": "wf", "operations": operations}}) + "\n"
    text += json.dumps({"beginExecution": {"workflowId": "wf", "root": "op-1"}})
    report = validate_workflow(parse_workflow(text), OPEN, LIMITS, REGISTRY)
    (error,) = report.errors
    assert (error.line, error.operation_id) == (1, "op-3")
    assert report.warnings == ()


def test_deep_branch_chains_do_not_exhaust_the_stack() -> None:
    count = 1500
    chain = [
        op(
            f"c{index}",
            "Conditional",
            {"condition": {"path": "/store/x", "operator": "exists"}, "ifTrue": [f"c{index + 1}"]},
        )
        for index in range(count)
    ]
    chain.append(op(f"c{count}", "Wait", {"duration": 1}))
    report = check(*chain, order=("c0",), limits=ExecutionLimits(max_operations=10_000))
    assert report.valid
    assert any("nests or branches too much" in issue.message for issue in report.warnings)


def test_branch_explosion_is_bounded() -> None:
    levels = 40
    messages = [
        op(
            f"c{index}",
            "Conditional",
            {
                "condition": {"path": "/store/x", "operator": "exists"},
                "ifTrue": [f"c{index + 1}"] * 2,
                "ifFalse": f"c{index + 1}",
            },
        )
        for index in range(levels)
    ]
    messages.append(op(f"c{levels}", "Wait", {"duration": 1}))
    report = check(*messages, order=("c0",))
    assert report.valid


PATHS_AND_URLS = [
    "/workflow/a",
    "/loop/item",
    "/store/k",
    "/bad//",
    "https://{/workflow/h}/",
    "http://127.0.0.1/",
    "https://x.org/",
]
INNER_KEYS = ["path", "credentialRef", "id", "field", "operator", "value"]
CONFIG_KEYS = sorted({key for spec in REGISTRY.values() for key in spec.fields})
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(PATHS_AND_URLS)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(INNER_KEYS) | st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
configs = st.dictionaries(st.sampled_from(CONFIG_KEYS), json_values, max_size=6)
operations = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([*sorted(REGISTRY), "Nope"]), configs
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150)
@given(
    operations,
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True),
    st.booleans(),
)
def test_validation_of_arbitrary_operations_returns_a_report(ops: list, order: list[str], full: bool) -> None:
    try:
        workflow = workflow_of(*(op(*definition) for definition in ops), order=tuple(order))
    except ValidationError:
        return
    permissions = AgentPermissions(
        allowed_operations=frozenset({"Wait", "ApiCall"}), allowed_hosts=("*", "localhost")
    )
    report = validate_workflow(workflow, permissions, ExecutionLimits(max_operations=3), REGISTRY, full=full)
    assert report.valid == (not report.errors)
    json.dumps(report.to_dict())
