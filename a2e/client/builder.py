"""``WorkflowBuilder``: a workflow in dialect A (``operationUpdate`` lines, one ``beginExecution``)."""

from __future__ import annotations

import json
from typing import Any

#: Config keys naming operations that run only through their operation (not at top level).
_NESTED_IDS = {"Conditional": ("ifTrue", "ifFalse"), "Loop": ("operations",)}


def path(data_path: str) -> dict[str, str]:
    """A reference to the run's data, for ``headers``, ``body`` or a condition's ``value``."""
    return {"path": data_path}


def credential(credential_id: str) -> dict[str, dict[str, str]]:
    """A stored credential, substituted by the server at run time (the agent never sees it)."""
    return {"credentialRef": {"id": credential_id}}


class WorkflowBuilder:
    """Operations in the order added; ``build()`` gives the JSONL text, ``messages()`` the list.

    The run order is every operation added except those a Conditional or Loop names
    (they run through it), unless :meth:`order` sets it. Adding an id again replaces
    its operation, as the protocol does.
    """

    def __init__(self, execution_id: str | None = None) -> None:
        self.execution_id = execution_id
        self._operations: dict[str, dict[str, Any]] = {}
        self._order: list[str] | None = None

    def add(self, operation_id: str, operation_type: str, /, **config: Any) -> WorkflowBuilder:
        """Any operation: ``add("sum", "Calculate", expression="1 + 2", outputPath="/workflow/s")``."""
        self._operations.pop(operation_id, None)
        self._operations[operation_id] = {operation_type: config}
        return self

    def api_call(self, operation_id: str, method: str, url: str, *, output_path: str,
                 headers: dict[str, Any] | None = None, body: Any = None, **options: Any) -> WorkflowBuilder:
        config: dict[str, Any] = {"method": method, "url": url, "outputPath": output_path, **options}
        if headers is not None:
            config["headers"] = headers
        if body is not None:
            config["body"] = body
        return self.add(operation_id, "ApiCall", **config)

    def filter_data(self, operation_id: str, input_path: str, conditions: list[dict[str, Any]], *,
                    output_path: str) -> WorkflowBuilder:
        return self.add(operation_id, "FilterData", inputPath=input_path, conditions=conditions,
                        outputPath=output_path)

    def transform_data(self, operation_id: str, input_path: str, transform: str, *, output_path: str,
                       config: dict[str, Any] | None = None) -> WorkflowBuilder:
        options = {"config": config} if config is not None else {}
        return self.add(operation_id, "TransformData", inputPath=input_path, transform=transform,
                        outputPath=output_path, **options)

    def conditional(self, operation_id: str, condition: dict[str, Any], if_true: list[str],
                    if_false: list[str] | None = None) -> WorkflowBuilder:
        options = {"ifFalse": if_false} if if_false is not None else {}
        return self.add(operation_id, "Conditional", condition=condition, ifTrue=if_true, **options)

    def loop(self, operation_id: str, input_path: str, operations: list[str], *,
             output_path: str | None = None) -> WorkflowBuilder:
        options = {"outputPath": output_path} if output_path is not None else {}
        return self.add(operation_id, "Loop", inputPath=input_path, operations=operations, **options)

    def store_data(self, operation_id: str, input_path: str, key: str, *, storage: str = "db") -> WorkflowBuilder:
        return self.add(operation_id, "StoreData", inputPath=input_path, storage=storage, key=key)

    def wait(self, operation_id: str, duration_ms: int) -> WorkflowBuilder:
        return self.add(operation_id, "Wait", duration=duration_ms)

    def merge_data(self, operation_id: str, sources: list[str], strategy: str, *,
                   output_path: str) -> WorkflowBuilder:
        return self.add(operation_id, "MergeData", sources=sources, strategy=strategy,
                        outputPath=output_path)

    def order(self, *operation_ids: str) -> WorkflowBuilder:
        """Set the top-level run order explicitly."""
        self._order = list(operation_ids)
        return self

    def operation_order(self) -> list[str]:
        if self._order is not None:
            return list(self._order)
        nested = {
            nested_id
            for operation in self._operations.values()
            for op_type, config in operation.items()
            for key in _NESTED_IDS.get(op_type, ())
            for nested_id in _ids(config.get(key))
        }
        return [op_id for op_id in self._operations if op_id not in nested]

    def messages(self) -> list[dict[str, Any]]:
        """The workflow as a list of message objects (the execute body accepts this too)."""
        if not self._operations:
            raise ValueError("a workflow needs at least one operation")
        updates = [
            {"type": "operationUpdate", "operationId": op_id, "operation": operation}
            for op_id, operation in self._operations.items()
        ]
        begin: dict[str, Any] = {"type": "beginExecution", "operationOrder": self.operation_order()}
        if self.execution_id is not None:
            begin["executionId"] = self.execution_id
        return [*updates, begin]

    def build(self) -> str:
        """The workflow as JSONL text."""
        return "\n".join(json.dumps(message, separators=(",", ":")) for message in self.messages())


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
