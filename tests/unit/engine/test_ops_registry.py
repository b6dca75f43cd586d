"""An operation is one module: the registry, the specs' policies, and where names are written."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from a2e.engine.ops import MODULES, REGISTRY
from a2e.store.cache import CachePolicy
from tests.unit.protocol.test_catalog import VALID

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "operations.md"


def _strings(tree: ast.AST) -> list[str]:
    """Every string literal in a module, docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@functools.cache
def _literals() -> dict[str, list[str]]:
    """The string literals of each module of ``a2e/``, by path (not ``a2e/client/``: the
    client writes workflows as an agent does, naming operations by type)."""
    return {
        path.relative_to(ROOT).as_posix(): _strings(ast.parse(path.read_text(encoding="utf-8")))
        for path in ROOT.joinpath("a2e").rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith("a2e/client/")
    }


def _modules_naming(name: str) -> set[str]:
    """The modules of ``a2e/`` with a string literal that is the name or quotes it."""
    quoted = re.compile(rf"""["']{re.escape(name)}["']""")
    return {
        path for path, strings in _literals().items()
        if any(text == name or quoted.search(text) for text in strings)
    }


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_an_operation_name_is_written_in_its_own_module_and_at_most_one_other(module) -> None:
    own = module.__name__.replace(".", "/") + ".py"
    naming = _modules_naming(module.SPEC.name)
    assert own in naming
    assert len(naming - {own}) <= 1, sorted(naming)


def test_the_registry_holds_every_operation_module() -> None:
    assert [module.SPEC.name for module in MODULES] == list(REGISTRY)
    assert REGISTRY.names == frozenset(VALID)
    with pytest.raises(ValueError, match="declared twice"):
        type(REGISTRY)([REGISTRY["Wait"], REGISTRY["Wait"]])


def test_every_operation_has_a_docs_entry_and_a_docs_line() -> None:
    headings = set(re.findall(r"^### (\w+)", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert REGISTRY.names <= headings
    assert all(spec.doc.endswith(".") for spec in REGISTRY.values())


def _names(predicate) -> set[str]:
    return {name for name, spec in REGISTRY.items() if predicate(spec)}


def test_the_policies_the_specs_declare() -> None:
    assert _names(lambda spec: not spec.cacheable) == {
        "StoreData", "Wait", "Loop", "Conditional", "GetCurrentDateTime"
    }
    assert REGISTRY.default_ttls() == {"ApiCall": 300, "FilterData": 60, "TransformData": 60, "MergeData": 60,
                                       "Calculate": 0, "DateCalculation": 0, "ConvertTimezone": 0}
    assert _names(lambda spec: spec.outside_effect) == {"ApiCall", "StoreData"}
    assert _names(lambda spec: spec.blocking) == {"Wait"}
    assert _names(lambda spec: not spec.deterministic) == {"ApiCall", "GetCurrentDateTime"}


def test_when_a_step_is_cached() -> None:
    api_call, wait = REGISTRY["ApiCall"], REGISTRY["Wait"]
    assert api_call.caches({"method": "GET"})
    assert not api_call.caches({"method": "GET", "cache": False})
    assert not api_call.caches({"method": "POST"})
    assert api_call.caches({"method": "POST", "cache": True})
    assert not wait.caches({"duration": 1, "cache": True})
    assert REGISTRY["Calculate"].caches({}) and not REGISTRY["Calculate"].caches({"cache": False})


def test_the_cache_takes_its_builtin_ttls_from_the_specs() -> None:
    policy = CachePolicy(default_ttl=30, ttl_by_type={"MergeData": 5}, builtin_ttls=REGISTRY.default_ttls())
    assert (policy.ttl("ApiCall"), policy.ttl("FilterData"), policy.ttl("MergeData")) == (300, 60, 5)
    assert policy.ttl("FormatText") == 30
    assert policy.ttl("Calculate") == 0  # cheaper to compute than to look up


@pytest.mark.parametrize("name", sorted(VALID))
def test_each_config_spec_is_a_json_schema_the_valid_config_passes(name: str) -> None:
    schema = REGISTRY[name].json_schema()
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(VALID[name])) == []
    assert list(Draft202012Validator(schema).iter_errors({})) != [] or not schema["required"]


def test_a_json_schema_refuses_a_wrong_kind_and_an_unknown_value() -> None:
    validator = Draft202012Validator(REGISTRY["ApiCall"].json_schema())
    assert not validator.is_valid({"method": "FETCH", "url": "https://x", "outputPath": "/workflow/x"})
    assert not validator.is_valid({"method": "GET", "url": 5, "outputPath": "/workflow/x"})
