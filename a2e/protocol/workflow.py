"""JSON Lines → :class:`~a2e.protocol.model.Workflow`, in both wire dialects (PROTOCOL §1).

Dialect A: ``{"type": "operationUpdate", "operationId", "operation": {Type: config}}``
and ``{"type": "beginExecution", "executionId"?, "operationOrder": [...]}``.
Legacy dialect B: ``{"operationUpdate": {"workflowId", "operations": [{"id", "operation"}]}}``
and ``{"beginExecution": {"workflowId", "root"}}``; its run order is ``root``, then the
other operations in definition order except those a Conditional or Loop names.

The source is a JSONL string or a list of message objects (line = index + 1).
Every problem found is collected; :func:`parse_workflow` raises one
:class:`~a2e.errors.ValidationError` whose ``details["errors"]`` lists them all,
and no other exception, whatever the input.

Each ``Operation.config`` is a read-only mapping over a fresh copy of the config;
the values inside are plain JSON values (dicts, lists, str, int, float, bool,
None) which the engine must treat as read-only too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from a2e.errors import ValidationError
from a2e.protocol.catalog import Catalog
from a2e.protocol.json_text import MAX_DEPTH, too_deep
from a2e.protocol.model import Dialect, Issue, Operation, Workflow

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_ORDER = 100

_MESSAGE_TYPES = ("operationUpdate", "beginExecution")
_EXAMPLE_BEGIN = '{"type": "beginExecution", "executionId": "run-1", "operationOrder": ["op-1"]}'


def parse_workflow(source: str | list[dict[str, Any]], catalog: Catalog) -> Workflow:
    """Parse a workflow; raise ValidationError listing every problem found.

    ``catalog`` says which operations a Conditional or Loop names (dialect B's run order).
    """
    parser = _Parser(catalog)
    for line, message in _messages(source, parser.issues):
        parser.add(line, message)
    workflow = parser.finish()
    if parser.issues or workflow is None:
        raise _validation_error(parser.issues)
    return workflow


def is_valid_id(value: Any) -> bool:
    """Whether ``value`` is an id: ``^[A-Za-z0-9_-]{1,100}$``."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def _validation_error(found: list[Issue]) -> ValidationError:
    issues = sorted(found, key=lambda issue: (issue.line is None, issue.line or 0))
    first = issues[0]
    where = [f"line {first.line}"] if first.line is not None else []
    where += [f"operation {first.operation_id!r}"] if first.operation_id else []
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    prefix = ", ".join(where) + ": " if where else ""
    return ValidationError(
        f"invalid workflow: {prefix}{first.message}{more}",
        operation_id=first.operation_id,
        line=first.line,
        details={"errors": [issue.to_dict() for issue in issues]},
        suggestions=[first.suggestion] if first.suggestion else [],
    )


def _show(value: Any) -> str:
    """A short repr of an untrusted value for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- lines → decoded messages ------------------------------------------------


def _messages(source: Any, issues: list[Issue]) -> list[tuple[int, Any]]:
    """Decode the source into ``(line, message)`` pairs; problems go to ``issues``."""
    if isinstance(source, str):
        numbered = [(line, text) for line, text in enumerate(source.split("\n"), 1) if text.strip()]
    elif isinstance(source, list):
        numbered = [(line, _encode(item)) for line, item in enumerate(source, 1)]
    else:
        issues.append(Issue("the workflow must be a JSON Lines string or a list of message objects"))
        return []
    decoded = []
    for line, text in numbered:
        message = _decode(text) if text is not None else _Problem("a message must be a JSON value")
        if isinstance(message, _Problem):
            issues.append(Issue(message.text, line=line))
        else:
            decoded.append((line, message))
    return decoded


@dataclass(frozen=True)
class _Problem:
    text: str


def _encode(item: Any) -> str | None:
    """A message given as an object, as JSON text (so it is copied and checked like a line)."""
    try:
        return json.dumps(item, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def _decode(text: str) -> Any:
    if too_deep(text, MAX_DEPTH):
        return _Problem(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        return _Problem(f"invalid JSON at column {error.colno}: {error.msg}")
    except (ValueError, RecursionError) as error:
        return _Problem(f"invalid JSON: {str(error)[:100]}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --- messages → workflow -----------------------------------------------------


@dataclass
class _Begin:
    line: int
    dialect: Dialect
    order: tuple[str, ...] = ()
    root: str | None = None
    execution_id: str | None = None


@dataclass
class _Parser:
    """Collects operations and the beginExecution message, line by line."""

    catalog: Catalog
    issues: list[Issue] = field(default_factory=list)
    operations: dict[str, Operation] = field(default_factory=dict)
    dialect: Dialect | None = None
    workflow_id: str | None = None
    begin: _Begin | None = None

    def add(self, line: int, message: Any) -> None:
        """Take one decoded message."""
        if not isinstance(message, dict):
            self._issue(line, f"a message must be a JSON object, not {_show(message)}")
        elif "type" in message:
            self._add_dialect_a(line, message)
        elif len(message) == 1 and next(iter(message)) in _MESSAGE_TYPES:
            self._add_dialect_b(line, message)
        else:
            keys = ", ".join(_show(key) for key in list(message)[:5])
            self._issue(
                line,
                f"a message is an operationUpdate or a beginExecution; this one has keys {keys or 'none'}",
                suggestion='add "type": "operationUpdate" or "type": "beginExecution"',
            )

    def finish(self) -> Workflow | None:
        """The workflow, or None when there is no usable beginExecution."""
        if self.begin is None:
            if not self.issues:
                self._issue(
                    None,
                    "the workflow has no beginExecution message",
                    suggestion=f"end with {_EXAMPLE_BEGIN}",
                )
            return None
        order = self.begin.order if self.begin.root is None else self._legacy_order(self.begin.root)
        return Workflow(
            operations=MappingProxyType(dict(self.operations)),
            order=order,
            dialect=self.begin.dialect,
            execution_id=self.begin.execution_id,
            workflow_id=self.workflow_id,
            begin_line=self.begin.line,
        )

    def _legacy_order(self, root: str) -> tuple[str, ...]:
        """Dialect B: root, then every operation that no Conditional or Loop names."""
        named = {
            op_id for op in self.operations.values() for op_id in self.catalog.referenced_ids(op.op_type, op.config)
        }
        rest = [op_id for op_id in self.operations if op_id != root and op_id not in named]
        return (root, *rest)

    def _issue(
        self, line: int | None, message: str, *, op_id: str | None = None, suggestion: str | None = None
    ) -> None:
        self.issues.append(Issue(message, line=line, operation_id=op_id, suggestion=suggestion))

    def _enter(self, line: int, dialect: Dialect) -> bool:
        """Check the message may come here: one dialect, nothing after beginExecution."""
        if self.dialect is not None and dialect != self.dialect:
            self._issue(line, "the workflow mixes the typed and the legacy message dialects")
            return False
        self.dialect = dialect
        if self.begin is not None:
            self._issue(
                line,
                f"a message after beginExecution (line {self.begin.line})",
                suggestion="send beginExecution last",
            )
            return False
        return True

    # dialect A

    def _add_dialect_a(self, line: int, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind not in _MESSAGE_TYPES:
            self._issue(
                line,
                f"unknown message type {_show(kind)}",
                suggestion="use operationUpdate or beginExecution",
            )
        elif self._enter(line, "A"):
            if kind == "operationUpdate":
                self._operation(line, message.get("operationId"), message.get("operation"), "operationId")
            else:
                self._begin_a(line, message)

    def _begin_a(self, line: int, message: dict[str, Any]) -> None:
        execution_id = message.get("executionId")
        if execution_id is not None and not is_valid_id(execution_id):
            self._issue(line, f"executionId {_show(execution_id)} must match {ID_PATTERN.pattern}")
        order = message.get("operationOrder")
        if not isinstance(order, list) or not 1 <= len(order) <= MAX_ORDER:
            self._issue(line, f"operationOrder must be a list of 1 to {MAX_ORDER} operation ids")
            order = []
        ids = tuple(self._order_ids(line, order))
        self.begin = _Begin(line, "A", ids, execution_id=execution_id if is_valid_id(execution_id) else None)

    def _order_ids(self, line: int, order: list[Any]) -> list[str]:
        ids: list[str] = []
        for op_id in order:
            if not isinstance(op_id, str):
                self._issue(line, f"operationOrder holds {_show(op_id)}, not an operation id")
            elif op_id in ids:
                self._issue(
                    line,
                    f"operationOrder names {_show(op_id)} twice",
                    op_id=op_id if is_valid_id(op_id) else None,
                )
            else:
                self._require_defined(line, op_id, "operationOrder")
                ids.append(op_id)
        return ids

    def _require_defined(self, line: int, op_id: str, where: str) -> None:
        if op_id not in self.operations:
            shown = op_id if is_valid_id(op_id) else None
            self._issue(
                line, f"{where} names {_show(op_id)}, which no earlier operationUpdate defines", op_id=shown
            )

    # dialect B

    def _add_dialect_b(self, line: int, message: dict[str, Any]) -> None:
        kind, body = next(iter(message.items()))
        if not isinstance(body, dict):
            self._issue(line, f"{kind} must be an object")
        elif self._enter(line, "B") and self._workflow_id(line, body.get("workflowId")):
            if kind == "operationUpdate":
                self._operations_b(line, body.get("operations"))
            else:
                self._begin_b(line, body.get("root"))

    def _workflow_id(self, line: int, workflow_id: Any) -> bool:
        if workflow_id is None:
            return True
        if not is_valid_id(workflow_id):
            self._issue(line, f"workflowId {_show(workflow_id)} must match {ID_PATTERN.pattern}")
            return False
        if self.workflow_id not in (None, workflow_id):
            self._issue(line, f"workflowId {workflow_id!r} differs from {self.workflow_id!r} given before")
            return False
        self.workflow_id = workflow_id
        return True

    def _operations_b(self, line: int, operations: Any) -> None:
        if not isinstance(operations, list):
            self._issue(line, 'operationUpdate needs "operations": a list of {"id", "operation"} objects')
            return
        for entry in operations:
            if isinstance(entry, dict):
                self._operation(line, entry.get("id"), entry.get("operation"), "id")
            else:
                self._issue(
                    line, f'an operations entry must be an {{"id", "operation"}} object, not {_show(entry)}'
                )

    def _begin_b(self, line: int, root: Any) -> None:
        if not is_valid_id(root):
            self._issue(line, f"beginExecution needs a root operation id, not {_show(root)}")
            return
        self._require_defined(line, root, "root")
        self.begin = _Begin(line, "B", root=root)

    # both dialects

    def _operation(self, line: int, op_id: Any, operation: Any, id_key: str) -> None:
        """Define (or replace) one operation from its id and ``{Type: config}`` object."""
        if not is_valid_id(op_id):
            self._issue(line, f"{id_key} {_show(op_id)} must match {ID_PATTERN.pattern}")
            return
        if not isinstance(operation, dict) or len(operation) != 1:
            self._issue(
                line,
                "operation must be an object with exactly one key, the operation type",
                op_id=op_id,
                suggestion='e.g. "operation": {"Wait": {"duration": 100}}',
            )
            return
        op_type, config = next(iter(operation.items()))
        if not isinstance(config, dict):
            self._issue(line, f"the config of {_show(op_type)} must be an object", op_id=op_id)
            return
        self.operations[op_id] = Operation(op_id, op_type, MappingProxyType(config), line)
