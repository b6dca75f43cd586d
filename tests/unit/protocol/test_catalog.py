"""The operation catalog: specs, config checks, roles (PROTOCOL §3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from a2e.engine.ops import REGISTRY
from a2e.protocol.catalog import id_list

check_config = REGISTRY.check_config

VALID = {
    "ApiCall": {
        "method": "POST",
        "url": "https://api.example.com/u/{/workflow/id}",
        "headers": {"Authorization": {"credentialRef": {"id": "tok"}}},
        "body": {"user": {"path": "/workflow/user"}},
        "timeout": 5000,
        "idempotencyKey": "k-1",
        "cache": False,
        "outputPath": "/workflow/created",
    },
    "FilterData": {
        "inputPath": "/workflow/users",
        "conditions": [
            {"field": "profile.age", "operator": ">=", "value": 18},
            {"field": "email", "operator": "exists"},
            {"field": "role", "operator": "in", "value": {"path": "/workflow/roles"}},
        ],
        "outputPath": "/workflow/adults",
    },
    "TransformData": {
        "inputPath": "/workflow/u",
        "transform": "sort",
        "config": {"field": "age"},
        "outputPath": "/workflow/s",
    },
    "Conditional": {
        "condition": {"path": "/workflow/n", "operator": ">", "value": 3},
        "ifTrue": ["a"],
        "ifFalse": "b",
    },
    "Loop": {"inputPath": "/workflow/users", "operations": ["a", "b"], "outputPath": "/workflow/out"},
    "StoreData": {"inputPath": "/workflow/users", "storage": "db", "key": "users-1"},
    "Wait": {"duration": 0},
    "MergeData": {
        "sources": ["/workflow/a", "/workflow/b[0]"],
        "strategy": "deepMerge",
        "outputPath": "/workflow/m",
    },
    "GetCurrentDateTime": {"timezone": "Europe/Berlin", "format": "%Y", "outputPath": "/workflow/now"},
    "ConvertTimezone": {
        "inputPath": "/workflow/now",
        "toTimezone": "Asia/Tokyo",
        "fromTimezone": "UTC",
        "outputPath": "/workflow/t",
    },
    "DateCalculation": {
        "inputPath": "/workflow/now",
        "operation": "difference",
        "otherPath": "/workflow/then",
        "unit": "days",
        "outputPath": "/workflow/d",
    },
    "FormatText": {
        "template": "Hi {user.name}",
        "inputPath": "/workflow/ctx",
        "outputPath": "/workflow/text",
    },
    "ExtractText": {
        "inputPath": "/workflow/text",
        "pattern": "\\d+",
        "flags": ["IGNORECASE"],
        "all": True,
        "outputPath": "/workflow/nums",
    },
    "ValidateData": {
        "inputPath": "/workflow/u",
        "schema": {"type": "object"},
        "failOnInvalid": True,
        "outputPath": "/workflow/ok",
    },
    "Calculate": {
        "inputPath": "/workflow/xs",
        "operation": "median",
        "field": "n",
        "precision": 2,
        "outputPath": "/workflow/med",
    },
    "EncodeDecode": {
        "inputPath": "/workflow/s",
        "action": "encode",
        "encoding": "base64url",
        "outputPath": "/workflow/e",
    },
}


def messages(op_type: str, config: dict) -> list[str]:
    return [finding.message for finding in check_config(op_type, config)]


def test_sixteen_operation_types() -> None:
    assert REGISTRY.names == frozenset(VALID)
    assert len(REGISTRY) == 16


@pytest.mark.parametrize("op_type", sorted(VALID))
def test_valid_configs_have_no_findings(op_type: str) -> None:
    assert check_config(op_type, VALID[op_type]) == []


@pytest.mark.parametrize("op_type", sorted(VALID))
def test_common_options_are_accepted_everywhere(op_type: str) -> None:
    config = {**VALID[op_type], "cache": True, "timeout": 10, "idempotencyKey": "x"}
    assert check_config(op_type, config) == []


@pytest.mark.parametrize(
    ("op_type", "config", "expected"),
    [
        (
            "ApiCall",
            {"method": "get", "url": "https://x", "outputPath": "/workflow/x"},
            "'method' has unknown value 'get'",
        ),
        (
            "ApiCall",
            {"method": "GET", "url": "https://x/{/bad//path}", "outputPath": "/workflow/x"},
            "'url': malformed path",
        ),
        (
            "ApiCall",
            {"method": "GET", "url": "https://x", "body": {"path": "nope"}, "outputPath": "/workflow/x"},
            "'body': malformed path",
        ),
        (
            "ApiCall",
            {"method": "GET", "url": "https://x", "timeout": -1, "outputPath": "/workflow/x"},
            "'timeout' must be at least 0",
        ),
        (
            "ApiCall",
            {"method": "GET", "url": "https://x", "cache": "no", "outputPath": "/workflow/x"},
            "'cache' must be boolean",
        ),
        (
            "FilterData",
            {
                "inputPath": "/workflow/x",
                "conditions": [{"field": "a", "operator": "=="}],
                "outputPath": "/workflow/y",
            },
            "needs a 'value'",
        ),
        (
            "FilterData",
            {"inputPath": "/workflow/x", "conditions": [5], "outputPath": "/workflow/y"},
            "conditions[0] must be an object",
        ),
        (
            "FilterData",
            {"inputPath": "workflow/x", "outputPath": "/workflow/y"},
            "'inputPath': malformed path",
        ),
        ("FilterData", {"inputPath": "/workflow/x", "outputPath": "/loop/item"}, "writes into /loop"),
        (
            "TransformData",
            {"inputPath": "/workflow/x", "transform": "reduce", "outputPath": "/workflow/y"},
            "unknown value 'reduce'",
        ),
        (
            "Conditional",
            {"condition": {"path": "/workflow/x", "operator": "=="}, "ifTrue": "a"},
            "needs a 'value'",
        ),
        ("Conditional", {"condition": {"operator": "exists"}, "ifTrue": []}, "needs 'path'"),
        (
            "Conditional",
            {"condition": {"path": "/workflow/x", "operator": "exists"}, "ifTrue": []},
            "'ifTrue' names no operation",
        ),
        (
            "Conditional",
            {"condition": {"path": "/workflow/x", "operator": "exists"}, "ifTrue": [1]},
            "'ifTrue[0]' must be string",
        ),
        ("Loop", {"inputPath": "/workflow/x"}, "Loop needs 'operations'"),
        (
            "StoreData",
            {"inputPath": "/workflow/x", "storage": "redis", "key": "k"},
            "'storage' has unknown value 'redis'",
        ),
        ("StoreData", {"inputPath": "/workflow/x", "storage": "db", "key": "a.b"}, "cannot be read back"),
        ("Wait", {"duration": -5}, "'duration' must be at least 0"),
        ("Wait", {"duration": 1.5}, "'duration' must be integer"),
        ("Wait", {"duration": True}, "'duration' must be integer"),
        (
            "MergeData",
            {"sources": ["/workflow/a", 3], "strategy": "concat", "outputPath": "/workflow/m"},
            "'sources[1]' must be string",
        ),
        (
            "GetCurrentDateTime",
            {"timezone": "Mars/Base", "outputPath": "/workflow/t"},
            "unknown timezone 'Mars/Base'",
        ),
        (
            "ConvertTimezone",
            {"inputPath": "/workflow/t", "toTimezone": "Europe/Berln", "outputPath": "/workflow/t"},
            "unknown timezone",
        ),
        (
            "DateCalculation",
            {"inputPath": "/workflow/t", "operation": "difference", "outputPath": "/workflow/d"},
            "needs 'otherPath'",
        ),
        (
            "DateCalculation",
            {"inputPath": "/workflow/t", "operation": "add", "days": "1", "outputPath": "/workflow/d"},
            "'days' must be integer",
        ),
        (
            "DateCalculation",
            {"inputPath": "/workflow/t", "operation": "add", "unit": "days", "outputPath": "/workflow/d"},
            "'unit' belongs to operation 'difference' only",
        ),
        (
            "ExtractText",
            {"inputPath": "/workflow/t", "pattern": "x", "flags": ["VERBOSE"], "outputPath": "/workflow/d"},
            "'flags[0]' has unknown value",
        ),
        ("Calculate", {"outputPath": "/workflow/x"}, "exactly one of 'operation' and 'expression'"),
        (
            "Calculate",
            {"operation": "sum", "expression": "a+b", "outputPath": "/workflow/x"},
            "exactly one of",
        ),
        (
            "EncodeDecode",
            {
                "inputPath": "/workflow/s",
                "action": "encode",
                "encoding": "rot13",
                "outputPath": "/workflow/e",
            },
            "unknown value 'rot13'",
        ),
        (
            "ValidateData",
            {"inputPath": "/workflow/s", "schema": True, "outputPath": "/workflow/e"},
            "'schema' must be object",
        ),
    ],
)
def test_config_errors(op_type: str, config: dict, expected: str) -> None:
    assert any(expected in message for message in messages(op_type, config)), messages(op_type, config)


def test_suggestions() -> None:
    (storage,) = check_config("StoreData", {"inputPath": "/workflow/x", "storage": "DB", "key": "k"})
    assert storage.suggestion == "did you mean 'db'?"
    (timezone,) = check_config(
        "GetCurrentDateTime", {"timezone": "Europe/Berln", "outputPath": "/workflow/t"}
    )
    assert timezone.suggestion == "did you mean 'Europe/Berlin'?"
    (unknown,) = check_config("Wait", {"duration": 1, "durationMs": 2})
    assert unknown.warning


def test_no_value_operators_warn_about_a_value() -> None:
    config = {
        "inputPath": "/workflow/x",
        "conditions": [{"field": "a", "operator": "empty", "value": 1}],
        "outputPath": "/workflow/y",
    }
    (finding,) = check_config("FilterData", config)
    assert finding.warning


def test_id_list_and_references() -> None:
    assert id_list("a") == ("a",)
    assert id_list(["a", 3, "b"]) == ("a", "b")
    assert id_list(None) == ()
    assert REGISTRY.referenced_ids("Conditional", VALID["Conditional"]) == ("a", "b")
    assert REGISTRY.referenced_ids("Loop", VALID["Loop"]) == ("a", "b")
    assert REGISTRY.referenced_ids("Wait", VALID["Wait"]) == ()
    assert REGISTRY.referenced_ids("Unknown", {"ifTrue": "a"}) == ()
    conditional = REGISTRY["Conditional"]
    assert conditional.id_lists(VALID["Conditional"]) == {"ifTrue": ("a",), "ifFalse": ("b",)}
    assert not conditional.runs_body() and REGISTRY["Loop"].runs_body()


@pytest.mark.parametrize(
    ("op_type", "reads", "writes"),
    [
        ("ApiCall", ["/workflow/id", "/workflow/user"], ["/workflow/created"]),
        ("FilterData", ["/workflow/users", "/workflow/roles"], ["/workflow/adults"]),
        ("Conditional", ["/workflow/n"], []),
        ("Loop", ["/workflow/users"], ["/workflow/out"]),
        ("StoreData", ["/workflow/users"], []),
        ("MergeData", ["/workflow/a", "/workflow/b[0]"], ["/workflow/m"]),
        ("DateCalculation", ["/workflow/now", "/workflow/then"], ["/workflow/d"]),
        ("GetCurrentDateTime", [], ["/workflow/now"]),
    ],
)
def test_read_and_written_paths(op_type: str, reads: list[str], writes: list[str]) -> None:
    spec = REGISTRY[op_type]
    assert spec.read_paths(VALID[op_type]) == reads
    assert spec.written_paths(VALID[op_type]) == writes


def test_condition_value_references_are_reads() -> None:
    config = {
        "condition": {"path": "/workflow/a", "operator": "==", "value": {"path": "/workflow/b"}},
        "ifTrue": "x",
    }
    assert REGISTRY["Conditional"].read_paths(config) == ["/workflow/a", "/workflow/b"]


def test_importing_the_protocol_needs_neither_flask_nor_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "import a2e.protocol.workflow, a2e.protocol.paths, a2e.protocol.catalog\n"
        "import a2e.protocol.hosts, a2e.protocol.validate\n"
        "heavy = {'flask', 'sqlalchemy', 'requests'} & {name.split('.')[0] for name in sys.modules}\n"
        "assert not heavy, heavy\n"
        "upward = [name for name in sys.modules if name.startswith(('a2e.engine', 'a2e.store', 'a2e.api'))]\n"
        "assert not upward, upward\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
