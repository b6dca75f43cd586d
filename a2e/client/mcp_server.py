"""``a2e mcp``: an MCP server over stdio that speaks to an a2e server through :class:`Client`.

Tools: ``a2e_capabilities``, ``a2e_validate_workflow``, ``a2e_execute_workflow``,
``a2e_get_execution``, ``a2e_list_executions``, and one tool per saved workflow of the
agent (named after it). The tool list is built when the MCP client asks for it, from the
agent's capabilities (the operation catalog goes into the workflow tools' descriptions)
and its saved workflows. A failed request or run is an MCP tool error whose text carries
the server's message and suggestions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from a2e import __version__
from a2e.client.client import Client
from a2e.client.errors import ApiError

RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
WORKFLOW_INPUT = {
    "description": "the workflow: JSONL text (one JSON message per line) or a list of message objects",
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
}
EXECUTION_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$",
                "description": "the run's id (a fresh one when absent)"}
PROTOCOL = """\
A workflow is JSON Lines: one message per line.
{"type":"operationUpdate","operationId":"<id>","operation":{"<Type>":{<config>}}} defines an operation;
{"type":"beginExecution","executionId":"<id>","operationOrder":["<id>", ...]} (last line) runs them in order.
Operations read the run's data at inputPath and write at outputPath (paths such as /workflow/users,
/workflow/users[0].name). In url strings {/workflow/x} is replaced by the value at that path; a value
{"path": "/workflow/x"} in headers or body is replaced by that data; {"credentialRef": {"id": "<id>"}}
in headers is replaced by the agent's stored credential. Operations named by a Conditional (ifTrue,
ifFalse) or a Loop (operations; the item at /loop/item) run only through it: leave them out of
operationOrder."""


COMMON_KEYS = ("cache", "timeout", "idempotencyKey")


def _kind(schema: dict[str, Any]) -> str:
    if schema.get("enum"):
        return "|".join(str(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "|".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_kind(schema['items']) or 'any'}"
    return str(kind or "")


def catalog_text(capabilities: dict[str, Any]) -> str:
    """One line per allowed operation type (from the capabilities' ``operation_schemas``):
    what it does and its config keys (``*`` required) with their types or allowed values."""
    schemas: dict[str, Any] = capabilities.get("operation_schemas") or {}
    lines = []
    for name in sorted(schemas):
        schema = schemas[name]
        required = set(schema.get("required") or [])
        keys = []
        for key, prop in (schema.get("properties") or {}).items():
            if key in COMMON_KEYS:
                continue
            kind = _kind(prop) if isinstance(prop, dict) else ""
            mark = "*" if key in required else ""
            keys.append(f"{key}{mark} ({kind})" if kind else f"{key}{mark}")
        doc = f" {schema['description']}" if schema.get("description") else ""
        lines.append(f"- {name}:{doc} Config: {', '.join(keys)}")
    hosts = ", ".join(capabilities.get("hosts") or []) or "none"
    credentials = ", ".join(capabilities.get("credentials") or []) or "none"
    return ("Operations this agent may use (config keys; * = required; every operation also takes "
            "cache (boolean), timeout (ms), idempotencyKey):\n" + "\n".join(lines)
            + f"\nApiCall hosts allowed: {hosts}. Credential ids: {credentials}.")


class A2EMcp:
    """The tools of one agent on one a2e server."""

    BUILTIN = ("a2e_capabilities", "a2e_validate_workflow", "a2e_execute_workflow",
               "a2e_get_execution", "a2e_list_executions")

    def __init__(self, client: Client) -> None:
        self.client = client

    def server(self) -> Server[Any]:
        return Server(
            "a2e", version=__version__,
            instructions="Validate and run A2E workflows on an a2e server. Read a2e_execute_workflow's "
                         "description for the workflow format and the operations you may use.",
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
        )

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await anyio.to_thread.run_sync(self.tools))

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = params.arguments or {}
        return await anyio.to_thread.run_sync(lambda: self.call(params.name, arguments))

    # -- plain (blocking) methods, also used by the tests ---------------------------------

    def tools(self) -> list[types.Tool]:
        try:
            catalog = catalog_text(self.client.capabilities())
            saved = list(self.client.saved_workflows())
        except ApiError as exc:
            catalog, saved = f"(The operation catalog could not be read: {exc})", []
        workflow_doc = f"{PROTOCOL}\n\n{catalog}"
        tools = [
            _tool("a2e_capabilities", "What this agent may use: operations with their config keys, "
                  "allowed hosts, credential ids and rate limits.", {}),
            _tool("a2e_validate_workflow", "Check an A2E workflow without running it; answers the report "
                  "(valid, errors and warnings with line, operation and suggestion).\n\n" + workflow_doc,
                  {"workflow": WORKFLOW_INPUT}, ["workflow"]),
            _tool("a2e_execute_workflow", "Validate and run an A2E workflow; answers the run: status, "
                  "results per operation id, steps.\n\n" + workflow_doc,
                  {"workflow": WORKFLOW_INPUT, "executionId": EXECUTION_ID}, ["workflow"]),
            _tool("a2e_get_execution", "One earlier run of this agent with its results and steps.",
                  {"executionId": {"type": "string"},
                   "wait": {"type": "number", "minimum": 0, "maximum": 60,
                            "description": "seconds to wait for a queued or running run to end"}},
                  ["executionId"]),
            _tool("a2e_list_executions", "This agent's runs, newest first.",
                  {"limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                   "status": {"type": "string", "enum": RUN_STATUSES}}),
        ]
        for workflow in saved:
            if workflow["name"] in self.BUILTIN:
                continue
            description = workflow.get("description") or f"Run the saved workflow {workflow['name']!r}."
            tools.append(_tool(workflow["name"], f"{description}\n(saved workflow, version {workflow['version']})",
                               {"executionId": EXECUTION_ID}))
        return tools

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        handlers: dict[str, Callable[[dict[str, Any]], types.CallToolResult]] = {
            "a2e_capabilities": lambda a: _result(self.client.capabilities()),
            "a2e_validate_workflow": self._validate,
            "a2e_execute_workflow": lambda a: _run_result(self.client.execute(
                _workflow(a), execution_id=a.get("executionId"))),
            "a2e_get_execution": lambda a: _result(self.client.execution(
                str(a["executionId"]), wait=a.get("wait"))),
            "a2e_list_executions": lambda a: _result({"executions": list(self.client.executions(
                limit=_list_limit(a.get("limit", 20)), status=a.get("status")))}),
        }
        handler = handlers.get(name) or (lambda a: _run_result(self.client.run_saved(
            name, execution_id=a.get("executionId"))))
        try:
            return handler(arguments)
        except ApiError as exc:
            return _error(exc)
        except (KeyError, TypeError, ValueError) as exc:
            return _text_error(f"bad arguments for {name}: {exc}")

    def _validate(self, arguments: dict[str, Any]) -> types.CallToolResult:
        report = self.client.validate(_workflow(arguments))
        if report["valid"]:
            return _result(report)
        return _text_error(_issues_text("The workflow is not valid", report), report)


def _tool(name: str, description: str, properties: dict[str, Any],
          required: list[str] | None = None) -> types.Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return types.Tool(name=name, description=description, input_schema=schema)


def _workflow(arguments: dict[str, Any]) -> Any:
    workflow = arguments.get("workflow")
    if isinstance(workflow, str) or (isinstance(workflow, list) and all(isinstance(m, dict) for m in workflow)):
        return workflow
    raise ValueError("'workflow' must be JSONL text or a list of message objects")


def _list_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValueError("'limit' must be an integer from 1 to 100")
    return value


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _result(value: Any) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=_json(value))],
                                structured_content=value if isinstance(value, dict) else {"value": value})


def _text_error(text: str, body: Any = None) -> types.CallToolResult:
    full = f"{text}\n\n{_json(body)}" if body is not None else text
    return types.CallToolResult(content=[types.TextContent(text=full)], is_error=True)


def _suggestions_text(error: dict[str, Any]) -> str:
    suggestions = error.get("suggestions") or []
    return "".join(f"\nSuggestion: {s}" for s in suggestions)


def _issues_text(headline: str, body: dict[str, Any]) -> str:
    lines = [headline + ":"]
    for issue in body.get("errors") or []:
        where = ", ".join(part for part in (
            f"line {issue['line']}" if issue.get("line") else "",
            f"operation {issue['operationId']}" if issue.get("operationId") else "") if part)
        hint = f" (suggestion: {issue['suggestion']})" if issue.get("suggestion") else ""
        lines.append(f"- {where + ': ' if where else ''}{issue.get('message')}{hint}")
    return "\n".join(lines)


def _run_result(run: dict[str, Any]) -> types.CallToolResult:
    """A finished or queued run; a failed one is a tool error naming the failing step."""
    if run.get("status") != "failed":
        return _result(run)
    error = run.get("error") or {}
    step = f" at operation {error['operationId']}" if error.get("operationId") else ""
    return _text_error(f"Run {run.get('execution_id')} failed{step}: {error.get('type', 'Error')}: "
                       f"{error.get('message', '')}{_suggestions_text(error)}", run)


def _error(exc: ApiError) -> types.CallToolResult:
    status = f"HTTP {exc.status}" if exc.status else "no answer"
    text = f"{exc.type} ({status}): {exc.message}{_suggestions_text(exc.error)}"
    body = exc.body if isinstance(exc.body, dict) else None
    if body and body.get("errors"):
        text += "\n" + _issues_text("Validation errors", body)
    return _text_error(text, body)


def serve_stdio(client: Client) -> None:
    """Run the MCP server on stdin/stdout until the MCP client closes it."""
    server = A2EMcp(client).server()

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
