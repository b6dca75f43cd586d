"""Building dialect-A workflows in tests."""

from __future__ import annotations

import json
from typing import Any


def op(op_id: str, op_type: str, **config: Any) -> dict[str, Any]:
    return {"type": "operationUpdate", "operationId": op_id, "operation": {op_type: config}}


def jsonl(*ops: dict[str, Any], order: list[str] | None = None, execution_id: str | None = None) -> str:
    begin: dict[str, Any] = {
        "type": "beginExecution",
        "operationOrder": order or [o["operationId"] for o in ops],
    }
    if execution_id:
        begin["executionId"] = execution_id
    return "\n".join(json.dumps(message) for message in (*ops, begin))
