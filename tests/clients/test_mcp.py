"""``a2e mcp`` driven by the MCP SDK's own stdio client, against a real ``a2e serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from a2e.client import Client
from tests.api.workflow_helpers import jsonl, op

A2E = str(Path(sys.executable).parent / "a2e")


def _text(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def _session(url: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[
        list[types.Tool], list[types.CallToolResult]]:
    params = StdioServerParameters(command=A2E, args=["mcp", "--url", url],
                                   env={"A2E_API_KEY": key, "A2E_LOG_DIR": os.devnull})
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def test_tools_execute_saved_and_errors(serve) -> None:
    served = serve(ops=["Calculate", "FormatText", "Wait", "FilterData"])
    client = Client(served.url, served.key.api_key)
    client.save("daily-sum", jsonl(op("sum", "Calculate", expression="40 + 2", outputPath="/workflow/sum")),
                description="Adds forty and two")
    messages = [op("hi", "FormatText", template="hello", outputPath="/workflow/t"),
                {"type": "beginExecution", "operationOrder": ["hi"]}]
    calls = [
        ("a2e_execute_workflow", {"workflow": jsonl(op("c", "Calculate", expression="6 * 7",
                                                       outputPath="/workflow/c"), execution_id="mcp-1")}),
        ("a2e_execute_workflow", {"workflow": messages, "executionId": "mcp-2"}),
        ("daily-sum", {"executionId": "from-tool"}),
        ("a2e_execute_workflow", {"workflow": jsonl(op("w", "Wait", duration="soon"))}),
        ("a2e_validate_workflow", {"workflow": jsonl(op("w", "Wait", duration="soon"))}),
        ("a2e_get_execution", {"executionId": "mcp-1"}),
        ("a2e_list_executions", {"limit": 2}),
        ("a2e_capabilities", {}),
        ("a2e_execute_workflow", {"workflow": jsonl(op("f", "FilterData", inputPath="/workflow/none",
                                                       conditions=[], outputPath="/workflow/o"))}),
        ("a2e_execute_workflow", {"workflow": jsonl(op("e", "EncodeDecode", inputPath="/workflow/a",
                                                       action="encode", encoding="hex", outputPath="/workflow/b"))}),
        ("a2e_get_execution", {"executionId": "never-ran"}),
    ]
    tools, results = anyio.run(_session, served.url, served.key.api_key, calls)

    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"a2e_capabilities", "a2e_validate_workflow", "a2e_execute_workflow",
                            "a2e_get_execution", "a2e_list_executions", "daily-sum"}
    execute_doc = by_name["a2e_execute_workflow"].description or ""
    assert "- Calculate: " in execute_doc and "expression (string)" in execute_doc
    assert "inputPath* (string), conditions (array" in execute_doc.split("- FilterData:")[1].split("\n")[0]
    assert "duration* (integer)" in execute_doc.split("- Wait:")[1].split("\n")[0]
    assert "- ApiCall:" not in execute_doc  # not allowed to this agent
    assert by_name["daily-sum"].description.startswith("Adds forty and two")
    assert by_name["daily-sum"].input_schema["properties"] == {"executionId": {
        "type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$", "description": "the run's id (a fresh one when absent)"}}

    executed, listed_run, saved, refused, invalid, fetched, listed, caps, failed, forbidden, missing = results
    assert not executed.is_error and executed.structured_content["results"] == {"c": 42}
    assert not listed_run.is_error and listed_run.structured_content["execution_id"] == "mcp-2"
    assert not saved.is_error and json.loads(_text(saved))["results"] == {"sum": 42}
    assert client.execution("from-tool")["saved_workflow"] == {"name": "daily-sum", "version": 1}

    assert refused.is_error and "ValidationError (HTTP 400)" in _text(refused)
    assert "operation w" in _text(refused)
    assert invalid.is_error and "not valid" in _text(invalid) and "operation w" in _text(invalid)
    assert fetched.structured_content["execution_id"] == "mcp-1"
    assert [run["execution_id"] for run in listed.structured_content["executions"]] == ["from-tool", "mcp-2"]
    assert caps.structured_content["name"] == "clients-agent"
    assert failed.is_error and "DataError" in _text(failed) and "operation f" in _text(failed)
    assert forbidden.is_error and "PermissionError (HTTP 403)" in _text(forbidden)
    assert missing.is_error and "HTTP 404" in _text(missing)


def test_without_url_or_sdk_it_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("A2E_URL", "A2E_API_KEY")}
    no_url = subprocess.run([A2E, "mcp"], env=env, capture_output=True, text=True, timeout=60)
    assert no_url.returncode == 2 and "--url" in no_url.stderr

    # an interpreter where the mcp package cannot be found
    hide = ("import importlib.util, sys; real = importlib.util.find_spec; "
            "importlib.util.find_spec = lambda n, *a: None if n == 'mcp' else real(n, *a); "
            "from a2e.cli import main; sys.argv = ['a2e', 'mcp', '--url', 'http://127.0.0.1:1', '--key', 'k']; main()")
    without = subprocess.run([sys.executable, "-c", hide], env=env, capture_output=True, text=True, timeout=60)
    assert without.returncode == 1 and "pip install 'a2e[mcp]'" in without.stderr
