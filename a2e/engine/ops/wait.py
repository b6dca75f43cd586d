"""Wait: pause, within the run's Wait budget and deadline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext


def run(ctx: OpContext, config: Mapping[str, Any]) -> dict[str, int]:
    """``{"waited_ms": duration}``; a TimeoutError when the pause cannot fit."""
    duration: int = config["duration"]
    ctx.sleep(duration)
    return {"waited_ms": duration}
