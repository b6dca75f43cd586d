"""The distributions pyproject.toml declares (dependencies and every extra but ``test``) are
exactly the third-party imports of a2e/."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Declared but never imported by name: zoneinfo reads tzdata's files.
LOADED_INDIRECTLY = {"tzdata"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalized(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])


def imported_modules() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere in a2e/, with the files importing them."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "a2e").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "a2e" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    requirements = [*project["dependencies"],
                    *(req for extra, reqs in extras.items() if extra != "test" for req in reqs)]
    return {_requirement_name(requirement) for requirement in requirements}


def test_every_import_is_declared_and_every_declaration_imported():
    distributions = importlib.metadata.packages_distributions()
    imported = {
        _normalized(distributions[module][0]) if module in distributions else module: files
        for module, files in imported_modules().items()
    }
    undeclared = {name: sorted(files) for name, files in imported.items() if name not in declared()}
    assert undeclared == {}
    assert declared() - set(imported) == LOADED_INDIRECTLY


def test_the_scan_sees_the_imports_it_should():
    modules = imported_modules()
    assert {"flask", "sqlalchemy", "click", "requests"} <= set(modules)
    assert "json" not in modules and "a2e" not in modules
