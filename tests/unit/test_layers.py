"""The store is the bottom layer: it never imports the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

A2E = Path(__file__).resolve().parents[2] / "a2e"
ABOVE_THE_STORE = ("a2e.api", "a2e.cli", "a2e.limits", "a2e.audit", "a2e.startup")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_store_imports_nothing_above_it():
    upward = {
        f"{path.relative_to(A2E)}: {name}"
        for path in (A2E / "store").rglob("*.py")
        for name in _imports(path)
        if name.startswith(ABOVE_THE_STORE)
    }
    assert upward == set()
