"""A tiny fake of the engine's operation context: data by path, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from a2e.errors import DataError

FIXED_NOW = datetime(2024, 7, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class FakeContext:
    data: dict[str, Any] = field(default_factory=dict)
    clock: datetime = FIXED_NOW
    remaining_s: float = 300.0
    op_id: str = "op-1"

    def read(self, path: str) -> Any:
        if path not in self.data:
            raise DataError(f"path {path} not found", operation_id=self.op_id)
        return self.data[path]

    def now(self) -> datetime:
        return self.clock


@pytest.fixture(scope="session")
def make_ctx() -> Callable[..., FakeContext]:
    """Build a context: ``make_ctx({"/workflow/x": 1}, remaining_s=...)`` (session scoped, so
    Hypothesis tests may use it)."""
    def build(data: dict[str, Any] | None = None, **kwargs: Any) -> FakeContext:
        return FakeContext(dict(data or {}), **kwargs)
    return build
