"""``a2e mcp``: the MCP server over stdio (needs the ``mcp`` extra)."""

from __future__ import annotations

import importlib.util

import click

INSTALL_HINT = "a2e mcp needs the MCP SDK: pip install 'a2e[mcp]'"


@click.command("mcp")
@click.option("--url", envvar="A2E_URL", metavar="URL",
              help="The a2e server, e.g. http://127.0.0.1:8000 (default: $A2E_URL).")
@click.option("--key", envvar="A2E_API_KEY", metavar="KEY",
              help="The agent's API key (default: $A2E_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=1), default=330.0, show_default=True,
              help="Seconds to wait for each answer of the server (a run may take its full deadline).")
def mcp_command(url: str | None, key: str | None, timeout: float) -> None:
    """Serve the agent's a2e tools to an MCP client over stdin/stdout.

    Tools: a2e_capabilities, a2e_validate_workflow, a2e_execute_workflow,
    a2e_get_execution, a2e_list_executions, and one tool per saved workflow.
    """
    if importlib.util.find_spec("mcp") is None:
        raise click.ClickException(INSTALL_HINT)
    if not url or not key:
        raise click.UsageError("give the server and the agent's key: --url/--key or A2E_URL/A2E_API_KEY")
    from a2e.client import Client
    from a2e.client.mcp_server import serve_stdio

    with Client(url, key, timeout=timeout) as client:
        serve_stdio(client)


def register(cli: click.Group) -> None:
    cli.add_command(mcp_command)
