"""The ``a2e`` command line: one click group, one module per command group."""

from __future__ import annotations

import click

from a2e import __version__
from a2e.cli import agents, audit, cache, credentials, db, limits, mcp, report, runs, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="a2e")
def cli() -> None:
    """a2e: the SQL-persisted A2E workflow server.

    Configuration comes from the JSON file named by A2E_CONFIG and the
    environment (A2E_DATABASE_URL, A2E_SECRET_KEY, A2E_LOG_DIR).
    """


for module in (serve, db, agents, credentials, audit, runs, limits, report, cache, mcp):
    module.register(cli)


def main() -> None:
    cli(prog_name="a2e")
