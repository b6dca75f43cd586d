"""The operations: one module each, holding its spec, its run function and its policies.

A module declares ``SPEC`` (:class:`a2e.protocol.catalog.OpSpec`): its config keys,
``run(ctx, config) -> result``, its cache policy and what it does outside the run. The
function returns the operation's result; the runner writes it at ``outputPath`` when the
config has one. Operations without output return a small object (``{"branch": ...}``).
Adding an operation is adding its module here (and its entry in docs/operations.md):
the registry collects every module of this package whose name has no leading ``_``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any
from a2e.protocol.catalog import Catalog


OpFunction = Callable[[Any, Mapping[str, Any]], Any]


def _operation_modules() -> tuple[ModuleType, ...]:
    """Every module of this package whose name does not start with ``_``, by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)


MODULES = _operation_modules()

#: Every operation type this server runs, by name.
REGISTRY: Catalog = Catalog(module.SPEC for module in MODULES)
