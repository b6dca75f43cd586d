"""Wait: pause, within the run's Wait budget and deadline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.protocol.catalog import OpSpec, req


def run(ctx: OpContext, config: Mapping[str, Any]) -> dict[str, int]:
    """``{"waited_ms": duration}``; a TimeoutError when the pause cannot fit."""
    duration: int = config["duration"]
    ctx.sleep(duration)
    return {"waited_ms": duration}


SPEC = OpSpec(
    "Wait",
    doc="Pause the run for a number of milliseconds, within the run's Wait budget.",
    fields={"duration": req("integer", minimum=0, role="wait")},
    run=run,
    cacheable=False,
    blocking=True,
)
